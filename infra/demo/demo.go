// Package demo loads the data of `ispeks serve --demo`: a dozen made-up
// staff of the Melaka state government across departments (two sharing a
// department mailbox), payments in every status of both modules, and
// statements of every type — monthly slips for the last 18 months, weekly
// and part-time slips, bonus, special aid and annual statements (Borang EC)
// — with plausible public-sector pay lines and totals that add up.
//
// Everything goes through the real command handlers, so every status move
// is a legal one and every statement passes validation. Command IDs are
// fixed per item, so loading again appends nothing new (only the slips of
// periods paid since the last load).
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// Actor is who the demo's events name.
var Actor = eventlog.Actor{Kind: eventlog.ActorSystem, ID: "demo"}

// Deps is what Load needs.
type Deps struct {
	Runner commands.Runner
	// Now is "today" for the demo's dates (default Runner.Now).
	Now func() time.Time
	// Concurrency is how many commands run at once (default 8), so the
	// event store's group commit shares fsyncs.
	Concurrency int
	Logger      *slog.Logger
}

// Summary says what Load did.
type Summary struct {
	Staff         int    // staff records put
	Payments      int    // payments recorded
	StatusChanges int    // status moves
	Statements    int    // statements issued
	Appended      int    // events appended by this load (0 on a repeat)
	LastPosition  uint64 // highest position appended (wait for projections to reach it)
}

// demoIDs is the UUID namespace of the demo's command IDs.
var demoIDs = uuid.MustParse("6f1c2a4e-93b7-4d0a-8e55-1b7d3c9a2f60")

func commandID(name string) uuid.UUID { return uuid.NewSHA1(demoIDs, []byte(name)) }

func meta(name string) commands.Meta {
	return commands.Meta{CommandID: commandID(name), CorrelationID: "demo", Actor: Actor}
}

// Load puts the demo staff, then records the payments with their status
// moves and issues the statements. It stops at the first error.
func Load(ctx context.Context, deps Deps) (Summary, error) {
	now := deps.Now
	if now == nil {
		now = deps.Runner.Now
	}
	if now == nil {
		now = time.Now
	}
	if deps.Concurrency <= 0 {
		deps.Concurrency = 8
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	t := now().In(calendar.Melaka)
	today := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)

	put := commands.PutStaffHandler{Runner: deps.Runner}
	payees := &commands.PayeeCache{Next: commands.EmployeeStreams{Store: deps.Runner.Store}}
	record := commands.RecordPaymentHandler{Runner: deps.Runner, Payees: payees}
	move := commands.ChangePaymentStatusHandler{Runner: deps.Runner}
	issue := commands.IssueStatementHandler{Runner: deps.Runner, Payees: payees}

	var sum Summary
	var appended atomic.Int64
	var last atomic.Uint64
	note := func(res commands.Result) {
		appended.Add(int64(res.Appended))
		if res.Appended > 0 {
			for {
				cur := last.Load()
				if res.Position <= cur || last.CompareAndSwap(cur, res.Position) {
					break
				}
			}
		}
	}

	// Staff first: payments and statements check their payee.
	var jobs []func(context.Context) error
	for _, m := range staff {
		jobs = append(jobs, func(ctx context.Context) error {
			res, err := put.Handle(ctx, commands.PutStaff{Meta: meta("staff/" + m.IC), Details: m.Details()})
			if errors.Is(err, eventlog.ErrCommandReused) {
				// An earlier start loaded this person with other demo
				// data: already loaded, leave it as it is.
				err = nil
			}
			if err != nil {
				return fmt.Errorf("demo: staff %s: %w", m.StaffNumber, err)
			}
			note(res)
			return nil
		})
	}
	if err := run(ctx, deps.Concurrency, jobs); err != nil {
		return sum, err
	}
	sum.Staff = len(staff)

	jobs = jobs[:0]
	for _, p := range payments(today) {
		sum.Payments++
		sum.StatusChanges += len(p.moves)
		// One payment's commands run in order: each move needs the one
		// before it.
		jobs = append(jobs, func(ctx context.Context) error {
			// The dates count back from today: a command an earlier start ran
			// (from an earlier today) now carries other dates under the same
			// ID, and is refused as reused. That payment, or that move, is
			// already loaded: leave it as it is.
			res, err := record.Handle(ctx, commands.RecordPayment{Meta: meta("payment/" + p.id + "/record"), PaymentID: p.id, Details: p.details})
			if errors.Is(err, eventlog.ErrCommandReused) {
				err = nil
			}
			if err != nil {
				return fmt.Errorf("demo: payment %s: %w", p.id, err)
			}
			note(res)
			for k, c := range p.moves {
				res, err := move.Handle(ctx, commands.ChangePaymentStatus{Meta: meta(fmt.Sprintf("payment/%s/move/%d", p.id, k)), PaymentID: p.id, Change: c})
				if errors.Is(err, eventlog.ErrCommandReused) {
					err = nil
				}
				if err != nil {
					return fmt.Errorf("demo: payment %s move %d to %s: %w", p.id, k+1, c.To, err)
				}
				note(res)
			}
			return nil
		})
	}
	for _, s := range statements(today) {
		sum.Statements++
		jobs = append(jobs, func(ctx context.Context) error {
			res, err := issue.Handle(ctx, commands.IssueStatement{Meta: meta("statement/" + s.id), StatementID: s.id, Content: s.content})
			if err != nil {
				return fmt.Errorf("demo: statement %s: %w", s.id, err)
			}
			note(res)
			return nil
		})
	}
	if err := run(ctx, deps.Concurrency, jobs); err != nil {
		return sum, err
	}
	sum.Appended = int(appended.Load())
	sum.LastPosition = last.Load()
	log.InfoContext(ctx, "demo data loaded", "staff", sum.Staff, "payments", sum.Payments,
		"status_changes", sum.StatusChanges, "statements", sum.Statements, "appended", sum.Appended)
	return sum, nil
}

// run runs jobs n at a time and returns the first error (the others are
// cancelled).
func run(ctx context.Context, n int, jobs []func(context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ch := make(chan func(context.Context) error)
	var wg sync.WaitGroup
	for range min(n, max(len(jobs), 1)) {
		wg.Go(func() {
			for job := range ch {
				if ctx.Err() != nil {
					continue
				}
				if err := job(ctx); err != nil {
					cancel(err)
				}
			}
		})
	}
	for _, job := range jobs {
		select {
		case ch <- job:
		case <-ctx.Done():
		}
	}
	close(ch)
	wg.Wait()
	return context.Cause(ctx)
}
