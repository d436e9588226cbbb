package commands_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/eventlog"
)

func TestRevokeRole(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.makeAdmin()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	f.ok(f.h.GrantRole.Handle(ctx, commands.GrantRole{Meta: f.admin(), UserID: sitiIC, Role: account.RoleAdmin}))
	f.ok(f.h.RevokeRole.Handle(ctx, commands.RevokeRole{Meta: f.admin(), UserID: sitiIC, Role: account.RoleAdmin}))
	evs := f.events("account-" + sitiIC)
	if evs[len(evs)-1].Event != (account.SessionsEnded{UserID: sitiIC, Reason: account.EndRoleRevoked}) {
		t.Fatalf("last event %s", evs[len(evs)-1].Type)
	}
	if res, err := f.h.RevokeRole.Handle(ctx, commands.RevokeRole{Meta: f.admin(), UserID: sitiIC, Role: account.RoleAdmin}); err != nil || res.Appended != 0 {
		t.Fatalf("revoking a role not held: %+v %v", res, err)
	}
	if _, err := f.h.RevokeRole.Handle(ctx, commands.RevokeRole{Meta: f.admin(), UserID: adminIC, Role: account.RoleAdmin}); !errors.Is(err, account.ErrOwnAdminRole) {
		t.Fatalf("revoking one's own admin role: %v", err)
	}
}

// TestTwoAdministratorsCannotRemoveEachOther: each checks their own admin
// role, then writes the other's stream; run side by side, both checks
// could pass before either write and leave the portal with no
// administrator. In one process the revocations are queued, so the second
// finds its actor no longer an administrator.
func TestTwoAdministratorsCannotRemoveEachOther(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.makeAdmin()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	siti := meta(eventlog.ActorAdmin, sitiIC)
	for round := range 20 {
		for _, ic := range []string{adminIC, sitiIC} {
			f.ok(f.h.GrantRole.Handle(ctx, commands.GrantRole{Meta: f.system(), UserID: ic, Role: account.RoleAdmin}))
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, 2)
		for i, c := range []commands.RevokeRole{
			{Meta: f.admin(), UserID: sitiIC, Role: account.RoleAdmin},
			{Meta: siti, UserID: adminIC, Role: account.RoleAdmin},
		} {
			wg.Go(func() {
				<-start
				c.Meta.CommandID = uuid.New()
				_, errs[i] = f.h.RevokeRole.Handle(ctx, c)
			})
		}
		close(start)
		wg.Wait()
		if errs[0] == nil && errs[1] == nil {
			t.Fatalf("round %d: both administrators removed each other", round)
		}
		for _, err := range errs {
			if err != nil && !errors.Is(err, commands.ErrForbidden) {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
}
