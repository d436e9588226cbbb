package commands_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
)

func TestUpdateProfile(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	update := func(p account.Profile, pw string) (commands.Result, error) {
		return f.h.UpdateProfile.Handle(ctx, commands.UpdateProfile{Meta: f.user(sitiIC), UserID: sitiIC, Profile: p, CurrentPassword: pw})
	}
	p := account.Profile{Phone: "06-230 7290", Office: "Aras 3, Blok Temenggong, Seri Negeri", Email: "siti.aminah@melaka.gov.my"}
	if _, err := update(p, ""); err != nil {
		t.Fatal(err)
	}
	evs := f.events("account-" + sitiIC)
	if evs[len(evs)-1].Event != (account.ProfileUpdated{UserID: sitiIC, Phone: p.Phone, Office: p.Office, Email: p.Email, Name: "Siti Aminah binti Omar"}) {
		t.Fatalf("event %+v", evs[len(evs)-1].Event)
	}
	// Unchanged: nothing.
	if res, err := update(p, ""); err != nil || res.Appended != 0 {
		t.Fatalf("unchanged: %+v %v", res, err)
	}
	// An e-mail change needs the current password and an allowed domain.
	p.Email = "siti@jkr.melaka.gov.my"
	var fes account.FieldErrors
	if _, err := update(p, ""); !errors.As(err, &fes) || fes[0].Field != "current_password" {
		t.Fatalf("without password: %v", err)
	}
	if _, err := update(p, "salah"); !errors.Is(err, account.ErrWrongPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := update(p, sitiPassword); err != nil {
		t.Fatal(err)
	}
	evs = f.events("account-" + sitiIC)
	if ev, ok := evs[len(evs)-1].Event.(account.ProfileUpdated); !ok || ev.Email != p.Email || ev.PreviousEmail != "siti.aminah@melaka.gov.my" {
		t.Fatalf("e-mail change: %+v", evs[len(evs)-1].Event)
	}
	bad := account.Profile{Phone: "telefon saya", Office: strings.Repeat("x", 10240), Email: "siti@yahoo.com"}
	n := len(f.events("account-" + sitiIC))
	if _, err := update(bad, sitiPassword); !errors.As(err, &fes) || len(fes) != 3 {
		t.Fatalf("bad profile: %v", err)
	}
	if len(f.events("account-"+sitiIC)) != n {
		t.Fatal("bad profile appended events")
	}
}
