package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
)

// FollowMasterEmail is the account's side of a change of the person's
// official e-mail in the employee master (employee.StaffUpdated with a
// previous_email): from PreviousEmail to Email. EmailFollower runs it for
// each such event, with a command ID derived from the event's.
type FollowMasterEmail struct {
	Meta          Meta // Actor: the system (EmailFollowerActor)
	UserID        string
	PreviousEmail string
	Email         string
}

// FollowMasterEmailHandler records account.EmailFollowedMaster when the
// account exists and its e-mail is still PreviousEmail; otherwise nothing
// (Result.Appended 0, no error): no account, the owner chose another
// address, or it followed already (a redelivered event). Errors: field
// errors on user_id, previous_email or email (unusable input, never worth
// retrying), ErrForbidden (not the system or an administrator).
type FollowMasterEmailHandler struct {
	Runner Runner
}

var _ Handler[FollowMasterEmail] = FollowMasterEmailHandler{}

// Handle runs the command.
func (h FollowMasterEmailHandler) Handle(ctx context.Context, cmd FollowMasterEmail) (Result, error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return Result{}, err
	}
	// The master normalised both when it recorded them; again here so the
	// account's comparison and the address it takes are in that form too.
	from, fe := employee.NormalizeEmail("previous_email", cmd.PreviousEmail)
	if fe != nil {
		return Result{}, fe
	}
	to, fe := employee.NormalizeEmail("email", cmd.Email)
	if fe != nil {
		return Result{}, fe
	}
	if err := authorizeAdmin(ctx, h.Runner, cmd.Meta, false); err != nil {
		return Result{}, err
	}
	return Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error { return a.FollowMasterEmail(from, to, now) })
}
