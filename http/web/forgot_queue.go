package web

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/mykad"
)

// Lupa Kata Laluan runs after its page has answered. Whether an account
// exists, is active, locked or asked within the last two minutes decides
// whether the command appends an event (and mails), and an append takes
// time: a page that waited for the command would tell by its response time
// which IC numbers have accounts. So the page validates the IC, takes its
// per-IP throttle token, hands the command to this queue and answers at
// once; a few workers of the server's own lifetime run it.

// Defaults of the queue (AccountDeps.ForgotQueue, ForgotWorkers).
const (
	defaultForgotQueue   = 256
	defaultForgotWorkers = 2
)

// forgotQueue is a bounded queue of Lupa Kata Laluan commands and the
// workers that run them (Site.RunWorkers).
type forgotQueue struct {
	handle  commands.Handler[commands.ForgotPassword]
	jobs    chan commands.ForgotPassword
	workers int
	log     *slog.Logger
	outcome *prometheus.CounterVec // nil: not exported
	once    sync.Once
}

func newForgotQueue(h commands.Handler[commands.ForgotPassword], size, workers int, log *slog.Logger, reg prometheus.Registerer) (*forgotQueue, error) {
	q := &forgotQueue{handle: h, jobs: make(chan commands.ForgotPassword, size), workers: workers, log: log}
	if reg == nil {
		return q, nil
	}
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "ispeks", Subsystem: "forgot_password", Name: "background_total",
		Help: "Lupa Kata Laluan requests run after the page answered, by outcome: done, failed (logged), dropped (queue full or stopped; the person may ask again).",
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
	for _, o := range []string{"done", "failed", "dropped"} {
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

// submit queues cmd without ever waiting: a full queue drops it with a
// warning (the page answers the same; the person may ask again). ctx is the
// request's, for the log line only.
func (q *forgotQueue) submit(ctx context.Context, cmd commands.ForgotPassword) {
	select {
	case q.jobs <- cmd:
	default:
		q.count("dropped")
		q.log.WarnContext(ctx, "Lupa Kata Laluan: queue full, request dropped", "queue", cap(q.jobs), "correlation", cmd.Meta.CorrelationID)
	}
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
			q.do(jobCtx, cmd)
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
				q.do(jobCtx, cmd)
			default:
				return
			}
		}
	}
}

func (q *forgotQueue) do(ctx context.Context, cmd commands.ForgotPassword) {
	if _, err := q.handle.Handle(ctx, cmd); err != nil {
		q.count("failed")
		// The error may name the stream, whose key is the IC.
		q.log.ErrorContext(ctx, "Lupa Kata Laluan failed after the page answered",
			"correlation", cmd.Meta.CorrelationID, "err", mykad.Redact(err.Error()))
		return
	}
	q.count("done")
}
