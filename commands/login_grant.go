package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/mykad"
)

// LoginGrant is what the session of a completed login holds, decided on the
// aggregates by the command that completes the login (the password step,
// the TOTP or recovery code, activation, the new password after a temporary
// one): the roles the account's stream holds as that command decided, and
// from the employee master's stream whether the person is in service. The
// accounts read model lags the log: a login right after `ispeks admin role
// --remove` or a leave, read from it, got the role the log had already
// taken away.
type LoginGrant struct {
	// Roles the session holds: the account's, none once the person has left
	// service (the powers go with the post; their own slips stay).
	Roles []account.Role
	// SecondFactor: TOTP is on (a role holder without it must enrol
	// before anything else).
	SecondFactor bool
	// ServiceEnds is the first moment of a leaving date still ahead
	// (midnight in Melaka), zero when none is recorded: the session must
	// end then, since from then on the person is a leaver.
	ServiceEnds time.Time
	// DecidedAt is when the command decided (the time of its events): the
	// session counts as begun then, so what the log records after it (a
	// lock, a password change, a role removed) reaches the session even if
	// it is made a moment later.
	DecidedAt time.Time
	// Ends is how many times the account's sessions had been ended as
	// the command decided (account.Account.SessionEnds). A login that
	// waits for its next step (the code, Pengaktifan, the new password)
	// keeps it and gives it back with that step (WaitingLogin), which is
	// refused if the sessions were ended since: a waiting session is made
	// a moment after the decision, and an end in between finds none to
	// end.
	Ends int
	// Name and Department are the employee master's as the command
	// decided (the pages greet the person with them): the accounts view
	// may not yet show a correction HR has just made.
	Name, Department string
	// PreviousLogin (zero: none) and FailedBeforeLogin are the account's
	// login note once the command's events are applied
	// (account.Account.LoginNote): the home page shows them from the
	// session rather than read the accounts view. A password step that
	// awaits its code gives the note as it stood; the code's command,
	// which completes the login, gives the login's.
	PreviousLogin     time.Time
	FailedBeforeLogin int
}

// grantSeed is what the deciding command saw of the account, kept for the
// grant (decide may run again after a conflict: the last run counts).
type grantSeed struct {
	totp bool
	ends int
	now  time.Time
	// acc is the account decided on: its login note is read once the
	// decision's events are applied (see may come before the decision).
	acc *account.Account
}

func (s *grantSeed) see(a *account.Account, now time.Time) {
	s.totp, s.ends, s.now, s.acc = a.TOTPEnabled(), a.SessionEnds(), now, a
}

// grant completes the seed with the employee master as of the decision.
func (s grantSeed) grant(ctx context.Context, r Runner, ic mykad.IC) (LoginGrant, error) {
	emp := employee.New()
	if _, err := load(ctx, r, employee.Stream(ic), emp); err != nil {
		return LoginGrant{}, err
	}
	d := emp.Details()
	g := LoginGrant{SecondFactor: s.totp, DecidedAt: s.now, Ends: s.ends, Name: d.Name, Department: d.Department}
	if s.acc != nil {
		g.PreviousLogin, g.FailedBeforeLogin = s.acc.LoginNote()
	}
	if emp.InService(s.now) {
		// Only the roles granted in this term of service: a leaver
		// recorded again does not get the old post's powers back.
		g.ServiceEnds = emp.ServiceEnds()
		if s.acc != nil {
			g.Roles = s.acc.RolesIn(emp.Term())
		}
	}
	return g, nil
}

// WaitingLogin is the login a command completes or moves on, when it waits
// in a session made from an earlier step's decision: Ends is that
// decision's LoginGrant.Ends. The command refuses the step with
// account.ErrLoginOvertaken, recording nothing, if the account's sessions
// were ended since (a lock, a password change, an activation elsewhere;
// for a login begun with a temporary password, also the account's e-mail
// following the master's). Nil: no waiting login (a step-up, the console).
type WaitingLogin struct {
	Ends int
}

// check refuses the step on a, if w is a waiting login overtaken.
// temporary: the login was begun with a temporary password (Pengaktifan,
// the new password, the code step of such a login).
func (w *WaitingLogin) check(a *account.Account, temporary bool) error {
	switch {
	case w == nil:
		return nil
	case temporary:
		return a.CheckWaitingTemporary(w.Ends)
	}
	return a.CheckWaiting(w.Ends)
}
