package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/payment"
)

// AmendPayment replaces the details of a payment that has not yet left for
// the bank.
type AmendPayment struct {
	Meta      Meta
	PaymentID string
	Details   payment.Details
	Reason    string
}

// AmendPaymentHandler runs AmendPayment.
type AmendPaymentHandler struct {
	Runner Runner
}

var _ Handler[AmendPayment] = AmendPaymentHandler{}

// Handle runs the command. Amending to the details the payment already has
// appends nothing.
func (h AmendPaymentHandler) Handle(ctx context.Context, cmd AmendPayment) (Result, error) {
	if err := payment.ValidateID(cmd.PaymentID); err != nil {
		return Result{}, err
	}
	return Execute(ctx, h.Runner, payment.Stream(cmd.PaymentID), payment.New, cmd.Meta,
		func(p *payment.Payment, now time.Time) error {
			return p.Amend(cmd.Meta.CommandID, cmd.Details, cmd.Reason, now)
		})
}
