package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
)

// UseRecoveryCode gives a recovery code in place of a TOTP code.
type UseRecoveryCode struct {
	Meta   Meta
	UserID string
	Code   string
}

// UseRecoveryCodeHandler records account.RecoveryCodeUsed; each code works
// once. Errors: account.ErrWrongCode, account.ErrCodeReused (both count
// towards the lock), account.ErrLocked, account.ErrTOTPNotEnabled.
type UseRecoveryCodeHandler struct {
	Runner   Runner
	Security AccountSecurity
	Policy   AccountPolicy
}

var _ Handler[UseRecoveryCode] = UseRecoveryCodeHandler{}

// Handle runs the command.
func (h UseRecoveryCodeHandler) Handle(ctx context.Context, cmd UseRecoveryCode) (Result, error) {
	_, res, err := h.Use(ctx, cmd)
	return res, err
}

// Use runs the command and returns how many recovery codes are left.
func (h UseRecoveryCodeHandler) Use(ctx context.Context, cmd UseRecoveryCode) (int, Result, error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return 0, Result{}, err
	}
	hash := ""
	if len(cmd.Code) <= 64 {
		hash = h.Security.Keyed.RecoveryCodeHash(cmd.Code)
	}
	left := 0
	res, err := Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error {
			err := a.UseRecoveryCode(hash, h.Policy.threshold(), now)
			left = a.RecoveryCodesLeft()
			return err
		})
	return left, res, err
}
