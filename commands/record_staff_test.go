package commands_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
)

func newStaff() employee.Details {
	return employee.Details{IC: "820304-10-5555", Name: "Lim Mei Ling", Email: "mei.ling@melaka.gov.my", Department: "Pejabat Tanah dan Galian", Post: "Penolong Pegawai Tanah", StaffNumber: "PTG-0310"}
}

func TestRecordStaff(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	res := f.ok(f.h.RecordStaff.Handle(ctx, commands.RecordStaff{Meta: meta(eventlog.ActorClient, "payroll"), Details: newStaff()}))
	if res.Appended != 1 {
		t.Fatalf("%+v", res)
	}
	evs := f.events("employee-" + strangerIC)
	if len(evs) != 1 || evs[0].Event.(employee.StaffRecorded).IC != strangerIC || evs[0].Metadata.Actor.ID != "payroll" {
		t.Fatalf("events %+v", evs)
	}
	if _, err := f.h.RecordStaff.Handle(ctx, commands.RecordStaff{Meta: f.system(), Details: newStaff()}); !errors.Is(err, employee.ErrAlreadyRecorded) {
		t.Fatalf("twice: %v", err)
	}
	// Now she can register.
	f.register(strangerIC, "mei.ling@melaka.gov.my")
}

func TestRecordStaffRefusals(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	before, _ := f.store.LastPosition(ctx)
	bad := employee.Details{IC: "820304-20-5555", Name: strings.Repeat("L", 10240), Email: "mei.ling@", Department: "PTG\x1b", Post: "", StaffNumber: "?"}
	_, err := f.h.RecordStaff.Handle(ctx, commands.RecordStaff{Meta: f.system(), Details: bad})
	var fes employee.FieldErrors
	if !errors.As(err, &fes) || len(fes) != 6 {
		t.Fatalf("bad record: %v", err)
	}
	for _, m := range []commands.Meta{f.user(sitiIC), f.anon(), meta(eventlog.ActorAdmin, sitiIC), meta(eventlog.ActorClient, "")} {
		if _, err := f.h.RecordStaff.Handle(ctx, commands.RecordStaff{Meta: m, Details: newStaff()}); !errors.Is(err, commands.ErrForbidden) {
			t.Fatalf("actor %+v: %v", m.Actor, err)
		}
	}
	if after, _ := f.store.LastPosition(ctx); after != before {
		t.Fatal("refused records appended events")
	}
}
