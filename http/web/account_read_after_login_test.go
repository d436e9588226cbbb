package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// The password step does not wait for its login to reach the views: the
// home page shows what the login decided. The pages after it wait instead,
// so Aktiviti Log Masuk lists the login. Here the projectors commit only
// for a reader who waits (UnawaitedDelay an hour), so the login is in the
// views only if the page after home waited for it.
func TestTheLoginsNextPageWaitsForIt(t *testing.T) {
	w := newWorldWith(t, worldOpts{demo: true, unawaited: time.Hour})
	w.activeUser(master[0])
	w.clk.Add(time.Hour)
	b := w.browser()
	b.enterID(sitiIC)
	home := b.follow(b.enterPassword(password))
	if home.Code != http.StatusOK {
		t.Fatalf("home after the password: %d", home.Code)
	}
	mustContain(t, "home", home.body, "Log masuk terakhir anda sebelum ini:")
	login := w.head()
	for _, projector := range []string{"accounts", "login_attempts"} {
		cp, err := w.views.Checkpoint(context.Background(), projector)
		if err != nil {
			t.Fatal(err)
		}
		if cp >= login {
			t.Errorf("%s committed the login (checkpoint %d, login %d) before any page read it: the password step waited", projector, cp, login)
		}
	}

	r := b.get("/tetapan-akaun/aktiviti-log-masuk")
	if r.Code != http.StatusOK {
		t.Fatalf("activity: %d", r.Code)
	}
	rows := tableRows(r.body)
	if len(rows) != 2 || !strings.Contains(rows[0], "Kata laluan diterima") || strings.Contains(rows[0], "sementara") {
		t.Fatalf("activity rows, newest first (want this login, then the activation's):\n%s", strings.Join(rows, "\n"))
	}
}

// The wait is once per login, as the login step's was: while the
// projectors lag (held here), the first page after home waits out its bound
// and the pages after it no longer wait.
func TestTheLoginsWaitIsOnce(t *testing.T) {
	w := newWorldWith(t, worldOpts{demo: true, waitTimeout: 300 * time.Millisecond})
	w.activeUser(master[0])
	w.holdProjectors()
	w.clk.Add(time.Hour)
	b := w.browser()
	b.enterID(sitiIC)
	if home := b.follow(b.enterPassword(password)); home.Code != http.StatusOK {
		t.Fatalf("home after the password: %d", home.Code)
	}
	gaveUp := func() int { return strings.Count(w.logs.String(), "read-your-writes wait gave up") }
	if n := gaveUp(); n != 0 {
		t.Fatalf("%d waits before any page that reads a view", n)
	}
	for i := range 3 {
		if r := b.get("/tetapan-akaun/aktiviti-log-masuk"); r.Code != http.StatusOK {
			t.Fatalf("activity %d: %d", i, r.Code)
		}
		if n := gaveUp(); n != 1 {
			t.Fatalf("after %d pages, %d waits that gave up, want the first page's only", i+1, n)
		}
	}
}

// A session ended while its first page waited for the login's position (a
// lock by three wrong passwords from elsewhere, here) does not get the
// page: the request's copy of the session was read before the end, and
// was carried on to the page (200) until the next request.
func TestASessionEndedDuringTheWaitGetsNoPage(t *testing.T) {
	w := newWorldWith(t, worldOpts{demo: true, waitTimeout: 1500 * time.Millisecond})
	b := w.activeUser(master[0])
	b.post("/utama", "/log-keluar", nil)
	w.clk.Add(time.Hour)
	w.holdProjectors()
	b.login(sitiIC, password)
	var wg sync.WaitGroup
	var page result
	wg.Add(1)
	go func() { defer wg.Done(); page = b.get("/tetapan-akaun/aktiviti-log-masuk") }()
	time.Sleep(200 * time.Millisecond) // the page is waiting
	a := w.browser()
	a.remote = "203.0.113.9:1"
	a.enterID(sitiIC)
	var r result
	for i := range 3 {
		r = a.enterPassword(fmt.Sprint("salah sekali lagi ", i))
	}
	if r.Code != http.StatusLocked {
		t.Fatalf("third wrong password: %d, want the lock", r.Code)
	}
	wg.Wait()
	if page.Code != http.StatusSeeOther || !strings.Contains(page.Header().Get("Location"), "sesi=tamat") {
		t.Fatalf("page requested before the lock, answered after it: %d %q, want back to the landing page (sesi=tamat)", page.Code, page.Header().Get("Location"))
	}
	if next := b.get("/tetapan-akaun/aktiviti-log-masuk"); next.Code != http.StatusSeeOther {
		t.Fatalf("the next page: %d", next.Code)
	}
}
