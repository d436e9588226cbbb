package commands_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/infra/security"
)

// enrolSiti activates Siti and enrols TOTP, returning the secret and the
// recovery codes.
func enrolSiti(t *testing.T, f *accts) (string, []string) {
	t.Helper()
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	enrol, _, err := f.h.EnrolTOTP.Enrol(ctx, commands.EnrolTOTP{Meta: f.user(sitiIC), UserID: sitiIC, CurrentPassword: sitiPassword})
	if err != nil {
		t.Fatal(err)
	}
	code, _ := security.TOTP{}.Code(enrol.Secret, f.clock())
	codes, _, err := f.h.ConfirmTOTP.Confirm(ctx, commands.ConfirmTOTP{Meta: f.user(sitiIC), UserID: sitiIC, Code: code})
	if err != nil {
		t.Fatal(err)
	}
	return enrol.Secret, codes
}

func TestConfirmTOTP(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	// No enrolment yet.
	if _, err := f.h.ConfirmTOTP.Handle(ctx, commands.ConfirmTOTP{Meta: f.user(sitiIC), UserID: sitiIC, Code: "123456"}); !errors.Is(err, account.ErrNoPendingEnrolment) {
		t.Fatalf("confirm without enrolment: %v", err)
	}
	enrol, _, err := f.h.EnrolTOTP.Enrol(ctx, commands.EnrolTOTP{Meta: f.user(sitiIC), UserID: sitiIC, CurrentPassword: sitiPassword})
	if err != nil {
		t.Fatal(err)
	}
	n := len(f.events("account-" + sitiIC))
	code, _ := security.TOTP{}.Code(enrol.Secret, f.clock())
	wrong := "000000"
	if wrong == code {
		wrong = "111111"
	}
	if _, err := f.h.ConfirmTOTP.Handle(ctx, commands.ConfirmTOTP{Meta: f.user(sitiIC), UserID: sitiIC, Code: wrong}); !errors.Is(err, account.ErrWrongCode) {
		t.Fatalf("wrong code: %v", err)
	}
	if len(f.events("account-"+sitiIC)) != n {
		t.Fatal("a wrong confirmation code was recorded")
	}
	codes, _, err := f.h.ConfirmTOTP.Confirm(ctx, commands.ConfirmTOTP{Meta: f.user(sitiIC), UserID: sitiIC, Code: code})
	if err != nil || len(codes) != 10 {
		t.Fatalf("confirm: %d codes, %v", len(codes), err)
	}
	evs := f.events("account-" + sitiIC)
	enabled := evs[len(evs)-1].Event.(account.TOTPEnabled)
	for i, c := range codes {
		if strings.Contains(string(evs[len(evs)-1].Data), c) || enabled.RecoveryCodeHashes[i] != f.keyed.RecoveryCodeHash(c) {
			t.Fatalf("recovery code %d stored wrongly", i)
		}
	}
	if enabled.Step != security.Step(f.clock()) {
		t.Fatalf("step %d", enabled.Step)
	}
	if _, err := f.h.EnrolTOTP.Handle(ctx, commands.EnrolTOTP{Meta: f.user(sitiIC), UserID: sitiIC, CurrentPassword: sitiPassword}); !errors.Is(err, account.ErrTOTPAlreadyEnabled) {
		t.Fatalf("enrol again: %v", err)
	}
}
