package statements_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/statements"
	"github.com/melaka-gov/ispeks/projections/verifycode"
)

var key = []byte("0123456789abcdef0123456789abcdef")

const (
	icA = "880101045678"
	icB = "900202051234"
)

// now: 15 March 2026 in Melaka. Monthly slips shown from October 2024
// (18 months), annual statements from 2019 (7 years before 2026).
var now = time.Date(2026, 3, 15, 4, 0, 0, 0, time.UTC)

type feed struct {
	t        *testing.T
	store    *sqlite.Store
	proj     statements.Projector
	aggs     map[string]*statement.Statement
	versions map[string]uint64
	pos      uint64
	at       time.Time
	log      []eventlog.Envelope
}

func newFeed(t *testing.T) *feed {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "views.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := &feed{t: t, store: store, proj: statements.Projector{Key: key}, aggs: map[string]*statement.Statement{},
		versions: map[string]uint64{}, at: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := store.Ensure(context.Background(), f.proj.Collections()...); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *feed) do(id string, act func(s *statement.Statement, cmd uuid.UUID, now time.Time) error) {
	f.t.Helper()
	s, ok := f.aggs[id]
	if !ok {
		s = statement.New()
		f.aggs[id] = s
	}
	before := len(s.Uncommitted())
	f.at = f.at.Add(time.Minute)
	if err := act(s, uuid.New(), now); err != nil {
		f.t.Fatal(err)
	}
	for _, e := range s.Uncommitted()[before:] {
		f.pos++
		f.versions[id]++
		env := eventlog.Envelope{Record: eventlog.Record{ID: uuid.New(), Stream: statement.Stream(id), Version: f.versions[id], Position: f.pos, Type: e.EventType(), OccurredAt: f.at}, Event: e}
		f.log = append(f.log, env)
		f.project(env)
		f.project(env) // redelivered
	}
}

func (f *feed) project(env eventlog.Envelope) {
	f.t.Helper()
	if !slices.Contains(f.proj.Handles(), env.Type) {
		return // the engine delivers only the types the projector handles
	}
	if err := f.store.Write(context.Background(), f.proj.Name(), env.Position, func(b projections.Batch) error {
		return f.proj.Project(context.Background(), b, env)
	}); err != nil {
		f.t.Fatal(err)
	}
}

func content(ic string, t statement.Type, p statement.Period, gross int64) statement.Content {
	return statement.Content{
		Type: t, Period: p,
		Payee:      statement.Payee{IC: ic, Name: "Siti Nurhaliza binti Ahmad", StaffNo: "MLK1", Department: "JKPNM", Post: "Pegawai Kewangan"},
		Employer:   statement.Employer{Name: "Kerajaan Negeri Melaka"},
		Earnings:   []statement.Line{{Name: "Gaji Pokok", AmountSen: gross}},
		Deductions: []statement.Line{{Name: "PCB", AmountSen: 100}},
		Totals:     statement.Totals{EarningsSen: gross, DeductionsSen: 100, NetSen: gross - 100},
	}
}

func (f *feed) issue(id string, c statement.Content) {
	f.do(id, func(s *statement.Statement, cmd uuid.UUID, now time.Time) error { return s.Issue(id, cmd, c, now) })
}

func (f *feed) correct(id string, c statement.Content, reason string) {
	f.do(id, func(s *statement.Statement, cmd uuid.UUID, now time.Time) error {
		return s.Correct(cmd, c, reason, now)
	})
}

func ids(ss []statements.Statement) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return strings.Join(out, ",")
}

func TestMonthlySlipsWindowYearAndPages(t *testing.T) {
	f := newFeed(t)
	// 30 monthly slips: October 2023 .. March 2026.
	for i := range 30 {
		m := time.Date(2023, 10+time.Month(i), 1, 0, 0, 0, 0, time.UTC)
		f.issue(fmt.Sprintf("M%s", m.Format("200601")), content(icA, statement.SlipGajiBulanan, statement.Period{Year: m.Year(), Month: int(m.Month())}, 300000+int64(i)))
	}
	f.issue("B-M202601", content(icB, statement.SlipGajiBulanan, statement.Period{Year: 2026, Month: 1}, 1000))
	f.issue("A-BONUS", content(icA, statement.Bonus, statement.Period{Year: 2025, Month: 12}, 50000))

	q := statements.Queries{Reader: f.store}
	ctx := context.Background()
	var all []statements.Statement
	after := ""
	for {
		pg, err := q.ListByPayee(ctx, icA, statement.SlipGajiBulanan, 0, 5, after, now)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, pg.Statements...)
		if pg.Next == "" {
			break
		}
		after = pg.Next
	}
	// 18 months: October 2024 .. March 2026, latest first.
	if len(all) != 18 || all[0].ID != "M202603" || all[17].ID != "M202410" {
		t.Fatalf("%d: %s", len(all), ids(all))
	}
	if all[0].PeriodLabel != "Mac 2026" || all[0].TypeLabel != "Slip Gaji Bulanan" || all[0].Totals.NetSen != 300029-100 {
		t.Fatalf("%+v", all[0])
	}
	// A page that ends at the window's first month is the last one,
	// though older slips exist.
	for _, size := range []int{6, 18} {
		var got []statements.Statement
		after := ""
		for pages := 1; ; pages++ {
			pg, err := q.ListByPayee(ctx, icA, statement.SlipGajiBulanan, 0, size, after, now)
			if err != nil || len(pg.Statements) != size || pages > 18/size {
				t.Fatalf("pages of %d: page %d: %v %s", size, pages, err, ids(pg.Statements))
			}
			got = append(got, pg.Statements...)
			if pg.Next == "" {
				break
			}
			after = pg.Next
		}
		if ids(got) != ids(all) {
			t.Fatalf("pages of %d: %s", size, ids(got))
		}
	}
	y, err := q.ListByPayee(ctx, icA, statement.SlipGajiBulanan, 2024, 50, "", now)
	if err != nil || ids(y.Statements) != "M202412,M202411,M202410" || y.Next != "" {
		t.Fatalf("2024: %v %s", err, ids(y.Statements))
	}
	old, err := q.ListByPayee(ctx, icA, statement.SlipGajiBulanan, 2023, 50, "", now)
	if err != nil || len(old.Statements) != 0 {
		t.Fatalf("2023 outside the window: %v %s", err, ids(old.Statements))
	}
	years, err := q.Years(ctx, icA, statement.SlipGajiBulanan, now)
	if err != nil || fmt.Sprint(years) != "[2026 2025 2024]" {
		t.Fatalf("%v %v", err, years)
	}
	// A wider window shows more.
	wide := statements.Queries{Reader: f.store, Windows: statements.Windows{SlipMonths: 24}}
	if pg, _ := wide.ListByPayee(ctx, icA, statement.SlipGajiBulanan, 0, 100, "", now); len(pg.Statements) != 24 {
		t.Fatalf("24-month window: %d", len(pg.Statements))
	}
	// Other types and other people stay apart.
	if pg, _ := q.ListByPayee(ctx, icA, statement.Bonus, 0, 10, "", now); ids(pg.Statements) != "A-BONUS" {
		t.Fatalf("bonus: %s", ids(pg.Statements))
	}
	if pg, _ := q.ListByPayee(ctx, icB, statement.SlipGajiBulanan, 0, 10, "", now); ids(pg.Statements) != "B-M202601" {
		t.Fatalf("other person: %s", ids(pg.Statements))
	}
	if pg, err := q.ListByPayee(ctx, icA, statement.SlipGajiMingguan, 0, 10, "", now); err != nil || len(pg.Statements) != 0 {
		t.Fatalf("empty: %v %+v", err, pg)
	}
}

func TestAnnualWindowAndWeekly(t *testing.T) {
	f := newFeed(t)
	for y := 2015; y <= 2025; y++ {
		f.issue(fmt.Sprintf("EC%d", y), content(icA, statement.PenyataPendapatanTahunan, statement.Period{Year: y}, 5000000))
	}
	f.issue("W1", content(icA, statement.SlipGajiMingguan, statement.Period{From: "2026-03-02", To: "2026-03-08"}, 70000))
	f.issue("W2", content(icA, statement.SlipGajiMingguan, statement.Period{From: "2026-03-09", To: "2026-03-15"}, 70000))
	q := statements.Queries{Reader: f.store}
	pg, err := q.ListByPayee(context.Background(), icA, statement.PenyataPendapatanTahunan, 0, 50, "", now)
	if err != nil || ids(pg.Statements) != "EC2025,EC2024,EC2023,EC2022,EC2021,EC2020,EC2019" {
		t.Fatalf("%v %s", err, ids(pg.Statements))
	}
	if pg.Statements[0].PeriodLabel != "Tahun 2025" || pg.Statements[0].TypeLabel != "Penyata Pendapatan Tahunan (Borang EC)" {
		t.Fatalf("%+v", pg.Statements[0])
	}
	if _, err := q.Get(context.Background(), icA, "EC2018", now); !errors.Is(err, statements.ErrNotFound) {
		t.Fatalf("outside the window: %v", err)
	}
	w, err := q.ListByPayee(context.Background(), icA, statement.SlipGajiMingguan, 2026, 50, "", now)
	if err != nil || ids(w.Statements) != "W2,W1" || w.Statements[0].PeriodLabel != "09/03/2026 - 15/03/2026" {
		t.Fatalf("%v %+v", err, w)
	}
}

func TestCorrectionSupersedes(t *testing.T) {
	f := newFeed(t)
	c := content(icA, statement.SlipGajiBulanan, statement.Period{Year: 2026, Month: 2}, 300000)
	f.issue("S1", c)
	q := statements.Queries{Reader: f.store}
	first, err := q.Get(context.Background(), icA, "S1", now)
	if err != nil {
		t.Fatal(err)
	}
	c.Earnings = append(c.Earnings, statement.Line{Name: "ITKA", AmountSen: 30000})
	c.Totals = statement.Totals{EarningsSen: 330000, DeductionsSen: 100, NetSen: 329900}
	f.correct("S1", c, "Elaun tertinggal")

	pg, err := q.ListByPayee(context.Background(), icA, statement.SlipGajiBulanan, 2026, 10, "", now)
	if err != nil || len(pg.Statements) != 1 {
		t.Fatalf("%v %+v", err, pg)
	}
	s := pg.Statements[0]
	if s.Revision != 2 || s.Totals.NetSen != 329900 {
		t.Fatalf("list: %+v", s)
	}
	full, err := q.Get(context.Background(), icA, "S1", now)
	if err != nil || full.Revision != 2 || full.Code == "" || len(full.Earnings) != 2 ||
		len(full.Corrections) != 1 || full.Corrections[0].Reason != "Elaun tertinggal" || full.CorrectedAt == nil {
		t.Fatalf("view: %v %+v", err, full)
	}
	if full.Code == first.Code {
		t.Fatal("a correction kept the old code")
	}
	// The old printout still verifies, as superseded; the new one as current.
	old, ok, err := q.Verify(context.Background(), verifycode.Format(first.Code))
	if err != nil || !ok || !old.Superseded || old.Revision != 1 || old.CurrentRevision != 2 || old.NetSen != 299900 ||
		!old.IssuedAt.Equal(first.IssuedAt) {
		t.Fatalf("old: %v %v %+v", ok, err, old)
	}
	// Each revision is dated when it was made: the current one at its correction.
	cur, ok, err := q.Verify(context.Background(), strings.ToLower(full.Code))
	if err != nil || !ok || cur.Superseded || cur.NetSen != 329900 || cur.NameMasked != "S*** N*** b*** A***" ||
		cur.Document != "Slip Gaji Bulanan" || cur.Period != "Februari 2026" || cur.Revision != 2 || cur.CurrentRevision != 2 ||
		!cur.IssuedAt.Equal(*full.CorrectedAt) || cur.IssuedAt.Equal(old.IssuedAt) {
		t.Fatalf("current: %v %v %+v", ok, err, cur)
	}
	if _, ok, _ := q.Verify(context.Background(), statements.Code([]byte("another key, same length........"), "S1", 2)); ok {
		t.Fatal("a code under another key verified")
	}
}

func TestSomeoneElsesStatementIsNotFound(t *testing.T) {
	f := newFeed(t)
	f.issue("S1", content(icA, statement.SlipGajiBulanan, statement.Period{Year: 2026, Month: 2}, 300000))
	q := statements.Queries{Reader: f.store}
	for _, c := range []struct{ ic, id string }{{icB, "S1"}, {icA, "S2"}, {icA, "S1/../S2"}} {
		if _, err := q.Get(context.Background(), c.ic, c.id, now); !errors.Is(err, statements.ErrNotFound) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if _, err := q.Get(context.Background(), icA, "S1", now); err != nil {
		t.Fatal(err)
	}
}

func TestRebuildEqualsLive(t *testing.T) {
	f := newFeed(t)
	c := content(icA, statement.BantuanKhas, statement.Period{Year: 2026, Month: 1}, 50000)
	f.issue("S1", c)
	c.Payee.Post = "Akauntan"
	f.correct("S1", c, "Jawatan")
	f.issue("S2", content(icB, statement.Bonus, statement.Period{Year: 2025, Month: 12}, 70000))
	g := newFeed(t)
	for _, env := range f.log {
		g.project(env)
	}
	// The whole log delivered again, late, changes nothing either.
	for _, env := range f.log {
		g.project(env)
	}
	for _, coll := range []string{statements.Statements, statements.Rows, statements.Codes} {
		a, err := f.store.Find(context.Background(), projections.Query{Collection: coll, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := g.store.Find(context.Background(), projections.Query{Collection: coll, Limit: 100})
		if len(a.Docs) != len(b.Docs) || len(a.Docs) == 0 {
			t.Fatalf("%s: %d vs %d docs", coll, len(a.Docs), len(b.Docs))
		}
		for i := range a.Docs {
			if a.Docs[i].ID != b.Docs[i].ID || string(a.Docs[i].Body) != string(b.Docs[i].Body) || a.Docs[i].Version != b.Docs[i].Version ||
				fmt.Sprint(a.Docs[i].Fields) != fmt.Sprint(b.Docs[i].Fields) {
				t.Errorf("%s %s differs", coll, a.Docs[i].ID)
			}
		}
	}
}

// TestListRowMatchesView: a list's slim row says what the whole view says
// of every field it carries (all but the names, lines, dates of issue and
// the verification code, which only the document shows), for monthly,
// weekly and annual periods and after a correction.
func TestListRowMatchesView(t *testing.T) {
	f := newFeed(t)
	c := content(icA, statement.SlipGajiBulanan, statement.Period{Year: 2026, Month: 2}, 300000)
	f.issue("M1", c)
	c.Totals = statement.Totals{EarningsSen: 300000, DeductionsSen: 200, NetSen: 299800}
	c.Deductions = []statement.Line{{Name: "PCB", AmountSen: 200}}
	f.correct("M1", c, "Potongan")
	f.issue("W1", content(icA, statement.SlipGajiMingguan, statement.Period{From: "2026-03-02", To: "2026-03-08"}, 90000))
	f.issue("EC", content(icA, statement.PenyataPendapatanTahunan, statement.Period{Year: 2025}, 5000000))
	q := statements.Queries{Reader: f.store}
	for _, c := range []struct {
		id string
		t  statement.Type
	}{{"M1", statement.SlipGajiBulanan}, {"W1", statement.SlipGajiMingguan}, {"EC", statement.PenyataPendapatanTahunan}} {
		full, err := q.Get(context.Background(), icA, c.id, now)
		if err != nil {
			t.Fatal(err)
		}
		pg, err := q.ListByPayee(context.Background(), icA, c.t, 0, 10, "", now)
		if err != nil || len(pg.Statements) != 1 {
			t.Fatalf("%s: %v %+v", c.id, err, pg)
		}
		want := statements.Statement{ID: full.ID, Revision: full.Revision, TypeLabel: full.TypeLabel, PeriodLabel: full.PeriodLabel}
		want.Type, want.Period, want.PayDate, want.Totals, want.Payee.IC = full.Type, full.Period, full.PayDate, full.Totals, full.Payee.IC
		if got := pg.Statements[0]; fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Errorf("row  %+v\nview %+v", got, want)
		}
	}
}

// FirstYear is the year of the first period end the lists keep to, in
// Melaka time: the web page and the API refuse a year before it.
func TestWindowsFirstYear(t *testing.T) {
	w := statements.DefaultWindows()
	march := time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		w    statements.Windows
		t    statement.Type
		now  time.Time
		want int
	}{
		{w, statement.SlipGajiBulanan, march, 2024}, // October 2024 to March 2026
		{w, statement.Bonus, march, 2024},
		{w, statement.PenyataPendapatanTahunan, march, 2019},
		{statements.Windows{SlipMonths: 3}, statement.SlipGajiBulanan, march, 2026},
		{statements.Windows{SlipMonths: 4}, statement.SlipGajiBulanan, march, 2025},
		// 1 January 01:00 in Melaka is still 31 December in UTC.
		{statements.Windows{SlipMonths: 1}, statement.SlipGajiBulanan, time.Date(2025, 12, 31, 17, 0, 0, 0, time.UTC), 2026},
	} {
		if got := c.w.FirstYear(c.t, c.now); got != c.want {
			t.Errorf("%+v %s at %s: %d, want %d", c.w, c.t, c.now, got, c.want)
		}
	}
}

// A correction that changes nothing is recorded (statement.CorrectionUnchanged,
// so a re-sent request stays a repeat) but is no correction: no revision, no
// correction entry, the same code; the correction after it is revision 2.
func TestUnchangedCorrectionLeavesTheView(t *testing.T) {
	f := newFeed(t)
	c := content(icA, statement.SlipGajiBulanan, statement.Period{Year: 2026, Month: 2}, 300000)
	f.issue("S1", c)
	q := statements.Queries{Reader: f.store}
	first, err := q.Get(context.Background(), icA, "S1", now)
	if err != nil {
		t.Fatal(err)
	}
	f.correct("S1", c, "Semakan")
	if last := f.log[len(f.log)-1]; last.Type != "statement.CorrectionUnchanged.v1" {
		t.Fatalf("the unchanged correction recorded %s", last.Type)
	}
	got, err := q.Get(context.Background(), icA, "S1", now)
	if err != nil || got.Revision != 1 || len(got.Corrections) != 0 || got.CorrectedAt != nil || got.Code != first.Code {
		t.Fatalf("after the unchanged correction: %v %+v", err, got)
	}
	c.Totals.DeductionsSen, c.Totals.NetSen = c.Totals.DeductionsSen+100, c.Totals.NetSen-100
	c.Deductions = append(c.Deductions, statement.Line{Name: "Zakat", AmountSen: 100})
	f.correct("S1", c, "Zakat tertinggal")
	if got, err = q.Get(context.Background(), icA, "S1", now); err != nil || got.Revision != 2 || len(got.Corrections) != 1 {
		t.Fatalf("after the correction: %v %+v", err, got)
	}
}
