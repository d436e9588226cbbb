package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/infra/security"
)

// At a step-up (logged in, no code yet in this session), the code another
// session has just logged in with is not this form sent twice: the page
// says the code was used instead of going on as if it were accepted (an
// administrator's page would send the browser straight back to the code
// form, with no word why). This session's own form sent twice still goes
// on to the page asked for.
func TestStepUpWithAnotherSessionsCodeSaysItWasUsed(t *testing.T) {
	w := newWorld(t)
	a := w.activeUser(master[0]) // logged in before two-factor: no code in this session
	b := w.browser()
	b.login(sitiIC, password)
	secret := enableTOTP(t, w, b, password)

	w.clk.Add(30 * time.Second)
	code, _ := security.TOTP{}.Code(secret, w.clk.Now())
	other := w.browser()
	if r := other.loginWithCode(sitiIC, password, secret); r.Header().Get("Location") != "/utama" {
		t.Fatalf("the other session's login: %d", r.Code)
	}
	form := url.Values{"code": {code}, "next": {"/utama"}}
	r := a.post("/login/dua-faktor?next=/utama", "/login/dua-faktor", form)
	if r.Code == http.StatusSeeOther {
		t.Fatalf("the other session's code at a step-up: %d %s, want the code form with a message", r.Code, r.Header().Get("Location"))
	}
	mustContain(t, "the other session's code", r.body, "Kod ini telah digunakan")

	// This session's own form sent twice: the first goes on to the page
	// asked for, the second away from the code form without a message.
	w.clk.Add(30 * time.Second)
	code, _ = security.TOTP{}.Code(secret, w.clk.Now())
	first, second := a.sendTwice("/login/dua-faktor?next=/utama", "/login/dua-faktor", url.Values{"code": {code}, "next": {"/utama"}})
	if first.Code != http.StatusSeeOther || first.Header().Get("Location") != "/utama" {
		t.Fatalf("first submission of a double click: %d %s", first.Code, first.Header().Get("Location"))
	}
	if second.Code != http.StatusSeeOther || strings.HasPrefix(second.Header().Get("Location"), "/login/dua-faktor") {
		t.Fatalf("second submission of a double click: %d %s %s", second.Code, second.Header().Get("Location"), second.body)
	}
	if r := a.get("/login/dua-faktor?next=/utama"); r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/utama" {
		t.Fatalf("the code form after the double click: %d %s, want the session verified", r.Code, r.Header().Get("Location"))
	}
}

// A double click on the step-up's Hantar, the second submission read
// after the first was answered (it carries the token the first replaced),
// and the same form sent from a second tab after the first had stepped the
// session up: each goes on to the page asked for, as the first did, not to
// the home page or the login; the code is not checked again and nothing
// counts as a failure.
func TestStepUpSentAgainGoesToThePageAskedFor(t *testing.T) {
	const next = "/tetapan-akaun/aktiviti-log-masuk"
	const page = "/login/dua-faktor?next=" + next
	w := newWorld(t)
	a := w.activeUser(master[0]) // logged in before two-factor: no code in this session
	c := w.browser()
	c.login(sitiIC, password) // another, for the second tab's case
	b := w.browser()
	b.login(sitiIC, password)
	secret := enableTOTP(t, w, b, password)

	w.clk.Add(30 * time.Second)
	code, _ := security.TOTP{}.Code(secret, w.clk.Now())
	first, second := a.sendTwice(page, "/login/dua-faktor", url.Values{"code": {code}, "next": {next}})
	if first.Code != http.StatusSeeOther || first.Header().Get("Location") != next {
		t.Fatalf("first submission: %d %s", first.Code, first.Header().Get("Location"))
	}
	if second.Code != http.StatusSeeOther || second.Header().Get("Location") != next || clearsSession(second) {
		t.Fatalf("second submission: %d %s %v, want the page asked for", second.Code, second.Header().Get("Location"), second.Header()["Set-Cookie"])
	}
	if r := a.get(next); r.Code != http.StatusOK {
		t.Fatalf("the page asked for after the double click: %d %s", r.Code, r.Header().Get("Location"))
	}

	// Another tab: its form was drawn before this one stepped up.
	w.clk.Add(30 * time.Second)
	code, _ = security.TOTP{}.Code(secret, w.clk.Now())
	otherTab := url.Values{"code": {code}, "next": {next}, "csrf_token": {c.csrf(page)}}
	if r := c.post(page, "/login/dua-faktor", url.Values{"code": {code}, "next": {next}}); r.Header().Get("Location") != next {
		t.Fatalf("step-up: %d %s", r.Code, r.Header().Get("Location"))
	}
	head := w.head()
	if r := c.do("POST", "/login/dua-faktor", otherTab); r.Code != http.StatusSeeOther || r.Header().Get("Location") != next {
		t.Fatalf("the other tab's code: %d %s %s, want the page asked for", r.Code, r.Header().Get("Location"), r.body)
	}
	if w.head() != head {
		t.Fatal("the other tab's code was checked again")
	}
	if n := w.accountView(sitiIC).FailedAttempts; n != 0 {
		t.Fatalf("%d failed attempts after a step-up sent twice", n)
	}
}
