package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
)

// FollowMasterName is the account's side of a correction of the person's
// name in the employee master (employee.StaffUpdated, or StaffRecorded on
// a rejoin): the account takes Name. NameFollower runs it for each such
// event, with a command ID derived from the event's.
type FollowMasterName struct {
	Meta   Meta // Actor: the system (NameFollowerActor)
	UserID string
	Name   string
}

// FollowMasterNameHandler records account.NameFollowedMaster when the
// account exists and its name is not Name; otherwise nothing (Result.Appended
// 0, no error): no account, or the name is the same (another field
// changed, or a redelivered event). Errors: field errors on user_id or name
// (unusable input, never worth retrying), ErrForbidden (not the system or
// an administrator).
type FollowMasterNameHandler struct {
	Runner Runner
}

var _ Handler[FollowMasterName] = FollowMasterNameHandler{}

// Handle runs the command.
func (h FollowMasterNameHandler) Handle(ctx context.Context, cmd FollowMasterName) (Result, error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return Result{}, err
	}
	// The master normalised it when it recorded it; again here so the
	// account's comparison is on that form too.
	name, fe := employee.NormalizeName("name", cmd.Name)
	if fe != nil {
		return Result{}, fe
	}
	if err := authorizeAdmin(ctx, h.Runner, cmd.Meta, false); err != nil {
		return Result{}, err
	}
	return Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error { return a.FollowMasterName(name, now) })
}
