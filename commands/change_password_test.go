package commands_test

import (
	"context"
	"errors"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
)

func TestChangePassword(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	change := func(old, pw, confirm string) error {
		_, err := f.h.ChangePassword.Handle(ctx, commands.ChangePassword{Meta: f.user(sitiIC), UserID: sitiIC, OldPassword: old, NewPassword: pw, ConfirmPassword: confirm})
		return err
	}
	var fes account.FieldErrors
	if err := change(sitiPassword, "pendek", "pendek"); !errors.As(err, &fes) || fes[0].Code != "too_short" {
		t.Fatalf("short: %v", err)
	}
	if err := change(sitiPassword, "iloveyou123", "iloveyou123"); !errors.As(err, &fes) || fes[0].Code != "common" {
		t.Fatalf("common: %v", err)
	}
	if err := change("", "bunga raya merah", "bunga raya merah"); !errors.As(err, &fes) || fes[0].Field != "old_password" {
		t.Fatalf("no old password: %v", err)
	}
	if err := change("salah", "bunga raya merah", "bunga raya merah"); !errors.Is(err, account.ErrWrongPassword) {
		t.Fatalf("wrong old password: %v", err)
	}
	if err := change(sitiPassword, "bunga raya merah", "bunga raya merah"); err != nil {
		t.Fatal(err)
	}
	evs := f.events("account-" + sitiIC)
	if evs[len(evs)-2].Type != "account.PasswordChanged.v1" || evs[len(evs)-1].Event != (account.SessionsEnded{UserID: sitiIC, Reason: account.EndPasswordChanged}) {
		t.Fatalf("events %s, %s", evs[len(evs)-2].Type, evs[len(evs)-1].Type)
	}
	if _, err := f.logIn(sitiIC, sitiPassword); !errors.Is(err, account.ErrWrongPassword) {
		t.Fatalf("old password still works: %v", err)
	}
	if _, err := f.logIn(sitiIC, "bunga raya merah"); err != nil {
		t.Fatalf("new password: %v", err)
	}
}

func TestChangePasswordWrongOldPasswordLocks(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	var err error
	for i := 0; i < 3; i++ {
		_, err = f.h.ChangePassword.Handle(ctx, commands.ChangePassword{Meta: f.user(sitiIC), UserID: sitiIC, OldPassword: "salah", NewPassword: "bunga raya merah", ConfirmPassword: "bunga raya merah"})
	}
	if !errors.Is(err, account.ErrLocked) {
		t.Fatalf("third wrong old password: %v", err)
	}
	if _, err := f.logIn(sitiIC, sitiPassword); !errors.Is(err, account.ErrLocked) {
		t.Fatalf("login after lock: %v", err)
	}
}
