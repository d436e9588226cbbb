package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	eventsqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	readsqlite "github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/engine"
)

// layoutLedger is the ledger projector with a layout version. Layout 2 adds
// a collection: one document per account stream, which only a replay of the
// whole log can fill for streams projected before the upgrade.
type layoutLedger struct {
	ledgerProjector
	layout    int
	projected atomic.Int64 // Project calls
}

var _ projections.Layouter = (*layoutLedger)(nil)

func (p *layoutLedger) Layout() int { return p.layout }

func (p *layoutLedger) Collections() []projections.CollectionSpec {
	c := p.ledgerProjector.Collections()
	if p.layout >= 2 {
		c = append(c, projections.CollectionSpec{Name: "ledger_streams"})
	}
	return c
}

func (p *layoutLedger) Project(ctx context.Context, b projections.Batch, env eventlog.Envelope) error {
	p.projected.Add(1)
	if err := p.ledgerProjector.Project(ctx, b, env); err != nil {
		return err
	}
	if p.layout < 2 {
		return nil
	}
	return b.Put(ctx, "ledger_streams", projections.Doc{
		ID: env.Stream, Version: env.Version, Body: fmt.Appendf(nil, `{"layout":2,"position":%d}`, env.Position),
	})
}

// openStores opens an event store and a read store in a new directory.
func openStores(t *testing.T) (*eventsqlite.Store, *readsqlite.Store) {
	dir := t.TempDir()
	return openEvents(t, dir), openViews(t, filepath.Join(dir, "views.db"))
}

// seededStores is openStores with 200 ledger events on 10 accounts
// appended, and the log's head.
func seededStores(t *testing.T) (*eventsqlite.Store, *readsqlite.Store, *ledgerGen, uint64) {
	log, views := openStores(t)
	g := newGen(log, 10)
	return log, views, g, g.fill(t, 200, 10)
}

// generation reads the engine's generation document of the ledger projector
// (its format is the engine's: the test pins what a store holds).
func generation(t *testing.T, r projections.Reader) (gen string, layout int, ok bool) {
	t.Helper()
	doc, ok, err := r.Get(context.Background(), "engine_gen_ledger", "generation")
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return "", 0, false
	}
	var b struct {
		Generation string `json:"generation"`
		Layout     int    `json:"layout"`
	}
	if err := json.Unmarshal(doc.Body, &b); err != nil {
		t.Fatal(err)
	}
	return b.Generation, b.Layout, true
}

// ledgerStatus is the engine's Status of the ledger projector.
func ledgerStatus(t *testing.T, e *engine.Engine) engine.Status {
	t.Helper()
	st, err := e.Status(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Name == "ledger" && s.Kind == "projector" {
			return s
		}
	}
	t.Fatalf("no ledger projector in status %+v", st)
	return engine.Status{}
}

func TestLayoutChangeRebuildsOnStart(t *testing.T) {
	log, views := openStores(t)
	ctx := context.Background()
	g := newGen(log, 20)
	head1 := g.fill(t, 300, 10)

	// An older build: layout 1. A read store no rebuild has written counts
	// as layout 0, so its first start rebuilds and stamps layout 1.
	v1 := &layoutLedger{layout: 1}
	e1 := newEngine(t, log, views, v1, nil)
	stop := run(t, e1)
	if err := e1.WaitFor(ctx, head1); err != nil {
		t.Fatal(err)
	}
	stop()
	gen1, layout, ok := generation(t, views)
	if !ok || layout != 1 {
		t.Fatalf("after the first start: generation document %v, layout %d; want layout 1", ok, layout)
	}
	if st := ledgerStatus(t, e1); st.Layout != 1 || st.WantLayout != 1 {
		t.Fatalf("status after the first start: layout %d, want %d; want 1 and 1", st.Layout, st.WantLayout)
	}
	head2 := g.fill(t, 60, 10) // while no engine runs

	// The new build: layout 2. Its engine rebuilds before it projects live;
	// WaitFor does not answer from the old collections' checkpoint (head1)
	// meanwhile.
	v2 := &layoutLedger{layout: 2}
	e2 := newEngine(t, log, views, v2, nil)
	stop = run(t, e2)
	if err := e2.WaitFor(ctx, head1); err != nil {
		t.Fatal(err)
	}
	snap := snapshot(t, views)
	streams := streamDocs(t, views)
	if len(streams) != len(snap["ledger_balances"]) {
		t.Fatalf("WaitFor answered with %d layout-2 stream documents for %d accounts: before the rebuild was swapped in",
			len(streams), len(snap["ledger_balances"]))
	}
	if err := e2.WaitFor(ctx, head2); err != nil {
		t.Fatal(err)
	}
	stop()

	snap = snapshot(t, views)
	checkAgainstLog(t, log, snap)
	streams = streamDocs(t, views)
	if len(streams) != len(snap["ledger_balances"]) {
		t.Fatalf("%d layout-2 stream documents, want one per account (%d)", len(streams), len(snap["ledger_balances"]))
	}
	for i, d := range streams {
		if b := snap["ledger_balances"][i]; d.ID != b.ID || d.Version != b.Version || !strings.Contains(string(d.Body), `"layout":2`) {
			t.Fatalf("stream document %s v%d %s, balance %s v%d", d.ID, d.Version, d.Body, b.ID, b.Version)
		}
	}
	_, wantProjected := expected(t, log)
	if n := v2.projected.Load(); n != int64(wantProjected.Events) {
		t.Errorf("layout 2 projected %d events, want the whole log's %d (one replay)", n, wantProjected.Events)
	}
	gen2, layout, _ := generation(t, views)
	if layout != 2 || gen2 == gen1 {
		t.Errorf("after the layout change: generation %q layout %d; want layout 2 and a new generation (was %q)", gen2, layout, gen1)
	}
	if cp, err := views.Checkpoint(ctx, "ledger"); err != nil || cp != head2 {
		t.Errorf("checkpoint %d (%v), want the head %d", cp, err, head2)
	}
	if st := ledgerStatus(t, e2); st.Layout != 2 || st.WantLayout != 2 || st.Checkpoint != head2 || st.Lag != 0 {
		t.Errorf("status after the layout change: %+v", st)
	}

	// The same layout again: no rebuild, only the new event is projected,
	// into the same generation.
	v2again := &layoutLedger{layout: 2}
	e3 := newEngine(t, log, views, v2again, nil)
	stop = run(t, e3)
	res := g.appendTo(t, "acct-0003", deposited{Owner: "o", Amount: 3})
	if err := e3.WaitFor(ctx, res.LastPosition); err != nil {
		t.Fatal(err)
	}
	stop()
	if n := v2again.projected.Load(); n != 1 {
		t.Errorf("a start with an unchanged layout projected %d events, want 1 (no rebuild)", n)
	}
	if gen, layout, _ := generation(t, views); gen != gen2 || layout != 2 {
		t.Errorf("a start with an unchanged layout: generation %q layout %d, want %q and 2", gen, layout, gen2)
	}
	checkAgainstLog(t, log, snapshot(t, views))
	if d, ok, err := views.Get(ctx, "ledger_streams", "acct-0003"); err != nil || !ok || d.Version != res.LastVersion {
		t.Errorf("stream document after the live event: %v %v %+v", ok, err, d)
	}
}

// streamDocs reads every document of layout 2's extra collection, in ID order.
func streamDocs(t *testing.T, r projections.Reader) []projections.Doc {
	t.Helper()
	var out []projections.Doc
	q := projections.Query{Collection: "ledger_streams", Limit: 1000}
	for {
		page, err := r.Find(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Docs...)
		if page.Next == "" {
			return out
		}
		q.After = page.Next
	}
}

// A projector that declares no layout behaves as before layouts existed:
// never rebuilt on start, whatever layout the store holds.
func TestProjectorWithoutLayoutIsNotRebuilt(t *testing.T) {
	log, views, g, head := seededStores(t)
	ctx := context.Background()

	var projected atomic.Int64
	plain := func() *ledgerProjector {
		return &ledgerProjector{onProject: func(eventlog.Envelope) { projected.Add(1) }}
	}
	e := newEngine(t, log, views, plain(), nil)
	stop := run(t, e)
	if err := e.WaitFor(ctx, head); err != nil {
		t.Fatal(err)
	}
	stop()
	_, tot := expected(t, log)
	if n := projected.Load(); n != int64(tot.Events) {
		t.Fatalf("first start projected %d events, want %d", n, tot.Events)
	}
	if _, _, ok := generation(t, views); ok {
		t.Error("a live start without a layout wrote a generation document")
	}
	if st := ledgerStatus(t, e); st.Layout != 0 || st.WantLayout != 0 {
		t.Errorf("status: layout %d, want %d; want 0 and 0", st.Layout, st.WantLayout)
	}

	// A store stamped with a layout (by a build whose projector declared
	// one) is not rebuilt by a projector that declares none.
	v1 := &layoutLedger{layout: 1}
	if _, err := newEngine(t, log, views, v1, nil).Rebuild(ctx, "ledger", nil); err != nil {
		t.Fatal(err)
	}
	gen, _, _ := generation(t, views)
	projected.Store(0)
	e = newEngine(t, log, views, plain(), nil)
	stop = run(t, e)
	res := g.appendTo(t, "acct-0001", withdrawn{Amount: 1})
	if err := e.WaitFor(ctx, res.LastPosition); err != nil {
		t.Fatal(err)
	}
	stop()
	if n := projected.Load(); n != 1 {
		t.Errorf("restart projected %d events, want 1 (no rebuild)", n)
	}
	if g2, layout, _ := generation(t, views); g2 != gen || layout != 1 {
		t.Errorf("generation %q layout %d after the restart, want %q and 1 untouched", g2, layout, gen)
	}
	checkAgainstLog(t, log, snapshot(t, views))
}

// A fresh store and an empty log: the start rebuilds nothing into empty
// shadows, which stamps the layout, and live projection goes on from there.
func TestEmptyStoreGetsLayoutStamped(t *testing.T) {
	log, views := openStores(t)
	ctx := context.Background()
	p := &layoutLedger{layout: 3}
	e := newEngine(t, log, views, p, nil)
	stop := run(t, e)
	if err := e.WaitFor(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if _, layout, ok := generation(t, views); !ok || layout != 3 {
		t.Fatalf("empty store after start: generation document %v, layout %d; want layout 3", ok, layout)
	}
	g := newGen(log, 1)
	res := g.appendTo(t, "acct-0000", deposited{Owner: "o", Amount: 9})
	if err := e.WaitFor(ctx, res.LastPosition); err != nil {
		t.Fatal(err)
	}
	stop()
	checkAgainstLog(t, log, snapshot(t, views))
	if n := p.projected.Load(); n != 1 {
		t.Errorf("projected %d events, want 1", n)
	}
	if st := ledgerStatus(t, e); st.Layout != 3 || st.Checkpoint != res.LastPosition {
		t.Errorf("status: %+v", st)
	}
}

// A side-effect consumer runs on its own checkpoint: the replay of a
// layout rebuild never reaches it, only the events appended while it runs.
func TestConsumerDoesNotSeeLayoutRebuild(t *testing.T) {
	log, views, g, oldHead := seededStores(t)
	ctx := context.Background()

	var mu sync.Mutex
	var seen []uint64
	handle := func(_ context.Context, env eventlog.Envelope) error {
		mu.Lock()
		seen = append(seen, env.Position)
		mu.Unlock()
		return nil
	}
	// start runs an engine with projector p and the mailer consumer, appends
	// n events, and stops both once the projector and the consumer have
	// committed them.
	var want []uint64
	start := func(p projections.Projector, n int) {
		t.Helper()
		e := newEngine(t, log, views, p, nil)
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- e.RunConsumer(cctx, "mailer", handle) }()
		stop := run(t, e)
		waitFor(t, func() bool { // the first start has recorded the head
			_, ok, _ := views.Get(ctx, "consumers", "mailer")
			return ok
		})
		var head uint64
		for i := range n {
			head = g.appendTo(t, fmt.Sprintf("acct-%04d", i), deposited{Owner: "o", Amount: 1}).LastPosition
			want = append(want, head)
		}
		if err := e.WaitFor(ctx, head); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool {
			cp, err := views.Checkpoint(ctx, "mailer")
			return err == nil && cp >= head
		})
		stop()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("RunConsumer: %v", err)
		}
	}
	start(&layoutLedger{layout: 1}, 5)
	v2 := &layoutLedger{layout: 2}
	start(v2, 3) // rebuilds on start: replays the whole log

	_, tot := expected(t, log)
	if n := v2.projected.Load(); n != int64(tot.Events) {
		t.Fatalf("layout 2 projected %d events, want the whole log's %d", n, tot.Events)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(seen, want) {
		t.Fatalf("consumer saw positions %v, want only %v (nothing up to %d, nothing twice)", seen, want, oldHead)
	}
}

// failingLog fails every read of the log after its head was read.
type failingLog struct{ projections.EventLog }

var errLogDown = errors.New("event log down")

func (failingLog) ReadAll(context.Context, uint64, int) ([]eventlog.Record, error) {
	return nil, errLogDown
}

func TestLayoutRebuildFailureStopsRun(t *testing.T) {
	log, views := openStores(t)
	newGen(log, 3).fill(t, 30, 10)
	e := newEngine(t, failingLog{log}, views, &layoutLedger{layout: 1}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := e.Run(ctx)
	if !errors.Is(err, errLogDown) || !strings.Contains(err.Error(), "ledger") {
		t.Fatalf("Run with a failing layout rebuild = %v, want the log's error naming the projector", err)
	}
	if _, _, ok := generation(t, views); ok {
		t.Error("a failed rebuild stamped a generation")
	}
	if c := layoutClaim(t, views); c.Owner != "" {
		t.Errorf("a failed rebuild kept its claim: %+v", c)
	}
}

// blockingLog blocks reads of the log until their context ends, after
// telling entered.
type blockingLog struct {
	projections.EventLog
	entered chan struct{}
}

func (l blockingLog) ReadAll(ctx context.Context, _ uint64, _ int) ([]eventlog.Record, error) {
	select {
	case l.entered <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// Shutting down during a layout rebuild is a shutdown, not a failure: Run
// returns nil and the live collections stay as they were, to be rebuilt at
// the next start.
func TestShutdownDuringLayoutRebuild(t *testing.T) {
	log, views := openStores(t)
	ctx := context.Background()
	head := newGen(log, 3).fill(t, 30, 10)
	e1 := newEngine(t, log, views, &layoutLedger{layout: 1}, nil)
	stop := run(t, e1)
	if err := e1.WaitFor(ctx, head); err != nil {
		t.Fatal(err)
	}
	stop()
	gen1, _, _ := generation(t, views)

	bl := blockingLog{EventLog: log, entered: make(chan struct{}, 1)}
	e2 := newEngine(t, bl, views, &layoutLedger{layout: 2}, nil)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e2.Run(rctx) }()
	select {
	case <-bl.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the start did not rebuild: no log read in 10s")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run cancelled during the layout rebuild = %v, want nil", err)
	}
	if gen, layout, _ := generation(t, views); gen != gen1 || layout != 1 {
		t.Errorf("after a cancelled rebuild: generation %q layout %d, want %q and 1", gen, layout, gen1)
	}
	if cp, _ := views.Checkpoint(ctx, "ledger"); cp != head {
		t.Errorf("checkpoint %d after a cancelled rebuild, want %d", cp, head)
	}
}

// claim is the engine's layout claim document, as a store holds it.
type claim struct {
	Owner   string    `json:"owner"`
	Layout  int       `json:"layout"`
	At      time.Time `json:"at"`
	Cleanup bool      `json:"cleanup,omitempty"`
}

func layoutClaim(t *testing.T, r projections.Reader) claim {
	t.Helper()
	doc, ok, err := r.Get(context.Background(), "engine_gen_ledger", "relayout-claim")
	if err != nil || !ok {
		t.Fatalf("layout claim: %v (found %v)", err, ok)
	}
	var c claim
	if err := json.Unmarshal(doc.Body, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// putClaim writes another process's claim to rebuild the ledger for layout.
func putClaim(t *testing.T, views projections.ReadStore, layout int, at time.Time) {
	t.Helper()
	putClaimDoc(t, views, 1, claim{Owner: "another process", Layout: layout, At: at})
}

// putClaimDoc writes c as the ledger's claim document at version.
func putClaimDoc(t *testing.T, views projections.ReadStore, version uint64, c claim) {
	t.Helper()
	ctx := context.Background()
	if err := views.Ensure(ctx, projections.CollectionSpec{Name: "engine_gen_ledger"}); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(c)
	err := views.Write(ctx, "test_claims", 0, func(b projections.Batch) error {
		return b.Put(ctx, "engine_gen_ledger", projections.Doc{ID: "relayout-claim", Version: version, Body: body})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Two processes that start a new layout together rebuild it once: the one
// that finds another's live claim waits for that rebuild's swap and goes
// on from it, projecting nothing of the replay itself.
func TestLayoutRebuildOfAnotherProcessIsAwaited(t *testing.T) {
	log, views := openStores(t)
	ctx := context.Background()
	head := newGen(log, 10).fill(t, 100, 10)
	// The holder's rebuild takes the claim and stops at its first event.
	holder := &gatedLedger{layoutLedger: layoutLedger{layout: 2}, gate: make(chan struct{})}
	rebuilt := make(chan error, 1)
	go func() {
		_, err := newEngine(t, log, views, holder, nil).Rebuild(ctx, "ledger", nil)
		rebuilt <- err
	}()
	waitFor(t, func() bool { return holder.entered.Load() })

	waiter := &layoutLedger{layout: 2}
	e := newEngine(t, log, views, waiter, nil)
	stop := run(t, e)
	defer stop()
	time.Sleep(1200 * time.Millisecond) // a few of its polls
	if n := waiter.projected.Load(); n != 0 {
		t.Fatalf("the waiting process projected %d events while another held the claim", n)
	}
	if _, layout, _ := generation(t, views); layout != 0 {
		t.Fatalf("layout %d stamped while the claim's holder had not swapped", layout)
	}
	// The holder's rebuild swaps in layout 2 (and drops the claim with its
	// collection).
	close(holder.gate)
	if err := <-rebuilt; err != nil {
		t.Fatal(err)
	}
	if err := e.WaitFor(ctx, head); err != nil {
		t.Fatal(err)
	}
	if n := waiter.projected.Load(); n != 0 {
		t.Errorf("the waiting process rebuilt as well: %d events projected", n)
	}
	if _, tot := expected(t, log); holder.projected.Load() != int64(tot.Events) {
		t.Errorf("the holder projected %d events, want %d", holder.projected.Load(), tot.Events)
	}
	if st := ledgerStatus(t, e); st.Layout != 2 || st.Checkpoint != head {
		t.Errorf("status: %+v", st)
	}
}

// gatedLedger is layoutLedger whose first Project waits for gate to close:
// a rebuild held in the middle.
type gatedLedger struct {
	layoutLedger
	gate    chan struct{}
	entered atomic.Bool
}

func (p *gatedLedger) Project(ctx context.Context, b projections.Batch, env eventlog.Envelope) error {
	p.entered.Store(true)
	<-p.gate
	return p.layoutLedger.Project(ctx, b, env)
}

// Two rebuilds of one projector at once, in two processes (two consoles,
// or a console beside a portal's layout rebuild): the second would drop
// the shadow collections the first is filling, and the first would swap
// in a model missing part of the log. The second is refused; the first
// swaps in the whole model.
func TestRebuildWhileAnotherProcessRebuildsIsRefused(t *testing.T) {
	log, views := openStores(t)
	ctx := context.Background()
	head := newGen(log, 10).fill(t, 100, 10)
	first := &gatedLedger{layoutLedger: layoutLedger{layout: 2}, gate: make(chan struct{})}
	rebuilt := make(chan error, 1)
	go func() {
		_, err := newEngine(t, log, views, first, nil).Rebuild(ctx, "ledger", nil)
		rebuilt <- err
	}()
	waitFor(t, func() bool { return first.entered.Load() })

	second := &layoutLedger{layout: 2}
	_, err := newEngine(t, log, views, second, nil).Rebuild(ctx, "ledger", nil)
	if !errors.Is(err, engine.ErrRebuilding) || !strings.Contains(err.Error(), "another process") {
		t.Errorf("a second rebuild while the first runs: %v", err)
	}
	close(first.gate)
	if err := <-rebuilt; err != nil {
		t.Fatalf("the first rebuild: %v", err)
	}
	if _, tot := expected(t, log); first.projected.Load() != int64(tot.Events) {
		t.Errorf("the first rebuild projected %d events, want %d", first.projected.Load(), tot.Events)
	}
	e := newEngine(t, log, views, &layoutLedger{layout: 2}, nil)
	if st := ledgerStatus(t, e); st.Layout != 2 || st.Checkpoint != head {
		t.Errorf("status after the rebuild: %+v", st)
	}
	checkAgainstLog(t, log, snapshot(t, views))
	// Once it has swapped in, the claim is gone: a rebuild runs again.
	if _, err := newEngine(t, log, views, second, nil).Rebuild(ctx, "ledger", nil); err != nil {
		t.Fatalf("a rebuild after the first swapped in: %v", err)
	}
}

// A claim older than its time to live is a crashed process's: the next
// start takes it over and rebuilds.
func TestStaleLayoutClaimIsTakenOver(t *testing.T) {
	log, views := openStores(t)
	ctx := context.Background()
	head := newGen(log, 10).fill(t, 100, 10)
	putClaim(t, views, 2, time.Now().Add(-time.Hour))

	p := &layoutLedger{layout: 2}
	e := newEngine(t, log, views, p, nil)
	stop := run(t, e)
	defer stop()
	if err := e.WaitFor(ctx, head); err != nil {
		t.Fatal(err)
	}
	if _, layout, _ := generation(t, views); layout != 2 || p.projected.Load() == 0 {
		t.Errorf("after a stale claim: layout %d, %d events projected", layout, p.projected.Load())
	}
}

// givingUp is layoutLedger at layout 3, which no longer keeps layout 2's
// stream documents.
type givingUp struct{ layoutLedger }

func (p *givingUp) Collections() []projections.CollectionSpec { return p.ledgerProjector.Collections() }
func (p *givingUp) Project(ctx context.Context, b projections.Batch, env eventlog.Envelope) error {
	return p.ledgerProjector.Project(ctx, b, env)
}

// adopter is another projector that took layout 2's stream documents over
// (it projects nothing new: the test only asks whose they are).
type adopter struct{}

func (adopter) Name() string      { return "streams" }
func (adopter) Handles() []string { return []string{"ledger.Deposited.v1"} }
func (adopter) Collections() []projections.CollectionSpec {
	return []projections.CollectionSpec{{Name: "ledger_streams"}}
}
func (adopter) Project(context.Context, projections.Batch, eventlog.Envelope) error { return nil }

// A new layout that gives a collection up drops it when its rebuild is
// swapped in — unless the new build gave the collection to another
// projector, which the engine's start recorded as its owner.
func TestLayoutThatGivesUpACollection(t *testing.T) {
	for _, moved := range []bool{false, true} {
		t.Run(map[bool]string{false: "dropped", true: "moved to another projector"}[moved], func(t *testing.T) {
			log, views, _, head := seededStores(t)
			ctx := context.Background()
			e2 := newEngine(t, log, views, &layoutLedger{layout: 2}, nil)
			stop := run(t, e2)
			if err := e2.WaitFor(ctx, head); err != nil {
				t.Fatal(err)
			}
			stop()
			before := len(streamDocs(t, views))

			e3 := newEngine(t, log, views, &givingUp{layoutLedger{layout: 3}}, func(c *engine.Config) {
				if moved {
					c.Projectors = append(c.Projectors, adopter{})
				}
			})
			stop = run(t, e3)
			if err := e3.WaitFor(ctx, head); err != nil {
				t.Fatal(err)
			}
			stop()
			if _, layout, _ := generation(t, views); layout != 3 {
				t.Fatalf("layout %d after the start, want 3 (rebuilt)", layout)
			}
			_, err := views.Find(ctx, projections.Query{Collection: "ledger_streams"})
			switch {
			case moved && err != nil:
				t.Fatalf("the collection another projector took over: %v", err)
			case moved:
				if n := len(streamDocs(t, views)); n != before || n == 0 {
					t.Fatalf("%d stream documents after the swap, want the %d before it", n, before)
				}
			case !errors.Is(err, projections.ErrUnknownCollection):
				t.Fatalf("the collection layout 3 gave up: %v, want ErrUnknownCollection", err)
			}
		})
	}
}

// A rebuild whose process was killed (OOM, kill -9) leaves its claim,
// which lapses when it has not been renewed for a term (Config.RebuildClaim,
// 2 minutes by default). The next rebuild is refused, and the
// refusal says when the claim lapses: it only said to wait for the other
// rebuild's swap, which never comes.
func TestRebuildRefusedByAKilledRebuildsClaimSaysWhenItLapses(t *testing.T) {
	log, views := openStores(t)
	ctx := context.Background()
	newGen(log, 2).fill(t, 10, 2)
	at := time.Date(2026, 3, 1, 1, 2, 3, 0, time.UTC)
	e := newEngine(t, log, views, &layoutLedger{layout: 2}, func(c *engine.Config) {
		c.Now = func() time.Time { return at.Add(time.Minute) }
	})
	putClaim(t, views, 2, at)
	_, err := e.Rebuild(ctx, "ledger", nil)
	if !errors.Is(err, engine.ErrRebuilding) {
		t.Fatalf("rebuild beside a live claim: %v", err)
	}
	if !strings.Contains(err.Error(), "lapses at 2026-03-01 01:04:03 UTC") {
		t.Errorf("the refusal does not say when the claim lapses: %v", err)
	}
}

// A rebuild that runs longer than the claim's term keeps its claim: it
// renews it while it runs, so another process's rebuild is refused rather
// than dropping the shadow collections being filled. When it gives up, the
// other may rebuild at once.
func TestRebuildClaimIsRenewedWhileItRebuilds(t *testing.T) {
	log, views := openStores(t)
	ctx := context.Background()
	newGen(log, 2).fill(t, 10, 2)
	const term = 3 * time.Second
	short := func(c *engine.Config) { c.RebuildClaim = term }

	bl := blockingLog{EventLog: log, entered: make(chan struct{}, 1)}
	first := newEngine(t, bl, views, &layoutLedger{layout: 2}, short)
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := first.Rebuild(fctx, "ledger", nil); done <- err }()
	select {
	case <-bl.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the first rebuild did not start: no log read in 10s")
	}
	taken := layoutClaim(t, views).At
	time.Sleep(term + term/3) // the claim would have lapsed unless renewed

	if at := layoutClaim(t, views).At; !at.After(taken) {
		t.Errorf("the claim was taken at %s and not renewed since (at %s)", taken, at)
	}
	second := newEngine(t, log, views, &layoutLedger{layout: 2}, short)
	if _, err := second.Rebuild(ctx, "ledger", nil); !errors.Is(err, engine.ErrRebuilding) {
		t.Fatalf("a rebuild beside one running longer than the claim's term = %v, want ErrRebuilding", err)
	}

	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled rebuild = %v", err)
	}
	if _, err := second.Rebuild(ctx, "ledger", nil); err != nil {
		t.Fatalf("a rebuild after the other gave up: %v", err)
	}
	if _, layout, _ := generation(t, views); layout != 2 {
		t.Errorf("layout %d after the second rebuild, want 2", layout)
	}
}

// swapBeforeClaim is a real read store on which another process's layout
// rebuild swaps in just before this process's first claim write: between
// its runner's load (which saw the old layout) and its claim.
type swapBeforeClaim struct {
	projections.ReadStore
	before  func()
	once    sync.Once
	rebuilt atomic.Int64 // BeginRebuild calls through this store
}

func (s *swapBeforeClaim) Write(ctx context.Context, projector string, checkpoint uint64, fn func(projections.Batch) error) error {
	if projector == "engine_relayout" {
		s.once.Do(s.before)
	}
	return s.ReadStore.Write(ctx, projector, checkpoint, fn)
}

func (s *swapBeforeClaim) BeginRebuild(ctx context.Context, projector string, specs ...projections.CollectionSpec) (projections.ReadStore, error) {
	s.rebuilt.Add(1)
	return s.ReadStore.BeginRebuild(ctx, projector, specs...)
}

// A process that wins the layout claim after another process's rebuild for
// the same layout swapped in (the swap dropped that one's claim) does not
// rebuild the read model a second time, and leaves no claim behind.
func TestLayoutClaimWonAfterTheSwapDoesNotRebuildAgain(t *testing.T) {
	log, views := openStores(t)
	ctx := context.Background()
	head := newGen(log, 10).fill(t, 200, 10)
	e1 := newEngine(t, log, views, &layoutLedger{layout: 1}, nil)
	stop := run(t, e1)
	if err := e1.WaitFor(ctx, head); err != nil {
		t.Fatal(err)
	}
	stop()

	other := newEngine(t, log, views, &layoutLedger{layout: 2}, nil)
	store := &swapBeforeClaim{ReadStore: views}
	store.before = func() {
		if _, err := other.Rebuild(ctx, "ledger", nil); err != nil {
			t.Errorf("the other process's rebuild: %v", err)
		}
	}
	e2 := newEngine(t, log, store, &layoutLedger{layout: 2}, nil)
	run(t, e2)
	if err := e2.WaitFor(ctx, head); err != nil {
		t.Fatal(err)
	}
	if n := store.rebuilt.Load(); n != 0 {
		t.Errorf("the read model was rebuilt %d more time(s) after the other process had swapped layout 2 in", n)
	}
	if _, layout, _ := generation(t, views); layout != 2 {
		t.Errorf("layout %d, want 2", layout)
	}
	// Given up (an empty claim) or gone with a swap, not held.
	if _, ok, err := views.Get(ctx, "engine_gen_ledger", "relayout-claim"); err != nil {
		t.Fatal(err)
	} else if ok {
		if c := layoutClaim(t, views); c.Owner != "" {
			t.Errorf("a layout claim is left held (%+v): the next 'projections rebuild' is refused until it lapses", c)
		}
	}
}
