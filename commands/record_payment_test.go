package commands_test

import (
	"context"
	"errors"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/payment"
)

func TestRecordPayment(t *testing.T) {
	f := newFinance(t)
	h := commands.RecordPaymentHandler{Runner: f.runner, Payees: f.payees}
	ctx := context.Background()

	// When: a new payment for a known employee.
	res, err := h.Handle(ctx, commands.RecordPayment{Meta: finMeta("r1"), PaymentID: "P1", Details: finPayment()})
	if err != nil || res.Appended != 1 || res.Position == 0 {
		t.Fatalf("%+v %v", res, err)
	}
	// Then: one Recorded event, by the client, payee IC without dashes.
	ev := f.events("payment-P1")
	if len(ev) != 1 {
		t.Fatalf("%d events", len(ev))
	}
	rec := ev[0].Event.(payment.Recorded)
	if rec.PayeeIC != finIC || rec.PaymentID != "P1" || ev[0].Metadata.Actor.ID != "payroll" || ev[0].Metadata.Actor.Kind != eventlog.ActorClient {
		t.Fatalf("%+v %+v", rec, ev[0].Metadata)
	}

	// When the same request comes again: nothing new.
	res, err = h.Handle(ctx, commands.RecordPayment{Meta: finMeta("r1"), PaymentID: "P1", Details: finPayment()})
	if err != nil || res.Appended != 0 {
		t.Fatalf("repeat: %+v %v", res, err)
	}
	// Other details under the same ID are refused.
	d := finPayment()
	d.AmountSen = 1
	if _, err := h.Handle(ctx, commands.RecordPayment{Meta: finMeta("r2"), PaymentID: "P1", Details: d}); !errors.Is(err, payment.ErrAlreadyRecorded) {
		t.Fatal(err)
	}
	// And under the first request's ID they are not taken for its repeat.
	if res, err := h.Handle(ctx, commands.RecordPayment{Meta: finMeta("r1"), PaymentID: "P1", Details: d}); !errors.Is(err, payment.ErrCommandReused) || res.Appended != 0 {
		t.Fatalf("reused request ID: %+v %v", res, err)
	}
	if n := len(f.events("payment-P1")); n != 1 {
		t.Fatalf("%d events after repeat", n)
	}
}

func TestRecordPaymentUnknownPayee(t *testing.T) {
	f := newFinance(t)
	h := commands.RecordPaymentHandler{Runner: f.runner, Payees: f.payees}
	d := finPayment()
	d.PayeeIC = "900202-05-1234"
	_, err := h.Handle(context.Background(), commands.RecordPayment{Meta: finMeta("r1"), PaymentID: "P2", Details: d})
	var up *commands.UnknownPayeeError
	if !errors.As(err, &up) || up.Field != "payee_ic" || !errors.Is(err, commands.ErrUnknownPayee) {
		t.Fatalf("%v", err)
	}
	if n := len(f.events("payment-P2")); n != 0 {
		t.Fatalf("%d events appended", n)
	}
	// Once the employee is pushed, the same request goes through.
	f.givenEmployee("900202051234")
	if res, err := h.Handle(context.Background(), commands.RecordPayment{Meta: finMeta("r1"), PaymentID: "P2", Details: d}); err != nil || res.Appended != 1 {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestRecordPaymentBadInput(t *testing.T) {
	f := newFinance(t)
	h := commands.RecordPaymentHandler{Runner: f.runner, Payees: f.payees}
	d := finPayment()
	d.AmountSen = -100
	_, err := h.Handle(context.Background(), commands.RecordPayment{Meta: finMeta("r1"), PaymentID: "P3", Details: d})
	var fe *payment.FieldError
	if !errors.As(err, &fe) || fe.Field != "amount_sen" {
		t.Fatalf("%v", err)
	}
	if _, err := h.Handle(context.Background(), commands.RecordPayment{Meta: finMeta("r2"), PaymentID: "P/3", Details: finPayment()}); !errors.As(err, &fe) || fe.Field != "payment_id" {
		t.Fatalf("%v", err)
	}
	if n := len(f.events("payment-P3")); n != 0 {
		t.Fatalf("%d events appended", n)
	}
}
