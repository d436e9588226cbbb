package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
)

// UpdateProfile is Kemaskini Maklumat Pengguna: phone, office, e-mail.
// CurrentPassword is needed only when the e-mail changes.
type UpdateProfile struct {
	Meta            Meta
	UserID          string
	Profile         account.Profile
	CurrentPassword string
}

// UpdateProfileHandler records account.ProfileUpdated (nothing if
// unchanged). Errors: account.FieldErrors (phone, office, email — outside
// the allowed domains is "domain_not_allowed"; current_password required
// for an e-mail change), account.ErrWrongPassword / ErrLocked for a wrong
// current password (it counts as a failed attempt).
type UpdateProfileHandler struct {
	Runner   Runner
	Security AccountSecurity
	Policy   AccountPolicy
}

var _ Handler[UpdateProfile] = UpdateProfileHandler{}

// Handle runs the command.
func (h UpdateProfileHandler) Handle(ctx context.Context, cmd UpdateProfile) (Result, error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return Result{}, err
	}
	p, err := account.CheckProfile(cmd.Profile, h.Policy.domains())
	if err != nil {
		return Result{}, err
	}
	if len(cmd.CurrentPassword) > 4*account.MaxPassword {
		return Result{}, account.FieldErrors{{Field: "current_password", Code: "too_long", Reason: "is longer than any password can be"}}
	}
	check := newSecretCheck(ctx, h.Security.Hasher, account.NormalizePassword(cmd.CurrentPassword))
	return Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error {
			if p.Email != a.Email() && a.Exists() && cmd.CurrentPassword == "" {
				return account.FieldErrors{{Field: "current_password", Code: "required", Reason: "is required to change the e-mail address"}}
			}
			return a.UpdateProfile(p, check.Verify, h.Policy.threshold(), now)
		})
}
