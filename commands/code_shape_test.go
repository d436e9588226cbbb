package commands_test

import (
	"context"
	"errors"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
)

// Given an account with TOTP and a login waiting for its code, when codes
// of the wrong shape are sent (five of them, more than the lock needs),
// then each is refused on the field and nothing counts: the right-shaped
// wrong codes after them are the first and second failures, and the third
// locks.
func TestSecondStepTyposDoNotCountTowardsTheLock(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	enrolSiti(t, f)
	if _, err := f.logIn(sitiIC, sitiPassword); err != nil {
		t.Fatal(err)
	}
	verify := func(code string) error {
		_, err := f.h.VerifyTOTP.Handle(ctx, commands.VerifyTOTP{Meta: f.user(sitiIC), UserID: sitiIC, Code: code})
		return err
	}
	replace := func(code string) error {
		_, err := f.h.ReplaceRecoveryCodes.Handle(ctx, commands.ReplaceRecoveryCodes{Meta: f.user(sitiIC), UserID: sitiIC, Code: code})
		return err
	}
	for _, typo := range []string{"12345", "1234567", "abcdef", "12 34 5", "١٢٣٤٥٦"} {
		for name, send := range map[string]func(string) error{"VerifyTOTP": verify, "ReplaceRecoveryCodes": replace} {
			var fe *account.FieldError
			if err := send(typo); !errors.As(err, &fe) || fe.Field != "code" || fe.Code != "totp_format" {
				t.Fatalf("%s %q: %v, want a totp_format field error", name, typo, err)
			}
		}
	}
	var fe *account.FieldError
	if err := verify("  "); !errors.As(err, &fe) || fe.Code != "required" {
		t.Fatalf("VerifyTOTP of spaces: %v, want required", err)
	}
	// "123 456" is how apps show a code: the shape is right (wrong code).
	for i, want := range []error{account.ErrWrongCode, account.ErrWrongCode, account.ErrLocked} {
		if err := verify("000 000"); !errors.Is(err, want) {
			t.Fatalf("wrong code %d: %v, want %v", i+1, err, want)
		}
	}
}
