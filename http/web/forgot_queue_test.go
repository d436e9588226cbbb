package web_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/http/web"
)

// flaky stands in front of the pages' Lupa Kata Laluan command: its first
// fails runs fail with err (before the real command runs), the later ones
// run the real command on the real store.
type flaky struct {
	fails int64
	err   func(cmd commands.ForgotPassword) error
	calls atomic.Int64
}

func (f *flaky) install(_ *world, c *web.AccountCommands) {
	inner := c.ForgotPassword
	c.ForgotPassword = forgotFunc(func(ctx context.Context, cmd commands.ForgotPassword) (commands.Result, error) {
		if f.calls.Add(1) <= f.fails {
			return commands.Result{}, f.err(cmd)
		}
		return inner.Handle(ctx, cmd)
	})
}

// storeBusy is an infrastructure failure as the SQLite store reports one;
// it names the stream, whose key is the IC.
func storeBusy(cmd commands.ForgotPassword) error {
	return fmt.Errorf("commands: append to account-%s: %w", cmd.IC, errors.New("database is locked (5) (SQLITE_BUSY)"))
}

// metrics is the site's /metrics page.
func (w *world) metrics() string {
	scraper := w.browser()
	scraper.remote = "127.0.0.1:9090" // /metrics answers loopback only
	return scraper.get("/metrics").body
}

// TestForgotPasswordRetriesAnInfrastructureFailure: a command that fails
// once because the store is busy runs again after a pause and issues the
// temporary password; the log says it tries again without naming the IC.
func TestForgotPasswordRetriesAnInfrastructureFailure(t *testing.T) {
	f := &flaky{fails: 1, err: storeBusy}
	w := newWorldWith(t, worldOpts{demo: true, commands: f.install})
	web.SetForgotQueueTimes(w.srv.Site, 5*time.Second, 10*time.Millisecond, 10*time.Millisecond)
	w.activeUser(master[0])

	w.forgot(w.browser(), sitiIC) // the answer every IC gets; waits for the real command
	if w.mailFor(w.browser(), sitiIC, "kata laluan sementara baharu", 0) == "" {
		t.Fatal("no temporary password after the retry")
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}
	logs := w.logs.String()
	mustContain(t, "log", logs, "trying again", "SQLITE_BUSY")
	mustNotContain(t, "log", logs, sitiIC, "gave up")
	m := w.metrics()
	mustContain(t, "metrics", m, `ispeks_forgot_password_background_total{outcome="retried"} 1`,
		`ispeks_forgot_password_background_total{outcome="done"} 1`, `ispeks_forgot_password_background_total{outcome="failed"} 0`)
}

// TestForgotPasswordGivesUpAfterThreeAttempts: a store that stays busy is
// tried three times in all, then the failure is logged (without the IC)
// and counted.
func TestForgotPasswordGivesUpAfterThreeAttempts(t *testing.T) {
	f := &flaky{fails: 1000, err: storeBusy}
	w := newWorldWith(t, worldOpts{demo: true, commands: f.install})
	web.SetForgotQueueTimes(w.srv.Site, 5*time.Second, 10*time.Millisecond, 10*time.Millisecond)
	w.activeUser(master[0])

	b := w.browser()
	r := b.post("/lupa-kata-laluan", "/lupa-kata-laluan", url.Values{"ic": {sitiIC}})
	if r.Code != http.StatusSeeOther {
		t.Fatalf("answer: %d", r.Code)
	}
	w.eventually("given up", func() bool { return strings.Contains(w.logs.String(), "gave up") })
	if n := f.calls.Load(); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	mustNotContain(t, "log", w.logs.String(), sitiIC)
	mustContain(t, "metrics", w.metrics(), `ispeks_forgot_password_background_total{outcome="retried"} 2`,
		`ispeks_forgot_password_background_total{outcome="failed"} 1`)
}

// TestForgotPasswordDoesNotRetryADomainOutcome: a refusal of the domain
// (here a corrupt account history) would be decided the same again: it is
// logged once, not retried.
func TestForgotPasswordDoesNotRetryADomainOutcome(t *testing.T) {
	f := &flaky{fails: 1000, err: func(commands.ForgotPassword) error {
		return fmt.Errorf("%w: registered twice", account.ErrCorrupt)
	}}
	w := newWorldWith(t, worldOpts{demo: true, commands: f.install})
	web.SetForgotQueueTimes(w.srv.Site, 5*time.Second, 10*time.Millisecond, 10*time.Millisecond)

	b := w.browser()
	r := b.post("/lupa-kata-laluan", "/lupa-kata-laluan", url.Values{"ic": {unknownIC}})
	if r.Code != http.StatusSeeOther {
		t.Fatalf("answer: %d", r.Code)
	}
	w.eventually("given up", func() bool { return strings.Contains(w.logs.String(), "gave up") })
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
	mustNotContain(t, "log", w.logs.String(), "trying again")
}
