package web_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
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
