package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestImportEmployeesExcelSeparatorLine: `ispeks import employees` takes a
// file whose first line is Excel's "sep=;" (it refused it for lacking every
// column) and reports a bad row by the row Excel shows it on, with its
// line in the file beside it.
func TestImportEmployeesExcelSeparatorLine(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	csv := fileWriter(t, dir)("staff.csv", "sep=;\r\n"+
		"No. Pengenalan;Nama;Emel;Jabatan;Jawatan;No. Gaji\r\n"+
		"880101-04-5678;Siti Nurhaliza binti Ahmad;siti@melaka.gov.my;Jabatan Kewangan, Unit Gaji;Pegawai Kewangan;MLK00123\r\n"+
		"881301-04-5678;Bad Date;bad@melaka.gov.my;Jabatan Kewangan;Kerani;MLK00124\r\n")
	out, err := executeOut(ctx, "--data", dir, "--log-level", "error", "import", "employees", csv)
	if err == nil || !strings.Contains(err.Error(), "not imported") {
		t.Fatalf("import with a bad row: err %v\n%s", err, out)
	}
	if !strings.Contains(out, "\n3 (line 4) ") || !strings.Contains(out, "new:       1") {
		t.Fatalf("report:\n%s", out)
	}
}
