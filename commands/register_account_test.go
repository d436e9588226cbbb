package commands_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
)

func TestRegisterAccount(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	// Given Siti in the master, when she registers with her official
	// e-mail (typed with capitals and dashes in the IC),
	res, err := f.h.Register.Handle(ctx, commands.RegisterAccount{Meta: f.anon(), IC: "791117-04-5671", Email: " Siti.Aminah@Melaka.gov.my "})
	if err != nil {
		t.Fatal(err)
	}
	// then the account is registered and a temporary password issued.
	if got := f.types("account-" + sitiIC); !reflect.DeepEqual(got, []string{"account.Registered.v1", "account.TemporaryPasswordIssued.v1"}) {
		t.Fatalf("events %v", got)
	}
	if res.Position == 0 || res.Appended != 2 {
		t.Fatalf("result %+v", res)
	}
	temp, ev := f.tempPassword(sitiIC)
	if len(temp) != 14 || ev.Reason != account.TempRegistration || ev.Name != "Siti Aminah binti Omar" || ev.Email != "siti.aminah@melaka.gov.my" || ev.UserID != sitiIC {
		t.Fatalf("temporary password %q, event %+v", temp, ev)
	}
	if !ev.ExpiresAt.Equal(acctT0.Add(24*time.Hour)) || !ev.IssuedAt.Equal(acctT0) {
		t.Fatalf("expiry %v", ev.ExpiresAt)
	}
	// The clear password is in no stored byte.
	for _, env := range f.events("account-" + sitiIC) {
		if strings.Contains(string(env.Data), temp) {
			t.Fatalf("%s carries the temporary password in clear", env.Type)
		}
	}
	if ok, err := f.hasher.Verify(ctx, temp, ev.Hash); !ok || err != nil {
		t.Fatal("stored hash does not verify the mailed password")
	}
}

func TestRegisterSharedMailboxNamesEachPerson(t *testing.T) {
	f := newAccts(t)
	f.register(nurulIC, "pentadbiran.jkr@melaka.gov.my")
	f.register(hafizIC, "pentadbiran.jkr@melaka.gov.my")
	_, a := f.tempPassword(nurulIC)
	_, b := f.tempPassword(hafizIC)
	if a.Name == b.Name || a.UserID == b.UserID || a.Email != b.Email {
		t.Fatalf("shared mailbox events %+v / %+v", a, b)
	}
}

func TestRegisterRefusals(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.ok(f.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: f.system(), IC: hafizIC, Date: "2026-01-31", Reason: "bersara"}))
	before, _ := f.store.LastPosition(ctx)
	cases := []struct {
		name, ic, email string
		want            error
		field           string
	}{
		{"not in the master", strangerIC, "orang.luar@melaka.gov.my", account.ErrNotRegistrable, ""},
		{"e-mail is not the master's", sitiIC, "siti@melaka.gov.my", account.ErrNotRegistrable, ""},
		{"left service", hafizIC, "pentadbiran.jkr@melaka.gov.my", account.ErrNotRegistrable, ""},
		{"e-mail outside the allowed domains", sitiIC, "siti.aminah@gmail.com", account.ErrInvalid, "email"},
		{"malformed IC", "791117-04-567", "siti.aminah@melaka.gov.my", account.ErrInvalid, "ic"},
		{"invalid place code", "791117-00-5671", "siti.aminah@melaka.gov.my", account.ErrInvalid, "ic"},
		{"10 kB e-mail", sitiIC, strings.Repeat("a", 10240) + "@melaka.gov.my", account.ErrInvalid, "email"},
		{"control characters", sitiIC, "siti.aminah@melaka.gov.my\x00", account.ErrInvalid, "email"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.h.Register.Handle(ctx, commands.RegisterAccount{Meta: f.anon(), IC: c.ic, Email: c.email})
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			var fe *account.FieldError
			if c.field != "" && (!errors.As(err, &fe) || fe.Field != c.field) {
				t.Fatalf("field error %v, want field %s", err, c.field)
			}
			if n, _ := f.store.LastPosition(ctx); n != before {
				t.Fatalf("something was appended: last position %d", n)
			}
		})
	}
}

func TestRegisterTwice(t *testing.T) {
	f := newAccts(t)
	f.register(sitiIC, "siti.aminah@melaka.gov.my")
	_, err := f.h.Register.Handle(context.Background(), commands.RegisterAccount{Meta: f.anon(), IC: sitiIC, Email: "siti.aminah@melaka.gov.my"})
	if !errors.Is(err, account.ErrAlreadyRegistered) {
		t.Fatalf("second registration: %v", err)
	}
	if n := len(f.events("account-" + sitiIC)); n != 2 {
		t.Fatalf("%d events after a refused registration", n)
	}
}

// Someone whose leaving date is ahead is still in service and may
// register; once the date has begun in Melaka, they may not.
func TestRegisterUntilTheLeavingDate(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	for _, ic := range []string{hafizIC, nurulIC} {
		f.ok(f.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: f.system(), IC: ic, Date: "2026-03-03", Reason: "bersara"}))
	}
	if res := f.ok(f.h.Register.Handle(ctx, commands.RegisterAccount{Meta: f.anon(), IC: hafizIC, Email: "pentadbiran.jkr@melaka.gov.my"})); res.Appended == 0 {
		t.Fatal("registration before the leaving date recorded nothing")
	}
	f.advance(15 * time.Hour)
	if _, err := f.h.Register.Handle(ctx, commands.RegisterAccount{Meta: f.anon(), IC: nurulIC, Email: "pentadbiran.jkr@melaka.gov.my"}); !errors.Is(err, account.ErrNotRegistrable) {
		t.Fatalf("registration on the leaving date: %v", err)
	}
}
