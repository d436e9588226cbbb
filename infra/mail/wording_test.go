package mail_test

import (
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/infra/mail"
)

// renderedMail composes, renders and parses a mail as its recipient's
// client does, so the words checked are those that arrive.
func renderedMail(t *testing.T, compose func() (mail.Message, error)) parsedMail {
	t.Helper()
	m, err := compose()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := mail.Render(composed(m, nil))
	if err != nil {
		t.Fatal(err)
	}
	return parseMail(t, raw)
}

// TestMailsSpellEmelAsTheManual: the manual and the portal's pages write
// "emel" (Emel Rasmi Kerajaan, peti masuk emel); the e-mail notices wrote
// "e-mel" beside the "emel" of the same mail's footer.
func TestMailsSpellEmelAsTheManual(t *testing.T) {
	c := testComposer()
	at := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	for name, f := range map[string]func() (mail.Message, error){
		"email_changed": func() (mail.Message, error) { return c.EmailChanged(aminah, at, "aminah.yusof@jkr.melaka.gov.my") },
		"email_followed_master": func() (mail.Message, error) {
			return c.EmailFollowedMaster(aminah, at, "aminah.yusof@jkr.melaka.gov.my")
		},
		"registration":     func() (mail.Message, error) { return c.Registration(aminah, "T3mp-Pass-001", at) },
		"password_changed": func() (mail.Message, error) { return c.PasswordChanged(aminah, at, false) },
	} {
		p := renderedMail(t, f)
		for part, s := range map[string]string{"subject": p.Subject, "text": p.Text, "html": p.HTML} {
			if i := strings.Index(strings.ToLower(s), "e-mel"); i >= 0 {
				t.Errorf("%s: %s writes %q, the manual writes \"emel\"", name, part, s[max(0, i-30):min(len(s), i+30)])
			}
		}
	}
}

// TestNewTemporaryPasswordSaysEarlierOnesNoLongerWork: a new temporary
// password (Lupa Kata Laluan asked twice, an administrator's) replaces the
// one mailed before it, and a login with the earlier one is a wrong
// password that counts towards the lock. Both may sit in one (shared)
// mailbox, so the mail says only the newest works.
func TestNewTemporaryPasswordSaysEarlierOnesNoLongerWork(t *testing.T) {
	for name, f := range newTemporaryPasswordMails(testComposer()) {
		p := renderedMail(t, f)
		for _, want := range []string{
			"menggantikan kata laluan sementara yang dihantar sebelum ini", "dikira ke arah sekatan akaun",
			"replaces any temporary password sent before it", "counts towards locking the account",
		} {
			if !strings.Contains(p.Text, want) || !strings.Contains(p.HTML, want) {
				t.Errorf("%s: lacks %q:\n%s", name, want, p.Text)
			}
		}
	}
}

// TestHTMLPartLinksToThePortal: the HTML part, which most clients show,
// named the portal's address as bare text, a link only where the client
// guesses one. It is now a link to the configured base URL; the text part
// keeps the address as it is.
func TestHTMLPartLinksToThePortal(t *testing.T) {
	c := testComposer()
	c.PortalURL = "https://ispeks.example.test/eispeks/main?a=1&b=2"
	exp := time.Date(2026, 3, 3, 1, 0, 0, 0, time.UTC)
	for name, f := range map[string]func() (mail.Message, error){
		"registration": func() (mail.Message, error) { return c.Registration(aminah, "T3mp-Pass-002", exp) },
		"forgot":       func() (mail.Message, error) { return c.ForgotPassword(aminah, "T3mp-Pass-002", exp) },
		"admin":        func() (mail.Message, error) { return c.AdminTemporaryPassword(aminah, "T3mp-Pass-002", exp) },
	} {
		p := renderedMail(t, f)
		link := `<a href="https://ispeks.example.test/eispeks/main?a=1&amp;b=2">https://ispeks.example.test/eispeks/main?a=1&amp;b=2</a>`
		if n := strings.Count(p.HTML, link); n != 2 { // Malay and English
			t.Errorf("%s: HTML part has %d links to the portal, want 2:\n%s", name, n, p.HTML)
		}
		if !strings.Contains(p.Text, "Buka Portal iSPEKS: https://ispeks.example.test/eispeks/main?a=1&b=2\n") {
			t.Errorf("%s: text part lost the portal's address:\n%s", name, p.Text)
		}
	}
}

// TestNoReplySenderSaysNotToReply: the notices say "if it was not you,
// contact the system administrator at once", and the quickest way a reader
// has is Reply, to no-reply@…, where the alarm is lost. A mail from a
// no-reply address with no Reply-To says not to reply and to call the
// helpdesk; a mail whose replies reach someone does not.
func TestNoReplySenderSaysNotToReply(t *testing.T) {
	at := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		from    mail.Address
		replyTo mail.Address
		want    bool
	}{
		{"no-reply sender", mail.Address{Name: "iSPEKS", Email: "no-reply@ispeks.melaka.gov.my"}, mail.Address{}, true},
		{"noreply sender", mail.Address{Name: "iSPEKS", Email: "NoReply@ispeks.melaka.gov.my"}, mail.Address{}, true},
		{"do_not_reply sender", mail.Address{Name: "iSPEKS", Email: "do_not_reply@ispeks.melaka.gov.my"}, mail.Address{}, true},
		{"no-reply sender with a Reply-To", mail.Address{Name: "iSPEKS", Email: "no-reply@ispeks.melaka.gov.my"}, mail.Address{Email: "helpdesk@melaka.gov.my"}, false},
		{"a mailbox someone reads", mail.Address{Name: "Meja Bantuan iSPEKS", Email: "ispeks@melaka.gov.my"}, mail.Address{}, false},
	} {
		c := testComposer()
		c.From, c.ReplyTo = tc.from, tc.replyTo
		p := renderedMail(t, func() (mail.Message, error) { return c.PasswordChanged(aminah, at, false) })
		for _, s := range []string{"jangan balas emel ini", "do not reply to this mail"} {
			if got := strings.Contains(p.Text, s) && strings.Contains(p.HTML, s); got != tc.want {
				t.Errorf("%s: says %q: %v, want %v:\n%s", tc.name, s, got, tc.want, p.Text)
			}
		}
	}
}

// TestNewTemporaryPasswordGuidesAnAccountNotYetActivated: the registration
// mail sends a person whose temporary password expired before they
// activated to Lupa Kata Laluan (or the helpdesk, whose administrator issues
// one). After Login with the new one the portal shows them the Aktif page,
// not a password change; the mail said only "set a new password".
func TestNewTemporaryPasswordGuidesAnAccountNotYetActivated(t *testing.T) {
	for name, f := range newTemporaryPasswordMails(testComposer()) {
		p := renderedMail(t, f)
		for _, want := range []string{
			"Jika akaun anda belum diaktifkan, lengkapkan Maklumat Kata Laluan, Soalan dan Jawapan Rahsia, Imej Online dan Frasa Rahsia, kemudian klik butang \u201cAktif\u201d.",
			"If your account is not activated yet, fill in your password, secret question and answer, security image and secret phrase, then click \u201cAktif\u201d (activate).",
		} {
			if !strings.Contains(p.Text, want) || !strings.Contains(p.HTML, want) {
				t.Errorf("%s: lacks %q:\n%s", name, want, p.Text)
			}
		}
	}
}

// newTemporaryPasswordMails composes the mails of a temporary password
// that replaces an earlier one: Lupa Kata Laluan and the administrator's.
func newTemporaryPasswordMails(c mail.Composer) map[string]func() (mail.Message, error) {
	exp := time.Date(2026, 3, 3, 1, 0, 0, 0, time.UTC)
	return map[string]func() (mail.Message, error){
		"forgot": func() (mail.Message, error) { return c.ForgotPassword(aminah, "T3mp-Pass-002", exp) },
		"admin":  func() (mail.Message, error) { return c.AdminTemporaryPassword(aminah, "T3mp-Pass-002", exp) },
	}
}
