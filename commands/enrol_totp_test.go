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
	enrol, res, err := f.h.EnrolTOTP.Enrol(ctx, commands.EnrolTOTP{Meta: f.user(sitiIC), UserID: sitiIC})
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
	if _, err := f.h.EnrolTOTP.Handle(ctx, commands.EnrolTOTP{Meta: f.user(nurulIC), UserID: nurulIC}); !errors.Is(err, account.ErrNotActivated) {
		t.Fatalf("enrol before activation: %v", err)
	}
}
