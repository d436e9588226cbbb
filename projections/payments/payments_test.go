package payments_test

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
	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/payments"
	"github.com/melaka-gov/ispeks/projections/verifycode"
)

var key = []byte("0123456789abcdef0123456789abcdef")

const (
	icA = "880101045678"
	icB = "900202051234"
)

// feed is a little event log: it runs real payment commands, wraps their
// events as envelopes with stream versions and global positions, and
// projects each one — twice, as a redelivery would.
type feed struct {
	t        *testing.T
	store    *sqlite.Store
	proj     payments.Projector
	aggs     map[string]*payment.Payment
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
	f := &feed{t: t, store: store, proj: payments.Projector{Key: key}, aggs: map[string]*payment.Payment{}, versions: map[string]uint64{},
		at: time.Date(2025, 3, 1, 1, 0, 0, 0, time.UTC)}
	if err := store.Ensure(context.Background(), f.proj.Collections()...); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *feed) do(id string, act func(p *payment.Payment, cmd uuid.UUID, now time.Time) error) {
	f.t.Helper()
	p, ok := f.aggs[id]
	if !ok {
		p = payment.New()
		f.aggs[id] = p
	}
	before := len(p.Uncommitted())
	f.at = f.at.Add(time.Hour)
	if err := act(p, uuid.New(), f.at); err != nil {
		f.t.Fatal(err)
	}
	for _, e := range p.Uncommitted()[before:] {
		f.pos++
		f.versions[id]++
		env := eventlog.Envelope{Record: eventlog.Record{ID: uuid.New(), Stream: payment.Stream(id), Version: f.versions[id], Position: f.pos, Type: e.EventType(), OccurredAt: f.at}, Event: e}
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
	err := f.store.Write(context.Background(), f.proj.Name(), env.Position, func(b projections.Batch) error {
		return f.proj.Project(context.Background(), b, env)
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *feed) record(id, ic string, module payment.Module, typ payment.Type, voucherDate string, amount int64) {
	f.do(id, func(p *payment.Payment, cmd uuid.UUID, now time.Time) error {
		return p.Record(id, cmd, payment.Details{Module: module, Type: typ, VoucherNo: "BV-" + id, VoucherDate: voucherDate,
			Description: "Bayaran " + id, AmountSen: amount, PayeeIC: ic, ReceivedDate: voucherDate}, now)
	})
}

func (f *feed) move(id string, c payment.Change) {
	f.do(id, func(p *payment.Payment, cmd uuid.UUID, now time.Time) error { return p.ChangeStatus(cmd, c, now) })
}

func TestStatusHistoryAndCurrentStatus(t *testing.T) {
	f := newFeed(t)
	f.record("P1", icA, payment.Tuntutan, payment.TuntutanPerjalanan, "2025-02-01", 45050)
	f.move("P1", payment.Change{To: payment.DalamProses, Date: "2025-02-02"})
	f.move("P1", payment.Change{To: payment.Diluluskan, Date: "2025-02-03"})
	f.move("P1", payment.Change{To: payment.DihantarKeBank, Date: "2025-02-04"})
	f.move("P1", payment.Change{To: payment.GagalDiprosesBank, Date: "2025-02-05", Reason: "Akaun bank tidak aktif"})
	f.move("P1", payment.Change{To: payment.DihantarKeBank, Date: "2025-02-07"})
	f.move("P1", payment.Change{To: payment.DiterimaOlehBank, Date: "2025-02-08", EFTNo: "EFT123", PaymentDate: "2025-02-08"})

	q := payments.Queries{Reader: f.store}
	p, err := q.Get(context.Background(), icA, "P1")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != payment.DiterimaOlehBank || p.StatusLabel != "Diterima oleh Bank" || p.EFTNo != "EFT123" || p.PaymentDate != "2025-02-08" ||
		p.AmountSen != 45050 || p.TypeLabel != "Tuntutan Perjalanan" || p.ModuleLabel != "Tuntutan" || p.Reason != "" {
		t.Fatalf("%+v", p)
	}
	want := []string{"Diterima 2025-02-01", "Dalam Proses 2025-02-02", "Diluluskan 2025-02-03", "Dihantar ke Bank 2025-02-04",
		"Gagal Diproses Bank 2025-02-05", "Dihantar ke Bank 2025-02-07", "Diterima oleh Bank 2025-02-08"}
	hist, err := q.History(context.Background(), icA, "P1")
	if err != nil || len(hist) != len(want) {
		t.Fatalf("%v %+v", err, hist)
	}
	for i, h := range hist {
		if got := h.Label + " " + h.Date; got != want[i] {
			t.Errorf("history %d: %s, want %s", i, got, want[i])
		}
	}
	if hist[4].Reason != "Akaun bank tidak aktif" {
		t.Errorf("%+v", hist[4])
	}
}

func TestSomeoneElsesPaymentIsNotFound(t *testing.T) {
	f := newFeed(t)
	f.record("P1", icA, payment.Pendahuluan, payment.PendahuluanDiri, "2025-02-01", 100)
	q := payments.Queries{Reader: f.store}
	for _, c := range []struct{ ic, id string }{{icB, "P1"}, {icA, "P2"}, {icA, "../P1"}} {
		if _, err := q.Get(context.Background(), c.ic, c.id); !errors.Is(err, payments.ErrNotFound) {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

func TestListByModuleNewestFirstPaginated(t *testing.T) {
	f := newFeed(t)
	for i := range 25 {
		mod, typ := payment.Tuntutan, payment.TuntutanLebihMasa
		if i%5 == 0 {
			mod, typ = payment.Pendahuluan, payment.PendahuluanPerjalanan
		}
		f.record(fmt.Sprintf("A%02d", i), icA, mod, typ, fmt.Sprintf("2024-%02d-%02d", 1+i%12, 1+i), int64(1000+i))
	}
	f.record("B1", icB, payment.Tuntutan, payment.TuntutanLebihMasa, "2025-01-01", 5)
	f.move("A03", payment.Change{To: payment.DalamProses, Date: "2024-05-01"})

	q := payments.Queries{Reader: f.store}
	var got []payments.Payment
	after := ""
	pages := 0
	for {
		pg, err := q.ListByPayee(context.Background(), icA, payment.Tuntutan, 7, after)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, pg.Payments...)
		pages++
		if pg.Next == "" {
			break
		}
		after = pg.Next
	}
	if len(got) != 20 || pages != 3 {
		t.Fatalf("%d payments in %d pages", len(got), pages)
	}
	for i, p := range got {
		if p.Module != payment.Tuntutan || p.PayeeIC != icA {
			t.Fatalf("%+v", p)
		}
		if i > 0 && p.VoucherDate > got[i-1].VoucherDate {
			t.Fatalf("not newest first: %s after %s", p.VoucherDate, got[i-1].VoucherDate)
		}
		if p.ID == "A03" && p.Status != payment.DalamProses {
			t.Fatalf("current status not shown: %+v", p)
		}
	}
	all, err := q.ListByPayee(context.Background(), icA, "", 100, "")
	if err != nil || len(all.Payments) != 25 || all.Next != "" {
		t.Fatalf("%v %d", err, len(all.Payments))
	}
	none, err := q.ListByPayee(context.Background(), "950505055555", payment.Tuntutan, 10, "")
	if err != nil || len(none.Payments) != 0 {
		t.Fatalf("%v %+v", err, none)
	}
	// A cursor of one person's list is refused for another person's.
	first, _ := q.ListByPayee(context.Background(), icA, payment.Tuntutan, 7, "")
	if _, err := q.ListByPayee(context.Background(), icB, payment.Tuntutan, 7, first.Next); !errors.Is(err, projections.ErrBadCursor) {
		t.Fatalf("foreign cursor: %v", err)
	}
}

func TestAmendmentShows(t *testing.T) {
	f := newFeed(t)
	f.record("P1", icA, payment.Tuntutan, payment.TuntutanPerjalanan, "2025-02-01", 100)
	f.do("P1", func(p *payment.Payment, cmd uuid.UUID, now time.Time) error {
		d := p.Details()
		d.AmountSen, d.Description = 250, "Tuntutan perjalanan (dipinda)"
		return p.Amend(cmd, d, "amaun salah", now)
	})
	p, err := payments.Queries{Reader: f.store}.Get(context.Background(), icA, "P1")
	if err != nil || p.AmountSen != 250 || p.Amended != 1 || len(p.History) != 1 {
		t.Fatalf("%v %+v", err, p)
	}
}

// The Diterima entry is dated with the received date: an amendment that
// corrects the received date moves it, in the history, in the current
// status date while the payment is still Diterima, and in the list row.
func TestAmendedReceivedDateDatesDiterima(t *testing.T) {
	f := newFeed(t)
	f.record("P1", icA, payment.Tuntutan, payment.TuntutanPerjalanan, "2025-02-01", 100)
	amendReceived := func(date string) {
		f.do("P1", func(p *payment.Payment, cmd uuid.UUID, now time.Time) error {
			d := p.Details()
			d.ReceivedDate = date
			return p.Amend(cmd, d, "tarikh terima salah", now)
		})
	}
	amendReceived("2025-02-03")
	q := payments.Queries{Reader: f.store}
	p, err := q.Get(context.Background(), icA, "P1")
	if err != nil {
		t.Fatal(err)
	}
	if p.ReceivedDate != "2025-02-03" || p.StatusDate != "2025-02-03" || len(p.History) != 1 || p.History[0].Date != "2025-02-03" {
		t.Fatalf("still Diterima: received %s, status date %s, history %+v", p.ReceivedDate, p.StatusDate, p.History)
	}
	pg, err := q.ListByPayee(context.Background(), icA, "", 10, "")
	if err != nil || len(pg.Payments) != 1 || pg.Payments[0].StatusDate != "2025-02-03" {
		t.Fatalf("list: %v %+v", err, pg.Payments)
	}

	// Moved on: the history's first entry follows, the current status
	// keeps its own date.
	f.move("P1", payment.Change{To: payment.DalamProses, Date: "2025-02-06"})
	amendReceived("2025-02-04")
	if p, err = q.Get(context.Background(), icA, "P1"); err != nil {
		t.Fatal(err)
	}
	if p.StatusDate != "2025-02-06" || len(p.History) != 2 || p.History[0].Date != "2025-02-04" || p.History[1].Date != "2025-02-06" {
		t.Fatalf("after a move: status date %s, history %+v", p.StatusDate, p.History)
	}
}

func TestVerify(t *testing.T) {
	f := newFeed(t)
	f.record("P1", icA, payment.Tuntutan, payment.TuntutanPerjalanan, "2025-02-01", 45050)
	f.move("P1", payment.Change{To: payment.DalamProses, Date: "2025-02-02"})
	q := payments.Queries{Reader: f.store}
	p, _ := q.Get(context.Background(), icA, "P1")
	if p.Code != payments.Code(key, "P1") || len(p.Code) != 16 {
		t.Fatalf("code %q", p.Code)
	}
	for _, typed := range []string{p.Code, verifycode.Format(p.Code), strings.ToLower(verifycode.Format(p.Code))} {
		v, ok, err := q.Verify(context.Background(), typed)
		if err != nil || !ok || v.Status != "Dalam Proses" || v.AmountSen != 45050 || v.PayeeMasked != "******-**-5678" || v.VoucherNo != "BV-P1" {
			t.Fatalf("%q: %v %v %+v", typed, ok, err, v)
		}
	}
	for _, bad := range []string{"", "AAAA-AAAA-AAAA-AAAA", "not a code", strings.Repeat("A", 100), payments.Code([]byte("another key of 32 bytes........."), "P1")} {
		if _, ok, err := q.Verify(context.Background(), bad); ok || err != nil {
			t.Errorf("%q verified (%v)", bad, err)
		}
	}
	if payments.Code(key, "P1") == payments.Code(key, "P2") {
		t.Fatal("codes collide")
	}
}

// TestRebuildEqualsLive replays the whole log into a fresh store once and
// compares every document with the live store (which saw each event twice).
func TestRebuildEqualsLive(t *testing.T) {
	f := newFeed(t)
	f.record("P1", icA, payment.Tuntutan, payment.TuntutanPerjalanan, "2025-02-01", 100)
	f.record("P2", icB, payment.Pendahuluan, payment.PendahuluanDiri, "2025-02-02", 200)
	f.move("P1", payment.Change{To: payment.Dibatalkan, Reason: "Dibatalkan oleh jabatan"})
	f.move("P2", payment.Change{To: payment.DalamProses})

	g := newFeed(t)
	for _, env := range f.log {
		g.project(env)
	}
	// The whole log delivered again, late, changes nothing either.
	for _, env := range f.log {
		g.project(env)
	}
	for _, coll := range []string{payments.Payments, payments.Rows} {
		for _, id := range []string{"P1", "P2"} {
			a, okA, _ := f.store.Get(context.Background(), coll, id)
			b, okB, _ := g.store.Get(context.Background(), coll, id)
			if !okA || !okB || string(a.Body) != string(b.Body) || a.Version != b.Version || fmt.Sprint(a.Fields) != fmt.Sprint(b.Fields) {
				t.Errorf("%s/%s: live %s %v\nrebuilt %s %v", coll, id, a.Body, a.Fields, b.Body, b.Fields)
			}
		}
	}
}

// TestListRowMatchesView: the list's slim row says what the whole view
// says of every field it carries, after amendments and status moves, and
// with text that needs escaping.
func TestListRowMatchesView(t *testing.T) {
	f := newFeed(t)
	f.record("P1", icA, payment.Tuntutan, payment.TuntutanPerjalanan, "2025-02-01", 100)
	f.do("P1", func(p *payment.Payment, cmd uuid.UUID, now time.Time) error {
		d := p.Details()
		d.AmountSen, d.Description, d.Reference = 250, `Tuntutan "Kursus" \ Ayer Keroh — ✓ <b>&</b>`, `REF\2025/01`
		return p.Amend(cmd, d, "amaun salah", now)
	})
	f.move("P1", payment.Change{To: payment.DalamProses, Date: "2025-02-03"})
	q := payments.Queries{Reader: f.store}
	full, err := q.Get(context.Background(), icA, "P1")
	if err != nil {
		t.Fatal(err)
	}
	pg, err := q.ListByPayee(context.Background(), icA, payment.Tuntutan, 10, "")
	if err != nil || len(pg.Payments) != 1 {
		t.Fatalf("%v %+v", err, pg)
	}
	want := full
	want.EFTNo, want.ChequeNo, want.PaymentDate, want.Reason, want.ReceivedDate, want.Code = "", "", "", "", "", ""
	want.History, want.Amended, want.RecordedAt, want.UpdatedAt = nil, 0, time.Time{}, time.Time{}
	if got := pg.Payments[0]; fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Fatalf("row  %+v\nview %+v", got, want)
	}
	if want.AmountSen != 250 || want.Status != payment.DalamProses || want.StatusLabel != "Dalam Proses" {
		t.Fatalf("view %+v", want)
	}
}

func TestProjectorNeedsKey(t *testing.T) {
	f := newFeed(t)
	f.proj = payments.Projector{}
	err := f.store.Write(context.Background(), "payments", 1, func(b projections.Batch) error {
		return f.proj.Project(context.Background(), b, eventlog.Envelope{Event: payment.Recorded{PaymentID: "P1"}})
	})
	if err == nil {
		t.Fatal("projected without a key")
	}
}

// An amendment that changes nothing is recorded (payment.AmendmentUnchanged,
// so a re-sent request stays a repeat) but is no amendment: the view is as
// it was, with no "Pindaan" count and no history entry, and the events
// after it are projected as before.
func TestUnchangedAmendmentLeavesTheView(t *testing.T) {
	f := newFeed(t)
	f.record("P1", icA, payment.Tuntutan, payment.TuntutanPerjalanan, "2025-02-01", 100)
	f.do("P1", func(p *payment.Payment, cmd uuid.UUID, now time.Time) error {
		return p.Amend(cmd, p.Details(), "semakan", now)
	})
	if last := f.log[len(f.log)-1]; last.Type != "payment.AmendmentUnchanged.v1" {
		t.Fatalf("the unchanged amendment recorded %s", last.Type)
	}
	f.move("P1", payment.Change{To: payment.DalamProses, Date: "2025-02-02"})
	p, err := payments.Queries{Reader: f.store}.Get(context.Background(), icA, "P1")
	if err != nil || p.Amended != 0 || len(p.History) != 2 || p.Status != payment.DalamProses || p.AmountSen != 100 {
		t.Fatalf("%v %+v", err, p)
	}
}

// A refused move recorded under its command ID (payment.MoveRefused) is
// not projected: no history entry, no status, the view as before.
func TestRefusedMoveLeavesTheView(t *testing.T) {
	f := newFeed(t)
	f.record("P1", icA, payment.Tuntutan, payment.TuntutanPerjalanan, "2025-02-01", 100)
	f.do("P1", func(p *payment.Payment, cmd uuid.UUID, now time.Time) error {
		if err := p.ChangeStatus(cmd, payment.Change{To: payment.Diluluskan, Date: "2025-02-02"}, now); !errors.Is(err, payment.ErrIllegalMove) {
			return fmt.Errorf("Diterima to Diluluskan: %v, want an illegal move", err)
		}
		return nil
	})
	if last := f.log[len(f.log)-1]; last.Type != "payment.MoveRefused.v1" {
		t.Fatalf("the refused move recorded %s", last.Type)
	}
	f.move("P1", payment.Change{To: payment.DalamProses, Date: "2025-02-02"})
	p, err := payments.Queries{Reader: f.store}.Get(context.Background(), icA, "P1")
	if err != nil || len(p.History) != 2 || p.Status != payment.DalamProses || p.Amended != 0 {
		t.Fatalf("%v %+v", err, p)
	}
}
