package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/employee"
)

// PutStaff records or updates a staff record, whichever is needed: the
// upsert of `ispeks import employees`, the admin CSV upload and
// PUT /api/v1/employees/{ic}. A person who left service is recorded again
// (rejoined).
type PutStaff struct {
	Meta    Meta
	Details employee.Details
}

// PutStaffHandler runs PutStaff. An unchanged record under a command ID
// the server made (Meta.FreshID: the CSV import, an unkeyed API request)
// appends nothing (Result.Appended 0), so re-importing a file is harmless;
// under a client's request ID it appends employee.StaffUnchanged
// (Result.NoChange), so the request re-sent after a later change is a
// repeat. Errors: employee.FieldErrors (every bad field), ErrForbidden.
type PutStaffHandler struct {
	Runner Runner
}

var _ Handler[PutStaff] = PutStaffHandler{}

// Handle runs the command.
func (h PutStaffHandler) Handle(ctx context.Context, cmd PutStaff) (Result, error) {
	d, ic, err := staffDetails(cmd.Details)
	if err != nil {
		return Result{}, err
	}
	return changeStaff(ctx, h.Runner, cmd.Meta, ic,
		func(e *employee.Employee, now time.Time) error {
			_, err := e.Put(cmd.Meta.CommandID, d, now)
			return err
		})
}
