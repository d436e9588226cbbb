package commands_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
)

func TestEnrolTOTP(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	enrol, res, err := f.h.EnrolTOTP.Enrol(ctx, commands.EnrolTOTP{Meta: f.user(sitiIC), UserID: sitiIC, CurrentPassword: sitiPassword})
	if err != nil || res.Appended != 1 {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enrol.URL, "otpauth://totp/") || strings.Contains(enrol.URL, sitiIC) || len(enrol.Secret) < 32 {
		t.Fatalf("enrolment %+v", enrol)
	}
	evs := f.events("account-" + sitiIC)
	started, ok := evs[len(evs)-1].Event.(account.TOTPEnrolmentStarted)
	if !ok || strings.Contains(string(evs[len(evs)-1].Data), enrol.Secret) {
		t.Fatalf("event %s carries the secret in clear or is wrong", evs[len(evs)-1].Type)
	}
	secret, err := f.sealer.Open(started.SealedSecret, account.TOTPSecretAAD(sitiIC))
	if err != nil || string(secret) != enrol.Secret {
		t.Fatalf("sealed secret %v", err)
	}
	// Not before activation.
	f.register(nurulIC, "pentadbiran.jkr@melaka.gov.my")
	if _, err := f.h.EnrolTOTP.Handle(ctx, commands.EnrolTOTP{Meta: f.user(nurulIC), UserID: nurulIC, CurrentPassword: "kata laluan sementara"}); !errors.Is(err, account.ErrNotActivated) {
		t.Fatalf("enrol before activation: %v", err)
	}
}

// A session alone does not enrol an authenticator (a stolen one would then
// hold the account): the current password must come with it; none is a
// field error that records nothing, a wrong one is a counted failure.
func TestEnrolTOTPNeedsTheCurrentPassword(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	n := len(f.events("account-" + sitiIC))
	for _, pw := range []string{"", strings.Repeat("p", 10240)} {
		_, _, err := f.h.EnrolTOTP.Enrol(ctx, commands.EnrolTOTP{Meta: f.user(sitiIC), UserID: sitiIC, CurrentPassword: pw})
		var fes account.FieldErrors
		if !errors.As(err, &fes) || fes[0].Field != "current_password" {
			t.Fatalf("enrol with password of %d bytes: %v, want a current_password field error", len(pw), err)
		}
	}
	if len(f.events("account-"+sitiIC)) != n {
		t.Fatal("a refused enrolment recorded something")
	}
	if _, _, err := f.h.EnrolTOTP.Enrol(ctx, commands.EnrolTOTP{Meta: f.user(sitiIC), UserID: sitiIC, CurrentPassword: "bukan kata laluan"}); !errors.Is(err, account.ErrWrongPassword) {
		t.Fatalf("enrol with a wrong password: %v", err)
	}
	evs := f.events("account-" + sitiIC)
	if lf, ok := evs[len(evs)-1].Event.(account.LoginFailed); !ok || lf.Reason != account.FailWrongCurrentPassword {
		t.Fatalf("wrong password recorded as %s", evs[len(evs)-1].Type)
	}
	f.ok(f.h.EnrolTOTP.Handle(ctx, commands.EnrolTOTP{Meta: f.user(sitiIC), UserID: sitiIC, CurrentPassword: sitiPassword}))
}
