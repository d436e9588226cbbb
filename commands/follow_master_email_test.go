package commands_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// Given Siti's account on the master's address and Nurul's on the shared
// mailbox, which Nurul then changed to her own, when the master moves
// each of them to a new mailbox, then Siti's account follows (recorded by
// the system, the run of failures kept) and Nurul's keeps her choice;
// Hafiz, who never registered, gets no account stream. The same command
// again appends nothing.
func TestFollowMasterEmail(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	const nurulPassword = "nasi lemak berlauk"
	f.activate(nurulIC, "pentadbiran.jkr@melaka.gov.my", nurulPassword)
	f.ok(f.h.UpdateProfile.Handle(ctx, commands.UpdateProfile{Meta: f.user(nurulIC), UserID: nurulIC,
		Profile: account.Profile{Email: "nurul.huda@jkr.melaka.gov.my"}, CurrentPassword: nurulPassword}))
	if _, err := f.logIn(sitiIC, "salah kata laluan"); !errors.Is(err, account.ErrWrongPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	follow := func(m commands.Meta, ic, from, to string) (commands.Result, error) {
		return f.h.FollowMasterEmail.Handle(ctx, commands.FollowMasterEmail{Meta: m, UserID: ic, PreviousEmail: from, Email: to})
	}
	sys := meta(eventlog.ActorSystem, "email_follower")

	res, err := follow(sys, sitiIC, "siti.aminah@melaka.gov.my", "Kewangan.Tengah@Melaka.gov.my")
	if err != nil || res.Appended != 2 {
		t.Fatalf("follow: %+v %v", res, err)
	}
	evs := f.events(f.accountStream(sitiIC))
	followed, ended := evs[len(evs)-2], evs[len(evs)-1]
	want := account.EmailFollowedMaster{UserID: sitiIC, Email: "kewangan.tengah@melaka.gov.my", PreviousEmail: "siti.aminah@melaka.gov.my", Name: "Siti Aminah binti Omar"}
	if followed.Event != want || followed.Metadata.Actor != sys.Actor || followed.Metadata.CausationID != sys.CommandID.String() {
		t.Fatalf("event %+v by %+v", followed.Event, followed.Metadata)
	}
	// With it, the logins waiting after a temporary password end (only
	// those).
	if ended.Event != (account.SessionsEnded{UserID: sitiIC, Reason: account.EndEmailChanged, TemporaryLogins: true}) {
		t.Fatalf("event after it: %+v", ended.Event)
	}
	// The same command again (a redelivered event): nothing.
	if res, err := follow(sys, sitiIC, "siti.aminah@melaka.gov.my", "kewangan.tengah@melaka.gov.my"); err != nil || res.Appended != 0 {
		t.Fatalf("repeat: %+v %v", res, err)
	}
	// Following proved nothing: the wrong password before it still counts,
	// two more lock.
	for range 2 {
		_, err = f.logIn(sitiIC, "salah lagi")
	}
	if !errors.Is(err, account.ErrLocked) {
		t.Fatalf("third failure after following: %v, want the lock", err)
	}

	n := len(f.events(f.accountStream(nurulIC)))
	if res, err := follow(meta(eventlog.ActorSystem, "email_follower"), nurulIC, "pentadbiran.jkr@melaka.gov.my", "pentadbiran@jkr.melaka.gov.my"); err != nil || res.Appended != 0 {
		t.Fatalf("owner's choice: %+v %v", res, err)
	}
	if len(f.events(f.accountStream(nurulIC))) != n {
		t.Fatal("the owner's own address was replaced")
	}

	if res, err := follow(meta(eventlog.ActorSystem, "email_follower"), hafizIC, "pentadbiran.jkr@melaka.gov.my", "hafiz@jkr.melaka.gov.my"); err != nil || res.Appended != 0 {
		t.Fatalf("no account: %+v %v", res, err)
	}
	if len(f.events(f.accountStream(hafizIC))) != 0 {
		t.Fatal("an account stream was started for someone who never registered")
	}
}

// Given Siti's first login with her temporary password waiting at
// Pengaktifan, and Nurul's login with a Lupa Kata Laluan password waiting
// for her new password, when HR moves each to a new address, then neither
// login completes: whoever read the old mailbox cannot activate the
// account or choose its password. Nothing is recorded. A login with the
// temporary password mailed to the new address afterwards completes.
func TestFollowMasterEmailOvertakesTheWaitingTemporaryLogins(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	sys := meta(eventlog.ActorSystem, "email_follower")
	follow := func(ic, from, to string) {
		t.Helper()
		f.ok(f.h.FollowMasterEmail.Handle(ctx, commands.FollowMasterEmail{Meta: sys, UserID: ic, PreviousEmail: from, Email: to}))
	}
	tempLogin := func(ic string) commands.LoginOutput {
		t.Helper()
		temp, _ := f.tempPassword(ic)
		out, _, err := f.h.LogIn.LogIn(ctx, commands.LogIn{Meta: f.anon(), UserID: ic, Password: temp})
		if err != nil || !out.Temporary {
			t.Fatalf("temporary login: %+v %v", out.LoginOutcome, err)
		}
		return out
	}

	f.register(sitiIC, "siti.aminah@melaka.gov.my")
	atActivation := tempLogin(sitiIC)
	follow(sitiIC, "siti.aminah@melaka.gov.my", "kewangan.tengah@melaka.gov.my")
	before := len(f.events(f.accountStream(sitiIC)))
	_, _, err := f.h.Activate.Activate(ctx, commands.ActivateAccount{Meta: f.user(sitiIC), UserID: sitiIC, Form: activationForm(sitiPassword),
		Waiting: &commands.WaitingLogin{Ends: atActivation.Grant.Ends}})
	if !errors.Is(err, account.ErrLoginOvertaken) {
		t.Fatalf("activation by the login waiting since before the e-mail followed the master: %v, want it overtaken", err)
	}
	if after := len(f.events(f.accountStream(sitiIC))); after != before {
		t.Fatalf("%d events recorded for an overtaken activation", after-before)
	}

	const nurulPassword = "nasi lemak berlauk"
	f.activate(nurulIC, "pentadbiran.jkr@melaka.gov.my", nurulPassword)
	f.advance(time.Hour)
	f.ok(f.h.ForgotPassword.Handle(ctx, commands.ForgotPassword{Meta: f.anon(), IC: nurulIC}))
	atReset := tempLogin(nurulIC)
	if !atReset.MustChangePassword {
		t.Fatalf("Lupa Kata Laluan's login: %+v, want the new password next", atReset.LoginOutcome)
	}
	follow(nurulIC, "pentadbiran.jkr@melaka.gov.my", "nurul.huda@jkr.melaka.gov.my")
	before = len(f.events(f.accountStream(nurulIC)))
	const chosen = "Bukit St Paul Petang 4"
	_, _, err = f.h.ResetPassword.Reset(ctx, commands.ResetPassword{Meta: f.user(nurulIC), UserID: nurulIC, NewPassword: chosen, ConfirmPassword: chosen,
		Waiting: &commands.WaitingLogin{Ends: atReset.Grant.Ends}})
	if !errors.Is(err, account.ErrLoginOvertaken) {
		t.Fatalf("new password by the login waiting since before the e-mail followed the master: %v, want it overtaken", err)
	}
	if after := len(f.events(f.accountStream(nurulIC))); after != before {
		t.Fatalf("%d events recorded for an overtaken new password", after-before)
	}

	// Lupa Kata Laluan again, mailed to the new address: its login
	// activates.
	f.advance(time.Hour)
	f.ok(f.h.ForgotPassword.Handle(ctx, commands.ForgotPassword{Meta: f.anon(), IC: sitiIC}))
	again := tempLogin(sitiIC)
	if _, _, err := f.h.Activate.Activate(ctx, commands.ActivateAccount{Meta: f.user(sitiIC), UserID: sitiIC, Form: activationForm(sitiPassword),
		Waiting: &commands.WaitingLogin{Ends: again.Grant.Ends}}); err != nil {
		t.Fatalf("activation by a login with the password mailed to the new address: %v", err)
	}
}

func TestFollowMasterEmailRefusals(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	follow := func(m commands.Meta, from, to string) error {
		_, err := f.h.FollowMasterEmail.Handle(ctx, commands.FollowMasterEmail{Meta: m, UserID: sitiIC, PreviousEmail: from, Email: to})
		return err
	}
	n := len(f.events(f.accountStream(sitiIC)))
	// Only the system (or an administrator) moves an account's address
	// without its password.
	for _, m := range []commands.Meta{f.user(sitiIC), f.anon(), meta(eventlog.ActorClient, "finance-sync")} {
		if err := follow(m, "siti.aminah@melaka.gov.my", "kewangan@melaka.gov.my"); !errors.Is(err, commands.ErrForbidden) {
			t.Fatalf("%+v: %v", m.Actor, err)
		}
	}
	var fe *employee.FieldError
	if err := follow(f.system(), "", "kewangan@melaka.gov.my"); !errors.As(err, &fe) || fe.Field != "previous_email" {
		t.Fatalf("no previous e-mail: %v", err)
	}
	if err := follow(f.system(), "siti.aminah@melaka.gov.my", "bukan e-mel"); !errors.As(err, &fe) || fe.Field != "email" {
		t.Fatalf("bad e-mail: %v", err)
	}
	if _, err := f.h.FollowMasterEmail.Handle(ctx, commands.FollowMasterEmail{Meta: commands.Meta{CommandID: uuid.New(), Actor: f.system().Actor}, UserID: "12345", PreviousEmail: "a@melaka.gov.my", Email: "b@melaka.gov.my"}); err == nil {
		t.Fatal("a bad user ID was accepted")
	}
	if len(f.events(f.accountStream(sitiIC))) != n {
		t.Fatal("a refused command appended events")
	}
}
