package commands_test

import (
	"context"
	"errors"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/payment"
)

func TestAmendPayment(t *testing.T) {
	f := newFinance(t)
	ctx := context.Background()
	rec := commands.RecordPaymentHandler{Runner: f.runner, Payees: f.payees}
	move := commands.ChangePaymentStatusHandler{Runner: f.runner}
	h := commands.AmendPaymentHandler{Runner: f.runner}
	f.given(func() (commands.Result, error) {
		return rec.Handle(ctx, commands.RecordPayment{Meta: finMeta("r1"), PaymentID: "P1", Details: finPayment()})
	})

	d := finPayment()
	d.AmountSen = 175000
	d.Reference = "PD/2025/9"
	res, err := h.Handle(ctx, commands.AmendPayment{Meta: finMeta("a1"), PaymentID: "P1", Details: d, Reason: "Amaun dipinda"})
	if err != nil || res.Appended != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	ev := f.events("payment-P1")
	am := ev[1].Event.(payment.Amended)
	if am.AmountSen != 175000 || am.Reference != "PD/2025/9" || am.Reason != "Amaun dipinda" || am.ReceivedDate != "2025-03-10" {
		t.Fatalf("%+v", am)
	}
	// Repeat: nothing.
	if res, err := h.Handle(ctx, commands.AmendPayment{Meta: finMeta("a1"), PaymentID: "P1", Details: d, Reason: "Amaun dipinda"}); err != nil || res.Appended != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	// Its request ID with other details: refused, nothing appended.
	other := d
	other.AmountSen = 99
	if res, err := h.Handle(ctx, commands.AmendPayment{Meta: finMeta("a1"), PaymentID: "P1", Details: other, Reason: "Amaun dipinda"}); !errors.Is(err, payment.ErrCommandReused) || res.Appended != 0 {
		t.Fatalf("reused request ID: %+v %v", res, err)
	}

	// Once at the bank, amendments are refused.
	for i, s := range []payment.Status{payment.DalamProses, payment.Diluluskan, payment.DihantarKeBank} {
		f.given(func() (commands.Result, error) {
			return move.Handle(ctx, commands.ChangePaymentStatus{Meta: finMeta("m" + string(rune('0'+i))), PaymentID: "P1", Change: payment.Change{To: s}})
		})
	}
	d.AmountSen = 1
	if _, err := h.Handle(ctx, commands.AmendPayment{Meta: finMeta("a2"), PaymentID: "P1", Details: d}); !errors.Is(err, payment.ErrNotAmendable) {
		t.Fatal(err)
	}
	if _, err := h.Handle(ctx, commands.AmendPayment{Meta: finMeta("a3"), PaymentID: "P9", Details: d}); !errors.Is(err, payment.ErrNotRecorded) {
		t.Fatal(err)
	}
	// The moves, and the refusal recorded under its request ID.
	if ev := f.events("payment-P1"); len(ev) != 6 {
		t.Fatalf("%d events", len(ev))
	} else if _, ok := ev[5].Event.(payment.AmendmentRefused); !ok {
		t.Fatalf("after refusal: %T, want the AmendmentRefused", ev[5].Event)
	}
}
