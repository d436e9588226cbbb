package commands_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/payment"
)

func TestChangePaymentStatus(t *testing.T) {
	f := newFinance(t)
	ctx := context.Background()
	rec := commands.RecordPaymentHandler{Runner: f.runner, Payees: f.payees}
	h := commands.ChangePaymentStatusHandler{Runner: f.runner}
	f.given(func() (commands.Result, error) {
		return rec.Handle(ctx, commands.RecordPayment{Meta: finMeta("r1"), PaymentID: "P1", Details: finPayment()})
	})

	// When: the legal path to paid.
	moves := []payment.Change{
		{To: payment.DalamProses},
		{To: payment.Diluluskan},
		{To: payment.DihantarKeBank},
		{To: payment.DiterimaOlehBank, EFTNo: "EFT778899", PaymentDate: "2025-03-09"},
	}
	var last commands.Result
	for i, c := range moves {
		res, err := h.Handle(ctx, commands.ChangePaymentStatus{Meta: finMeta("s" + string(rune('a'+i))), PaymentID: "P1", Change: c})
		if err != nil || res.Appended != 1 || res.Position <= last.Position {
			t.Fatalf("move %d: %+v %v", i, res, err)
		}
		last = res
	}
	// Then: four StatusChanged events in order, each naming where it came from.
	ev := f.events("payment-P1")
	if len(ev) != 5 {
		t.Fatalf("%d events", len(ev))
	}
	from := payment.Diterima
	for i, e := range ev[1:] {
		sc := e.Event.(payment.StatusChanged)
		if sc.From != from || sc.To != moves[i].To {
			t.Fatalf("event %d: %+v", i, sc)
		}
		from = sc.To
	}
	if sc := ev[4].Event.(payment.StatusChanged); sc.EFTNo != "EFT778899" || sc.PaymentDate != "2025-03-09" || sc.Date != "2025-03-10" {
		t.Fatalf("%+v", sc)
	}

	// A repeated request changes nothing, even after later moves.
	res, err := h.Handle(ctx, commands.ChangePaymentStatus{Meta: finMeta("sa"), PaymentID: "P1", Change: payment.Change{To: payment.DalamProses}})
	if err != nil || res.Appended != 0 {
		t.Fatalf("repeat: %+v %v", res, err)
	}
	// Its request ID with another move: refused, not taken for the repeat.
	res, err = h.Handle(ctx, commands.ChangePaymentStatus{Meta: finMeta("sa"), PaymentID: "P1", Change: payment.Change{To: payment.Dibatalkan, Reason: "Silap"}})
	if !errors.Is(err, payment.ErrCommandReused) || res.Appended != 0 {
		t.Fatalf("reused request ID: %+v %v", res, err)
	}

	// When: an illegal move from the final status.
	_, err = h.Handle(ctx, commands.ChangePaymentStatus{Meta: finMeta("sz"), PaymentID: "P1", Change: payment.Change{To: payment.Dibatalkan, Reason: "x"}})
	var ill *payment.IllegalMoveError
	if !errors.As(err, &ill) || ill.From != payment.DiterimaOlehBank || len(ill.Allowed) != 0 || !strings.Contains(err.Error(), "Diterima oleh Bank") {
		t.Fatalf("%v", err)
	}
	// Only the refusal is recorded, under its request ID.
	if ev := f.events("payment-P1"); len(ev) != 6 {
		t.Fatalf("%d events after refusal", len(ev))
	} else if _, ok := ev[5].Event.(payment.MoveRefused); !ok {
		t.Fatalf("after refusal: %T, want the MoveRefused", ev[5].Event)
	}
}

func TestChangePaymentStatusIllegalNamesAllowed(t *testing.T) {
	f := newFinance(t)
	ctx := context.Background()
	rec := commands.RecordPaymentHandler{Runner: f.runner, Payees: f.payees}
	h := commands.ChangePaymentStatusHandler{Runner: f.runner}
	f.given(func() (commands.Result, error) {
		return rec.Handle(ctx, commands.RecordPayment{Meta: finMeta("r1"), PaymentID: "P1", Details: finPayment()})
	})
	_, err := h.Handle(ctx, commands.ChangePaymentStatus{Meta: finMeta("s1"), PaymentID: "P1", Change: payment.Change{To: payment.DihantarKeBank}})
	var ill *payment.IllegalMoveError
	if !errors.As(err, &ill) || ill.From != payment.Diterima {
		t.Fatalf("%v", err)
	}
	for _, want := range []string{"Diterima", "Dalam Proses", "Dibatalkan"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q missing from %v", want, err)
		}
	}
}

func TestChangePaymentStatusUnknownPayment(t *testing.T) {
	f := newFinance(t)
	h := commands.ChangePaymentStatusHandler{Runner: f.runner}
	_, err := h.Handle(context.Background(), commands.ChangePaymentStatus{Meta: finMeta("s1"), PaymentID: "NOPE", Change: payment.Change{To: payment.DalamProses}})
	if !errors.Is(err, payment.ErrNotRecorded) {
		t.Fatal(err)
	}
	if n := len(f.events("payment-NOPE")); n != 0 {
		t.Fatalf("%d events", n)
	}
}

// Given a payment in Diterima, when a move to Diluluskan comes under
// request ID "early", then it is refused and the refusal recorded under
// it; when the payment has since moved to Dalam Proses (from where that
// move is legal) and "early" comes again, then it gets the same refusal
// and nothing is appended. Before, the resend approved the payment. Under
// a server-made ID a refusal records nothing.
func TestRefusedMoveIsRefusedAgainUnderItsRequestID(t *testing.T) {
	f := newFinance(t)
	ctx := context.Background()
	rec := commands.RecordPaymentHandler{Runner: f.runner, Payees: f.payees}
	h := commands.ChangePaymentStatusHandler{Runner: f.runner}
	f.given(func() (commands.Result, error) {
		return rec.Handle(ctx, commands.RecordPayment{Meta: finMeta("r1"), PaymentID: "P1", Details: finPayment()})
	})
	early := commands.ChangePaymentStatus{Meta: finMeta("early"), PaymentID: "P1", Change: payment.Change{To: payment.Diluluskan}}
	var ill *payment.IllegalMoveError
	res, err := h.Handle(ctx, early)
	if !errors.As(err, &ill) || ill.From != payment.Diterima || res.Appended != 1 {
		t.Fatalf("move from Diterima to Diluluskan: %+v %v", res, err)
	}
	first := err.Error()
	f.given(func() (commands.Result, error) {
		return h.Handle(ctx, commands.ChangePaymentStatus{Meta: finMeta("s1"), PaymentID: "P1", Change: payment.Change{To: payment.DalamProses}})
	})

	res, err = h.Handle(ctx, early)
	if !errors.As(err, &ill) || ill.From != payment.Diterima || err.Error() != first || res.Appended != 0 {
		t.Fatalf("resent: %+v %v, want the first refusal (%s)", res, err, first)
	}
	ev := f.events("payment-P1")
	if len(ev) != 3 {
		t.Fatalf("%d events, want the record, the refusal and the move", len(ev))
	}
	if r, ok := ev[1].Event.(payment.MoveRefused); !ok || r.CommandID != early.Meta.CommandID.String() || r.From != payment.Diterima || r.To != payment.Diluluskan {
		t.Fatalf("refusal recorded as %#v", ev[1].Event)
	}
	if sc, ok := ev[2].Event.(payment.StatusChanged); !ok || sc.To != payment.DalamProses {
		t.Fatalf("last event %#v, want the move to Dalam Proses", ev[2].Event)
	}

	fresh := commands.Meta{CommandID: uuid.New(), FreshID: true, Actor: early.Meta.Actor}
	res, err = h.Handle(ctx, commands.ChangePaymentStatus{Meta: fresh, PaymentID: "P1", Change: payment.Change{To: payment.DihantarKeBank}})
	if !errors.As(err, &ill) || res.Appended != 0 {
		t.Fatalf("illegal move under a fresh ID: %+v %v", res, err)
	}
	if n := len(f.events("payment-P1")); n != 3 {
		t.Fatalf("%d events after a refusal under a fresh ID", n)
	}
}
