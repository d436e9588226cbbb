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
// account's sessions (AccountLocked, PasswordChanged, RoleRevoked,
// TOTPDisabled, a requested end) is recorded together with one, whichever
// process ran the command (`ispeks admin role --remove` runs in the
// console). Run it as a follower of the log (engine.RunFollower) in every
// process that serves pages.
//
// It also ends the sessions of someone who left service
// (employee.StaffLeftService): a login after that opens a session without
// the roles of the post, but a session opened before it would keep them
// until it expired.
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
	return []string{account.SessionsEnded{}.EventType(), employee.StaffLeftService{}.EventType()}
}

// Handle ends the sessions of an account.SessionsEnded or an
// employee.StaffLeftService (the user ID is the IC); other events pass.
func (e SessionEnder) Handle(ctx context.Context, env eventlog.Envelope) error {
	var userID string
	switch ev := env.Event.(type) {
	case account.SessionsEnded:
		userID = ev.UserID
	case employee.StaffLeftService:
		userID = ev.IC
	}
	if userID == "" {
		return nil
	}
	_, err := e.Sessions.EndAllBefore(ctx, userID, env.OccurredAt)
	return err
}
