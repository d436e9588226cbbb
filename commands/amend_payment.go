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
	// Patch, when set, makes the new details from the current ones (a
	// merge patch; Details is then unused). It runs on the state the
	// command decides on, so a concurrent amendment is merged, not undone.
	Patch func(current payment.Details) payment.Details
}

// AmendPaymentHandler runs AmendPayment. An amendment refused because the
// payment has gone to the bank (payment.ErrNotAmendable) appends, under a
// client's request ID, payment.AmendmentRefused, so the request re-sent
// later gets that same refusal; under Meta.FreshID nothing.
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
			if cmd.Patch != nil {
				return p.AmendWith(cmd.Meta.CommandID, cmd.Patch, cmd.Reason, now)
			}
			return p.Amend(cmd.Meta.CommandID, cmd.Details, cmd.Reason, now)
		})
}
