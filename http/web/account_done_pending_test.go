package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"net/http"
	"net/url"
	"testing"

	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/http/web"
)

// The pending session a double click's refused request was sent with ends
// there and then, not with the next login step or its timeout: held
// between the first's command and its answer, the second leaves it gone
// from the store. The cookie naming it is left alone all the same: the
// second's redirect followed and a third click with it, before the first's
// login replaced that session, are told the step was done, not that the
// session ended, and clear nothing; the first's session opens the home
// page. Refused after the first's answer, the second finds its session
// replaced already and leaves that as it was: once the first's session
// ends, the old cookie is an ended session's.
func TestFormSentTwiceRefusedEndsItsPendingSession(t *testing.T) {
	for _, secondInside := range []bool{true, false} {
		when := "before the first's session"
		if !secondInside {
			when = "after the first's session"
		}
		t.Run("refused "+when, func(t *testing.T) {
			store := session.NewMemoryStore(0)
			hooks := &commandHooks{}
			w := newWorldWith(t, worldOpts{demo: true, store: store, commands: func(w *world, c *web.AccountCommands) {
				c.Activate = hookedActivator{c.Activate, hooks}
				c.ResetPassword = hookedResetter{c.ResetPassword, hooks}
			}})
			const pw = "Bunga Raya Kembang 9"
			s := master[0]
			for _, step := range []struct {
				name, page, done, home, notice string
				to                             func(*browser)
				form                           url.Values
			}{
				{"activation", "/pengaktifan", "/?sesi=diaktifkan", "/utama", "telah diaktifkan di tab atau peranti lain",
					func(b *browser) { w.toActivationStep(b, s) }, activationForm(password, "kucing", "Kopi Harum")},
				{"new password", "/login/kata-laluan-baru", "/?sesi=kata-laluan-baru", "/utama?kata-laluan=ditukar", "Kata laluan baru telah ditetapkan di tab atau peranti lain",
					func(b *browser) { w.toNewPasswordStep(b, s) }, url.Values{"password": {pw}, "confirm_password": {pw}}},
			} {
				b := w.browser()
				step.to(b)
				step.form.Set("csrf_token", b.csrf(step.page))
				pending := b.cookies["ispeks_session"].Value
				other := &browser{w: w, cookies: maps.Clone(b.cookies), remote: b.remote, headers: maps.Clone(b.headers)}
				var first, second, followed, third result
				var storedAfterSecond bool
				rest := func() {
					second = other.do("POST", step.page, step.form)
					storedAfterSecond = sessionStored(t, store, pending)
					followed = other.get(second.Header().Get("Location"))
					third = other.do("POST", step.page, step.form)
				}
				if secondInside {
					hooks.set(nil, rest)
					first = b.do("POST", step.page, step.form)
				} else {
					hooks.set(func() { first = b.do("POST", step.page, step.form) }, nil)
					rest()
				}
				if first.ResponseRecorder == nil || second.ResponseRecorder == nil {
					t.Fatalf("%s: the two requests did not overlap in the command", step.name)
				}
				if first.Header().Get("Location") != step.home {
					t.Fatalf("first %s: %d %s", step.name, first.Code, first.Header().Get("Location"))
				}
				if second.Header().Get("Location") != step.done || clearsSession(second) {
					t.Fatalf("second %s, refused %s: %d %s %v", step.name, when, second.Code, second.Header().Get("Location"), second.Header()["Set-Cookie"])
				}
				if storedAfterSecond {
					t.Fatalf("second %s, refused %s: the pending session it was sent with is still in the store", step.name, when)
				}
				if followed.Code != http.StatusOK || clearsSession(followed) {
					t.Fatalf("the second %s's redirect followed, refused %s: %d %v", step.name, when, followed.Code, followed.Header()["Set-Cookie"])
				}
				mustContain(t, "the second's redirect followed", followed.body, step.notice)
				mustNotContain(t, "the second's redirect followed", followed.body, "Sesi anda telah tamat")
				if third.Header().Get("Location") != step.done || clearsSession(third) {
					t.Fatalf("third %s, refused %s: %d %s %v", step.name, when, third.Code, third.Header().Get("Location"), third.Header()["Set-Cookie"])
				}
				if r := b.get("/utama"); r.Code != http.StatusOK {
					t.Fatalf("the first's session after the %s refused %s: %d %s, want still logged in", step.name, when, r.Code, r.Header().Get("Location"))
				}
				if !secondInside {
					// The refused request did not make its session's note
					// outlive the session that replaced it.
					if r := b.post("/utama", "/log-keluar", nil); r.Code != http.StatusSeeOther {
						t.Fatalf("logout: %d", r.Code)
					}
					if r := other.get("/utama"); r.Header().Get("Location") != "/?sesi=tamat" || !clearsSession(r) {
						t.Fatalf("the refused %s's cookie after the first's session ended: %d %s %v, want it cleared and told the session ended",
							step.name, r.Code, r.Header().Get("Location"), r.Header()["Set-Cookie"])
					}
				}
			}
		})
	}
}

// sessionStored reports whether store holds the session of the cookie
// token: a Store is keyed by the token's SHA-256 (session.Session).
func sessionStored(t *testing.T, store session.Store, token string) bool {
	t.Helper()
	h := sha256.Sum256([]byte(token))
	_, ok, err := store.Get(context.Background(), hex.EncodeToString(h[:]))
	if err != nil {
		t.Fatal(err)
	}
	return ok
}
