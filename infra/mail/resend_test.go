package mail_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/mail"
)

// resender is what `ispeks mail resend` builds: its own mailer over the
// same composer, sealer and sender, the real event store, the engine's
// dead letters, and the real command that records the resend, deciding at
// clock's time, with a console operator as actor.
func (r *mailRig) resender(sender mail.Sender, clock func() time.Time) *mail.Resender {
	runner := commands.Runner{Store: r.events, Registry: r.reg, Now: clock}
	logger := slog.New(slog.NewTextHandler(r.logs, nil))
	return &mail.Resender{
		Mailer:      &mail.Consumer{Sender: sender, Composer: testComposer(), Open: r.seal.Open, Log: logger},
		Events:      r.events,
		Registry:    r.reg,
		DeadLetters: r.eng,
		Record: func(ctx context.Context, userID string, rs account.MailResend) (uint64, error) {
			res, err := commands.RequestMailResendHandler{Runner: runner}.Handle(ctx, commands.RequestMailResend{
				Meta:   commands.Meta{CommandID: uuid.New(), Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "cli:operator"}},
				UserID: userID, Resend: rs,
			})
			return res.Position, err
		},
		Log: logger,
	}
}

// register records an account with its first temporary password.
func (r *mailRig) register(userID, name, email, temp string) eventlog.Record {
	r.t.Helper()
	r.append("account-"+userID, account.Registered{UserID: userID, Name: name, Email: email})
	_, rec := r.issue(userID, name, email, temp, account.TempRegistration)
	return rec
}

// TestResendParkedMailOnceTheMailboxAccepts: a registration mail to a full
// mailbox ("452 4.2.2 Mailbox full") is parked; the list shows it without
// the address or the password; once the mailbox accepts, a resend delivers
// it exactly once over the same SMTP transport, with the Message-ID of its
// event, records the resend with the operator as actor and clears the dead
// letter. A second resend of it is a no-op that says so; a position where
// nothing was parked is an error. No log line names an address or the
// password.
func TestResendParkedMailOnceTheMailboxAccepts(t *testing.T) {
	rig, srv, sender := newSMTPMailRig(t)
	const full = "kewangan@melaka.gov.my"
	srv.Refuse(full, 452, smtp.EnhancedCode{4, 2, 2}, "Mailbox full")
	rig.run(sender, func(c *mail.Consumer) { c.DeferFor = 300 * time.Millisecond })
	parked := rig.register("850101045566", "Aminah binti Yusof", full, "Reg-Temp-7Qx2")
	sent := rig.register("900202055123", "Lim Wei Ming", "lim@melaka.gov.my", "Lim-Temp-5678")
	srv.Wait(t, 1)
	rig.waitCheckpoint(sent.Position)

	rs := rig.resender(sender, func() time.Time { return rig.now.Add(time.Hour) })
	ctx := context.Background()
	list, err := rs.Parked(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Position != parked.Position || list[0].Kind != "registration" || list[0].To != "k***@melaka.gov.my" ||
		list[0].UserID != "850101-04-****" || !strings.Contains(list[0].Reason, "Mailbox full") || !list[0].Expires.Equal(rig.now.Add(24*time.Hour)) {
		t.Fatalf("parked mails %+v, want the registration to the full mailbox, masked", list)
	}

	srv.Refuse(full, 0, smtp.EnhancedCode{}, "") // the department emptied its mailbox
	res, err := rs.Resend(ctx, parked.Position)
	if err != nil || res.Outcome != mail.Sent || res.Kind != "registration" || res.To != "k***@melaka.gov.my" || res.Resend == 0 {
		t.Fatalf("resend: %+v, %v", res, err)
	}
	got := srv.Messages()
	if len(got) != 2 {
		t.Fatalf("%d mails delivered, want the first and the resent one", len(got))
	}
	p := parseMail(t, got[1].Data)
	if got[1].To[0] != full || p.Header.Get("Message-Id") != "<"+parked.ID.String()+"@ispeks.melaka.gov.my>" || !strings.Contains(p.Text, "Reg-Temp-7Qx2") {
		t.Fatalf("resent mail to %v, Message-ID %q:\n%s", got[1].To, p.Header.Get("Message-Id"), p.Text)
	}
	if dls, err := rig.eng.DeadLetters(ctx, mail.ConsumerName, 0); err != nil || len(dls) != 0 {
		t.Fatalf("dead letters after the resend %+v (%v), want none", dls, err)
	}
	recs, err := rig.events.ReadAll(ctx, res.Resend-1, 1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("the resend's event: %v %v", recs, err)
	}
	env, err := rig.reg.Decode(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	if ev, ok := env.Event.(account.MailResendRequested); !ok || ev.MailEventID != parked.ID.String() || ev.Kind != "registration" || env.Metadata.Actor.ID != "cli:operator" {
		t.Fatalf("the resend recorded %+v by %+v", env.Event, env.Metadata.Actor)
	}

	again, err := rs.Resend(ctx, parked.Position)
	if err != nil || again.Outcome != mail.AlreadyResent || !strings.Contains(again.Detail, "cli:operator") {
		t.Fatalf("second resend: %+v, %v; want a no-op naming the first", again, err)
	}
	if n := len(srv.Messages()); n != 2 {
		t.Fatalf("%d mails after the second resend, want still 2", n)
	}
	for _, pos := range []uint64{sent.Position, 9999} {
		if _, err := rs.Resend(ctx, pos); !errors.Is(err, mail.ErrNotParked) {
			t.Fatalf("resend of position %d, never parked: %v", pos, err)
		}
	}
	logs := rig.logs.String()
	if !strings.Contains(logs, "parked mail sent again") {
		t.Errorf("the resend is not logged:\n%s", logs)
	}
	for _, secret := range []string{"kewangan@", "lim@", "850101045566", "Reg-Temp-7Qx2"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains %q:\n%s", secret, logs)
		}
	}
}

// TestResendRefusedAgainThenExpired: a mail refused for good is parked; a
// resend while the mailbox still refuses moves the dead letter to the
// resend's event; resending the old position says where it is parked now;
// once the temporary password has expired, a resend sends nothing and
// clears the dead letter. A lock notice parked alongside is resent through
// the outbox, into the file name the mailer would have used.
func TestResendRefusedAgainThenExpired(t *testing.T) {
	rig, srv, sender := newSMTPMailRig(t)
	const gone = "bekas.pegawai@melaka.gov.my"
	srv.Refuse(gone, 550, smtp.EnhancedCode{5, 1, 1}, "No such user")
	rig.run(sender)
	parked := rig.register("850101045566", "Aminah binti Yusof", gone, "Gone-Temp-0001")
	lockedAt := rig.now
	lock := rig.append("account-850101045566", account.AccountLocked{UserID: "850101045566", FailedAttempts: 3, Name: "Aminah binti Yusof", Email: gone})
	rig.waitCheckpoint(lock.Position)
	ctx := context.Background()

	clock := rig.now.Add(time.Hour)
	rs := rig.resender(sender, func() time.Time { return clock })
	res, err := rs.Resend(ctx, parked.Position)
	if err != nil || res.Outcome != mail.RefusedAgain || res.ParkedAt != res.Resend || !strings.Contains(res.Detail, "No such user") || strings.Contains(res.Detail, "@") {
		t.Fatalf("resend to a mailbox still refusing: %+v, %v", res, err)
	}
	list, err := rs.Parked(ctx)
	if err != nil || len(list) != 2 || list[0].Position != lock.Position || list[1].Position != res.ParkedAt || list[1].ResendOf != parked.Position || list[1].Kind != "registration" {
		t.Fatalf("parked after the refused resend %+v (%v), want the lock notice and the resend", list, err)
	}
	old, err := rs.Resend(ctx, parked.Position)
	if err != nil || old.Outcome != mail.AlreadyResent || old.ParkedAt != res.ParkedAt {
		t.Fatalf("resend of the old position: %+v, %v; want it to point at %d", old, err, res.ParkedAt)
	}

	clock = rig.now.Add(25 * time.Hour)
	srv.Refuse(gone, 0, smtp.EnhancedCode{}, "")
	late, err := rs.Resend(ctx, res.ParkedAt)
	if err != nil || late.Outcome != mail.NotWorthSending || !strings.Contains(late.Detail, "expired") {
		t.Fatalf("resend of an expired temporary password: %+v, %v", late, err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d mails sent, want none (the password expired)", n)
	}

	// The lock notice names its own time: worth sending however late.
	outbox, err := mail.NewOutbox(filepath.Join(t.TempDir(), "outbox"))
	if err != nil {
		t.Fatal(err)
	}
	res, err = rig.resender(outbox, func() time.Time { return clock }).Resend(ctx, lock.Position)
	if err != nil || res.Outcome != mail.Sent || res.Kind != "account_locked" {
		t.Fatalf("resend of the lock notice: %+v, %v", res, err)
	}
	want := mail.FileID(mail.Message{MessageID: testComposer().MessageID(lock.ID), Date: lockedAt}) + ".eml"
	if _, err := os.Stat(filepath.Join(outbox.Dir(), want)); err != nil {
		t.Fatalf("the resent notice is not the outbox file the mailer names %s: %v", want, err)
	}
	if dls, err := rig.eng.DeadLetters(ctx, mail.ConsumerName, 0); err != nil || len(dls) != 0 {
		t.Fatalf("dead letters left %+v (%v), want none", dls, err)
	}
}

// TestResendRefusedAgainWhileThePortalIsStopped: a registration mail to a
// closed mailbox is parked; the portal is stopped (maintenance), and the
// operator's resend is refused again, which parks it at the resend's
// record. Once the mailbox is open again, a resend of that record goes out
// at once, exactly once: the mailer, stopped or with no mail to send, never
// passes a resend's record (it is no mail event), and it never mails such
// a record, so there is nothing to wait for.
func TestResendRefusedAgainWhileThePortalIsStopped(t *testing.T) {
	rig, srv, sender := newSMTPMailRig(t)
	const closed = "pentadbiran@melaka.gov.my"
	srv.Refuse(closed, 550, smtp.EnhancedCode{5, 1, 1}, "Mailbox disabled")
	stop := rig.run(sender)
	parked := rig.register("850101045566", "Aminah binti Yusof", closed, "Stop-Temp-0001")
	rig.waitCheckpoint(parked.Position)
	stop()

	ctx := context.Background()
	rs := rig.resender(sender, func() time.Time { return rig.now.Add(time.Hour) })
	res, err := rs.Resend(ctx, parked.Position)
	if err != nil || res.Outcome != mail.RefusedAgain {
		t.Fatalf("resend to the closed mailbox: %+v, %v", res, err)
	}
	srv.Refuse(closed, 0, smtp.EnhancedCode{}, "") // the mailbox is open again
	again, err := rs.Resend(ctx, res.ParkedAt)
	if err != nil || again.Outcome != mail.Sent {
		t.Fatalf("resend of the refused resend with the portal stopped: %+v, %v; want sent", again, err)
	}
	got := srv.Messages()
	if len(got) != 1 || got[0].To[0] != closed || !strings.Contains(parseMail(t, got[0].Data).Text, "Stop-Temp-0001") {
		t.Fatalf("%d mails delivered, want the registration once", len(got))
	}
	if dls, err := rig.eng.DeadLetters(ctx, mail.ConsumerName, 0); err != nil || len(dls) != 0 {
		t.Fatalf("dead letters after the resend %+v (%v), want none", dls, err)
	}
	// The portal starts again: its mailer sends nothing more.
	rig.run(sender)
	next := rig.register("900202055123", "Lim Wei Ming", "lim@melaka.gov.my", "Lim-Temp-5678")
	rig.waitCheckpoint(next.Position)
	if n := len(srv.Messages()); n != 2 {
		t.Fatalf("%d mails after the portal started again, want 2 (the resent one and Lim's)", n)
	}
}

// TestResendWaitsForTheMailerToPassTheEvent: a dead letter ahead of the
// mailer's checkpoint (recorded, not yet acknowledged: after a restart the
// mailer would handle the event again) is not resent.
func TestResendWaitsForTheMailerToPassTheEvent(t *testing.T) {
	rig, _, sender := newSMTPMailRig(t)
	stop := rig.run(sender)
	stop()
	rec := rig.register("850101045566", "Aminah binti Yusof", "aminah@melaka.gov.my", "Ahead-Temp-01")
	ctx := context.Background()
	if err := rig.eng.ReplaceDeadLetter(ctx, mail.ConsumerName, "none", rec, "registration mail: refused for good"); err != nil {
		t.Fatal(err)
	}
	rs := rig.resender(sender, func() time.Time { return rig.now })
	if _, err := rs.Resend(ctx, rec.Position); !errors.Is(err, mail.ErrNotPassed) {
		t.Fatalf("resend ahead of the mailer: %v", err)
	}
}

// TestResendDoesNotSendATemporaryPasswordToAnAddressTheAccountLeft: a
// registration mail to a closed mailbox is parked; HR then moves the person
// to a new official address and the account follows it (the same holds for
// the owner's own change). The old address may be handed on to someone
// else, so a resend must not take the still-valid temporary password there:
// nothing is sent, the dead letter is cleared, and the operator is told to
// issue a new one (which goes to the account's address now).
func TestResendDoesNotSendATemporaryPasswordToAnAddressTheAccountLeft(t *testing.T) {
	rig, srv, sender := newSMTPMailRig(t)
	const old, moved = "bekas.pegawai@melaka.gov.my", "aminah.baru@melaka.gov.my"
	srv.Refuse(old, 550, smtp.EnhancedCode{5, 1, 1}, "No such user")
	rig.run(sender)
	parked := rig.register("850101045566", "Aminah binti Yusof", old, "Moved-Temp-0001")
	follow := rig.append("account-850101045566", account.EmailFollowedMaster{UserID: "850101045566", Email: moved, PreviousEmail: old, Name: "Aminah binti Yusof"})
	srv.Wait(t, 1) // the notice to the new address
	rig.waitCheckpoint(follow.Position)

	srv.Refuse(old, 0, smtp.EnhancedCode{}, "") // the old mailbox, handed on, accepts again
	ctx := context.Background()
	res, err := rig.resender(sender, func() time.Time { return rig.now.Add(time.Hour) }).Resend(ctx, parked.Position)
	if err != nil || res.Outcome != mail.NotWorthSending {
		t.Fatalf("resend after the account's e-mail moved: %+v, %v; want not worth sending", res, err)
	}
	for _, m := range srv.Messages() {
		if m.To[0] == old {
			t.Fatalf("the temporary password went to the address the account left")
		}
	}
	if dls, err := rig.eng.DeadLetters(ctx, mail.ConsumerName, 0); err != nil || len(dls) != 0 {
		t.Fatalf("dead letters left %+v (%v), want none", dls, err)
	}
}

// TestParkedSaysWhichMailsAResendWouldNotSend: the list of parked mails
// notes, by the rule a resend obeys, every temporary password a resend
// would refuse: not only one that expired, but one a newer password
// replaced. A password that still works and a notice carry no note.
func TestParkedSaysWhichMailsAResendWouldNotSend(t *testing.T) {
	rig, srv, sender := newSMTPMailRig(t)
	const gone = "bekas.pegawai@melaka.gov.my"
	srv.Refuse(gone, 550, smtp.EnhancedCode{5, 1, 1}, "No such user")
	rig.run(sender)
	replaced := rig.register("850101045566", "Aminah binti Yusof", gone, "Old-Temp-0001")
	rig.waitCheckpoint(replaced.Position)
	_, newer := rig.issue("850101045566", "Aminah binti Yusof", gone, "New-Temp-0002", account.TempAdmin)
	lock := rig.append("account-850101045566", account.AccountLocked{UserID: "850101045566", FailedAttempts: 3, Name: "Aminah binti Yusof", Email: gone})
	rig.waitCheckpoint(lock.Position)

	clock := func() time.Time { return rig.now.Add(time.Hour) }
	rs := rig.resender(sender, clock)
	check := commands.TempPasswordMailCheck{Runner: commands.Runner{Store: rig.events, Registry: rig.reg, Now: clock}}
	rs.Mailer.Now, rs.Mailer.TempPasswordWorks = clock, check.Check
	list, err := rs.Parked(context.Background())
	if err != nil || len(list) != 3 {
		t.Fatalf("parked %+v (%v), want the replaced and the newer password and the lock notice", list, err)
	}
	want := map[uint64]error{replaced.Position: account.ErrMailSuperseded, newer.Position: nil, lock.Position: nil}
	for _, p := range list {
		if w := want[p.Position]; !errors.Is(p.WillNotSend, w) || (w == nil) != (p.WillNotSend == nil) {
			t.Errorf("position %d (%s): WillNotSend %v, want %v", p.Position, p.Kind, p.WillNotSend, w)
		}
	}
}
