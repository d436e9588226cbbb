package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
)

// ResetPassword sets a new password right after a login with a temporary
// password on an active account (LoginOutcome.MustChangePassword with
// Temporary): no old password, the temporary one was the proof.
type ResetPassword struct {
	Meta            Meta
	UserID          string
	NewPassword     string
	ConfirmPassword string
}

// ResetPasswordHandler records account.PasswordChanged (via reset) and
// account.SessionsEnded. Errors: account.FieldErrors,
// account.ErrTemporaryLoginRequired, account.ErrSecondFactorPending,
// account.ErrLocked, account.ErrNotActivated.
type ResetPasswordHandler struct {
	Runner   Runner
	Security AccountSecurity
}

var _ Handler[ResetPassword] = ResetPasswordHandler{}

// Handle runs the command.
func (h ResetPasswordHandler) Handle(ctx context.Context, cmd ResetPassword) (Result, error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return Result{}, err
	}
	newHash := &lazyHash{ctx: ctx, hasher: h.Security.Hasher, secret: account.NormalizePassword(cmd.NewPassword)}
	return Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error {
			if !a.Exists() {
				return account.ErrNotFound
			}
			if err := account.CheckPassword(cmd.NewPassword, cmd.ConfirmPassword, ic.String(), a.MinPasswordLength()); err != nil {
				return err
			}
			hash, err := newHash.get("")
			if err != nil {
				return err
			}
			return a.ResetPassword(account.NewPassword{Hash: hash, AdminStrength: adminStrength(cmd.NewPassword)}, now)
		})
}
