package commands

import (
	"context"
	"strings"
	"time"

	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/mykad"
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
type CancelLeavingHandler struct {
	Runner Runner
}

var _ Handler[CancelLeaving] = CancelLeavingHandler{}

// Handle runs the command.
func (h CancelLeavingHandler) Handle(ctx context.Context, cmd CancelLeaving) (Result, error) {
	ic, err := mykad.Parse(cmd.IC)
	if err != nil {
		return Result{}, &employee.FieldError{Field: "ic", Code: "invalid", Reason: strings.TrimPrefix(err.Error(), "mykad: ")}
	}
	if err := authorizeAdmin(ctx, h.Runner, cmd.Meta, true); err != nil {
		return Result{}, err
	}
	return Execute(ctx, h.Runner, employee.Stream(ic), employee.New, cmd.Meta,
		func(e *employee.Employee, now time.Time) error {
			return e.CancelLeaving(cmd.Meta.CommandID, cmd.Reason, now)
		})
}
