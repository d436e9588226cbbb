package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/watermilllog"
	"github.com/melaka-gov/ispeks/projections"
)

// ConsumerFunc handles one event for a side-effect consumer (sending mail,
// publishing downstream). env.Event is nil when the event's type is not
// registered (a downstream publisher may forward the raw record; others
// ignore it), and always for a raw consumer (RunRawConsumer). An error
// makes the same event come again after a backoff, until it succeeds:
// nothing is skipped, unless the error is a Park.
type ConsumerFunc func(ctx context.Context, env eventlog.Envelope) error

// parkError is a consumer's decision to give up on one event.
type parkError struct{ reason string }

func (p *parkError) Error() string { return "engine: event parked: " + p.reason }

// Park is what a ConsumerFunc returns to give up on one event it has tried
// long enough (a mailbox that stays full): the event is recorded as a dead
// letter with reason (listed by `ispeks projections status`) and the
// checkpoint moves on, so one recipient cannot hold up every later event.
// reason goes into the log and the read store: no personal data in it.
func Park(reason string) error { return &parkError{reason: reason} }

// Consumers that ever started are recorded in this collection; the record is
// what tells a first start (begin at the log head) from a restart.
const consumerCollection = "consumers"

var consumerSpec = projections.CollectionSpec{Name: consumerCollection}

type consumerBody struct {
	Name         string    `json:"name"`
	StartedAt    uint64    `json:"started_at_position"`
	FirstStarted time.Time `json:"first_started"`
}

// RunConsumer runs a side-effect consumer until ctx ends. On its first start
// ever (unless RecordConsumerStarts recorded an earlier start) it begins at
// the current log head (and stores that as its checkpoint), so a new
// install or a rebuild never re-sends old mail; later
// starts resume after the last event it acknowledged. Delivery is at least
// once: an event handled just before a crash may come again, so handlers
// should be idempotent by event ID. An event whose data cannot be decoded is
// recorded as a dead letter and passed over, and so is one handle parks
// (Park). When types are given, only
// events of those types reach handle; the rest are passed over undecoded
// (the mailer wants two account events out of the whole log). However
// many processes run the same consumer on one read store (every `serve`),
// one at a time handles the events: it holds the consumer's lease
// (Config.ConsumerLease), the others stand by until it stops or its lease
// runs out.
func (e *Engine) RunConsumer(ctx context.Context, name string, handle ConsumerFunc, types ...string) error {
	return e.runConsumer(ctx, name, handle, nil, false, types)
}

// RunRawConsumer is RunConsumer for a consumer that forwards events as the
// log stores them (the NATS publisher): handle gets each record without
// its decoded event, and an event this version cannot decode (one a newer
// version wrote with a field this one does not know) goes on like any
// other instead of becoming a dead letter, as the HTTP event feed serves
// it too.
func (e *Engine) RunRawConsumer(ctx context.Context, name string, handle ConsumerFunc, types ...string) error {
	return e.runConsumer(ctx, name, handle, nil, true, types)
}

// RunFollower runs a consumer whose effects live only in this process (the
// in-memory session store): it handles the events after position from (the
// log head when the process started serving: LastPosition before the
// listener) and stores no checkpoint, so every process that runs it sees
// every later event, however many run side by side on one read store, and
// a restart does not replay what happened while it was down (nothing of
// that process survived it). Otherwise it is RunConsumer: retries, dead
// letters, types.
func (e *Engine) RunFollower(ctx context.Context, name string, from uint64, handle ConsumerFunc, types ...string) error {
	return e.runConsumer(ctx, name, handle, &from, false, types)
}

// fromPosition is a follower's resume position: where it started, also
// after the subscription reconnects (its handler must bear seeing an event
// again).
type fromPosition uint64

func (p fromPosition) Checkpoint(context.Context, string) (uint64, error) { return uint64(p), nil }

// runConsumer runs a durable consumer (from nil) or a follower.
func (e *Engine) runConsumer(ctx context.Context, name string, handle ConsumerFunc, from *uint64, raw bool, types []string) error {
	if err := checkConsumerName(name); err != nil {
		return err
	}
	if _, clash := e.runners[name]; clash || name == deadLetterWriter {
		return fmt.Errorf("engine: consumer name %q is taken by a projector", name)
	}
	e.cmu.Lock()
	if e.consumers[name] {
		e.cmu.Unlock()
		return fmt.Errorf("engine: consumer %q is already running", name)
	}
	e.consumers[name] = true
	e.cmu.Unlock()
	defer func() {
		e.cmu.Lock()
		delete(e.consumers, name)
		e.cmu.Unlock()
	}()

	if err := e.cfg.Store.Ensure(ctx, deadLetterSpec, consumerSpec, consumerLeaseSpec); err != nil {
		return fmt.Errorf("engine: ensure collections: %w", err)
	}
	if from != nil {
		return e.consume(ctx, name, handle, from, raw, types)
	}
	if err := e.startAtHead(ctx, name); err != nil {
		return err
	}
	// Every `serve` process runs the durable consumers, on one read store:
	// each would send every mail. One process at a time holds the
	// consumer's lease and runs it; the others stand by and take over when
	// it stops or its lease runs out (a crash).
	owner, waiting := uuid.NewString(), false
	var seen leaseSighting
	for {
		won, claimed, err := e.claimConsumer(ctx, name, owner, &seen)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			e.log.Warn("could not claim the consumer's lease; trying again", "consumer", name, "err", err)
		case won:
			if waiting {
				e.log.Info("this process now runs the consumer", "consumer", name)
			}
			waiting = false
			lost, err := e.runLeased(ctx, name, owner, handle, raw, types, claimed)
			if !lost || ctx.Err() != nil {
				return err
			}
			e.log.Warn("the consumer's lease passed to another process; this one stands by", "consumer", name)
		case !waiting:
			e.log.Info("another process runs the consumer; this one stands by", "consumer", name)
			waiting = true
		}
		if !sleep(ctx, e.cfg.ConsumerLease/3) {
			return nil
		}
	}
}

// runLeased runs durable consumer name while owner holds its lease,
// renewing it every third of its term, until ctx ends (then the lease is
// given up, so a standing-by process takes over at once) or the lease is
// lost (lost true: another process holds it, or it could not be renewed
// in time).
//
// The holder stops handling a quarter of a term before its lease could
// run out, counted on its own monotonic clock from the start of its last
// successful claim: a standby takes over only after seeing the lease
// unchanged for a whole term (claimConsumer), so the two never handle at
// once, whatever their wall clocks say, and the quarter leaves an event in
// flight time to finish.
func (e *Engine) runLeased(ctx context.Context, name, owner string, handle ConsumerFunc, raw bool, types []string, claimed time.Time) (lost bool, err error) {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var gone atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		term := e.cfg.ConsumerLease
		valid := claimed.Add(term - term/4)
		t := time.NewTicker(term / 3)
		defer t.Stop()
		for {
			deadline := time.NewTimer(time.Until(valid))
			select {
			case <-runCtx.Done():
				deadline.Stop()
				return
			case <-deadline.C:
				e.log.Warn("could not renew the consumer's lease in time; this process stops running it", "consumer", name)
				gone.Store(true)
				cancel()
				return
			case <-t.C:
			}
			deadline.Stop()
			// A renewal still going when the lease is no longer sure to be
			// held is not waited for.
			cctx, ccancel := context.WithDeadline(runCtx, valid)
			held, at, err := e.claimConsumer(cctx, name, owner, nil)
			ccancel()
			switch {
			case runCtx.Err() != nil:
				return
			case err == nil && held:
				valid = at.Add(term - term/4)
				continue
			case err != nil && time.Now().Before(valid):
				e.log.Warn("could not renew the consumer's lease; trying again", "consumer", name, "err", err)
				continue
			}
			gone.Store(true)
			cancel()
			return
		}
	}()
	err = e.consume(runCtx, name, handle, nil, raw, types)
	cancel()
	<-done
	if gone.Load() {
		return true, nil
	}
	e.releaseConsumer(context.WithoutCancel(ctx), name, owner)
	return false, err
}

// consumerLease says which process runs a durable consumer, until when.
type consumerLease struct {
	Owner string    `json:"owner"`
	Until time.Time `json:"until"`
}

// Consumers' leases are kept in their own collection (not "consumers",
// whose documents list the consumers), written as writer leaseWriter,
// whose checkpoint stays 0.
const (
	consumerLeaseCollection = "consumer_leases"
	leaseWriter             = "engine_lease"
)

var consumerLeaseSpec = projections.CollectionSpec{Name: consumerLeaseCollection}

// leaseSighting is what a standing-by process last saw of another
// process's lease: its version, and when (monotonic clock) it first saw it.
type leaseSighting struct {
	version uint64
	since   time.Time
}

// claimConsumer takes or renews owner's lease on consumer name unless
// another process holds a live one, and reports whether owner holds it and
// when the claim started (the holder's lease is sure to last a term from
// then). Another process's lease is live until it has run out by this
// process's clock AND, when seen is given (a standby), this process has
// seen it unchanged for a whole term: the holder renews it every third of
// a term, so a wall clock that runs ahead of the holder's cannot take a
// lease that is being renewed. As with the layout claim: on SQLite the
// batch is one transaction; on a store whose batches are not, the put's
// version (one above the lease read) makes it a compare-and-set, and the
// read after it tells who won.
func (e *Engine) claimConsumer(ctx context.Context, name, owner string, seen *leaseSighting) (bool, time.Time, error) {
	started := time.Now()
	err := e.cfg.Store.Write(ctx, leaseWriter, 0, func(b projections.Batch) error {
		l, version, err := readLease(ctx, b.Get, name)
		if err != nil {
			return err
		}
		if l.Owner != "" && l.Owner != owner {
			stale := !e.cfg.Now().Before(l.Until)
			if seen != nil {
				if seen.version != version || seen.since.IsZero() {
					*seen = leaseSighting{version: version, since: time.Now()}
				}
				stale = stale && time.Since(seen.since) >= e.cfg.ConsumerLease
			}
			if !stale {
				return nil // another process's, live
			}
		}
		body, err := json.Marshal(consumerLease{Owner: owner, Until: e.cfg.Now().Add(e.cfg.ConsumerLease)})
		if err != nil {
			return err
		}
		return b.Put(ctx, consumerLeaseCollection, projections.Doc{ID: name, Version: version + 1, Body: body})
	})
	if err != nil {
		return false, started, fmt.Errorf("engine: claim consumer %s: %w", name, err)
	}
	l, _, err := readLease(ctx, e.cfg.Store.Get, name)
	if err != nil {
		return false, started, err
	}
	return l.Owner == owner, started, nil
}

// releaseConsumer gives up owner's lease on consumer name, if it holds it.
func (e *Engine) releaseConsumer(ctx context.Context, name, owner string) {
	err := e.cfg.Store.Write(ctx, leaseWriter, 0, func(b projections.Batch) error {
		l, version, err := readLease(ctx, b.Get, name)
		if err != nil || l.Owner != owner {
			return err
		}
		body, err := json.Marshal(consumerLease{})
		if err != nil {
			return err
		}
		return b.Put(ctx, consumerLeaseCollection, projections.Doc{ID: name, Version: version + 1, Body: body})
	})
	if err != nil {
		e.log.Warn("could not give up the consumer's lease; it runs out", "consumer", name, "lease", e.cfg.ConsumerLease, "err", err)
	}
}

func readLease(ctx context.Context, get func(context.Context, string, string) (projections.Doc, bool, error), name string) (l consumerLease, version uint64, err error) {
	d, ok, err := get(ctx, consumerLeaseCollection, name)
	if err != nil || !ok {
		return consumerLease{}, 0, err
	}
	if err := json.Unmarshal(d.Body, &l); err != nil {
		return consumerLease{}, 0, fmt.Errorf("engine: lease of consumer %s: %w", name, err)
	}
	return l, d.Version, nil
}

// consume runs a durable consumer (from nil) or a follower until ctx ends;
// a raw one's events are not decoded.
func (e *Engine) consume(ctx context.Context, name string, handle ConsumerFunc, from *uint64, raw bool, types []string) error {
	var (
		cps    watermilllog.Checkpoints
		commit watermilllog.CheckpointSaver
	)
	if from == nil {
		rs := watermilllog.ReadStoreCheckpoints{Store: e.cfg.Store}
		cps, commit = rs, rs
	} else {
		cps = fromPosition(*from)
	}
	var (
		filter func(string, eventlog.Record) bool
		skip   func(string) []string
	)
	if len(types) > 0 {
		wanted := make(map[string]bool, len(types))
		for _, t := range types {
			wanted[t] = true
		}
		filter = func(_ string, rec eventlog.Record) bool { return wanted[rec.Type] }
		// The registered types it does not want are passed over by the log
		// itself, unread (the filter still guards against the rest): the
		// mailer no longer reads every login event of the portal.
		var others []string
		for t := range e.direct {
			if !wanted[t] {
				others = append(others, t)
			}
		}
		slices.Sort(others)
		skip = func(string) []string { return others }
	}
	sub, err := watermilllog.NewSubscriber(watermilllog.SubscriberConfig{
		Log:            e.cfg.Log,
		Checkpoints:    cps,
		Commit:         commit,
		Filter:         filter,
		Skip:           skip,
		NackBackoff:    e.cfg.ConsumerBackoff,
		MaxNackBackoff: e.cfg.ConsumerMaxBackoff,
		Logger:         e.log,
	})
	if err != nil {
		return err
	}
	defer sub.Close()
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: e.cfg.ShutdownTimeout}, watermilllog.Logger(e.log))
	if err != nil {
		return err
	}
	log := e.log.With("consumer", name)
	h := router.AddConsumerHandler(name, name, sub, func(msg *message.Message) error {
		rec, ok := watermilllog.RecordFromMessage(msg)
		if !ok {
			return fmt.Errorf("engine: message %s carries no event-log record", msg.UUID)
		}
		env := eventlog.Envelope{Record: rec}
		var err error
		if !raw {
			env, err = e.cfg.Registry.Decode(rec)
		}
		var unknown *eventlog.UnknownTypeError
		switch {
		case errors.As(err, &unknown):
			env = eventlog.Envelope{Record: rec}
		case err != nil:
			_, dlErr := e.recordDeadLetter(msg.Context(), name, rec, err.Error())
			return dlErr
		}
		if err := handle(msg.Context(), env); err != nil {
			if p := (*parkError)(nil); errors.As(err, &p) {
				_, dlErr := e.recordDeadLetter(msg.Context(), name, rec, p.reason)
				return dlErr
			}
			log.Warn("consumer failed; the event will come again", "event_id", rec.ID, "type", rec.Type, "err", err)
			return err
		}
		return nil
	})
	// Quick retries first; after them the nack makes the subscriber send
	// the event again with a growing backoff, without end.
	h.AddMiddleware(middleware.Retry{
		MaxRetries:      e.cfg.MaxRetries,
		InitialInterval: e.cfg.RetryInitial,
		MaxInterval:     e.cfg.RetryMax,
		Multiplier:      2,
	}.Middleware, middleware.Recoverer)
	return router.Run(ctx)
}

// RecordConsumerStarts records the starting point of each named durable
// consumer that has none yet: the log head as it is now. The composition
// root calls it whenever it opens the stores, so on a fresh data directory
// a consumer's start is position 0, before anything a console command
// appends (`ispeks admin create` before the first `serve` is mailed), while
// an install whose log predates the consumer still starts at its head and
// never sends old mail. A recorded start is never changed.
func (e *Engine) RecordConsumerStarts(ctx context.Context, names ...string) error {
	if err := e.cfg.Store.Ensure(ctx, deadLetterSpec, consumerSpec); err != nil {
		return fmt.Errorf("engine: ensure collections: %w", err)
	}
	for _, name := range names {
		if err := checkConsumerName(name); err != nil {
			return err
		}
		if err := e.startAtHead(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

// checkConsumerName: a consumer's name is also its checkpoint's and its
// dead letters' key.
func checkConsumerName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("engine: consumer name %q: want lower-case letters, digits and _, starting with a letter, at most 36 characters", name)
	}
	return nil
}

// errConsumerStarted: another process recorded the consumer's first start.
var errConsumerStarted = errors.New("engine: consumer already started")

// startAtHead records a consumer's first start and its checkpoint at the log
// head in one batch; on later starts it does nothing.
func (e *Engine) startAtHead(ctx context.Context, name string) error {
	_, seen, err := e.cfg.Store.Get(ctx, consumerCollection, name)
	if err != nil {
		return fmt.Errorf("engine: consumer %s: %w", name, err)
	}
	if seen {
		return nil
	}
	head, err := e.cfg.Log.LastPosition(ctx)
	if err != nil {
		return fmt.Errorf("engine: consumer %s: read log head: %w", name, err)
	}
	body, err := json.Marshal(consumerBody{Name: name, StartedAt: head, FirstStarted: e.cfg.Now().UTC()})
	if err != nil {
		return err
	}
	err = e.cfg.Store.Write(ctx, name, head, func(b projections.Batch) error {
		// Asked again inside the batch: another process (a console
		// command beside serve on a new install) may have recorded the
		// start since the check above, at an earlier head; writing this
		// later head over its checkpoint would pass over the events
		// between them (their mail never sent).
		if _, started, err := b.Get(ctx, consumerCollection, name); err != nil {
			return err
		} else if started {
			return errConsumerStarted
		}
		return b.Put(ctx, consumerCollection, projections.Doc{ID: name, Version: 1, Body: body})
	})
	if errors.Is(err, errConsumerStarted) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("engine: consumer %s: record first start: %w", name, err)
	}
	e.log.Info("consumer starts at the log head", "consumer", name, "position", head)
	return nil
}

func (e *Engine) consumerNames(ctx context.Context) ([]string, error) {
	var names []string
	q := projections.Query{Collection: consumerCollection, Limit: 500}
	for {
		page, err := e.cfg.Store.Find(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("engine: list consumers: %w", err)
		}
		for _, d := range page.Docs {
			names = append(names, d.ID)
		}
		if page.Next == "" {
			return names, nil
		}
		q.After = page.Next
	}
}
