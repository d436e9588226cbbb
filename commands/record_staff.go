package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/mykad"
)

// RecordStaff enters a person into the employee master.
type RecordStaff struct {
	Meta    Meta
	Details employee.Details
}

// RecordStaffHandler records employee.StaffRecorded. Actors: the system
// (CLI import), an administrator, or a finance API client. Errors:
// employee.FieldErrors (every bad field), employee.ErrAlreadyRecorded,
// ErrForbidden.
type RecordStaffHandler struct {
	Runner Runner
}

var _ Handler[RecordStaff] = RecordStaffHandler{}

// Handle runs the command.
func (h RecordStaffHandler) Handle(ctx context.Context, cmd RecordStaff) (Result, error) {
	d, ic, err := staffDetails(cmd.Details)
	if err != nil {
		return Result{}, err
	}
	if err := authorizeAdmin(ctx, h.Runner, cmd.Meta, true); err != nil {
		return Result{}, err
	}
	return Execute(ctx, h.Runner, employee.Stream(ic), employee.New, cmd.Meta,
		func(e *employee.Employee, now time.Time) error { return e.Record(cmd.Meta.CommandID, d, now) })
}

// staffDetails validates before any I/O, so bad input never reaches the log.
func staffDetails(d employee.Details) (employee.Details, mykad.IC, error) {
	d, err := d.Validate()
	if err != nil {
		return d, "", err
	}
	return d, mykad.IC(d.IC), nil
}
