package commands_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/employee"
)

func TestStaffLeftService(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	left := func(ic, date string) error {
		_, err := f.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: f.system(), IC: ic, Date: date, Reason: "Bersara wajib"})
		return err
	}
	var fe *employee.FieldError
	for _, bad := range []string{"", "31/01/2026", "2026-02-30"} {
		if err := left(sitiIC, bad); !errors.As(err, &fe) || fe.Field != "date" {
			t.Fatalf("date %q: %v", bad, err)
		}
	}
	if err := left("12345", "2026-01-31"); !errors.As(err, &fe) || fe.Field != "ic" {
		t.Fatalf("bad IC: %v", err)
	}
	if err := left(sitiIC, "2026-01-31"); err != nil {
		t.Fatal(err)
	}
	if err := left(sitiIC, "2026-02-28"); !errors.Is(err, employee.ErrLeftService) {
		t.Fatalf("twice: %v", err)
	}
	if err := left(strangerIC, "2026-01-31"); !errors.Is(err, employee.ErrNotRecorded) {
		t.Fatalf("unknown: %v", err)
	}
	// She keeps her account: pay slips and annual statements still matter.
	if _, err := f.logIn(sitiIC, sitiPassword); err != nil {
		t.Fatalf("login after leaving service: %v", err)
	}
}

// Given someone who left on 3 March, when another date is reported under a
// client's request ID, then it is refused, naming 3 March, and the refusal
// is recorded under it; when they have since rejoined and the same request
// comes again, then it gets the same refusal, nothing is appended and they
// stay in service. Before, the resend made the rejoiner a leaver.
func TestRefusedLeavingDateIsRefusedAgainUnderItsRequestID(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	d := newStaff()
	f.ok(f.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: f.system(), Details: d}))
	f.ok(f.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: f.system(), IC: d.IC, Date: "2026-03-03", Reason: "Bersara"}))
	f.advance(48 * time.Hour)
	report := commands.StaffLeftService{Meta: f.system(), IC: d.IC, Date: "2026-04-30", Reason: "Meletak jawatan"}
	var lse *employee.LeftServiceError
	res, err := f.h.StaffLeftService.Handle(ctx, report)
	if !errors.As(err, &lse) || lse.On != "2026-03-03" || res.Appended != 1 {
		t.Fatalf("another date after leaving: %+v %v", res, err)
	}
	f.ok(f.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: f.system(), Details: d})) // rejoined
	stream := "employee-" + strangerIC
	before := f.types(stream)

	res, err = f.h.StaffLeftService.Handle(ctx, report)
	if !errors.As(err, &lse) || lse.On != "2026-03-03" || res.Appended != 0 {
		t.Fatalf("resent: %+v %v, want the first refusal", res, err)
	}
	want := []string{"employee.StaffRecorded.v1", "employee.StaffLeftService.v1", "employee.LeavingDateRefused.v1", "employee.StaffRecorded.v1"}
	if got := f.types(stream); !reflect.DeepEqual(got, want) || !reflect.DeepEqual(got, before) {
		t.Fatalf("events %v, want %v", got, want)
	}
}
