package commands

import (
	"context"
	"errors"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/loginprobe"
)

// LogIn is the password step of the two-step login: the user ID typed in
// step one and the password typed now.
type LogIn struct {
	Meta     Meta
	UserID   string
	Password string
}

// LogInHandler decides a login on state rebuilt from the account's stream.
// Every attempt costs exactly one argon2id derivation and appends to one
// stream, whether the ID exists or not; attempts on unknown IDs go to a
// login-probe stream that counts and locks like an account, so the outside
// cannot tell the two apart.
//
// Errors (map them to the manual's messages):
//   - *account.FieldError on "user_id" or "password": malformed input,
//     nothing recorded;
//   - account.ErrWrongPassword: "Kata Laluan Tidak Tepat" (+ Lupa Kata
//     Laluan link);
//   - account.ErrLocked: the lockout notice, for the attempt that locked
//     the account and every one after it, right password or not; end the
//     account's sessions;
//   - account.ErrTemporaryPasswordExpired: the right temporary password,
//     expired: use Lupa Kata Laluan.
type LogInHandler struct {
	Runner   Runner
	Security AccountSecurity
	Policy   AccountPolicy
	// Locks queues concurrent attempts on one user ID in this process.
	// Share one *KeyedLocks between all LogInHandler values; nil leaves
	// concurrent attempts to the version check and its retries.
	Locks *KeyedLocks
}

var _ Handler[LogIn] = LogInHandler{}

// errNoAccount makes Execute stop without appending when the ID has no
// account.
var errNoAccount = errors.New("commands: no account")

// Handle runs the command; LogIn also returns where the login leads.
func (h LogInHandler) Handle(ctx context.Context, cmd LogIn) (Result, error) {
	_, res, err := h.LogIn(ctx, cmd)
	return res, err
}

// LogIn runs the command and returns the outcome of a successful password
// step (activation, password change, second factor, TOTP enrolment next).
func (h LogInHandler) LogIn(ctx context.Context, cmd LogIn) (account.LoginOutcome, Result, error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return account.LoginOutcome{}, Result{}, err
	}
	switch {
	case cmd.Password == "":
		return account.LoginOutcome{}, Result{}, &account.FieldError{Field: "password", Code: "required", Reason: "is required"}
	case len(cmd.Password) > 4*account.MaxPassword:
		return account.LoginOutcome{}, Result{}, &account.FieldError{Field: "password", Code: "too_long", Reason: "is longer than any password can be"}
	}
	if h.Locks != nil {
		defer h.Locks.Lock(ic.String())()
	}
	check := newSecretCheck(ctx, h.Security.Hasher, account.NormalizePassword(cmd.Password))
	var out account.LoginOutcome
	res, err := Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error {
			if !a.Exists() {
				return errNoAccount
			}
			var err error
			out, err = a.LogIn(check.Verify, h.Policy.threshold(), now)
			return err
		})
	if !errors.Is(err, errNoAccount) {
		return out, res, err
	}
	// No account: spend the same hash a real account would, then count
	// the attempt on the ID's probe stream.
	if _, err := check.Verify(); err != nil {
		return account.LoginOutcome{}, Result{}, err
	}
	key := h.Security.Keyed.ProbeKey(ic.String())
	stream, err := loginprobe.Stream(key)
	if err != nil {
		return account.LoginOutcome{}, Result{}, err
	}
	meta := subCommand(cmd.Meta, "loginprobe")
	if meta.Actor.Kind == "" {
		meta.Actor = eventlog.Actor{Kind: eventlog.ActorAnonymous}
	}
	res, err = Execute(ctx, h.Runner, stream, func() *loginprobe.Probe { return loginprobe.New(key) }, meta,
		func(p *loginprobe.Probe, now time.Time) error { return p.Fail(h.Policy.threshold(), now) })
	switch {
	case errors.Is(err, loginprobe.ErrRefused):
		err = account.ErrWrongPassword
	case errors.Is(err, loginprobe.ErrLocked):
		err = account.ErrLocked
	}
	return account.LoginOutcome{}, res, err
}
