package commands_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
)

func activationForm(pw string) account.ActivationForm {
	return account.ActivationForm{Password: pw, ConfirmPassword: pw, QuestionID: "haiwan-peliharaan", Answer: "  Comot ", ImageID: "wau-bulan", Phrase: "Pantai Tenang"}
}

func TestActivateAccount(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.register(sitiIC, "siti.aminah@melaka.gov.my")
	temp, _ := f.tempPassword(sitiIC)
	// Given a login with the temporary password,
	if _, err := f.logIn(sitiIC, temp); err != nil {
		t.Fatal(err)
	}
	// when Siti activates,
	f.ok(f.h.Activate.Handle(ctx, commands.ActivateAccount{Meta: f.user(sitiIC), UserID: sitiIC, Form: activationForm(sitiPassword)}))
	// then Activated holds hashes and the sealed phrase, nothing in clear,
	// and the account's other sessions end with it,
	evs := f.events("account-" + sitiIC)
	if end, ok := evs[len(evs)-1].Event.(account.SessionsEnded); !ok || end.Reason != account.EndActivated {
		t.Fatalf("last event %s, want the sessions ended by the activation", evs[len(evs)-1].Type)
	}
	act, ok := evs[len(evs)-2].Event.(account.Activated)
	if !ok {
		t.Fatalf("event before the last %s", evs[len(evs)-2].Type)
	}
	for _, secret := range []string{sitiPassword, "Comot", "comot", "Pantai Klebang"} {
		if strings.Contains(string(evs[len(evs)-2].Data), secret) {
			t.Fatalf("Activated carries %q in clear", secret)
		}
	}
	if ok, _ := f.hasher.Verify(ctx, "comot", act.SecretAnswerHash); !ok {
		t.Fatal("answer hash is not of the normalised answer")
	}
	phrase, err := f.sealer.Open(act.SealedPhrase, account.PhraseAAD(sitiIC))
	if err != nil || string(phrase) != "Pantai Tenang" {
		t.Fatalf("phrase %q %v", phrase, err)
	}
	// and the new password logs in and leads home.
	out, err := f.logIn(sitiIC, sitiPassword)
	if err != nil || out.MustActivate || out.MustChangePassword || out.SecondFactorRequired {
		t.Fatalf("login after activation: %+v %v", out, err)
	}
}

func TestActivateAccountRefusals(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.register(sitiIC, "siti.aminah@melaka.gov.my")
	activate := func(form account.ActivationForm) error {
		_, err := f.h.Activate.Handle(ctx, commands.ActivateAccount{Meta: f.user(sitiIC), UserID: sitiIC, Form: form})
		return err
	}
	// Without the temporary login first.
	if err := activate(activationForm(sitiPassword)); !errors.Is(err, account.ErrTemporaryLoginRequired) {
		t.Fatalf("activation before the temporary login: %v", err)
	}
	temp, _ := f.tempPassword(sitiIC)
	if _, err := f.logIn(sitiIC, temp); err != nil {
		t.Fatal(err)
	}
	n := len(f.events("account-" + sitiIC))
	// Bad forms name each field and change nothing.
	bad := account.ActivationForm{Password: "password1", ConfirmPassword: "password2", QuestionID: "x", Answer: strings.Repeat("j", 10240), ImageID: "x", Phrase: "a\nb"}
	err := activate(bad)
	var fes account.FieldErrors
	if !errors.As(err, &fes) || len(fes) != 5 {
		t.Fatalf("bad form: %v", err)
	}
	mismatch := activationForm(sitiPassword)
	mismatch.ConfirmPassword = sitiPassword + "!"
	if err := activate(mismatch); !errors.As(err, &fes) || fes[0].Field != "confirm_password" {
		t.Fatalf("mismatched confirmation: %v", err)
	}
	withIC := activationForm("ic saya " + sitiIC)
	if err := activate(withIC); !errors.As(err, &fes) || fes[0].Code != "contains_user_id" {
		t.Fatalf("password with the IC: %v", err)
	}
	if got := len(f.events("account-" + sitiIC)); got != n {
		t.Fatalf("bad forms appended %d events", got-n)
	}
	f.ok(f.h.Activate.Handle(ctx, commands.ActivateAccount{Meta: f.user(sitiIC), UserID: sitiIC, Form: activationForm(sitiPassword)}))
	if err := activate(activationForm(sitiPassword)); !errors.Is(err, account.ErrAlreadyActivated) {
		t.Fatalf("second activation: %v", err)
	}
	if _, err := f.h.Activate.Handle(ctx, commands.ActivateAccount{Meta: f.user(strangerIC), UserID: strangerIC, Form: activationForm(sitiPassword)}); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("unknown account: %v", err)
	}
}
