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
