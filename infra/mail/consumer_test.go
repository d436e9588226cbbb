package mail_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	evsqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	"github.com/melaka-gov/ispeks/infra/mail"
	"github.com/melaka-gov/ispeks/infra/mail/mailtest"
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
	eng    *engine.Engine // the last one run
	logs   *syncBuffer    // everything the engine and the consumer logged
	dir    string         // of events.db and views.db
}

// syncBuffer is a log sink the engine's goroutines may write concurrently.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
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
	return &mailRig{t: t, events: events, views: views, reg: reg, seal: newTestSealer(t), now: time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC), logs: &syncBuffer{}, dir: dir}
}

// run starts the consumer (configure may adjust it); the returned stop
// waits for it to end.
func (r *mailRig) run(sender mail.Sender, configure ...func(*mail.Consumer)) (stop func()) {
	r.t.Helper()
	return r.runOn(r.events, r.views, sender, configure...)
}

// runOn is run over the given stores: the same files opened again stand
// for another process on the same data directory.
func (r *mailRig) runOn(events *evsqlite.Store, views *rssqlite.Store, sender mail.Sender, configure ...func(*mail.Consumer)) (stop func()) {
	r.t.Helper()
	logger := slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	eng, err := engine.New(engine.Config{
		Logger: logger,
		Log:    events, Store: views, Registry: r.reg,
		MaxRetries: 1, RetryInitial: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond,
		ConsumerBackoff: 20 * time.Millisecond, ConsumerMaxBackoff: 100 * time.Millisecond,
		ShutdownTimeout: 5 * time.Second, ConsumerLease: 300 * time.Millisecond,
	})
	if err != nil {
		r.t.Fatal(err)
	}
	c := &mail.Consumer{Sender: sender, Composer: testComposer(), Open: r.seal.Open, Log: logger}
	for _, f := range configure {
		f(c)
	}
	r.eng = eng
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	// As `serve` runs it: only the mail events reach it, so its checkpoint
	// moves only with them.
	go func() { done <- eng.RunConsumer(ctx, mail.ConsumerName, c.Handle, c.Handles()...) }()
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
func newSMTPMailRig(t *testing.T) (*mailRig, *mailtest.Server, mail.Sender) {
	t.Helper()
	rig := newMailRig(t)
	pki := mailtest.NewPKI(t)
	srv := mailtest.Start(t, pki, false, "")
	sender, err := mail.NewSMTPSender(smtpURL("smtp", srv.User, srv.Pass, srv.Addr, ""), pki.Client)
	if err != nil {
		t.Fatal(err)
	}
	return rig, srv, sender
}

func TestConsumerMailsRegistrationAndForgotPasswordOverSMTP(t *testing.T) {
	rig, srv, sender := newSMTPMailRig(t)

	// Before the consumer's first start: history it must never mail.
	rig.issue("700101015001", "Orang Lama", "lama@melaka.gov.my", "old-temp-0001", account.TempRegistration)

	sentAt := rig.now.Add(90 * time.Second)
	stop := rig.run(sender, func(c *mail.Consumer) { c.Now = func() time.Time { return sentAt } })
	_, regRec := rig.issue("850101045566", "Aminah binti Yusof", "kewangan@melaka.gov.my", "Reg-Temp-7Qx2", account.TempRegistration)
	_, fgtRec := rig.issue("900202055123", "Lim Wei Ming", "kewangan@melaka.gov.my", "Fgt-Temp-9Kp4", account.TempForgot)

	got := srv.Wait(t, 2)
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
		if d, err := p.Header.Date(); err != nil || !d.Equal(sentAt) {
			t.Errorf("mail %d: Date %v (%v), want when it was sent (%v)", i, d, err, sentAt)
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
	all := srv.Wait(t, 3)
	if len(all) != 3 {
		t.Fatalf("%d mails after restart, want 3 (nothing re-sent)", len(all))
	}
	locked := parseMail(t, all[2].Data)
	if !strings.Contains(locked.Text, "disekat") || !strings.Contains(locked.Text, "850101045566") || strings.Contains(locked.Text, "Temp") {
		t.Errorf("lock notice: %q", locked.Text)
	}
}

// TestConsumerMailsSecurityNotices: a password change, an e-mail change (to
// the old address, the new one partly hidden), TOTP switched on, new
// recovery codes and TOTP switched off each mail the person over SMTP; a phone-only profile change and a
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
	rig.append(stream, account.RecoveryCodesReplaced{UserID: ic, Step: 2, RecoveryCodeHashes: []string{"h2"}, Name: name, Email: "aminah.yusof@jkr.melaka.gov.my"})
	last := rig.append(stream, account.TOTPDisabled{UserID: ic, Reason: "telefon hilang", Name: name, Email: "aminah.yusof@jkr.melaka.gov.my"})
	rig.waitCheckpoint(last.Position)
	got := srv.Wait(t, 5)
	if len(got) != 5 {
		t.Fatalf("%d mails, want 5", len(got))
	}
	want := []struct {
		to, subject string
		has         []string
	}{
		{"kewangan@melaka.gov.my", "kata laluan ditukar", []string{"Kata laluan akaun anda di Portal iSPEKS telah ditukar pada 02/03/2026 09:00", "ID Pengguna: " + ic}},
		{"kewangan@melaka.gov.my", "alamat emel ditukar", []string{"kepada a***@jkr.melaka.gov.my", "tidak akan dihantar ke alamat ini lagi"}},
		{"aminah.yusof@jkr.melaka.gov.my", "dua faktor diaktifkan", []string{"telah diaktifkan"}},
		{"aminah.yusof@jkr.melaka.gov.my", "kod pemulihan baharu", []string{"Sepuluh kod pemulihan baharu", "Kod pemulihan yang lama tidak lagi boleh digunakan", "The earlier recovery codes no longer work"}},
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

// TestConsumerMailsTheNewAddressWhenTheEmailFollowedTheMaster: the
// account's e-mail followed the employee master to the department's new
// mailbox; a short notice goes over SMTP to that new address (the old one
// may be closed or handed on), naming the old one partly hidden, and never
// to the old one.
func TestConsumerMailsTheNewAddressWhenTheEmailFollowedTheMaster(t *testing.T) {
	rig, srv, sender := newSMTPMailRig(t)
	rig.run(sender)
	const ic, name = "850101045566", "Aminah binti Yusof"
	rec := rig.append("account-"+ic, account.EmailFollowedMaster{UserID: ic, Email: "kewangan.tengah@melaka.gov.my", PreviousEmail: "aminah.yusof@jkr.melaka.gov.my", Name: name})
	rig.waitCheckpoint(rec.Position)
	got := srv.Wait(t, 1)
	if len(got) != 1 || len(got[0].To) != 1 || got[0].To[0] != "kewangan.tengah@melaka.gov.my" {
		t.Fatalf("mails %+v, want one to the new address", got)
	}
	p := parseMail(t, got[0].Data)
	if p.To.Name != name || !strings.Contains(p.Subject, "emel portal kini ke alamat ini") || !strings.Contains(p.Subject, name) {
		t.Errorf("to %v, subject %q", p.To, p.Subject)
	}
	if want := "<" + rec.ID.String() + "@ispeks.melaka.gov.my>"; p.Header.Get("Message-Id") != want {
		t.Errorf("Message-ID %q, want %q", p.Header.Get("Message-Id"), want)
	}
	for _, h := range []string{"ID Pengguna: " + ic, "rekod kakitangan telah ditukar", "Mulai 02/03/2026 09:00", "bukan lagi ke a***@jkr.melaka.gov.my",
		"Tetapan Akaun \u203a Kemaskini Maklumat Pengguna", "instead of a***@jkr.melaka.gov.my", "Jika alamat ini bukan milik anda", "If this address is not yours"} {
		if !strings.Contains(p.Text, h) {
			t.Errorf("notice lacks %q:\n%s", h, p.Text)
		}
	}
	if strings.Contains(p.Text, "aminah.yusof@") || strings.Contains(p.HTML, "aminah.yusof@") {
		t.Errorf("the notice shows the old address in full:\n%s", p.Text)
	}
}

func TestConsumerRetriesWhileSMTPIsDownThenDeliversExactlyOnce(t *testing.T) {
	rig := newMailRig(t)
	smtpSender, up := downSMTP(t)
	sender := &countingSender{Sender: smtpSender}
	// However short the bound for a refused recipient, a server that is
	// down is waited for: no mail is parked.
	rig.run(sender, func(c *mail.Consumer) { c.DeferFor = time.Millisecond })
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

	srv := up() // the server comes up
	first := srv.Wait(t, 1)[0]
	p := parseMail(t, first.Data)
	if !strings.Contains(p.Text, "Down-Temp-1234") || p.Header.Get("Message-Id") != "<"+rec.ID.String()+"@ispeks.melaka.gov.my>" {
		t.Fatalf("delivered mail: %q %q", p.Header.Get("Message-Id"), p.Text)
	}
	// A following event is mailed after it, and the first is not repeated.
	rig.issue("900202055123", "Lim Wei Ming", "lim@melaka.gov.my", "Next-Temp-5678", account.TempForgot)
	all := srv.Wait(t, 2)
	if len(all) != 2 || !strings.Contains(parseMail(t, all[1].Data).Text, "Next-Temp-5678") {
		t.Fatalf("want exactly the two mails in order, got %d", len(all))
	}
	if dls, err := rig.eng.DeadLetters(context.Background(), mail.ConsumerName, 0); err != nil || len(dls) != 0 {
		t.Fatalf("dead letters %v (%v), want none: the server was down, no recipient refused", dls, err)
	}
}

// perRecipient counts a real sender's attempts per recipient.
type perRecipient struct {
	mail.Sender
	mu       sync.Mutex
	attempts map[string]int
}

func (p *perRecipient) Send(ctx context.Context, m mail.Message) error {
	p.mu.Lock()
	p.attempts[m.To.Email]++
	p.mu.Unlock()
	return p.Sender.Send(ctx, m)
}

func (p *perRecipient) count(email string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.attempts[email]
}

// TestConsumerParksMailToAFullMailboxAndMailsEveryoneElse: a shared mailbox
// answering "452 4.2.2 Mailbox full" is retried for DeferFor, then its mail
// is parked as a dead letter (event ID and reason, no address) and the
// others' mail goes out; a further mail to the still-full mailbox is parked
// at its first refusal instead of holding everyone up again. Nothing the
// engine or the consumer logged names an address.
func TestConsumerParksMailToAFullMailboxAndMailsEveryoneElse(t *testing.T) {
	rig, srv, smtpSender := newSMTPMailRig(t)
	const full = "kewangan@melaka.gov.my"
	srv.Refuse(full, 452, smtp.EnhancedCode{4, 2, 2}, "Mailbox full")
	sender := &perRecipient{Sender: smtpSender, attempts: map[string]int{}}
	const deferFor = 1500 * time.Millisecond
	rig.run(sender, func(c *mail.Consumer) { c.DeferFor = deferFor })

	start := time.Now()
	_, parked := rig.issue("850101045566", "Aminah binti Yusof", full, "Full-Temp-0001", account.TempRegistration)
	rig.issue("900202055123", "Lim Wei Ming", "lim@melaka.gov.my", "Next-Temp-5678", account.TempRegistration)
	first := srv.Wait(t, 1)
	if waited := time.Since(start); waited < deferFor {
		t.Errorf("the next mail went after %v, before the full mailbox was given up on (%v)", waited, deferFor)
	}
	if p := parseMail(t, first[0].Data); p.To.Address != "lim@melaka.gov.my" || !strings.Contains(p.Text, "Next-Temp-5678") {
		t.Fatalf("first delivered mail: to %s", p.To.Address)
	}
	if n := sender.count(full); n < 2 {
		t.Errorf("the full mailbox was tried %d times, want retries before parking", n)
	}

	before := sender.count(full)
	_, again := rig.issue("850101045566", "Aminah binti Yusof", full, "Fgt-Temp-0002", account.TempForgot)
	last := rig.append("account-900202055123", account.AccountLocked{UserID: "900202055123", FailedAttempts: 3, Name: "Lim Wei Ming", Email: "lim@melaka.gov.my"})
	srv.Wait(t, 2)
	rig.waitCheckpoint(last.Position)
	if n := sender.count(full) - before; n != 1 {
		t.Errorf("the second mail to the full mailbox was tried %d times, want 1 (it has refused for %v already)", n, deferFor)
	}

	dls, err := rig.eng.DeadLetters(context.Background(), mail.ConsumerName, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 2 || dls[0].EventID != parked.ID.String() || dls[1].EventID != again.ID.String() {
		t.Fatalf("dead letters %+v, want the two mails to the full mailbox", dls)
	}
	for _, dl := range dls {
		if !strings.Contains(dl.Error, "Mailbox full") || strings.Contains(dl.Error, "@") {
			t.Errorf("dead letter reason %q: want the server's reason and no address", dl.Error)
		}
	}
	logs := rig.logs.String()
	if !strings.Contains(logs, parked.ID.String()) {
		t.Errorf("the log does not name the parked event %s", parked.ID)
	}
	for _, secret := range []string{"kewangan@", "lim@", "850101045566", "Full-Temp-0001"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains %q:\n%s", secret, logs)
		}
	}
}

// TestConsumerParksMailRefusedForGood: a mail the server refuses for good
// (550, no such user) is parked at once as a dead letter, as one refused
// for too long is, and the next mail goes out.
func TestConsumerParksMailRefusedForGood(t *testing.T) {
	rig, srv, smtpSender := newSMTPMailRig(t)
	const gone = "bekas.pegawai@melaka.gov.my"
	srv.Refuse(gone, 550, smtp.EnhancedCode{5, 1, 1}, "No such user")
	rig.run(smtpSender)
	_, refused := rig.issue("850101045566", "Aminah binti Yusof", gone, "Gone-Temp-0001", account.TempForgot)
	_, last := rig.issue("900202055123", "Lim Wei Ming", "lim@melaka.gov.my", "Next-Temp-5678", account.TempRegistration)
	if got := srv.Wait(t, 1); parseMail(t, got[0].Data).To.Address != "lim@melaka.gov.my" {
		t.Fatalf("delivered: %s", parseMail(t, got[0].Data).To.Address)
	}
	rig.waitCheckpoint(last.Position)
	dls, err := rig.eng.DeadLetters(context.Background(), mail.ConsumerName, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 1 || dls[0].EventID != refused.ID.String() || !strings.Contains(dls[0].Error, "No such user") || strings.Contains(dls[0].Error, "@") {
		t.Fatalf("dead letters %+v, want the refused mail, with the reason and no address", dls)
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
	// No e-mail in the event and no directory: it cannot be sent, so it is
	// parked (a dead letter); the next mail still goes out.
	_, noMail := rig.issue("850101045566", "Tanpa Emel", "", "No-Mail-0000", account.TempRegistration)
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
	if dls, err := rig.eng.DeadLetters(context.Background(), mail.ConsumerName, 0); err != nil || len(dls) != 1 || dls[0].EventID != noMail.ID.String() {
		t.Fatalf("dead letters %+v (%v), want the mail without an address", dls, err)
	}
	m, err := box.Get(context.Background(), list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "Outbox-Temp-42") || !strings.Contains(m.Text, "Pentadbir Sistem telah mengeluarkan") {
		t.Fatalf("admin-issued mail: %q", m.Text)
	}
}

// reopen opens the rig's event store and read store again, as another
// process on the same data directory does.
func (r *mailRig) reopen() (*evsqlite.Store, *rssqlite.Store) {
	r.t.Helper()
	ctx := context.Background()
	events, err := evsqlite.Open(ctx, filepath.Join(r.dir, "events.db"), evsqlite.Options{})
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { _ = events.Close() })
	views, err := rssqlite.Open(ctx, filepath.Join(r.dir, "views.db"), rssqlite.Options{})
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { _ = views.Close() })
	return events, views
}

// TestTwoServeProcessesMailEachEventOnce: two portal processes on one data
// directory (the same SQLite files opened twice) each run the mailer, as
// every `serve` does. Each mail reaches the SMTP server once, not once per
// process; when the process that sends stops, the other takes over and
// the next mail still goes out, once.
func TestTwoServeProcessesMailEachEventOnce(t *testing.T) {
	rig := newMailRig(t)
	srv := mailtest.StartRelay(t)
	stopA := rig.run(relaySender(t, srv, ""))
	events2, views2 := rig.reopen()
	rig.runOn(events2, views2, relaySender(t, srv, ""))

	var last eventlog.Record
	for i := range 6 {
		_, last = rig.issue(fmt.Sprintf("8501010455%02d", i), "Aminah binti Yusof", fmt.Sprintf("staf%d@melaka.gov.my", i), fmt.Sprintf("Temp-%d-abcdef", i), account.TempRegistration)
	}
	rig.waitCheckpoint(last.Position)
	time.Sleep(300 * time.Millisecond) // room for a second process's copies
	if got := countTo(srv.Messages()); len(srv.Messages()) != 6 {
		t.Fatalf("%d mails for 6 events: %v", len(srv.Messages()), got)
	}

	stopA()
	_, last = rig.issue("900202055123", "Lim Wei Ming", "lim@melaka.gov.my", "Next-Temp-5678", account.TempForgot)
	rig.waitCheckpoint(last.Position)
	time.Sleep(300 * time.Millisecond)
	got := countTo(srv.Messages())
	if len(srv.Messages()) != 7 || got["lim@melaka.gov.my"] != 1 {
		t.Fatalf("after one process stopped: %d mails: %v", len(srv.Messages()), got)
	}
}

// relaySender is an SMTP sender to srv, a relay (no TLS, no AUTH), with
// the URL's further parameters in query.
func relaySender(t *testing.T, srv *mailtest.Server, query string) mail.Sender {
	t.Helper()
	s, err := mail.NewSMTPSender("smtp://"+srv.Addr+"?starttls=off"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func countTo(ms []mailtest.Received) map[string]int {
	n := map[string]int{}
	for _, m := range ms {
		for _, to := range m.To {
			n[to]++
		}
	}
	return n
}
