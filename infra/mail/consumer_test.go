package mail_test

import (
	"context"
	"crypto/rand"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	evsqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	"github.com/melaka-gov/ispeks/infra/mail"
	rssqlite "github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/infra/security"
	"github.com/melaka-gov/ispeks/projections/engine"
)

func newTestSealer(t *testing.T) *security.Sealer {
	t.Helper()
	master := make([]byte, 32)
	if _, err := rand.Read(master); err != nil {
		t.Fatal(err)
	}
	s, err := security.NewSealer(master)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// countingSender counts the attempts of a real sender.
type countingSender struct {
	mail.Sender
	attempts atomic.Int64
}

func (c *countingSender) Send(ctx context.Context, m mail.Message) error {
	c.attempts.Add(1)
	return c.Sender.Send(ctx, m)
}

// mailRig is the real write and read side: SQLite event store, SQLite read
// store, the projector engine running the mail consumer.
type mailRig struct {
	t      *testing.T
	events *evsqlite.Store
	views  *rssqlite.Store
	reg    *eventlog.Registry
	seal   *security.Sealer
	now    time.Time
}

func newMailRig(t *testing.T) *mailRig {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	events, err := evsqlite.Open(ctx, filepath.Join(dir, "events.db"), evsqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = events.Close() })
	views, err := rssqlite.Open(ctx, filepath.Join(dir, "views.db"), rssqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = views.Close() })
	reg := eventlog.NewRegistry()
	account.Register(reg)
	return &mailRig{t: t, events: events, views: views, reg: reg, seal: newTestSealer(t), now: time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)}
}

// run starts the consumer; the returned stop waits for it to end.
func (r *mailRig) run(sender mail.Sender) (stop func()) {
	r.t.Helper()
	eng, err := engine.New(engine.Config{
		Log: r.events, Store: r.views, Registry: r.reg,
		MaxRetries: 1, RetryInitial: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond,
		ConsumerBackoff: 20 * time.Millisecond, ConsumerMaxBackoff: 100 * time.Millisecond,
		ShutdownTimeout: 5 * time.Second,
	})
	if err != nil {
		r.t.Fatal(err)
	}
	c := &mail.Consumer{Sender: sender, Composer: testComposer(), Open: r.seal.Open}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.RunConsumer(ctx, mail.ConsumerName, c.Handle) }()
	// The first start records the consumer; wait for that so events
	// appended afterwards are after its starting point.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok, _ := r.views.Get(context.Background(), "consumers", mail.ConsumerName); ok {
			break
		}
		if time.Now().After(deadline) {
			r.t.Fatal("consumer did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				r.t.Error("consumer did not stop")
			}
		})
	}
	r.t.Cleanup(stop)
	return stop
}

// waitCheckpoint waits until the consumer has acknowledged position pos.
func (r *mailRig) waitCheckpoint(pos uint64) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cp, err := r.views.Checkpoint(context.Background(), mail.ConsumerName)
		if err != nil {
			r.t.Fatal(err)
		}
		if cp >= pos {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("consumer checkpoint %d, want %d", cp, pos)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *mailRig) append(stream string, ev eventlog.Event) eventlog.Record {
	r.t.Helper()
	typ, data, err := r.reg.Encode(ev)
	if err != nil {
		r.t.Fatal(err)
	}
	id := uuid.New()
	_, err = r.events.Append(context.Background(), stream, eventlog.Any(), []eventlog.Proposed{{
		ID: id, Type: typ, OccurredAt: r.now, Data: data,
		Metadata: eventlog.Metadata{Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "test"}},
	}})
	if err != nil {
		r.t.Fatal(err)
	}
	recs, err := r.events.ReadStream(context.Background(), stream, 0, eventlog.Backwards, 1)
	if err != nil || len(recs) != 1 || recs[0].ID != id {
		r.t.Fatalf("read back: %v %v", recs, err)
	}
	return recs[0]
}

func (r *mailRig) issue(userID, name, email, temp string, reason account.TempReason) (account.TemporaryPasswordIssued, eventlog.Record) {
	ev := account.TemporaryPasswordIssued{
		UserID: userID, TempID: uuid.NewString(), Hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		IssuedAt: r.now, ExpiresAt: r.now.Add(24 * time.Hour), Reason: reason, Name: name, Email: email,
	}
	sealed, err := r.seal.Seal([]byte(temp), ev.AAD())
	if err != nil {
		r.t.Fatal(err)
	}
	ev.Sealed = sealed
	return ev, r.append("account-"+userID, ev)
}

// newSMTPMailRig is a mail rig and an SMTP server inside the test
// (STARTTLS, AUTH) with a sender to it.
func newSMTPMailRig(t *testing.T) (*mailRig, *smtpServer, mail.Sender) {
	t.Helper()
	rig := newMailRig(t)
	pki := newTestPKI(t)
	srv := startSMTP(t, pki, false, "")
	sender, err := mail.NewSMTPSender(smtpURL("smtp", srv.user, srv.pass, srv.Addr, ""), pki.client)
	if err != nil {
		t.Fatal(err)
	}
	return rig, srv, sender
}

func TestConsumerMailsRegistrationAndForgotPasswordOverSMTP(t *testing.T) {
	rig, srv, sender := newSMTPMailRig(t)

	// Before the consumer's first start: history it must never mail.
	rig.issue("700101015001", "Orang Lama", "lama@melaka.gov.my", "old-temp-0001", account.TempRegistration)

	stop := rig.run(sender)
	_, regRec := rig.issue("850101045566", "Aminah binti Yusof", "kewangan@melaka.gov.my", "Reg-Temp-7Qx2", account.TempRegistration)
	_, fgtRec := rig.issue("900202055123", "Lim Wei Ming", "kewangan@melaka.gov.my", "Fgt-Temp-9Kp4", account.TempForgot)

	got := srv.wait(t, 2)
	checks := []struct {
		rec          eventlog.Record
		name, userID string
		temp         string
		marker       string
	}{
		{regRec, "Aminah binti Yusof", "850101045566", "Reg-Temp-7Qx2", "Pendaftaran anda di Portal iSPEKS telah berjaya"},
		{fgtRec, "Lim Wei Ming", "900202055123", "Fgt-Temp-9Kp4", "Kata laluan semasa anda masih boleh digunakan"},
	}
	for i, c := range checks {
		p := parseMail(t, got[i].Data)
		if got[i].To[0] != "kewangan@melaka.gov.my" || p.To.Address != "kewangan@melaka.gov.my" || p.To.Name != c.name {
			t.Errorf("mail %d: recipient %v / %v", i, got[i].To, p.To)
		}
		if want := "<" + c.rec.ID.String() + "@ispeks.melaka.gov.my>"; p.Header.Get("Message-Id") != want {
			t.Errorf("mail %d: Message-ID %q, want %q (derived from the event ID)", i, p.Header.Get("Message-Id"), want)
		}
		for _, want := range []string{c.name, "ID Pengguna: " + c.userID, "User ID: " + c.userID, c.temp, "03/03/2026 09:00", c.marker} {
			if !strings.Contains(p.Text, want) {
				t.Errorf("mail %d lacks %q", i, want)
			}
		}
		if strings.Contains(p.Text, "old-temp-0001") {
			t.Errorf("history before the first start was mailed")
		}
		if d, err := p.Header.Date(); err != nil || !d.Equal(rig.now) {
			t.Errorf("mail %d: Date %v (%v), want the event's time", i, d, err)
		}
	}

	// A restart resumes after what was acknowledged: nothing again. The
	// next event (a lock notice) is the third and last mail. (Delivery is at
	// least once: a mail sent but not yet acknowledged when the process
	// stops may go again, with the same Message-ID.)
	rig.waitCheckpoint(fgtRec.Position)
	stop()
	rig.run(sender)
	rig.append("account-850101045566", account.AccountLocked{UserID: "850101045566", FailedAttempts: 3, Name: "Aminah binti Yusof", Email: "kewangan@melaka.gov.my"})
	all := srv.wait(t, 3)
	if len(all) != 3 {
		t.Fatalf("%d mails after restart, want 3 (nothing re-sent)", len(all))
	}
	locked := parseMail(t, all[2].Data)
	if !strings.Contains(locked.Text, "disekat") || !strings.Contains(locked.Text, "850101045566") || strings.Contains(locked.Text, "Temp") {
		t.Errorf("lock notice: %q", locked.Text)
	}
}

// TestConsumerMailsSecurityNotices: a password change, an e-mail change (to
// the old address, the new one partly hidden), and TOTP switched on and off
// each mail the person over SMTP; a phone-only profile change and a
// password change written before the notices existed mail nothing.
func TestConsumerMailsSecurityNotices(t *testing.T) {
	rig, srv, sender := newSMTPMailRig(t)
	rig.run(sender)
	const ic, name = "850101045566", "Aminah binti Yusof"
	stream := "account-" + ic
	rig.append(stream, account.PasswordChanged{UserID: ic, PasswordHash: "$argon2id$old", Via: account.ViaChange}) // before the notices: no address
	rig.append(stream, account.PasswordChanged{UserID: ic, PasswordHash: "$argon2id$x", Via: account.ViaChange, Name: name, Email: "kewangan@melaka.gov.my"})
	rig.append(stream, account.ProfileUpdated{UserID: ic, Phone: "06-2307290", Email: "kewangan@melaka.gov.my", Name: name})
	rig.append(stream, account.ProfileUpdated{UserID: ic, Phone: "06-2307290", Email: "aminah.yusof@jkr.melaka.gov.my", PreviousEmail: "kewangan@melaka.gov.my", Name: name})
	rig.append(stream, account.TOTPEnabled{UserID: ic, Step: 1, RecoveryCodeHashes: []string{"h"}, Name: name, Email: "aminah.yusof@jkr.melaka.gov.my"})
	last := rig.append(stream, account.TOTPDisabled{UserID: ic, Reason: "telefon hilang", Name: name, Email: "aminah.yusof@jkr.melaka.gov.my"})
	rig.waitCheckpoint(last.Position)
	got := srv.wait(t, 4)
	if len(got) != 4 {
		t.Fatalf("%d mails, want 4", len(got))
	}
	want := []struct {
		to, subject string
		has         []string
	}{
		{"kewangan@melaka.gov.my", "kata laluan ditukar", []string{"Kata laluan akaun anda di Portal iSPEKS telah ditukar pada 02/03/2026 09:00", "ID Pengguna: " + ic}},
		{"kewangan@melaka.gov.my", "alamat e-mel ditukar", []string{"kepada a***@jkr.melaka.gov.my", "tidak akan dihantar ke alamat ini lagi"}},
		{"aminah.yusof@jkr.melaka.gov.my", "dua faktor diaktifkan", []string{"telah diaktifkan"}},
		{"aminah.yusof@jkr.melaka.gov.my", "dua faktor dimatikan", []string{"dimatikan oleh Pentadbir Sistem"}},
	}
	for i, w := range want {
		p := parseMail(t, got[i].Data)
		if got[i].To[0] != w.to || p.To.Address != w.to || p.To.Name != name {
			t.Errorf("mail %d: to %v / %v, want %s", i, got[i].To, p.To, w.to)
		}
		if !strings.Contains(p.Subject, w.subject) || !strings.Contains(p.Subject, name) {
			t.Errorf("mail %d: subject %q", i, p.Subject)
		}
		for _, h := range append(w.has, "hubungi Pentadbir Sistem", "contact the system administrator") {
			if !strings.Contains(p.Text, h) {
				t.Errorf("mail %d lacks %q:\n%s", i, h, p.Text)
			}
		}
		if i == 1 && strings.Contains(p.Text, "aminah.yusof@") {
			t.Errorf("the e-mail change notice shows the new address in full:\n%s", p.Text)
		}
	}
}

func TestConsumerRetriesWhileSMTPIsDownThenDeliversExactlyOnce(t *testing.T) {
	rig := newMailRig(t)
	pki := newTestPKI(t)
	// Reserve a port, then leave it closed: the server is down.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	smtpSender, err := mail.NewSMTPSender(smtpURL("smtp", "ispeks", "s3cret pass", addr, "timeout=2s"), pki.client)
	if err != nil {
		t.Fatal(err)
	}
	sender := &countingSender{Sender: smtpSender}
	rig.run(sender)
	_, rec := rig.issue("850101045566", "Aminah binti Yusof", "aminah@melaka.gov.my", "Down-Temp-1234", account.TempRegistration)

	// Several failed attempts, and the checkpoint stays before the event.
	deadline := time.Now().Add(15 * time.Second)
	for sender.attempts.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d attempts while the server is down", sender.attempts.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cp, err := rig.views.Checkpoint(context.Background(), mail.ConsumerName)
	if err != nil {
		t.Fatal(err)
	}
	if cp >= rec.Position {
		t.Fatalf("checkpoint %d moved past the unsent mail at %d", cp, rec.Position)
	}

	srv := startSMTP(t, pki, false, addr) // the server comes up
	first := srv.wait(t, 1)[0]
	p := parseMail(t, first.Data)
	if !strings.Contains(p.Text, "Down-Temp-1234") || p.Header.Get("Message-Id") != "<"+rec.ID.String()+"@ispeks.melaka.gov.my>" {
		t.Fatalf("delivered mail: %q %q", p.Header.Get("Message-Id"), p.Text)
	}
	// A following event is mailed after it, and the first is not repeated.
	rig.issue("900202055123", "Lim Wei Ming", "lim@melaka.gov.my", "Next-Temp-5678", account.TempForgot)
	all := srv.wait(t, 2)
	if len(all) != 2 || !strings.Contains(parseMail(t, all[1].Data).Text, "Next-Temp-5678") {
		t.Fatalf("want exactly the two mails in order, got %d", len(all))
	}
}

func TestConsumerOutboxAndPassOverRefusedMail(t *testing.T) {
	rig := newMailRig(t)
	dir := filepath.Join(t.TempDir(), "outbox")
	ob, err := mail.NewOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	rig.run(ob)
	// No e-mail in the event and no directory: refused for good, passed
	// over; the next mail still goes out.
	rig.issue("850101045566", "Tanpa Emel", "", "No-Mail-0000", account.TempRegistration)
	rig.issue("900202055123", "Lim Wei Ming", "lim@melaka.gov.my", "Outbox-Temp-42", account.TempAdmin)
	box := mail.NewMailbox(dir, nil)
	deadline := time.Now().Add(10 * time.Second)
	var list []mail.MailboxEntry
	for len(list) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no mail in the outbox")
		}
		time.Sleep(10 * time.Millisecond)
		if list, err = box.List(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(list) != 1 || list[0].To.Email != "lim@melaka.gov.my" {
		t.Fatalf("outbox: %+v", list)
	}
	m, err := box.Get(context.Background(), list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "Outbox-Temp-42") || !strings.Contains(m.Text, "Pentadbir Sistem telah mengeluarkan") {
		t.Fatalf("admin-issued mail: %q", m.Text)
	}
}
