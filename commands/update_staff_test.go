package commands_test

import (
	"context"
	"errors"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/employee"
)

func TestUpdateStaff(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.makeAdmin()
	d := employee.Details{IC: sitiIC, Name: "Siti Aminah binti Omar", Email: "siti.aminah@melaka.gov.my", Department: "Jabatan Kewangan dan Perbendaharaan", Post: "Akauntan", StaffNumber: "JKPN-0042"}
	f.ok(f.h.UpdateStaff.Handle(ctx, commands.UpdateStaff{Meta: f.admin(), Details: d}))
	evs := f.events("employee-" + sitiIC)
	if up, ok := evs[len(evs)-1].Event.(employee.StaffUpdated); !ok || up.Post != "Akauntan" || evs[len(evs)-1].Metadata.Actor.ID != adminIC {
		t.Fatalf("event %+v", evs[len(evs)-1])
	}
	fresh := f.admin()
	fresh.FreshID = true
	if res, err := f.h.UpdateStaff.Handle(ctx, commands.UpdateStaff{Meta: fresh, Details: d}); err != nil || res.Appended != 0 {
		t.Fatalf("unchanged update: %+v %v", res, err)
	}
	d.IC = strangerIC
	if _, err := f.h.UpdateStaff.Handle(ctx, commands.UpdateStaff{Meta: f.admin(), Details: d}); !errors.Is(err, employee.ErrNotRecorded) {
		t.Fatalf("unknown staff: %v", err)
	}
}
