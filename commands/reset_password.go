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
	// Waiting is the temporary login the new password completes.
	Waiting *WaitingLogin
}

// ResetPasswordHandler records account.PasswordChanged (via reset) and
// account.SessionsEnded. Errors: account.FieldErrors,
// account.ErrTemporaryLoginRequired, account.ErrSecondFactorPending,
// account.ErrLocked, account.ErrNotActivated, account.ErrLoginOvertaken
// (Waiting).
type ResetPasswordHandler struct {
	Runner   Runner
	Security AccountSecurity
}

var _ Handler[ResetPassword] = ResetPasswordHandler{}

// Handle runs the command.
func (h ResetPasswordHandler) Handle(ctx context.Context, cmd ResetPassword) (Result, error) {
	_, res, err := h.Reset(ctx, cmd)
	return res, err
}

// Reset runs the command and returns what the session of the login the new
// password completes gets.
func (h ResetPasswordHandler) Reset(ctx context.Context, cmd ResetPassword) (LoginGrant, Result, error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return LoginGrant{}, Result{}, err
	}
	newHash := &lazyHash{ctx: ctx, hasher: h.Security.Hasher, secret: account.NormalizePassword(cmd.NewPassword)}
	typed := newSecretCheck(ctx, h.Security.Hasher, account.NormalizePassword(cmd.NewPassword))
	var seed grantSeed
	res, err := Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error {
			if !a.Exists() {
				return account.ErrNotFound
			}
			// The new password set since (another tab or device):
			// ResetPassword's own refusal says so, more use than an
			// overtaken login.
			if a.PasswordToSet() {
				if err := cmd.Waiting.check(a, true); err != nil {
					return err
				}
			}
			seed.see(a, now)
			if err := account.CheckPassword(cmd.NewPassword, cmd.ConfirmPassword, ic.String(), a.MinPasswordLength()); err != nil {
				return err
			}
			hash, err := newHash.get("")
			if err != nil {
				return err
			}
			return a.ResetPassword(account.NewPassword{Hash: hash, AdminStrength: adminStrength(cmd.NewPassword), Typed: typed.Verify}, now)
		})
	if err != nil {
		return LoginGrant{}, res, err
	}
	g, err := seed.grant(ctx, h.Runner, ic)
	return g, res, err
}
