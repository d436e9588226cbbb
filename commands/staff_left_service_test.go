package commands_test

import (
	"context"
	"errors"
	"testing"

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
