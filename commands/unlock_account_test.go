package commands_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
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

// An administrator who left service keeps their account (their own slips)
// but no longer acts as administrator. Recorded again (they rejoined, by
// any feed of the master: a nightly CSV, the upload, the API), they still
// do not, until the role is granted for this term of service: the old
// post's powers do not come back by themselves.
func TestAdministratorWhoLeftServiceCannotAct(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.makeAdmin()
	lockSiti(t, f)
	f.ok(f.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: f.system(), IC: adminIC, Date: "2026-01-31", Reason: "Bertukar ke Putrajaya"}))
	unlock := commands.UnlockAccount{Meta: f.admin(), UserID: sitiIC, Reason: "Pemanggil disahkan"}
	if _, err := f.h.UnlockAccount.Handle(ctx, unlock); !errors.Is(err, commands.ErrForbidden) {
		t.Fatalf("unlock by an administrator who left service: %v", err)
	}
	if _, err := f.h.IssueTemporaryPassword.Handle(ctx, commands.IssueTemporaryPassword{Meta: f.admin(), UserID: sitiIC}); !errors.Is(err, commands.ErrForbidden) {
		t.Fatalf("temporary password by an administrator who left service: %v", err)
	}
	f.ok(f.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: f.system(), Details: employee.Details{
		IC: adminIC, Name: "Mohd Fadzlezam bin Sulaiman", Email: "fadzlezam@melaka.gov.my", Department: "Jabatan Kewangan dan Perbendaharaan", Post: "Pegawai Teknologi Maklumat", StaffNumber: "JKPN-0001",
	}}))
	unlock.Meta = f.admin()
	if _, err := f.h.UnlockAccount.Handle(ctx, unlock); !errors.Is(err, commands.ErrForbidden) {
		t.Fatalf("unlock by an administrator recorded again, not granted anew: %v", err)
	}
	if out, _, err := f.h.LogIn.LogIn(ctx, commands.LogIn{Meta: f.anon(), UserID: adminIC, Password: "pentadbir sistem melaka"}); err != nil || len(out.Grant.Roles) != 0 {
		t.Fatalf("login of the rejoined administrator: roles %v (%v), want none", out.Grant.Roles, err)
	}
	f.ok(f.h.GrantRole.Handle(ctx, commands.GrantRole{Meta: f.system(), UserID: adminIC, Role: account.RoleAdmin}))
	unlock.Meta = f.admin()
	f.ok(f.h.UnlockAccount.Handle(ctx, unlock))
}

// An administrator whose leaving date is ahead holds the post, and acts,
// until the date begins in Melaka.
func TestAdministratorActsUntilTheLeavingDate(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.makeAdmin()
	lockSiti(t, f)
	f.ok(f.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: f.system(), IC: adminIC, Date: "2026-03-03", Reason: "Bersara"}))
	f.ok(f.h.UnlockAccount.Handle(ctx, commands.UnlockAccount{Meta: f.admin(), UserID: sitiIC, Reason: "Pemanggil disahkan"}))
	f.advance(15 * time.Hour)
	if _, err := f.h.IssueTemporaryPassword.Handle(ctx, commands.IssueTemporaryPassword{Meta: f.admin(), UserID: sitiIC}); !errors.Is(err, commands.ErrForbidden) {
		t.Fatalf("an administrator on their leaving date: %v", err)
	}
}
