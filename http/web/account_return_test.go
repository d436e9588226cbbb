package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/http/session"
)

// TestLoginReturnsToThePageAskedFor: a browser sent to log in (its session
// timed out, or it followed a link) ends its login on the page it asked
// for, not the home page; on a shared computer the next person to log in
// goes home; a remembered page that is not a page of this site goes home.
func TestLoginReturnsToThePageAskedFor(t *testing.T) {
	w := newWorld(t)
	siti := master[0]
	b := w.activeUser(siti)
	w.activeUser(master[1])

	const page = "/tetapan-akaun/aktiviti-log-masuk?halaman=1"
	w.clk.Add(31 * time.Minute) // past the idle timeout
	r := b.get(page)
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/?sesi=tamat" {
		t.Fatalf("timed-out session: %d %s", r.Code, r.Header().Get("Location"))
	}
	b.enterID(siti.IC)
	if r := b.enterPassword(password); r.Code != http.StatusSeeOther || r.Header().Get("Location") != page {
		t.Fatalf("login after the timeout: %d %s, want %s", r.Code, r.Header().Get("Location"), page)
	}
	// Used once: the next login on this browser goes home.
	if r := b.post("/utama", "/log-keluar", nil); r.Code != http.StatusSeeOther {
		t.Fatalf("log out: %d", r.Code)
	}
	if r := b.login(siti.IC, password); r.Code != http.StatusOK { // fails unless it ends on /utama
		t.Fatalf("next login: %d", r.Code)
	}
	b = w.browser()
	if r := b.login(siti.IC, password); r.Code != http.StatusOK {
		t.Fatalf("login on a fresh browser: %d", r.Code)
	}

	// Siti's session times out on a shared computer; Nurul logs in there.
	w.clk.Add(31 * time.Minute)
	b.get(page)
	b.login(master[1].IC, password) // fails unless it ends on /utama

	// A link followed without a session: the login ends there.
	n := w.browser()
	if r := n.get("/tetapan-akaun/kemaskini-maklumat"); r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/?sesi=perlu" {
		t.Fatalf("link without a session: %d %s", r.Code, r.Header().Get("Location"))
	}
	n.enterID(master[1].IC)
	if r := n.enterPassword(password); r.Header().Get("Location") != "/tetapan-akaun/kemaskini-maklumat" {
		t.Fatalf("login after a link: %d %s", r.Code, r.Header().Get("Location"))
	}

	// A remembered page that points off the site, however written, goes home.
	for _, bad := range []string{"//evil.example/x", "/%2F%2Fevil.example", "/\\evil.example", "https://evil.example/"} {
		e := w.browser()
		e.cookies["ispeks_kembali"] = &http.Cookie{Name: "ispeks_kembali", Value: url.QueryEscape(bad)}
		e.login(siti.IC, password) // fails unless it ends on /utama
	}
}

// TestLoginReturnAfterSweep: the session janitor drops a timed-out session
// within a minute, long before its owner comes back. The store keeps whose
// it was (only that, once, for the return cookie's life), so the page asked
// for then is still tied to them: they land on it; the next person at a
// shared computer goes home; so does everyone once the user's sessions were
// all ended (logout, which ends every session; a lock; a password change),
// or when the browser comes back after the store has forgotten.
func TestLoginReturnAfterSweep(t *testing.T) {
	store := session.NewMemoryStore(0)
	w := newWorldWith(t, worldOpts{demo: true, store: store})
	siti, nurul := master[0], master[1]
	b := w.activeUser(siti)
	w.activeUser(nurul)
	sweep := func() {
		t.Helper()
		if _, err := store.Sweep(context.Background(), w.clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	const page = "/tetapan-akaun/aktiviti-log-masuk?halaman=1"
	timeOut := func(b *browser) {
		t.Helper()
		w.clk.Add(31 * time.Minute) // past the idle timeout
		sweep()
		if r := b.get(page); r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/?sesi=tamat" {
			t.Fatalf("swept session: %d %s", r.Code, r.Header().Get("Location"))
		}
	}

	// Its owner logs in again: the login ends on the page.
	timeOut(b)
	b.enterID(siti.IC)
	if r := b.enterPassword(password); r.Code != http.StatusSeeOther || r.Header().Get("Location") != page {
		t.Fatalf("owner after the sweep: %d %s, want %s", r.Code, r.Header().Get("Location"), page)
	}

	// Someone else logs in on that browser: home.
	timeOut(b)
	b.login(nurul.IC, password) // fails unless it ends on /utama

	// Siti logs out elsewhere (which ends all her sessions) before coming
	// back to the timed-out browser: home.
	b.post("/utama", "/log-keluar", nil)
	b.login(siti.IC, password)
	w.clk.Add(31 * time.Minute)
	sweep()
	o := w.browser()
	o.login(siti.IC, password)
	o.post("/utama", "/log-keluar", nil)
	b.get(page)
	b.login(siti.IC, password)

	// The browser comes back after the store forgot the session: home.
	w.clk.Add(31 * time.Minute)
	sweep()
	w.clk.Add(session.GoneFor)
	sweep()
	b.get(page)
	b.login(siti.IC, password)
}

// TestLoginReturnsToAPageWithADot: a page whose address holds a dot (in
// its path or query) is remembered and returned to like any other, tied to
// the timed-out session's user or not.
func TestLoginReturnsToAPageWithADot(t *testing.T) {
	w := newWorld(t)
	siti := master[0]
	b := w.activeUser(siti)

	const page = "/tetapan-akaun/aktiviti-log-masuk?halaman=1&v=1.2"
	w.clk.Add(31 * time.Minute)
	b.get(page)
	b.enterID(siti.IC)
	if r := b.enterPassword(password); r.Header().Get("Location") != page {
		t.Fatalf("login after the timeout: %d %s, want %s", r.Code, r.Header().Get("Location"), page)
	}

	n := w.browser()
	n.get(page)
	n.enterID(siti.IC)
	if r := n.enterPassword(password); r.Header().Get("Location") != page {
		t.Fatalf("login after a link: %d %s, want %s", r.Code, r.Header().Get("Location"), page)
	}
}

// TestLoginReturnKeepsNoICInACookie: a page whose address holds an IC
// number (an administrator's page of an account, /pentadbir/akaun/<IC>, or
// any page given one) is not remembered: the cookie would carry the
// number, and proxies may log cookies.
func TestLoginReturnKeepsNoICInACookie(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	for _, page := range []string{"/tetapan-akaun/aktiviti-log-masuk?ic=791117045671", "/tetapan-akaun/kemaskini-maklumat?ic=791117-04-5671", "/tetapan-akaun/kemaskini-maklumat?ic=791117%2D04%2D5671"} {
		r := b.get(page)
		if r.Code != http.StatusSeeOther {
			t.Fatalf("%s without a session: %d", page, r.Code)
		}
		for _, c := range r.Result().Cookies() {
			if c.Name == "ispeks_kembali" {
				t.Fatalf("%s: remembered in a cookie: %q", page, c.Value)
			}
		}
	}
}

// TestSentToLoginSaysWhy: a browser sent to log in from a page says why on
// the login page: "Sila log masuk untuk meneruskan" when it had no session
// (a bookmark opened after logging out in another tab, or in a new
// browser), "Sesi anda telah tamat" when its session timed out. The words
// are the same for every page and person, and the login still ends on the
// page asked for.
func TestSentToLoginSaysWhy(t *testing.T) {
	w := newWorld(t)
	siti := master[0]
	const page = "/tetapan-akaun/aktiviti-log-masuk?halaman=1"

	// Logged out in another tab of the same browser: the cookie is gone.
	b := w.activeUser(siti)
	b.post("/utama", "/log-keluar", nil)
	r := b.get(page)
	if r.Code != http.StatusSeeOther {
		t.Fatalf("bookmark after logout: %d", r.Code)
	}
	l := b.follow(r)
	mustContain(t, "login page after a bookmark", l.body, "Sila log masuk untuk meneruskan")
	mustNotContain(t, "login page after a bookmark", l.body, "Sesi anda telah tamat")
	b.enterID(siti.IC)
	if r := b.enterPassword(password); r.Header().Get("Location") != page {
		t.Fatalf("login after a bookmark: %d %s, want %s", r.Code, r.Header().Get("Location"), page)
	}

	// Timed out: the session is said to have ended.
	w.clk.Add(31 * time.Minute)
	l = b.follow(b.get(page))
	mustContain(t, "login page after the timeout", l.body, "Sesi anda telah tamat")
	mustNotContain(t, "login page after the timeout", l.body, "Sila log masuk untuk meneruskan")

	// The landing page opened for itself says neither.
	l = w.browser().get("/")
	mustNotContain(t, "landing", l.body, "Sila log masuk untuk meneruskan", "Sesi anda telah tamat")
	l = w.browser().get("/?sesi=perlu&lang=en")
	mustContain(t, "English", l.body, "Please log in to continue")
}
