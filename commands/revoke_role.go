package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
)

// RevokeRole removes the admin or auditor role.
type RevokeRole struct {
	Meta   Meta // Actor: the administrator
	UserID string
	Role   account.Role
}

// RevokeRoleHandler records account.RoleRevoked and account.SessionsEnded
// (the account's sessions carried the role; end them). Nothing if the role
// is not held. Errors: account.ErrOwnAdminRole / account.ErrOwnRole (an
// administrator's own account: another administrator, or the console, must
// remove it), *account.FieldError on "role", account.ErrNotFound,
// ErrForbidden.
type RevokeRoleHandler struct {
	Runner Runner
}

var _ Handler[RevokeRole] = RevokeRoleHandler{}

// Handle runs the command.
func (h RevokeRoleHandler) Handle(ctx context.Context, cmd RevokeRole) (Result, error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return Result{}, err
	}
	if !cmd.Role.Valid() {
		return Result{}, &account.FieldError{Field: "role", Code: "unknown_choice", Reason: "must be admin or auditor"}
	}
	if err := authorizeAdmin(ctx, h.Runner, cmd.Meta, false); err != nil {
		return Result{}, err
	}
	return Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error { return a.RevokeRole(cmd.Role, cmd.Meta.Actor.ID, now) })
}
