// Package engine is the projector runtime: a Watermill Router runs every
// projections.Projector as its own handler on its own subscription to the
// event log (infra/watermilllog), with Recoverer, exponential-backoff Retry
// and a poison queue that records dead letters in the read store. It batches
// each projector's writes (commit every N events or T ms, whichever comes
// first, with the checkpoint in the same read-store batch), exports lag and
// position to Prometheus, answers read-your-writes waits (WaitFor), rebuilds
// a projector into shadow collections while the live one keeps serving (by
// hand, or on start when its read model's layout changed: see
// projections.Layouter), and runs side-effect consumers that start at the log
// head (RunConsumer).
//
// Events a projector does not handle still advance its checkpoint. Events
// of a type the registry does not know are passed over too, with one log
// line per type and the ispeks_projection_unknown_events_total counter, not
// as dead letters: no projector can handle a type that is not registered,
// and one dead letter per projector per such event would bury real
// failures. An event of a handled type whose data does not decode is a dead
// letter (without retries: retrying cannot fix it). A read store that does
// not answer while an event is projected (projections.ErrUnavailable) is the
// store's trouble, not the event's: the event is tried again until the store
// answers (the subscription's growing redelivery backoff), never
// dead-lettered.
//
// Correctness rests on three things: a checkpoint is only ever written in the
// batch that holds the writes of the events before it, so a crash at any
// point replays from the last commit; projector writes are put-if-newer, so a
// replayed event changes nothing; and the same handler chain projects live and
// during a rebuild, so both reach the same read model.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/watermilllog"
	"github.com/melaka-gov/ispeks/projections"
)

// Config configures an Engine. Log, Store and Registry are required.
type Config struct {
	Log        projections.EventLog
	Store      projections.ReadStore
	Registry   *eventlog.Registry
	Projectors []projections.Projector

	// Metrics is where the engine registers its gauges and counters (nil:
	// not exported).
	Metrics *prometheus.Registry
	Logger  *slog.Logger
	// Now stamps dead letters (default time.Now).
	Now func() time.Time

	// BatchSize, BatchDelay and UnawaitedDelay: a live projector commits
	// every BatchSize events; an event a reader waits for (WaitFor) at most
	// BatchDelay after the previous commit (at once if that is older); and
	// an event nobody waits for at most UnawaitedDelay after it arrived
	// (never sooner than BatchDelay after the previous commit), so that a
	// trickle of them (logins, each waited for by nobody: the home page
	// shows what the login decided) shares its commits. Defaults 1000,
	// 5 ms, 50 ms.
	BatchSize      int
	BatchDelay     time.Duration
	UnawaitedDelay time.Duration
	// RebuildBatchSize is the largest commit of a rebuild or a catch-up
	// (default 20000); RebuildPage the number of events read per log read
	// (default 2000).
	RebuildBatchSize int
	RebuildPage      int
	// PagedCommitTime bounds how long a rebuild's or a catch-up's commit
	// holds the read store (default 250 ms): its batch ends when it has
	// gathered as many changed documents as the previous commit's time per
	// document says fit. A store with one writer (SQLite) makes every other
	// write wait for it — a live projector a page waits for, a consumer's
	// checkpoint, a lease renewal — though those go first when it is
	// queued (projections.Bulk): a payroll run's catch-up committed 20,000
	// slips at a time, holding the writer for about a second on each.
	// Shorter batches write each B-tree page for fewer documents, so a
	// long backlog takes longer: measured with 720,000 slips then 100,000
	// payment lines, a master update's wait for its own view had p99
	// 2.2 s with 20,000-event batches, 0.94 s at 250 ms and 0.58 s at
	// 100 ms, and the projections caught up 4.9, 12.8 and 18.2 s after
	// the last line.
	PagedCommitTime time.Duration
	// RebuildGCPercent, if > 0, is the garbage collector's GOGC setting
	// while Rebuild runs (restored afterwards). A rebuild allocates fast and
	// keeps little, so 200 (measured on a 1M-event rebuild: about 100 MiB
	// more heap, a quarter less CPU) pays. It is process-wide: set it in a
	// process that does nothing else meanwhile (`ispeks projections
	// rebuild`, the bench), not in the server.
	RebuildGCPercent int
	// CacheSize bounds the documents a projector keeps cached between
	// commits (default 100000).
	CacheSize int
	// CatchUpThreshold: a projector that starts more than this many events
	// behind the log head first projects the backlog straight from the log
	// in pages (as a rebuild does, into its live collections), then its
	// subscription takes over (default 1000).
	CatchUpThreshold int

	// MaxRetries, RetryInitial and RetryMax shape the Retry middleware: an
	// event is tried 1+MaxRetries times with exponential backoff before it
	// becomes a dead letter (unless the store did not answer,
	// projections.ErrUnavailable: then it is tried again until it does). Defaults 3, 20 ms,
	// 1 s. RetryMax also caps the wait between attempts to commit to a
	// failing store.
	MaxRetries   int
	RetryInitial time.Duration
	RetryMax     time.Duration

	// WaitTimeout bounds WaitFor (default 3 s).
	WaitTimeout time.Duration
	// ShutdownTimeout bounds the final commits on shutdown (default 10 s).
	ShutdownTimeout time.Duration
	// HeadInterval is how often the log head is read for the lag gauge
	// (default 1 s).
	HeadInterval time.Duration
	// SwapCheckInterval is how often a live projector with nothing to
	// commit looks whether a rebuild (of another process) swapped its
	// collections (default 1 s). A projector with events to commit notices
	// at that commit.
	SwapCheckInterval time.Duration
	// LazyCheckpointDelay and LazyCheckpointEvents: a projector that has
	// passed over events it does not handle, with nothing of its own to
	// write, stores its checkpoint past them LazyCheckpointDelay later, or
	// once it is LazyCheckpointEvents behind, whichever comes first
	// (defaults 1 s and 2,000). Readers do not wait for it (WaitFor
	// answers at once); the stored checkpoint is what a restart resumes
	// from and what Status and /readyz count the lag from. During logins
	// (one event each) every such projector wrote it ten times a second,
	// ~9 system calls a login; during a payroll run the event bound keeps
	// the lag far inside /readyz's 10,000.
	LazyCheckpointDelay  time.Duration
	LazyCheckpointEvents int
	// ConsumerBackoff and ConsumerMaxBackoff: a side-effect consumer's
	// failing event is sent again after ConsumerBackoff, doubling up to
	// ConsumerMaxBackoff, until it succeeds. Defaults 1 s and 1 min.
	ConsumerBackoff    time.Duration
	ConsumerMaxBackoff time.Duration
	// ConsumerLease is the term of the lease by which one process at a
	// time runs a durable consumer (RunConsumer) on a read store; the
	// holder renews it every third of it, the others look that often
	// whether it is free. A holder that stops gives it up at once; one
	// that crashes is taken over when it has run out and the other has
	// seen it unchanged for a whole term. Default 30 s.
	ConsumerLease time.Duration
	// RebuildClaim is the term of the claim by which one process at a time
	// rebuilds a projector (for a new layout, or `projections rebuild`):
	// the holder renews it every sixth of it while it rebuilds, so a claim
	// left by a process that was killed or failed before it could give it
	// up is taken over after one term. Default 2 min.
	RebuildClaim time.Duration
}

func (c *Config) defaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	setDefault(&c.BatchSize, 1000)
	setDefault(&c.BatchDelay, 5*time.Millisecond)
	setDefault(&c.UnawaitedDelay, 50*time.Millisecond)
	setDefault(&c.RebuildBatchSize, 20000)
	setDefault(&c.RebuildPage, 2000)
	setDefault(&c.PagedCommitTime, 250*time.Millisecond)
	setDefault(&c.CacheSize, 100000)
	setDefault(&c.CatchUpThreshold, 1000)
	if c.MaxRetries < 0 {
		c.MaxRetries = 0
	} else if c.MaxRetries == 0 {
		c.MaxRetries = 3
	}
	setDefault(&c.RetryInitial, 20*time.Millisecond)
	setDefault(&c.RetryMax, time.Second)
	setDefault(&c.WaitTimeout, 3*time.Second)
	setDefault(&c.ShutdownTimeout, 10*time.Second)
	setDefault(&c.HeadInterval, time.Second)
	setDefault(&c.SwapCheckInterval, time.Second)
	setDefault(&c.LazyCheckpointDelay, time.Second)
	setDefault(&c.LazyCheckpointEvents, 2000)
	setDefault(&c.ConsumerBackoff, time.Second)
	setDefault(&c.ConsumerMaxBackoff, time.Minute)
	setDefault(&c.ConsumerLease, 30*time.Second)
	setDefault(&c.RebuildClaim, 2*time.Minute)
}

func setDefault[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// Errors of the engine.
var (
	ErrUnknownProjector = errors.New("engine: unknown projector")
	ErrNotCaughtUp      = errors.New("engine: projectors did not reach the position in time")
	ErrAlreadyRunning   = errors.New("engine: already running")
	ErrRebuilding       = errors.New("engine: a rebuild of this projector is already running")
	// ErrReadStoreAhead: a checkpoint in the read store is past the log's
	// last event, so the read models were built from a longer log (the log
	// was restored from a backup and the read store kept).
	ErrReadStoreAhead = errors.New("engine: the read store is ahead of the event log")
	// ErrLogEmpty comes with ErrReadStoreAhead when the log holds no event
	// at all: more likely the wrong log (a mistyped data directory) than a
	// restored one.
	ErrLogEmpty = errors.New("engine: the event log is empty")
)

// Engine runs projectors and consumers.
type Engine struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	direct  map[string]bool // directly registered type names

	runners map[string]*runner // live runners by projector name
	order   []string
	owners  map[string]*runner // live runners by the collections they write

	running atomic.Bool
	stopped atomic.Bool // Run has returned: the runners no longer follow the log

	omu sync.Mutex                  // serialises Observe and its removers
	obs atomic.Pointer[[]*observer] // read in every commit path

	cmu        sync.Mutex
	consumers  map[string]bool // consumers running in this process
	rebuilding map[string]bool // projectors being rebuilt by this process
}

// Projector and consumer names become collection names and checkpoint keys.
var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,35}$`)

// New checks the configuration and the projectors' declarations.
func New(cfg Config) (*Engine, error) {
	if cfg.Log == nil || cfg.Store == nil || cfg.Registry == nil {
		return nil, errors.New("engine: Config.Log, Config.Store and Config.Registry are required")
	}
	cfg.defaults()
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, fmt.Errorf("engine: register metrics: %w", err)
	}
	e := &Engine{
		cfg:        cfg,
		log:        cfg.Logger,
		metrics:    m,
		direct:     map[string]bool{},
		runners:    map[string]*runner{},
		owners:     map[string]*runner{},
		consumers:  map[string]bool{},
		rebuilding: map[string]bool{},
	}
	for _, t := range cfg.Registry.Types() {
		e.direct[t] = true
	}
	colls := map[string]string{deadLetterCollection: "engine", consumerCollection: "engine", consumerLeaseCollection: "engine"}
	for _, p := range cfg.Projectors {
		name := p.Name()
		if !namePattern.MatchString(name) {
			return nil, fmt.Errorf("engine: projector name %q: want lower-case letters, digits and _, starting with a letter, at most 36 characters", name)
		}
		if _, dup := e.runners[name]; dup {
			return nil, fmt.Errorf("engine: projector name %q used twice", name)
		}
		if len(p.Handles()) == 0 {
			return nil, fmt.Errorf("engine: projector %s handles no event types", name)
		}
		for _, t := range p.Handles() {
			if !cfg.Registry.Known(t) {
				return nil, fmt.Errorf("engine: projector %s handles %q, which is not registered", name, t)
			}
		}
		for _, c := range append(p.Collections(), genSpec(name)) {
			if owner, taken := colls[c.Name]; taken {
				return nil, fmt.Errorf("engine: projector %s declares collection %q, which belongs to %s", name, c.Name, owner)
			}
			colls[c.Name] = name
		}
		r := newRunner(e, p, cfg.Store, false)
		e.runners[name] = r
		e.order = append(e.order, name)
		for _, c := range p.Collections() {
			e.owners[c.Name] = r
			r.collections = append(r.collections, c.Name)
		}
	}
	return e, nil
}

func genSpec(projector string) projections.CollectionSpec {
	return projections.CollectionSpec{Name: genCollection(projector)}
}

// ensure creates every collection the engine and its projectors use.
func (e *Engine) ensure(ctx context.Context) error {
	specs := []projections.CollectionSpec{deadLetterSpec, consumerSpec}
	for _, name := range e.order {
		// Each collection is recorded as its projector's: a collection
		// that moved from one projector to another is the new one's, and
		// the old one's next rebuild does not drop it.
		for _, sp := range e.runners[name].p.Collections() {
			sp.Owner = name
			specs = append(specs, sp)
		}
		specs = append(specs, genSpec(name))
	}
	if err := e.cfg.Store.Ensure(ctx, specs...); err != nil {
		return fmt.Errorf("engine: ensure collections: %w", err)
	}
	return nil
}

// CheckReadStore refuses a read store built from a longer log than the one
// it is given: a projector or consumer checkpoint past the log's last event
// (a log restored from a backup with the read store of the day kept). Left
// running, the read models would show what the log no longer holds, and
// every event appended up to the old checkpoint (their positions are given
// out again) would be passed over: never projected, its mail never sent.
// Checkpoints are read before the head, so a commit racing the check cannot
// look ahead of it.
func (e *Engine) CheckReadStore(ctx context.Context) error {
	if err := e.ensure(ctx); err != nil {
		return err
	}
	consumers, err := e.consumerNames(ctx)
	if err != nil {
		return err
	}
	names := append(append([]string(nil), e.order...), consumers...)
	cps := make([]uint64, len(names))
	for i, name := range names {
		if cps[i], err = e.cfg.Store.Checkpoint(ctx, name); err != nil {
			return fmt.Errorf("engine: checkpoint of %s: %w", name, err)
		}
	}
	head, err := e.cfg.Log.LastPosition(ctx)
	if err != nil {
		return fmt.Errorf("engine: read log head: %w", err)
	}
	for i, name := range names {
		switch {
		case cps[i] > head && head == 0:
			return fmt.Errorf("%w (%w): %s has processed up to position %d", ErrReadStoreAhead, ErrLogEmpty, name, cps[i])
		case cps[i] > head:
			return fmt.Errorf("%w: %s has processed up to position %d, the log ends at %d", ErrReadStoreAhead, name, cps[i], head)
		}
	}
	return nil
}

// Projectors lists the projector names in configuration order.
func (e *Engine) Projectors() []string { return append([]string(nil), e.order...) }

// Run runs every projector until ctx ends, then commits what each has
// consumed and returns. A projector whose stored layout differs from the one
// it declares (projections.Layouter) is rebuilt first. It returns early only
// if the store cannot be set up or such a rebuild fails.
func (e *Engine) Run(ctx context.Context) error {
	if !e.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer e.stopped.Store(true)
	if err := e.ensure(ctx); err != nil {
		return err
	}
	var claimedElsewhere []*runner // their shadows are looked at again later
	for _, name := range e.order {
		r := e.runners[name]
		if err := r.load(ctx); err != nil {
			return err
		}
		if e.dropLeftoverShadows(ctx, r) {
			claimedElsewhere = append(claimedElsewhere, r)
		}
		if err := e.relayout(ctx, r); err != nil {
			if ctx.Err() != nil {
				return nil // shut down mid-rebuild: the live collections are untouched
			}
			return fmt.Errorf("engine: rebuild %s for its layout: %w", name, err)
		}
		// Only now may WaitFor answer: before a rebuild, the checkpoint
		// is that of collections about to be replaced.
		r.ready()
		if err := e.catchUp(ctx, r); err != nil {
			if ctx.Err() != nil {
				return r.finalCommit()
			}
			return fmt.Errorf("engine: catch up %s: %w", name, err)
		}
	}
	// Each projector handles a few of the log's event types: the others
	// only move its checkpoint on, without a Watermill message each (with
	// five projectors, messages for events a projector passes over were
	// most of the live projection cost during a payroll run).
	sub, err := watermilllog.NewSubscriber(watermilllog.SubscriberConfig{
		Log:         e.cfg.Log,
		Checkpoints: runnerPositions{e},
		Logger:      e.log,
		Skip:        func(topic string) []string { return e.runners[topic].skips() },
		Passed: func(ctx context.Context, topic string, position uint64) error {
			return e.runners[topic].passed(ctx, position)
		},
	})
	if err != nil {
		return err
	}
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: e.cfg.ShutdownTimeout}, watermilllog.Logger(e.log))
	if err != nil {
		return err
	}
	for _, name := range e.order {
		r := e.runners[name]
		mws, err := r.middlewares()
		if err != nil {
			return err
		}
		r.restart = func() { sub.Restart(name) }
		h := router.AddConsumerHandler(name, name, sub, r.handler)
		h.AddMiddleware(mws...)
	}

	var wg sync.WaitGroup
	bg, stopBg := context.WithCancel(ctx)
	for _, name := range e.order {
		wg.Add(1)
		go func() { defer wg.Done(); e.runners[name].flusher(bg) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); e.watchHead(bg) }()
	for _, r := range claimedElsewhere {
		wg.Add(1)
		go func() { defer wg.Done(); e.retryLeftoverShadows(bg, r) }()
	}

	runErr := router.Run(ctx)
	stopBg()
	wg.Wait()
	_ = sub.Close()
	for _, name := range e.order {
		if err := e.runners[name].finalCommit(); err != nil {
			e.log.Error("final commit of projector", "projector", name, "err", err)
			runErr = errors.Join(runErr, err)
		}
	}
	return runErr
}

// runnerPositions tells a projector's subscription to start (and, after a
// swap, to resume) where its runner is, not at the stored checkpoint read
// once more: another process projecting the same read models (the portal
// beside a console command's catch-up, a second portal) may have committed
// past the runner's position in between, and the runner would then never be
// given the events up to that checkpoint, nor WaitFor reach them. Those
// events are projected again, idempotently (put-if-newer).
type runnerPositions struct{ e *Engine }

func (p runnerPositions) Checkpoint(_ context.Context, projector string) (uint64, error) {
	r, ok := p.e.runners[projector]
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrUnknownProjector, projector)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pos, nil
}

// relayout rebuilds a loaded runner's collections if they were written with
// another layout than its projector declares, and loads the rebuilt ones. A
// store no rebuild has written yet has layout 0, so a fresh store of a
// Layouter is rebuilt too: cheap on an empty log, and it stamps the layout.
// The rebuild is the one `ispeks projections rebuild` runs: it projects into
// shadow collections while readers keep the old ones, and no consumer sees
// its replay.
func (e *Engine) relayout(ctx context.Context, r *runner) error {
	l, ok := r.p.(projections.Layouter)
	if !ok {
		return nil
	}
	want := l.Layout()
	r.mu.Lock()
	stored, fresh := r.layout, r.layout == 0 && r.pos == 0
	r.mu.Unlock()
	if stored == want {
		return nil
	}
	// Processes that start together (serve, projectors, a CLI command)
	// would each rebuild, and a second rebuild drops the first one's
	// shadow collections: one takes the claim, the others wait for its swap.
	owner, waiting := uuid.NewString(), false
	for {
		won, err := e.claimRelayout(ctx, r.name, want, owner)
		if err != nil {
			return err
		}
		if won {
			// Another process's rebuild may have swapped in since the
			// load (its swap dropped its claim, so this one won): then
			// there is nothing to rebuild, and a second rebuild would
			// replay the whole log again while /readyz fails.
			g, err := readGeneration(ctx, e.cfg.Store.Get, r.name)
			if err != nil || g.Layout == want {
				e.releaseRelayout(context.WithoutCancel(ctx), r.name, owner)
				if err != nil {
					return err
				}
				return r.load(ctx)
			}
			break
		}
		if !waiting {
			e.log.Info("another process is rebuilding the projector for its layout; waiting for its swap", "projector", r.name, "want", want)
			waiting = true
		}
		if !sleep(ctx, relayoutPoll) {
			return ctx.Err()
		}
		g, err := readGeneration(ctx, e.cfg.Store.Get, r.name)
		if err != nil {
			return err
		}
		if g.Layout == want {
			return r.load(ctx)
		}
	}
	msg := "projector layout changed; rebuilding"
	if fresh {
		msg = "projector has no layout stored yet (a new read store); rebuilding to record it"
	}
	e.log.Info(msg, "projector", r.name, "stored", stored, "want", want)
	defer e.renewRelayout(ctx, r.name, owner)()
	if _, err := e.rebuild(ctx, r.name, nil); err != nil {
		// Let the next start, or another process, try at once rather than
		// after the claim has aged out.
		e.releaseRelayout(context.WithoutCancel(ctx), r.name, owner)
		return err
	}
	return r.load(ctx)
}

// dropLeftoverShadows drops the shadow collections a rebuild of r's
// projector cut short left behind (a console's rebuild interrupted, a
// process stopped or killed mid-rebuild), which would otherwise stay until
// the projector's next rebuild. A rebuild still running, here or in another
// process, holds the projector's claim, and its shadows must stay: so this
// takes the claim first, yielding to any live one whatever its layout, and
// drops only while it holds it. It is housekeeping: a failure is logged and
// the start goes on. It reports whether a live claim of another process
// stood in the way: that rebuild may be running, or killed moments ago
// (see retryLeftoverShadows).
func (e *Engine) dropLeftoverShadows(ctx context.Context, r *runner) (claimedElsewhere bool) {
	e.cmu.Lock()
	busy := e.rebuilding[r.name]
	e.cmu.Unlock()
	if busy {
		return false
	}
	owner := uuid.NewString()
	won, err := e.claim(ctx, r.name, relayoutClaim{Layout: layoutOf(r.p), Cleanup: true}, owner, func(relayoutClaim) bool { return true })
	if err != nil || !won {
		if err != nil && ctx.Err() == nil {
			e.log.Warn("could not look for an interrupted rebuild's shadow collections; its next rebuild drops them", "projector", r.name, "err", err)
		}
		return err == nil
	}
	defer e.releaseRelayout(context.WithoutCancel(ctx), r.name, owner)
	dropped, err := e.cfg.Store.DropShadows(ctx, r.name)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("could not drop an interrupted rebuild's shadow collections; its next rebuild drops them", "projector", r.name, "err", err)
		}
		return
	}
	if len(dropped) > 0 {
		e.log.Info("dropped the shadow collections an interrupted rebuild left", "projector", r.name, "collections", dropped)
	}
	return false
}

// retryLeftoverShadows looks again, once a claim's term has passed, for
// the shadows of a rebuild whose claim was live at the start, until it gets
// the claim or ctx ends. A rebuild killed moments before the start left a
// claim nobody renews; it lapses within a term, and its shadows went. One
// still running renews its claim and swaps its shadows in at its end, and
// then there is nothing to drop.
func (e *Engine) retryLeftoverShadows(ctx context.Context, r *runner) {
	for sleep(ctx, e.cfg.RebuildClaim) {
		if !e.dropLeftoverShadows(ctx, r) {
			return
		}
	}
}

// releaseRelayout gives up owner's claim after a failed rebuild.
func (e *Engine) releaseRelayout(ctx context.Context, name, owner string) {
	err := e.rewriteOwnClaim(ctx, name, owner, func(relayoutClaim) relayoutClaim { return relayoutClaim{} })
	if err != nil {
		e.log.Warn("could not give up the layout claim; it ages out", "projector", name, "ttl", e.cfg.RebuildClaim, "err", err)
	}
}

// rewriteOwnClaim replaces owner's claim on projector name by next(claim),
// as a compare-and-set on its version; a claim that is not owner's (taken
// over, or dropped by the swap) is left alone.
func (e *Engine) rewriteOwnClaim(ctx context.Context, name, owner string, next func(relayoutClaim) relayoutClaim) error {
	return e.cfg.Store.Write(ctx, relayoutWriter, 0, func(b projections.Batch) error {
		c, version, held, err := readClaim(ctx, b.Get, name)
		if err != nil || !held || c.Owner != owner {
			return err
		}
		body, err := json.Marshal(next(c))
		if err != nil {
			return err
		}
		return b.Put(ctx, genCollection(name), projections.Doc{ID: relayoutClaimID, Version: version + 1, Body: body})
	})
}

// renewRelayout keeps owner's claim on projector name fresh, every sixth
// of its term, until the returned stop is called or ctx ends. A claim that
// is no longer owner's (the swap dropped it with its collection, or it
// lapsed and another process took it) is left alone.
func (e *Engine) renewRelayout(ctx context.Context, name, owner string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(e.cfg.RebuildClaim / 6)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			err := e.rewriteOwnClaim(ctx, name, owner, func(c relayoutClaim) relayoutClaim {
				c.At = e.cfg.Now()
				return c
			})
			if err != nil && ctx.Err() == nil {
				e.log.Warn("could not renew the rebuild claim; trying again", "projector", name, "err", err)
			}
		}
	}()
	return func() { cancel(); <-done }
}

// relayoutClaim is held, in the projector's live generation collection, by
// the process rebuilding the projector for a new layout. The rebuild's swap
// replaces that collection and so drops the claim; the holder renews At
// while it rebuilds, so a claim not renewed for Config.RebuildClaim is a
// killed or failed process's and may be taken over.
type relayoutClaim struct {
	Owner  string    `json:"owner"`
	Layout int       `json:"layout"`
	At     time.Time `json:"at"`
	// Cleanup: held by a start dropping what an interrupted rebuild left
	// (dropLeftoverShadows), for a moment; a rebuild for any layout waits
	// for it, lest the drop take the rebuild's new shadows.
	Cleanup bool `json:"cleanup,omitempty"`
}

const (
	relayoutClaimID = "relayout-claim"
	relayoutPoll    = 500 * time.Millisecond
	// cleanupPoll: a Cleanup claim is held for a few statements.
	cleanupPoll = 20 * time.Millisecond
	// relayoutWriter names the batches that write claims: a store keeps a
	// checkpoint per writer, and this one's stays 0.
	relayoutWriter = "engine_relayout"
)

// claimRelayout takes the claim to rebuild projector name for layout want
// unless another process holds a live one for that layout, and reports
// whether owner holds it. On SQLite the batch is one transaction; on a
// store whose batches are not, the put's version (one above the claim read)
// makes it a compare-and-set, and the read after it tells who won.
func (e *Engine) claimRelayout(ctx context.Context, name string, want int, owner string) (bool, error) {
	return e.claim(ctx, name, relayoutClaim{Layout: want}, owner, func(c relayoutClaim) bool { return c.Layout == want || c.Cleanup })
}

// claim is claimRelayout for the claim mine (its Owner and At are set
// here), yielding to another process's live claim when yields says so.
func (e *Engine) claim(ctx context.Context, name string, mine relayoutClaim, owner string, yields func(relayoutClaim) bool) (bool, error) {
	coll := genCollection(name)
	err := e.cfg.Store.Write(ctx, relayoutWriter, 0, func(b projections.Batch) error {
		c, version, held, err := readClaim(ctx, b.Get, name)
		if err != nil {
			return err
		}
		if held && c.Owner != owner && e.cfg.Now().Sub(c.At) < e.cfg.RebuildClaim && yields(c) {
			return nil // another process's, live
		}
		mine.Owner, mine.At = owner, e.cfg.Now()
		body, err := json.Marshal(mine)
		if err != nil {
			return err
		}
		return b.Put(ctx, coll, projections.Doc{ID: relayoutClaimID, Version: version + 1, Body: body})
	})
	if err != nil {
		return false, fmt.Errorf("engine: claim the layout rebuild of %s: %w", name, err)
	}
	c, _, held, err := readClaim(ctx, e.cfg.Store.Get, name)
	if err != nil {
		// The claim may be owner's now, and nobody would give it up: a
		// start that failed here kept the next one waiting for it.
		e.releaseRelayout(context.WithoutCancel(ctx), name, owner)
		return false, err
	}
	return held && c.Owner == owner, nil
}

// readClaim reads projector name's layout claim and its version (held:
// there is one).
func readClaim(ctx context.Context, get func(context.Context, string, string) (projections.Doc, bool, error), name string) (c relayoutClaim, version uint64, held bool, err error) {
	d, ok, err := get(ctx, genCollection(name), relayoutClaimID)
	if err != nil || !ok {
		return relayoutClaim{}, 0, false, err
	}
	if err := json.Unmarshal(d.Body, &c); err != nil {
		return relayoutClaim{}, 0, false, fmt.Errorf("engine: layout claim of %s: %w", name, err)
	}
	return c, d.Version, true, nil
}

// catchUp projects a long backlog straight from the log, through the same
// middleware chain the Router runs, in rebuild-sized batches. The one-event
// hand-over of a subscription costs a few goroutine switches per event; paging
// a backlog avoids them, so a projector that was down for long is back at the
// head quickly.
func (e *Engine) catchUp(ctx context.Context, r *runner) error {
	head, err := e.cfg.Log.LastPosition(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	from := r.pos
	r.mu.Unlock()
	if head <= from+uint64(e.cfg.CatchUpThreshold) {
		return nil
	}
	e.log.Info("projector catching up", "projector", r.name, "from", from, "head", head)
	mws, err := r.middlewares()
	if err != nil {
		return err
	}
	h := compose(func(msg *message.Message) ([]*message.Message, error) { return nil, r.project(msg) }, mws)
	// A rebuild swapped in meanwhile (seen at a commit): start over from
	// its checkpoint.
	rewind := false
	// Under the lock: a live runner's flusher reads paged and restart.
	r.mu.Lock()
	live := r.restart // nil at start-up; the subscription's restart when live
	r.restart = func() { rewind = true }
	r.batchSize, r.paged = e.cfg.RebuildBatchSize, true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.restart, r.batchSize, r.paged = live, e.cfg.BatchSize, false
		r.mu.Unlock()
	}()
	for {
		rewind = false
		if _, err := e.replay(ctx, r, from, h, func() bool { return rewind }, nil); err != nil {
			return err
		}
		if !rewind {
			break
		}
		r.mu.Lock()
		from = r.pos
		r.mu.Unlock()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.commitLocked(ctx); err != nil {
		return err
	}
	// The subscription starts from the runner's position anyway.
	r.swapped = false
	return nil
}

func (e *Engine) watchHead(ctx context.Context) {
	t := time.NewTicker(e.cfg.HeadInterval)
	defer t.Stop()
	for {
		if head, err := e.cfg.Log.LastPosition(ctx); err == nil {
			e.metrics.setHead(head)
		} else if ctx.Err() == nil {
			e.log.Warn("read event-log head for projector lag", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// WaitFor returns when every named projector (all, if none are named) has
// committed past position, or ErrNotCaughtUp after Config.WaitTimeout. It
// waits on commit notifications, not by polling, and has the projectors
// commit what it waits for within Config.BatchDelay. Projectors run by
// another process cannot be waited for here.
func (e *Engine) WaitFor(ctx context.Context, position uint64, projectors ...string) error {
	if len(projectors) == 0 {
		projectors = e.order
	}
	runners := make([]*runner, 0, len(projectors))
	behind := false
	for _, name := range projectors {
		r, ok := e.runners[name]
		if !ok {
			return fmt.Errorf("%w: %q", ErrUnknownProjector, name)
		}
		runners = append(runners, r)
		if !r.loaded.Load() || r.committed.Load() < position {
			r.await(position)
			behind = true
		}
	}
	if !behind {
		return nil // a page whose reader's own action is long committed
	}
	bound, cancel := context.WithTimeout(ctx, e.cfg.WaitTimeout)
	defer cancel()
	for _, r := range runners {
		for {
			ch := r.changedCh()
			if r.loaded.Load() && r.committed.Load() >= position {
				break
			}
			select {
			case <-ch:
			case <-bound.Done():
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("%w: %s is at %d, waiting for %d (bound %s)", ErrNotCaughtUp, r.name, r.committed.Load(), position, e.cfg.WaitTimeout)
			}
		}
	}
	return nil
}

// ViewObserver is told how the collections of the projectors an engine
// runs change, so that it can keep answers read from them (a cache, see
// projections/viewcache). Both methods are called in the commit path, after
// the commit and before WaitFor's waiters are released, so a page that
// waited for its own action never gets an answer kept from before it; they
// may be called from several goroutines at once, must be quick, must not
// call the engine, and must not keep docs (its backing array is reused).
//
// DocsChanged lists the documents a commit wrote or deleted, and those it
// found written already by another process sharing the store (a put
// ignored as not newer): every document of the projector's collections
// that changed in the store since the observer last heard of it, provided
// the projector puts each document an event concerns even when it finds it
// written already, or puts nothing at all for that event (the engine then
// says CollectionsChanged). CollectionsChanged says any document of the
// collections may have changed: a checkpoint loaded, a rebuild's swap
// followed (of this process or another), a catch-up's commit, an event
// projected that put nothing.
type ViewObserver interface {
	DocsChanged(docs []projections.Changed)
	CollectionsChanged(collections []string)
}

// Observe adds o to the engine's view observers. It may be added while the
// engine runs, and read from meanwhile: once each runner has finished the
// commit it may be in, o is told that all its collections changed (what o
// kept before is dropped), and events projected before o was added and
// committed after are told the same way.
//
// It returns the function that removes o: once that returns, o is not
// called again, also by a commit under way meanwhile (it waits for a call
// in progress to end). It may be called more than once and from any
// goroutine, but not from o's own methods (it would wait for itself). An
// observer that keeps answers must give none once removed: it hears of no
// change after.
func (e *Engine) Observe(o ViewObserver) (remove func()) {
	added := &observer{view: o}
	e.omu.Lock()
	defer e.omu.Unlock()
	next := append(append([]*observer(nil), e.observers()...), added)
	e.obs.Store(&next)
	for _, r := range e.runners {
		r.mu.Lock()
		r.allChanged = true
		o.CollectionsChanged(r.collections)
		r.mu.Unlock()
	}
	var once sync.Once
	return func() { once.Do(func() { e.unobserve(added) }) }
}

// unobserve takes o out of the observers, then waits for the calls a
// commit that read the list before may be making to it, and stops any more.
func (e *Engine) unobserve(o *observer) {
	e.omu.Lock()
	next := slices.DeleteFunc(append([]*observer(nil), e.observers()...), func(x *observer) bool { return x == o })
	e.obs.Store(&next)
	e.omu.Unlock()
	o.mu.Lock()
	o.removed = true
	o.mu.Unlock()
}

// observer is one ViewObserver added by Observe. Calls to it hold mu for
// reading (commits of several runners call it at once); its removal takes
// mu, so it returns only once no call is in progress and none can start.
type observer struct {
	view    ViewObserver
	mu      sync.RWMutex
	removed bool
}

func (e *Engine) observers() []*observer {
	if p := e.obs.Load(); p != nil {
		return *p
	}
	return nil
}

func (e *Engine) observed() bool { return len(e.observers()) > 0 }

func (e *Engine) docsChanged(docs []projections.Changed) {
	for _, o := range e.observers() {
		o.mu.RLock()
		if !o.removed {
			o.view.DocsChanged(docs)
		}
		o.mu.RUnlock()
	}
}

func (e *Engine) collectionsChanged(r *runner) {
	for _, o := range e.observers() {
		o.mu.RLock()
		if !o.removed {
			o.view.CollectionsChanged(r.collections)
		}
		o.mu.RUnlock()
	}
}

// ViewReady reports whether an observer may keep answers read from
// collection now: a projector this engine runs writes it, is ready (a
// rebuild for its layout may otherwise replace the collections), and Run
// has not returned (after it, changes are no longer told).
func (e *Engine) ViewReady(collection string) bool {
	r := e.owners[collection]
	return r != nil && r.loaded.Load() && !e.stopped.Load()
}

// Lags returns, without I/O, how many positions each projector run by this
// engine is behind the latest log head it knows (for /readyz).
func (e *Engine) Lags() map[string]uint64 {
	head := e.metrics.headPos.Load()
	out := make(map[string]uint64, len(e.order))
	for _, name := range e.order {
		cp := e.runners[name].committed.Load()
		out[name] = head - min(cp, head)
	}
	return out
}

// Status is the state of one projector or consumer.
type Status struct {
	Name        string
	Kind        string // "projector" or "consumer"
	Checkpoint  uint64
	Head        uint64
	Lag         uint64
	DeadLetters []DeadLetter
	// Layout is the layout version stored with a projector's collections,
	// WantLayout the one the projector declares (both 0 for a consumer):
	// when they differ, the projector is rebuilt at its next start.
	Layout, WantLayout int
}

// Status reports every projector and every consumer that ever started, with
// their stored checkpoints, the log head, lag and dead letters (at most
// deadLetterLimit each; 0: all). It reads the stores, so it works from a
// process that runs no projector (the CLI).
func (e *Engine) Status(ctx context.Context, deadLetterLimit int) ([]Status, error) {
	if err := e.ensure(ctx); err != nil {
		return nil, err
	}
	head, err := e.cfg.Log.LastPosition(ctx)
	if err != nil {
		return nil, fmt.Errorf("engine: read log head: %w", err)
	}
	consumers, err := e.consumerNames(ctx)
	if err != nil {
		return nil, err
	}
	var out []Status
	add := func(name, kind string) (*Status, error) {
		cp, err := e.cfg.Store.Checkpoint(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("engine: checkpoint of %s: %w", name, err)
		}
		dls, err := e.DeadLetters(ctx, name, deadLetterLimit)
		if err != nil {
			return nil, err
		}
		out = append(out, Status{Name: name, Kind: kind, Checkpoint: cp, Head: head, Lag: head - min(cp, head), DeadLetters: dls})
		return &out[len(out)-1], nil
	}
	for _, name := range e.order {
		st, err := add(name, "projector")
		if err != nil {
			return nil, err
		}
		g, err := readGeneration(ctx, e.cfg.Store.Get, name)
		if err != nil {
			return nil, err
		}
		st.Layout, st.WantLayout = g.Layout, layoutOf(e.runners[name].p)
	}
	for _, name := range consumers {
		if _, err := add(name, "consumer"); err != nil {
			return nil, err
		}
	}
	return out, nil
}
