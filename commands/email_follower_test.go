package commands_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// lastEvent is the last event of stream.
func (f *accts) lastEvent(stream string) eventlog.Envelope {
	f.t.Helper()
	evs := f.events(stream)
	if len(evs) == 0 {
		f.t.Fatalf("%s is empty", stream)
	}
	return evs[len(evs)-1]
}

// Given Siti's account on the master's address, when the finance system
// moves her to the department's new mailbox and the follower is handed
// that StaffUpdated — twice, as an at-least-once delivery may — then her
// account follows once, with the system as actor and the master change's
// correlation ID; and a redelivery after she went back to her old address
// herself appends nothing (the event's command ran already).
func TestEmailFollowerFollowsAMasterChangeOnce(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	put := meta(eventlog.ActorClient, "finance-sync")
	f.ok(f.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: put, Details: employee.Details{
		IC: sitiIC, Name: "Siti Aminah binti Omar", Email: "kewangan.tengah@melaka.gov.my", Department: "Pejabat Daerah Melaka Tengah", Post: "Pegawai Kewangan", StaffNumber: "JKPN-0042",
	}}))
	change := f.lastEvent("employee-" + sitiIC)
	if ev, ok := change.Event.(employee.StaffUpdated); !ok || ev.PreviousEmail != "siti.aminah@melaka.gov.my" {
		t.Fatalf("master change %+v", change.Event)
	}
	follower := commands.EmailFollower{Follow: f.h.FollowMasterEmail, Log: slog.New(slog.DiscardHandler)}
	n := len(f.events(f.accountStream(sitiIC)))
	for range 2 {
		if err := follower.Handle(ctx, change); err != nil {
			t.Fatal(err)
		}
	}
	evs := f.events(f.accountStream(sitiIC))
	if len(evs) != n+2 {
		t.Fatalf("%d account events appended, want 2 (the e-mail followed, the temporary logins ended)", len(evs)-n)
	}
	got := evs[n]
	if got.Event != (account.EmailFollowedMaster{UserID: sitiIC, Email: "kewangan.tengah@melaka.gov.my", PreviousEmail: "siti.aminah@melaka.gov.my", Name: "Siti Aminah binti Omar"}) {
		t.Fatalf("account event %+v", got.Event)
	}
	if got.Metadata.Actor != commands.EmailFollowerActor || got.Metadata.CorrelationID != put.CorrelationID ||
		got.Metadata.CausationID != commands.FollowCommandID(change.ID).String() {
		t.Fatalf("metadata %+v", got.Metadata)
	}

	// Siti then goes back to her old address herself; the same master
	// change delivered once more is still the command that already ran
	// (its ID derives from the event's): her choice stands.
	f.ok(f.h.UpdateProfile.Handle(ctx, commands.UpdateProfile{Meta: f.user(sitiIC), UserID: sitiIC,
		Profile: account.Profile{Email: "siti.aminah@melaka.gov.my"}, CurrentPassword: sitiPassword}))
	n = len(f.events(f.accountStream(sitiIC)))
	if err := follower.Handle(ctx, change); err != nil {
		t.Fatal(err)
	}
	if evs := f.events(f.accountStream(sitiIC)); len(evs) != n {
		t.Fatalf("a late redelivery appended %s over the owner's own choice", evs[len(evs)-1].Type)
	}
}

// The follower acts only on an update that changed the e-mail and named
// the address before: other updates, events stored before previous_email
// was kept and other types change nothing; an event naming no valid
// person is passed over (nil: a retry could not make it usable).
func TestEmailFollowerLeavesOtherEventsAlone(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	n := len(f.events(f.accountStream(sitiIC)))
	follower := commands.EmailFollower{Follow: f.h.FollowMasterEmail, Log: slog.New(slog.DiscardHandler)}
	old := employee.StaffUpdated{IC: sitiIC, Name: "Siti Aminah binti Omar", Email: "kewangan@melaka.gov.my", Department: "Jabatan Kewangan", Post: "Pegawai Kewangan", StaffNumber: "JKPN-0042"}
	bad := old
	bad.IC, bad.PreviousEmail = "000000000000", "siti.aminah@melaka.gov.my"
	for _, ev := range []eventlog.Event{
		old, // stored before previous_email: not followed
		employee.StaffRecorded{IC: sitiIC, Email: "kewangan@melaka.gov.my"},
		account.ProfileUpdated{UserID: sitiIC, Email: "kewangan@melaka.gov.my", PreviousEmail: "siti.aminah@melaka.gov.my"},
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
	if got := follower.Handles(); !slices.Equal(got, []string{"employee.StaffUpdated.v1", "employee.StaffRecorded.v1"}) {
		t.Fatalf("handles %v", got)
	}
}

// TestEmailFollowerFollowsARejoinAtAnotherAddress: someone who left
// service and is recorded again (a rejoin) at another official address is
// followed as an update is; a first record is not (see above).
func TestEmailFollowerFollowsARejoinAtAnotherAddress(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	first := f.events("employee-" + sitiIC)[0].Event.(employee.StaffRecorded)
	f.ok(f.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: f.system(), IC: sitiIC, Date: "2025-12-31", Reason: "Meletak jawatan"}))
	back := employee.Details{IC: sitiIC, Name: first.Name, Email: "kewangan.baru@melaka.gov.my", Department: first.Department, Post: first.Post, StaffNumber: first.StaffNumber}
	f.ok(f.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: f.system(), Details: back}))
	rejoin := f.lastEvent("employee-" + sitiIC)
	if ev, ok := rejoin.Event.(employee.StaffRecorded); !ok || ev.PreviousEmail != "siti.aminah@melaka.gov.my" {
		t.Fatalf("the rejoin %+v, want StaffRecorded naming the address before", rejoin.Event)
	}
	follower := commands.EmailFollower{Follow: f.h.FollowMasterEmail, Log: slog.New(slog.DiscardHandler)}
	if err := follower.Handle(ctx, rejoin); err != nil {
		t.Fatal(err)
	}
	evs := f.events(f.accountStream(sitiIC))
	got := evs[len(evs)-2].Event
	if got != (account.EmailFollowedMaster{UserID: sitiIC, Email: "kewangan.baru@melaka.gov.my", PreviousEmail: "siti.aminah@melaka.gov.my", Name: "Siti Aminah binti Omar"}) {
		t.Fatalf("account event %+v, want the e-mail followed to the rejoin's address", got)
	}
}
