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
	_, res, err := h.Change(ctx, cmd)
	return res, err
}

// Change runs the command and returns the grant of the session that goes
// on after it: the roles and leaving date as the change decided them on
// the stream, not a copy of the old session's (a role removed a moment
// before would be carried over).
func (h ChangePasswordHandler) Change(ctx context.Context, cmd ChangePassword) (LoginGrant, Result, error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return LoginGrant{}, Result{}, err
	}
	if cmd.OldPassword == "" {
		return LoginGrant{}, Result{}, account.FieldErrors{{Field: "old_password", Code: "required", Reason: "is required"}}
	}
	old := newSecretCheck(ctx, h.Security.Hasher, account.NormalizePassword(cmd.OldPassword))
	newHash := &lazyHash{ctx: ctx, hasher: h.Security.Hasher, secret: account.NormalizePassword(cmd.NewPassword)}
	var seed grantSeed
	res, err := Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
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
			seed.see(a, now)
			return a.ChangePassword(old.Verify, account.NewPassword{Hash: hash, AdminStrength: adminStrength(cmd.NewPassword)}, h.Policy.threshold(), now)
		})
	if err != nil {
		return LoginGrant{}, res, err
	}
	g, err := seed.grant(ctx, h.Runner, ic)
	return g, res, err
}
