package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/payment"
)

// ChangePaymentStatus moves a payment to another status.
type ChangePaymentStatus struct {
	Meta      Meta
	PaymentID string
	Change    payment.Change
}

// ChangePaymentStatusHandler runs ChangePaymentStatus. An illegal move
// returns *payment.IllegalMoveError; under a client's request ID it also
// appends payment.MoveRefused, so the request re-sent later, once the
// payment has moved on, gets that same refusal (nothing appended) instead
// of being applied then. Under a server-made ID (Meta.FreshID) a refusal
// appends nothing.
type ChangePaymentStatusHandler struct {
	Runner Runner
}

var _ Handler[ChangePaymentStatus] = ChangePaymentStatusHandler{}

// Handle runs the command.
func (h ChangePaymentStatusHandler) Handle(ctx context.Context, cmd ChangePaymentStatus) (Result, error) {
	if err := payment.ValidateID(cmd.PaymentID); err != nil {
		return Result{}, err
	}
	return Execute(ctx, h.Runner, payment.Stream(cmd.PaymentID), payment.New, cmd.Meta,
		func(p *payment.Payment, now time.Time) error {
			return p.ChangeStatus(cmd.Meta.CommandID, cmd.Change, now)
		})
}
