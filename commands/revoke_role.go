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
	// Locks queues the removals of an admin role in this process: each
	// checks its actor's role on the actor's stream and writes another's,
	// so two administrators removing each other side by side could both
	// pass the check and leave nobody to administer the portal. Queued,
	// the second finds its actor removed (ErrForbidden). Share the
	// handlers' *KeyedLocks; nil leaves it unqueued.
	Locks *KeyedLocks
}

// revokeAdminKey is the KeyedLocks key of admin-role removals (not an IC
// number: those have 12 digits).
const revokeAdminKey = "role-admin-revoke"

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
	if cmd.Role == account.RoleAdmin && h.Locks != nil {
		defer h.Locks.Lock(revokeAdminKey)()
	}
	if err := authorizeAdmin(ctx, h.Runner, cmd.Meta, false); err != nil {
		return Result{}, err
	}
	return Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error { return a.RevokeRole(cmd.Role, cmd.Meta.Actor.ID, now) })
}
