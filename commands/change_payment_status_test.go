package commands_test

import (
	"context"
	"errors"
	"strings"
	"testing"

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
	if n := len(f.events("payment-P1")); n != 5 {
		t.Fatalf("%d events after refusal", n)
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
