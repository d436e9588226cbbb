package commands_test

import (
	"context"
	"errors"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
)

func TestIssueTemporaryPassword(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.makeAdmin()
	lockSiti(t, f)
	if _, err := f.h.IssueTemporaryPassword.Handle(ctx, commands.IssueTemporaryPassword{Meta: f.user(sitiIC), UserID: sitiIC}); !errors.Is(err, commands.ErrForbidden) {
		t.Fatalf("staff: %v", err)
	}
	// Issue says the account is still locked, so the console can tell the
	// administrator to unlock it too (the admin page says so).
	locked, _, err := f.h.IssueTemporaryPassword.Issue(ctx, commands.IssueTemporaryPassword{Meta: f.admin(), UserID: sitiIC})
	if err != nil || !locked {
		t.Fatalf("issued to a locked account: still locked %v, %v", locked, err)
	}
	temp, ev := f.tempPassword(sitiIC)
	if ev.Reason != account.TempAdmin || ev.Email != "siti.aminah@melaka.gov.my" {
		t.Fatalf("event %+v", ev)
	}
	// The account stays locked until unlocked; then the password works.
	if _, err := f.logIn(sitiIC, temp); !errors.Is(err, account.ErrLocked) {
		t.Fatalf("locked account with the new temporary password: %v", err)
	}
	f.ok(f.h.UnlockAccount.Handle(ctx, commands.UnlockAccount{Meta: f.admin(), UserID: sitiIC, Reason: "disahkan"}))
	out, err := f.logIn(sitiIC, temp)
	if err != nil || !out.MustChangePassword {
		t.Fatalf("temporary password after unlock: %+v %v", out, err)
	}
	if locked, _, err := f.h.IssueTemporaryPassword.Issue(ctx, commands.IssueTemporaryPassword{Meta: f.admin(), UserID: sitiIC}); err != nil || locked {
		t.Fatalf("issued to an unlocked account: still locked %v, %v", locked, err)
	}
	if _, err := f.h.IssueTemporaryPassword.Handle(ctx, commands.IssueTemporaryPassword{Meta: f.admin(), UserID: strangerIC}); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("unknown account: %v", err)
	}
}
