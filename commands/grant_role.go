package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
)

// GrantRole gives an account the admin or auditor role.
type GrantRole struct {
	Meta   Meta // Actor: the administrator (or the system, for bootstrap)
	UserID string
	Role   account.Role
}

// GrantRoleHandler records account.RoleGranted (nothing if held already
// in the person's present term of service: employee.Employee.Term).
// The account must then enrol TOTP at its next login, and its password
// must meet the 12-character policy at the next change (the login outcome
// asks for one). Errors: *account.FieldError on "role",
// account.ErrOwnRole (an administrator's own account: another
// administrator, or the console, must grant it), account.ErrNotFound,
// ErrForbidden.
type GrantRoleHandler struct {
	Runner Runner
}

var _ Handler[GrantRole] = GrantRoleHandler{}

// Handle runs the command.
func (h GrantRoleHandler) Handle(ctx context.Context, cmd GrantRole) (Result, error) {
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
	// The role is held for the person's present term of service in the
	// master; one granted before they left counts no more once they are
	// recorded again, and granting it now renews it.
	emp := employee.New()
	if _, err := load(ctx, h.Runner, employee.Stream(ic), emp); err != nil {
		return Result{}, err
	}
	return Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error {
			return a.GrantRole(cmd.Role, emp.Term(), cmd.Meta.Actor.ID, now)
		})
}
