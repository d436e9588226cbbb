package payment_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/eventlog/eventlogtest"
	"github.com/melaka-gov/ispeks/domain/payment"
)

// replay rebuilds the payment given(t, s) and then events, passed through
// the registry as the store would.
func replay(t *testing.T, s payment.Status, events []eventlog.Event) *payment.Payment {
	t.Helper()
	reg := eventlog.NewRegistry()
	payment.Register(reg)
	p := given(t, s)
	for _, e := range events {
		_, env := eventlogtest.RoundTrip(t, reg, e)
		if err := p.Apply(env.Event); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// Given a payment in Diterima, when a move to Diluluskan is asked under a
// command ID, then it is refused and MoveRefused is recorded under that
// ID; when the payment has since moved to Dalam Proses (from where that
// move is legal) and the same request comes again, then it gets the same
// refusal (from Diterima) and nothing is recorded or moved. Before, the
// resend was decided anew and approved the payment.
func TestRefusedMoveSentAgainAfterThePaymentMovedOn(t *testing.T) {
	p := given(t, payment.Diterima)
	asked := payment.Change{To: payment.Diluluskan} // date left to today
	var ill *payment.IllegalMoveError
	if err := p.ChangeStatus(cmd(30), asked, now); !errors.As(err, &ill) || ill.From != payment.Diterima {
		t.Fatalf("move from Diterima to Diluluskan: %v, want an illegal move", err)
	}
	first := ill.Error()
	ev := p.Uncommitted()
	want := payment.MoveRefused{PaymentID: "P1", CommandID: cmd(30).String(), Code: payment.RefusedIllegalMove,
		From: payment.Diterima, Allowed: []payment.Status{payment.DalamProses, payment.Dibatalkan}, Change: asked}
	if len(ev) != 1 {
		t.Fatalf("refused move recorded %+v, want its MoveRefused", ev)
	}
	if r, ok := ev[0].(payment.MoveRefused); !ok || r.PaymentID != want.PaymentID || r.CommandID != want.CommandID || r.Code != want.Code ||
		r.From != want.From || !slices.Equal(r.Allowed, want.Allowed) || r.Change != want.Change {
		t.Fatalf("refused move recorded %+v, want %+v", ev[0], want)
	}
	if err := p.ChangeStatus(cmd(31), change(payment.DalamProses), now); err != nil {
		t.Fatal(err)
	}

	replayed := replay(t, payment.Diterima, p.Uncommitted())
	for name, agg := range map[string]*payment.Payment{"in memory": p, "replayed": replayed} {
		n := len(agg.Uncommitted())
		err := agg.ChangeStatus(cmd(30), asked, now.Add(48*time.Hour))
		if !errors.As(err, &ill) || ill.From != payment.Diterima || ill.To != payment.Diluluskan || err.Error() != first {
			t.Fatalf("%s: resent: %v, want the first refusal (%s)", name, err, first)
		}
		if len(agg.Uncommitted()) != n || agg.Status() != payment.DalamProses {
			t.Fatalf("%s: resent: %d → %d events, status %s", name, n, len(agg.Uncommitted()), agg.Status())
		}
		// Another move under its ID is a reused ID, as after a move made.
		if err := agg.ChangeStatus(cmd(30), change(payment.Dibatalkan), now); !errors.Is(err, payment.ErrCommandReused) {
			t.Fatalf("%s: another move under the refused one's ID: %v", name, err)
		}
	}
}

// Given a payment sent to the bank, when an amendment comes under a
// command ID, then it is refused and AmendmentRefused is recorded; when
// the payment has since been paid and the same amendment comes again, then
// it gets the first refusal (naming Dihantar ke Bank), nothing recorded.
func TestRefusedAmendmentSentAgainGetsTheFirstAnswer(t *testing.T) {
	p := given(t, payment.DihantarKeBank)
	d := details()
	d.AmountSen = 12345
	err := p.Amend(cmd(40), d, "Amaun", now)
	if !errors.Is(err, payment.ErrNotAmendable) {
		t.Fatalf("amendment at the bank: %v", err)
	}
	first := err.Error()
	ev := p.Uncommitted()
	if len(ev) != 1 {
		t.Fatalf("refused amendment recorded %+v", ev)
	}
	if r, ok := ev[0].(payment.AmendmentRefused); !ok || r.CommandID != cmd(40).String() || r.Code != payment.RefusedNotAmendable ||
		r.Status != payment.DihantarKeBank || r.Reason != "Amaun" || r.AmountSen != 12345 {
		t.Fatalf("refused amendment recorded %+v", ev[0])
	}
	if err := p.ChangeStatus(cmd(41), change(payment.Dikeluarkan), now); err != nil {
		t.Fatal(err)
	}
	replayed := replay(t, payment.DihantarKeBank, p.Uncommitted())
	for name, agg := range map[string]*payment.Payment{"in memory": p, "replayed": replayed} {
		n := len(agg.Uncommitted())
		if err := agg.Amend(cmd(40), d, "Amaun", now); err == nil || err.Error() != first {
			t.Fatalf("%s: resent: %v, want %s", name, err, first)
		}
		if len(agg.Uncommitted()) != n {
			t.Fatalf("%s: resent recorded %+v", name, agg.Uncommitted()[n:])
		}
		if err := agg.Amend(cmd(40), d, "Sebab lain", now); !errors.Is(err, payment.ErrCommandReused) {
			t.Fatalf("%s: another amendment under the refused one's ID: %v", name, err)
		}
	}
}

// Given a payment in Diterima, when an illegal move comes with a reason
// far longer than any move accepts, then it is refused as an illegal move
// and nothing is recorded: re-sent, it could never apply, and an event
// must not carry the megabyte a client sent.
func TestIllegalMoveWithOversizedFieldsIsRefusedWithoutBeingRecorded(t *testing.T) {
	for name, c := range map[string]payment.Change{
		"reason":  {To: payment.Diluluskan, Reason: strings.Repeat("x", payment.MaxReason*4)},
		"eft_no":  {To: payment.Diluluskan, EFTNo: strings.Repeat("9", 1<<20)},
		"date":    {To: payment.Diluluskan, Date: strings.Repeat("2", 4096)},
		"cheque":  {To: payment.Diluluskan, ChequeNo: strings.Repeat("c", payment.MaxInstrumentNo*3)},
		"payment": {To: payment.Diluluskan, PaymentDate: strings.Repeat("2", 4096)},
	} {
		p := given(t, payment.Diterima)
		var ill *payment.IllegalMoveError
		if err := p.ChangeStatus(cmd(40), c, now); !errors.As(err, &ill) || ill.From != payment.Diterima {
			t.Fatalf("%s: %v, want an illegal move", name, err)
		}
		if ev := p.Uncommitted(); len(ev) != 0 {
			t.Fatalf("%s: recorded %d events, want none", name, len(ev))
		}
	}
}

// Given an illegal move whose fields are valid once trimmed but padded
// with whitespace past what a field holds (a date, a reason, an EFT
// number), when it is refused and the same request comes again after the
// payment moved to a status that allows it, then it gets the same refusal
// and nothing is recorded or moved; the refusal recorded carries the
// fields trimmed, not the padding. Before, such a move was taken for one
// that could never apply and went unrecorded (its lengths were measured
// before trimming, which Normalize does first), so the resend applied.
func TestPaddedIllegalMoveIsRecordedAndRefusedAgain(t *testing.T) {
	pad := strings.Repeat(" ", 4096)
	for name, tc := range map[string]struct {
		from, via payment.Status
		c         payment.Change
	}{
		"date":   {payment.Diterima, payment.DalamProses, payment.Change{To: payment.Diluluskan, Date: pad + "2025-03-06" + pad}},
		"reason": {payment.Diluluskan, payment.DihantarKeBank, payment.Change{To: payment.GagalDiprosesBank, Reason: pad + "Akaun ditutup\n"}},
		"eft": {payment.Diluluskan, payment.DihantarKeBank, payment.Change{To: payment.DiterimaOlehBank,
			EFTNo: "EFT77" + pad, PaymentDate: "\t" + pad + "2025-03-07"}},
	} {
		p := given(t, tc.from)
		var ill *payment.IllegalMoveError
		if err := p.ChangeStatus(cmd(50), tc.c, now); !errors.As(err, &ill) || ill.From != tc.from {
			t.Fatalf("%s: %v, want an illegal move from %s", name, err, tc.from)
		}
		first := ill.Error()
		ev := p.Uncommitted()
		if len(ev) != 1 {
			t.Fatalf("%s: recorded %d events, want the refusal", name, len(ev))
		}
		r, ok := ev[0].(payment.MoveRefused)
		if !ok || len(r.Date)+len(r.Reason)+len(r.EFTNo)+len(r.PaymentDate) > 64 {
			t.Fatalf("%s: recorded %T with %d bytes of fields, want a MoveRefused without the padding", name, ev[0],
				len(r.Date)+len(r.Reason)+len(r.EFTNo)+len(r.PaymentDate))
		}
		if err := p.ChangeStatus(cmd(51), change(tc.via), now); err != nil {
			t.Fatalf("%s: move to %s: %v", name, tc.via, err)
		}
		replayed := replay(t, tc.from, p.Uncommitted())
		for how, agg := range map[string]*payment.Payment{"in memory": p, "replayed": replayed} {
			n := len(agg.Uncommitted())
			if err := agg.ChangeStatus(cmd(50), tc.c, now.Add(24*time.Hour)); err == nil || err.Error() != first {
				t.Fatalf("%s, %s: resent: %v, want the first refusal (%s)", name, how, err, first)
			}
			if len(agg.Uncommitted()) != n || agg.Status() != tc.via {
				t.Fatalf("%s, %s: resent: %d → %d events, status %s", name, how, n, len(agg.Uncommitted()), agg.Status())
			}
		}
	}
}
