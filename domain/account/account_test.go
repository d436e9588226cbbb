package account

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/eventlog/eventlogtest"
	"github.com/melaka-gov/ispeks/domain/mykad"
)

// Given-when-then tests of every command of the aggregate. Hashing and
// sealing are the handlers' business; here a "hash" is the text "h:" + the
// secret, and verify is the matching check, so each test reads plainly.

var (
	t0  = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	uid = mykad.MustParse("791117-04-5671")
	id  = uid.String()
)

const (
	sitiName  = "Siti Aminah binti Omar"
	sitiEmail = "siti@melaka.gov.my"
)

func hash(s string) string { return "h:" + s }

// typed returns the Verify of a person who typed secret, counting calls.
func typed(secret string, calls *int) Verify {
	return func(encoded ...string) (int, error) {
		if calls != nil {
			*calls++
		}
		for i, e := range encoded {
			if e == hash(secret) {
				return i, nil
			}
		}
		return -1, nil
	}
}

func temp(n string) TemporaryPassword {
	return TemporaryPassword{ID: "t" + n, Hash: hash("temp" + n), Sealed: "sealed-temp" + n}
}

func registered() []eventlog.Event {
	return []eventlog.Event{
		Registered{UserID: id, Name: sitiName, Email: sitiEmail},
		TemporaryPasswordIssued{UserID: id, TempID: "t1", Hash: hash("temp1"), Sealed: "sealed-temp1", IssuedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), Reason: TempRegistration, Name: "Siti Aminah binti Omar", Email: "siti@melaka.gov.my"},
	}
}

func activated() []eventlog.Event {
	return append(registered(),
		LoginSucceeded{UserID: id, Temporary: true, TempID: "t1", At: t0.Add(time.Minute)},
		Activated{UserID: id, PasswordHash: hash("correct horse"), SecretQuestion: "haiwan-peliharaan", SecretAnswerHash: hash("comot"), SecurityImage: "wau-bulan", SealedPhrase: "sealed-phrase"},
	)
}

func with(base []eventlog.Event, more ...eventlog.Event) []eventlog.Event {
	return append(append([]eventlog.Event(nil), base...), more...)
}

func given(t *testing.T, events []eventlog.Event) *Account {
	t.Helper()
	a := New()
	for _, ev := range events {
		if err := a.Apply(ev); err != nil {
			t.Fatalf("given %s: %v", ev.EventType(), err)
		}
	}
	return a
}

func then(t *testing.T, a *Account, err, wantErr error, want ...eventlog.Event) {
	t.Helper()
	if wantErr == nil && err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if wantErr != nil && !errors.Is(err, wantErr) {
		t.Fatalf("error = %v, want %v", err, wantErr)
	}
	got := a.Uncommitted()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events:\n got  %+v\n want %+v", got, want)
	}
}

func TestRegister(t *testing.T) {
	a := New()
	err := a.Register(uid, "Siti Aminah binti Omar", "siti@melaka.gov.my", temp("1"), t0)
	then(t, a, err, nil, registered()...)
	if a.Status() != StatusRegistered || len(a.Credentials()) != 1 {
		t.Fatalf("state after Register: %s, %d credentials", a.Status(), len(a.Credentials()))
	}
}

func TestRegisterTwiceRefused(t *testing.T) {
	a := given(t, registered())
	then(t, a, a.Register(uid, "X", "x@melaka.gov.my", temp("2"), t0), ErrAlreadyRegistered)
}

func TestRegisterNeedsSealedTemporaryPassword(t *testing.T) {
	a := New()
	then(t, a, a.Register(uid, "X", "x@melaka.gov.my", TemporaryPassword{ID: "t", Hash: "h"}, t0), ErrInvalid)
}

func TestFirstLoginWithTemporaryPasswordLeadsToActivation(t *testing.T) {
	a := given(t, registered())
	calls := 0
	out, err := a.LogIn(typed("temp1", &calls), 3, t0.Add(time.Hour))
	then(t, a, err, nil, LoginSucceeded{UserID: id, Temporary: true, TempID: "t1", At: t0.Add(time.Hour)})
	if !out.MustActivate || out.MustChangePassword || out.SecondFactorRequired || !out.Temporary {
		t.Fatalf("outcome %+v", out)
	}
	if calls != 1 {
		t.Fatalf("verify called %d times, want 1", calls)
	}
}

func TestTemporaryPasswordWorksOnce(t *testing.T) {
	a := given(t, with(registered(), LoginSucceeded{UserID: id, Temporary: true, TempID: "t1", At: t0}))
	_, err := a.LogIn(typed("temp1", nil), 3, t0.Add(time.Hour))
	then(t, a, err, ErrWrongPassword, LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 1})
}

func TestExpiredTemporaryPassword(t *testing.T) {
	a := given(t, registered())
	_, err := a.LogIn(typed("temp1", nil), 3, t0.Add(24*time.Hour))
	then(t, a, err, ErrTemporaryPasswordExpired, LoginFailed{UserID: id, Reason: FailTemporaryExpired, Consecutive: 0})
}

func TestActivate(t *testing.T) {
	a := given(t, with(registered(), LoginSucceeded{UserID: id, Temporary: true, TempID: "t1", At: t0}))
	act := Activation{Password: NewPassword{Hash: hash("correct horse"), Typed: typed("correct horse", nil)}, QuestionID: "haiwan-peliharaan", AnswerHash: hash("comot"), ImageID: "wau-bulan", SealedPhrase: "sealed-phrase"}
	// Like a new password, activation ends the account's other sessions:
	// another device's login waiting at a step must not outlive it.
	then(t, a, a.Activate(act, t0), nil, activated()[3], SessionsEnded{UserID: id, Reason: EndActivated})
	if a.Status() != StatusActive {
		t.Fatal("not active")
	}
}

func TestActivateRefusals(t *testing.T) {
	act := Activation{Password: NewPassword{Hash: hash("correct horse"), Typed: typed("correct horse", nil)}, QuestionID: "haiwan-peliharaan", AnswerHash: hash("comot"), ImageID: "wau-bulan", SealedPhrase: "s"}
	cases := []struct {
		name  string
		given []eventlog.Event
		act   Activation
		want  error
	}{
		{"unregistered", nil, act, ErrNotFound},
		{"without temporary login", registered(), act, ErrTemporaryLoginRequired},
		{"already active", activated(), act, ErrAlreadyActivated},
		{"locked", with(registered(), LoginSucceeded{UserID: id, Temporary: true, TempID: "t1", At: t0}, AccountLocked{UserID: id, FailedAttempts: 3}), act, ErrLocked},
		{"unknown image", with(registered(), LoginSucceeded{UserID: id, Temporary: true, TempID: "t1", At: t0}), func() Activation { x := act; x.ImageID = "nope"; return x }(), ErrInvalid},
		{"admin with short password", with(registered(), RoleGranted{UserID: id, Role: RoleAdmin}, LoginSucceeded{UserID: id, Temporary: true, TempID: "t1", At: t0}), act, ErrInvalid},
		// The e-mailed temporary password typed again as the new one.
		{"the temporary password", with(registered(), LoginSucceeded{UserID: id, Temporary: true, TempID: "t1", At: t0}), func() Activation {
			x := act
			x.Password = NewPassword{Hash: hash("temp1"), Typed: typed("temp1", nil)}
			return x
		}(), ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := given(t, c.given)
			then(t, a, a.Activate(c.act, t0), c.want)
		})
	}
}

func TestLoginWithPassword(t *testing.T) {
	a := given(t, with(activated(), LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 2}))
	out, err := a.LogIn(typed("correct horse", nil), 3, t0.Add(time.Hour))
	then(t, a, err, nil, LoginSucceeded{UserID: id, At: t0.Add(time.Hour)})
	if out.MustActivate || out.MustChangePassword || out.SecondFactorRequired || out.Temporary {
		t.Fatalf("outcome %+v", out)
	}
	if a.FailedAttempts() != 0 {
		t.Fatal("count not reset by success")
	}
}

func TestTwoWrongThenRightResetsCount(t *testing.T) {
	a := given(t, activated())
	for i := 1; i <= 2; i++ {
		if _, err := a.LogIn(typed("wrong", nil), 3, t0); !errors.Is(err, ErrWrongPassword) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, err := a.LogIn(typed("correct horse", nil), 3, t0); err != nil {
		t.Fatal(err)
	}
	then(t, a, nil, nil,
		LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 1},
		LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 2},
		LoginSucceeded{UserID: id, At: t0})
}

func TestThirdFailureLocksAndEndsSessions(t *testing.T) {
	a := given(t, with(activated(), LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 2}))
	_, err := a.LogIn(typed("wrong", nil), 3, t0)
	then(t, a, err, ErrLocked,
		LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 3},
		AccountLocked{UserID: id, FailedAttempts: 3, Name: "Siti Aminah binti Omar", Email: "siti@melaka.gov.my"},
		SessionsEnded{UserID: id, Reason: EndLocked})
}

func TestThresholdIsConfigurable(t *testing.T) {
	a := given(t, with(activated(), LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 2}))
	_, err := a.LogIn(typed("wrong", nil), 5, t0)
	then(t, a, err, ErrWrongPassword, LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 3})
}

func TestLockedRefusesRightAndWrongAlike(t *testing.T) {
	locked := with(activated(), LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 3}, AccountLocked{UserID: id, FailedAttempts: 3})
	for _, pw := range []string{"correct horse", "wrong"} {
		a := given(t, locked)
		calls := 0
		out, err := a.LogIn(typed(pw, &calls), 3, t0)
		then(t, a, err, ErrLocked, LoginFailed{UserID: id, Reason: FailLocked, Consecutive: 3})
		if !reflect.DeepEqual(out, LoginOutcome{}) || calls != 1 {
			t.Fatalf("%s: outcome %+v, %d verifications", pw, out, calls)
		}
	}
}

func TestVerifyErrorRecordsNothing(t *testing.T) {
	a := given(t, activated())
	boom := errors.New("context canceled")
	_, err := a.LogIn(func(...string) (int, error) { return -1, boom }, 3, t0)
	then(t, a, err, boom)
}

func TestLoginOnUnknownAccount(t *testing.T) {
	a := New()
	_, err := a.LogIn(typed("x", nil), 3, t0)
	then(t, a, err, ErrNotFound)
}

func TestForgotPasswordKeepsCurrentPasswordUntilUsed(t *testing.T) {
	a := given(t, activated())
	then(t, a, a.IssueTemporaryPassword(temp("2"), TempForgot, t0.Add(time.Hour)), nil,
		TemporaryPasswordIssued{UserID: id, TempID: "t2", Hash: hash("temp2"), Sealed: "sealed-temp2", IssuedAt: t0.Add(time.Hour), ExpiresAt: t0.Add(25 * time.Hour), Reason: TempForgot, Name: "Siti Aminah binti Omar", Email: "siti@melaka.gov.my"})
	// The old password still works and leads home.
	b := given(t, with(activated(), a.Uncommitted()...))
	out, err := b.LogIn(typed("correct horse", nil), 3, t0.Add(2*time.Hour))
	if err != nil || out.MustChangePassword {
		t.Fatalf("old password after forgot: %+v, %v", out, err)
	}
	// The temporary one works too, leads to a password change, and
	// cancels the old password.
	c := given(t, with(activated(), a.Uncommitted()...))
	out, err = c.LogIn(typed("temp2", nil), 3, t0.Add(2*time.Hour))
	if err != nil || !out.MustChangePassword || out.MustActivate {
		t.Fatalf("temp password on active account: %+v, %v", out, err)
	}
	if _, err := c.LogIn(typed("correct horse", nil), 3, t0.Add(3*time.Hour)); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("old password after the temporary one was used: %v", err)
	}
}

func TestForgotPasswordRefusals(t *testing.T) {
	a := New()
	then(t, a, a.IssueTemporaryPassword(temp("2"), TempForgot, t0), ErrNotFound)
	a = given(t, with(activated(), AccountLocked{UserID: id, FailedAttempts: 3}))
	then(t, a, a.IssueTemporaryPassword(temp("2"), TempForgot, t0), ErrLocked)
	a = given(t, registered())
	then(t, a, a.IssueTemporaryPassword(temp("2"), TempForgot, t0.Add(time.Minute)), ErrTooSoon)
	// An administrator may issue at any time, even to a locked account.
	a = given(t, with(activated(), AccountLocked{UserID: id, FailedAttempts: 3}))
	if err := a.IssueTemporaryPassword(temp("2"), TempAdmin, t0); err != nil || len(a.Uncommitted()) != 1 {
		t.Fatalf("admin issue on locked account: %v", err)
	}
}

func TestNewTemporaryPasswordReplacesUnusedOne(t *testing.T) {
	a := given(t, registered())
	if err := a.IssueTemporaryPassword(temp("2"), TempForgot, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.LogIn(typed("temp1", nil), 3, t0.Add(2*time.Hour)); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("replaced temporary password: %v", err)
	}
}

func TestResetPasswordAfterTemporaryLogin(t *testing.T) {
	base := with(activated(), TemporaryPasswordIssued{UserID: id, TempID: "t2", Hash: hash("temp2"), Sealed: "s", IssuedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), Reason: TempForgot})
	a := given(t, with(base, LoginSucceeded{UserID: id, Temporary: true, TempID: "t2", At: t0}))
	// The temporary password typed again as the new one: refused on the
	// field, nothing recorded.
	err := a.ResetPassword(NewPassword{Hash: hash("temp2"), Typed: typed("temp2", nil)}, t0)
	then(t, a, err, ErrInvalid)
	if fe := FieldErrors(nil); !errors.As(err, &fe) || len(fe) != 1 || fe[0].Field != "password" || fe[0].Code != "same_as_temporary" {
		t.Fatalf("temporary password as the new one: %v", err)
	}
	then(t, a, a.ResetPassword(NewPassword{Hash: hash("new password"), Typed: typed("new password", nil)}, t0), nil,
		PasswordChanged{UserID: id, PasswordHash: hash("new password"), Via: ViaReset, Name: sitiName, Email: sitiEmail},
		SessionsEnded{UserID: id, Reason: EndPasswordChanged})
	a = given(t, base)
	then(t, a, a.ResetPassword(NewPassword{Hash: hash("new password"), Typed: typed("new password", nil)}, t0), ErrTemporaryLoginRequired)
}

func TestChangePassword(t *testing.T) {
	a := given(t, activated())
	then(t, a, a.ChangePassword(typed("correct horse", nil), NewPassword{Hash: hash("battery staple")}, 3, t0), nil,
		PasswordChanged{UserID: id, PasswordHash: hash("battery staple"), Via: ViaChange, Name: sitiName, Email: sitiEmail},
		SessionsEnded{UserID: id, Reason: EndPasswordChanged})
}

func TestChangePasswordWrongOldCounts(t *testing.T) {
	a := given(t, with(activated(), LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 2}))
	err := a.ChangePassword(typed("wrong", nil), NewPassword{Hash: hash("battery staple")}, 3, t0)
	then(t, a, err, ErrLocked,
		LoginFailed{UserID: id, Reason: FailWrongCurrentPassword, Consecutive: 3},
		AccountLocked{UserID: id, FailedAttempts: 3, Name: "Siti Aminah binti Omar", Email: "siti@melaka.gov.my"},
		SessionsEnded{UserID: id, Reason: EndLocked})
}

// Two wrong old passwords, then the right one: the change proved the
// person, so the run of failures ends with it (as a completed login ends
// it); otherwise one later typo at the login page locked the account.
// An e-mail change, which also proves the current password, likewise.
func TestProvingTheCurrentPasswordEndsTheRunOfFailures(t *testing.T) {
	slips := with(activated(),
		LoginFailed{UserID: id, Reason: FailWrongCurrentPassword, Consecutive: 1},
		LoginFailed{UserID: id, Reason: FailWrongCurrentPassword, Consecutive: 2})
	a := given(t, slips)
	if err := a.ChangePassword(typed("correct horse", nil), NewPassword{Hash: hash("battery staple")}, 3, t0); err != nil {
		t.Fatal(err)
	}
	a = given(t, with(slips, a.Uncommitted()...))
	if a.FailedAttempts() != 0 {
		t.Fatalf("after a password change: %d failures in the run", a.FailedAttempts())
	}
	_, err := a.LogIn(typed("typo", nil), 3, t0.Add(time.Hour))
	then(t, a, err, ErrWrongPassword, LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 1})

	b := given(t, slips)
	if err := b.UpdateProfile(Profile{Email: "siti.aminah@jkr.melaka.gov.my"}, typed("correct horse", nil), 3, t0); err != nil {
		t.Fatal(err)
	}
	if b = given(t, with(slips, b.Uncommitted()...)); b.FailedAttempts() != 0 {
		t.Fatalf("after an e-mail change: %d failures in the run", b.FailedAttempts())
	}
	// A phone number alone proves nothing: the run stands.
	c := given(t, slips)
	if err := c.UpdateProfile(Profile{Phone: "06-2307290", Email: sitiEmail}, typed("unused", nil), 3, t0); err != nil {
		t.Fatal(err)
	}
	if c = given(t, with(slips, c.Uncommitted()...)); c.FailedAttempts() != 2 {
		t.Fatalf("after a phone change: %d failures in the run, want 2", c.FailedAttempts())
	}
}

func TestChangePasswordRefusals(t *testing.T) {
	a := given(t, registered())
	then(t, a, a.ChangePassword(typed("temp1", nil), NewPassword{Hash: "h"}, 3, t0), ErrNotActivated)
	a = given(t, with(activated(), AccountLocked{UserID: id, FailedAttempts: 3}))
	then(t, a, a.ChangePassword(typed("correct horse", nil), NewPassword{Hash: "h"}, 3, t0), ErrLocked)
	a = given(t, with(activated(), RoleGranted{UserID: id, Role: RoleAuditor}))
	then(t, a, a.ChangePassword(typed("correct horse", nil), NewPassword{Hash: "h"}, 3, t0), ErrInvalid)
}

func TestPasswordChangeCancelsOutstandingTemporaryPassword(t *testing.T) {
	a := given(t, with(activated(),
		TemporaryPasswordIssued{UserID: id, TempID: "t2", Hash: hash("temp2"), Sealed: "s", IssuedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), Reason: TempForgot},
		PasswordChanged{UserID: id, PasswordHash: hash("battery staple"), Via: ViaChange, Name: sitiName, Email: sitiEmail}))
	if got := a.Credentials(); !reflect.DeepEqual(got, []string{hash("battery staple")}) {
		t.Fatalf("credentials %v", got)
	}
}

// A temporary password issued between the temporary login and "Aktif"
// (Lupa Kata Laluan, or an administrator's) dies with activation, as it
// does with a password change: otherwise it stays a second way in, hashed
// with its own salt so a login costs two derivations.
func TestActivationCancelsOutstandingTemporaryPassword(t *testing.T) {
	a := given(t, with(registered(),
		LoginSucceeded{UserID: id, Temporary: true, TempID: "t1", At: t0},
		TemporaryPasswordIssued{UserID: id, TempID: "t2", Hash: hash("temp2"), Sealed: "s", IssuedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), Reason: TempForgot},
		Activated{UserID: id, PasswordHash: hash("correct horse"), SecretQuestion: "haiwan-peliharaan", SecretAnswerHash: hash("comot"), SecurityImage: "wau-bulan", SealedPhrase: "p"}))
	if got := a.Credentials(); !reflect.DeepEqual(got, []string{hash("correct horse")}) {
		t.Fatalf("credentials %v", got)
	}
	_, err := a.LogIn(typed("temp2", nil), 3, t0.Add(time.Hour))
	then(t, a, err, ErrWrongPassword, LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 1})
}

func TestUpdateProfile(t *testing.T) {
	a := given(t, activated())
	calls := 0
	p := Profile{Phone: "06-2307290", Office: "Aras 3, Seri Negeri", Email: "siti@melaka.gov.my"}
	then(t, a, a.UpdateProfile(p, typed("unused", &calls), 3, t0), nil, ProfileUpdated{UserID: id, Phone: p.Phone, Office: p.Office, Email: p.Email, Name: sitiName})
	if calls != 0 {
		t.Fatal("password checked although the e-mail did not change")
	}
	// Unchanged: nothing.
	b := given(t, with(activated(), a.Uncommitted()...))
	then(t, b, b.UpdateProfile(p, typed("unused", nil), 3, t0), nil)
	// E-mail change needs the current password.
	p.Email = "siti.aminah@jkr.melaka.gov.my"
	c := given(t, with(activated(), a.Uncommitted()...))
	then(t, c, c.UpdateProfile(p, typed("wrong", nil), 3, t0), ErrWrongPassword, LoginFailed{UserID: id, Reason: FailWrongCurrentPassword, Consecutive: 1})
	d := given(t, with(activated(), a.Uncommitted()...))
	// The event names the address it changed from: the mailer tells it.
	then(t, d, d.UpdateProfile(p, typed("correct horse", nil), 3, t0), nil, ProfileUpdated{UserID: id, Phone: p.Phone, Office: p.Office, Email: p.Email, PreviousEmail: sitiEmail, Name: sitiName})
	if d.Email() != "siti.aminah@jkr.melaka.gov.my" {
		t.Fatal("e-mail not updated")
	}
}

// The employee master moves Siti from her address to the department's
// new mailbox.
const masterNewEmail = "kewangan.tengah@melaka.gov.my"

// Given an account still on the master's old address, when the master's
// e-mail changes, then the account follows to the new one.
func TestFollowMasterEmailFollowsWhenStillTheOldAddress(t *testing.T) {
	for name, history := range map[string][]eventlog.Event{
		"activated":      activated(),
		"not activated":  registered(),
		"locked":         with(activated(), LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 3}, AccountLocked{UserID: id, FailedAttempts: 3, Name: sitiName, Email: sitiEmail}),
		"other letters":  with(activated(), ProfileUpdated{UserID: id, Email: sitiEmail, Phone: "06-2307290", Name: sitiName}),
		"owner chose it": with(activated(), ProfileUpdated{UserID: id, Email: "siti.lain@melaka.gov.my", PreviousEmail: sitiEmail, Name: sitiName}, ProfileUpdated{UserID: id, Email: sitiEmail, PreviousEmail: "siti.lain@melaka.gov.my", Name: sitiName}),
	} {
		t.Run(name, func(t *testing.T) {
			a := given(t, history)
			from := sitiEmail
			if name == "other letters" {
				from = "Siti@Melaka.gov.my"
			}
			then(t, a, a.FollowMasterEmail(from, masterNewEmail, t0), nil,
				EmailFollowedMaster{UserID: id, Email: masterNewEmail, PreviousEmail: sitiEmail, Name: sitiName},
				SessionsEnded{UserID: id, Reason: EndEmailChanged, TemporaryLogins: true})
			if a.Email() != masterNewEmail || a.Profile().Email != masterNewEmail {
				t.Fatalf("e-mail after following: %q", a.Email())
			}
		})
	}
}

// Following the master proves nothing about the person: the run of failed
// logins stands (an e-mail change of their own, which needs the current
// password, ends it), and so does a lock.
func TestFollowMasterEmailKeepsTheRunOfFailures(t *testing.T) {
	slips := with(activated(), LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 2})
	a := given(t, slips)
	if err := a.FollowMasterEmail(sitiEmail, masterNewEmail, t0); err != nil {
		t.Fatal(err)
	}
	if a = given(t, with(slips, a.Uncommitted()...)); a.FailedAttempts() != 2 {
		t.Fatalf("after following the master: %d failures in the run, want 2", a.FailedAttempts())
	}
	_, err := a.LogIn(typed("typo", nil), 3, t0.Add(time.Hour))
	then(t, a, err, ErrLocked,
		LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 3},
		AccountLocked{UserID: id, FailedAttempts: 3, Name: sitiName, Email: masterNewEmail},
		SessionsEnded{UserID: id, Reason: EndLocked})
}

// Given a temporary password mailed to the old address (registration or
// Lupa Kata Laluan), when the account follows the master to a new one,
// then that password no longer opens the account: the old mailbox may be
// someone else's now. Lupa Kata Laluan mails a new one at once.
func TestFollowMasterEmailCancelsTheTemporaryPassword(t *testing.T) {
	for name, history := range map[string][]eventlog.Event{
		"registration": registered(),
		"forgot": with(activated(), TemporaryPasswordIssued{UserID: id, TempID: "t2", Hash: hash("temp2"), Sealed: "s",
			IssuedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), Reason: TempForgot}),
	} {
		t.Run(name, func(t *testing.T) {
			a := given(t, history)
			if err := a.FollowMasterEmail(sitiEmail, masterNewEmail, t0.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			a = given(t, with(history, a.Uncommitted()...))
			for _, temp := range []string{"temp1", "temp2"} {
				if _, err := a.LogIn(typed(temp, nil), 3, t0.Add(2*time.Minute)); !errors.Is(err, ErrWrongPassword) {
					t.Fatalf("temporary password %s after following the master: %v", temp, err)
				}
			}
			b := given(t, with(history, EmailFollowedMaster{UserID: id, Email: masterNewEmail, PreviousEmail: sitiEmail, Name: sitiName}))
			if err := b.IssueTemporaryPassword(TemporaryPassword{ID: "t3", Hash: hash("temp3"), Sealed: "s"}, TempForgot, t0.Add(3*time.Minute)); err != nil {
				t.Fatalf("Lupa Kata Laluan right after: %v", err)
			}
		})
	}
}

// Given a login made with a temporary password mailed to the old address
// and waiting for its next step (Pengaktifan on a first login, the new
// password after Lupa Kata Laluan, the code of such a login), when the
// account follows the master to a new address, then that login is
// overtaken: whoever read the old mailbox cannot complete it. A login
// begun with the current password, waiting for its code, goes on (the old
// mailbox never reached it); an end of every session since still
// overtakes it.
func TestFollowMasterEmailEndsTheWaitingTemporaryLogins(t *testing.T) {
	forgot := TemporaryPasswordIssued{UserID: id, TempID: "t2", Hash: hash("temp2"), Sealed: "s",
		IssuedAt: t0.Add(time.Hour), ExpiresAt: t0.Add(25 * time.Hour), Reason: TempForgot}
	for name, history := range map[string][]eventlog.Event{
		"at Pengaktifan":       with(registered(), LoginSucceeded{UserID: id, Temporary: true, TempID: "t1", At: t0.Add(time.Minute)}),
		"at the new password":  with(activated(), forgot, LoginSucceeded{UserID: id, Temporary: true, TempID: "t2", At: t0.Add(2 * time.Hour)}),
		"at the code":          with(totpOn(), forgot, LoginSucceeded{UserID: id, Temporary: true, TempID: "t2", SecondFactorRequired: true, At: t0.Add(2 * time.Hour)}),
		"no login waits (yet)": activated(),
	} {
		t.Run(name, func(t *testing.T) {
			a := given(t, history)
			ends := a.SessionEnds()
			if err := a.CheckWaitingTemporary(ends); err != nil {
				t.Fatalf("before the master's change: %v", err)
			}
			then(t, a, a.FollowMasterEmail(sitiEmail, masterNewEmail, t0.Add(3*time.Hour)), nil,
				EmailFollowedMaster{UserID: id, Email: masterNewEmail, PreviousEmail: sitiEmail, Name: sitiName},
				SessionsEnded{UserID: id, Reason: EndEmailChanged, TemporaryLogins: true})
			b := given(t, with(history, a.Uncommitted()...))
			if err := b.CheckWaitingTemporary(ends); !errors.Is(err, ErrLoginOvertaken) {
				t.Fatalf("the temporary login after the e-mail followed the master: %v, want ErrLoginOvertaken", err)
			}
			if err := b.CheckWaitingTemporary(b.SessionEnds()); err != nil {
				t.Fatalf("a temporary login decided after it: %v", err)
			}
			if err := b.CheckWaiting(ends); err != nil {
				t.Fatalf("a login with the current password, decided before it: %v", err)
			}
			if err := b.Apply(SessionsEnded{UserID: id, Reason: EndRequested}); err != nil {
				t.Fatal(err)
			}
			if err := b.CheckWaiting(ends); !errors.Is(err, ErrLoginOvertaken) {
				t.Fatalf("a login with the current password after every session ended: %v, want ErrLoginOvertaken", err)
			}
		})
	}
}

// Given an account whose owner chose another address (Kemaskini Maklumat
// Pengguna), when the master's e-mail changes, then the account keeps the
// owner's choice.
func TestFollowMasterEmailKeepsTheOwnersChoice(t *testing.T) {
	a := given(t, with(activated(), ProfileUpdated{UserID: id, Email: "siti.aminah@jkr.melaka.gov.my", PreviousEmail: sitiEmail, Name: sitiName}))
	then(t, a, a.FollowMasterEmail(sitiEmail, masterNewEmail, t0), nil)
	if a.Email() != "siti.aminah@jkr.melaka.gov.my" {
		t.Fatalf("the owner's address was replaced by %q", a.Email())
	}
}

// No account (the person never registered): nothing, and no error.
func TestFollowMasterEmailWithoutAccount(t *testing.T) {
	a := New()
	then(t, a, a.FollowMasterEmail(sitiEmail, masterNewEmail, t0), nil)
}

// Given the account followed already, when the same change comes again (a
// redelivered event), then nothing; likewise a change to the address the
// account already has.
func TestFollowMasterEmailRepeated(t *testing.T) {
	a := given(t, activated())
	if err := a.FollowMasterEmail(sitiEmail, masterNewEmail, t0); err != nil {
		t.Fatal(err)
	}
	b := given(t, with(activated(), a.Uncommitted()...))
	then(t, b, b.FollowMasterEmail(sitiEmail, masterNewEmail, t0.Add(time.Minute)), nil)
	c := given(t, activated())
	then(t, c, c.FollowMasterEmail(sitiEmail, sitiEmail, t0), nil)
}

func TestFollowMasterEmailNeedsBothAddresses(t *testing.T) {
	a := given(t, activated())
	then(t, a, a.FollowMasterEmail("", masterNewEmail, t0), ErrInvalid)
	then(t, a, a.FollowMasterEmail(sitiEmail, "", t0), ErrInvalid)
}

// HR corrects Siti's name in the employee master.
const masterNewName = "Siti Aminah binti Omar Baki"

// Given an account registered under the master's name, when HR corrects
// the name, then the account follows, in any state, and the mails after it
// (the lock notice, the password-changed notice) greet her by the new name.
func TestFollowMasterNameFollows(t *testing.T) {
	for name, history := range map[string][]eventlog.Event{
		"activated":     activated(),
		"not activated": registered(),
		"locked":        with(activated(), LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 3}, AccountLocked{UserID: id, FailedAttempts: 3, Name: sitiName, Email: sitiEmail}),
	} {
		t.Run(name, func(t *testing.T) {
			a := given(t, history)
			then(t, a, a.FollowMasterName(masterNewName, t0), nil,
				NameFollowedMaster{UserID: id, Name: masterNewName, PreviousName: sitiName})
			if a.Name() != masterNewName {
				t.Fatalf("name after following: %q", a.Name())
			}
		})
	}
	a := given(t, with(activated(), NameFollowedMaster{UserID: id, Name: masterNewName, PreviousName: sitiName}))
	_, err := a.LogIn(typed("typo", nil), 1, t0.Add(time.Hour))
	then(t, a, err, ErrLocked,
		LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 1},
		AccountLocked{UserID: id, FailedAttempts: 1, Name: masterNewName, Email: sitiEmail},
		SessionsEnded{UserID: id, Reason: EndLocked})
}

// The same name again (a redelivered change, or an update of another
// field), or no account: nothing. No name: refused.
func TestFollowMasterNameRepeatedOrRefused(t *testing.T) {
	a := given(t, with(activated(), NameFollowedMaster{UserID: id, Name: masterNewName, PreviousName: sitiName}))
	then(t, a, a.FollowMasterName(masterNewName, t0), nil)
	b := given(t, activated())
	then(t, b, b.FollowMasterName(sitiName, t0), nil)
	c := New()
	then(t, c, c.FollowMasterName(masterNewName, t0), nil)
	then(t, b, b.FollowMasterName(" ", t0), ErrInvalid)
}

// codeAt is a CodeCheck for a person who typed a code valid at step (ok) for
// the secret "sealed-totp".
func codeAt(step uint64, ok bool) CodeCheck {
	return func(sealed string) (uint64, bool, error) {
		if sealed != "sealed-totp" {
			return 0, false, errors.New("wrong secret consulted: " + sealed)
		}
		return step, ok, nil
	}
}

func hashes(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = hash("rc" + string(rune('a'+i)))
	}
	return out
}

func totpOn() []eventlog.Event {
	return with(activated(),
		TOTPEnrolmentStarted{UserID: id, SealedSecret: "sealed-totp"},
		TOTPEnabled{UserID: id, Step: 100, RecoveryCodeHashes: hashes(10), Name: sitiName, Email: sitiEmail})
}

// New recovery codes take a current authenticator code (accepted once;
// wrong and reused ones count towards the lock) and replace every earlier
// code, used or not.
func TestReplaceRecoveryCodes(t *testing.T) {
	fresh := make([]string, 10)
	for i := range fresh {
		fresh[i] = hash("new" + string(rune('a'+i)))
	}
	a := given(t, with(totpOn(), RecoveryCodeUsed{UserID: id, Index: 0}))
	then(t, a, a.ReplaceRecoveryCodes(codeAt(101, true), fresh, 3, t0), nil,
		RecoveryCodesReplaced{UserID: id, Step: 101, RecoveryCodeHashes: fresh, Name: sitiName, Email: sitiEmail})
	if a.RecoveryCodesLeft() != 10 {
		t.Fatalf("%d codes left after the replacement", a.RecoveryCodesLeft())
	}
	// An old code no longer works; a new one does; the code that made them
	// is spent.
	b := given(t, with(with(totpOn(), RecoveryCodeUsed{UserID: id, Index: 0}), a.Uncommitted()...))
	then(t, b, b.UseRecoveryCode(hash("rcb"), 3, t0), ErrWrongCode, LoginFailed{UserID: id, Reason: FailWrongSecondFactor, Consecutive: 1})
	c := given(t, with(with(totpOn(), RecoveryCodeUsed{UserID: id, Index: 0}), a.Uncommitted()...))
	then(t, c, c.UseRecoveryCode(hash("newc"), 3, t0), nil, RecoveryCodeUsed{UserID: id, Index: 2})
	d := given(t, with(with(totpOn(), RecoveryCodeUsed{UserID: id, Index: 0}), a.Uncommitted()...))
	// The code that made them, sent again (a double click): refused,
	// without a failure counted.
	then(t, d, d.ReplaceRecoveryCodes(codeAt(101, true), fresh, 3, t0), ErrCodeJustAccepted)

	e := given(t, with(totpOn(), LoginFailed{UserID: id, Reason: FailWrongSecondFactor, Consecutive: 2}))
	then(t, e, e.ReplaceRecoveryCodes(codeAt(0, false), fresh, 3, t0), ErrLocked,
		LoginFailed{UserID: id, Reason: FailWrongSecondFactor, Consecutive: 3},
		AccountLocked{UserID: id, FailedAttempts: 3, Name: sitiName, Email: sitiEmail},
		SessionsEnded{UserID: id, Reason: EndLocked})
	f := given(t, activated())
	then(t, f, f.ReplaceRecoveryCodes(codeAt(5, true), fresh, 3, t0), ErrTOTPNotEnabled)
	g := given(t, totpOn())
	then(t, g, g.ReplaceRecoveryCodes(codeAt(101, true), fresh[:9], 3, t0), ErrInvalid)

	// The right code ends the run of failures, as a code accepted at login
	// or a step-up does: two slips on the form, then the right code, do
	// not leave the person one typo from a lock.
	h := given(t, with(totpOn(), LoginFailed{UserID: id, Reason: FailWrongSecondFactor, Consecutive: 1},
		LoginFailed{UserID: id, Reason: FailWrongSecondFactor, Consecutive: 2},
		RecoveryCodesReplaced{UserID: id, Step: 101, RecoveryCodeHashes: fresh, Name: sitiName, Email: sitiEmail}))
	if h.FailedAttempts() != 0 {
		t.Fatalf("%d failed attempts after the right code replaced the recovery codes", h.FailedAttempts())
	}
}

func TestTOTPEnrolment(t *testing.T) {
	a := given(t, activated())
	then(t, a, a.StartTOTPEnrolment("sealed-totp", typed("correct horse", nil), 3, t0), nil, TOTPEnrolmentStarted{UserID: id, SealedSecret: "sealed-totp"})
	b := given(t, with(activated(), a.Uncommitted()...))
	then(t, b, b.ConfirmTOTP(codeAt(100, false), hashes(10), t0), ErrWrongCode)
	then(t, b, b.ConfirmTOTP(codeAt(100, true), hashes(9), t0), ErrInvalid)
	then(t, b, b.ConfirmTOTP(codeAt(100, true), hashes(10), t0), nil, TOTPEnabled{UserID: id, Step: 100, RecoveryCodeHashes: hashes(10), Name: sitiName, Email: sitiEmail})
	if !b.TOTPEnabled() || b.RecoveryCodesLeft() != 10 {
		t.Fatal("TOTP not enabled")
	}
	c := given(t, totpOn())
	then(t, c, c.StartTOTPEnrolment("x", typed("correct horse", nil), 3, t0), ErrTOTPAlreadyEnabled)
	d := given(t, activated())
	then(t, d, d.ConfirmTOTP(codeAt(100, true), hashes(10), t0), ErrNoPendingEnrolment)
}

// A session alone does not enrol an authenticator: the current password
// must come with it, and a wrong one counts towards the lock.
func TestTOTPEnrolmentNeedsTheCurrentPassword(t *testing.T) {
	a := given(t, with(activated(), LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 1}))
	then(t, a, a.StartTOTPEnrolment("sealed-totp", typed("wrong", nil), 3, t0), ErrWrongPassword,
		LoginFailed{UserID: id, Reason: FailWrongCurrentPassword, Consecutive: 2})
	b := given(t, with(activated(), LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 2}))
	then(t, b, b.StartTOTPEnrolment("sealed-totp", typed("wrong", nil), 3, t0), ErrLocked,
		LoginFailed{UserID: id, Reason: FailWrongCurrentPassword, Consecutive: 3},
		AccountLocked{UserID: id, FailedAttempts: 3, Name: sitiName, Email: sitiEmail},
		SessionsEnded{UserID: id, Reason: EndLocked})
}

func TestLoginWithTOTPNeedsSecondFactor(t *testing.T) {
	a := given(t, totpOn())
	out, err := a.LogIn(typed("correct horse", nil), 3, t0)
	then(t, a, err, nil, LoginSucceeded{UserID: id, SecondFactorRequired: true, At: t0})
	if !out.SecondFactorRequired {
		t.Fatal("second factor not required")
	}
}

func TestVerifyTOTPCodeAcceptedOnce(t *testing.T) {
	a := given(t, totpOn())
	then(t, a, a.VerifyTOTP(codeAt(101, true), 3, t0), nil, TOTPCodeAccepted{UserID: id, Step: 101})
	// For the next login the code is spent: refused and counted.
	b := given(t, with(totpOn(), append(a.Uncommitted(), LoginSucceeded{UserID: id, SecondFactorRequired: true, At: t0})...))
	then(t, b, b.VerifyTOTP(codeAt(101, true), 3, t0), ErrCodeReused, LoginFailed{UserID: id, Reason: FailSecondFactorReused, Consecutive: 1})
	// An older one too, login waiting or not.
	c := given(t, with(totpOn(), a.Uncommitted()...))
	then(t, c, c.VerifyTOTP(codeAt(100, true), 3, t0), ErrCodeReused, LoginFailed{UserID: id, Reason: FailSecondFactorReused, Consecutive: 1})
	// The confirming code cannot be replayed either.
	d := given(t, with(totpOn(), LoginSucceeded{UserID: id, SecondFactorRequired: true, At: t0}))
	then(t, d, d.VerifyTOTP(codeAt(100, true), 3, t0), ErrCodeReused, LoginFailed{UserID: id, Reason: FailSecondFactorReused, Consecutive: 1})
}

// The form sent twice (a double click, a reload of the answer): the
// second submission finds the code accepted and no login waiting for one.
// It is refused — it grants nothing — but not counted: counted, a good
// login would leave the person one failure nearer a lock.
func TestTheCodeJustAcceptedSentAgainIsNotAFailure(t *testing.T) {
	login := given(t, totpOn())
	_, err := login.LogIn(typed("correct horse", nil), 3, t0)
	then(t, login, err, nil, LoginSucceeded{UserID: id, SecondFactorRequired: true, At: t0})
	pending := with(totpOn(), login.Uncommitted()...)
	a := given(t, pending)
	then(t, a, a.VerifyTOTP(codeAt(101, true), 3, t0), nil, TOTPCodeAccepted{UserID: id, Step: 101})
	b := given(t, with(pending, a.Uncommitted()...))
	then(t, b, b.VerifyTOTP(codeAt(101, true), 3, t0), ErrCodeJustAccepted)
	if b.FailedAttempts() != 0 {
		t.Fatalf("%d failed attempts after the second submission", b.FailedAttempts())
	}
	// A locked account says so first, and the attempt is recorded as on
	// any locked account.
	c := given(t, with(with(pending, a.Uncommitted()...), AccountLocked{UserID: id, FailedAttempts: 3, Name: sitiName, Email: sitiEmail}))
	then(t, c, c.VerifyTOTP(codeAt(101, true), 3, t0), ErrLocked, LoginFailed{UserID: id, Reason: FailLocked, Consecutive: 3})
}

// A double click on Sahkan with a recovery code: the second submission
// finds the code used by the login it completed, and no login waiting.
// Refused without a failure, as an authenticator code is; any other used
// code, or that one for the next login, still counts.
func TestTheRecoveryCodeJustUsedSentAgainIsNotAFailure(t *testing.T) {
	pending := with(totpOn(), LoginSucceeded{UserID: id, SecondFactorRequired: true, At: t0})
	a := given(t, pending)
	then(t, a, a.UseRecoveryCode(hash("rcc"), 3, t0), nil, RecoveryCodeUsed{UserID: id, Index: 2})
	used := with(pending, a.Uncommitted()...)
	b := given(t, used)
	then(t, b, b.UseRecoveryCode(hash("rcc"), 3, t0), ErrCodeJustAccepted)
	if b.FailedAttempts() != 0 {
		t.Fatalf("%d failed attempts after the second submission", b.FailedAttempts())
	}
	c := given(t, with(used, LoginSucceeded{UserID: id, SecondFactorRequired: true, At: t0}))
	then(t, c, c.UseRecoveryCode(hash("rcc"), 3, t0), ErrCodeReused, LoginFailed{UserID: id, Reason: FailSecondFactorReused, Consecutive: 1})
	d := given(t, with(with(totpOn(), RecoveryCodeUsed{UserID: id, Index: 0}), used[len(totpOn()):]...))
	then(t, d, d.UseRecoveryCode(hash("rca"), 3, t0), ErrCodeReused, LoginFailed{UserID: id, Reason: FailSecondFactorReused, Consecutive: 1})
	// Used last, then an authenticator code: no longer the last.
	e := given(t, with(used, TOTPCodeAccepted{UserID: id, Step: 101}))
	then(t, e, e.UseRecoveryCode(hash("rcc"), 3, t0), ErrCodeReused, LoginFailed{UserID: id, Reason: FailSecondFactorReused, Consecutive: 1})
}

// Only the form that accepted the code, sent again, is a double click. The
// login's code typed on the new recovery codes' form a moment later made
// no codes: saying it was accepted a moment ago (as if the codes were made)
// would leave the earlier codes, maybe seen by someone, in force while the
// person believes them replaced. It is a reused code, as before.
func TestACodeAcceptedForAnotherUseIsReused(t *testing.T) {
	fresh := make([]string, 10)
	for i := range fresh {
		fresh[i] = hash("new" + string(rune('a'+i)))
	}
	loggedIn := with(totpOn(), LoginSucceeded{UserID: id, SecondFactorRequired: true, At: t0}, TOTPCodeAccepted{UserID: id, Step: 101})
	a := given(t, loggedIn)
	then(t, a, a.ReplaceRecoveryCodes(codeAt(101, true), fresh, 3, t0), ErrCodeReused, LoginFailed{UserID: id, Reason: FailSecondFactorReused, Consecutive: 1})
	// New codes' code, then a step-up with it.
	b := given(t, with(loggedIn, RecoveryCodesReplaced{UserID: id, Step: 102, RecoveryCodeHashes: fresh}))
	then(t, b, b.VerifyTOTP(codeAt(102, true), 3, t0), ErrCodeReused, LoginFailed{UserID: id, Reason: FailSecondFactorReused, Consecutive: 1})
	// The enrolment's code at a step-up (another tab's session).
	c := given(t, totpOn())
	then(t, c, c.VerifyTOTP(codeAt(100, true), 3, t0), ErrCodeReused, LoginFailed{UserID: id, Reason: FailSecondFactorReused, Consecutive: 1})
}

func TestWrongTOTPCountsTowardsLock(t *testing.T) {
	a := given(t, with(totpOn(), LoginFailed{UserID: id, Reason: FailWrongSecondFactor, Consecutive: 2}))
	then(t, a, a.VerifyTOTP(codeAt(0, false), 3, t0), ErrLocked,
		LoginFailed{UserID: id, Reason: FailWrongSecondFactor, Consecutive: 3},
		AccountLocked{UserID: id, FailedAttempts: 3, Name: "Siti Aminah binti Omar", Email: "siti@melaka.gov.my"},
		SessionsEnded{UserID: id, Reason: EndLocked})
	b := given(t, activated())
	then(t, b, b.VerifyTOTP(codeAt(5, true), 3, t0), ErrTOTPNotEnabled)
}

// A right password does not end the run of failures while the second
// factor is still owed: someone who knows the password cannot re-enter it
// between wrong codes to keep the count below the lock.
func TestWrongCodesLockAcrossPasswordReentries(t *testing.T) {
	a := given(t, totpOn())
	for _, step := range []func() error{
		func() error { _, err := a.LogIn(typed("correct horse", nil), 3, t0); return err },
		func() error { return a.VerifyTOTP(codeAt(0, false), 3, t0) },
		func() error { return a.UseRecoveryCode(hash("nope"), 3, t0) },
		func() error { _, err := a.LogIn(typed("correct horse", nil), 3, t0); return err },
	} {
		if err := step(); err != nil && !errors.Is(err, ErrWrongCode) {
			t.Fatal(err)
		}
	}
	if a.FailedAttempts() != 2 {
		t.Fatalf("failed attempts after re-entering the password: %d, want 2", a.FailedAttempts())
	}
	then(t, a, a.VerifyTOTP(codeAt(0, false), 3, t0), ErrLocked,
		LoginSucceeded{UserID: id, SecondFactorRequired: true, At: t0},
		LoginFailed{UserID: id, Reason: FailWrongSecondFactor, Consecutive: 1},
		LoginFailed{UserID: id, Reason: FailWrongSecondFactor, Consecutive: 2},
		LoginSucceeded{UserID: id, SecondFactorRequired: true, At: t0},
		LoginFailed{UserID: id, Reason: FailWrongSecondFactor, Consecutive: 3},
		AccountLocked{UserID: id, FailedAttempts: 3, Name: sitiName, Email: sitiEmail},
		SessionsEnded{UserID: id, Reason: EndLocked})
}

// Wrong passwords and wrong codes are one run: two wrong passwords, the
// right one, then one wrong code locks at the threshold of 3.
func TestPasswordAndCodeFailuresShareOneCount(t *testing.T) {
	a := given(t, with(totpOn(),
		LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 1},
		LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 2},
		LoginSucceeded{UserID: id, SecondFactorRequired: true, At: t0}))
	then(t, a, a.UseRecoveryCode(hash("nope"), 3, t0), ErrLocked,
		LoginFailed{UserID: id, Reason: FailWrongSecondFactor, Consecutive: 3},
		AccountLocked{UserID: id, FailedAttempts: 3, Name: sitiName, Email: sitiEmail},
		SessionsEnded{UserID: id, Reason: EndLocked})
}

// The count ends with a completed login: the accepted TOTP or recovery
// code after the password, or the password alone without TOTP.
func TestCompletedSecondFactorResetsCount(t *testing.T) {
	owed := with(totpOn(),
		LoginFailed{UserID: id, Reason: FailWrongSecondFactor, Consecutive: 2},
		LoginSucceeded{UserID: id, SecondFactorRequired: true, At: t0})
	for name, ev := range map[string]eventlog.Event{
		"totp":     TOTPCodeAccepted{UserID: id, Step: 101},
		"recovery": RecoveryCodeUsed{UserID: id, Index: 0},
	} {
		a := given(t, owed)
		if a.FailedAttempts() != 2 {
			t.Fatalf("%s: count %d while the second factor is owed, want 2", name, a.FailedAttempts())
		}
		if a = given(t, with(owed, ev)); a.FailedAttempts() != 0 {
			t.Fatalf("%s: count %d after the code was accepted", name, a.FailedAttempts())
		}
	}
	if a := given(t, with(activated(), LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 2},
		LoginSucceeded{UserID: id, At: t0})); a.FailedAttempts() != 0 {
		t.Fatalf("count %d after a password login without TOTP", a.FailedAttempts())
	}
}

func TestRecoveryCodes(t *testing.T) {
	a := given(t, totpOn())
	then(t, a, a.UseRecoveryCode(hash("rcc"), 3, t0), nil, RecoveryCodeUsed{UserID: id, Index: 2})
	b := given(t, with(totpOn(), a.Uncommitted()...))
	if b.RecoveryCodesLeft() != 9 {
		t.Fatalf("left %d", b.RecoveryCodesLeft())
	}
	// At the next login it is spent (sent again at once, see
	// TestTheRecoveryCodeJustUsedSentAgainIsNotAFailure).
	b = given(t, with(with(totpOn(), a.Uncommitted()...), LoginSucceeded{UserID: id, SecondFactorRequired: true, At: t0}))
	then(t, b, b.UseRecoveryCode(hash("rcc"), 3, t0), ErrCodeReused, LoginFailed{UserID: id, Reason: FailSecondFactorReused, Consecutive: 1})
	c := given(t, totpOn())
	then(t, c, c.UseRecoveryCode(hash("nope"), 3, t0), ErrWrongCode, LoginFailed{UserID: id, Reason: FailWrongSecondFactor, Consecutive: 1})
	d := given(t, totpOn())
	then(t, d, d.UseRecoveryCode("", 3, t0), ErrWrongCode, LoginFailed{UserID: id, Reason: FailWrongSecondFactor, Consecutive: 1})
}

func TestSecondFactorPendingBlocksReset(t *testing.T) {
	a := given(t, with(totpOn(),
		TemporaryPasswordIssued{UserID: id, TempID: "t2", Hash: hash("temp2"), Sealed: "s", IssuedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), Reason: TempForgot},
		LoginSucceeded{UserID: id, Temporary: true, TempID: "t2", SecondFactorRequired: true, At: t0}))
	then(t, a, a.ResetPassword(NewPassword{Hash: "h"}, t0), ErrSecondFactorPending)
	if err := a.VerifyTOTPAfterTemporary(codeAt(150, true), 3, t0); err != nil {
		t.Fatal(err)
	}
	if err := a.ResetPassword(NewPassword{Hash: "h", Typed: typed("new password", nil)}, t0); err != nil {
		t.Fatalf("reset after second factor: %v", err)
	}
}

func TestDisableTOTP(t *testing.T) {
	a := given(t, totpOn())
	then(t, a, a.DisableTOTP("telefon hilang", "880101015555", t0), nil, TOTPDisabled{UserID: id, Reason: "telefon hilang", Name: sitiName, Email: sitiEmail}, SessionsEnded{UserID: id, Reason: EndTOTPDisabled})
	b := given(t, activated())
	then(t, b, b.DisableTOTP("x", "880101015555", t0), ErrTOTPNotEnabled)
	c := given(t, totpOn())
	then(t, c, c.DisableTOTP("  ", "880101015555", t0), ErrInvalid)
	// An administrator's own second factor: another administrator, or the
	// console, resets it.
	d := given(t, with(totpOn(), RoleGranted{UserID: id, Role: RoleAdmin}))
	then(t, d, d.DisableTOTP("telefon hilang", id, t0), ErrOwnTOTP)
}

func TestPrivilegedAccountsMustUseTOTPAndStrongPasswords(t *testing.T) {
	a := given(t, with(activated(), RoleGranted{UserID: id, Role: RoleAdmin}))
	out, err := a.LogIn(typed("correct horse", nil), 3, t0)
	if err != nil || !out.MustEnrolSecondFactor || !out.MustChangePassword || !reflect.DeepEqual(out.Roles, []Role{RoleAdmin}) {
		t.Fatalf("admin login outcome %+v, %v", out, err)
	}
	if a.MinPasswordLength() != 12 {
		t.Fatal("admin minimum length")
	}
}

func TestUnlock(t *testing.T) {
	a := given(t, with(activated(), LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 3}, AccountLocked{UserID: id, FailedAttempts: 3}))
	then(t, a, a.Unlock("", t0), ErrInvalid)
	then(t, a, a.Unlock(strings.Repeat("x", 501), t0), ErrInvalid)
	then(t, a, a.Unlock(" pemanggil disahkan ", t0), nil, AccountUnlocked{UserID: id, Reason: "pemanggil disahkan"})
	if a.Locked() || a.FailedAttempts() != 0 {
		t.Fatal("still locked")
	}
	b := given(t, activated())
	then(t, b, b.Unlock("x", t0), ErrNotLocked)
	c := New()
	then(t, c, c.Unlock("x", t0), ErrNotFound)
}

func TestRoles(t *testing.T) {
	a := given(t, activated())
	then(t, a, a.GrantRole("root", 1, "800101141234", t0), ErrInvalid)
	then(t, a, a.GrantRole(RoleAuditor, 1, "800101141234", t0), nil, RoleGranted{UserID: id, Role: RoleAuditor, Term: 1})
	b := given(t, with(activated(), RoleGranted{UserID: id, Role: RoleAuditor}))
	then(t, b, b.GrantRole(RoleAuditor, 1, "800101141234", t0), nil) // held already (an event before terms were kept: the first): nothing
	then(t, b, b.RevokeRole(RoleAuditor, "800101141234", t0), nil, RoleRevoked{UserID: id, Role: RoleAuditor}, SessionsEnded{UserID: id, Reason: EndRoleRevoked})
	c := given(t, with(activated(), RoleGranted{UserID: id, Role: RoleAdmin}))
	then(t, c, c.RevokeRole(RoleAdmin, id, t0), ErrOwnAdminRole)
	d := given(t, activated())
	then(t, d, d.RevokeRole(RoleAdmin, "800101141234", t0), nil)
}

// A role is held for the term of service in the employee master it was
// granted in: given an auditor role of the first term, the person recorded
// again after leaving (term 2) holds it no more until it is granted for
// that term, which records it anew.
func TestRolesAreHeldForTheirTermOfService(t *testing.T) {
	a := given(t, with(activated(), RoleGranted{UserID: id, Role: RoleAuditor, Term: 1}))
	if got := a.RolesIn(1); len(got) != 1 || got[0] != RoleAuditor || len(a.RolesIn(2)) != 0 || !a.HasRole(RoleAuditor) {
		t.Fatalf("roles in term 1 %v, in term 2 %v", a.RolesIn(1), a.RolesIn(2))
	}
	then(t, a, a.GrantRole(RoleAuditor, 2, "800101141234", t0), nil, RoleGranted{UserID: id, Role: RoleAuditor, Term: 2})
	if !a.HasRoleIn(RoleAuditor, 2) || a.HasRoleIn(RoleAuditor, 1) {
		t.Errorf("granted anew for term 2: in 1 %v, in 2 %v", a.HasRoleIn(RoleAuditor, 1), a.HasRoleIn(RoleAuditor, 2))
	}
	b := given(t, with(activated(), RoleGranted{UserID: id, Role: RoleAuditor, Term: 2}, RoleRevoked{UserID: id, Role: RoleAuditor}))
	if b.HasRoleIn(RoleAuditor, 2) || len(b.RolesIn(2)) != 0 {
		t.Error("a revoked role is still held in its term")
	}
	// A grant recorded before terms were kept counts as the first term's:
	// held in any term it would come back with every rejoin. Granted anew
	// in the second, it is recorded.
	c := given(t, with(activated(), RoleGranted{UserID: id, Role: RoleAdmin}))
	if !c.HasRoleIn(RoleAdmin, 1) || c.HasRoleIn(RoleAdmin, 2) || len(c.RolesIn(2)) != 0 {
		t.Errorf("a grant without a term: in 1 %v, in 2 %v", c.HasRoleIn(RoleAdmin, 1), c.HasRoleIn(RoleAdmin, 2))
	}
	then(t, c, c.GrantRole(RoleAdmin, 2, "800101141234", t0), nil, RoleGranted{UserID: id, Role: RoleAdmin, Term: 2})
}

// The auditor watches the administrators: an administrator who could make
// themselves auditor (or drop a role of their own) would watch themselves.
// Another administrator must; the console's actor is never an account.
func TestNobodyGrantsOrRemovesTheirOwnRole(t *testing.T) {
	a := given(t, with(activated(), RoleGranted{UserID: id, Role: RoleAdmin}))
	then(t, a, a.GrantRole(RoleAuditor, 1, id, t0), ErrOwnRole)
	then(t, a, a.GrantRole(RoleAdmin, 1, id, t0), ErrOwnRole)
	b := given(t, with(activated(), RoleGranted{UserID: id, Role: RoleAdmin}, RoleGranted{UserID: id, Role: RoleAuditor}))
	then(t, b, b.RevokeRole(RoleAuditor, id, t0), ErrOwnRole)
	then(t, b, b.RevokeRole(RoleAdmin, id, t0), ErrOwnAdminRole)
	c := given(t, activated())
	then(t, c, c.GrantRole(RoleAuditor, 1, "cli:pentadbir", t0), nil, RoleGranted{UserID: id, Role: RoleAuditor, Term: 1})
}

func TestCheckSecretAnswer(t *testing.T) {
	a := given(t, activated())
	ok, err := a.CheckSecretAnswer(typed("comot", nil), t0)
	then(t, a, err, nil, SecretAnswerChecked{UserID: id, Verified: true, At: t0})
	if !ok {
		t.Fatal("right answer not verified")
	}
	b := given(t, activated())
	ok, err = b.CheckSecretAnswer(typed("tompok", nil), t0)
	then(t, b, err, nil, SecretAnswerChecked{UserID: id, Verified: false, At: t0})
	if ok {
		t.Fatal("wrong answer verified")
	}
	c := given(t, registered())
	_, err = c.CheckSecretAnswer(typed("comot", nil), t0)
	then(t, c, err, ErrNotActivated)
}

// TestSecretAnswerChecksAreThrottled: the helpdesk's check is an oracle a
// caller can phone in guesses to, one call after another. After
// MaxAnswerMisses wrong answers in a row it is refused, without checking
// what was typed, until AnswerCheckCooldown has passed since the last one;
// a right answer ends the run.
func TestSecretAnswerChecksAreThrottled(t *testing.T) {
	miss := func(at time.Time) eventlog.Event { return SecretAnswerChecked{UserID: id, Verified: false, At: at} }
	three := with(activated(), miss(t0), miss(t0.Add(time.Minute)), miss(t0.Add(2*time.Minute)))

	a := given(t, three)
	calls := 0
	ok, err := a.CheckSecretAnswer(typed("comot", &calls), t0.Add(time.Hour))
	then(t, a, err, ErrAnswerChecksExhausted)
	if ok || calls != 0 {
		t.Fatalf("refused check: verified %v, %d hashings", ok, calls)
	}

	// Once the cooldown has passed since the last miss, one more check.
	later := t0.Add(2*time.Minute + AnswerCheckCooldown)
	b := given(t, three)
	ok, err = b.CheckSecretAnswer(typed("comot", nil), later)
	then(t, b, err, nil, SecretAnswerChecked{UserID: id, Verified: true, At: later})
	if !ok {
		t.Fatal("right answer after the cooldown not verified")
	}
	// A wrong one then starts another cooldown at once.
	c := given(t, with(three, miss(later)))
	_, err = c.CheckSecretAnswer(typed("comot", nil), later.Add(time.Minute))
	then(t, c, err, ErrAnswerChecksExhausted)

	// A right answer ends the run: two misses after it are not three.
	d := given(t, with(activated(), miss(t0), miss(t0), SecretAnswerChecked{UserID: id, Verified: true, At: t0}, miss(t0), miss(t0)))
	_, err = d.CheckSecretAnswer(typed("tompok", nil), t0)
	then(t, d, err, nil, miss(t0))
}

func TestEndSessions(t *testing.T) {
	a := given(t, activated())
	then(t, a, a.EndSessions(EndRequested, t0), nil, SessionsEnded{UserID: id, Reason: EndRequested})
}

// TestRequestMailResend: a parked registration mail is sent again while its
// temporary password is the outstanding one and unexpired; not once a newer
// one replaced it, it was used, or it expired. A notice is always worth
// sending. A second resend of the same dead letter is turned away while
// the first counts as under way (ResendLease), and allowed after it (the
// first process stopped before it cleared the dead letter).
func TestRequestMailResend(t *testing.T) {
	reg := MailResend{ParkedEventID: "ev-reg", MailEventID: "ev-reg", MailPosition: 2, Kind: "registration", TempID: "t1"}
	a := given(t, registered())
	then(t, a, a.RequestMailResend(reg, t0.Add(time.Hour)), nil,
		MailResendRequested{UserID: id, ParkedEventID: "ev-reg", MailEventID: "ev-reg", MailPosition: 2, Kind: "registration", At: t0.Add(time.Hour)})

	a = given(t, with(registered(), a.Uncommitted()...))
	then(t, a, a.RequestMailResend(reg, t0.Add(time.Hour+ResendLease-time.Second)), ErrResendUnderWay)
	if err := a.RequestMailResend(reg, t0.Add(time.Hour+ResendLease)); err != nil || len(a.Uncommitted()) != 1 {
		t.Fatalf("resend after the lease: %v, %d events", err, len(a.Uncommitted()))
	}
	// The resend of a resend refused again is another dead letter.
	again := reg
	again.ParkedEventID = "ev-resend"
	a = given(t, with(registered(), MailResendRequested{UserID: id, ParkedEventID: "ev-reg", MailEventID: "ev-reg", MailPosition: 2, Kind: "registration", At: t0}))
	if err := a.RequestMailResend(again, t0.Add(time.Minute)); err != nil {
		t.Fatalf("resend of the refused resend: %v", err)
	}

	a = given(t, registered())
	then(t, a, a.RequestMailResend(reg, t0.Add(24*time.Hour)), ErrMailExpired)
	a = given(t, with(registered(), TemporaryPasswordIssued{UserID: id, TempID: "t2", Hash: hash("temp2"), Sealed: "s", IssuedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), Reason: TempForgot}))
	then(t, a, a.RequestMailResend(reg, t0.Add(time.Hour)), ErrMailSuperseded)
	a = given(t, activated()) // t1 was used to activate
	then(t, a, a.RequestMailResend(reg, t0.Add(time.Hour)), ErrMailSuperseded)

	// A lock notice goes again however old: it names its own time.
	locked := MailResend{ParkedEventID: "ev-lock", MailEventID: "ev-lock", MailPosition: 5, Kind: "account_locked"}
	a = given(t, with(activated(), AccountLocked{UserID: id, FailedAttempts: 3}, AccountUnlocked{UserID: id, Reason: "r"}))
	then(t, a, a.RequestMailResend(locked, t0.Add(30*24*time.Hour)), nil,
		MailResendRequested{UserID: id, ParkedEventID: "ev-lock", MailEventID: "ev-lock", MailPosition: 5, Kind: "account_locked", At: t0.Add(30 * 24 * time.Hour)})

	a = New()
	then(t, a, a.RequestMailResend(locked, t0), ErrNotFound)
	a = given(t, activated())
	then(t, a, a.RequestMailResend(MailResend{ParkedEventID: "ev-lock"}, t0), ErrInvalid)
}

func TestApplyRefusesEventsThatDoNotFit(t *testing.T) {
	if err := New().Apply(LoginFailed{UserID: id}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("event before Registered: %v", err)
	}
	a := given(t, registered())
	if err := a.Apply(Registered{UserID: id}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("registered twice: %v", err)
	}
	if err := a.Apply(TOTPEnabled{UserID: id}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("TOTP enabled without enrolment: %v", err)
	}
	if err := a.Apply(RecoveryCodeUsed{UserID: id, Index: 3}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("recovery code out of range: %v", err)
	}
	type alien struct{ eventlog.Event }
	if err := a.Apply(alien{Registered{}}); err == nil {
		t.Error("unknown event applied")
	}
}

func TestRegistryRoundTrip(t *testing.T) {
	reg := eventlog.NewRegistry()
	Register(reg)
	all := with(totpOn(), LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 1}, AccountLocked{UserID: id, FailedAttempts: 3, Name: "n", Email: "e"},
		AccountUnlocked{UserID: id, Reason: "r"}, PasswordChanged{UserID: id, PasswordHash: "h", Via: ViaChange}, ProfileUpdated{UserID: id, Phone: "1"},
		TOTPCodeAccepted{UserID: id, Step: 5}, RecoveryCodeUsed{UserID: id, Index: 1}, TOTPDisabled{UserID: id, Reason: "r"}, RoleGranted{UserID: id, Role: RoleAdmin},
		RoleRevoked{UserID: id, Role: RoleAdmin}, SecretAnswerChecked{UserID: id, Verified: true}, SessionsEnded{UserID: id, Reason: EndLocked},
		MailResendRequested{UserID: id, ParkedEventID: "p", MailEventID: "m", MailPosition: 3, Kind: "registration", At: t0},
		EmailFollowedMaster{UserID: id, Email: "kewangan@melaka.gov.my", PreviousEmail: sitiEmail, Name: sitiName},
		NameFollowedMaster{UserID: id, Name: masterNewName, PreviousName: sitiName},
		RecoveryCodesReplaced{UserID: id, Step: 9, RecoveryCodeHashes: hashes(10), Name: sitiName, Email: sitiEmail})
	seen := map[string]bool{}
	for _, ev := range all {
		typ, env := eventlogtest.RoundTrip(t, reg, ev)
		if !reflect.DeepEqual(env.Event, ev) {
			t.Errorf("%s round trip:\n got  %+v\n want %+v", typ, env.Event, ev)
		}
		seen[typ] = true
	}
	if len(seen) != len(reg.Types()) {
		t.Errorf("round-tripped %d of %d registered types", len(seen), len(reg.Types()))
	}
}

// With TOTP on, a right password is not yet a login: the last login moves
// only when the code (or a recovery code) is accepted, to the password
// step's time. An abandoned code step leaves the owner's last login as it
// was; a code checked with no login pending moves nothing.
func TestLastLoginWaitsForTheSecondFactor(t *testing.T) {
	t1, t2, t3 := t0.Add(time.Hour), t0.Add(2*time.Hour), t0.Add(3*time.Hour)
	a := given(t, with(totpOn(),
		LoginSucceeded{UserID: id, SecondFactorRequired: true, At: t1},
		TOTPCodeAccepted{UserID: id, Step: 200},
		LoginSucceeded{UserID: id, SecondFactorRequired: true, At: t2}, // abandoned
	))
	if !a.LastLogin().Equal(t1) {
		t.Fatalf("last login after an abandoned code step: %v, want %v", a.LastLogin(), t1)
	}
	b := given(t, with(totpOn(),
		LoginSucceeded{UserID: id, SecondFactorRequired: true, At: t1},
		TOTPCodeAccepted{UserID: id, Step: 200},
		LoginSucceeded{UserID: id, SecondFactorRequired: true, At: t3},
		RecoveryCodeUsed{UserID: id, Index: 0},
		TOTPCodeAccepted{UserID: id, Step: 300}, // no login pending
	))
	if !b.LastLogin().Equal(t3) {
		t.Fatalf("last login after a recovery code: %v, want %v", b.LastLogin(), t3)
	}
}

// The login note (the home page's "last login before this one" and the
// failures since it) moves with completed logins only: every failure in
// between counts, an unlock does not reset it, a password step awaiting
// its code neither moves it nor hides the failures, and a step-up's code
// is no login.
func TestLoginNote(t *testing.T) {
	t1, t2, t3 := t0.Add(time.Hour), t0.Add(2*time.Hour), t0.Add(3*time.Hour)
	a := given(t, with(activated(),
		LoginSucceeded{UserID: id, At: t1},
		LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 1},
		LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 2},
		LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 3},
		AccountLocked{UserID: id, FailedAttempts: 3},
		LoginFailed{UserID: id, Reason: FailLocked, Consecutive: 3},
		AccountUnlocked{UserID: id},
		LoginSucceeded{UserID: id, At: t2},
	))
	if prev, failed := a.LoginNote(); !prev.Equal(t1) || failed != 4 {
		t.Fatalf("after three wrong passwords, a lock, an attempt while locked and an unlock: %v, %d failures; want %v, 4", prev, failed, t1)
	}
	completed := given(t, with(totpOn(),
		LoginSucceeded{UserID: id, SecondFactorRequired: true, At: t1},
		TOTPCodeAccepted{UserID: id, Step: 200},
	))
	b := given(t, with(totpOn(),
		LoginSucceeded{UserID: id, SecondFactorRequired: true, At: t1},
		TOTPCodeAccepted{UserID: id, Step: 200},
		LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 1},
		LoginSucceeded{UserID: id, SecondFactorRequired: true, At: t2}, // awaits its code
	))
	wantPrev, wantFailed := completed.LoginNote()
	if prev, failed := b.LoginNote(); !prev.Equal(wantPrev) || failed != wantFailed || !b.LastLogin().Equal(t1) {
		t.Fatalf("a password step awaiting its code moved the note: %v, %d, last %v; want %v, %d, %v", prev, failed, b.LastLogin(), wantPrev, wantFailed, t1)
	}
	b = given(t, with(totpOn(),
		LoginSucceeded{UserID: id, SecondFactorRequired: true, At: t1},
		TOTPCodeAccepted{UserID: id, Step: 200},
		LoginFailed{UserID: id, Reason: FailWrongPassword, Consecutive: 1},
		LoginSucceeded{UserID: id, SecondFactorRequired: true, At: t3},
		RecoveryCodeUsed{UserID: id, Index: 0},
		TOTPCodeAccepted{UserID: id, Step: 300, StepUp: true},
	))
	if prev, failed := b.LoginNote(); !prev.Equal(t1) || failed != 1 || !b.LastLogin().Equal(t3) {
		t.Fatalf("after a recovery code and a step-up: previous %v, %d failures, last %v; want %v, 1, %v", prev, failed, b.LastLogin(), t1, t3)
	}
}

// A login waiting for its next step keeps the count of the account's
// session ends it was decided at: an end since (here a password change,
// in the moment before its waiting session was made) refuses the step.
func TestCheckWaitingRefusesALoginDecidedBeforeAnEnd(t *testing.T) {
	a := given(t, activated())
	ends := a.SessionEnds()
	if err := a.CheckWaiting(ends); err != nil {
		t.Fatalf("a login decided at the current count: %v", err)
	}
	for _, ev := range []eventlog.Event{
		PasswordChanged{UserID: id, PasswordHash: hash("new horse"), Via: ViaChange},
		SessionsEnded{UserID: id, Reason: EndPasswordChanged},
	} {
		if err := a.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.CheckWaiting(ends); !errors.Is(err, ErrLoginOvertaken) {
		t.Fatalf("a login decided before the password change: %v, want ErrLoginOvertaken", err)
	}
	if err := a.CheckWaiting(a.SessionEnds()); err != nil {
		t.Fatalf("a login decided after it: %v", err)
	}
}

// Given a temporary password mailed to the old address (Lupa Kata Laluan),
// perhaps with a login made with it waiting for its TOTP code (the
// password stands until that code is accepted), when the owner moves the
// account to another address (Kemaskini Maklumat Pengguna, with the
// current password), then that temporary password no longer opens the
// account and the waiting login is overtaken: people move their address
// because the old mailbox is closing or read by someone else, who could
// otherwise still set the password. The owner's own sessions stay. An
// update that keeps the address cancels nothing.
func TestUpdateProfileWithANewEmailCancelsTheTemporaryPassword(t *testing.T) {
	forgot := TemporaryPasswordIssued{UserID: id, TempID: "t2", Hash: hash("temp2"), Sealed: "s",
		IssuedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), Reason: TempForgot}
	p := Profile{Email: "siti.aminah@jkr.melaka.gov.my"}
	for name, history := range map[string][]eventlog.Event{
		"outstanding":         with(activated(), forgot),
		"a login at its code": with(totpOn(), forgot, LoginSucceeded{UserID: id, Temporary: true, TempID: "t2", SecondFactorRequired: true, At: t0.Add(time.Minute)}),
	} {
		t.Run(name, func(t *testing.T) {
			a := given(t, history)
			ends := a.SessionEnds()
			then(t, a, a.UpdateProfile(p, typed("correct horse", nil), 3, t0.Add(2*time.Minute)), nil,
				ProfileUpdated{UserID: id, Email: p.Email, PreviousEmail: sitiEmail, Name: sitiName, TemporaryCancelled: true},
				SessionsEnded{UserID: id, Reason: EndEmailChanged, TemporaryLogins: true})
			b := given(t, with(history, a.Uncommitted()...))
			if err := b.CheckWaitingTemporary(ends); !errors.Is(err, ErrLoginOvertaken) {
				t.Fatalf("a login waiting with the temporary password: %v, want ErrLoginOvertaken", err)
			}
			if err := b.CheckWaiting(ends); err != nil {
				t.Fatalf("a login with the current password: %v", err)
			}
			if _, err := b.LogIn(typed("temp2", nil), 3, t0.Add(3*time.Minute)); !errors.Is(err, ErrWrongPassword) {
				t.Fatalf("the temporary password after the e-mail moved: %v", err)
			}
			if _, err := b.LogIn(typed("correct horse", nil), 3, t0.Add(4*time.Minute)); err != nil {
				t.Fatalf("the owner's password after the e-mail moved: %v", err)
			}
		})
	}
	// Without an outstanding temporary password: the address moves, no end.
	c := given(t, activated())
	then(t, c, c.UpdateProfile(p, typed("correct horse", nil), 3, t0), nil,
		ProfileUpdated{UserID: id, Email: p.Email, PreviousEmail: sitiEmail, Name: sitiName})
	// Keeping the address: the temporary password stands.
	d := given(t, with(activated(), forgot))
	then(t, d, d.UpdateProfile(Profile{Phone: "06-2307290", Email: sitiEmail}, typed("unused", nil), 3, t0), nil,
		ProfileUpdated{UserID: id, Phone: "06-2307290", Email: sitiEmail, Name: sitiName})
	if _, err := given(t, with(activated(), forgot, d.Uncommitted()[0])).LogIn(typed("temp2", nil), 3, t0.Add(time.Minute)); err != nil {
		t.Fatalf("the temporary password after a phone update: %v", err)
	}
}

// An e-mail change recorded before ProfileUpdated carried
// temporary_cancelled replays as it did: the temporary password stands.
func TestProfileUpdatedWithoutTheFlagReplaysAsBefore(t *testing.T) {
	forgot := TemporaryPasswordIssued{UserID: id, TempID: "t2", Hash: hash("temp2"), Sealed: "s",
		IssuedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), Reason: TempForgot}
	a := given(t, with(activated(), forgot, ProfileUpdated{UserID: id, Email: "siti.aminah@jkr.melaka.gov.my", PreviousEmail: sitiEmail, Name: sitiName}))
	if _, err := a.LogIn(typed("temp2", nil), 3, t0.Add(time.Minute)); err != nil {
		t.Fatalf("an old event's replay: %v", err)
	}
}
