package web

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/mykad"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/i18n"
)

// Lupa Kata Laluan runs after its page has answered. Whether an account
// exists, is active, locked or asked within the last two minutes decides
// whether the command appends an event (and mails), and an append takes
// time: a page that waited for the command would tell by its response time
// which IC numbers have accounts. So the page validates the IC, takes its
// per-IP throttle token, hands the command to this queue and answers at
// once; a few workers of the server's own lifetime run it.
//
// The page says the request was received only once it is queued: a full
// queue makes the page wait for a slot (forgotSlotWait, the same for every
// IC), and if none frees it answers 503 "try again" instead (forgotBusy),
// having recorded nothing. A command that fails for the infrastructure (the
// store busy or down, a timeout) is run again after a pause
// (forgotRetryBackoff); a domain outcome is final.

// Defaults of the queue (AccountDeps.ForgotQueue, ForgotWorkers).
const (
	defaultForgotQueue   = 256
	defaultForgotWorkers = 2
)

// forgotSlotWait bounds how long a page waits for a free slot in a full
// queue before it answers "try again".
const forgotSlotWait = 5 * time.Second

// forgotRetryBackoff are the pauses before the second and later attempts of
// a command that failed for the infrastructure: three attempts in all.
var forgotRetryBackoff = []time.Duration{time.Second, 4 * time.Second}

// errForgotBusy: the queue stayed full for forgotSlotWait (or the request
// ended while waiting); nothing was queued.
var errForgotBusy = errors.New("web: Lupa Kata Laluan queue full")

// forgotQueue is a bounded queue of Lupa Kata Laluan commands and the
// workers that run them (Site.RunWorkers).
type forgotQueue struct {
	handle  commands.Handler[commands.ForgotPassword]
	jobs    chan commands.ForgotPassword
	workers int
	log     *slog.Logger
	outcome *prometheus.CounterVec // nil: not exported
	once    sync.Once
	// slotWait and backoff are forgotSlotWait and forgotRetryBackoff
	// (a test shortens them before the first request).
	slotWait time.Duration
	backoff  []time.Duration
}

func newForgotQueue(h commands.Handler[commands.ForgotPassword], size, workers int, log *slog.Logger, reg prometheus.Registerer) (*forgotQueue, error) {
	q := &forgotQueue{handle: h, jobs: make(chan commands.ForgotPassword, size), workers: workers, log: log,
		slotWait: forgotSlotWait, backoff: forgotRetryBackoff}
	if reg == nil {
		return q, nil
	}
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "ispeks", Subsystem: "forgot_password", Name: "background_total",
		Help: "Lupa Kata Laluan requests, by outcome: done (run after the page answered), retried (an attempt failed for the infrastructure; run again), failed (gave up, logged), busy (queue full: answered 503 try again, nothing queued), dropped (queued, then stopped before it ran).",
	}, []string{"outcome"})
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, err
		}
		existing, ok := are.ExistingCollector.(*prometheus.CounterVec)
		if !ok {
			return nil, err
		}
		c = existing
	}
	for _, o := range []string{"done", "retried", "failed", "busy", "dropped"} {
		c.WithLabelValues(o) // shown at 0 before the first
	}
	q.outcome = c
	return q, nil
}

func (q *forgotQueue) count(outcome string) {
	if q.outcome != nil {
		q.outcome.WithLabelValues(outcome).Inc()
	}
}

// submit queues cmd. A full queue makes it wait for a free slot, for up to
// slotWait and while ctx (the request's) lasts; then it returns
// errForgotBusy, having queued nothing, and the page must not say the
// request was received (forgotBusy).
func (q *forgotQueue) submit(ctx context.Context, cmd commands.ForgotPassword) error {
	select {
	case q.jobs <- cmd:
		return nil
	default:
	}
	t := time.NewTimer(q.slotWait)
	defer t.Stop()
	select {
	case q.jobs <- cmd:
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	q.count("busy")
	q.log.WarnContext(ctx, "Lupa Kata Laluan: queue full, answered try again", "queue", cap(q.jobs), "waited", q.slotWait, "correlation", cmd.Meta.CorrelationID)
	return errForgotBusy
}

// forgotBusy answers a request the queue had no room for: 503, the form
// again under "try again shortly", the same for every IC (the IC typed is
// not even kept), and never the "received" notice: nothing was queued.
func (s *Site) forgotBusy(c *gin.Context) {
	prob := httpx.Problem{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: i18n.Get("err.unavailable")}
	wait := s.forgotJobs.slotWait
	c.Header("Retry-After", strconv.Itoa(max(int(math.Ceil(wait.Seconds())), 1)))
	c.Header("Cache-Control", "no-store")
	s.Render(c, http.StatusServiceUnavailable, "account_forgot", Page{Title: "acct.title.forgot", Problem: &prob})
}

// run runs the workers until ctx ends, then lets them finish what is queued
// for up to grace; what is left after that is dropped (logged). It returns
// when every worker has stopped. It runs once; a second call only waits for
// ctx.
func (q *forgotQueue) run(ctx context.Context, grace time.Duration) {
	started := false
	q.once.Do(func() { started = true })
	if !started {
		<-ctx.Done()
		return
	}
	// The commands' own context outlives ctx by grace, so a stop finishes
	// the command in hand and the queue instead of cutting them off in the
	// middle of an append.
	jobCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(grace, cancel)
		<-jobCtx.Done()
		t.Stop()
	})
	defer stop()
	var wg sync.WaitGroup
	for range q.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.work(ctx, jobCtx)
		}()
	}
	wg.Wait()
}

func (q *forgotQueue) work(ctx, jobCtx context.Context) {
	for {
		select {
		case cmd := <-q.jobs:
			q.do(ctx, jobCtx, cmd)
			continue
		case <-ctx.Done():
		}
		// Stopping: drain without waiting for more.
		for {
			select {
			case cmd := <-q.jobs:
				if jobCtx.Err() != nil {
					q.count("dropped")
					q.log.Warn("Lupa Kata Laluan: stopped before the request ran", "correlation", cmd.Meta.CorrelationID)
					continue
				}
				q.do(ctx, jobCtx, cmd)
			default:
				return
			}
		}
	}
}

// do runs cmd in ctx. An attempt that fails for the infrastructure
// (forgotRetryable) is followed by another after the next pause of backoff,
// unless stop (the queue's) has ended; the last failure is logged. The
// attempts carry the same command ID, so one that was stored although its
// append reported an error is not issued twice.
func (q *forgotQueue) do(stop, ctx context.Context, cmd commands.ForgotPassword) {
	for attempt := 1; ; attempt++ {
		_, err := q.handle.Handle(ctx, cmd)
		if err == nil || errors.Is(err, eventlog.ErrCommandReused) {
			// ErrCommandReused: an earlier attempt of this very request
			// was stored (with another temporary password).
			q.count("done")
			return
		}
		retry := forgotRetryable(err)
		if !retry || attempt > len(q.backoff) || stop.Err() != nil || ctx.Err() != nil {
			q.count("failed")
			// The error may name the stream, whose key is the IC.
			q.log.ErrorContext(ctx, "Lupa Kata Laluan failed after the page answered; gave up",
				"correlation", cmd.Meta.CorrelationID, "attempts", attempt, "infrastructure", retry,
				"err", mykad.Redact(err.Error()))
			return
		}
		pause := q.backoff[attempt-1]
		q.count("retried")
		q.log.WarnContext(ctx, "Lupa Kata Laluan failed after the page answered; trying again",
			"correlation", cmd.Meta.CorrelationID, "attempt", attempt, "in", pause, "err", mykad.Redact(err.Error()))
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-stop.Done():
			t.Stop()
			q.count("failed")
			q.log.ErrorContext(ctx, "Lupa Kata Laluan failed after the page answered; stopped before trying again",
				"correlation", cmd.Meta.CorrelationID, "attempts", attempt)
			return
		}
	}
}

// forgotDomain are the errors of a decision, not of the infrastructure:
// another attempt would decide the same. (The handler already answers nil
// for the silent outcomes; they are listed should one ever come back.)
var forgotDomain = []error{
	account.ErrInvalid, account.ErrNotFound, account.ErrLocked, account.ErrTooSoon, account.ErrCorrupt,
	employee.ErrInvalid, employee.ErrLeftService, employee.ErrWrongStream,
	commands.ErrForbidden,
	eventlog.ErrCommandReused, eventlog.ErrInvalidStream, eventlog.ErrInvalidEvent,
	eventlog.ErrEventTooLarge, eventlog.ErrBatchTooLarge, eventlog.ErrEmptyAppend,
}

// forgotRetryable reports whether err is worth another attempt: a fault of
// the infrastructure (the store busy or unreachable, a timeout, a stream
// that kept changing), not a domain outcome (a field error, a refusal) nor
// the queue's own stop (context.Canceled). An error nobody classified is
// taken for the infrastructure's: another attempt or two costs little.
func forgotRetryable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var fe interface{ Field() string }
	if errors.As(err, &fe) {
		return false
	}
	var unknown *eventlog.UnknownTypeError
	if errors.As(err, &unknown) {
		return false
	}
	for _, d := range forgotDomain {
		if errors.Is(err, d) {
			return false
		}
	}
	return true
}
