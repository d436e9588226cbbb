package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/employee"
)

// StaffLeftService records that a person left government service on Date
// (YYYY-MM-DD). They keep their account (they still need their last slips
// and annual statement) but can no longer register.
type StaffLeftService struct {
	Meta   Meta
	IC     string
	Date   string
	Reason string
}

// StaffLeftServiceHandler records employee.StaffLeftService. Errors:
// field errors on "ic", "date", "reason"; employee.ErrNotRecorded,
// employee.ErrLeftService, ErrForbidden.
type StaffLeftServiceHandler struct {
	Runner Runner
}

var _ Handler[StaffLeftService] = StaffLeftServiceHandler{}

// Handle runs the command.
func (h StaffLeftServiceHandler) Handle(ctx context.Context, cmd StaffLeftService) (Result, error) {
	ic, err := staffIC(cmd.IC)
	if err != nil {
		return Result{}, err
	}
	return changeStaff(ctx, h.Runner, cmd.Meta, ic,
		func(e *employee.Employee, now time.Time) error {
			return e.LeaveService(cmd.Meta.CommandID, cmd.Date, cmd.Reason, now)
		})
}
