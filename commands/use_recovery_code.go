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
	// Temporary: as VerifyTOTP.Temporary.
	Temporary bool
	// Waiting: as VerifyTOTP.Waiting.
	Waiting *WaitingLogin
	// StepUp: as VerifyTOTP.StepUp.
	StepUp bool
}

// UseRecoveryCodeHandler records account.RecoveryCodeUsed; each code works
// once. Errors: account.ErrWrongCode, account.ErrCodeReused (both count
// towards the lock), account.ErrCodeJustAccepted (the code just used sent
// again with no login waiting: nothing recorded), account.ErrLocked,
// account.ErrTOTPNotEnabled, account.ErrLoginOvertaken (as for
// VerifyTOTP).
type UseRecoveryCodeHandler struct {
	Runner   Runner
	Security AccountSecurity
	Policy   AccountPolicy
	// Locks queues concurrent posts on one user ID in this process, as
	// for logins: every refused post appends, so a form posted from
	// several tabs would otherwise exhaust the conflict retries. Share
	// the login's *KeyedLocks; nil leaves it to the version check.
	Locks *KeyedLocks
}

var _ Handler[UseRecoveryCode] = UseRecoveryCodeHandler{}

// Handle runs the command.
func (h UseRecoveryCodeHandler) Handle(ctx context.Context, cmd UseRecoveryCode) (Result, error) {
	_, res, err := h.Use(ctx, cmd)
	return res, err
}

// RecoveryCodeUsed is an accepted recovery code: how many are left, and
// what the session of the login it completes gets.
type RecoveryCodeUsed struct {
	Left  int
	Grant LoginGrant
}

// Use runs the command.
func (h UseRecoveryCodeHandler) Use(ctx context.Context, cmd UseRecoveryCode) (RecoveryCodeUsed, Result, error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return RecoveryCodeUsed{}, Result{}, err
	}
	if err := checkRecoveryShape(cmd.Code); err != nil {
		return RecoveryCodeUsed{}, Result{}, err
	}
	hash := ""
	if len(cmd.Code) <= 64 {
		hash = h.Security.Keyed.RecoveryCodeHash(cmd.Code)
	}
	if h.Locks != nil {
		defer h.Locks.Lock(ic.String())()
	}
	var out RecoveryCodeUsed
	var seed grantSeed
	res, err := Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error {
			if err := cmd.Waiting.check(a, cmd.Temporary); err != nil {
				return err
			}
			use := a.UseRecoveryCode
			switch {
			case cmd.StepUp:
				use = a.UseRecoveryCodeStepUp
			case cmd.Temporary:
				use = a.UseRecoveryCodeAfterTemporary
			}
			err := use(hash, h.Policy.threshold(), now)
			out.Left = a.RecoveryCodesLeft()
			seed.see(a, now)
			return err
		})
	if err == nil {
		out.Grant, err = seed.grant(ctx, h.Runner, ic)
	}
	return out, res, err
}
