package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRefusedImportFileLeavesNoDataDirectory: a file an import refuses as a
// whole — empty, UTF-16, without the columns, a "sep=" line naming no
// delimiter, one it may not read — is refused before the data directory is
// opened: a refused file leaves no new install behind (it made the
// directory, a log, a master key and views first).
func TestRefusedImportFileLeavesNoDataDirectory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	write := fileWriter(t, tmp)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"import", "employees", write("empty.csv", "")}, "staffimport: the file is empty"},
		{[]string{"import", "employees", write("header-only.csv", oneStaffCSV[:len("No. Pengenalan,Nama,Emel,Jabatan,Jawatan,No. Gaji\n")])}, "staffimport: the file has a header row but no rows"},
		{[]string{"import", "employees", write("utf16.csv", "\xff\xfei\x00c\x00")}, "staffimport: the file is UTF-16 text"},
		{[]string{"import", "employees", write("columns.csv", "nama,emel\nSiti,siti@melaka.gov.my\n")}, "staffimport: line 1: the header row lacks"},
		{[]string{"import", "employees", write("sep.csv", "sep=ab\nic;name\n")}, "staffimport: line 1: the first line"},
		{[]string{"import", "statements", write("utf16.ndjson", "\xff\xfe{\x00}\x00")}, "ingest: the batch is UTF-16"},
		{[]string{"import", "statements", write("empty.ndjson", "")}, "the file is empty"},
		{[]string{"import", "statements", write("blank.ndjson", "\xef\xbb\xbf\n \r\n\n")}, "the file is empty"},
	}
	if os.Geteuid() != 0 { // root reads any file
		locked := write("locked.csv", oneStaffCSV)
		if err := os.Chmod(locked, 0); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, struct {
			args []string
			want string
		}{[]string{"import", "employees", locked}, "FILE.csv " + locked + ": permission denied"})
	}
	for _, tc := range cases {
		// Every refusal names the argument it is about.
		want := tc.want
		if !strings.HasPrefix(want, "FILE.") {
			arg := map[string]string{"employees": "FILE.csv", "statements": "FILE.ndjson"}[tc.args[1]]
			want = arg + " " + tc.args[len(tc.args)-1] + ": " + want
		}
		refusedBeforeOpening(ctx, t, data, want, tc.args...)
	}
}
