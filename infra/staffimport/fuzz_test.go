package staffimport

import (
	"errors"
	"testing"

	"github.com/melaka-gov/ispeks/domain/employee"
)

// FuzzCheckFile feeds arbitrary bytes through the file reader and the row
// checks: no panic; a refused file is a *FileError; every row is either
// valid by the domain's own rules (and in an allowed domain) or rejected
// with at least one reason; rows come after the header line.
func FuzzCheckFile(f *testing.F) {
	f.Add([]byte("ic,name,email,department,post,staff_number\n791117045671,Siti,siti@melaka.gov.my,JK,PK,A-1\n"))
	f.Add([]byte("\xef\xbb\xbfNo. Pengenalan;Nama;E-mel;Jabatan;Jawatan;No. Gaji\r\n791117-04-5671;\"Lim, M\";a@melaka.gov.my;J;P;1\r\n"))
	f.Add([]byte("ic,name,email,department,post,staff_number\n\"unclosed,x,y,z,w,v\n1,2,3,4,5,6,7\n"))
	f.Add([]byte("ic\tname\temail\tdepartment\tpost\tstaff_number\n791117045671\tA\ta@gmail.com\tJ\tP\tS\n"))
	f.Add([]byte("\xff\xfe\x00"))
	domains := []string{"melaka.gov.my"}
	f.Fuzz(func(t *testing.T, data []byte) {
		body, err := stripBOM(data)
		if err != nil {
			if !errors.Is(err, ErrFile) {
				t.Fatalf("BOM error %v is not a file error", err)
			}
			return
		}
		h, recs, err := readRecords(body, 1000)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) || fe.Reason == "" {
				t.Fatalf("file error %v is not a *FileError with a reason", err)
			}
			return
		}
		im := &Importer{}
		prev := 1
		for _, rec := range recs {
			if rec.line < 2 {
				t.Fatalf("data row at line %d", rec.line)
			}
			// A spreadsheet row is at most the line, and rows go down.
			if rec.row <= prev || rec.row > rec.line {
				t.Fatalf("data row at line %d is row %d (the row before: %d)", rec.line, rec.row, prev)
			}
			prev = rec.row
			res, d, ok := im.check(h, rec, domains)
			if !ok {
				if res.Outcome != Rejected || len(res.Problems) == 0 {
					t.Fatalf("row %d refused without a reason: %+v", rec.line, res)
				}
				for _, p := range res.Problems {
					if p.Code == "" || p.Reason == "" {
						t.Fatalf("problem without code or reason: %+v", p)
					}
				}
				continue
			}
			again, err := d.Validate()
			if err != nil || again != d {
				t.Fatalf("accepted row %d is not valid and normalised: %v %+v", rec.line, err, d)
			}
			if !employee.DomainAllowed(d.Email, domains) {
				t.Fatalf("accepted row %d has e-mail domain %s", rec.line, employee.EmailDomain(d.Email))
			}
		}
	})
}
