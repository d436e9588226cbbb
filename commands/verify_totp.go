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
	// Temporary: the code step is that of a login begun with the
	// temporary password (account.Account.VerifyTOTPAfterTemporary).
	Temporary bool
	// Waiting is the login the code completes (nil at a step-up).
	Waiting *WaitingLogin
	// StepUp: a logged-in session proves the second factor again; no
	// login is completed, and one awaiting its code goes on waiting
	// (account.Account.VerifyTOTPStepUp).
	StepUp bool
}

// VerifyTOTPHandler records account.TOTPCodeAccepted; a code is accepted
// once. Errors: account.ErrWrongCode, account.ErrCodeReused (both count
// towards the lock), account.ErrCodeJustAccepted (this use's code sent
// again with no login waiting: nothing recorded), account.ErrLocked,
// account.ErrTOTPNotEnabled, account.ErrLoginOvertaken (Waiting: nothing
// recorded, the code not checked).
type VerifyTOTPHandler struct {
	Runner   Runner
	Security AccountSecurity
	Policy   AccountPolicy
	// Locks queues concurrent posts on one user ID in this process, as
	// for logins: every refused post appends, so a form posted from
	// several tabs would otherwise exhaust the conflict retries. Share
	// the login's *KeyedLocks; nil leaves it to the version check.
	Locks *KeyedLocks
}

var _ Handler[VerifyTOTP] = VerifyTOTPHandler{}

// Handle runs the command.
func (h VerifyTOTPHandler) Handle(ctx context.Context, cmd VerifyTOTP) (Result, error) {
	_, res, err := h.Verify(ctx, cmd)
	return res, err
}

// Verify runs the command and returns what the session of the login this
// code completes gets.
func (h VerifyTOTPHandler) Verify(ctx context.Context, cmd VerifyTOTP) (LoginGrant, Result, error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return LoginGrant{}, Result{}, err
	}
	if err := checkTOTPShape(cmd.Code); err != nil {
		return LoginGrant{}, Result{}, err
	}
	if h.Locks != nil {
		defer h.Locks.Lock(ic.String())()
	}
	var seed grantSeed
	res, err := Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error {
			if err := cmd.Waiting.check(a, cmd.Temporary); err != nil {
				return err
			}
			seed.see(a, now)
			check := h.Security.totpCheck(ic.String(), cmd.Code, now)
			switch {
			case cmd.StepUp:
				return a.VerifyTOTPStepUp(check, h.Policy.threshold(), now)
			case cmd.Temporary:
				return a.VerifyTOTPAfterTemporary(check, h.Policy.threshold(), now)
			}
			return a.VerifyTOTP(check, h.Policy.threshold(), now)
		})
	if err != nil {
		return LoginGrant{}, res, err
	}
	g, err := seed.grant(ctx, h.Runner, ic)
	return g, res, err
}
