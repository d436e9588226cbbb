package commands_test

import (
	"context"
	"errors"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/eventlog"
)

func lockSiti(t *testing.T, f *accts) {
	t.Helper()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	for i := 0; i < 3; i++ {
		_, _ = f.logIn(sitiIC, "salah kata laluan")
	}
	if _, err := f.logIn(sitiIC, sitiPassword); !errors.Is(err, account.ErrLocked) {
		t.Fatalf("not locked: %v", err)
	}
}

func TestUnlockAccount(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.makeAdmin()
	lockSiti(t, f)
	unlock := func(m commands.Meta, reason string) error {
		_, err := f.h.UnlockAccount.Handle(ctx, commands.UnlockAccount{Meta: m, UserID: sitiIC, Reason: reason})
		return err
	}
	var fe *account.FieldError
	if err := unlock(f.admin(), "   "); !errors.As(err, &fe) || fe.Field != "reason" {
		t.Fatalf("no reason: %v", err)
	}
	// Staff cannot unlock, not even themselves.
	if err := unlock(f.user(sitiIC), "saya"); !errors.Is(err, commands.ErrForbidden) {
		t.Fatalf("staff unlock: %v", err)
	}
	if err := unlock(meta(eventlog.ActorAdmin, sitiIC), "saya pentadbir"); !errors.Is(err, commands.ErrForbidden) {
		t.Fatalf("admin actor without the role: %v", err)
	}
	if err := unlock(f.admin(), "Pemanggil disahkan melalui soalan rahsia"); err != nil {
		t.Fatal(err)
	}
	evs := f.events("account-" + sitiIC)
	last := evs[len(evs)-1]
	if last.Event != (account.AccountUnlocked{UserID: sitiIC, Reason: "Pemanggil disahkan melalui soalan rahsia"}) || last.Metadata.Actor != (eventlog.Actor{Kind: eventlog.ActorAdmin, ID: adminIC}) {
		t.Fatalf("unlock event %+v by %+v", last.Event, last.Metadata.Actor)
	}
	if _, err := f.logIn(sitiIC, sitiPassword); err != nil {
		t.Fatalf("login after unlock: %v", err)
	}
	if err := unlock(f.admin(), "lagi"); !errors.Is(err, account.ErrNotLocked) {
		t.Fatalf("unlock of an unlocked account: %v", err)
	}
}
