package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	esqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
)

// TestImportCommands loads the employee master from CSV, then a payroll line
// and a bad line from NDJSON, through the binary's commands and real files.
func TestImportCommands(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	write := fileWriter(t, dir)
	csv := write("staff.csv", "No. Pengenalan,Nama,Emel,Jabatan,Jawatan,No. Gaji\n"+
		"880101-04-5678,Siti Nurhaliza binti Ahmad,siti.nurhaliza@melaka.gov.my,Jabatan Kewangan dan Perbendaharaan Negeri Melaka,Pegawai Kewangan,MLK00123\n"+
		"881301-04-5678,Bad Date,bad@melaka.gov.my,Jabatan Kewangan,Kerani,MLK00124\n")
	base := []string{"--data", dir, "--log-level", "error"}

	out, err := executeOut(ctx, append(base, "import", "employees", csv)...)
	if err == nil || !strings.Contains(err.Error(), "not imported") {
		t.Fatalf("import with a bad row: err %v", err)
	}
	if !strings.Contains(out, "3") || strings.Contains(out, "881301045678") {
		t.Fatalf("report should name row 3 and mask the IC:\n%s", out)
	}

	ndjson := write("run.ndjson", `{"kind":"statement","request_id":"gaji-2025-02-000001","statement":{"statement_id":"SG-2025-02-000001","type":"slip-gaji-bulanan","period":{"year":2025,"month":2},"payee":{"ic":"880101045678","name":"Siti Nurhaliza binti Ahmad","staff_no":"MLK00123","department":"Jabatan Kewangan dan Perbendaharaan Negeri Melaka","post":"Pegawai Kewangan","grade":"WA41"},"employer":{"name":"Kerajaan Negeri Melaka"},"earnings":[{"code":"0001","name":"Gaji Pokok","amount_sen":456789},{"name":"ITKA","amount_sen":30000}],"deductions":[{"name":"PCB","amount_sen":21000},{"name":"KWSP","amount_sen":50246}],"totals":{"earnings_sen":486789,"deductions_sen":71246,"net_sen":415543},"pay_date":"2025-02-25"}}
{"kind":"statement","request_id":"gaji-2025-02-000002","statement":{"statement_id":"SG-2025-02-000002","type":"slip-gaji-bulanan","period":{"year":2025,"month":2},"payee":{"ic":"880101045678","name":"Siti","staff_no":"MLK00123","department":"JKPNM","post":"Pegawai Kewangan","grade":"WA41"},"employer":{"name":"Kerajaan Negeri Melaka"},"earnings":[{"name":"Gaji Pokok","amount_sen":1000.5}],"deductions":[],"totals":{"earnings_sen":1000,"deductions_sen":0,"net_sen":1000},"pay_date":"2025-02-25"}}
`)
	out, err = executeOut(ctx, append(base, "import", "statements", ndjson)...)
	if err == nil || !strings.Contains(err.Error(), "1 lines were not ingested") {
		t.Fatalf("ingest with a bad line: err %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"result":"accepted"`) || !strings.Contains(lines[1], `"result":"rejected"`) {
		t.Fatalf("per-line results:\n%s", out)
	}
	// Sending the same file again appends nothing: the good line is a duplicate.
	out, _ = executeOut(ctx, append(base, "import", "statements", ndjson)...)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.Contains(lines[0], `"result":"duplicate"`) {
		t.Fatalf("second run printed:\n%s", out)
	}
	out, _ = executeOut(ctx, append(base, "import", "statements", "--only-problems", ndjson)...)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 || !strings.Contains(lines[0], `"result":"rejected"`) {
		t.Fatalf("--only-problems printed:\n%s", out)
	}
}

// TestImportResentByAnotherOperator: request IDs in a console import belong
// to the console, not to whoever ran it, so the same files sent again by
// another operator (or by cron, with USER unset) append nothing: the
// statements come back duplicate, the employee master unchanged.
func TestImportResentByAnotherOperator(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	write := fileWriter(t, dir)
	base := []string{"--data", dir, "--log-level", "error"}
	csv := write("staff.csv", oneStaffCSV)
	nd := write("run.ndjson", onePaymentNDJSON+`{"kind":"payment_status","request_id":"p-2","change":{"payment_id":"P1","status":"dalam-proses"}}
`)
	t.Setenv("USER", "alice")
	if _, err := executeOut(ctx, append(base, "import", "employees", csv)...); err != nil {
		t.Fatal(err)
	}
	out, err := executeOut(ctx, append(base, "import", "statements", nd)...)
	if err != nil || strings.Count(out, `"result":"accepted"`) != 2 {
		t.Fatalf("alice's import: %v\n%s", err, out)
	}
	for _, user := range []string{"bob", ""} {
		t.Setenv("USER", user)
		out, err := executeOut(ctx, append(base, "import", "employees", csv)...)
		if err != nil || !strings.Contains(out, "unchanged: 1") {
			t.Errorf("employees again as %q: %v\n%s", user, err, out)
		}
		out, err = executeOut(ctx, append(base, "import", "statements", nd)...)
		if err != nil || strings.Count(out, `"result":"duplicate"`) != 2 {
			t.Errorf("statements again as %q: %v\n%s", user, err, out)
		}
	}
}

// TestImportOneRequestIDOnTwoRecords: a request ID is unique per record, so
// a file that uses one on two payments lands both (before, the event store
// refused one of them as a request ID reused), and the file sent again is
// two duplicates.
func TestImportOneRequestIDOnTwoRecords(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	write := fileWriter(t, dir)
	base := []string{"--data", dir, "--log-level", "error"}
	csv := write("staff.csv", oneStaffCSV)
	nd := write("run.ndjson", `{"kind":"payment","request_id":"bv-1","payment":{"payment_id":"P1","module":"tuntutan","type":"tuntutan-perjalanan","voucher_no":"BV-P1","voucher_date":"2025-03-01","description":"Tuntutan perjalanan","amount_sen":45000,"payee_ic":"880101045678"}}
{"kind":"payment","request_id":"bv-1","payment":{"payment_id":"P2","module":"tuntutan","type":"tuntutan-perjalanan","voucher_no":"BV-P2","voucher_date":"2025-03-01","description":"Tuntutan perjalanan","amount_sen":46000,"payee_ic":"880101045678"}}
`)
	if _, err := executeOut(ctx, append(base, "import", "employees", csv)...); err != nil {
		t.Fatal(err)
	}
	out, err := executeOut(ctx, append(base, "import", "statements", nd)...)
	if err != nil || strings.Count(out, `"result":"accepted"`) != 2 {
		t.Fatalf("first import: %v\n%s", err, out)
	}
	out, err = executeOut(ctx, append(base, "import", "statements", nd)...)
	if err != nil || strings.Count(out, `"result":"duplicate"`) != 2 {
		t.Fatalf("the file again: %v\n%s", err, out)
	}
}

// TestImportEmployeesNamesTheOperator: the staff records an employee import
// lands name the console operator as their actor (cli:<user>), as every
// other console command's events do, not an anonymous "cli:import".
func TestImportEmployeesNamesTheOperator(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	csv := fileWriter(t, dir)("staff.csv", oneStaffCSV)
	t.Setenv("USER", "alice")
	if _, err := executeOut(ctx, "--data", dir, "--log-level", "error", "import", "employees", csv); err != nil {
		t.Fatal(err)
	}
	store, err := esqlite.Open(ctx, filepath.Join(dir, "events.db"), esqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	recs, err := store.ReadAll(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	staff := 0
	for _, r := range recs {
		if !strings.HasPrefix(r.Type, "employee.") {
			continue
		}
		staff++
		if a := r.Metadata.Actor; a.Kind != eventlog.ActorSystem || a.ID != "cli:alice" {
			t.Errorf("%s names %s:%s, want system:cli:alice", r.Type, a.Kind, a.ID)
		}
	}
	if staff == 0 {
		t.Fatal("no staff event in the log")
	}
}

// oneStaffCSV is an employee master of one person, Siti (880101-04-5678),
// whom the import tests' payments name.
// onePaymentNDJSON records one claim for the staff member of oneStaffCSV.
const onePaymentNDJSON = `{"kind":"payment","request_id":"p-1","payment":{"payment_id":"P1","module":"tuntutan","type":"tuntutan-perjalanan","voucher_no":"BV-P1","voucher_date":"2025-03-01","description":"Tuntutan perjalanan","amount_sen":45000,"payee_ic":"880101045678"}}
`

const oneStaffCSV = "No. Pengenalan,Nama,Emel,Jabatan,Jawatan,No. Gaji\n" +
	"880101-04-5678,Siti Nurhaliza binti Ahmad,siti@melaka.gov.my,Jabatan Kewangan,Pegawai Kewangan,MLK00123\n"

// fileWriter returns a function that writes a file into dir and returns
// its path.
func fileWriter(t *testing.T, dir string) func(name, body string) string {
	return func(name, body string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// TestImportFileErrorsComeFirst: a file an import cannot read (missing, a
// directory) is named as its argument with the reason, before any store is
// opened: a mistyped path does not leave a new install behind.
func TestImportFileErrorsComeFirst(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	missing := filepath.Join(tmp, "missing.csv")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "employees", tmp}, "FILE.csv " + tmp + ": is a directory, not a file"},
		{[]string{"import", "statements", tmp}, "FILE.ndjson " + tmp + ": is a directory, not a file"},
		{[]string{"import", "employees", missing}, "FILE.csv " + missing + ": no such file or directory"},
		{[]string{"import", "statements", missing}, "FILE.ndjson " + missing + ": no such file or directory"},
	} {
		refusedBeforeOpening(ctx, t, data, tc.want, tc.args...)
	}
}

// TestInterruptedIngestDoesNotLookFinished: an import of statements cut
// short by a stop signal does not draw a full progress bar over the file
// it did not finish, and says how many lines it got through.
func TestInterruptedIngestDoesNotLookFinished(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	line := `{"kind":"payment","request_id":"r%07d","payment":{}}` + "\n"
	var b strings.Builder
	for i := 0; b.Len() < 32<<20; i++ {
		fmt.Fprintf(&b, line, i)
	}
	file := fileWriter(t, dir)("run.ndjson", b.String())
	stderr, err := runStoppedAtFirstWrite(ctx, true, "--data", dir, "--log-level", "error", "import", "statements", file)
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("import statements stopped by a signal: %v", err)
	}
	if strings.Contains(stderr, "100%") || !strings.Contains(stderr, " lines: ") {
		t.Errorf("an interrupted ingest drew a full bar, or no count:\n%s", stderr)
	}
}

// brokenOutput takes n writes, then fails as a closed pipe does
// (`ispeks import statements run.ndjson | head -1`).
type brokenOutput struct{ n int }

func (w *brokenOutput) Write(p []byte) (int, error) {
	if w.n <= 0 {
		return 0, errors.New("write |1: broken pipe")
	}
	w.n--
	return len(p), nil
}

// TestImportStatementsWhenTheOutputBreaks: the lines still running when
// stdout broke finish and may be stored; the counts include them and say
// how many have no result printed, so the file sent again answers
// duplicate exactly for the lines counted accepted.
func TestImportStatementsWhenTheOutputBreaks(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	write := fileWriter(t, dir)
	base := []string{"--data", dir, "--log-level", "error"}
	if _, err := executeOut(ctx, append(base, "import", "employees", write("staff.csv", oneStaffCSV))...); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	const total = 20
	for i := range total {
		fmt.Fprintf(&b, `{"kind":"payment","request_id":"p-%d","payment":{"payment_id":"P%d","module":"tuntutan","type":"tuntutan-perjalanan","voucher_no":"BV-P%d","voucher_date":"2025-03-01","description":"Tuntutan perjalanan","amount_sen":45000,"payee_ic":"880101045678"}}`+"\n", i, i, i)
	}
	nd := write("run.ndjson", b.String())
	root := newRootCmd()
	root.SetArgs(append(base, "import", "statements", nd))
	var stderr bytes.Buffer
	root.SetOut(&brokenOutput{n: 1})
	root.SetErr(&stderr)
	if err := root.ExecuteContext(ctx); err == nil || !strings.Contains(err.Error(), "broken pipe") {
		t.Fatalf("err %v, want the output's error", err)
	}
	m := regexp.MustCompile(`(\d+) lines: (\d+) accepted, 0 duplicate, 0 rejected, (\d+) failed\n(\d+) of these lines have no result printed`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("stderr:\n%s\nwant the counts and how many have no result printed", stderr.String())
	}
	n := func(s string) int { v, _ := strconv.Atoi(s); return v }
	lines, accepted, failed, unanswered := n(m[1]), n(m[2]), n(m[3]), n(m[4])
	if unanswered != lines-1 || accepted+failed != lines {
		t.Fatalf("%d lines, %d accepted, %d failed, %d without a result printed (1 printed):\n%s", lines, accepted, failed, unanswered, stderr.String())
	}
	out, err := executeOut(ctx, append(base, "import", "statements", nd)...)
	if err != nil || strings.Count(out, `"result":"duplicate"`) != accepted {
		t.Fatalf("the file again: %v; want %d duplicates (the lines counted accepted):\n%s", err, accepted, out)
	}
}

// TestImportProgressOnANonTerminal: with stderr not a terminal (a CI log,
// cron mail, `2>import.log`) the imports draw no progress bar: a bar there
// is one carriage-return redraw every 100 ms, control characters and
// block glyphs that fill the log. The report and the counts are all of it.
func TestImportProgressOnANonTerminal(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	write := fileWriter(t, dir)
	base := []string{"--data", dir, "--log-level", "error"}
	csv := write("staff.csv", oneStaffCSV)
	nd := write("run.ndjson", onePaymentNDJSON)
	for _, args := range [][]string{{"import", "employees", csv}, {"import", "statements", nd}} {
		stdout, stderr, err := executeOutErr(ctx, append(base, args...)...)
		if err != nil {
			t.Fatalf("%s: %v\n%s%s", args[1], err, stdout, stderr)
		}
		if strings.ContainsAny(stderr, "\r\x1b█") {
			t.Errorf("%s drew a progress bar into a non-terminal:\n%q", args[1], stderr)
		}
	}
}

// `projections rebuild` in a log (CI, cron, 2>file) prints its result, not
// a progress bar redrawn every 200 ms, as the imports do.
func TestProjectionsRebuildProgressOnANonTerminal(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--data", dir, "--log-level", "error"}
	if _, stderr, err := executeOutErr(ctx, append(base, "import", "employees", fileWriter(t, dir)("staff.csv", oneStaffCSV))...); err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	stdout, stderr, err := executeOutErr(ctx, append(base, "projections", "rebuild", "accounts")...)
	if err != nil || !strings.Contains(stdout, "rebuilt accounts") {
		t.Fatalf("rebuild: %v\n%s%s", err, stdout, stderr)
	}
	if strings.ContainsAny(stderr, "\r\x1b█") || strings.Contains(stderr, "rebuild accounts") {
		t.Errorf("rebuild drew a progress bar into a non-terminal:\n%q", stderr)
	}
}
