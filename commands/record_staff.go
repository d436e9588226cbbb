package commands

import (
	"context"
	"strings"
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
	return changeStaff(ctx, h.Runner, cmd.Meta, ic,
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

// staffIC parses the IC number naming a staff record, as a field error.
func staffIC(raw string) (mykad.IC, error) {
	ic, err := mykad.Parse(raw)
	if err != nil {
		return "", &employee.FieldError{Field: "ic", Code: "invalid", Reason: strings.TrimPrefix(err.Error(), "mykad: ")}
	}
	return ic, nil
}

// changeStaff runs decide on the staff record of ic, as every command on
// the employee master does: only for an administrator, a finance system or
// the console (authorizeAdmin), recorded with meta's actor.
func changeStaff(ctx context.Context, r Runner, meta Meta, ic mykad.IC, decide func(*employee.Employee, time.Time) error) (Result, error) {
	if err := authorizeAdmin(ctx, r, meta, true); err != nil {
		return Result{}, err
	}
	return Execute(ctx, r, employee.Stream(ic), employee.New, meta, decide)
}
