package mail_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/infra/mail"
	"github.com/melaka-gov/ispeks/infra/mail/mailtest"
)

func testComposer() mail.Composer {
	return mail.Composer{
		From:      mail.Address{Name: "Portal iSPEKS", Email: "no-reply@ispeks.melaka.gov.my"},
		ReplyTo:   mail.Address{Name: "Meja Bantuan iSPEKS", Email: "helpdesk@melaka.gov.my"},
		PortalURL: "https://ispeks.example.test/eispeks/main",
		Helpdesk:  []mail.Contact{{Name: "En. Contoh Pentadbir", Phone: "06-2300000"}},
	}
}

var aminah = mail.Recipient{Name: "Aminah binti Yusof", UserID: "850101045566", Email: "kewangan@melaka.gov.my"}

// composed stamps a composed message with an ID and a date; a compose
// error is a bug in the test's input.
func composed(m mail.Message, err error) mail.Message {
	if err != nil {
		panic(err)
	}
	m.MessageID = testComposer().MessageID(uuid.New())
	m.Date = time.Date(2026, 3, 2, 1, 30, 0, 0, time.UTC)
	return m
}

func smtpURL(scheme, user, pass, addr, query string) string {
	u := url.URL{Scheme: scheme, User: url.UserPassword(user, pass), Host: addr, RawQuery: query}
	return u.String()
}

func TestSMTPSenderSTARTTLSAndImplicitTLS(t *testing.T) {
	pki := mailtest.NewPKI(t)
	expires := time.Date(2026, 3, 3, 1, 30, 0, 0, time.UTC) // 09:30 MYT
	for _, tc := range []struct {
		name     string
		scheme   string
		implicit bool
	}{{"starttls", "smtp", false}, {"implicit", "smtps", true}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := mailtest.Start(t, pki, tc.implicit, "")
			sender, err := mail.NewSMTPSender(smtpURL(tc.scheme, srv.User, srv.Pass, srv.Addr, ""), pki.Client)
			if err != nil {
				t.Fatal(err)
			}
			msg := composed(testComposer().Registration(aminah, "Kx7-pQ2m-Wd9z", expires))
			if err := sender.Send(context.Background(), msg); err != nil {
				t.Fatal(err)
			}
			got := srv.Wait(t, 1)[0]
			if !got.TLS || got.Authed != srv.User {
				t.Fatalf("TLS=%v authed=%q: the mail must travel over TLS after AUTH", got.TLS, got.Authed)
			}
			if len(got.To) != 1 || got.To[0] != aminah.Email {
				t.Fatalf("envelope recipients %v", got.To)
			}
			if got.From != "no-reply@ispeks.melaka.gov.my" {
				t.Fatalf("envelope sender %q", got.From)
			}
			p := parseMail(t, got.Data)
			if p.To.Address != aminah.Email || p.To.Name != aminah.Name {
				t.Fatalf("To: %v", p.To)
			}
			if p.ReplyTo == nil || p.ReplyTo.Address != "helpdesk@melaka.gov.my" {
				t.Fatalf("Reply-To: %v", p.ReplyTo)
			}
			if p.Header.Get("Message-Id") != "<"+msg.MessageID+">" {
				t.Fatalf("Message-ID %q, want <%s>", p.Header.Get("Message-Id"), msg.MessageID)
			}
			if !strings.Contains(p.Subject, aminah.Name) {
				t.Fatalf("subject %q does not name the person", p.Subject)
			}
			for _, want := range []string{aminah.Name, "ID Pengguna: " + aminah.UserID, "User ID: " + aminah.UserID, "Kx7-pQ2m-Wd9z", "03/03/2026 09:30", "Login", "Aktif"} {
				if !strings.Contains(p.Text, want) {
					t.Errorf("text body lacks %q", want)
				}
			}
			if i, j := strings.Index(p.Text, "Pendaftaran anda"), strings.Index(p.Text, "Your registration"); i < 0 || j < 0 || i > j {
				t.Errorf("want Malay first, then English")
			}
			if !strings.Contains(p.HTML, "Kx7-pQ2m-Wd9z") || !strings.Contains(p.HTML, aminah.UserID) {
				t.Errorf("HTML body lacks the temporary password or user ID")
			}
		})
	}
}

// TestSMTPSenderSendsBouncesToTheBounceAddress: a composer's Bounce is the
// envelope sender (MAIL FROM: where undeliverable mail is reported) while
// the From header stays the no-reply address; it is no header, so the
// outbox file does not show it. One that is not a plain address makes the
// message invalid.
func TestSMTPSenderSendsBouncesToTheBounceAddress(t *testing.T) {
	pki := mailtest.NewPKI(t)
	srv := mailtest.Start(t, pki, false, "")
	sender, err := mail.NewSMTPSender(smtpURL("smtp", srv.User, srv.Pass, srv.Addr, ""), pki.Client)
	if err != nil {
		t.Fatal(err)
	}
	c := testComposer()
	c.Bounce = "pentadbir.emel@melaka.gov.my"
	msg := composed(c.AccountLocked(aminah, time.Now(), 3))
	if err := sender.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(t, 1)[0]
	if got.From != c.Bounce {
		t.Fatalf("envelope sender %q, want the bounce address", got.From)
	}
	if p := parseMail(t, got.Data); p.From.Address != "no-reply@ispeks.melaka.gov.my" {
		t.Fatalf("From header %v, want the composer's From", p.From)
	}
	raw, err := mail.Render(msg)
	if err != nil || strings.Contains(string(raw), c.Bounce) {
		t.Fatalf("rendered mail (%v) shows the bounce address:\n%s", err, raw)
	}
	msg.Bounce = "Pentadbir <pentadbir.emel@melaka.gov.my>"
	if err := sender.Send(context.Background(), msg); !errors.Is(err, mail.ErrInvalidMessage) || !strings.Contains(err.Error(), "bounce") {
		t.Fatalf("a bounce with a name: %v, want an invalid message naming the bounce", err)
	}
}

func TestSMTPSenderRefusesWrongCredentialsAndUnknownCA(t *testing.T) {
	pki := mailtest.NewPKI(t)
	srv := mailtest.Start(t, pki, false, "")
	msg := composed(testComposer().AccountLocked(aminah, time.Now(), 3))

	bad, err := mail.NewSMTPSender(smtpURL("smtp", srv.User, "wrong", srv.Addr, ""), pki.Client)
	if err != nil {
		t.Fatal(err)
	}
	err = bad.Send(context.Background(), msg)
	if err == nil || errors.Is(err, mail.ErrRejected) {
		t.Fatalf("wrong password: err = %v, want a retryable error", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Fatalf("error leaks the password: %v", err)
	}
	untrusted, err := mail.NewSMTPSender(smtpURL("smtp", srv.User, srv.Pass, srv.Addr, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := untrusted.Send(context.Background(), msg); err == nil {
		t.Fatal("a self-signed certificate the client does not trust must be refused")
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d messages delivered, want 0", n)
	}
}

func TestSMTPSenderPermanentRejection(t *testing.T) {
	pki := mailtest.NewPKI(t)
	srv := mailtest.Start(t, pki, false, "")
	srv.Refuse(aminah.Email, 550, smtp.EnhancedCode{5, 1, 1}, "No such user")
	sender, err := mail.NewSMTPSender(smtpURL("smtp", srv.User, srv.Pass, srv.Addr, ""), pki.Client)
	if err != nil {
		t.Fatal(err)
	}
	err = sender.Send(context.Background(), composed(testComposer().AccountLocked(aminah, time.Now(), 3)))
	if !errors.Is(err, mail.ErrRejected) {
		t.Fatalf("err = %v, want ErrRejected", err)
	}
}

// TestSMTPSenderTellsARefusedRecipientFromServerTrouble: a 4xx answer to
// RCPT concerns that one mail (ErrDeferred), except 421 and 4.3.x, which
// the whole server gives; no error names the address, though go-mail and
// the server both put it in theirs.
func TestSMTPSenderTellsARefusedRecipientFromServerTrouble(t *testing.T) {
	pki := mailtest.NewPKI(t)
	srv := mailtest.Start(t, pki, false, "")
	sender, err := mail.NewSMTPSender(smtpURL("smtp", srv.User, srv.Pass, srv.Addr, ""), pki.Client)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		code               int
		enhanced           smtp.EnhancedCode
		text               string
		deferred, rejected bool
	}{
		{452, smtp.EnhancedCode{4, 2, 2}, "Mailbox full", true, false},
		{450, smtp.EnhancedCode{4, 7, 1}, "Greylisted, try again later", true, false},
		{550, smtp.EnhancedCode{5, 1, 1}, "No such user", false, true},
		{552, smtp.EnhancedCode{5, 2, 2}, "Mailbox over quota for good", false, true},
		{552, smtp.EnhancedCode{5, 3, 4}, "Message too big", false, true},
		// The relay's policy: every mail would meet it, so it is held.
		{550, smtp.EnhancedCode{5, 7, 1}, "Relaying denied", true, false},
		{554, smtp.EnhancedCode{5, 3, 0}, "Mail system not accepting", true, false},
		{421, smtp.EnhancedCode{4, 3, 0}, "Service not available", false, false},
		{451, smtp.EnhancedCode{4, 3, 0}, "Mail system trouble", false, false},
	} {
		srv.Refuse(aminah.Email, c.code, c.enhanced, c.text)
		err := sender.Send(context.Background(), composed(testComposer().AccountLocked(aminah, time.Now(), 3)))
		if err == nil {
			t.Fatalf("%d: sent", c.code)
		}
		if errors.Is(err, mail.ErrDeferred) != c.deferred || errors.Is(err, mail.ErrRejected) != c.rejected {
			t.Errorf("%d %v: err = %v, want deferred %v, rejected %v", c.code, c.enhanced, err, c.deferred, c.rejected)
		}
		if strings.Contains(err.Error(), "@") || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%d: error %q: want the server's reason without an address", c.code, err)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d messages delivered, want 0", n)
	}
}

// TestNamesTheMasterAcceptsAreMailable: go-mail's *Format methods paste the
// name between double quotes, so a name with a quote or a trailing
// backslash made the mail unsendable (and a temporary password lost).
func TestNamesTheMasterAcceptsAreMailable(t *testing.T) {
	pki := mailtest.NewPKI(t)
	srv := mailtest.Start(t, pki, false, "")
	sender, err := mail.NewSMTPSender(smtpURL("smtp", srv.User, srv.Pass, srv.Addr, ""), pki.Client)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "outbox")
	ob, err := mail.NewOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{
		"Siti Nur'aini binti Abdul", `Chong Wei "Ah Keat"`, `Ahmad bin Ali\`, "Dato' Siti, Hajah",
		"Nur \"Aina\" binti Ali", "Ramasamy a/l Muthu (Sami)", "Zoë Tan; Jabatan <Kewangan>", "陈伟明",
	}
	for i, name := range names {
		d, err := employee.Details{IC: "850101045566", Name: name, Email: "kongsi@melaka.gov.my", Department: "D", Post: "P", StaffNumber: "S1"}.Validate()
		if err != nil {
			t.Fatalf("the master refuses %q: %v", name, err)
		}
		to := mail.Recipient{Name: d.Name, UserID: d.IC, Email: d.Email}
		m := composed(testComposer().Registration(to, "Temp-1234-abcd", time.Now().Add(24*time.Hour)))
		if err := ob.Send(context.Background(), m); err != nil {
			t.Errorf("outbox, name %q: %v", name, err)
		}
		if err := sender.Send(context.Background(), m); err != nil {
			t.Errorf("smtp, name %q: %v", name, err)
			continue
		}
		got := srv.Wait(t, i+1)[i]
		if p := parseMail(t, got.Data); p.To.Name != d.Name || p.To.Address != d.Email {
			t.Errorf("smtp, name %q: To %q <%s>", name, p.To.Name, p.To.Address)
		}
	}
	list, err := mail.NewMailbox(dir, nil).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range list {
		seen[e.To.Name] = true
	}
	for _, name := range names {
		if !seen[name] {
			t.Errorf("outbox: no mail to %q (have %v)", name, seen)
		}
	}
}

func TestParseSMTPURL(t *testing.T) {
	good := map[string]mail.SMTPConfig{
		"smtp://relay.melaka.gov.my":                 {Host: "relay.melaka.gov.my", Port: 587, StartTLS: "opportunistic", Auth: "auto", Timeout: mail.DefaultSMTPTimeout},
		"smtp://u:p%40ss@relay:25":                   {Host: "relay", Port: 25, StartTLS: "required", Username: "u", Password: "p@ss", Auth: "auto", Timeout: mail.DefaultSMTPTimeout},
		"smtps://u:p@relay?auth=plain&timeout=5s":    {Host: "relay", Port: 465, Implicit: true, Username: "u", Password: "p", Auth: "plain", Timeout: 5 * time.Second},
		"smtp://relay:2525?starttls=off&helo=portal": {Host: "relay", Port: 2525, StartTLS: "off", Auth: "auto", Timeout: mail.DefaultSMTPTimeout, HELO: "portal"},
	}
	for raw, want := range good {
		got, err := mail.ParseSMTPURL(raw)
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		if got != want {
			t.Errorf("%s: got %+v, want %+v", raw, got, want)
		}
	}
	bad := map[string]string{
		"http://relay":                   "scheme",
		"smtp://":                        "host missing",
		"smtp://relay:0":                 "port",
		"smtp://relay:99999":             "port",
		"smtp://u:pw@relay?starttls=off": "in clear",
		"smtp://u:pw@relay?starttls=opportunistic": "in clear",
		"smtps://relay?starttls=required":          "starttls",
		"smtp://relay?auth=cram":                   "auth",
		"smtp://relay?timeout=-1s":                 "timeout",
		"smtp://relay?tls=1":                       "unknown parameter(s) tls",
		"smtp://relay/path":                        "path",
	}
	for raw, want := range bad {
		_, err := mail.ParseSMTPURL(raw)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to mention %q", raw, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("%s: error echoes the password: %v", raw, err)
		}
	}
	c, _ := mail.ParseSMTPURL("smtp://u:secret@relay:587")
	if strings.Contains(c.Redacted(), "secret") {
		t.Errorf("Redacted() shows the password: %s", c.Redacted())
	}
}

func TestOutboxAtomicIdempotentAndMailbox(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	ob, err := mail.NewOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := testComposer()
	base := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	var msgs []mail.Message
	for i := 0; i < 20; i++ {
		to := mail.Recipient{Name: fmt.Sprintf("Staf %02d", i), UserID: fmt.Sprintf("8501010455%02d", i), Email: "jabatan@melaka.gov.my"}
		m, err := c.Registration(to, fmt.Sprintf("temp-%02d-xyz", i), base.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		m.MessageID = c.MessageID(uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(i)}))
		m.Date = base.Add(time.Duration(i) * time.Minute)
		msgs = append(msgs, m)
	}
	// Concurrent writers and a concurrent reader: the reader must never see
	// a half-written file.
	ctx := context.Background()
	box := mail.NewMailbox(dir, nil)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	readerErr := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				readerErr <- nil
				return
			default:
			}
			list, err := box.List(ctx)
			if err != nil {
				readerErr <- err
				return
			}
			for _, e := range list {
				full, err := box.Get(ctx, e.ID)
				if err != nil {
					readerErr <- fmt.Errorf("get %s: %w", e.ID, err)
					return
				}
				if !strings.Contains(full.Text, "Kata laluan sementara") {
					readerErr <- fmt.Errorf("message %s read half-written", e.ID)
					return
				}
			}
		}
	}()
	for _, m := range msgs {
		wg.Add(2)
		for k := 0; k < 2; k++ { // each message sent twice: still one file
			go func() {
				defer wg.Done()
				if err := ob.Send(ctx, m); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	close(stop)
	if err := <-readerErr; err != nil {
		t.Fatal(err)
	}

	files, _ := os.ReadDir(dir)
	if len(files) != len(msgs) {
		names := []string{}
		for _, f := range files {
			names = append(names, f.Name())
		}
		t.Fatalf("%d files in outbox, want %d (no temporaries, no duplicates): %v", len(files), len(msgs), names)
	}
	for _, f := range files {
		info, _ := f.Info()
		if info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is readable by others: %v", f.Name(), info.Mode())
		}
	}
	list, err := box.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(msgs) {
		t.Fatalf("mailbox lists %d, want %d", len(list), len(msgs))
	}
	if list[0].To.Name != "Staf 19" || list[len(list)-1].To.Name != "Staf 00" {
		t.Fatalf("want newest first, got %q .. %q", list[0].To.Name, list[len(list)-1].To.Name)
	}
	got, err := box.Get(ctx, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.MessageID != msgs[19].MessageID || got.To.Email != "jabatan@melaka.gov.my" || got.From.Email != "no-reply@ispeks.melaka.gov.my" {
		t.Fatalf("header mismatch: %+v", got.MailboxEntry)
	}
	if !strings.Contains(got.Text, "temp-19-xyz") || !strings.Contains(got.Text, "850101045519") || !strings.Contains(got.HTML, "temp-19-xyz") {
		t.Fatalf("bodies lack the temporary password or the user ID")
	}
	if !got.Date.Equal(msgs[19].Date) {
		t.Fatalf("date %v, want %v", got.Date, msgs[19].Date)
	}
	for _, id := range []string{"../../etc/passwd", "", list[0].ID + "x", "20260302T010000Z-0000000000000000"} {
		if _, err := box.Get(ctx, id); !errors.Is(err, mail.ErrNotFound) {
			t.Errorf("Get(%q): %v, want ErrNotFound", id, err)
		}
	}
	// A stray temporary file (crash between write and rename) is not listed.
	if err := os.WriteFile(filepath.Join(dir, ".tmp-123.eml"), []byte("From: half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if again, _ := box.List(ctx); len(again) != len(msgs) {
		t.Fatalf("temporary file listed")
	}
}

func TestMessageValidation(t *testing.T) {
	c := testComposer()
	if _, err := c.Registration(mail.Recipient{Name: "A", UserID: "1", Email: "not an address"}, "x", time.Now()); !errors.Is(err, mail.ErrInvalidMessage) || !strings.Contains(err.Error(), "email") {
		t.Errorf("bad e-mail: %v", err)
	}
	if _, err := c.Registration(mail.Recipient{Name: "A\r\nBcc: x@y.z", UserID: "1", Email: "a@b.c"}, "x", time.Now()); !errors.Is(err, mail.ErrInvalidMessage) {
		t.Errorf("header injection in name: %v", err)
	}
	if _, err := c.ForgotPassword(aminah, "", time.Now()); err == nil || !strings.Contains(err.Error(), "temporary password") {
		t.Errorf("empty temp password: %v", err)
	}
	if _, err := c.AdminTemporaryPassword(aminah, "x", time.Time{}); err == nil || !strings.Contains(err.Error(), "expires") {
		t.Errorf("no expiry: %v", err)
	}
	m, err := c.AccountLocked(aminah, time.Now(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "message_id") {
		t.Errorf("message without ID: %v", err)
	}
	ob, _ := mail.NewOutbox(t.TempDir())
	if err := ob.Send(context.Background(), m); !errors.Is(err, mail.ErrInvalidMessage) {
		t.Errorf("outbox accepted an invalid message: %v", err)
	}
}

func TestComposedMailsNamePersonAndUserID(t *testing.T) {
	c := testComposer()
	exp := time.Date(2026, 5, 1, 16, 0, 0, 0, time.UTC) // 02/05/2026 00:00 MYT
	cases := map[string]func() (mail.Message, error){
		"registration": func() (mail.Message, error) { return c.Registration(aminah, "T3mp-Pass-001", exp) },
		"forgot":       func() (mail.Message, error) { return c.ForgotPassword(aminah, "T3mp-Pass-001", exp) },
		"admin":        func() (mail.Message, error) { return c.AdminTemporaryPassword(aminah, "T3mp-Pass-001", exp) },
		"locked":       func() (mail.Message, error) { return c.AccountLocked(aminah, exp, 3) },
	}
	for name, f := range cases {
		m, err := f()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, want := range []string{"Kepada: " + aminah.Name, "ID Pengguna: " + aminah.UserID, "To: " + aminah.Name, "User ID: " + aminah.UserID, "06-2300000"} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("%s: text lacks %q", name, want)
			}
		}
		hasSecret := strings.Contains(m.Text, "T3mp-Pass-001") || strings.Contains(m.HTML, "T3mp-Pass-001")
		if hasSecret != (name != "locked") {
			t.Errorf("%s: contains temporary password = %v", name, hasSecret)
		}
		if name != "locked" && !strings.Contains(m.Text, "02/05/2026 00:00") {
			t.Errorf("%s: expiry not shown in Malaysia time", name)
		}
	}
	forgot, _ := c.ForgotPassword(aminah, "x-y-z", exp)
	if !strings.Contains(forgot.Text, "Kata laluan semasa anda masih boleh digunakan") || !strings.Contains(forgot.Text, "current password keeps working") {
		t.Errorf("forgot-password mail must say the current password still works")
	}
}

func TestNewSenderPicksTransport(t *testing.T) {
	dir := t.TempDir()
	s, err := mail.NewSender("", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*mail.Outbox); !ok {
		t.Fatalf("no SMTP URL: %T, want the outbox", s)
	}
	s, err = mail.NewSender("smtps://u:p@relay.melaka.gov.my", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := s.(*mail.SMTPSender); !ok || !c.Config().Implicit {
		t.Fatalf("smtps URL: %T", s)
	}
	if _, err := mail.NewSender("smtp://u:p@relay?starttls=off", dir, nil); err == nil {
		t.Fatal("a password in clear was accepted")
	}
}

func TestParseAddress(t *testing.T) {
	a, err := mail.ParseAddress("iSPEKS <no-reply@ispeks.melaka.gov.my>")
	if err != nil || a != (mail.Address{Name: "iSPEKS", Email: "no-reply@ispeks.melaka.gov.my"}) {
		t.Fatalf("%+v %v", a, err)
	}
	if _, err := mail.ParseAddress("not an address"); err == nil {
		t.Fatal("garbage accepted")
	}
}
