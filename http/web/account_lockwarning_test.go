package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	countedWarningMS = "Setiap kesilapan di sini dikira sebagai percubaan log masuk yang gagal: ID Pengguna anda akan disekat setelah cukup 3 kali kesilapan berturut-turut."
	countedWarningEN = "Each mistake here counts as a failed login attempt: your User ID will be blocked after 3 mistakes in a row."
)

// TestCountedMistakesWarnOfTheLock: a wrong password on Tukar Kata Laluan
// or on an e-mail change, and a wrong code at the two-factor step, count
// towards the lock like a wrong password at login. The login page warns of
// the lock after a mistake; these pages must too, in the error summary and
// in the page's language, or the third slip locks the person out unwarned.
// A mistake that does not count (a mismatched confirmation) carries no
// warning.
func TestCountedMistakesWarnOfTheLock(t *testing.T) {
	w := newWorld(t)
	b := w.activeUser(master[0])
	const np = "Ombak Pantai Klebang 4"

	const pw = "/tetapan-akaun/tukar-kata-laluan"
	r := b.post(pw, pw, url.Values{"old_password": {password}, "password": {np}, "confirm_password": {np + "!"}})
	if r.Code != http.StatusUnprocessableEntity {
		t.Fatalf("mismatch: %d", r.Code)
	}
	mustNotContain(t, "mismatch (not counted)", r.body, countedWarningMS)
	r = b.post(pw, pw, url.Values{"old_password": {"salah"}, "password": {np}, "confirm_password": {np}})
	if r.Code != http.StatusUnauthorized {
		t.Fatalf("wrong old password: %d", r.Code)
	}
	mustContain(t, "wrong old password", summaryOf(t, r.body), "Kata Laluan Tidak Tepat", countedWarningMS)

	const pr = "/tetapan-akaun/kemaskini-maklumat"
	b.get(pr + "?lang=en")
	r = b.post(pr, pr, vals("phone", "", "office", "", "email", "siti.omar@melaka.gov.my", "current_password", "salah"))
	if r.Code != http.StatusUnauthorized {
		t.Fatalf("wrong current password: %d", r.Code)
	}
	mustContain(t, "wrong current password (English)", summaryOf(t, r.body), "Incorrect Password", countedWarningEN)
	mustNotContain(t, "wrong current password (English)", r.body, countedWarningMS)
	// A login ends the run of failures (a change of password does not).
	if r := b.post(pw, pw, url.Values{"old_password": {password}, "password": {np}, "confirm_password": {np}}); r.Code != http.StatusSeeOther {
		t.Fatalf("change: %d", r.Code)
	}
	w.browser().login(sitiIC, np)

	// The two-factor step of a login.
	b.get("/utama?lang=ms")
	enableTOTP(t, w, b, np)
	w.clk.Add(time.Minute)
	l := w.browser()
	l.enterID(sitiIC)
	if r := l.enterPassword(np); r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/login/dua-faktor" {
		t.Fatalf("password step: %d %s", r.Code, r.Header().Get("Location"))
	}
	// A code of the wrong shape is a typo: said so on the field, and not
	// counted (no warning), however often.
	for _, typo := range []string{"12345", "abc", "1234-5678"} {
		r = l.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {typo}})
		if r.Code != http.StatusUnprocessableEntity {
			t.Fatalf("code %q: %d, want 422", typo, r.Code)
		}
		mustContain(t, "typo "+typo, summaryOf(t, r.body), "Masukkan 6 digit daripada aplikasi pengesah, atau kod pemulihan 10 aksara")
		mustNotContain(t, "typo "+typo, r.body, countedWarningMS)
	}
	r = l.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {"000000"}})
	if r.Code != http.StatusUnauthorized {
		t.Fatalf("wrong code: %d", r.Code)
	}
	mustContain(t, "wrong code", summaryOf(t, r.body), "Kod tidak tepat", countedWarningMS)
}

// summaryOf returns the error summary box of a page.
func summaryOf(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, `<div class="error-summary"`)
	if i < 0 {
		t.Fatalf("no error summary on the page")
	}
	j := strings.Index(body[i:], "</div>")
	return body[i : i+j]
}
