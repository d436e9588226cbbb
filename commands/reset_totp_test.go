package commands_test

import (
	"context"
	"errors"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
)

func TestResetTOTP(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.makeAdmin()
	enrolSiti(t, f)
	if _, err := f.h.ResetTOTP.Handle(ctx, commands.ResetTOTP{Meta: f.admin(), UserID: sitiIC, Reason: ""}); !errors.Is(err, account.ErrInvalid) {
		t.Fatalf("no reason: %v", err)
	}
	f.ok(f.h.ResetTOTP.Handle(ctx, commands.ResetTOTP{Meta: f.admin(), UserID: sitiIC, Reason: "telefon hilang; pemanggil disahkan"}))
	out, err := f.logIn(sitiIC, sitiPassword)
	if err != nil || out.SecondFactorRequired {
		t.Fatalf("login after TOTP reset: %+v %v", out, err)
	}
	if _, err := f.h.ResetTOTP.Handle(ctx, commands.ResetTOTP{Meta: f.admin(), UserID: sitiIC, Reason: "lagi"}); !errors.Is(err, account.ErrTOTPNotEnabled) {
		t.Fatalf("second reset: %v", err)
	}
}

// An administrator cannot reset their own second factor from the portal (a
// session taken over would trade the owner's authenticator for its own);
// another administrator can, and so can the console, which is how a sole
// administrator who lost both phone and recovery codes gets back in.
func TestAdministratorCannotResetTheirOwnTOTP(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.makeAdmin()
	n := len(f.events("account-" + adminIC))
	if _, err := f.h.ResetTOTP.Handle(ctx, commands.ResetTOTP{Meta: f.admin(), UserID: adminIC, Reason: "telefon hilang"}); !errors.Is(err, account.ErrOwnTOTP) {
		t.Fatalf("an administrator resetting their own TOTP: %v", err)
	}
	if len(f.events("account-"+adminIC)) != n {
		t.Fatal("a refused reset recorded something")
	}
	enrolSiti(t, f)
	f.ok(f.h.ResetTOTP.Handle(ctx, commands.ResetTOTP{Meta: f.system(), UserID: sitiIC, Reason: "telefon hilang; disahkan di kaunter"}))
	if out, err := f.logIn(sitiIC, sitiPassword); err != nil || out.SecondFactorRequired {
		t.Fatalf("login after the console's reset: %+v %v", out, err)
	}
}
