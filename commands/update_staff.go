package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/employee"
)

// UpdateStaff replaces the record of a person in service.
type UpdateStaff struct {
	Meta    Meta
	Details employee.Details
}

// UpdateStaffHandler records employee.StaffUpdated (when the record is
// unchanged, employee.StaffUnchanged, or nothing under Meta.FreshID: see
// PutStaffHandler). Errors: employee.FieldErrors,
// employee.ErrNotRecorded, employee.ErrLeftService, ErrForbidden.
type UpdateStaffHandler struct {
	Runner Runner
}

var _ Handler[UpdateStaff] = UpdateStaffHandler{}

// Handle runs the command.
func (h UpdateStaffHandler) Handle(ctx context.Context, cmd UpdateStaff) (Result, error) {
	d, ic, err := staffDetails(cmd.Details)
	if err != nil {
		return Result{}, err
	}
	return changeStaff(ctx, h.Runner, cmd.Meta, ic,
		func(e *employee.Employee, now time.Time) error { return e.Update(cmd.Meta.CommandID, d, now) })
}
