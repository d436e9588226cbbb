package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/http/web"
)

// hrMoves changes s's official e-mail in the employee master to email (the
// finance system's PUT) and runs the portal's e-mail follower on that
// change, as cmd/ispeks runs it.
func (w *world) hrMoves(s staff, email string) {
	w.t.Helper()
	ctx := context.Background()
	if _, err := w.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: sysMeta(), Details: employee.Details{
		IC: s.IC, Name: s.Name, Email: email, Department: s.Dept, Post: "Pegawai", StaffNumber: "S-" + s.IC[8:],
	}}); err != nil {
		w.t.Fatal(err)
	}
	recs, err := w.events.ReadStream(ctx, "employee-"+s.IC, 1, eventlog.Forwards, 1000)
	if err != nil || len(recs) == 0 {
		w.t.Fatalf("employee stream: %d %v", len(recs), err)
	}
	change, err := w.reg.Decode(recs[len(recs)-1])
	if err != nil {
		w.t.Fatal(err)
	}
	if ev, ok := change.Event.(employee.StaffUpdated); !ok || ev.PreviousEmail == "" {
		w.t.Fatalf("master change %+v, want an update of the e-mail", change.Event)
	}
	follower := commands.EmailFollower{Follow: w.h.FollowMasterEmail, Log: slog.New(slog.DiscardHandler)}
	if err := follower.Handle(ctx, change); err != nil {
		w.t.Fatal(err)
	}
}

// Given Siti's first login with her temporary password waiting at
// Pengaktifan, and Amin, logged in on his desktop, whose Lupa Kata Laluan
// login waits on another device for its new password, when HR corrects
// each one's official e-mail (the temporary passwords went to the old
// addresses, perhaps someone else's mailbox), then both waiting logins end
// there and then, and their forms, sent anyway, set nothing: the browser is
// told its session ended and nothing is recorded. Amin's logged-in session
// goes on: the old mailbox never reached it.
func TestAnEmailFollowingTheMasterEndsTheWaitingTemporaryLogins(t *testing.T) {
	store := session.NewMemoryStore(0)
	w := newWorldWith(t, worldOpts{demo: true, store: store})
	siti, amin := master[0], master[3]

	atActivation := w.browser()
	w.toActivationStep(atActivation, siti)
	activation := activationForm(password, "kucing", "Kopi Harum")
	activation.Set("csrf_token", atActivation.csrf("/pengaktifan"))

	desktop := w.activeUser(amin)
	if !w.forgotIssues(amin.IC) {
		t.Fatal("Lupa Kata Laluan issued nothing")
	}
	atReset := w.browser()
	atReset.enterID(amin.IC)
	if r := atReset.enterPassword(w.mailFor(atReset, amin.IC, "kata laluan sementara baharu", 0)); r.Header().Get("Location") != "/login/kata-laluan-baru" {
		t.Fatalf("Lupa Kata Laluan's password: %d %s", r.Code, r.Header().Get("Location"))
	}
	const chosen = "Bukit St Paul Petang 4"
	reset := url.Values{"password": {chosen}, "confirm_password": {chosen}}
	reset.Set("csrf_token", atReset.csrf("/login/kata-laluan-baru"))

	waiting := map[string]string{
		"at Pengaktifan":      atActivation.cookies["ispeks_session"].Value,
		"at the new password": atReset.cookies["ispeks_session"].Value,
	}
	w.clk.Add(time.Minute)
	w.hrMoves(siti, "kewangan.tengah@melaka.gov.my")
	w.hrMoves(amin, "amin.yusof@moe.melaka.gov.my")
	for what, token := range waiting {
		w.eventually("the login waiting "+what+" ended", func() bool { return !sessionStored(t, store, token) })
	}

	head := w.head()
	if r := atActivation.do("POST", "/pengaktifan", activation); r.Header().Get("Location") == "/utama" {
		t.Fatal("the old mailbox's login activated the account after HR corrected the address")
	}
	if r := atReset.do("POST", "/login/kata-laluan-baru", reset); r.Header().Get("Location") == "/utama" {
		t.Fatal("the old mailbox's login chose the password after HR corrected the address")
	}
	if w.head() != head {
		t.Fatal("an ended login's form recorded something")
	}
	for what, b := range map[string]*browser{"at Pengaktifan": atActivation, "at the new password": atReset} {
		if r := b.get("/utama"); r.Code == http.StatusOK {
			t.Errorf("the login waiting %s is logged in", what)
		}
	}
	if r := desktop.get("/utama"); r.Code != http.StatusOK {
		t.Fatalf("Amin's logged-in session after HR moved his address: %d %s, want it to go on", r.Code, r.Header().Get("Location"))
	}
}

// Given Nurul's first login, when HR moves her address in the moment
// between her temporary password being accepted and its Pengaktifan
// session being made (the session follower has passed the change by then
// and found that session not yet there), then her activation is refused
// as a login overtaken: the browser is told its session ended, and
// nothing is recorded. The refusal comes from the log (the command), not
// from what this process's session store has seen.
func TestAnEmailFollowingTheMasterOvertakesALoginDecidedBeforeIt(t *testing.T) {
	store := session.NewMemoryStore(0)
	hooks := &commandHooks{}
	w := newWorldWith(t, worldOpts{demo: true, store: store, commands: func(w *world, c *web.AccountCommands) {
		c.LogIn = hookedLogIn{c.LogIn, hooks}
	}})
	nurul := master[1]
	// A first login at Pengaktifan, which the follower ends: the sign
	// that it has passed the change.
	first := w.browser()
	w.toActivationStep(first, nurul)
	firstToken := first.cookies["ispeks_session"].Value
	if !w.forgotIssues(nurul.IC) {
		t.Fatal("Lupa Kata Laluan issued nothing")
	}
	b := w.browser()
	temp := w.mailFor(b, nurul.IC, "kata laluan sementara baharu", 0)
	hooks.set(nil, func() {
		w.clk.Add(time.Second) // the change lands a moment after the decision
		w.hrMoves(nurul, "nurul.huda@jkr.melaka.gov.my")
		w.eventually("the follower passed the change", func() bool { return !sessionStored(t, store, firstToken) })
	})
	b.enterID(nurul.IC)
	if r := b.enterPassword(temp); r.Header().Get("Location") != "/pengaktifan" {
		t.Fatalf("temporary password: %d %s", r.Code, r.Header().Get("Location"))
	}
	if !sessionStored(t, store, b.cookies["ispeks_session"].Value) {
		t.Fatal("the waiting session was not made: this test is about the command's refusal")
	}
	head := w.head()
	r := b.post("/pengaktifan", "/pengaktifan", activationForm(password, "kucing", "Kopi Harum"))
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/?sesi=tamat" {
		t.Fatalf("activation by a login decided before HR moved the address: %d %s, want the session ended", r.Code, r.Header().Get("Location"))
	}
	if w.head() != head {
		t.Fatal("the overtaken activation recorded something")
	}
}
