package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
)

// IssueTemporaryPassword is the administrator's "new temporary password".
type IssueTemporaryPassword struct {
	Meta   Meta // Actor: the administrator
	UserID string
}

// IssueTemporaryPasswordHandler records account.TemporaryPasswordIssued
// (reason admin_issued); the mailer sends it to the account's e-mail. The
// administrator never sees it. A locked account stays locked (unlock it
// separately). Errors: account.ErrNotFound, ErrForbidden.
type IssueTemporaryPasswordHandler struct {
	Runner   Runner
	Security AccountSecurity
}

var _ Handler[IssueTemporaryPassword] = IssueTemporaryPasswordHandler{}

// Handle runs the command.
func (h IssueTemporaryPasswordHandler) Handle(ctx context.Context, cmd IssueTemporaryPassword) (Result, error) {
	_, res, err := h.Issue(ctx, cmd)
	return res, err
}

// Issue runs the command and also reports whether the account is locked
// (stillLocked): the password then works only once it is unlocked, which
// the console says, as the admin page does.
func (h IssueTemporaryPasswordHandler) Issue(ctx context.Context, cmd IssueTemporaryPassword) (stillLocked bool, res Result, err error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return false, Result{}, err
	}
	if err := authorizeAdmin(ctx, h.Runner, cmd.Meta, false); err != nil {
		return false, Result{}, err
	}
	var temp *account.TemporaryPassword
	var tempFor string
	res, err = Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error {
			if !a.Exists() {
				return account.ErrNotFound
			}
			stillLocked = a.Locked()
			if temp == nil || tempFor != a.PasswordHash() {
				t, _, err := h.Security.newTemporaryPassword(ctx, cmd.Meta, ic.String(), a.PasswordHash())
				if err != nil {
					return err
				}
				temp, tempFor = &t, a.PasswordHash()
			}
			return a.IssueTemporaryPassword(*temp, account.TempAdmin, now)
		})
	return stillLocked, res, err
}
