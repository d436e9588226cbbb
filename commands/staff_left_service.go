package commands

import (
	"context"
	"strings"
	"time"

	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/mykad"
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
	ic, err := mykad.Parse(cmd.IC)
	if err != nil {
		return Result{}, &employee.FieldError{Field: "ic", Code: "invalid", Reason: strings.TrimPrefix(err.Error(), "mykad: ")}
	}
	if err := authorizeAdmin(ctx, h.Runner, cmd.Meta, true); err != nil {
		return Result{}, err
	}
	return Execute(ctx, h.Runner, employee.Stream(ic), employee.New, cmd.Meta,
		func(e *employee.Employee, now time.Time) error {
			return e.LeaveService(cmd.Meta.CommandID, cmd.Date, cmd.Reason, now)
		})
}
