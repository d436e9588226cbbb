package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
)

// ConfirmTOTP puts the pending TOTP secret in force with a code from the
// authenticator.
type ConfirmTOTP struct {
	Meta   Meta
	UserID string
	Code   string
}

// ConfirmTOTPHandler records account.TOTPEnabled with ten recovery codes
// (stored as keyed hashes) and returns the codes in clear, to be shown once.
// Errors: account.ErrWrongCode (nothing recorded), account.ErrNoPendingEnrolment,
// account.ErrTOTPAlreadyEnabled, account.ErrLocked.
type ConfirmTOTPHandler struct {
	Runner   Runner
	Security AccountSecurity
}

var _ Handler[ConfirmTOTP] = ConfirmTOTPHandler{}

// Handle runs the command.
func (h ConfirmTOTPHandler) Handle(ctx context.Context, cmd ConfirmTOTP) (Result, error) {
	_, res, err := h.Confirm(ctx, cmd)
	return res, err
}

// Confirm runs the command and returns the recovery codes.
func (h ConfirmTOTPHandler) Confirm(ctx context.Context, cmd ConfirmTOTP) ([]string, Result, error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return nil, Result{}, err
	}
	codes, hashes, err := h.Security.newRecoveryCodes()
	if err != nil {
		return nil, Result{}, err
	}
	res, err := Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error {
			return a.ConfirmTOTP(h.Security.totpCheck(ic.String(), cmd.Code, now), hashes, now)
		})
	if err != nil {
		return nil, res, err
	}
	return codes, res, nil
}
