package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
)

// ResetTOTP switches an account's TOTP off after a lost phone (the helpdesk
// first verifies the caller with VerifySecretAnswer).
type ResetTOTP struct {
	Meta   Meta // Actor: the administrator
	UserID string
	Reason string
}

// ResetTOTPHandler records account.TOTPDisabled and account.SessionsEnded.
// Errors: *account.FieldError on "reason", account.ErrTOTPNotEnabled,
// account.ErrOwnTOTP (an administrator's own account), account.ErrNotFound,
// ErrForbidden.
type ResetTOTPHandler struct {
	Runner Runner
}

var _ Handler[ResetTOTP] = ResetTOTPHandler{}

// Handle runs the command.
func (h ResetTOTPHandler) Handle(ctx context.Context, cmd ResetTOTP) (Result, error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return Result{}, err
	}
	if _, err := account.CheckReason(cmd.Reason); err != nil {
		return Result{}, err
	}
	if err := authorizeAdmin(ctx, h.Runner, cmd.Meta, false); err != nil {
		return Result{}, err
	}
	return Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error {
			return a.DisableTOTP(cmd.Reason, cmd.Meta.Actor.ID, now)
		})
}
