package commands_test

import (
	"context"
	"errors"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
)

// TestEndSessions: given Siti's active account, when she logs out, then
// SessionsEnded (requested) is recorded with her as actor, which every
// portal process's follower acts on. Nobody else may end her sessions
// this way, and an unknown account has none.
func TestEndSessions(t *testing.T) {
	f := newAccts(t)
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	ctx := context.Background()
	h := commands.EndSessionsHandler{Runner: f.runner}
	for _, m := range []commands.Meta{f.user(nurulIC), f.anon(), f.admin()} {
		if _, err := h.Handle(ctx, commands.EndSessions{Meta: m, UserID: sitiIC}); !errors.Is(err, commands.ErrForbidden) {
			t.Fatalf("%+v ends Siti's sessions: %v", m.Actor, err)
		}
	}
	before := len(f.events("account-" + sitiIC))
	res := f.ok(h.Handle(ctx, commands.EndSessions{Meta: f.user(sitiIC), UserID: sitiIC}))
	evs := f.events("account-" + sitiIC)
	if res.Appended != 1 || len(evs) != before+1 {
		t.Fatalf("appended %d, stream %d → %d events", res.Appended, before, len(evs))
	}
	last := evs[len(evs)-1]
	if ev, ok := last.Event.(account.SessionsEnded); !ok || ev.Reason != account.EndRequested || ev.UserID != sitiIC || last.Metadata.Actor.ID != sitiIC {
		t.Fatalf("recorded %s %+v by %+v", last.Type, last.Event, last.Metadata.Actor)
	}
	if _, err := h.Handle(ctx, commands.EndSessions{Meta: f.user(strangerIC), UserID: strangerIC}); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("unknown account: %v", err)
	}
}
