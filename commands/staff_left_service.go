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

// StaffLeftServiceHandler records employee.StaffLeftService. The date the
// record already has changes nothing: under a client's request ID it
// records employee.LeavingDateUnchanged (Result.NoChange), so the request
// re-sent after a later change is a repeat; under a command ID the server
// made (Meta.FreshID) it appends nothing (Result.Appended 0, no error).
// Errors: field errors on "ic", "date", "reason"; employee.ErrNotRecorded,
// employee.ErrLeftService (another date once the date has come: an
// *employee.LeftServiceError naming it; under a client's request ID it
// appends employee.LeavingDateRefused, so the report re-sent after a
// rejoin gets that same refusal instead of making the rejoiner a leaver),
// employee.ErrCommandReused, ErrForbidden.
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
