package account

import (
	"errors"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// forgotWithTOTP is an account with TOTP on whose owner (or whoever reads
// their mailbox, which may be shared) was sent a temporary password.
func forgotWithTOTP() []eventlog.Event {
	return with(totpOn(),
		TemporaryPasswordIssued{UserID: id, TempID: "t2", Hash: hash("temp2"), Sealed: "sealed-temp2", IssuedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), Reason: TempForgot})
}

// Given an account with TOTP on and a temporary password mailed, when
// someone types the temporary password but never gives the second factor,
// then the current password still works: the temporary password is not
// used until the login it began is complete, or anyone who can read a
// shared mailbox could take a TOTP user's password away without their
// authenticator.
func TestTemporaryPasswordWithoutTheSecondFactorKeepsTheCurrentPassword(t *testing.T) {
	a := given(t, forgotWithTOTP())
	out, err := a.LogIn(typed("temp2", nil), 3, t0.Add(time.Minute))
	if err != nil || !out.Temporary || !out.SecondFactorRequired {
		t.Fatalf("temporary password: %+v, %v", out, err)
	}
	b := given(t, with(forgotWithTOTP(), a.Uncommitted()...))
	out, err = b.LogIn(typed("correct horse", nil), 3, t0.Add(2*time.Minute))
	if err != nil || out.Temporary || out.MustChangePassword {
		t.Fatalf("current password after the temporary one was typed without its code: %+v, %v", out, err)
	}
	// The owner completes their own login; the new-password page is not
	// theirs to reach.
	c := given(t, with(with(forgotWithTOTP(), a.Uncommitted()...), b.Uncommitted()...))
	if err := c.VerifyTOTP(codeAt(101, true), 3, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := c.ResetPassword(NewPassword{Hash: hash("new password")}, t0.Add(2*time.Minute)); !errors.Is(err, ErrTemporaryLoginRequired) {
		t.Fatalf("reset after a login with the current password: %v", err)
	}
}

// Given a login with a temporary password awaiting its code, when the code
// given at its code step is accepted (TOTP or recovery code), then the temporary password is used:
// the old password no longer works, the temporary one works no more, and a
// new password is due.
func TestTemporaryPasswordIsUsedOnceTheSecondFactorIsGiven(t *testing.T) {
	for name, code := range map[string]eventlog.Event{
		"totp":     TOTPCodeAccepted{UserID: id, Step: 101},
		"recovery": RecoveryCodeUsed{UserID: id, Index: 0},
	} {
		a := given(t, with(forgotWithTOTP(),
			LoginSucceeded{UserID: id, Temporary: true, TempID: "t2", SecondFactorRequired: true, At: t0.Add(time.Minute)}, code))
		if _, err := a.LogIn(typed("correct horse", nil), 3, t0.Add(2*time.Minute)); !errors.Is(err, ErrWrongPassword) {
			t.Fatalf("%s: old password after the temporary login completed: %v", name, err)
		}
		b := given(t, with(forgotWithTOTP(),
			LoginSucceeded{UserID: id, Temporary: true, TempID: "t2", SecondFactorRequired: true, At: t0.Add(time.Minute)}, code))
		if _, err := b.LogIn(typed("temp2", nil), 3, t0.Add(2*time.Minute)); !errors.Is(err, ErrWrongPassword) {
			t.Fatalf("%s: temporary password a second time: %v", name, err)
		}
		c := given(t, with(forgotWithTOTP(),
			LoginSucceeded{UserID: id, Temporary: true, TempID: "t2", SecondFactorRequired: true, At: t0.Add(time.Minute)}, code))
		// The new password cannot be the temporary one the login used.
		var fe FieldErrors
		if err := c.ResetPassword(NewPassword{Hash: hash("temp2"), Typed: typed("temp2", nil)}, t0.Add(2*time.Minute)); !errors.As(err, &fe) || fe[0].Code != "same_as_temporary" {
			t.Fatalf("%s: the temporary password as the new one: %v", name, err)
		}
		if err := c.ResetPassword(NewPassword{Hash: hash("new password"), Typed: typed("new password", nil)}, t0.Add(2*time.Minute)); err != nil {
			t.Fatalf("%s: reset after the temporary login completed: %v", name, err)
		}
	}
}

// A temporary password issued while the temporary login awaited its code
// (an administrator's, say) is not the one that login used: the code does
// not cancel it, as Activated and PasswordChanged do.
func TestTheSecondFactorCancelsOnlyTheTemporaryPasswordItsLoginUsed(t *testing.T) {
	a := given(t, with(forgotWithTOTP(),
		LoginSucceeded{UserID: id, Temporary: true, TempID: "t2", SecondFactorRequired: true, At: t0.Add(time.Minute)},
		TemporaryPasswordIssued{UserID: id, TempID: "t3", Hash: hash("temp3"), Sealed: "sealed-temp3", IssuedAt: t0.Add(2 * time.Minute), ExpiresAt: t0.Add(24 * time.Hour), Reason: TempAdmin},
		TOTPCodeAccepted{UserID: id, Step: 101}))
	if err := a.TempPasswordMailWorks("t3", "", t0.Add(3*time.Minute)); err != nil {
		t.Fatalf("the later temporary password after the code: %v", err)
	}
}

// Given the owner past her password and awaiting her code, when someone
// types the mailed temporary password in between (the password step of a
// temporary login counts no failure, so it can be sent again and again),
// then the owner's code completes her own login: her password stays. Only
// a code given for the temporary login uses the temporary password.
func TestTheOwnersCodeDoesNotCompleteATemporaryLoginBegunMeanwhile(t *testing.T) {
	interleaved := with(forgotWithTOTP(),
		LoginSucceeded{UserID: id, SecondFactorRequired: true, At: t0.Add(time.Minute)},
		LoginSucceeded{UserID: id, Temporary: true, TempID: "t2", SecondFactorRequired: true, At: t0.Add(2 * time.Minute)})
	for name, run := range map[string]func(*Account) error{
		"totp":     func(a *Account) error { return a.VerifyTOTP(codeAt(101, true), 3, t0.Add(3*time.Minute)) },
		"recovery": func(a *Account) error { return a.UseRecoveryCode(hash("rca"), 3, t0.Add(3*time.Minute)) },
	} {
		a := given(t, interleaved)
		if err := run(a); err != nil {
			t.Fatalf("%s: the owner's code: %v", name, err)
		}
		b := given(t, with(interleaved, a.Uncommitted()...))
		if _, err := b.LogIn(typed("correct horse", nil), 3, t0.Add(4*time.Minute)); err != nil {
			t.Fatalf("%s: her password after her own code: %v", name, err)
		}
	}
	a := given(t, interleaved)
	then(t, a, a.VerifyTOTP(codeAt(101, true), 3, t0.Add(3*time.Minute)), nil, TOTPCodeAccepted{UserID: id, Step: 101, PasswordKept: true})
	// The temporary login's own code, had it come first, uses it.
	c := given(t, interleaved)
	then(t, c, c.VerifyTOTPAfterTemporary(codeAt(101, true), 3, t0.Add(3*time.Minute)), nil, TOTPCodeAccepted{UserID: id, Step: 101})
	if err := given(t, with(interleaved, c.Uncommitted()...)).ResetPassword(NewPassword{Hash: hash("new password"), Typed: typed("new password", nil)}, t0.Add(3*time.Minute)); err != nil {
		t.Fatalf("reset after the temporary login's code: %v", err)
	}
}

// Given a temporary login awaiting its code and a temporary password
// issued meanwhile (an administrator's, or Lupa Kata Laluan again after
// the cooldown), when the login's code is accepted, then the new password
// still cannot be the temporary password that login used: it was mailed,
// and kept as the password it would go on working for whoever read it.
func TestTheNewPasswordIsNotTheTemporaryOneWhenAnotherWasIssuedBeforeTheCode(t *testing.T) {
	for name, code := range map[string]eventlog.Event{
		"totp":     TOTPCodeAccepted{UserID: id, Step: 101},
		"recovery": RecoveryCodeUsed{UserID: id, Index: 0},
	} {
		a := given(t, with(forgotWithTOTP(),
			LoginSucceeded{UserID: id, Temporary: true, TempID: "t2", SecondFactorRequired: true, At: t0.Add(time.Minute)},
			TemporaryPasswordIssued{UserID: id, TempID: "t3", Hash: hash("temp3"), Sealed: "sealed-temp3", IssuedAt: t0.Add(3 * time.Minute), ExpiresAt: t0.Add(24 * time.Hour), Reason: TempForgot},
			code))
		var fe FieldErrors
		if err := a.ResetPassword(NewPassword{Hash: hash("temp2"), Typed: typed("temp2", nil)}, t0.Add(4*time.Minute)); !errors.As(err, &fe) || fe[0].Code != "same_as_temporary" {
			t.Fatalf("%s: the used temporary password as the new one: %v", name, err)
		}
		if err := a.ResetPassword(NewPassword{Hash: hash("new password"), Typed: typed("new password", nil)}, t0.Add(4*time.Minute)); err != nil {
			t.Fatalf("%s: a new password: %v", name, err)
		}
	}
}

// Given a temporary login and a temporary password mailed since (an
// administrator's, Lupa Kata Laluan again), when that newer one is typed as
// the new password at activation or reset, then it is refused too: it was
// mailed like the first, and kept as the password it would go on working
// for whoever read that mail.
func TestTheNewPasswordIsNotATemporaryOneMailedSinceTheLogin(t *testing.T) {
	later := TemporaryPasswordIssued{UserID: id, TempID: "t3", Hash: hash("temp3"), Sealed: "sealed-temp3", IssuedAt: t0.Add(3 * time.Minute), ExpiresAt: t0.Add(24 * time.Hour), Reason: TempAdmin}
	var fe FieldErrors
	a := given(t, with(registered(), LoginSucceeded{UserID: id, Temporary: true, TempID: "t1", At: t0.Add(time.Minute)}, later))
	act := Activation{Password: NewPassword{Hash: hash("temp3"), Typed: typed("temp3", nil)}, QuestionID: "haiwan-peliharaan", AnswerHash: hash("comot"), ImageID: "wau-bulan", SealedPhrase: "sealed-phrase"}
	if err := a.Activate(act, t0.Add(4*time.Minute)); !errors.As(err, &fe) || fe[0].Code != "same_as_temporary" {
		t.Fatalf("activation with the temporary password mailed since: %v", err)
	}
	b := given(t, with(forgotWithTOTP(),
		LoginSucceeded{UserID: id, Temporary: true, TempID: "t2", SecondFactorRequired: true, At: t0.Add(time.Minute)},
		later, TOTPCodeAccepted{UserID: id, Step: 101}))
	if err := b.ResetPassword(NewPassword{Hash: hash("temp3"), Typed: typed("temp3", nil)}, t0.Add(4*time.Minute)); !errors.As(err, &fe) || fe[0].Code != "same_as_temporary" {
		t.Fatalf("reset with the temporary password mailed since: %v", err)
	}
	if err := b.ResetPassword(NewPassword{Hash: hash("new password"), Typed: typed("new password", nil)}, t0.Add(4*time.Minute)); err != nil {
		t.Fatalf("a new password: %v", err)
	}
}

// Given a login with a temporary password awaiting its code, when the owner
// gives a code (or a recovery code) at a step-up in a session already
// logged in elsewhere, then that code completes no login: the temporary
// login goes on waiting, and its own code then uses the temporary
// password. The same step-up form sent twice is still a double click, not
// a reuse counted towards the lock.
func TestAStepUpLeavesTheWaitingTemporaryLogin(t *testing.T) {
	waiting := with(forgotWithTOTP(),
		LoginSucceeded{UserID: id, Temporary: true, TempID: "t2", SecondFactorRequired: true, At: t0.Add(time.Minute)})
	for name, stepUp := range map[string]func(*Account) error{
		"totp":     func(a *Account) error { return a.VerifyTOTPStepUp(codeAt(101, true), 3, t0.Add(2*time.Minute)) },
		"recovery": func(a *Account) error { return a.UseRecoveryCodeStepUp(hash("rca"), 3, t0.Add(2*time.Minute)) },
	} {
		a := given(t, waiting)
		err := stepUp(a)
		want := []eventlog.Event{TOTPCodeAccepted{UserID: id, Step: 101, StepUp: true}}
		if name == "recovery" {
			want = []eventlog.Event{RecoveryCodeUsed{UserID: id, Index: 0, StepUp: true}}
		}
		then(t, a, err, nil, want...)
		b := given(t, with(waiting, a.Uncommitted()...))
		if err := stepUp(b); !errors.Is(err, ErrCodeJustAccepted) {
			t.Fatalf("%s: the step-up sent twice: %v, want it taken as a double click", name, err)
		}
		if err := b.VerifyTOTPAfterTemporary(codeAt(102, true), 3, t0.Add(3*time.Minute)); err != nil {
			t.Fatalf("%s: the waiting login's code after the step-up: %v", name, err)
		}
		if !b.PasswordToSet() {
			t.Fatalf("%s: the temporary login's code after a step-up leads to no new password", name)
		}
		if err := b.ResetPassword(NewPassword{Hash: hash("new password"), Typed: typed("new password", nil)}, t0.Add(3*time.Minute)); err != nil {
			t.Fatalf("%s: the new password after the step-up: %v", name, err)
		}
	}
}
