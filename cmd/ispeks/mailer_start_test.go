package main

import (
	"bytes"
	"context"
	"net/http"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/infra/mail"
	"github.com/melaka-gov/ispeks/infra/mail/mailtest"
)

// serveInBackground runs `serve` on dir (with flags) until the returned
// stop is called.
func serveInBackground(t *testing.T, ctx context.Context, dir string, flags ...string) (stop func()) {
	t.Helper()
	addr := freeAddr(t)
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- execute(sctx, append([]string{"serve", "--data", dir, "--listen", addr, "--log-level", "error"}, flags...)...)
	}()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve not ready: %v", <-done)
		}
	}
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
}

// waitForOutbox waits until the outbox holds n mails and returns them.
func waitForOutbox(t *testing.T, dir string, n int) []mail.MailboxEntry {
	t.Helper()
	box := mail.NewMailbox(filepath.Join(dir, "outbox"), nil)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		list, err := box.List(context.Background())
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if len(list) >= n {
			return list
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox holds %d mails, want %d", len(list), n)
		}
	}
}

// TestAdminCreateBeforeTheFirstServeIsMailed: on a fresh data directory
// `admin create` (which says the temporary password is also e-mailed) runs
// before the portal ever served; the first serve mails it. Neither a
// restart nor a rebuild sends it again: after the outbox is emptied, the
// next serve mails only what is new.
func TestAdminCreateBeforeTheFirstServeIsMailed(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--data", dir, "--log-level", "error"}
	createFirstAdmin(ctx, t, dir)

	stop := serveInBackground(t, ctx, dir)
	first := waitForOutbox(t, dir, 1)
	stop()
	if len(first) != 1 || first[0].To.Email != "pentadbir@melaka.gov.my" {
		t.Fatalf("outbox after the first serve: %+v", first)
	}
	if err := os.Remove(filepath.Join(dir, "outbox", first[0].ID+".eml")); err != nil {
		t.Fatal(err)
	}

	if _, err := executeOut(ctx, append(base, "projections", "rebuild", "accounts")...); err != nil {
		t.Fatal(err)
	}
	stop = serveInBackground(t, ctx, dir)
	defer stop()
	if _, err := executeOut(ctx, append(base, "admin", "temporary-password", "--ic", "800101141234")...); err != nil {
		t.Fatal(err)
	}
	// Mail goes out in log order: had the first mail been sent again, it
	// would be in the outbox before this one.
	again := waitForOutbox(t, dir, 1)
	if len(again) != 1 {
		t.Fatalf("outbox after restart and rebuild: %d mails, want only the new one", len(again))
	}
	m, err := mail.NewMailbox(filepath.Join(dir, "outbox"), nil).Get(ctx, again[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "Pentadbir Sistem telah mengeluarkan") {
		t.Fatalf("the mail after the restart is not the new temporary password:\n%s", m.Text)
	}
}

// TestMailBounceIsTheEnvelopeSender: with --mail-bounce the portal's mail
// leaves with that address as its envelope sender (SMTP MAIL FROM), so mail
// that cannot be delivered is reported to a mailbox someone reads, while
// the From header stays the no-reply address. An address that does not
// parse is refused, naming the flag.
func TestMailBounceIsTheEnvelopeSender(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	relay := mailtest.StartRelay(t)
	base := []string{"--data", dir, "--log-level", "error"}
	createFirstAdmin(ctx, t, dir)
	if _, err := executeOut(ctx, append(base, "mail", "parked", "--mail-bounce", "not an address")...); err == nil || !strings.Contains(err.Error(), "--mail-bounce") {
		t.Fatalf("a --mail-bounce that does not parse: %v, want an error naming the flag", err)
	}

	stop := serveInBackground(t, ctx, dir, "--smtp", "smtp://"+relay.Addr+"?starttls=off", "--base-url", "https://ispeks.example.test",
		"--mail-bounce", "Pentadbir Emel <pentadbir.emel@melaka.gov.my>")
	defer stop()
	got := relay.Wait(t, 1)[0]
	if got.From != "pentadbir.emel@melaka.gov.my" {
		t.Fatalf("envelope sender %q, want the --mail-bounce address", got.From)
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(got.Data))
	if err != nil {
		t.Fatal(err)
	}
	if from, err := netmail.ParseAddress(msg.Header.Get("From")); err != nil || from.Address != "no-reply@ispeks.melaka.gov.my" {
		t.Fatalf("From header %q (%v), want the --mail-from address", msg.Header.Get("From"), err)
	}
}

// TestServeRefusesABadMailAddressBeforeItOpensTheStores: serve parsed the
// mail addresses only when it started the mailer, after it had made the
// data directory and started the projectors; a first start refused there
// left a new install behind, and a projector's layout claim it had just
// taken held up the next start's readiness until the claim aged out.
// The same for an SMTP relay URL that the mailer would refuse (an unknown
// auth, a port out of range): serve refused it only once it was listening.
func TestServeRefusesABadMailAddressBeforeItOpensTheStores(t *testing.T) {
	for _, bad := range [][]string{
		{"--mail-from", "not an address"},
		{"--mail-reply-to", "not an address"},
		{"--mail-bounce", "not an address"},
		{"--smtp", "smtp://relay.example.test?auth=bogus"},
		{"--smtp", "smtp://relay.example.test:99999"},
	} {
		flag := bad[0]
		t.Run(strings.Join(bad, "="), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "d")
			// Without the check it serves until this ends.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := execute(ctx, "serve", "--data", dir, "--listen", freeAddr(t), "--log-level", "error", "--base-url", "https://ispeks.example.test", flag, bad[1])
			if err == nil || !strings.HasPrefix(err.Error(), flag+" ") && !strings.HasPrefix(err.Error(), flag+": ") {
				t.Fatalf("serve with %s that does not parse: %v, want an error naming the flag", flag, err)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Fatalf("the data directory was made: %v", err)
			}
		})
	}
}

// TestMailReplyToIsTheHelpdesk: the portal sends from a no-reply address;
// with --mail-reply-to its mail carries that address as Reply-To, so a
// reply (a reader alarmed by a security notice) reaches the helpdesk.
// Without it there is no Reply-To, as before. An address that does not
// parse, from the flag or ISPEKS_MAIL_REPLY_TO, is refused naming the flag
// (serve refuses it too: TestServeRefusesABadMailAddressBeforeItOpensTheStores).
func TestMailReplyToIsTheHelpdesk(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	relay := mailtest.StartRelay(t)
	base := []string{"--data", dir, "--log-level", "error"}
	createFirstAdmin(ctx, t, dir)
	refused := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.HasPrefix(err.Error(), "--mail-reply-to: ") || !strings.Contains(err.Error(), "not an address") {
			t.Fatalf("%s with a --mail-reply-to that does not parse: %v, want an error naming the flag and the value", what, err)
		}
	}
	_, err := executeOut(ctx, append(base, "mail", "parked", "--mail-reply-to", "not an address")...)
	refused("mail parked", err)
	t.Run("environment", func(t *testing.T) {
		t.Setenv("ISPEKS_MAIL_REPLY_TO", "not an address")
		_, err := executeOut(ctx, append(base, "mail", "parked")...)
		refused("mail parked", err)
	})
	smtp := []string{"--smtp", "smtp://" + relay.Addr + "?starttls=off", "--base-url", "https://ispeks.example.test"}

	header := func(r mailtest.Received) netmail.Header {
		t.Helper()
		msg, err := netmail.ReadMessage(bytes.NewReader(r.Data))
		if err != nil {
			t.Fatal(err)
		}
		return msg.Header
	}
	stop := serveInBackground(t, ctx, dir, smtp...)
	without := header(relay.Wait(t, 1)[0])
	stop()
	if rt, ok := without["Reply-To"]; ok {
		t.Fatalf("Reply-To %q without --mail-reply-to, want none", rt)
	}

	if _, err := executeOut(ctx, append(base, "admin", "temporary-password", "--ic", "800101141234")...); err != nil {
		t.Fatal(err)
	}
	stop = serveInBackground(t, ctx, dir, append(smtp, "--mail-reply-to", "Meja Bantuan iSPEKS <helpdesk.ispeks@melaka.gov.my>")...)
	defer stop()
	with := header(relay.Wait(t, 2)[1])
	if rt, err := netmail.ParseAddress(with.Get("Reply-To")); err != nil || rt.Address != "helpdesk.ispeks@melaka.gov.my" || rt.Name != "Meja Bantuan iSPEKS" {
		t.Fatalf("Reply-To %q (%v), want the --mail-reply-to address", with.Get("Reply-To"), err)
	}
	if from, err := netmail.ParseAddress(with.Get("From")); err != nil || from.Address != "no-reply@ispeks.melaka.gov.my" {
		t.Fatalf("From header %q (%v), want the --mail-from address", with.Get("From"), err)
	}
}

// `mail resend` checks the mail addresses before it opens anything, as
// serve does: a mistyped one is named at once, not after the data dir was
// looked for and the stores opened.
func TestMailResendRefusesABadMailAddressFirst(t *testing.T) {
	for _, flag := range []string{"--mail-from", "--mail-reply-to", "--mail-bounce"} {
		t.Run(flag, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			missing := filepath.Join(t.TempDir(), "none")
			err := execute(ctx, "mail", "resend", "--all", "--data", missing, "--smtp", "smtp://relay.melaka.gov.my:587",
				"--base-url", "https://ispeks.melaka.gov.my", flag, "not an address")
			if err == nil || !strings.HasPrefix(err.Error(), flag+": ") {
				t.Fatalf("mail resend with %s that does not parse: %v, want an error naming the flag", flag, err)
			}
		})
	}
}
