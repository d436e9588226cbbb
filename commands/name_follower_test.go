package commands_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// Given Siti's account, registered under the master's name, when the
// finance system corrects her name and the follower is handed that
// StaffUpdated — twice, as an at-least-once delivery may — then her
// account takes the new name once, with the system as actor and the master
// change's correlation ID, and the mail events after it (Lupa Kata Laluan)
// carry the new name. A later correction back, then the first change
// redelivered late, leaves the latest name (the first change's command ran
// already).
func TestNameFollowerFollowsAMasterChangeOnce(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	put := meta(eventlog.ActorClient, "finance-sync")
	details := employee.Details{IC: sitiIC, Name: "Siti Aminah binti Omar Baki", Email: "siti.aminah@melaka.gov.my",
		Department: "Pejabat Daerah Melaka Tengah", Post: "Pegawai Kewangan", StaffNumber: "JKPN-0042"}
	f.ok(f.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: put, Details: details}))
	change := f.lastEvent("employee-" + sitiIC)
	if _, ok := change.Event.(employee.StaffUpdated); !ok {
		t.Fatalf("master change %+v", change.Event)
	}
	follower := commands.NameFollower{Follow: f.h.FollowMasterName, Log: slog.New(slog.DiscardHandler)}
	n := len(f.events(f.accountStream(sitiIC)))
	for range 2 {
		if err := follower.Handle(ctx, change); err != nil {
			t.Fatal(err)
		}
	}
	evs := f.events(f.accountStream(sitiIC))
	if len(evs) != n+1 {
		t.Fatalf("%d account events appended, want 1", len(evs)-n)
	}
	got := evs[n]
	if got.Event != (account.NameFollowedMaster{UserID: sitiIC, Name: "Siti Aminah binti Omar Baki", PreviousName: "Siti Aminah binti Omar"}) {
		t.Fatalf("account event %+v", got.Event)
	}
	if got.Metadata.Actor != commands.NameFollowerActor || got.Metadata.CorrelationID != put.CorrelationID ||
		got.Metadata.CausationID != commands.FollowNameCommandID(change.ID).String() {
		t.Fatalf("metadata %+v", got.Metadata)
	}
	f.ok(f.h.ForgotPassword.Handle(ctx, commands.ForgotPassword{Meta: f.anon(), IC: sitiIC}))
	if tp, ok := f.lastEvent(f.accountStream(sitiIC)).Event.(account.TemporaryPasswordIssued); !ok || tp.Name != "Siti Aminah binti Omar Baki" {
		t.Fatalf("Lupa Kata Laluan after the correction: %+v, want the new name", f.lastEvent(f.accountStream(sitiIC)).Event)
	}

	// HR corrects it again; the first change then comes late.
	details.Name = "Siti Aminah binti Omar"
	f.ok(f.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: meta(eventlog.ActorClient, "finance-sync"), Details: details}))
	if err := follower.Handle(ctx, f.lastEvent("employee-"+sitiIC)); err != nil {
		t.Fatal(err)
	}
	n = len(f.events(f.accountStream(sitiIC)))
	if err := follower.Handle(ctx, change); err != nil {
		t.Fatal(err)
	}
	if evs := f.events(f.accountStream(sitiIC)); len(evs) != n {
		t.Fatalf("a late redelivery appended %+v over the latest name", evs[len(evs)-1].Event)
	}
	if ev := f.lastEvent(f.accountStream(sitiIC)).Event; ev != (account.NameFollowedMaster{UserID: sitiIC, Name: "Siti Aminah binti Omar", PreviousName: "Siti Aminah binti Omar Baki"}) {
		t.Fatalf("last account event %+v", ev)
	}
}

// An update that leaves the name as it is, one stored before previous_name
// was kept, a first record (no account yet), other types: nothing. A rejoin under another name is followed. An
// event naming no valid person is passed over (nil: a retry could not
// make it usable). Only the system or an administrator may run the
// command.
func TestNameFollowerOtherEventsAndRefusals(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	n := len(f.events(f.accountStream(sitiIC)))
	follower := commands.NameFollower{Follow: f.h.FollowMasterName, Log: slog.New(slog.DiscardHandler)}
	same := employee.StaffUpdated{IC: sitiIC, Name: "Siti Aminah binti Omar", Email: "kewangan@melaka.gov.my", Department: "Jabatan Kewangan", Post: "Pegawai Kewangan", StaffNumber: "JKPN-0042"}
	bad := same
	bad.IC, bad.Name, bad.PreviousName = "000000000000", "Nama Lain", "Siti Aminah binti Omar"
	old := same
	old.Name = "Siti Aminah binti Omar Lama" // stored before previous_name was kept: not followed
	for _, ev := range []eventlog.Event{
		same,
		old,
		employee.StaffRecorded{IC: hafizIC, Name: "Hafiz bin Rahman", Email: "hafiz@melaka.gov.my"},
		account.ProfileUpdated{UserID: sitiIC, Email: "kewangan@melaka.gov.my"},
		bad,
	} {
		env := eventlog.Envelope{Record: eventlog.Record{ID: uuid.New(), Type: ev.EventType()}, Event: ev}
		if err := follower.Handle(ctx, env); err != nil {
			t.Fatalf("%s: %v", ev.EventType(), err)
		}
	}
	if got := len(f.events(f.accountStream(sitiIC))); got != n {
		t.Fatalf("%d account events appended, want none", got-n)
	}
	if len(f.events(f.accountStream(hafizIC))) != 0 {
		t.Fatal("an account stream was started for someone who never registered")
	}
	if got := follower.Handles(); !slices.Equal(got, []string{"employee.StaffUpdated.v1", "employee.StaffRecorded.v1"}) {
		t.Fatalf("handles %v", got)
	}

	// A rejoin: she left yesterday and HR records her again under another
	// name (the follower takes the name the master holds).
	f.ok(f.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: meta(eventlog.ActorClient, "finance-sync"), IC: sitiIC,
		Date: f.clock().Add(-24 * time.Hour).Format("2006-01-02"), Reason: "bersara"}))
	f.ok(f.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: meta(eventlog.ActorClient, "finance-sync"), Details: employee.Details{
		IC: sitiIC, Name: "Siti Aminah binti Omar Baki", Email: "siti.aminah@melaka.gov.my",
		Department: "Jabatan Kewangan", Post: "Pegawai Kewangan", StaffNumber: "JKPN-0042"}}))
	rejoined := f.lastEvent("employee-" + sitiIC)
	if rejoin, ok := rejoined.Event.(employee.StaffRecorded); !ok || rejoin.PreviousName != "Siti Aminah binti Omar" {
		t.Fatalf("rejoin %+v", rejoined.Event)
	}
	if err := follower.Handle(ctx, rejoined); err != nil {
		t.Fatal(err)
	}
	if ev, ok := f.lastEvent(f.accountStream(sitiIC)).Event.(account.NameFollowedMaster); !ok || ev.Name != "Siti Aminah binti Omar Baki" {
		t.Fatalf("rejoin under another name: %+v", f.lastEvent(f.accountStream(sitiIC)).Event)
	}

	run := func(m commands.Meta, ic, name string) error {
		_, err := f.h.FollowMasterName.Handle(ctx, commands.FollowMasterName{Meta: m, UserID: ic, Name: name})
		return err
	}
	if err := run(f.user(sitiIC), sitiIC, "Nama Sendiri"); !errors.Is(err, commands.ErrForbidden) {
		t.Fatalf("the person themself: %v, want ErrForbidden", err)
	}
	if err := run(meta(eventlog.ActorClient, "finance-sync"), sitiIC, "Nama Klien"); !errors.Is(err, commands.ErrForbidden) {
		t.Fatalf("a client: %v, want ErrForbidden", err)
	}
	var fe *employee.FieldError
	if err := run(meta(eventlog.ActorSystem, commands.NameFollowerName), sitiIC, "Nama\nBaris"); !errors.As(err, &fe) || fe.Field != "name" {
		t.Fatalf("a name with a line break: %v, want a field error on name", err)
	}
}

// Given Siti's account, when HR changes her name and her official e-mail
// in one update (a married name, a new mailbox), then the e-mail follower
// makes the name follow first, so its notice to the new address greets
// her by the new name; the name follower, handed the same change, appends
// nothing (the same command).
func TestEmailFollowerNamesTheNewNameWhenBothChange(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	f.ok(f.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: meta(eventlog.ActorClient, "finance-sync"), Details: employee.Details{
		IC: sitiIC, Name: "Siti Aminah binti Omar Baki", Email: "siti.baki@melaka.gov.my",
		Department: "Pejabat Daerah Melaka Tengah", Post: "Pegawai Kewangan", StaffNumber: "JKPN-0042",
	}}))
	change := f.lastEvent("employee-" + sitiIC)
	quiet := slog.New(slog.DiscardHandler)
	n := len(f.events(f.accountStream(sitiIC)))
	email := commands.EmailFollower{Follow: f.h.FollowMasterEmail, FollowName: &f.h.FollowMasterName, Log: quiet}
	if err := email.Handle(ctx, change); err != nil {
		t.Fatal(err)
	}
	names := commands.NameFollower{Follow: f.h.FollowMasterName, Log: quiet}
	if err := names.Handle(ctx, change); err != nil {
		t.Fatal(err)
	}
	evs := f.events(f.accountStream(sitiIC))[n:]
	if len(evs) != 3 {
		t.Fatalf("%d account events, want the name and the e-mail followed once each (and the temporary logins ended)", len(evs))
	}
	if evs[0].Event != (account.NameFollowedMaster{UserID: sitiIC, Name: "Siti Aminah binti Omar Baki", PreviousName: "Siti Aminah binti Omar"}) {
		t.Fatalf("first %+v", evs[0].Event)
	}
	if evs[1].Event != (account.EmailFollowedMaster{UserID: sitiIC, Email: "siti.baki@melaka.gov.my", PreviousEmail: "siti.aminah@melaka.gov.my", Name: "Siti Aminah binti Omar Baki"}) {
		t.Fatalf("the e-mail notice's event %+v, want it to name the new name", evs[1].Event)
	}
}

// Given Siti's account, when HR corrects her name twice in quick
// succession (A→B, then B→C together with a new mailbox) and the e-mail
// follower, which makes the name follow first, handles the second change
// before the name follower has reached the first, then the account ends
// on C, the master's name. Before, the name follower's late run of the
// first change put B back, and its run of the second was the e-mail
// follower's command already stored, so the account kept B for good and
// every mail greeted her by a name HR had corrected.
func TestNameFollowersInAnyOrderEndOnTheMastersName(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	details := employee.Details{IC: sitiIC, Name: "Siti Aminah binti Omar Baki", Email: "siti.aminah@melaka.gov.my",
		Department: "Pejabat Daerah Melaka Tengah", Post: "Pegawai Kewangan", StaffNumber: "JKPN-0042"}
	f.ok(f.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: meta(eventlog.ActorClient, "finance-sync"), Details: details}))
	first := f.lastEvent("employee-" + sitiIC)
	details.Name, details.Email = "Siti Aminah binti Omar Bakri", "siti.bakri@melaka.gov.my"
	f.ok(f.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: meta(eventlog.ActorClient, "finance-sync"), Details: details}))
	second := f.lastEvent("employee-" + sitiIC)

	quiet := slog.New(slog.DiscardHandler)
	email := commands.EmailFollower{Follow: f.h.FollowMasterEmail, FollowName: &f.h.FollowMasterName, Log: quiet}
	names := commands.NameFollower{Follow: f.h.FollowMasterName, Log: quiet}
	for _, step := range []struct {
		handle func(context.Context, eventlog.Envelope) error
		env    eventlog.Envelope
	}{{email.Handle, first}, {email.Handle, second}, {names.Handle, first}, {names.Handle, second}} {
		if err := step.handle(ctx, step.env); err != nil {
			t.Fatal(err)
		}
	}
	f.ok(f.h.ForgotPassword.Handle(ctx, commands.ForgotPassword{Meta: f.anon(), IC: sitiIC}))
	if tp, ok := f.lastEvent(f.accountStream(sitiIC)).Event.(account.TemporaryPasswordIssued); !ok || tp.Name != details.Name {
		t.Fatalf("Lupa Kata Laluan after both corrections greets %+v, want %q", f.lastEvent(f.accountStream(sitiIC)).Event, details.Name)
	}
}
