package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
)

// CreateAdministrator bootstraps an administrator (`ispeks admin create`).
// Staff.IC and Staff.Email are required; the other fields are needed only
// when the person is not in the employee master yet (they are recorded
// first).
type CreateAdministrator struct {
	Meta  Meta // Actor: the system (CLI) or an administrator
	Staff employee.Details
}

// AdministratorCreated is what the CLI prints. TemporaryPassword is set when
// a new account was registered (it is also mailed, as for any
// registration); it is "" when the account existed and only gained the
// role.
type AdministratorCreated struct {
	UserID            string
	TemporaryPassword string
	ExpiresAt         time.Time
	StaffRecorded     bool
}

// CreateAdministratorHandler records the staff record if missing, registers
// the account if missing, and grants the admin role — each step idempotent,
// so running the CLI twice is harmless. The new administrator logs in with
// the temporary password, activates with a 12-character password and must
// enrol TOTP before reaching any page. Errors: employee.FieldErrors /
// *account.FieldError, account.ErrNotRegistrable (the master has another
// e-mail for this IC, or the person left service), ErrForbidden.
type CreateAdministratorHandler struct {
	Runner   Runner
	Security AccountSecurity
	Policy   AccountPolicy
}

var _ Handler[CreateAdministrator] = CreateAdministratorHandler{}

// Handle runs the command.
func (h CreateAdministratorHandler) Handle(ctx context.Context, cmd CreateAdministrator) (Result, error) {
	_, res, err := h.Create(ctx, cmd)
	return res, err
}

// Create runs the command and returns what the CLI prints.
func (h CreateAdministratorHandler) Create(ctx context.Context, cmd CreateAdministrator) (AdministratorCreated, Result, error) {
	var out AdministratorCreated
	ic, err := parseUserID("ic", cmd.Staff.IC)
	if err != nil {
		return out, Result{}, err
	}
	email, fe := account.CheckEmail("email", cmd.Staff.Email, h.Policy.domains())
	if fe != nil {
		return out, Result{}, fe
	}
	if err := authorizeAdmin(ctx, h.Runner, cmd.Meta, false); err != nil {
		return out, Result{}, err
	}
	out.UserID = ic.String()

	emp := employee.New()
	if _, err := load(ctx, h.Runner, employee.Stream(ic), emp); err != nil {
		return out, Result{}, err
	}
	switch {
	case !emp.Recorded():
		d := cmd.Staff
		d.IC, d.Email = ic.String(), email
		d, err := d.Validate()
		if err != nil {
			return out, Result{}, err
		}
		sub := subCommand(cmd.Meta, "employee")
		if _, err := Execute(ctx, h.Runner, employee.Stream(ic), employee.New, sub,
			func(e *employee.Employee, now time.Time) error { return e.Record(sub.CommandID, d, now) }); err != nil {
			return out, Result{}, err
		}
		out.StaffRecorded = true
		emp = employee.New()
		if _, err := load(ctx, h.Runner, employee.Stream(ic), emp); err != nil {
			return out, Result{}, err
		}
	case !emp.InService(h.Runner.Now()):
		return out, Result{}, fmt.Errorf("%w: the employee master says this person left service on %s", account.ErrNotRegistrable, emp.LeftOn())
	case emp.Details().Email != email:
		return out, Result{}, fmt.Errorf("%w: the employee master has another e-mail for this IC number", account.ErrNotRegistrable)
	}

	meta := subCommand(cmd.Meta, "account")
	var temp *account.TemporaryPassword
	var plain string
	res, err := Execute(ctx, h.Runner, account.Stream(ic), account.New, meta,
		func(a *account.Account, now time.Time) error {
			// Decided again after a conflict: if a registration got in
			// first, this decision registers nothing, and the password of
			// the lost one must not be printed as if it were stored.
			out.ExpiresAt = time.Time{}
			if !a.Exists() {
				if temp == nil {
					t, p, err := h.Security.newTemporaryPassword(ctx, meta, ic.String(), "")
					if err != nil {
						return err
					}
					temp, plain = &t, p
				}
				if err := a.Register(ic, emp.Details().Name, email, *temp, now); err != nil {
					return err
				}
				out.ExpiresAt = now.Add(account.TemporaryPasswordTTL)
			}
			return a.GrantRole(account.RoleAdmin, emp.Term(), meta.Actor.ID, now)
		})
	if err != nil {
		return out, res, err
	}
	if !out.ExpiresAt.IsZero() && res.Appended > 0 {
		out.TemporaryPassword = plain
	}
	return out, res, nil
}
