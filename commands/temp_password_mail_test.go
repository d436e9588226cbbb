package commands_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
)

// TestTempPasswordMailCheck: given a registration, when the mailer asks
// just before sending its temporary password, then it may go while it is
// the account's unexpired password for the account's address (in any
// case); not to another address, not once a newer one replaced it, not
// once it expired; an unknown account or a malformed user ID is an error.
// The check records nothing.
func TestTempPasswordMailCheck(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	const email = "pentadbiran.jkr@melaka.gov.my"
	f.register(nurulIC, email)
	_, first := f.tempPassword(nurulIC)
	check := func(tempID, to string, at time.Time) error {
		return f.h.TempPasswordMail.Check(ctx, nurulIC, tempID, to, at)
	}
	now := f.clock()
	for _, to := range []string{email, "Pentadbiran.JKR@melaka.gov.my", ""} {
		if err := check(first.TempID, to, now.Add(time.Hour)); err != nil {
			t.Fatalf("check of the current password to %q: %v", to, err)
		}
	}
	if err := check(first.TempID, "lain@melaka.gov.my", now.Add(time.Hour)); !errors.Is(err, account.ErrMailAddressLeft) {
		t.Fatalf("to another address: %v, want ErrMailAddressLeft", err)
	}
	if err := check(first.TempID, email, first.ExpiresAt); !errors.Is(err, account.ErrMailExpired) {
		t.Fatalf("at its expiry: %v, want ErrMailExpired", err)
	}
	before := len(f.events(f.accountStream(nurulIC)))
	f.makeAdmin()
	f.ok(f.h.IssueTemporaryPassword.Handle(ctx, commands.IssueTemporaryPassword{Meta: f.admin(), UserID: nurulIC}))
	if err := check(first.TempID, email, now.Add(time.Hour)); !errors.Is(err, account.ErrMailSuperseded) {
		t.Fatalf("after a newer one: %v, want ErrMailSuperseded", err)
	}
	if n := len(f.events(f.accountStream(nurulIC))); n != before+1 {
		t.Fatalf("%d events, want %d: the checks recorded something", n, before+1)
	}
	if err := f.h.TempPasswordMail.Check(ctx, sitiIC, first.TempID, email, now); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("unknown account: %v, want ErrNotFound", err)
	}
	var fe *account.FieldError
	if err := f.h.TempPasswordMail.Check(ctx, "12345", first.TempID, email, now); !errors.As(err, &fe) || fe.Field != "user_id" {
		t.Fatalf("malformed user ID: %v, want a user_id field error", err)
	}
}
