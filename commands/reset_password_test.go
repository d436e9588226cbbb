package commands_test

import (
	"context"
	"errors"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
)

func TestResetPasswordAfterTemporaryLogin(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	reset := func() error {
		_, err := f.h.ResetPassword.Handle(ctx, commands.ResetPassword{Meta: f.user(sitiIC), UserID: sitiIC, NewPassword: "bunga raya merah", ConfirmPassword: "bunga raya merah"})
		return err
	}
	// Not without a temporary login.
	if err := reset(); !errors.Is(err, account.ErrTemporaryLoginRequired) {
		t.Fatalf("reset without temporary login: %v", err)
	}
	f.ok(f.h.ForgotPassword.Handle(ctx, commands.ForgotPassword{Meta: f.anon(), IC: sitiIC}))
	temp, _ := f.tempPassword(sitiIC)
	if _, err := f.logIn(sitiIC, temp); err != nil {
		t.Fatal(err)
	}
	if err := reset(); err != nil {
		t.Fatal(err)
	}
	evs := f.events("account-" + sitiIC)
	if pc, ok := evs[len(evs)-2].Event.(account.PasswordChanged); !ok || pc.Via != account.ViaReset {
		t.Fatalf("event %+v", evs[len(evs)-2].Event)
	}
	if _, err := f.logIn(sitiIC, "bunga raya merah"); err != nil {
		t.Fatal(err)
	}
	// Once only.
	if err := reset(); !errors.Is(err, account.ErrTemporaryLoginRequired) {
		t.Fatalf("second reset: %v", err)
	}
}

// The temporary password was hashed with the old password's salt
// (HashSharingSalt): the check of the new password against it must refuse
// only the temporary password itself, not another password that shares its
// salt, such as the old one typed again.
func TestResetRefusesOnlyTheTemporaryPasswordNotOneSharingItsSalt(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	f.ok(f.h.ForgotPassword.Handle(ctx, commands.ForgotPassword{Meta: f.anon(), IC: sitiIC}))
	temp, _ := f.tempPassword(sitiIC)
	if _, err := f.logIn(sitiIC, temp); err != nil {
		t.Fatal(err)
	}
	reset := func(pw string) error {
		_, err := f.h.ResetPassword.Handle(ctx, commands.ResetPassword{Meta: f.user(sitiIC), UserID: sitiIC, NewPassword: pw, ConfirmPassword: pw})
		return err
	}
	var fe account.FieldErrors
	if err := reset(temp); !errors.As(err, &fe) || fe[0].Code != "same_as_temporary" {
		t.Fatalf("the temporary password as the new one: %v", err)
	}
	if err := reset(sitiPassword); err != nil {
		t.Fatalf("the old password, which shares the temporary one's salt: %v", err)
	}
	if _, err := f.logIn(sitiIC, sitiPassword); err != nil {
		t.Fatal(err)
	}
}
