package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/employee"
)

// CancelLeaving cancels a person's leaving date while it is still ahead (a
// resignation withdrawn, a retirement put off with no new date): they stay
// in service, with their post's roles, past that date.
type CancelLeaving struct {
	Meta   Meta
	IC     string
	Reason string
}

// CancelLeavingHandler records employee.LeavingCancelled. Errors: field
// errors on "ic", "reason"; employee.ErrNotRecorded, employee.ErrLeftService
// (the date has come: record them again to rejoin),
// employee.ErrNoLeavingDate, employee.ErrCommandReused, ErrForbidden.
// Under a client's request ID a refusal for the record's state
// (ErrLeftService, ErrNoLeavingDate) appends employee.CancellationRefused,
// so the request re-sent after a date was reported gets that same refusal
// instead of cancelling the date; under Meta.FreshID it appends nothing.
type CancelLeavingHandler struct {
	Runner Runner
}

var _ Handler[CancelLeaving] = CancelLeavingHandler{}

// Handle runs the command.
func (h CancelLeavingHandler) Handle(ctx context.Context, cmd CancelLeaving) (Result, error) {
	ic, err := staffIC(cmd.IC)
	if err != nil {
		return Result{}, err
	}
	return changeStaff(ctx, h.Runner, cmd.Meta, ic,
		func(e *employee.Employee, now time.Time) error {
			return e.CancelLeaving(cmd.Meta.CommandID, cmd.Reason, now)
		})
}
