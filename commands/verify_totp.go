package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
)

// VerifyTOTP is the second step of a login for an account with TOTP.
type VerifyTOTP struct {
	Meta   Meta
	UserID string
	Code   string
}

// VerifyTOTPHandler records account.TOTPCodeAccepted; a code is accepted
// once. Errors: account.ErrWrongCode, account.ErrCodeReused (both count
// towards the lock), account.ErrLocked, account.ErrTOTPNotEnabled.
type VerifyTOTPHandler struct {
	Runner   Runner
	Security AccountSecurity
	Policy   AccountPolicy
}

var _ Handler[VerifyTOTP] = VerifyTOTPHandler{}

// Handle runs the command.
func (h VerifyTOTPHandler) Handle(ctx context.Context, cmd VerifyTOTP) (Result, error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return Result{}, err
	}
	return Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error {
			return a.VerifyTOTP(h.Security.totpCheck(ic.String(), cmd.Code, now), h.Policy.threshold(), now)
		})
}
