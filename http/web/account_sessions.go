package web

import (
	"context"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/http/session"
)

// SessionEnder ends, in this process's session store, the sessions an
// account.SessionsEnded event ended: every event that must end an
// account's sessions (AccountLocked, PasswordChanged, Activated, RoleRevoked,
// TOTPDisabled, a requested end) is recorded together with one, whichever
// process ran the command (`ispeks admin role --remove` runs in the
// console). Run it as a follower of the log (engine.RunFollower) in every
// process that serves pages.
//
// It also ends the sessions of someone who left service
// (employee.StaffLeftService): a login after that opens a session without
// the roles of the post, but a session opened before it would keep them
// until it expired. A leaving date still ahead ends nothing yet: the person
// holds the post until then, so their sessions are made to end when the
// date begins (session.Manager.EndAllAt), as a login in the meantime does
// with its own (completeLogin). The deadline goes into the sessions rather
// than into a timer here: this follower starts at the log head, so after a
// restart it would never see the event again, while the sessions themselves
// check it at every request.
//
// A correction of the person's name or department in the employee master
// (employee.StaffUpdated, or a StaffRecorded that records a leaver again:
// a leaver may be logged in, for their own slips) is given to their open
// sessions (session.Manager.RenameBefore): the pages greet them by the
// session's copy, made at login, and would show the old name until the
// next login.
//
// A leaving date cancelled (employee.LeavingCancelled) takes that end off
// the sessions begun before the cancellation again
// (session.Manager.ClearValidUntilBefore): the person keeps the post past
// the date, so their sessions are not cut when it begins. Those begun
// after it were opened without the date.
//
// A SessionsEnded of the temporary logins only (the account's e-mail
// followed the master's) ends the logins waiting at a step a temporary
// password led to (acctTemporaryLogin): whoever read that password at the
// old address may hold them. The person's logged-in sessions, and a login
// with the current password waiting for its code, go on.
//
// Only sessions begun before the event's time end: the page that changed
// a password logs its own browser in again after the event, and the
// follower may see the event after that.
type SessionEnder struct {
	Sessions *session.Manager
}

// SessionEnderName names the follower (dead letters, logs).
const SessionEnderName = "web_sessions"

// Handles are the event types Handle acts on.
func (SessionEnder) Handles() []string {
	return []string{account.SessionsEnded{}.EventType(), employee.StaffLeftService{}.EventType(),
		employee.LeavingCancelled{}.EventType(), employee.StaffUpdated{}.EventType(), employee.StaffRecorded{}.EventType()}
}

// Handle ends the sessions of an account.SessionsEnded or an
// employee.StaffLeftService (the user ID is the IC; a leaving date still
// ahead sets when they end), lifts that end on an
// employee.LeavingCancelled, and renames them on an employee.StaffUpdated
// or StaffRecorded (a first record has no sessions); other events pass.
func (e SessionEnder) Handle(ctx context.Context, env eventlog.Envelope) error {
	switch ev := env.Event.(type) {
	case account.SessionsEnded:
		if ev.UserID == "" {
			return nil
		}
		if ev.TemporaryLogins {
			_, err := e.Sessions.EndPendingBefore(ctx, ev.UserID, env.OccurredAt, acctTemporaryLogin)
			return err
		}
		_, err := e.Sessions.EndAllBefore(ctx, ev.UserID, env.OccurredAt)
		return err
	case employee.StaffLeftService:
		if ev.IC == "" {
			return nil
		}
		ends := employee.ServiceEndsAt(ev.Date)
		if ends.IsZero() { // not a date: the event says they left
			_, err := e.Sessions.EndAllBefore(ctx, ev.IC, env.OccurredAt)
			return err
		}
		_, err := e.Sessions.EndAllAt(ctx, ev.IC, env.OccurredAt, ends)
		return err
	case employee.LeavingCancelled:
		if ev.IC == "" {
			return nil
		}
		_, err := e.Sessions.ClearValidUntilBefore(ctx, ev.IC, env.OccurredAt)
		return err
	case employee.StaffUpdated:
		if ev.IC == "" {
			return nil
		}
		_, err := e.Sessions.RenameBefore(ctx, ev.IC, env.OccurredAt, ev.Name, ev.Department)
		return err
	case employee.StaffRecorded:
		if ev.IC == "" {
			return nil
		}
		_, err := e.Sessions.RenameBefore(ctx, ev.IC, env.OccurredAt, ev.Name, ev.Department)
		return err
	}
	return nil
}

// acctTemporaryLogin reports a login in progress that a temporary password
// led to: waiting at Pengaktifan, for its new password, or for the code
// before that new password.
func acctTemporaryLogin(s session.Session) bool {
	switch s.Stage {
	case session.StageActivation, acctStageReset:
		return true
	case acctStageTOTP:
		return s.Values[acctValAfter] == acctAfterReset
	}
	return false
}
