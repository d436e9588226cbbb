package commands

import (
	"context"
	"errors"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
)

// ForgotPassword is Lupa Kata Laluan: the IC number only.
type ForgotPassword struct {
	Meta Meta
	IC   string
}

// ForgotPasswordHandler always answers the same: nil (or a field error for
// a malformed IC, which says nothing about any account). If a registered
// account exists and is not locked, a new temporary password is issued and
// mailed (24 h, one use); the current password keeps working until it is
// used. Nothing is issued for an unknown ID, a locked account (the
// administrator unlocks), within two minutes of the last one, or for a
// person the employee master says left service (from their leaving date
// on: before it they are still in service): their official mailbox is
// closed or handed on (and may be shared), so a temporary password mailed
// there could open their slips to someone else. They keep logging in with
// their own password, and the helpdesk can still help them. Every call
// costs one employee-stream read and one argon2id hash; the append is the
// account's alone, so the web page answers before running it (http/web
// forgot_queue.go): its timing says nothing either.
type ForgotPasswordHandler struct {
	Runner   Runner
	Security AccountSecurity
}

var _ Handler[ForgotPassword] = ForgotPasswordHandler{}

// Handle runs the command. Result.Appended tells tests and metrics whether
// a password was issued; the web layer must not show it.
func (h ForgotPasswordHandler) Handle(ctx context.Context, cmd ForgotPassword) (Result, error) {
	ic, err := parseUserID("ic", cmd.IC)
	if err != nil {
		return Result{}, err
	}
	// Read for every IC, so a leaver's answer costs what anyone's does.
	emp := employee.New()
	if _, err := load(ctx, h.Runner, employee.Stream(ic), emp); err != nil {
		return Result{}, err
	}
	var temp *account.TemporaryPassword
	var tempFor string
	res, err := Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error {
			if temp == nil || tempFor != a.PasswordHash() {
				t, _, err := h.Security.newTemporaryPassword(ctx, cmd.Meta, ic.String(), a.PasswordHash())
				if err != nil {
					return err
				}
				temp, tempFor = &t, a.PasswordHash()
			}
			if emp.Recorded() && !emp.InService(now) {
				return employee.ErrLeftService
			}
			return a.IssueTemporaryPassword(*temp, account.TempForgot, now)
		})
	switch {
	case errors.Is(err, account.ErrNotFound), errors.Is(err, account.ErrLocked), errors.Is(err, account.ErrTooSoon), errors.Is(err, employee.ErrLeftService):
		return res, nil
	}
	return res, err
}
