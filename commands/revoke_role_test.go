package commands_test

import (
	"context"
	"errors"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
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
