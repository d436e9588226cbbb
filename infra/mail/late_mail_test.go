package mail_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/mail"
	"github.com/melaka-gov/ispeks/infra/mail/mailtest"
)

// testClock is the consumer's clock, moved by the test.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// downSMTP is an SMTP sender to an address where no server listens yet;
// up starts the server there.
func downSMTP(t *testing.T) (sender mail.Sender, up func() *mailtest.Server) {
	t.Helper()
	pki := mailtest.NewPKI(t)
	// Reserve a port, then leave it closed: the server is down.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	sender, err = mail.NewSMTPSender(smtpURL("smtp", "ispeks", "s3cret pass", addr, "timeout=2s"), pki.Client)
	if err != nil {
		t.Fatal(err)
	}
	return sender, func() *mailtest.Server { return mailtest.Start(t, pki, false, addr) }
}

// runLive runs the mailer as serve wires it: its clock, and the check of a
// temporary password against the account's stream as it is when sending.
func (r *mailRig) runLive(sender mail.Sender, clock *testClock) {
	check := commands.TempPasswordMailCheck{Runner: commands.Runner{Store: r.events, Registry: r.reg, Now: clock.Now}}
	r.run(sender, func(c *mail.Consumer) {
		c.Now, c.TempPasswordWorks = clock.Now, check.Check
	})
}

// TestConsumerAfterAnOutageLongerThanTheExpiryDoesNotSendDeadPasswords: the
// SMTP server is down for 26 hours. A registration mail from before the
// outage carries a temporary password that expired meanwhile: it is not
// sent, but parked so an operator sees whom to issue a new one for (and a
// resend of it sends nothing). The lock notice from the outage and a
// registration from its last hours go out, in order, once each, dated when
// they are sent, their text naming the lock's own time and the password's
// expiry. No log line names the person or the password.
func TestConsumerAfterAnOutageLongerThanTheExpiryDoesNotSendDeadPasswords(t *testing.T) {
	rig := newMailRig(t)
	sender, up := downSMTP(t)
	t0 := rig.now // 09:00 MYT, 2 March
	clock := &testClock{t: t0}
	rig.runLive(sender, clock)

	expired := rig.register("850101045566", "Aminah binti Yusof", "aminah@melaka.gov.my", "Old-Temp-1111")
	rig.now = t0.Add(time.Hour)
	clock.Set(rig.now)
	lock := rig.append("account-700101015001", account.AccountLocked{UserID: "700101015001", FailedAttempts: 3, Name: "Ahmad bin Ali", Email: "ahmad@melaka.gov.my"})
	rig.now = t0.Add(25 * time.Hour)
	clock.Set(rig.now)
	late := rig.register("900202055123", "Lim Wei Ming", "lim@melaka.gov.my", "New-Temp-2222")

	sent := t0.Add(26 * time.Hour)
	clock.Set(sent)
	// The server comes up only once the mailer has looked at the expired
	// mail with the new time: an attempt checked just before the clock
	// moved could otherwise reach the server just after it came up (the
	// test's 25 hours pass in microseconds; a real outage's do not).
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(rig.logs.String(), "mail not sent, parked"); {
		if time.Now().After(deadline) {
			t.Fatalf("the expired registration was not parked while the server was down:\n%s", rig.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	srv := up()
	got := srv.Wait(t, 2)
	rig.waitCheckpoint(late.Position)
	got = srv.Messages()
	if len(got) != 2 || got[0].To[0] != "ahmad@melaka.gov.my" || got[1].To[0] != "lim@melaka.gov.my" {
		t.Fatalf("delivered %v, want the lock notice then the late registration, once each", countTo(got))
	}
	for i, want := range []struct {
		mail int
		rec  eventlog.Record
		text string
	}{
		{0, lock, "disekat pada 02/03/2026 10:00"}, // the lock's own time
		{1, late, "New-Temp-2222"},
		{1, late, "04/03/2026 10:00"}, // its expiry, 24 hours after issue
	} {
		p := parseMail(t, got[want.mail].Data)
		if !strings.Contains(p.Text, want.text) {
			t.Errorf("mail %d lacks %q:\n%s", i, want.text, p.Text)
		}
		if d, err := p.Header.Date(); err != nil || !d.Equal(sent) {
			t.Errorf("mail %d: Date %v (%v), want %v: when it was sent, not its event's %v", i, d, err, sent, want.rec.OccurredAt)
		}
	}
	for _, m := range got {
		if strings.Contains(string(m.Data), "Old-Temp-1111") {
			t.Fatalf("the expired temporary password was mailed")
		}
	}

	ctx := context.Background()
	dls, err := rig.eng.DeadLetters(ctx, mail.ConsumerName, 0)
	if err != nil || len(dls) != 1 || dls[0].Position != expired.Position || !strings.Contains(dls[0].Error, "has expired") ||
		!strings.Contains(dls[0].Error, "ispeks admin temporary-password") {
		t.Fatalf("dead letters %+v (%v), want the expired registration, naming the remedy", dls, err)
	}
	res, err := rig.resender(sender, clock.Now).Resend(ctx, expired.Position)
	if err != nil || res.Outcome != mail.NotWorthSending || len(srv.Messages()) != 2 {
		t.Fatalf("resend of the expired mail: %+v, %v; %d mails; want not worth sending", res, err, len(srv.Messages()))
	}

	logs := rig.logs.String()
	if !strings.Contains(logs, "mail not sent, parked") {
		t.Errorf("the skipped mail is not logged:\n%s", logs)
	}
	for _, secret := range []string{"850101045566", "Old-Temp-1111", "aminah@"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains %q:\n%s", secret, logs)
		}
	}
}

// TestConsumerAfterAnOutageSendsOnlyTheCurrentTemporaryPassword: during an
// hour's outage one person asked for a new temporary password after
// registering, and another changed their e-mail address after registering.
// Once the server is back the first gets only the newer password (the
// replaced one is passed over, nothing to do for anyone), the second's
// password does not go to the address the account left (parked, as a
// resend would refuse it), and the notice of the change goes to the old
// address as always.
func TestConsumerAfterAnOutageSendsOnlyTheCurrentTemporaryPassword(t *testing.T) {
	rig := newMailRig(t)
	sender, up := downSMTP(t)
	clock := &testClock{t: rig.now}
	rig.runLive(sender, clock)

	const lim, aminah = "900202055123", "850101045566"
	rig.register(lim, "Lim Wei Ming", "lim@melaka.gov.my", "Replaced-Temp-1")
	rig.issue(lim, "Lim Wei Ming", "lim@melaka.gov.my", "Current-Temp-2", account.TempForgot)
	left := rig.register(aminah, "Aminah binti Yusof", "kewangan@melaka.gov.my", "Left-Temp-3")
	moved := rig.append("account-"+aminah, account.ProfileUpdated{UserID: aminah, Email: "aminah.yusof@jkr.melaka.gov.my", PreviousEmail: "kewangan@melaka.gov.my", Name: "Aminah binti Yusof"})

	clock.Set(rig.now.Add(time.Hour))
	srv := up()
	srv.Wait(t, 2)
	rig.waitCheckpoint(moved.Position)
	got := srv.Messages()
	if len(got) != 2 {
		t.Fatalf("delivered %v, want the current password and the change notice", countTo(got))
	}
	first, second := parseMail(t, got[0].Data), parseMail(t, got[1].Data)
	if got[0].To[0] != "lim@melaka.gov.my" || !strings.Contains(first.Text, "Current-Temp-2") {
		t.Errorf("first mail to %v:\n%s\nwant the newer temporary password", got[0].To, first.Text)
	}
	if got[1].To[0] != "kewangan@melaka.gov.my" || !strings.Contains(second.Subject, "alamat emel ditukar") {
		t.Errorf("second mail to %v, %q: want the change notice to the old address", got[1].To, second.Subject)
	}
	for _, m := range got {
		for _, secret := range []string{"Replaced-Temp-1", "Left-Temp-3"} {
			if strings.Contains(string(m.Data), secret) {
				t.Errorf("%s was mailed to %v", secret, m.To)
			}
		}
	}
	dls, err := rig.eng.DeadLetters(context.Background(), mail.ConsumerName, 0)
	if err != nil || len(dls) != 1 || dls[0].Position != left.Position || !strings.Contains(dls[0].Error, "no longer has") {
		t.Fatalf("dead letters %+v (%v), want only the password to the address the account left", dls, err)
	}
	if logs := rig.logs.String(); !strings.Contains(logs, "mail not sent: the temporary password in this mail was replaced or used since") {
		t.Errorf("the replaced password's mail is not logged as passed over:\n%s", logs)
	}
}

// TestOutboxKeepsOneFileForAMailSentAgainLater: the outbox names a file by
// the time the mail tells of, not by its Date (when it is sent), so the
// same mail written again later (a retry after a crash, a resend) replaces
// its file instead of adding a second.
func TestOutboxKeepsOneFileForAMailSentAgainLater(t *testing.T) {
	dir := t.TempDir()
	ob, err := mail.NewOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := composed(testComposer().AccountLocked(mail.Recipient{Name: "Aminah binti Yusof", UserID: "850101045566", Email: "aminah@melaka.gov.my"}, time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC), 3))
	m.Occurred = time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	for _, sent := range []time.Time{m.Occurred.Add(time.Minute), m.Occurred.Add(48 * time.Hour)} {
		m.Date = sent
		if err := ob.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	list, err := mail.NewMailbox(dir, nil).List(context.Background())
	if err != nil || len(list) != 1 || !list[0].Date.Equal(m.Occurred.Add(48*time.Hour)) {
		t.Fatalf("outbox %+v (%v), want one file holding the later send", list, err)
	}
}

// noSend fails the test on any mail.
type noSend struct{ t *testing.T }

func (s noSend) Send(context.Context, mail.Message) error {
	s.t.Error("a mail was sent")
	return nil
}

// TestConsumerDecidesAStalePasswordBeforeOpeningIt: a temporary-password
// mail whose sealed password no longer opens (the key changed) is decided
// by the staleness check alone: skipped when a newer password replaced it,
// parked when it expired, not retried for ever for a secret nobody needs.
// One that still works is retried, since an operator can restore the key.
func TestConsumerDecidesAStalePasswordBeforeOpeningIt(t *testing.T) {
	ev := account.TemporaryPasswordIssued{
		UserID: "850101045566", TempID: "t-1", Sealed: "sealed-with-an-old-key",
		ExpiresAt: time.Date(2026, 3, 3, 1, 0, 0, 0, time.UTC), Reason: account.TempRegistration,
		Name: "Aminah binti Yusof", Email: "aminah@melaka.gov.my",
	}
	env := eventlog.Envelope{Record: eventlog.Record{ID: uuid.New(), Type: ev.EventType()}, Event: ev}
	for _, tc := range []struct {
		check error
		want  string // "" nil, else in the error
	}{
		{account.ErrMailSuperseded, ""},
		{account.ErrMailExpired, "event parked"},
		{account.ErrMailAddressLeft, "event parked"},
		{nil, "open temporary password"},
	} {
		c := &mail.Consumer{
			Sender: noSend{t}, Composer: testComposer(),
			Open: func(string, []byte) ([]byte, error) { return nil, errors.New("security: cannot open") },
			Log:  slog.New(slog.DiscardHandler),
			TempPasswordWorks: func(context.Context, string, string, string, time.Time) error {
				return tc.check
			},
		}
		err := c.Handle(context.Background(), env)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("check says %v: Handle %v, want %q", tc.check, err, tc.want)
		}
	}
}
