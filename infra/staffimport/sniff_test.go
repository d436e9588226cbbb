package staffimport_test

import (
	"slices"
	"strings"
	"testing"
)

// TestDelimiterGuessIgnoresQuotedCells: without a "sep=" line the
// delimiter is guessed from the header, and only the delimiters between
// cells count. A semicolon file (Excel in a Malay or European locale)
// whose header has a quoted cell holding a comma — "Alamat, Poskod" — was
// guessed a comma file and refused whole ("bare \" in non-quoted-field").
// A comma file with a semicolon in a quoted header cell stays a comma file,
// and a doubled quote ("") inside a quoted cell does not end it.
func TestDelimiterGuessIgnoresQuotedCells(t *testing.T) {
	for name, tc := range map[string]struct{ delim, quoted, written string }{
		"semicolon, comma in a quoted cell":  {";", `"Alamat, Poskod"`, "Alamat, Poskod"},
		"semicolon, escaped quote and comma": {";", `"Catatan ""A, B"""`, `Catatan "A, B"`},
		"comma, semicolon in a quoted cell":  {",", `"Alamat; Poskod"`, "Alamat; Poskod"},
	} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t)
			row := func(cells ...string) string { return strings.Join(cells, tc.delim) + "\r\n" }
			// The other delimiter in a quoted data cell too: read as text
			// only if the guess was right.
			other := map[string]string{";": `"Jalan Bendahara, 75100 Melaka"`, ",": `"Jalan Bendahara; 75100 Melaka"`}[tc.delim]
			csv := row("No. Pengenalan", "Nama", tc.quoted, "Emel", "Jabatan", "Jawatan", "No. Gaji") +
				row("791117045671", "Siti Aminah binti Omar", other, "siti@melaka.gov.my", "Jabatan Kewangan", "Kerani", "K-1") +
				row("850203145432", "Lim Mei Ling", "", "lim@melaka.gov.my", "JKR", "Kerani", "K-2")
			rep, err := r.importCSV(csv)
			if err != nil {
				t.Fatalf("file refused: %v", err)
			}
			if rep.Rows != 2 || rep.Created != 2 || !rep.Complete() {
				t.Fatalf("report %+v", rep)
			}
			if !slices.Equal(rep.IgnoredColumns, []string{tc.written}) {
				t.Errorf("ignored columns %q, want [%q]: the quoted header cell is one column", rep.IgnoredColumns, tc.written)
			}
			if d, _ := r.staff("791117045671"); d.Name != "Siti Aminah binti Omar" || d.StaffNumber != "K-1" {
				t.Errorf("stored %+v", d)
			}
		})
	}
}
