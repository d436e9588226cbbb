package commands_test

import (
	"context"
	"errors"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
)

func TestGrantRole(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.makeAdmin()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	grant := func(m commands.Meta, role account.Role) (commands.Result, error) {
		return f.h.GrantRole.Handle(ctx, commands.GrantRole{Meta: m, UserID: sitiIC, Role: role})
	}
	if _, err := grant(f.admin(), "superuser"); !errors.Is(err, account.ErrInvalid) {
		t.Fatalf("unknown role: %v", err)
	}
	if _, err := grant(f.user(sitiIC), account.RoleAuditor); !errors.Is(err, commands.ErrForbidden) {
		t.Fatalf("staff granting: %v", err)
	}
	f.ok(grant(f.admin(), account.RoleAuditor))
	if res, err := grant(f.admin(), account.RoleAuditor); err != nil || res.Appended != 0 {
		t.Fatalf("granting again: %+v %v", res, err)
	}
	// An auditor must enrol TOTP, and her 23-character password meets the
	// admin length, so no change is asked.
	out, err := f.logIn(sitiIC, sitiPassword)
	if err != nil || !out.MustEnrolSecondFactor || out.MustChangePassword {
		t.Fatalf("auditor login: %+v %v", out, err)
	}
}

// DESIGN.md keeps the admin and auditor scopes apart and the auditor
// watches the administrators: an administrator cannot make themselves
// auditor, nor drop a role of their own, from the portal. Another
// administrator can, and so can the console (bootstrap and recovery).
func TestAdministratorCannotChangeTheirOwnRoles(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.makeAdmin()
	n := len(f.events("account-" + adminIC))
	if _, err := f.h.GrantRole.Handle(ctx, commands.GrantRole{Meta: f.admin(), UserID: adminIC, Role: account.RoleAuditor}); !errors.Is(err, account.ErrOwnRole) {
		t.Fatalf("an administrator granting themselves the auditor role: %v", err)
	}
	if len(f.events("account-"+adminIC)) != n {
		t.Fatal("a refused grant recorded something")
	}
	f.ok(f.h.GrantRole.Handle(ctx, commands.GrantRole{Meta: f.system(), UserID: adminIC, Role: account.RoleAuditor}))
	if _, err := f.h.RevokeRole.Handle(ctx, commands.RevokeRole{Meta: f.admin(), UserID: adminIC, Role: account.RoleAuditor}); !errors.Is(err, account.ErrOwnRole) {
		t.Fatalf("an administrator removing their own auditor role: %v", err)
	}
	f.ok(f.h.RevokeRole.Handle(ctx, commands.RevokeRole{Meta: f.system(), UserID: adminIC, Role: account.RoleAuditor}))
}
