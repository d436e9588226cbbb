package staffimport_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	"github.com/melaka-gov/ispeks/infra/staffimport"
)

type rig struct {
	t      *testing.T
	store  *sqlite.Store
	reg    *eventlog.Registry
	runner commands.Runner
	im     *staffimport.Importer
}

func newRig(t *testing.T) *rig {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"), sqlite.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	reg := eventlog.NewRegistry()
	employee.Register(reg)
	runner := commands.Runner{Store: store, Registry: reg, Now: func() time.Time { return time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC) }}
	im := staffimport.New(runner, staffimport.Config{Logger: slog.New(slog.DiscardHandler)})
	return &rig{t: t, store: store, reg: reg, runner: runner, im: im}
}

var cli = staffimport.Source{Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "cli:test"}}

func (r *rig) importCSV(csv string) (staffimport.Report, error) {
	r.t.Helper()
	return r.im.Import(context.Background(), strings.NewReader(csv), cli, nil)
}

func (r *rig) head() uint64 {
	r.t.Helper()
	p, err := r.store.LastPosition(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return p
}

// staff returns the employee aggregate's view of ic, rebuilt from its stream.
func (r *rig) staff(ic string) (employee.Details, []eventlog.Envelope) {
	r.t.Helper()
	recs, err := r.store.ReadStream(context.Background(), "employee-"+ic, 1, eventlog.Forwards, 100)
	if err != nil {
		r.t.Fatal(err)
	}
	e := employee.New()
	var envs []eventlog.Envelope
	for _, rec := range recs {
		env, err := r.reg.Decode(rec)
		if err != nil {
			r.t.Fatal(err)
		}
		if err := e.Apply(env.Event); err != nil {
			r.t.Fatal(err)
		}
		envs = append(envs, env)
	}
	return e.Details(), envs
}

func result(t *testing.T, rep staffimport.Report, row int) staffimport.RowResult {
	t.Helper()
	for _, res := range rep.Results {
		if res.Row == row {
			return res
		}
	}
	t.Fatalf("no result for row %d in %+v", row, rep.Results)
	return staffimport.RowResult{}
}

func wantProblem(t *testing.T, rep staffimport.Report, row int, field, code string) staffimport.Problem {
	t.Helper()
	res := result(t, rep, row)
	if res.Outcome != staffimport.Rejected {
		t.Fatalf("row %d: outcome %s, want rejected (%+v)", row, res.Outcome, res.Problems)
	}
	for _, p := range res.Problems {
		if p.Field == field && p.Code == code {
			if p.Reason == "" {
				t.Fatalf("row %d: problem %s/%s has no reason", row, field, code)
			}
			return p
		}
	}
	t.Fatalf("row %d: no problem %s/%s in %+v", row, field, code, res.Problems)
	return staffimport.Problem{}
}

// good is a clean file with Malay headers, CRLF line ends, a UTF-8 BOM,
// quoting (a comma and a doubled quote inside values) and an extra column.
const good = "\uFEFFNo. Pengenalan,Nama,E-mel Rasmi,Jabatan,Jawatan,No. Gaji,Telefon\r\n" +
	"791117-04-5671,Siti Aminah binti Omar,Siti.Aminah@MELAKA.gov.my,Jabatan Kewangan dan Perbendaharaan,Pegawai Kewangan,JKPN-0042,06-2345678\r\n" +
	"850203145432,\"Lim, Mei Ling\",pentadbiran.jkr@melaka.gov.my,Jabatan Kerja Raya,Pembantu Tadbir,JKR-1001,\r\n" +
	"900512015123,\"Rajesh a/l Muthu \"\"Raj\"\"\",pentadbiran.jkr@melaka.gov.my,Jabatan Kerja Raya,  Juruteknik  ,JKR-1002,\r\n" +
	",,,,,,\r\n"

func TestImportGoodFile(t *testing.T) {
	r := newRig(t)
	var calls []staffimport.Progress
	rep, err := r.im.Import(context.Background(), strings.NewReader(good), cli, func(p staffimport.Progress) { calls = append(calls, p) })
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 3 || rep.Created != 3 || !rep.Complete() {
		t.Fatalf("report %+v", rep)
	}
	if !slices.Equal(rep.IgnoredColumns, []string{"Telefon"}) {
		t.Fatalf("ignored columns %v", rep.IgnoredColumns)
	}
	if rep.LastPosition != r.head() {
		t.Fatalf("last position %d, log head %d", rep.LastPosition, r.head())
	}
	for i, res := range rep.Results {
		if res.Row != i+2 || res.Outcome != staffimport.Created || res.Position == 0 {
			t.Fatalf("row %d: %+v", i+2, res)
		}
	}
	if got := rep.Results[0].IC; got != "791117-04-****" {
		t.Fatalf("report IC %q, want masked", got)
	}
	last := calls[len(calls)-1]
	if last.Done != 3 || last.Total != 3 || len(calls) != 4 {
		t.Fatalf("progress calls %+v", calls)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i].Done < calls[i-1].Done {
			t.Fatalf("progress went backwards: %+v", calls)
		}
	}

	d, envs := r.staff("791117045671")
	want := employee.Details{IC: "791117045671", Name: "Siti Aminah binti Omar", Email: "siti.aminah@melaka.gov.my",
		Department: "Jabatan Kewangan dan Perbendaharaan", Post: "Pegawai Kewangan", StaffNumber: "JKPN-0042"}
	if d != want {
		t.Fatalf("stored %+v\nwant   %+v", d, want)
	}
	if len(envs) != 1 || envs[0].Metadata.Actor != cli.Actor || envs[0].Metadata.CorrelationID != "import-"+rep.Digest[:16] {
		t.Fatalf("event metadata %+v", envs[0].Metadata)
	}
	if d, _ := r.staff("850203145432"); d.Name != "Lim, Mei Ling" {
		t.Fatalf("quoted comma: name %q", d.Name)
	}
	if d, _ := r.staff("900512015123"); d.Name != `Rajesh a/l Muthu "Raj"` || d.Post != "Juruteknik" {
		t.Fatalf("doubled quote / trimming: %+v", d)
	}
}

func TestReimportAppendsNothing(t *testing.T) {
	r := newRig(t)
	if _, err := r.importCSV(good); err != nil {
		t.Fatal(err)
	}
	before := r.head()
	rep, err := r.importCSV(good)
	if err != nil {
		t.Fatal(err)
	}
	if r.head() != before || rep.Unchanged != 3 || rep.Created+rep.Updated != 0 || rep.LastPosition != 0 {
		t.Fatalf("re-import appended: head %d→%d, report %+v", before, r.head(), rep)
	}
}

// TestLeaverInFileIsReportedRejoined: a file that still lists someone who
// left service brings them back (they may have rejoined), and the report
// says so apart from new people, with the row, so an old file is noticed.
func TestLeaverInFileIsReportedRejoined(t *testing.T) {
	r := newRig(t)
	if _, err := r.importCSV(good); err != nil {
		t.Fatal(err)
	}
	left := commands.StaffLeftServiceHandler{Runner: r.runner}
	if _, err := left.Handle(context.Background(), commands.StaffLeftService{
		Meta: commands.Meta{CommandID: uuid.New(), Actor: cli.Actor}, IC: "791117045671", Date: "2026-02-27"}); err != nil {
		t.Fatal(err)
	}
	rep, err := r.importCSV(good)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rejoined != 1 || rep.Created != 0 || rep.Unchanged != 2 {
		t.Fatalf("report %+v", rep)
	}
	if res := result(t, rep, 2); res.Outcome != staffimport.Rejoined || res.IC != "791117-04-****" {
		t.Fatalf("row 2: %+v", res)
	}
	var out bytes.Buffer
	if err := rep.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rejoined:  1", "Back in service", "row 2  791117-04-****"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("report text lacks %q:\n%s", want, out.String())
		}
	}
}

func TestUpdateAndBackAgain(t *testing.T) {
	r := newRig(t)
	a := "ic,name,email,department,post,staff_number\n" +
		"791117045671,Siti Aminah binti Omar,siti.aminah@melaka.gov.my,Jabatan Kewangan,Pegawai Kewangan,JKPN-0042\n" +
		"850203145432,Nurul Huda binti Rahman,nurul@melaka.gov.my,Jabatan Kerja Raya,Pembantu Tadbir,JKR-1001\n"
	b := strings.Replace(a, "Pegawai Kewangan", "Penolong Pegawai Kewangan", 1)
	for i, file := range []string{a, b, a} {
		rep, err := r.importCSV(file)
		if err != nil {
			t.Fatal(err)
		}
		wantCreated, wantUpdated := 0, 1
		if i == 0 {
			wantCreated, wantUpdated = 2, 0
		}
		if rep.Created != wantCreated || rep.Updated != wantUpdated {
			t.Fatalf("import %d: %+v", i, rep)
		}
	}
	// The third import is file A again: its row must land although file A
	// landed once before (command IDs include the stream version seen).
	d, envs := r.staff("791117045671")
	if d.Post != "Pegawai Kewangan" || len(envs) != 3 {
		t.Fatalf("after A, B, A: post %q, %d events", d.Post, len(envs))
	}
	if _, envs := r.staff("850203145432"); len(envs) != 1 {
		t.Fatalf("unchanged person got %d events", len(envs))
	}
}

func TestBadRows(t *testing.T) {
	r := newRig(t)
	long := strings.Repeat("x", 10_000)
	csv := "ic,name,email,department,post,staff_number\n" +
		"791117045671,Siti Aminah binti Omar,siti.aminah@melaka.gov.my,Jabatan Kewangan,Pegawai Kewangan,JKPN-0042\n" + // 2 good
		"791117175671,Bad Place,bad.place@melaka.gov.my,Jabatan Kewangan,Kerani,K-1\n" + // 3 place code 17
		"791317045671,Bad Date,bad.date@melaka.gov.my,Jabatan Kewangan,Kerani,K-2\n" + // 4 month 13
		"12345,Short,short@melaka.gov.my,Jabatan Kewangan,Kerani,K-3\n" + // 5 not 12 digits
		"850203145432,Gmail User,someone@gmail.com,Jabatan Kerja Raya,Kerani,K-4\n" + // 6 domain
		"900512015123," + long + ",long@melaka.gov.my,Jabatan Kerja Raya,Kerani,K-5\n" + // 7 10 kB field
		"880808045555,Bell Ringer,bell@melaka.gov.my,Jabatan\aKerja Raya,Kerani,K-6\n" + // 8 control character
		"770707045555,Dup One,dup1@melaka.gov.my,Jabatan Kerja Raya,Kerani,K-7\n" + // 9 duplicate IC …
		"770707-04-5555,Dup Two,dup2@melaka.gov.my,Jabatan Kerja Raya,Kerani,K-8\n" + // 10 … written with dashes
		"660606045555,Too,many,cells,here,K-9,extra\n" + // 11 field count
		"550505045555,,,Jabatan Kerja Raya,Kerani,K-10\n" + // 12 required name and email
		"800101045555,Not An Email,not-an-email,Jabatan Kerja Raya,Kerani,K-11\n" // 13 invalid email
	rep, err := r.importCSV(csv)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 12 || rep.Created != 1 || rep.Rejected != 11 {
		t.Fatalf("report %+v", rep)
	}
	wantProblem(t, rep, 3, "ic", "invalid_place_code")
	wantProblem(t, rep, 4, "ic", "invalid_date")
	wantProblem(t, rep, 5, "ic", "invalid")
	p := wantProblem(t, rep, 6, "email", "domain_not_allowed")
	if !strings.Contains(p.Reason, "gmail.com") || !strings.Contains(p.Reason, "melaka.gov.my") {
		t.Fatalf("domain reason %q", p.Reason)
	}
	wantProblem(t, rep, 7, "name", "too_long")
	wantProblem(t, rep, 8, "department", "control_character")
	d9 := wantProblem(t, rep, 9, "ic", "duplicate_ic")
	wantProblem(t, rep, 10, "ic", "duplicate_ic")
	if !strings.Contains(d9.Reason, "9, 10") {
		t.Fatalf("duplicate reason %q", d9.Reason)
	}
	wantProblem(t, rep, 11, "", "field_count")
	wantProblem(t, rep, 12, "name", "required")
	wantProblem(t, rep, 12, "email", "required")
	wantProblem(t, rep, 13, "email", "invalid")

	// Only the good row landed: one stream, one event.
	if r.head() != 1 {
		t.Fatalf("log head %d, want 1", r.head())
	}
	for _, ic := range []string{"850203145432", "900512015123", "880808045555", "770707045555", "550505045555"} {
		if _, envs := r.staff(ic); len(envs) != 0 {
			t.Fatalf("rejected row of %s landed", ic)
		}
	}

	var out bytes.Buffer
	if err := rep.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"rejected:  11", "invalid place-of-birth code", "gmail.com is not an official e-mail domain", "is longer than 150 characters"} {
		if !strings.Contains(text, want) {
			t.Fatalf("report text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, long[:100]) || strings.Contains(text, "\a") || strings.Contains(text, "770707045555") {
		t.Fatalf("report echoes a long value, a control character or an IC in clear:\n%s", text)
	}
}

func TestFileRefusedLandsNothing(t *testing.T) {
	cases := map[string]struct {
		csv  string
		want string
		code string
		cols []string
	}{
		"missing column":   {"ic,name,email,department,post\n791117045671,Siti,siti@melaka.gov.my,JK,PK\n", "staff_number", "missing_columns", []string{"staff_number"}},
		"duplicate column": {"ic,name,email,department,jabatan,post,staff_number\n", "both the department column", "duplicate_column", []string{"department"}},
		"empty":            {"", "empty", "empty", nil},
		// An export whose query found nobody: not "every row is in the
		// master" with exit status 0.
		"header only":     {"\uFEFFNo. Pengenalan,Nama,Emel,Jabatan,Jawatan,No. Gaji\r\n", "no rows", "empty", nil},
		"blank rows only": {"ic,name,email,department,post,staff_number\r\n,,,,,\r\n\r\n", "no rows", "empty", nil},
		"utf-16":          {"\xff\xfei\x00c\x00", "UTF-16", "utf16", nil},
		"header only bad": {"\"ic,name\n", "header row", "header_syntax", nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := newRig(t)
			rep, err := r.importCSV(tc.csv)
			var fe *staffimport.FileError
			if !errors.As(err, &fe) || !errors.Is(err, staffimport.ErrFile) {
				t.Fatalf("err %v, want a FileError", err)
			}
			if !strings.Contains(fe.Reason, tc.want) {
				t.Fatalf("reason %q lacks %q", fe.Reason, tc.want)
			}
			// The code and columns let a page word the refusal in its
			// own language.
			if fe.Code != tc.code || !slices.Equal(fe.Columns, tc.cols) {
				t.Fatalf("code %q columns %v, want %q %v", fe.Code, fe.Columns, tc.code, tc.cols)
			}
			if r.head() != 0 || rep.Created != 0 {
				t.Fatalf("refused file landed something: head %d", r.head())
			}
		})
	}
}

func TestTooLargeFileRefused(t *testing.T) {
	r := newRig(t)
	r.im.Config.MaxBytes = 200
	_, err := r.importCSV(good + strings.Repeat("x", 300))
	if !errors.Is(err, staffimport.ErrFile) || !strings.Contains(err.Error(), "larger than 200 bytes") {
		t.Fatalf("err %v", err)
	}
	var fe *staffimport.FileError
	if !errors.As(err, &fe) || fe.Code != "too_large" || fe.Limit != 200 {
		t.Fatalf("file error %+v, want too_large with the limit", fe)
	}
	if r.head() != 0 {
		t.Fatal("landed")
	}
}

func TestEnglishHeadersSemicolonsAndOrder(t *testing.T) {
	r := newRig(t)
	csv := "Staff/Pay Number;Official E-mail;Name;IC;Post;Department\n" +
		"JKR-77;ali@jkr.melaka.gov.my;Ali bin Abu;791117-04-5671;Jurutera;Jabatan Kerja Raya\n"
	rep, err := r.importCSV(csv)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 1 {
		t.Fatalf("%+v", rep)
	}
	d, _ := r.staff("791117045671")
	if d.StaffNumber != "JKR-77" || d.Email != "ali@jkr.melaka.gov.my" || d.Department != "Jabatan Kerja Raya" {
		t.Fatalf("%+v", d)
	}
}

func TestUnclosedQuoteIsReportedWithItsSpan(t *testing.T) {
	r := newRig(t)
	csv := "ic,name,email,department,post,staff_number\n" +
		"791117045671,Siti Aminah binti Omar,siti@melaka.gov.my,Jabatan Kewangan,Pegawai Kewangan,JKPN-0042\n" +
		"850203145432,\"Nurul Huda,nurul@melaka.gov.my,Jabatan Kerja Raya,Kerani,K-1\n" +
		"900512015123,Hafiz bin Ismail,hafiz@melaka.gov.my,Jabatan Kerja Raya,Juruteknik,K-2\n"
	rep, err := r.importCSV(csv)
	if err != nil {
		t.Fatal(err)
	}
	p := wantProblem(t, rep, 3, "", "malformed")
	if !strings.Contains(p.Reason, "lines 3 to") {
		t.Fatalf("reason %q does not name the span", p.Reason)
	}
	if rep.Created != 1 || rep.Rejected != 1 {
		t.Fatalf("%+v", rep)
	}
}

func TestForbiddenActorLandsNothing(t *testing.T) {
	r := newRig(t)
	user := staffimport.Source{Actor: eventlog.Actor{Kind: eventlog.ActorUser, ID: "791117045671"}}
	rep, err := r.im.Import(context.Background(), strings.NewReader(good), user, nil)
	if !errors.Is(err, commands.ErrForbidden) {
		t.Fatalf("err %v, want ErrForbidden", err)
	}
	if r.head() != 0 || rep.Failed != 3 {
		t.Fatalf("head %d, report %+v", r.head(), rep)
	}
}

func TestCancelledImportReportsRowsNotSaved(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := r.im.Import(ctx, strings.NewReader(good), cli, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if rep.Failed != 3 || r.head() != 0 {
		t.Fatalf("report %+v head %d", rep, r.head())
	}
}

// bigFile makes n valid rows with distinct IC numbers.
func bigFile(n int) string {
	var b strings.Builder
	b.WriteString("ic,name,email,department,post,staff_number\n")
	for i := range n {
		ic := fmt.Sprintf("%02d%02d%02d04%04d", 60+i%40, 1+i%12, 1+i%28, i)
		fmt.Fprintf(&b, "%s,Pegawai %d,pegawai%d@melaka.gov.my,Jabatan %d,Kerani,S-%d\n", ic, i, i, i%20, i)
	}
	return b.String()
}

func TestManyRowsConcurrently(t *testing.T) {
	r := newRig(t)
	n := 400
	if testing.Short() {
		n = 100
	}
	rep, err := r.importCSV(bigFile(n))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != n || r.head() != uint64(n) {
		t.Fatalf("created %d, head %d, want %d", rep.Created, r.head(), n)
	}
	rep, err = r.importCSV(bigFile(n))
	if err != nil || rep.Unchanged != n || r.head() != uint64(n) {
		t.Fatalf("re-import: %v %+v head %d", err, rep, r.head())
	}
}

func TestRunPrintsReport(t *testing.T) {
	r := newRig(t)
	csv := "No. KP,Nama,Emel,Jabatan,Jawatan,No. Pekerja\n" +
		"791117045671,Siti Aminah binti Omar,siti@melaka.gov.my,Jabatan Kewangan,Pegawai Kewangan,JKPN-0042\n" +
		"791117175671,Bad Place,bad@melaka.gov.my,Jabatan Kewangan,Kerani,K-1\n"
	var out bytes.Buffer
	var last staffimport.Progress
	rep, err := staffimport.Run(context.Background(), staffimport.Deps{Runner: r.runner}, strings.NewReader(csv), &out, func(p staffimport.Progress) { last = p })
	if !errors.Is(err, staffimport.ErrIncomplete) {
		t.Fatalf("err %v, want ErrIncomplete", err)
	}
	if rep.Created != 1 || last != (staffimport.Progress{Done: 2, Total: 2}) {
		t.Fatalf("report %+v progress %+v", rep, last)
	}
	text := out.String()
	if !strings.Contains(text, "3    791117-17-****  No. KP  IC number has an invalid place-of-birth code") {
		t.Fatalf("report:\n%s", text)
	}
	_, envs := r.staff("791117045671")
	if envs[0].Metadata.Actor != (eventlog.Actor{Kind: eventlog.ActorSystem, ID: "cli:import"}) {
		t.Fatalf("actor %+v", envs[0].Metadata.Actor)
	}

	out.Reset()
	_, err = staffimport.Run(context.Background(), staffimport.Deps{Runner: r.runner}, strings.NewReader("name\nx\n"), &out, nil)
	if !errors.Is(err, staffimport.ErrFile) || !strings.Contains(out.String(), "nothing imported") {
		t.Fatalf("err %v, out %q", err, out.String())
	}
}

func BenchmarkImport(b *testing.B) {
	file := bigFile(2000)
	for b.Loop() {
		b.StopTimer()
		store, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "events.db"), sqlite.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		reg := eventlog.NewRegistry()
		employee.Register(reg)
		im := staffimport.New(commands.Runner{Store: store, Registry: reg, Now: time.Now}, staffimport.Config{})
		b.StartTimer()
		rep, err := im.Import(context.Background(), strings.NewReader(file), cli, nil)
		if err != nil || rep.Created != 2000 {
			b.Fatal(err, rep.Created)
		}
		b.StopTimer()
		store.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(2000*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func TestBareQuoteRejectsOnlyItsRow(t *testing.T) {
	r := newRig(t)
	csv := "ic,name,email,department,post,staff_number\n" +
		"850203145432,Nurul \"Huda\" Rahman,nurul@melaka.gov.my,Jabatan Kerja Raya,Kerani,K-1\n" +
		"900512015123,Hafiz bin Ismail,hafiz@melaka.gov.my,Jabatan Kerja Raya,Juruteknik,K-2\n"
	rep, err := r.importCSV(csv)
	if err != nil {
		t.Fatal(err)
	}
	wantProblem(t, rep, 2, "", "malformed")
	if res := result(t, rep, 3); res.Outcome != staffimport.Created {
		t.Fatalf("row after the bad one: %+v", res)
	}
}

func TestProgressBarDraws(t *testing.T) {
	r := newRig(t)
	var out bytes.Buffer
	progress, finish := staffimport.ProgressBar(&out)
	if _, err := r.im.Import(context.Background(), strings.NewReader(good), cli, progress); err != nil {
		t.Fatal(err)
	}
	finish()
	if !strings.Contains(out.String(), "employees") || !strings.Contains(out.String(), "3/3") {
		t.Fatalf("bar output %q", out.String())
	}
}

// TestInterruptedRunReportsWhereItStopped: Ctrl-C in the middle of a large
// file reports the rows done so far and one line for the rest, not one
// "not saved" line per row never reached; the bar stays where it stopped,
// and the rows saved are whole (a second run imports only the rest).
func TestInterruptedRunReportsWhereItStopped(t *testing.T) {
	r := newRig(t)
	const n = 300
	csv := bigFile(n) + "791117175671,Bad Place,bad@melaka.gov.my,Jabatan Kewangan,Kerani,K-1\n"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, barOut bytes.Buffer
	var last staffimport.Progress
	draw, finish := staffimport.ProgressBar(&barOut)
	rep, err := staffimport.Run(ctx, staffimport.Deps{Runner: r.runner}, strings.NewReader(csv), &out, func(p staffimport.Progress) {
		last = p
		draw(p)
		if p.Done >= 40 {
			cancel() // the operator's Ctrl-C
		}
	})
	finish()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	saved := rep.Created
	notReached := rep.Failed
	// The rows being saved at the signal finish: every row saved is
	// counted, and no other.
	if saved < 39 || saved >= n || notReached == 0 || saved+notReached+rep.Rejected != n+1 || r.head() != uint64(saved) {
		t.Fatalf("saved %d (updated %d), not reached %d, head %d", saved, rep.Updated, notReached, r.head())
	}
	if last.Done != saved+rep.Rejected || last.Total != n+1 {
		t.Errorf("progress %+v, want %d of %d done", last, saved+rep.Rejected, n+1)
	}
	if strings.Contains(barOut.String(), fmt.Sprintf("%d/%d", n+1, n+1)) {
		t.Errorf("bar drawn full for a stopped import: %q", barOut.String())
	}
	text := out.String()
	if lines := strings.Count(text, "\n"); lines > 15 || strings.Contains(text, "import was stopped; import the file again") {
		t.Fatalf("%d lines of report, want the rows never reached in one line:\n%s", lines, text)
	}
	first := 0
	for _, res := range rep.Results {
		if res.Outcome == staffimport.Failed {
			first = res.Row
			break
		}
	}
	for _, want := range []string{
		fmt.Sprintf("stopped: %d of %d row(s) done", n+1-notReached, n+1),
		fmt.Sprintf("new:       %d\n", saved),
		"failed:    0\n",
		fmt.Sprintf("stopped before %d row(s), from row %d on", notReached, first),
		"IC number has an invalid place-of-birth code", // refused rows are still listed
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}

	rep, err = r.importCSV(csv)
	if err != nil || rep.Unchanged != saved || rep.Unchanged+rep.Created != n || r.head() != n {
		t.Fatalf("second run: %v, %d unchanged, %d new, head %d; %d saved before", err, rep.Unchanged, rep.Created, r.head(), saved)
	}
}

// commitDuringStop is the real store with the race sqlite.Store.Append
// has when its caller's context ends while the commit is under way: the
// events are stored, and the caller is answered the context's error ("the
// append may still commit"). The operator's Ctrl-C comes during append
// number at, so at least that row lands after the stop.
type commitDuringStop struct {
	*sqlite.Store
	at   int32
	n    atomic.Int32
	stop func()
}

func (s *commitDuringStop) Append(ctx context.Context, stream string, expected eventlog.ExpectedVersion, events []eventlog.Proposed) (eventlog.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return eventlog.AppendResult{}, err // the store refuses an append asked after the stop
	}
	res, err := s.Store.Append(context.WithoutCancel(ctx), stream, expected, events)
	if s.n.Add(1) == s.at {
		s.stop()
	}
	if err := ctx.Err(); err != nil {
		return eventlog.AppendResult{}, err // the stop won the race with the commit's answer
	}
	return res, err
}

// TestInterruptedImportCountsEveryRowThatLanded: a row whose save was under
// way when the import was stopped finishes, and the report counts it; a
// row counted new is in the master, and every row in the master is
// counted.
func TestInterruptedImportCountsEveryRowThatLanded(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := &commitDuringStop{Store: r.store, at: 20, stop: cancel}
	runner := r.runner
	runner.Store = store
	im := staffimport.New(runner, staffimport.Config{Logger: slog.New(slog.DiscardHandler)})
	const n = 200
	rep, err := im.Import(ctx, strings.NewReader(bigFile(n)), cli, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if rep.Created < int(store.at) || rep.Created+rep.Failed != n || uint64(rep.Created) != r.head() {
		t.Fatalf("report: %d new, %d failed; %d rows in the master (the stop came during save %d)", rep.Created, rep.Failed, r.head(), store.at)
	}
	for _, res := range rep.Results {
		if res.Outcome == staffimport.Failed && (len(res.Problems) != 1 || res.Problems[0].Code != "stopped") {
			t.Errorf("row %d: %+v, want only rows the stop came before as failed", res.Row, res.Problems)
		}
	}
}

// stuckStore never answers an append until its context ends: a store
// that hangs. The operator's Ctrl-C comes while it hangs.
type stuckStore struct {
	*sqlite.Store
	stop func()
}

func (s stuckStore) Append(ctx context.Context, _ string, _ eventlog.ExpectedVersion, _ []eventlog.Proposed) (eventlog.AppendResult, error) {
	s.stop()
	<-ctx.Done()
	return eventlog.AppendResult{}, ctx.Err()
}

// A row still being saved when the stop's grace runs out cannot be known
// to have landed or not: it says so, rather than "not saved".
func TestRowStillSavingAfterTheStopGraceMayBeSaved(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runner := r.runner
	runner.Store = stuckStore{Store: r.store, stop: cancel}
	im := staffimport.New(runner, staffimport.Config{Logger: slog.New(slog.DiscardHandler), StopGrace: 50 * time.Millisecond})
	rep, err := im.Import(ctx, strings.NewReader(bigFile(1)), cli, nil)
	if !errors.Is(err, context.Canceled) || rep.Failed != 1 {
		t.Fatalf("err %v, report %+v", err, rep)
	}
	if p := rep.Results[0].Problems; len(p) != 1 || p[0].Code != "maybe_saved" || !strings.Contains(p[0].Reason, "may have been saved") {
		t.Fatalf("%+v", rep.Results[0])
	}
}

// TestRowsAreSpreadsheetRows: a cell that spans lines (an address) is one
// row in a spreadsheet, so the report names the rows below it as the
// spreadsheet shows them, not as the lines of the file (one further down
// for every line break above), and says the line where they differ.
func TestRowsAreSpreadsheetRows(t *testing.T) {
	r := newRig(t)
	csv := "ic,name,email,department,post,staff_number,Alamat\r\n" +
		"791117045671,Siti Aminah binti Omar,siti@melaka.gov.my,JKPN,Kerani,K-1,\"No 1,\r\nJalan Bukit,\r\nMelaka\"\r\n" +
		"850203145432,Lim Mei Ling,lim@gmail.com,JKR,Kerani,K-2,\r\n" +
		"\r\n" +
		"900512015123,Rajesh a/l Muthu,rajesh@melaka.gov.my,JKR,Juruteknik,K-3,\r\n" +
		"900512-01-5123,Rajesh a/l Muthu,rajesh@melaka.gov.my,JKR,Juruteknik,K-3,\r\n"
	rep, err := r.importCSV(csv)
	if err != nil {
		t.Fatal(err)
	}
	if res := result(t, rep, 2); res.Outcome != staffimport.Created || res.Line != 2 {
		t.Fatalf("row 2: %+v", res)
	}
	if res := wantProblem(t, rep, 3, "email", "domain_not_allowed"); res.Reason == "" {
		t.Fatal("no reason")
	}
	if res := result(t, rep, 3); res.Line != 5 {
		t.Fatalf("row 3 starts on line %d, want 5", res.Line)
	}
	p := wantProblem(t, rep, 5, "ic", "duplicate_ic")
	wantProblem(t, rep, 6, "ic", "duplicate_ic")
	if !strings.Contains(p.Reason, "rows 5, 6") {
		t.Fatalf("duplicate reason %q, want the spreadsheet rows", p.Reason)
	}
	var out bytes.Buffer
	if err := rep.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "\n3 (line 5) ") {
		t.Fatalf("report:\n%s", out.String())
	}
}

// TestICWrittenAsANumberSaysWhy: a spreadsheet that took the IC column for
// numbers drops the leading zero of everyone born 2000–2009 and may write
// the rest in scientific notation. The row says so, and how to fix it,
// rather than only "must be 12 digits" beside what looks like an IC.
func TestICWrittenAsANumberSaysWhy(t *testing.T) {
	r := newRig(t)
	rep, err := r.importCSV("ic,name,email,department,post,staff_number\n" +
		"10203045678,Nur Aina binti Zulkifli,aina@melaka.gov.my,JKR,Kerani,K-1\n" +
		"8.80101E+11,Tan Ah Kow,tan@melaka.gov.my,JKR,Kerani,K-2\n" +
		"88010104567,Abu bin Bakar,abu@melaka.gov.my,JKR,Kerani,K-3\n")
	if !errors.Is(err, nil) {
		t.Fatal(err)
	}
	for row, want := range map[int]string{2: "leading zero", 3: "scientific notation"} {
		p := wantProblem(t, rep, row, "ic", "invalid")
		if !strings.Contains(p.Reason, want) || !strings.Contains(p.Reason, "Text") {
			t.Errorf("row %d: reason %q, want it to say %q and to format the column as Text", row, p.Reason, want)
		}
	}
	// A digit missing (with a 0 in front it is no IC number) is not
	// blamed on the spreadsheet.
	if p := wantProblem(t, rep, 4, "ic", "invalid"); strings.Contains(p.Reason, "zero") {
		t.Errorf("row 4: reason %q", p.Reason)
	}
}

// TestWindowsCodePageFileSaysHowToSaveIt: Excel's "CSV (Comma delimited)"
// writes the Windows code page, so a name with an accent or a typographic
// apostrophe (D’Cruz, which Excel's autocorrect makes) is not UTF-8. The
// row says how to save the file, not only "is not valid UTF-8"; the rows
// in plain ASCII land.
func TestWindowsCodePageFileSaysHowToSaveIt(t *testing.T) {
	r := newRig(t)
	rep, err := r.importCSV("No. Pengenalan,Nama,Emel,Jabatan,Jawatan,No. Gaji\r\n" +
		"791117045671,Siti Aminah binti Omar,siti@melaka.gov.my,JKPN,Kerani,K-1\r\n" +
		"850203145432,Joseph D\x92Cruz,joseph@melaka.gov.my,Jabatan Kerja Raya,Jurutera,K-2\r\n")
	if err != nil {
		t.Fatal(err)
	}
	p := wantProblem(t, rep, 3, "name", "invalid")
	if !strings.Contains(p.Reason, `"CSV UTF-8 (Comma delimited)"`) {
		t.Fatalf("reason %q", p.Reason)
	}
	if res := result(t, rep, 2); res.Outcome != staffimport.Created {
		t.Fatalf("ASCII row: %+v", res)
	}
}

// TestDuplicateICNamesTheFilesColumn: the duplicate-IC problem names the IC
// column as the file wrote it, as every other problem does (the report
// showed "ic" beside "No. Pengenalan").
func TestDuplicateICNamesTheFilesColumn(t *testing.T) {
	r := newRig(t)
	rep, err := r.importCSV("No. Pengenalan,Nama,Emel,Jabatan,Jawatan,No. Gaji\n" +
		"791117045671,Siti Aminah binti Omar,siti@melaka.gov.my,JKPN,Kerani,K-1\n" +
		"791117-04-5671,Siti Aminah binti Omar,siti@melaka.gov.my,JKPN,Kerani,K-1\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range []int{2, 3} {
		if p := wantProblem(t, rep, row, "ic", "duplicate_ic"); p.Column != "No. Pengenalan" {
			t.Errorf("row %d: column %q", row, p.Column)
		}
	}
}

// TestClassicMacLineEndings: Excel for Mac's "CSV (Macintosh)" ends lines
// with a carriage return alone. The file was one long header row, refused
// for lacking the last column although its header names it.
func TestClassicMacLineEndings(t *testing.T) {
	r := newRig(t)
	rep, err := r.importCSV("No. Pengenalan,Nama,Emel,Jabatan,Jawatan,No. Gaji\r" +
		"791117045671,Siti Aminah binti Omar,siti@melaka.gov.my,JKPN,Kerani,K-1\r" +
		"850203145432,Lim Mei Ling,lim@gmail.com,JKR,Kerani,K-2\r")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 2 || rep.Created != 1 {
		t.Fatalf("report %+v", rep)
	}
	wantProblem(t, rep, 3, "email", "domain_not_allowed")
}

// TestExcelSeparatorLine: Excel writes (and reads) a first line "sep=;"
// naming the file's delimiter, for a file opened where the list separator
// is another. The file was refused for lacking every column (the "sep="
// line was taken for the header). The line is read for the delimiter it
// names, whatever the header holds, and is not a row: Excel shows the
// header as row 1 under it, so the rows keep their spreadsheet numbers and
// the report gives the line of the file beside them.
func TestExcelSeparatorLine(t *testing.T) {
	for name, tc := range map[string]struct{ sep, delim string }{
		"semicolon":       {"sep=;", ";"},
		"comma":           {"sep=,", ","},
		"tab":             {"sep=\t", "\t"},
		"padded cells":    {"sep=;;;;;;", ";"},
		"upper case, BOM": {"\uFEFFSEP=;", ";"},
	} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t)
			row := func(cells ...string) string { return strings.Join(cells, tc.delim) + "\r\n" }
			// A comma inside a cell of a semicolon file, and a semicolon
			// in a comma file: the named delimiter is used, not guessed.
			csv := tc.sep + "\r\n" +
				row("No. Pengenalan", "Nama", "Emel", "Jabatan", "Jawatan", "No. Gaji") +
				row("791117045671", "Siti Aminah binti Omar", "siti@melaka.gov.my", "Jabatan Kewangan; Unit Gaji", "Kerani", "K-1") +
				row("850203145432", "Lim Mei Ling", "lim@gmail.com", "JKR", "Kerani", "K-2") +
				row("900512015123", "Tan, Ah Kow", "tan@melaka.gov.my", "JKR", "Kerani", "K-3")
			switch tc.delim {
			case ",":
				csv = strings.Replace(csv, "Tan, Ah Kow", `"Tan, Ah Kow"`, 1)
			case ";":
				csv = strings.Replace(csv, "Jabatan Kewangan; Unit Gaji", `"Jabatan Kewangan; Unit Gaji"`, 1)
			}
			rep, err := r.importCSV(csv)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Rows != 3 || rep.Created != 2 || rep.Rejected != 1 {
				t.Fatalf("report %+v", rep)
			}
			if d, _ := r.staff("791117045671"); d.Department != "Jabatan Kewangan; Unit Gaji" {
				t.Errorf("department %q", d.Department)
			}
			if d, _ := r.staff("900512015123"); d.Name != "Tan, Ah Kow" {
				t.Errorf("name %q", d.Name)
			}
			wantProblem(t, rep, 3, "email", "domain_not_allowed")
			if res := result(t, rep, 3); res.Line != 4 {
				t.Errorf("row 3 on line %d, want 4 (under the sep= line and the header)", res.Line)
			}
			var out bytes.Buffer
			if err := rep.WriteText(&out); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "\n3 (line 4) ") {
				t.Errorf("report:\n%s", out.String())
			}
		})
	}
}

// TestBadSeparatorLineIsRefused: a "sep=" line that names no single
// delimiter refuses the file with the line and a reason, landing nothing.
func TestBadSeparatorLineIsRefused(t *testing.T) {
	for _, first := range []string{"sep=", "sep=ab", "sep=\"", "sep=;,"} {
		r := newRig(t)
		_, err := r.importCSV(first + "\nic;name;email;department;post;staff_number\n791117045671;Siti;siti@melaka.gov.my;JK;PK;K-1\n")
		var fe *staffimport.FileError
		if !errors.As(err, &fe) || fe.Code != "separator" || fe.Line != 1 || !strings.Contains(fe.Reason, "sep=") {
			t.Errorf("%q: err %v (%+v), want a separator refusal of line 1", first, err, fe)
		}
		if r.head() != 0 {
			t.Errorf("%q: landed", first)
		}
	}
	// The header after a "sep=" line is the file's second line.
	r := newRig(t)
	_, err := r.importCSV("sep=;\nic;name;email;department;post\n791117045671;Siti;siti@melaka.gov.my;JK;PK\n")
	var fe *staffimport.FileError
	if !errors.As(err, &fe) || fe.Code != "missing_columns" || fe.Line != 2 {
		t.Errorf("missing column under sep=: %+v", fe)
	}
}

// TestFieldCountNamesTheDelimiter: a row with more cells than the header
// is refused with the advice to quote the file's own delimiter, not a
// comma a semicolon or tab file does not use.
func TestFieldCountNamesTheDelimiter(t *testing.T) {
	for name, tc := range map[string]struct{ first, delim, want string }{
		"comma":     {"", ",", "a comma inside a value"},
		"semicolon": {"sep=;\r\n", ";", "a semicolon inside a value"},
		"tab":       {"", "\t", "a tab inside a value"},
	} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t)
			row := func(cells ...string) string { return strings.Join(cells, tc.delim) + "\r\n" }
			rep, err := r.importCSV(tc.first +
				row("No. Pengenalan", "Nama", "Emel", "Jabatan", "Jawatan", "No. Gaji") +
				row("791117045671", "Siti Aminah binti Omar", "siti@melaka.gov.my", "Jabatan Kewangan", "Unit Gaji", "Kerani", "K-1"))
			if err != nil {
				t.Fatal(err)
			}
			p := wantProblem(t, rep, 2, "", "field_count")
			if !strings.Contains(p.Reason, tc.want) {
				t.Fatalf("reason %q, want %q", p.Reason, tc.want)
			}
		})
	}
}
