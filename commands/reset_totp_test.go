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
