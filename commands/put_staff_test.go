package commands_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/employee"
)

func TestPutStaffIsAnIdempotentUpsert(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	d := newStaff()
	// The import's command IDs are the server's (Meta.FreshID).
	put := func(d employee.Details) commands.Result {
		m := f.system()
		m.FreshID = true
		return f.ok(f.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: m, Details: d}))
	}
	if res := put(d); res.Appended != 1 || res.NoChange {
		t.Fatalf("new: %+v", res)
	}
	if res := put(d); res.Appended != 0 {
		t.Fatalf("same again: %+v", res)
	}
	// Under a request ID the client chose, the same again records its
	// StaffUnchanged (so a resend of it stays a repeat), and says so.
	keyed := f.system()
	if res := f.ok(f.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: keyed, Details: d})); res.Appended != 1 || !res.NoChange {
		t.Fatalf("same again, client's ID: %+v", res)
	}
	if res := f.ok(f.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: keyed, Details: d})); res.Appended != 0 {
		t.Fatalf("same again, client's ID, resent: %+v", res)
	}
	d.Department = "Jabatan Ketua Menteri"
	if res := put(d); res.Appended != 1 {
		t.Fatalf("changed: %+v", res)
	}
	f.ok(f.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: f.system(), IC: d.IC, Date: "2026-02-01"}))
	if res := put(d); res.Appended != 1 {
		t.Fatalf("rejoined: %+v", res)
	}
	want := []string{"employee.StaffRecorded.v1", "employee.StaffUnchanged.v1", "employee.StaffUpdated.v1", "employee.StaffLeftService.v1", "employee.StaffRecorded.v1"}
	got := f.types("employee-" + strangerIC)
	if len(got) != len(want) {
		t.Fatalf("events %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %v", got)
		}
	}
}

// Given a leaving date ahead, the nightly import's put updates the record
// (the person is still in service) and the date stands; from the date on,
// a put records them again (rejoined).
func TestPutStaffBeforeTheLeavingDateUpdates(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	d := newStaff()
	f.ok(f.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: f.system(), Details: d}))
	f.ok(f.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: f.system(), IC: d.IC, Date: "2026-03-03", Reason: "Bersara"}))
	d.Post = "Pegawai Tanah"
	if res := f.ok(f.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: f.system(), Details: d})); res.Appended != 1 {
		t.Fatalf("put before the date: %+v", res)
	}
	// The same date again changes nothing: under an ID the server made it
	// appends nothing, under the client's only its LeavingDateUnchanged.
	fresh := f.system()
	fresh.FreshID = true
	if res, err := f.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: fresh, IC: d.IC, Date: "2026-03-03", Reason: "Bersara"}); err != nil || res.Appended != 0 {
		t.Fatalf("the leaving date after the put, fresh ID: %+v, %v, want it still recorded", res, err)
	}
	if res, err := f.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: f.system(), IC: d.IC, Date: "2026-03-03", Reason: "Bersara"}); err != nil || !res.NoChange {
		t.Fatalf("the leaving date after the put: %+v, %v, want it still recorded", res, err)
	}
	f.advance(15 * time.Hour)
	f.ok(f.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: f.system(), Details: d}))
	want := []string{"employee.StaffRecorded.v1", "employee.StaffLeftService.v1", "employee.StaffUpdated.v1", "employee.LeavingDateUnchanged.v1", "employee.StaffRecorded.v1"}
	if got := f.types("employee-" + strangerIC); !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}
