package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/melaka-gov/ispeks/projections/accounts"
)

// TestAdminImportExcelSeparatorLine: the upload of Muat Naik Data
// Kakitangan takes a file whose first line is Excel's "sep=;", as the
// console does, and numbers its rows as Excel shows them (the header is
// row 1 under the "sep=" line); a "sep=" line that names no delimiter is
// refused in the page's language, saving nothing.
func TestAdminImportExcelSeparatorLine(t *testing.T) {
	p := newAdminPortal(t)
	b := p.admin()
	tok := admCSRFRe.FindStringSubmatch(b.get("/pentadbir/import").body)[1]
	csv := "sep=;\r\n" +
		"No. Pengenalan;Nama;E-mel Rasmi;Jabatan;Jawatan;No. Gaji\r\n" +
		"880808-08-5577;Amin bin Yusof;amin.yusof@melaka.gov.my;Jabatan Pertanian, Unit Tanaman;Pegawai Pertanian;JPN-0101\r\n" +
		"920101-04-5012;Aishah binti Karim;aishah@gmail.com;Jabatan Pertanian;Kerani;JPN-0103\r\n"
	r := b.upload("/pentadbir/import", url.Values{"csrf_token": {tok}}, "induk.csv", []byte(csv))
	if r.code != http.StatusUnprocessableEntity {
		t.Fatalf("one bad row: %d", r.code)
	}
	admContain(t, "report", r.body, "Sebahagian baris tidak disimpan", "<td class=\"num\">3</td>", "Emel bukan emel rasmi kerajaan")
	if people, _, err := accounts.FindPeople(t.Context(), p.views, "amin yusof", 10); err != nil || len(people) != 1 {
		t.Fatalf("the good row is not in the master: %v %v", people, err)
	}

	head := p.logHead()
	r = b.upload("/pentadbir/import", url.Values{"csrf_token": {tok}}, "x.csv", []byte("sep=ab\r\nic;name\r\n"))
	if r.code != http.StatusUnprocessableEntity {
		t.Errorf("bad sep= line: %d", r.code)
	}
	admContain(t, "bad sep= line", r.body, "Fail ditolak; tiada data disimpan: baris pertama")
	admNotContain(t, "bad sep= line", r.body, "names no single delimiter")
	if p.logHead() != head {
		t.Fatal("a refused upload appended")
	}
}
