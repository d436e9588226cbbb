package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
)

// RegisterAccount is Pendaftaran: IC number and official e-mail.
type RegisterAccount struct {
	Meta  Meta
	IC    string
	Email string
}

// RegisterAccountHandler opens the account of a person in the employee
// master whose official e-mail matches, and issues the first temporary
// password (the mail consumer sends it). Errors:
//   - *account.FieldError on "ic" or "email" (malformed, or e-mail outside
//     the allowed domains);
//   - account.ErrNotRegistrable: not in the master, left service, or the
//     e-mail is not the master's ("Pengguna Tidak Dapat Didaftarkan, Sila
//     Hubungi Pentadbir Sistem");
//   - account.ErrAlreadyRegistered: point the person to Lupa Kata Laluan.
type RegisterAccountHandler struct {
	Runner   Runner
	Security AccountSecurity
	Policy   AccountPolicy
}

var _ Handler[RegisterAccount] = RegisterAccountHandler{}

// Handle runs the command.
func (h RegisterAccountHandler) Handle(ctx context.Context, cmd RegisterAccount) (Result, error) {
	ic, err := parseUserID("ic", cmd.IC)
	if err != nil {
		return Result{}, err
	}
	email, fe := account.CheckEmail("email", cmd.Email, h.Policy.domains())
	if fe != nil {
		return Result{}, fe
	}
	// The master decides who may register: read from its stream, not from
	// a read model. Someone whose leaving date is still ahead is in
	// service and may.
	emp := employee.New()
	if _, err := load(ctx, h.Runner, employee.Stream(ic), emp); err != nil {
		return Result{}, err
	}
	if emp.Details().Email != email {
		return Result{}, account.ErrNotRegistrable
	}
	var temp *account.TemporaryPassword
	return Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error {
			if !emp.InService(now) {
				return account.ErrNotRegistrable
			}
			if a.Exists() {
				return account.ErrAlreadyRegistered
			}
			if temp == nil {
				t, _, err := h.Security.newTemporaryPassword(ctx, cmd.Meta, ic.String(), "")
				if err != nil {
					return err
				}
				temp = &t
			}
			return a.Register(ic, emp.Details().Name, email, *temp, now)
		})
}
