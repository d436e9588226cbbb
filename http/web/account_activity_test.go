package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/infra/security"
)

// TestLoginActivity: Tetapan Akaun › Aktiviti Log Masuk lists the signed-in
// person's own logins and failed attempts, newest first, a page at a time,
// and nobody else's; the home page's note links to it.
func TestLoginActivity(t *testing.T) {
	w := newWorld(t)
	w.activeUser(master[0]) // Siti: activation login with the temporary password
	// Nurul's account is locked by three wrong passwords: none of it may
	// show on Siti's page.
	w.activeUser(master[1])
	for range 3 {
		attempt(w, nurulIC, "bukan-kata-laluan")
	}
	w.clk.Add(time.Hour)
	b := w.browser()
	b.enterID(sitiIC)
	b.enterPassword("salah-satu")
	home := b.follow(b.enterPassword(password))
	mustContain(t, "home", home.body, "Cubaan log masuk yang gagal sejak itu: 1.", `href="/tetapan-akaun/aktiviti-log-masuk"`, "Lihat Aktiviti Log Masuk")

	r := b.get("/tetapan-akaun/aktiviti-log-masuk")
	if r.Code != http.StatusOK {
		t.Fatalf("activity: %d", r.Code)
	}
	mustContain(t, "activity", r.body, "<h1>Aktiviti Log Masuk</h1>", "Kata laluan diterima", "dengan kata laluan sementara", "Gagal", "Kata laluan tidak tepat", `<td><span class="cl">Alamat IP: </span>192.0.2.`, `aria-current="page"`)
	mustNotContain(t, "activity", r.body, "Dikunci", "Aktiviti lebih lama", "Aktiviti terkini")
	rows := tableRows(r.body)
	if len(rows) != 3 || !strings.Contains(rows[0], "Kata laluan diterima") || !strings.Contains(rows[1], "Kata laluan tidak tepat") || !strings.Contains(rows[2], "dengan kata laluan sementara") {
		t.Fatalf("rows, newest first:\n%s", strings.Join(rows, "\n"))
	}

	// Twenty-two more logins: the page shows twenty, then the older ones.
	for range 22 {
		w.clk.Add(time.Minute)
		if _, err := w.h.LogIn.Handle(context.Background(), commands.LogIn{Meta: sysMeta(), UserID: sitiIC, Password: password}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.eng.WaitFor(context.Background(), w.head()); err != nil {
		t.Fatal(err)
	}
	first := b.get("/tetapan-akaun/aktiviti-log-masuk")
	next := regexp.MustCompile(`href="(/tetapan-akaun/aktiviti-log-masuk\?selepas=[^"]+)"`).FindStringSubmatch(first.body)
	if next == nil {
		t.Fatalf("no link to older activity:\n%s", first.body)
	}
	older := b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	rows = tableRows(older.body)
	if older.Code != http.StatusOK || len(rows) != 5 || !strings.Contains(rows[4], "dengan kata laluan sementara") {
		t.Fatalf("older page: %d\n%s", older.Code, strings.Join(rows, "\n"))
	}
	mustContain(t, "older page", older.body, "Aktiviti terkini")
	mustNotContain(t, "older page", older.body, "Aktiviti lebih lama")

	// A cursor that is not one is a bad request; no login, no page.
	if r := b.get("/tetapan-akaun/aktiviti-log-masuk?selepas=bukan-kursor"); r.Code != http.StatusBadRequest {
		t.Fatalf("bad cursor: %d", r.Code)
	} else {
		mustContain(t, "bad cursor", r.body, "Pautan ke halaman seterusnya tidak sah")
	}
	if r := w.browser().get("/tetapan-akaun/aktiviti-log-masuk"); r.Code != http.StatusSeeOther {
		t.Fatalf("anonymous: %d", r.Code)
	}
}

// tableRows returns the rows of the page's table body.
func tableRows(body string) []string {
	_, tbody, ok := strings.Cut(body, "<tbody>")
	if !ok {
		return nil
	}
	tbody, _, _ = strings.Cut(tbody, "</tbody>")
	return regexp.MustCompile(`(?s)<tr>.*?</tr>`).FindAllString(tbody, -1)
}

// Given Siti logged in on one device before she turned two-factor on, and
// a password login from another address waiting for its code, when she
// gives her code at a step-up on the first device, then Aktiviti Log Masuk
// shows it as a step-up, not as the second factor of a login: the other
// address's login never completed, and she must not read it as hers.
func TestLoginActivityTellsAStepUpFromALogin(t *testing.T) {
	w := newWorld(t)
	logged := w.activeUser(master[0]) // logged in before two-factor: no code in this session
	b := w.browser()
	b.login(sitiIC, password)
	secret := enableTOTP(t, w, b, password)
	w.clk.Add(time.Minute)
	other := w.browser()
	other.enterID(sitiIC)
	if r := other.enterPassword(password); r.Header().Get("Location") != "/login/dua-faktor" {
		t.Fatalf("password step with TOTP on: %d %s", r.Code, r.Header().Get("Location"))
	}
	w.clk.Add(time.Minute)
	code, _ := security.TOTP{}.Code(secret, w.clk.Now())
	if r := logged.post("/login/dua-faktor?next=/utama", "/login/dua-faktor", url.Values{"code": {code}, "next": {"/utama"}}); r.Header().Get("Location") != "/utama" {
		t.Fatalf("step-up: %d %s", r.Code, r.Header().Get("Location"))
	}
	if err := w.eng.WaitFor(context.Background(), w.head()); err != nil {
		t.Fatal(err)
	}
	rows := tableRows(logged.get("/tetapan-akaun/aktiviti-log-masuk").body)
	if len(rows) < 2 || !strings.Contains(rows[0], "Dua faktor diterima") || !strings.Contains(rows[0], "pengesahan semula, bukan log masuk") || !strings.Contains(rows[1], "Kata laluan diterima") {
		t.Fatalf("activity, newest first:\n%s", strings.Join(rows, "\n"))
	}
}
