package payment_test

import (
	"errors"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/eventlog/eventlogtest"
	"github.com/melaka-gov/ispeks/domain/payment"
)

// A command ID that already recorded a change is a repeat only when it asks
// for that same change; anything else under it is ErrCommandReused and
// records nothing (the client would otherwise believe it happened).

func TestRecordUnderAUsedCommandID(t *testing.T) {
	p := given(t, payment.Diterima) // recorded by cmd(0)
	d := details()
	d.AmountSen++
	if err := p.Record("P1", cmd(0), d, now); !errors.Is(err, payment.ErrCommandReused) {
		t.Fatalf("other details under the record's ID: %v", err)
	}
	if err := p.ChangeStatus(cmd(9), change(payment.DalamProses), now); err != nil {
		t.Fatal(err)
	}
	if err := p.Record("P1", cmd(9), details(), now); !errors.Is(err, payment.ErrCommandReused) {
		t.Fatalf("record under a status move's ID: %v", err)
	}
	// The very same record, days later and without a received date: a repeat.
	if err := p.Record("P1", cmd(0), details(), now.Add(72*time.Hour)); err != nil {
		t.Fatalf("repeat: %v", err)
	}
	if n := len(p.Uncommitted()); n != 1 {
		t.Fatalf("%d events, want only the move", n)
	}
}

func TestAmendUnderAUsedCommandID(t *testing.T) {
	p := given(t, payment.DalamProses)
	d := details()
	d.AmountSen = 99900
	if err := p.Amend(cmd(20), d, "Amaun dibetulkan", now); err != nil {
		t.Fatal(err)
	}
	later := details()
	later.Description = "Diubah kemudian"
	if err := p.Amend(cmd(21), later, "", now); err != nil {
		t.Fatal(err)
	}
	// The first amendment again, after the second: a repeat, not a revert.
	if err := p.Amend(cmd(20), d, "Amaun dibetulkan", now.Add(24*time.Hour)); err != nil {
		t.Fatalf("repeat: %v", err)
	}
	other := d
	other.AmountSen = 5
	for name, try := range map[string]func() error{
		"other details":   func() error { return p.Amend(cmd(20), other, "Amaun dibetulkan", now) },
		"other reason":    func() error { return p.Amend(cmd(20), d, "Sebab lain", now) },
		"the record's ID": func() error { return p.Amend(cmd(0), d, "", now) },
		"a move's ID":     func() error { return p.Amend(cmd(100), d, "", now) },
	} {
		if err := try(); !errors.Is(err, payment.ErrCommandReused) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n := len(p.Uncommitted()); n != 2 || p.Details().Description != "Diubah kemudian" {
		t.Fatalf("%d events, details %+v", n, p.Details())
	}
}

func TestAmendWithMergesOntoTheCurrentDetails(t *testing.T) {
	p := given(t, payment.Diterima)
	other := details()
	other.Description = "Dibetulkan oleh sistem lain"
	if err := p.Amend(cmd(20), other, "", now); err != nil {
		t.Fatal(err)
	}
	amount := func(d payment.Details) payment.Details { d.AmountSen = 2000; return d }
	if err := p.AmendWith(cmd(21), amount, "", now); err != nil {
		t.Fatal(err)
	}
	if got := p.Details(); got.AmountSen != 2000 || got.Description != "Dibetulkan oleh sistem lain" {
		t.Fatalf("merged onto a stale base: %+v", got)
	}
	// Repeated after yet another amendment, the same patch is a repeat ...
	third := p.Details()
	third.VoucherNo = "BV-9"
	if err := p.Amend(cmd(22), third, "", now); err != nil {
		t.Fatal(err)
	}
	if err := p.AmendWith(cmd(21), amount, "", now); err != nil {
		t.Fatalf("repeated patch: %v", err)
	}
	// ... and another patch under its ID is not.
	if err := p.AmendWith(cmd(21), func(d payment.Details) payment.Details { d.AmountSen = 3000; return d }, "", now); !errors.Is(err, payment.ErrCommandReused) {
		t.Fatalf("other patch under the same ID: %v", err)
	}
	if n := len(p.Uncommitted()); n != 3 || p.Details().AmountSen != 2000 {
		t.Fatalf("%d events, amount %d", n, p.Details().AmountSen)
	}
}

func TestChangeStatusUnderAUsedCommandID(t *testing.T) {
	p := given(t, payment.Diterima)
	if err := p.ChangeStatus(cmd(9), payment.Change{To: payment.DalamProses}, now); err != nil {
		t.Fatal(err)
	}
	cancel := payment.Change{To: payment.Dibatalkan, Reason: "Silap"}
	if err := p.ChangeStatus(cmd(9), cancel, now); !errors.Is(err, payment.ErrCommandReused) {
		t.Fatalf("cancellation under the earlier move's ID: %v", err)
	}
	if err := p.ChangeStatus(cmd(9), payment.Change{To: payment.DalamProses, Date: "2025-03-01"}, now); !errors.Is(err, payment.ErrCommandReused) {
		t.Fatalf("same move, other date: %v", err)
	}
	if err := p.ChangeStatus(cmd(0), cancel, now); !errors.Is(err, payment.ErrCommandReused) {
		t.Fatalf("move under the record's ID: %v", err)
	}
	// The same move again, the next day and still without a date: a repeat.
	if err := p.ChangeStatus(cmd(9), payment.Change{To: payment.DalamProses}, now.Add(24*time.Hour)); err != nil {
		t.Fatalf("repeat: %v", err)
	}
	if n := len(p.Uncommitted()); n != 1 || p.Status() != payment.DalamProses {
		t.Fatalf("%d events, status %s", n, p.Status())
	}
}

// Given an amendment that changed nothing when it came (the payment already
// had those details) and a later amendment that changed the details, when
// the first is sent again (a re-sent batch), then it is answered as a
// repeat: nothing recorded, the later details stay. Before, the first
// recorded nothing under its ID, so the resend was applied as a new
// amendment and undid the later one.
func TestUnchangedAmendmentSentAgainAfterAChange(t *testing.T) {
	p := given(t, payment.DalamProses)
	if err := p.Amend(cmd(20), details(), "Semakan", now); err != nil {
		t.Fatal(err)
	}
	ev := p.Uncommitted()
	if len(ev) != 1 {
		t.Fatalf("unchanged amendment: %d events, want its AmendmentUnchanged", len(ev))
	}
	u, ok := ev[0].(payment.AmendmentUnchanged)
	if !ok || u.PaymentID != "P1" || u.CommandID != cmd(20).String() || u.Reason != "Semakan" || p.Details().AmountSen != details().AmountSen {
		t.Fatalf("unchanged amendment recorded %+v", ev[0])
	}
	later := details()
	later.AmountSen = 99900
	if err := p.Amend(cmd(21), later, "Amaun dibetulkan", now); err != nil {
		t.Fatal(err)
	}

	// The state rebuilt from the stream (through the registry) knows the
	// first command too.
	reg := eventlog.NewRegistry()
	payment.Register(reg)
	replayed := given(t, payment.DalamProses)
	for _, e := range p.Uncommitted() {
		typ, env := eventlogtest.RoundTrip(t, reg, e)
		if _, marker := e.(payment.AmendmentUnchanged); marker && typ != "payment.AmendmentUnchanged.v1" {
			t.Fatalf("event type %q", typ)
		}
		if err := replayed.Apply(env.Event); err != nil {
			t.Fatal(err)
		}
	}
	for name, agg := range map[string]*payment.Payment{"in memory": p, "replayed": replayed} {
		n := len(agg.Uncommitted())
		if err := agg.Amend(cmd(20), details(), "Semakan", now.Add(24*time.Hour)); err != nil {
			t.Fatalf("%s: resent: %v", name, err)
		}
		if len(agg.Uncommitted()) != n || agg.Details().AmountSen != 99900 {
			t.Fatalf("%s: resent: %d → %d events, amount %d, want the later amendment kept", name, n, len(agg.Uncommitted()), agg.Details().AmountSen)
		}
		// Another change under its ID is still a reused ID.
		other := details()
		other.Description = "Lain"
		if err := agg.Amend(cmd(20), other, "Semakan", now); !errors.Is(err, payment.ErrCommandReused) {
			t.Fatalf("%s: other details under the unchanged amendment's ID: %v", name, err)
		}
		if err := agg.Amend(cmd(20), details(), "Sebab lain", now); !errors.Is(err, payment.ErrCommandReused) {
			t.Fatalf("%s: other reason under the unchanged amendment's ID: %v", name, err)
		}
	}
}

// Given a payment amended after it was recorded, when its record is sent
// again under a request ID it never recorded (a record line that was a
// duplicate when first sent, re-sent with its batch), then it is a
// duplicate: nothing recorded, the amendment stands. Before, it was
// ErrAlreadyRecorded (conflict). Other details still are.
func TestRecordAsFirstRecordedAfterAnAmendment(t *testing.T) {
	p := given(t, payment.DalamProses)
	amended := details()
	amended.AmountSen = 99900
	if err := p.Amend(cmd(20), amended, "Amaun dibetulkan", now); err != nil {
		t.Fatal(err)
	}
	n := len(p.Uncommitted())
	first := details()
	first.ReceivedDate = "2025-03-01"
	if err := p.Record("P1", cmd(21), first, now); err != nil || len(p.Uncommitted()) != n || p.Details().AmountSen != 99900 {
		t.Fatalf("record as first recorded: %v, %d → %d events, amount %d", err, n, len(p.Uncommitted()), p.Details().AmountSen)
	}
	// Without a received date (defaulted to the day's), as before.
	if err := p.Record("P1", cmd(22), details(), now.Add(72*time.Hour)); err != nil || len(p.Uncommitted()) != n {
		t.Fatalf("record as first recorded, received date left out: %v", err)
	}
	other := details()
	other.AmountSen = 50000
	if err := p.Record("P1", cmd(23), other, now); !errors.Is(err, payment.ErrAlreadyRecorded) {
		t.Fatalf("other details: %v", err)
	}
}
