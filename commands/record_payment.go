package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/payment"
)

// RecordPayment registers a payment pushed by a finance system.
type RecordPayment struct {
	Meta      Meta
	PaymentID string
	Details   payment.Details
}

// RecordPaymentHandler checks the payee is an employee and records the
// payment in status Diterima.
type RecordPaymentHandler struct {
	Runner Runner
	Payees PayeeDirectory
}

var _ Handler[RecordPayment] = RecordPaymentHandler{}

// Handle runs the command. A repeat (same command ID, or the same details
// again) appends nothing and returns a Result with Appended 0.
func (h RecordPaymentHandler) Handle(ctx context.Context, cmd RecordPayment) (Result, error) {
	if err := payment.ValidateID(cmd.PaymentID); err != nil {
		return Result{}, err
	}
	// Field errors first: they are cheaper than the payee look-up and tell
	// the client everything that is wrong with the input itself.
	d, err := cmd.Details.Normalize(h.Runner.Now())
	if err != nil {
		return Result{}, err
	}
	if err := checkPayee(ctx, h.Payees, d.PayeeIC, "payee_ic"); err != nil {
		return Result{}, err
	}
	return ExecuteCreate(ctx, h.Runner, payment.Stream(cmd.PaymentID), payment.New, cmd.Meta,
		func(p *payment.Payment, now time.Time) error {
			return p.Record(cmd.PaymentID, cmd.Meta.CommandID, cmd.Details, now)
		})
}
