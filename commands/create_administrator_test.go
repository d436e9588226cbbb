package commands_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
)

func TestCreateAdministratorBootstrap(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	staff := employee.Details{IC: "750101-04-5001", Name: "Mohd Fadzlezam bin Sulaiman", Email: "fadzlezam@melaka.gov.my", Department: "Jabatan Kewangan dan Perbendaharaan", Post: "Pegawai Teknologi Maklumat", StaffNumber: "JKPN-0001"}
	// Only the system (CLI) or an administrator may.
	if _, _, err := f.h.CreateAdministrator.Create(ctx, commands.CreateAdministrator{Meta: f.user(adminIC), Staff: staff}); !errors.Is(err, commands.ErrForbidden) {
		t.Fatalf("staff bootstrapping: %v", err)
	}
	created, _, err := f.h.CreateAdministrator.Create(ctx, commands.CreateAdministrator{Meta: f.system(), Staff: staff})
	if err != nil {
		t.Fatal(err)
	}
	if !created.StaffRecorded || created.UserID != adminIC || len(created.TemporaryPassword) != 14 {
		t.Fatalf("created %+v", created)
	}
	mailed, _ := f.tempPassword(adminIC)
	if mailed != created.TemporaryPassword {
		t.Fatal("printed and mailed temporary passwords differ")
	}
	// The new administrator activates with a 12-character password and
	// must enrol TOTP.
	if _, err := f.logIn(adminIC, created.TemporaryPassword); err != nil {
		t.Fatal(err)
	}
	_, err = f.h.Activate.Handle(ctx, commands.ActivateAccount{Meta: f.user(adminIC), UserID: adminIC, Form: activationForm("bunga melur")})
	var fes account.FieldErrors
	if !errors.As(err, &fes) || fes[0].Code != "too_short" {
		t.Fatalf("admin with an 11-character password: %v", err)
	}
	f.ok(f.h.Activate.Handle(ctx, commands.ActivateAccount{Meta: f.user(adminIC), UserID: adminIC, Form: activationForm("pentadbir sistem melaka")}))
	out, err := f.logIn(adminIC, "pentadbir sistem melaka")
	if err != nil || !out.MustEnrolSecondFactor || out.MustChangePassword {
		t.Fatalf("admin login: %+v %v", out, err)
	}
	// Running it again changes nothing.
	again, res, err := f.h.CreateAdministrator.Create(ctx, commands.CreateAdministrator{Meta: f.system(), Staff: staff})
	if err != nil || res.Appended != 0 || again.TemporaryPassword != "" || again.StaffRecorded {
		t.Fatalf("second run: %+v %+v %v", again, res, err)
	}
}

func TestCreateAdministratorFromTheMaster(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	// An existing account gains the role; no new password.
	created, _, err := f.h.CreateAdministrator.Create(ctx, commands.CreateAdministrator{Meta: f.system(), Staff: employee.Details{IC: sitiIC, Email: "siti.aminah@melaka.gov.my"}})
	if err != nil || created.TemporaryPassword != "" || created.StaffRecorded {
		t.Fatalf("%+v %v", created, err)
	}
	// She must enrol TOTP before anything else.
	out, err := f.logIn(sitiIC, sitiPassword)
	if err != nil || !out.MustEnrolSecondFactor {
		t.Fatalf("%+v %v", out, err)
	}
	// The master's e-mail decides.
	if _, _, err := f.h.CreateAdministrator.Create(ctx, commands.CreateAdministrator{Meta: f.system(), Staff: employee.Details{IC: nurulIC, Email: "nurul@melaka.gov.my"}}); !errors.Is(err, account.ErrNotRegistrable) {
		t.Fatalf("other e-mail: %v", err)
	}
	// Not in the master and no details: every missing field is named.
	_, _, err = f.h.CreateAdministrator.Create(ctx, commands.CreateAdministrator{Meta: f.system(), Staff: employee.Details{IC: strangerIC, Email: "baru@melaka.gov.my"}})
	var fes employee.FieldErrors
	if !errors.As(err, &fes) || len(fes) != 4 {
		t.Fatalf("missing details: %v", err)
	}
}

// The console may make someone whose leaving date is ahead an
// administrator (they hold their post until then), not once it has come.
func TestCreateAdministratorUntilTheLeavingDate(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.ok(f.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: f.system(), IC: sitiIC, Date: "2026-03-03", Reason: "Bersara"}))
	f.ok(f.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: f.system(), IC: hafizIC, Date: "2026-03-03", Reason: "Bersara"}))
	if _, _, err := f.h.CreateAdministrator.Create(ctx, commands.CreateAdministrator{Meta: f.system(), Staff: employee.Details{IC: sitiIC, Email: "siti.aminah@melaka.gov.my"}}); err != nil {
		t.Fatalf("before the leaving date: %v", err)
	}
	f.advance(15 * time.Hour)
	if _, _, err := f.h.CreateAdministrator.Create(ctx, commands.CreateAdministrator{Meta: f.system(), Staff: employee.Details{IC: hafizIC, Email: "pentadbiran.jkr@melaka.gov.my"}}); !errors.Is(err, account.ErrNotRegistrable) {
		t.Fatalf("on the leaving date: %v", err)
	}
}

// appendRace is the real store with another command's append slipped in
// just before this command's first append to one stream.
type appendRace struct {
	commands.EventStore
	stream string
	once   sync.Once
	first  func()
}

func (s *appendRace) Append(ctx context.Context, stream string, exp eventlog.ExpectedVersion, evs []eventlog.Proposed) (eventlog.AppendResult, error) {
	if stream == s.stream {
		s.once.Do(s.first)
	}
	return s.EventStore.Append(ctx, stream, exp, evs)
}

// TestCreateAdministratorLosingTheRegistrationRace: given Siti registering
// herself (Pendaftaran) between the bootstrap's read of her account stream
// and its append, when the bootstrap decides again on her registered
// account it only grants the role, and it hands the CLI no temporary
// password: the one it made was never stored, and the one that was went
// to her mailbox.
func TestCreateAdministratorLosingTheRegistrationRace(t *testing.T) {
	f := newAccts(t)
	r := f.runner
	r.Store = &appendRace{EventStore: f.store, stream: "account-" + sitiIC, first: func() { f.register(sitiIC, "siti.aminah@melaka.gov.my") }}
	h := commands.CreateAdministratorHandler{Runner: r, Security: f.sec}
	created, res, err := h.Create(context.Background(), commands.CreateAdministrator{Meta: f.system(), Staff: employee.Details{IC: sitiIC, Email: "siti.aminah@melaka.gov.my"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Appended != 1 || !reflect.DeepEqual(f.types("account-"+sitiIC), []string{"account.Registered.v1", "account.TemporaryPasswordIssued.v1", "account.RoleGranted.v1"}) {
		t.Fatalf("appended %d, stream %v: want her registration, then the role alone", res.Appended, f.types("account-"+sitiIC))
	}
	if created.TemporaryPassword != "" || !created.ExpiresAt.IsZero() {
		t.Fatalf("the CLI is handed temporary password %q expiring %v, which was never stored", created.TemporaryPassword, created.ExpiresAt)
	}
}
