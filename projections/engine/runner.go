package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/watermilllog"
	"github.com/melaka-gov/ispeks/projections"
)

// runner drives one projector into one store: the live collections (through
// the Router) or the shadow collections of a rebuild (fed directly).
type runner struct {
	e       *Engine
	p       projections.Projector
	name    string
	store   projections.ReadStore
	rebuild bool
	log     *slog.Logger

	batchSize  int
	batchDelay time.Duration
	// unawaitedDelay: how long an event no reader waits for may wait for
	// its commit (Config.UnawaitedDelay, at least batchDelay).
	unawaitedDelay time.Duration
	paged          bool // fed a page at a time (rebuild, catch-up): commit by size only (pagedFullLocked)

	handles     map[string]bool
	collections []string // the projector's collections (for ViewObserver)

	mu         sync.Mutex
	ov         *overlay
	st         staging
	pos        uint64 // position of the last event consumed (projected or passed over)
	pending    int    // events consumed since the last commit
	lastCommit time.Time
	// firstPending is when the first of the pending events was consumed:
	// unawaited, they are committed unawaitedDelay after it.
	firstPending time.Time
	// commitPerDoc is what the last paged commit took per document it
	// wrote: it sizes the next paged batch (pagedFullLocked).
	commitPerDoc time.Duration
	gen          string // generation of the collections this runner writes (see generation)
	layout       int    // layout stamped with that generation (see projections.Layouter)
	newGen       string // rebuild only: generation to stamp on the first commit
	unknown      map[string]bool
	deadLetters  []string // rebuild only: IDs of the dead letters it recorded
	// swapped is set when the runner found the collections swapped by a
	// rebuild: the event the subscription may have in flight was sent
	// before its restart, and the next handler call drops it (see
	// bookkeeping).
	swapped bool
	// epoch counts the swaps the runner followed. An event whose handling
	// began in an earlier epoch is not projected nor counted: it came
	// before the subscription's restart, which sends it again if the
	// rebuild had not reached it.
	epoch uint64
	// lazy: pos moved past events the projector passes over while nothing
	// else waited to be written, and the stored checkpoint (lazyFrom) is
	// behind it; it is written Config.LazyCheckpointDelay after lazySince,
	// or once pos is Config.LazyCheckpointEvents past lazyFrom (see passed).
	lazy      bool
	lazySince time.Time
	lazyFrom  uint64
	// What the commit on its way changed, for the view observers (see
	// ViewObserver): the documents the events since the last commit put,
	// deleted, or found written already; or allChanged, when that is not
	// known document by document (an event projected that put nothing:
	// another process sharing the store projected it first; a paged
	// catch-up, which does not list its documents).
	changedDocs []projections.Changed
	allChanged  bool

	committed atomic.Uint64
	loaded    atomic.Bool // committed holds the stored checkpoint
	// wanted is the furthest position a reader waits for (WaitFor): while
	// it is past committed, events are committed within batchDelay rather
	// than unawaitedDelay.
	wanted atomic.Uint64

	nmu     sync.Mutex
	changed chan struct{} // closed and replaced after every commit

	due     chan struct{} // a first pending event arrived, or a reader began to wait: the flusher looks again when to commit
	restart func()        // makes the subscription resume from the stored checkpoint (live only)

	catching atomic.Bool // a catch-up is feeding this runner (no nested catch-up)
}

func newRunner(e *Engine, p projections.Projector, store projections.ReadStore, rebuild bool) *runner {
	r := &runner{
		e:       e,
		p:       p,
		name:    p.Name(),
		store:   store,
		rebuild: rebuild,
		log:     e.log.With("projector", p.Name()),
		handles: map[string]bool{},
		unknown: map[string]bool{},
		changed: make(chan struct{}),
		due:     make(chan struct{}, 1),
	}
	for _, t := range p.Handles() {
		r.handles[t] = true
	}
	colls := map[string]bool{}
	for _, c := range p.Collections() {
		colls[c.Name] = true
	}
	// A rebuild starts from empty shadows and is their only writer.
	r.ov = newOverlay(store, colls, rebuild)
	if rebuild {
		r.batchSize, r.paged = e.cfg.RebuildBatchSize, true
	} else {
		r.batchSize, r.batchDelay = e.cfg.BatchSize, e.cfg.BatchDelay
		r.unawaitedDelay = max(e.cfg.BatchDelay, e.cfg.UnawaitedDelay)
	}
	return r
}

// The generation document lives in a per-projector engine collection that is
// rebuilt and swapped together with the projector's own collections. Every
// live commit checks, inside its transaction, that the generation is still
// the one the runner started with; a rebuild stamps a new one. So a live
// projector never commits over collections a rebuild swapped in (possibly
// from another process): it drops its overlay and resumes from the swapped-in
// checkpoint instead. A runner with nothing to commit reads the document every
// SwapCheckInterval, so it follows a swap on a quiet log too.
//
// The document also holds the layout version of the projector that wrote the
// collections (see projections.Layouter). Only a rebuild stamps it, because
// only a rebuild writes every document anew: live commits leave it as it is.
const generationID = "generation"

func genCollection(projector string) string { return "engine_gen_" + projector }

type genBody struct {
	Generation string `json:"generation"`
	Layout     int    `json:"layout,omitempty"`
}

var errSwapped = errors.New("engine: collections were swapped by a rebuild")

// readGeneration returns the stored generation document (zero if none: a
// store no rebuild has written to).
func readGeneration(ctx context.Context, get func(ctx context.Context, coll, id string) (projections.Doc, bool, error), projector string) (genBody, error) {
	doc, ok, err := get(ctx, genCollection(projector), generationID)
	if err != nil || !ok {
		return genBody{}, err
	}
	var b genBody
	if err := json.Unmarshal(doc.Body, &b); err != nil {
		return genBody{}, fmt.Errorf("engine: generation of %s: %w", projector, err)
	}
	return b, nil
}

// layoutOf is the layout version p declares; 0 if it declares none.
func layoutOf(p projections.Projector) int {
	if l, ok := p.(projections.Layouter); ok {
		return l.Layout()
	}
	return 0
}

// load reads the stored checkpoint, generation and layout before the first
// event. It does not yet let WaitFor answer from the checkpoint (see ready):
// the collections may be about to be rebuilt.
func (r *runner) load(ctx context.Context) error {
	cp, err := r.store.Checkpoint(ctx, r.name)
	if err != nil {
		return fmt.Errorf("engine: checkpoint of %s: %w", r.name, err)
	}
	g, err := readGeneration(ctx, r.store.Get, r.name)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.pos, r.gen, r.layout = cp, g.Generation, g.Layout
	r.mu.Unlock()
	r.e.collectionsChanged(r)
	r.committed.Store(cp)
	return nil
}

// ready lets WaitFor answer from the loaded checkpoint.
func (r *runner) ready() {
	r.loaded.Store(true)
	r.notify()
}

func (r *runner) notify() {
	r.nmu.Lock()
	close(r.changed)
	r.changed = make(chan struct{})
	r.nmu.Unlock()
}

func (r *runner) changedCh() <-chan struct{} {
	r.nmu.Lock()
	defer r.nmu.Unlock()
	return r.changed
}

// permanentError marks a failure retrying cannot fix (undecodable data).
type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// isStoreError reports a read store that did not answer
// (projections.ErrUnavailable) while an event was projected: the store's
// trouble, not the event's, so the event is tried again until the store
// answers and is never dead-lettered, which would leave the read model
// without it until a rebuild. Any other failure, from the store too (a
// document it cannot decode), is the event's and dead-letters it.
func isStoreError(err error) bool {
	return errors.Is(err, projections.ErrUnavailable)
}

// decoded is an event made ready for a projector: decoded (env.Event set),
// or passed over (only env.Record set). A rebuild attaches it to its messages
// (decodedKey), record included, so the message context needs nothing else.
type decoded struct {
	env     eventlog.Envelope
	skip    bool // not for this projector
	unknown bool // unregistered type
	err     error
}

type decodedKey struct{}

// decode decodes rec for this projector. Events of directly registered types
// the projector does not handle are not even decoded; others may be upcast
// into a handled type. It touches no runner state, so a rebuild runs it on
// its read-ahead goroutine.
func (r *runner) decode(rec eventlog.Record) decoded {
	raw := eventlog.Envelope{Record: rec}
	if !r.handles[rec.Type] && r.e.direct[rec.Type] {
		return decoded{env: raw, skip: true}
	}
	env, err := r.e.cfg.Registry.Decode(rec)
	var unknown *eventlog.UnknownTypeError
	switch {
	case errors.As(err, &unknown):
		return decoded{env: raw, unknown: true}
	case err != nil:
		return decoded{env: raw, err: err}
	case !r.handles[env.Type]:
		return decoded{env: raw, skip: true}
	}
	// Decode upcasts Type and Data; the record's position and identity are
	// what the engine needs, and they are unchanged.
	return decoded{env: env}
}

// recordOf returns the log record a message carries.
func recordOf(msg *message.Message) (eventlog.Record, bool) {
	if d, ok := msg.Context().Value(decodedKey{}).(*decoded); ok {
		return d.env.Record, true
	}
	return watermilllog.RecordFromMessage(msg)
}

// project is the Watermill handler: decode the event (unless the message
// carries it decoded already) and project it into a staging layer; merge it
// into the overlay only if the projector succeeded.
func (r *runner) project(msg *message.Message) error {
	ctx := msg.Context()
	d, ok := ctx.Value(decodedKey{}).(*decoded)
	if !ok {
		rec, ok := watermilllog.RecordFromContext(ctx)
		if !ok {
			return permanentError{fmt.Errorf("engine: message %s carries no event-log record", msg.UUID)}
		}
		dd := r.decode(rec)
		d = &dd
	}
	switch {
	case d.unknown:
		r.skipUnknown(d.env.Type)
		return nil
	case d.skip:
		return nil
	case d.err != nil:
		return permanentError{d.err}
	}
	env := d.env
	r.mu.Lock()
	defer r.mu.Unlock()
	if ep, ok := ctx.Value(epochKey{}).(uint64); ok && ep != r.epoch {
		return nil // a swap came between bookkeeping and now: see consumed
	}
	st := &r.st
	st.begin(r.ov)
	if err := r.p.Project(ctx, st, env); err != nil {
		return fmt.Errorf("project %s %s (position %d): %w", env.Type, env.ID, env.Position, err)
	}
	r.noteChanges(st)
	st.merge()
	return nil
}

// noteChanges records what a projected event changed, for the view
// observers (none: nothing is recorded).
func (r *runner) noteChanges(st *staging) {
	if r.rebuild || !r.e.observed() {
		return // a rebuild writes shadows no one reads until the swap
	}
	if r.paged || (len(st.writes) == 0 && len(st.touched) == 0) {
		r.allChanged = true
		return
	}
	if r.allChanged {
		return
	}
	for k, e := range st.writes {
		c := projections.Changed{Collection: k.coll, ID: k.id, Deleted: !e.present}
		if e.present {
			c.Fields = e.doc.Fields
		}
		r.changedDocs = append(r.changedDocs, c)
	}
	for k, fields := range st.touched {
		r.changedDocs = append(r.changedDocs, projections.Changed{Collection: k.coll, ID: k.id, Fields: fields})
	}
}

// tellChanges passes what the last commit changed to the view observers
// and forgets it.
func (r *runner) tellChanges() {
	switch {
	case r.allChanged:
		r.e.collectionsChanged(r)
	case len(r.changedDocs) > 0:
		r.e.docsChanged(r.changedDocs)
	}
	r.forgetChanges()
}

// forgetChanges empties what the commit on its way changed.
func (r *runner) forgetChanges() {
	clear(r.changedDocs)
	r.changedDocs, r.allChanged = r.changedDocs[:0], false
}

// skipUnknown passes over an event whose type is not registered: no
// projector can handle a type the registry does not know, and recording one
// dead letter per projector per such event would bury the real failures. It
// logs once per type and counts every one.
func (r *runner) skipUnknown(typ string) {
	r.e.metrics.unknown.WithLabelValues(r.name, typ).Inc()
	r.mu.Lock()
	first := !r.unknown[typ]
	r.unknown[typ] = true
	r.mu.Unlock()
	if first {
		r.log.Warn("passing over events of an unregistered type", "type", typ)
	}
}

// consumed records that the event at position is done with (projected,
// passed over or dead-lettered), and commits when the batch is full. epoch is
// the runner's epoch when its handling began.
func (r *runner) consumed(ctx context.Context, position, epoch uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if epoch != r.epoch {
		// The runner followed a swap (noticed by the flusher) while this
		// event was handled: it came before the subscription's restart.
		// Counting it would move the position past events the rebuild
		// had not reached. This was the event in flight, so the next one
		// comes from the restarted subscription.
		r.swapped = false
		if r.restart != nil {
			r.restart()
		}
		return nil
	}
	r.pos = max(r.pos, position)
	r.e.metrics.seen(position)
	if r.pending == 0 {
		r.firstPending = time.Now()
		r.wake()
	}
	r.pending++
	full := r.pending >= r.batchSize || r.pagedFullLocked()
	if !full && (r.paged || !r.awaited() || time.Since(r.lastCommit) < r.batchDelay) {
		return nil // the flusher commits it (see flushWaitLocked)
	}
	// A full batch, or an event a reader waits for after a quiet spell
	// (commit it now rather than hand it to the flusher).
	// It is committed before the next event is taken, retrying a failing
	// store with backoff: the events stay in the overlay meanwhile.
	wait := r.e.cfg.RetryInitial
	for {
		err := r.commitLocked(ctx)
		if err == nil {
			if r.swapped {
				r.swapped = false
				r.restart()
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.log.Error("commit projector batch; retrying", "wait", wait, "err", err)
		r.mu.Unlock()
		ok := sleep(ctx, wait)
		r.mu.Lock()
		if !ok {
			return ctx.Err()
		}
		wait = min(2*wait, r.e.cfg.RetryMax)
	}
}

// firstPagedDocs is the documents a paged batch gathers before a commit
// has shown how long one takes; minPagedDocs the least it is let gather (a
// store slow for a moment must not leave a rebuild committing a document at
// a time).
const (
	firstPagedDocs = 1000
	minPagedDocs   = 100
)

// pagedFullLocked reports whether a paged batch (rebuild, catch-up) has
// gathered as many documents to write as the last paged commit's time per
// document says fit in PagedCommitTime (see Config). Documents, not events:
// a commit writes each changed document once, however many events changed
// it (a payment and its four status moves), so its time follows them.
func (r *runner) pagedFullLocked() bool {
	if !r.paged {
		return false
	}
	limit := firstPagedDocs
	if r.commitPerDoc > 0 {
		limit = int(max(minPagedDocs, int64(r.e.cfg.PagedCommitTime/r.commitPerDoc)))
	}
	return len(r.ov.dirty) >= limit
}

// awaited reports whether a reader waits for an event past the last
// commit (see await).
func (r *runner) awaited() bool { return r.wanted.Load() > r.committed.Load() }

// await tells the runner a reader waits for position: the events up to it
// are committed within batchDelay of the previous commit, not left for
// unawaitedDelay. Events nobody waits for (a login, whose next page shows
// only what the login decided) are so committed several at a time, one
// transaction for many, where a commit each cost a login about a tenth of
// its CPU besides its password hash.
func (r *runner) await(position uint64) {
	for {
		w := r.wanted.Load()
		if position <= w || r.wanted.CompareAndSwap(w, position) {
			break
		}
	}
	r.wake()
}

// wake makes the flusher look again at when to commit.
func (r *runner) wake() {
	select {
	case r.due <- struct{}{}:
	default:
	}
}

// flushWaitLocked is how long the flusher waits before committing the
// pending events: until batchDelay after the previous commit, and for
// events no reader waits for, until unawaitedDelay after the first of them.
func (r *runner) flushWaitLocked() time.Duration {
	wait := r.batchDelay - time.Since(r.lastCommit)
	if !r.awaited() {
		wait = max(wait, r.unawaitedDelay-time.Since(r.firstPending))
	}
	return wait
}

// idleLocked reports whether a commit would have nothing to write.
func (r *runner) idleLocked() bool {
	return r.pending == 0 && len(r.ov.dirty) == 0 && r.newGen == "" && !r.lazy
}

// commitLocked writes the overlay's changes and the checkpoint in one batch.
func (r *runner) commitLocked(ctx context.Context) error {
	if r.idleLocked() {
		return nil
	}
	checkpoint := r.pos
	keys := r.ov.writes()
	start := time.Now()
	var began time.Time // the writer is ours: what the batch holds it for
	wctx := ctx
	if r.paged {
		wctx = projections.Bulk(ctx) // others' writes first (see PagedCommitTime)
	}
	err := r.store.Write(wctx, r.name, checkpoint, func(b projections.Batch) error {
		began = time.Now()
		if r.newGen != "" {
			body, _ := json.Marshal(genBody{Generation: r.newGen, Layout: layoutOf(r.p)})
			if err := b.Put(ctx, genCollection(r.name), projections.Doc{ID: generationID, Version: 1, Body: body}); err != nil {
				return fmt.Errorf("stamp generation: %w", err)
			}
		} else if !r.rebuild {
			g, err := readGeneration(ctx, b.Get, r.name)
			if err != nil {
				return err
			}
			if g.Generation != r.gen {
				return errSwapped
			}
		}
		return r.ov.apply(ctx, b, keys)
	})
	if errors.Is(err, errSwapped) {
		return r.swappedLocked(ctx)
	}
	if err != nil {
		return fmt.Errorf("engine: commit %s at %d: %w", r.name, checkpoint, err)
	}
	r.ov.committed(keys, r.e.cfg.CacheSize)
	r.lastCommit = time.Now()
	if r.newGen != "" {
		r.gen, r.newGen = r.newGen, ""
	}
	r.pending, r.lazy = 0, false
	r.tellChanges() // before notify: a WaitFor that returns finds them told
	r.committed.Store(checkpoint)
	if r.paged && len(keys) > 0 {
		r.commitPerDoc = max(time.Nanosecond, time.Since(began)/time.Duration(len(keys)))
	}
	r.e.metrics.committed(r.name, checkpoint, r.rebuild, time.Since(start))
	r.notify()
	return nil
}

// swappedLocked follows a rebuild that swapped the collections: forget the
// overlay and take the swapped-in checkpoint, also when it is behind what
// this runner had committed into the old collections (a rebuild that read the
// log's end just before a live commit): those events are projected again.
// The caller restarts the subscription from that checkpoint; the event it
// may have in flight is dropped by the handler path (see bookkeeping and the
// epoch check in consumed).
func (r *runner) swappedLocked(ctx context.Context) error {
	cp, err := r.store.Checkpoint(ctx, r.name)
	if err != nil {
		return fmt.Errorf("engine: checkpoint of %s after a swap: %w", r.name, err)
	}
	g, err := readGeneration(ctx, r.store.Get, r.name)
	if err != nil {
		return err
	}
	r.log.Info("collections swapped by a rebuild; resuming from its checkpoint", "checkpoint", cp)
	if l, ok := r.p.(projections.Layouter); ok && g.Layout != l.Layout() {
		// A build with another layout rebuilt them; this process goes on
		// projecting into them until its next start rebuilds them again.
		r.log.Warn("collections swapped in by a rebuild of another layout", "stored", g.Layout, "want", l.Layout())
	}
	r.ov.reset()
	r.pending, r.pos, r.gen, r.layout, r.swapped, r.lazy = 0, cp, g.Generation, g.Layout, true, false
	r.epoch++
	r.forgetChanges() // the collections they were made in are gone
	r.e.collectionsChanged(r)
	r.committed.Store(cp)
	r.e.metrics.committed(r.name, cp, false, 0)
	r.notify()
	return nil
}

// flusher commits a batch that is not full: events a reader waits for
// once batchDelay has passed since the previous commit (after a quiet
// spell consumed commits them at once; a busy log gets at most one commit
// per batchDelay), the others unawaitedDelay after the first of them
// (flushWaitLocked). A reader beginning to wait wakes it to look again. It
// keeps retrying a failing commit. While nothing waits to be committed, it
// looks every SwapCheckInterval whether a rebuild swapped the collections
// (see checkSwap).
func (r *runner) flusher(ctx context.Context) {
	tick := time.NewTicker(r.e.cfg.SwapCheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			r.checkSwap(ctx)
			continue
		case <-r.due:
		}
		for {
			r.mu.Lock()
			if r.idleLocked() || r.pending == 0 && len(r.ov.dirty) > 0 {
				// A wake-up left from a batch consumed committed: nothing
				// waits. Sleeping batchDelay and committing then would
				// store a lazy checkpoint begun meanwhile at once. Or an
				// event is being projected and not yet counted (its
				// firstPending not yet set): consumed wakes the flusher
				// when it is.
				r.mu.Unlock()
				break
			}
			wait := r.flushWaitLocked()
			lazyOnly := r.pending == 0 && len(r.ov.dirty) == 0 && r.lazy
			if lazyOnly {
				wait = r.e.cfg.LazyCheckpointDelay - time.Since(r.lazySince)
				if r.lazyFullLocked() {
					wait = 0
				}
			}
			r.mu.Unlock()
			if wait > 0 {
				// A real event meanwhile (for a lazy checkpoint), or a
				// reader beginning to wait, may make the commit due sooner.
				woke, ok := sleepOrWake(ctx, wait, r.due)
				if !ok {
					return
				}
				if woke {
					continue
				}
			}
			r.mu.Lock()
			if r.paged {
				// A catch-up is feeding the runner: it commits by size
				// and at its end. Committing every batchDelay here would
				// write each document once per few events.
				r.mu.Unlock()
				break
			}
			err := r.commitLocked(ctx)
			restart := r.restartIfSwappedLocked()
			r.mu.Unlock()
			restart()
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			r.log.Error("commit projector batch; retrying", "err", err)
			if !sleep(ctx, r.e.cfg.RetryMax) {
				return
			}
		}
	}
}

// restartIfSwappedLocked returns what restarts the subscription if the
// runner just followed a swap outside the handler path (a no-op otherwise).
// swapped stays set: the event the subscription may have in flight is still
// dropped by the handler. Left to the handler path alone, the restart waited
// for the next event, which on a quiet log may not come for hours.
func (r *runner) restartIfSwappedLocked() func() {
	if !r.swapped || r.paged || r.restart == nil {
		return func() {}
	}
	return r.restart
}

// checkSwap follows a rebuild (possibly by another process) that swapped the
// collections while this runner has nothing to commit: otherwise only its
// next commit would notice, and until then it would answer WaitFor for
// events it had committed into the replaced collections, and on a quiet log
// that is indefinitely. One read of the generation document per interval.
func (r *runner) checkSwap(ctx context.Context) {
	r.mu.Lock()
	busy := r.pending > 0 || len(r.ov.dirty) > 0 || r.lazy || r.paged || r.swapped || r.rebuild
	gen := r.gen
	r.mu.Unlock()
	if busy {
		return // the commit on its way checks the generation
	}
	g, err := readGeneration(ctx, r.store.Get, r.name)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("read projector generation", "err", err)
		}
		return
	}
	if g.Generation == gen {
		return
	}
	r.mu.Lock()
	if r.pending > 0 || len(r.ov.dirty) > 0 || r.lazy || r.paged || r.swapped || r.gen != gen {
		r.mu.Unlock()
		return // events arrived meanwhile, or a commit followed the swap
	}
	err = r.swappedLocked(ctx)
	restart := r.restartIfSwappedLocked()
	r.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("follow swapped collections", "err", err)
		}
		return
	}
	restart()
}

// finalCommit commits what is left at shutdown, with its own short deadline.
func (r *runner) finalCommit() error {
	ctx, cancel := context.WithTimeout(context.Background(), r.e.cfg.ShutdownTimeout)
	defer cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.commitLocked(ctx)
}

// middlewares are the engine's Watermill middleware for this runner, outermost
// first: consumed bookkeeping and batch commits; dead letters for what still
// fails after retries; exponential-backoff retries; panic recovery.
func (r *runner) middlewares() ([]message.HandlerMiddleware, error) {
	// A store error goes back to the subscription, which delivers the
	// event again after its growing nack backoff.
	poison, err := middleware.PoisonQueueWithFilter(deadLetterPublisher{r: r}, deadLetterCollection, func(err error) bool {
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) && !isStoreError(err)
	})
	if err != nil {
		return nil, err
	}
	mws := []message.HandlerMiddleware{r.bookkeeping, poison}
	if n := r.e.cfg.MaxRetries; n > 0 {
		// The first try runs outside Retry (see afterFirstFailure), so
		// Retry makes the remaining n tries, starting one interval later:
		// the schedule is try, I, try, 2I, try, 4I … as with Retry alone.
		retry := middleware.Retry{
			MaxRetries:      n - 1,
			InitialInterval: 2 * r.e.cfg.RetryInitial,
			MaxInterval:     r.e.cfg.RetryMax,
			Multiplier:      2,
			ShouldRetry: func(p middleware.RetryParams) bool {
				var perm permanentError
				return !errors.As(p.Err, &perm)
			},
		}
		mws = append(mws, afterFirstFailure(retry.Middleware, r.e.cfg.RetryInitial))
	}
	return append(mws, middleware.Recoverer), nil
}

// afterFirstFailure runs the handler once and only if that fails hands the
// message, after wait, to retry. Watermill's Retry sets up its backoff for
// every message; a projector event nearly always succeeds at once, and during
// a rebuild that setup was a tenth of the time per event.
func afterFirstFailure(retry message.HandlerMiddleware, wait time.Duration) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		retried := retry(h)
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			var perm permanentError
			if err == nil || errors.As(err, &perm) {
				return out, err
			}
			if !sleep(msg.Context(), wait) {
				return nil, err
			}
			return retried(msg)
		}
	}
}

func (r *runner) handler(msg *message.Message) error { return r.project(msg) }

// compose applies middlewares (outermost first) the way the Router does, for
// the rebuild, which feeds its runner directly.
func compose(h message.HandlerFunc, mws []message.HandlerMiddleware) message.HandlerFunc {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// skips lists the registered types the projector has no use for: directly
// registered types it does not handle. Types it handles, types the registry
// may upcast into one, and unregistered types (counted by skipUnknown) still
// reach it.
func (r *runner) skips() []string {
	var out []string
	for t := range r.e.direct {
		if !r.handles[t] {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// passed is bookkeeping for an event the subscription filtered out (see
// wants): consumed without a message, in log order.
func (r *runner) passed(ctx context.Context, position uint64) error {
	r.mu.Lock()
	swapped, epoch := r.swapped, r.epoch
	r.swapped = false
	if !swapped && r.pending == 0 && len(r.ov.dirty) == 0 && r.newGen == "" && !r.paged && !r.rebuild {
		// Nothing of this projector's waits to be written, so its read
		// model at position is the one committed: readers may go on now,
		// and the checkpoint follows lazily. Committing each passed-over
		// event at once cost a transaction per projector per login event.
		if position > r.pos {
			wake := false
			if !r.lazy {
				r.lazy, r.lazySince, r.lazyFrom = true, time.Now(), r.pos
				wake = true
			}
			r.pos = position
			r.e.metrics.seen(position)
			if wake || r.lazyFullLocked() {
				r.wake()
			}
			r.committed.Store(position)
			r.mu.Unlock()
			r.notify()
			return nil
		}
		r.mu.Unlock()
		return nil
	}
	r.mu.Unlock()
	if swapped {
		r.restart() // as bookkeeping does: resume from the swapped-in checkpoint
		return nil
	}
	return r.consumed(ctx, position, epoch)
}

// lazyFullLocked reports whether the stored checkpoint is as far behind
// passed-over events as it may be (Config.LazyCheckpointEvents).
func (r *runner) lazyFullLocked() bool {
	return r.lazy && r.pos-r.lazyFrom >= uint64(r.e.cfg.LazyCheckpointEvents)
}

// epochKey holds, in a live message's context, the runner's epoch when its
// handling began (see runner.epoch).
type epochKey struct{}

func (r *runner) bookkeeping(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		r.mu.Lock()
		swapped, epoch := r.swapped, r.epoch
		r.swapped = false
		r.mu.Unlock()
		if swapped {
			// This event was delivered before the restart: drop it. The
			// subscription resumes from the swapped-in checkpoint once it is
			// acked, and sends it again if the rebuild had not reached it.
			r.restart()
			return nil, nil
		}
		if !r.rebuild { // a rebuild's collections are never swapped under it
			msg.SetContext(context.WithValue(msg.Context(), epochKey{}, epoch))
		}
		if _, err := h(msg); err != nil {
			return nil, err
		}
		rec, _ := recordOf(msg)
		if err := r.consumed(msg.Context(), rec.Position, epoch); err != nil {
			return nil, err
		}
		return nil, r.catchUpIfBehind(msg.Context(), rec.Position)
	}
}

// catchUpIfBehind switches a live projector that has fallen far behind the
// head (a payroll run arriving faster than events are handed over one at a
// time) to the paged catch-up, then resumes its subscription from the
// checkpoint the catch-up committed.
func (r *runner) catchUpIfBehind(ctx context.Context, position uint64) error {
	if r.rebuild || r.restart == nil || r.catching.Load() ||
		r.e.metrics.headPos.Load() <= position+uint64(r.e.cfg.CatchUpThreshold) {
		return nil
	}
	r.catching.Store(true)
	defer r.catching.Store(false)
	resume := r.restart
	if err := r.e.catchUp(ctx, r); err != nil {
		return err
	}
	resume()
	return nil
}

// sleepOrWake sleeps d unless wake fires first (woke) or ctx ends (!ok).
func sleepOrWake(ctx context.Context, d time.Duration, wake <-chan struct{}) (woke, ok bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return false, true
	case <-wake:
		return true, true
	case <-ctx.Done():
		return false, false
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
