package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// EndSessions is Log Keluar: every session of the account ends (DESIGN:
// "logout … end every session of the account"), in every portal process,
// not only the one that served the click.
type EndSessions struct {
	Meta   Meta // Actor: the person logging out
	UserID string
}

// EndSessionsHandler records account.SessionsEnded (reason requested). The
// web follower of every portal process (web.SessionEnder) ends the
// sessions begun before it; the process that served the logout has ended
// its own at once. Only the account's own user may end its sessions this
// way: ErrForbidden for any other actor; account.ErrNotFound.
type EndSessionsHandler struct {
	Runner Runner
}

var _ Handler[EndSessions] = EndSessionsHandler{}

// Handle runs the command.
func (h EndSessionsHandler) Handle(ctx context.Context, cmd EndSessions) (Result, error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return Result{}, err
	}
	if cmd.Meta.Actor.Kind != eventlog.ActorUser || cmd.Meta.Actor.ID != ic.String() {
		return Result{}, ErrForbidden
	}
	return Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error { return a.EndSessions(account.EndRequested, now) })
}
