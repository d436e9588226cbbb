package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/mykad"
	"github.com/melaka-gov/ispeks/http/web"
)

// gate stands in front of the pages' Lupa Kata Laluan command: each run
// says it started, then waits until the test opens the gate (or the test
// ends), then runs the real command on the real store.
type gate struct {
	started chan struct{}
	open    chan struct{}
	once    sync.Once
}

func newGate(t *testing.T) *gate {
	g := &gate{started: make(chan struct{}, 16), open: make(chan struct{})}
	t.Cleanup(g.release) // before the world stops its workers
	return g
}

func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

func (g *gate) install(_ *world, c *web.AccountCommands) {
	inner := c.ForgotPassword
	c.ForgotPassword = forgotFunc(func(ctx context.Context, cmd commands.ForgotPassword) (commands.Result, error) {
		g.started <- struct{}{}
		<-g.open
		return inner.Handle(ctx, cmd)
	})
}

// awaitStarted waits (bounded) until a command has reached the gate.
func (g *gate) awaitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-g.started:
	case <-time.After(20 * time.Second):
		t.Fatal("the Lupa Kata Laluan command never ran")
	}
}

// postForgot posts Lupa Kata Laluan for ic from b without waiting for the
// answer: it arrives on the channel returned.
func postForgot(b *browser, ic string) <-chan result {
	tok := b.csrf("/lupa-kata-laluan")
	done := make(chan result, 1)
	go func() { done <- b.do("POST", "/lupa-kata-laluan", url.Values{"csrf_token": {tok}, "ic": {ic}}) }()
	return done
}

// answered waits (bounded, generously: a stuck request, not a slow one)
// for the answer of a post.
func answered(t *testing.T, what string, done <-chan result) result {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no answer while its command waits", what)
		return result{}
	}
}

// TestForgotPasswordAnswersAlikeWhateverTheAccount: an active account, one
// registered but not activated, and an IC without any get the very same
// answer, and the page that follows is the same; the two accounts still get
// their mail, and nothing is recorded for the unknown IC.
func TestForgotPasswordAnswersAlikeWhateverTheAccount(t *testing.T) {
	w := newWorld(t)
	w.activeUser(master[0])            // Siti: active
	w.register(w.browser(), master[3]) // Amin: registered, not activated
	w.clk.Add(3 * time.Minute)         // past the registration mail's cooldown

	type answer struct {
		r    result
		page string
	}
	answers := map[string]answer{}
	for _, ic := range []string{sitiIC, aminIC, unknownIC} {
		b := w.browser()
		r := w.forgot(b, ic)
		answers[ic] = answer{r, normal(b.follow(r).body)}
	}
	want := answers[unknownIC]
	mustContain(t, "answer", want.page, "Permintaan anda telah diterima")
	for _, ic := range []string{sitiIC, aminIC} {
		got := answers[ic]
		if got.r.Code != want.r.Code || got.r.Header().Get("Location") != want.r.Header().Get("Location") ||
			!sameHeaders(got.r, want.r) || got.r.body != want.r.body {
			t.Errorf("answer for %s differs from an unknown IC's: %d %q %q", ic, got.r.Code, got.r.Header().Get("Location"), got.r.body)
		}
		if got.page != want.page {
			t.Errorf("page after the answer for %s differs from an unknown IC's", ic)
		}
	}

	b := w.browser()
	if w.mailFor(b, sitiIC, "kata laluan sementara baharu", 0) == "" {
		t.Error("no temporary password in the active account's mail")
	}
	if w.mailFor(b, aminIC, "kata laluan sementara baharu", 0) == "" {
		t.Error("no temporary password in the registered account's mail")
	}
	recs, err := w.events.ReadStream(context.Background(), account.Stream(mykad.MustParse(unknownIC)), 0, eventlog.Forwards, 10)
	if err != nil || len(recs) != 0 {
		t.Fatalf("unknown IC: %d events recorded (%v)", len(recs), err)
	}
}

// TestForgotPasswordAnswersBeforeItsCommandRuns: the page answers while
// the command, whose work depends on the account, has not run yet (here it
// is held at a gate), so the time the answer takes cannot depend on the
// account. Opened, the gate lets the command issue the temporary password
// and the mail arrives.
func TestForgotPasswordAnswersBeforeItsCommandRuns(t *testing.T) {
	g := newGate(t)
	w := newWorldWith(t, worldOpts{demo: true, commands: g.install})
	w.activeUser(master[0])
	head := w.head()

	done := postForgot(w.browser(), sitiIC)
	g.awaitStarted(t)
	r := answered(t, "Lupa Kata Laluan", done)
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/lupa-kata-laluan?hantar=1" {
		t.Fatalf("answer: %d %s", r.Code, r.Header().Get("Location"))
	}
	if w.head() != head {
		t.Fatal("something was recorded while the command was held")
	}

	g.release()
	b := w.browser()
	if w.mailFor(b, sitiIC, "kata laluan sementara baharu", 0) == "" {
		t.Fatal("no temporary password in the mail")
	}
}

// TestForgotPasswordFullQueue: with the one worker held and the queue full,
// a request waits for a free slot, then, none freeing, is answered 503 "try
// again" — the same for an active account and for an IC without one, never
// the "received" notice — and nothing is queued for it: the log warns
// without naming an IC, the metrics count it busy, and once the worker is
// released only the two queued requests run.
func TestForgotPasswordFullQueue(t *testing.T) {
	g := newGate(t)
	w := newWorldWith(t, worldOpts{demo: true, commands: g.install, forgotQueue: 1, forgotWorkers: 1})
	const slotWait = 300 * time.Millisecond
	web.SetForgotQueueTimes(w.srv.Site, slotWait)
	w.activeUser(master[0])
	w.activeUser(master[3])
	aminEvents := w.streamLen(aminIC)

	held := answered(t, "held", postForgot(w.browser(), unknownIC))
	g.awaitStarted(t) // the worker holds it: the queue is empty
	queued := answered(t, "queued", postForgot(w.browser(), sitiIC))
	for name, r := range map[string]result{"held": held, "queued": queued} {
		if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/lupa-kata-laluan?hantar=1" {
			t.Fatalf("%s request: %d %q", name, r.Code, r.Header().Get("Location"))
		}
	}

	busy := map[string]result{}
	for _, ic := range []string{aminIC, nurulIC} { // an active account; none
		start := time.Now()
		busy[ic] = answered(t, "beyond the queue", postForgot(w.browser(), ic))
		if waited := time.Since(start); waited < slotWait {
			t.Errorf("%s answered after %s, without waiting %s for a slot", ic, waited, slotWait)
		}
	}
	want := busy[nurulIC]
	if want.Code != http.StatusServiceUnavailable || want.Header().Get("Location") != "" {
		t.Fatalf("beyond the queue: %d %q, want 503 and no redirect", want.Code, want.Header().Get("Location"))
	}
	mustContain(t, "busy page", want.body, "Sistem tidak dapat diakses buat sementara waktu. Sila cuba sebentar lagi.", `action="/lupa-kata-laluan"`)
	mustNotContain(t, "busy page", want.body, "Permintaan anda telah diterima", "telah dihantar", nurulIC)
	if got := busy[aminIC]; got.Code != want.Code || !sameHeaders(got, want) || normal(got.body) != normal(want.body) {
		t.Errorf("busy answer for an active account differs from an unknown IC's: %d %q", got.Code, got.body)
	}
	if want.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After on the busy answer")
	}
	logs := w.logs.String()
	if !strings.Contains(logs, "queue full") {
		t.Errorf("no warning for the busy requests: %s", logs)
	}
	scraper := w.browser()
	scraper.remote = "127.0.0.1:9090" // /metrics answers loopback only
	if m := scraper.get("/metrics").body; !strings.Contains(m, `ispeks_forgot_password_background_total{outcome="busy"} 2`) {
		t.Errorf("busy requests not counted:\n%s", m)
	}

	g.release()
	w.eventually("the queued request run", func() bool { return w.forgotRan.Load() == 2 })
	if w.mailFor(w.browser(), sitiIC, "kata laluan sementara baharu", 0) == "" {
		t.Fatal("no temporary password for the queued request")
	}
	if n := w.forgotRan.Load(); n != 2 {
		t.Errorf("%d commands ran, want the 2 queued", n)
	}
	if n := w.streamLen(aminIC); n != aminEvents {
		t.Errorf("the busy request recorded %d events", n-aminEvents)
	}
	for _, ic := range []string{sitiIC, aminIC, nurulIC, unknownIC} {
		if strings.Contains(w.logs.String(), ic) {
			t.Errorf("%s in the log", ic)
		}
	}
}

// TestForgotPasswordWaitsForAFreeSlot: a request that finds the queue full
// is not answered while it waits; once the held worker goes on, it takes
// the freed slot, is answered "received" like any other, and its command
// runs.
func TestForgotPasswordWaitsForAFreeSlot(t *testing.T) {
	g := newGate(t)
	w := newWorldWith(t, worldOpts{demo: true, commands: g.install, forgotQueue: 1, forgotWorkers: 1})
	web.SetForgotQueueTimes(w.srv.Site, 20*time.Second) // a stuck wait, not a slow one
	w.activeUser(master[0])

	held := answered(t, "held", postForgot(w.browser(), unknownIC))
	g.awaitStarted(t)
	answered(t, "queued", postForgot(w.browser(), nurulIC))
	waiting := postForgot(w.browser(), sitiIC)
	select {
	case r := <-waiting:
		t.Fatalf("answered while the queue was full: %d %q", r.Code, r.Header().Get("Location"))
	case <-time.After(200 * time.Millisecond):
	}
	g.release()
	r := answered(t, "waiting", waiting)
	if r.Code != held.Code || r.Header().Get("Location") != held.Header().Get("Location") || r.body != held.body || !sameHeaders(r, held) {
		t.Fatalf("the request that waited answered otherwise: %d %q", r.Code, r.Header().Get("Location"))
	}
	w.eventually("all three run", func() bool { return w.forgotRan.Load() == 3 })
	if w.mailFor(w.browser(), sitiIC, "kata laluan sementara baharu", 0) == "" {
		t.Fatal("no temporary password for the request that waited")
	}
}

// streamLen is how many events the account stream of ic holds.
func (w *world) streamLen(ic string) int {
	w.t.Helper()
	recs, err := w.events.ReadStream(context.Background(), account.Stream(mykad.MustParse(ic)), 0, eventlog.Forwards, 1000)
	if err != nil {
		w.t.Fatal(err)
	}
	return len(recs)
}

// TestForgotPasswordDrainsOnStop: requests queued when the workers are told
// to stop (the server has stopped taking requests) still run before the
// workers return.
func TestForgotPasswordDrainsOnStop(t *testing.T) {
	g := newGate(t)
	w := newWorldWith(t, worldOpts{demo: true, commands: g.install, forgotWorkers: 1})
	w.activeUser(master[0])
	w.activeUser(master[3])
	head := w.head()

	answered(t, "first", postForgot(w.browser(), sitiIC))
	g.awaitStarted(t)
	answered(t, "second", postForgot(w.browser(), aminIC))
	w.stopWorkers() // first held, second queued
	g.release()
	select {
	case <-w.workersDone:
	case <-time.After(20 * time.Second):
		t.Fatal("the workers did not stop")
	}
	if n := w.forgotRan.Load(); n != 2 {
		t.Fatalf("%d of 2 queued requests ran before the workers stopped", n)
	}
	if w.head() == head {
		t.Fatal("nothing recorded")
	}
	for _, ic := range []string{sitiIC, aminIC} {
		if w.mailFor(w.browser(), ic, "kata laluan sementara baharu", 0) == "" {
			t.Errorf("no temporary password for %s", ic)
		}
	}
}
