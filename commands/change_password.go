package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
)

// ChangePassword is Tukar Kata Laluan: old, new and confirmation.
type ChangePassword struct {
	Meta            Meta
	UserID          string
	OldPassword     string
	NewPassword     string
	ConfirmPassword string
}

// ChangePasswordHandler checks the new password against the policy,
// verifies the old one and records account.PasswordChanged and
// account.SessionsEnded: the web layer ends every other session of the
// account and gives the current one a new token. A wrong old password
// counts as a failed attempt (account.ErrWrongPassword, or ErrLocked when
// it locks). Errors also: account.FieldErrors (password,
// confirm_password), account.ErrNotActivated.
type ChangePasswordHandler struct {
	Runner   Runner
	Security AccountSecurity
	Policy   AccountPolicy
}

var _ Handler[ChangePassword] = ChangePasswordHandler{}

// Handle runs the command.
func (h ChangePasswordHandler) Handle(ctx context.Context, cmd ChangePassword) (Result, error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return Result{}, err
	}
	if cmd.OldPassword == "" {
		return Result{}, account.FieldErrors{{Field: "old_password", Code: "required", Reason: "is required"}}
	}
	old := newSecretCheck(ctx, h.Security.Hasher, account.NormalizePassword(cmd.OldPassword))
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
			return a.ChangePassword(old.Verify, account.NewPassword{Hash: hash, AdminStrength: adminStrength(cmd.NewPassword)}, h.Policy.threshold(), now)
		})
}
