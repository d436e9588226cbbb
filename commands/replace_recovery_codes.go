package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
)

// ReplaceRecoveryCodes is Tetapan Akaun › Dua Faktor › "Jana Kod Pemulihan
// Baharu": ten new recovery codes in place of the earlier ones, proved with
// a current authenticator code.
type ReplaceRecoveryCodes struct {
	Meta   Meta
	UserID string
	Code   string
}

// ReplaceRecoveryCodesHandler records account.RecoveryCodesReplaced with ten
// new codes (stored as keyed hashes) and returns them in clear, to be shown
// once. Errors: account.ErrWrongCode, account.ErrCodeReused (both count
// towards the lock), account.ErrCodeJustAccepted (this form's code sent
// again: nothing recorded), account.ErrLocked, account.ErrTOTPNotEnabled.
type ReplaceRecoveryCodesHandler struct {
	Runner   Runner
	Security AccountSecurity
	Policy   AccountPolicy
	// Locks queues concurrent posts on one user ID, as for logins and
	// codes: every refused post appends.
	Locks *KeyedLocks
}

var _ Handler[ReplaceRecoveryCodes] = ReplaceRecoveryCodesHandler{}

// Handle runs the command.
func (h ReplaceRecoveryCodesHandler) Handle(ctx context.Context, cmd ReplaceRecoveryCodes) (Result, error) {
	_, res, err := h.Replace(ctx, cmd)
	return res, err
}

// Replace runs the command and returns the new codes.
func (h ReplaceRecoveryCodesHandler) Replace(ctx context.Context, cmd ReplaceRecoveryCodes) ([]string, Result, error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return nil, Result{}, err
	}
	if err := checkTOTPShape(cmd.Code); err != nil {
		return nil, Result{}, err
	}
	codes, hashes, err := h.Security.newRecoveryCodes()
	if err != nil {
		return nil, Result{}, err
	}
	if h.Locks != nil {
		defer h.Locks.Lock(ic.String())()
	}
	res, err := Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error {
			return a.ReplaceRecoveryCodes(h.Security.totpCheck(ic.String(), cmd.Code, now), hashes, h.Policy.threshold(), now)
		})
	if err != nil {
		return nil, res, err
	}
	return codes, res, nil
}
