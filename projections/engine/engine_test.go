package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/engine"
)

func TestLiveEqualsRebuildOnLargeLog(t *testing.T) {
	n, whileRunning := 50000, 2000
	if testing.Short() || raceEnabled {
		// The race detector makes every pass over the log several times
		// slower; this scale runs without it.
		n = 10000
	}
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 500)
	g.fill(t, n-whileRunning, 250) // before the projector starts: paged catch-up

	reg := prometheus.NewRegistry()
	e := newEngine(t, log, views, &ledgerProjector{}, func(c *engine.Config) { c.Metrics = reg })
	run(t, e)
	head := g.fill(t, whileRunning, 20) // while it runs: through the subscription
	if err := e.WaitFor(context.Background(), head, "ledger"); err != nil {
		t.Fatal(err)
	}
	live := snapshot(t, views)
	checkAgainstLog(t, log, live)
	sameModel(t, "clean rebuild vs live", rebuildInto(t, dir, log), live)

	if got := gauge(t, reg, "ispeks_projection_checkpoint"); got != float64(head) {
		t.Errorf("checkpoint gauge = %v, want %d", got, head)
	}
	if got := gauge(t, reg, "ispeks_projection_lag_events"); got != 0 {
		t.Errorf("lag gauge = %v, want 0", got)
	}
	if lags := e.Lags(); len(lags) != 1 || lags["ledger"] != 0 {
		t.Errorf("lags = %v", lags)
	}
}

// gauge returns the value of a metric family's only series.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) == 1 {
			m := mf.Metric[0]
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s with one series not found", name)
	return 0
}

// twiceLog delivers every event twice, back to back.
type twiceLog struct{ projections.EventLog }

func (l twiceLog) Subscribe(ctx context.Context, after uint64, handle func(context.Context, eventlog.Record) error) error {
	return l.EventLog.Subscribe(ctx, after, func(ctx context.Context, rec eventlog.Record) error {
		if err := handle(ctx, rec); err != nil {
			return err
		}
		return handle(ctx, rec)
	})
}

func (l twiceLog) ReadAll(ctx context.Context, after uint64, limit int) ([]eventlog.Record, error) {
	recs, err := l.EventLog.ReadAll(ctx, after, limit)
	out := make([]eventlog.Record, 0, 2*len(recs))
	for _, r := range recs {
		out = append(out, r, r)
	}
	return out, err
}

func TestEveryEventDeliveredTwiceLeavesSameModel(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	g := newGen(log, 40)
	head := g.fill(t, 3000, 25)
	ref := rebuildInto(t, dir, log)
	checkAgainstLog(t, log, ref)

	// Live through the subscription, every delivery doubled.
	views := openViews(t, filepath.Join(dir, "views.db"))
	e := newEngine(t, twiceLog{log}, views, &ledgerProjector{}, func(c *engine.Config) {
		c.BatchSize = 64
		c.CatchUpThreshold = 1 << 30
	})
	stop := run(t, e)
	if err := e.WaitFor(context.Background(), head); err != nil {
		t.Fatal(err)
	}
	stop()
	sameModel(t, "live, each event twice", ref, snapshot(t, views))

	// The whole log again over the same read model (checkpoint reset).
	if err := views.Write(context.Background(), "ledger", 0, func(projections.Batch) error { return nil }); err != nil {
		t.Fatal(err)
	}
	e = newEngine(t, log, views, &ledgerProjector{}, nil)
	run(t, e)
	if err := e.WaitFor(context.Background(), head); err != nil {
		t.Fatal(err)
	}
	sameModel(t, "whole log replayed over itself", ref, snapshot(t, views))

	// A rebuild fed every event twice.
	views2 := openViews(t, filepath.Join(dir, "views2.db"))
	e2 := newEngine(t, twiceLog{log}, views2, &ledgerProjector{}, func(c *engine.Config) { c.RebuildBatchSize = 100 })
	if _, err := e2.Rebuild(context.Background(), "ledger", nil); err != nil {
		t.Fatal(err)
	}
	sameModel(t, "rebuild, each event twice", ref, snapshot(t, views2))
}

// crashStore is the real read store until it is "dead": then every write
// fails, as if the process had died before it.
type crashStore struct {
	projections.ReadStore
	dead atomic.Bool
}

var errDead = errors.New("test: process died")

func (c *crashStore) Write(ctx context.Context, projector string, checkpoint uint64, fn func(projections.Batch) error) error {
	if c.dead.Load() {
		return errDead
	}
	return c.ReadStore.Write(ctx, projector, checkpoint, fn)
}

func TestKilledMidBatchConvergesToRebuild(t *testing.T) {
	t.Run("subscription", func(t *testing.T) { testKilledMidBatch(t, 1<<30) })
	t.Run("paged catch-up", func(t *testing.T) { testKilledMidBatch(t, 1) })
}

func testKilledMidBatch(t *testing.T, catchUpThreshold int) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	g := newGen(log, 60)
	head := g.fill(t, 4000, 20)
	views := openViews(t, filepath.Join(dir, "views.db"))
	store := &crashStore{ReadStore: views}
	const batch = 50

	rng := rand.New(rand.NewPCG(1, 2))
	var lastCP uint64
	for round := 0; round < 5; round++ {
		p := &ledgerProjector{}
		killAt := int64(batch*3 + 1 + rng.IntN(400)) // never on a batch boundary
		if killAt%batch == 0 {
			killAt++
		}
		var projected atomic.Int64
		ctx, cancel := context.WithCancel(context.Background())
		p.onProject = func(eventlog.Envelope) {
			if projected.Add(1) == killAt {
				store.dead.Store(true) // nothing more reaches the store...
				cancel()               // ...and the engine stops between writes
			}
		}
		e := newEngine(t, log, store, p, func(c *engine.Config) {
			c.BatchSize = batch
			c.RebuildBatchSize = batch // the catch-up's batch
			c.BatchDelay = time.Hour   // commits by size only: the kill is mid-batch
			c.CatchUpThreshold = catchUpThreshold
		})
		err := e.Run(ctx)
		cancel()
		if !errors.Is(err, errDead) {
			t.Fatalf("round %d: Run = %v, want the dead store's error from the final commit", round, err)
		}
		store.dead.Store(false)
		cp, err := views.Checkpoint(context.Background(), "ledger")
		if err != nil {
			t.Fatal(err)
		}
		if cp <= lastCP || cp >= head {
			t.Fatalf("round %d: checkpoint %d, want progress past %d and short of the head %d", round, cp, lastCP, head)
		}
		lastCP = cp
	}

	e := newEngine(t, log, views, &ledgerProjector{}, nil)
	run(t, e)
	if err := e.WaitFor(context.Background(), head); err != nil {
		t.Fatal(err)
	}
	live := snapshot(t, views)
	sameModel(t, "restarted after kills vs clean rebuild", rebuildInto(t, dir, log), live)
	checkAgainstLog(t, log, live)
}

func TestDeadLetterRecordedAndProjectorMovesOn(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 10)
	g.fill(t, 200, 10)
	bad1 := g.appendTo(t, "acct-0001", poisoned{})
	bad2 := g.appendTo(t, "acct-0002", poisoned{Panic: true})
	after := g.appendTo(t, "acct-0001", deposited{Owner: "owner-1", Amount: 5})
	head := g.fill(t, 100, 10)

	p := &ledgerProjector{}
	p.broken.Store(true)
	e := newEngine(t, log, views, p, nil)
	run(t, e)
	if err := e.WaitFor(context.Background(), head); err != nil {
		t.Fatalf("projector did not move on past the poisoned events: %v", err)
	}

	dls, err := e.DeadLetters(context.Background(), "ledger", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 2 {
		t.Fatalf("%d dead letters, want 2: %+v", len(dls), dls)
	}
	if dls[0].Position != bad1.LastPosition || dls[0].Stream != "acct-0001" || dls[0].Type != "ledger.Poisoned.v1" ||
		!strings.Contains(dls[0].Error, "cannot handle this event") || dls[0].EventID == "" {
		t.Errorf("first dead letter = %+v", dls[0])
	}
	if dls[1].Position != bad2.LastPosition || !strings.Contains(dls[1].Error, "panic") {
		t.Errorf("second dead letter = %+v", dls[1])
	}
	// The deposit after the poisoned event was projected.
	doc, ok, err := views.Get(context.Background(), "ledger_balances", "acct-0001")
	if err != nil || !ok {
		t.Fatalf("balance of acct-0001: %v %v", ok, err)
	}
	if doc.Version < after.LastVersion {
		t.Errorf("acct-0001 at version %d, want at least %d", doc.Version, after.LastVersion)
	}

	st, err := e.Status(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || st[0].Name != "ledger" || st[0].Checkpoint != head || st[0].Lag != 0 || len(st[0].DeadLetters) != 2 {
		t.Errorf("status = %+v", st)
	}

	// A rebuild with the bug still there records the same dead letters.
	res, err := e.Rebuild(context.Background(), "ledger", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.DeadLetters != 2 || res.Pruned != 0 {
		t.Errorf("rebuild with the bug: %+v", res)
	}
	// Fixed: the rebuild projects them and drops their dead letters.
	p.broken.Store(false)
	res, err = e.Rebuild(context.Background(), "ledger", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.DeadLetters != 0 || res.Pruned != 2 || res.Checkpoint != head {
		t.Errorf("rebuild after the fix: %+v", res)
	}
	if dls, _ := e.DeadLetters(context.Background(), "ledger", 0); len(dls) != 0 {
		t.Errorf("dead letters after the fixed rebuild: %+v", dls)
	}
	checkAgainstLog(t, log, snapshot(t, views))
}

func TestWaitFor(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 5)
	g.fill(t, 50, 10)
	e := newEngine(t, log, views, &ledgerProjector{}, func(c *engine.Config) { c.WaitTimeout = 300 * time.Millisecond })
	run(t, e)
	ctx := context.Background()

	// Read-your-writes: once WaitFor returns, the read model has the event.
	res := g.appendTo(t, "acct-0042", deposited{Owner: "owner-x", Amount: 42})
	if err := e.WaitFor(ctx, res.LastPosition, "ledger"); err != nil {
		t.Fatal(err)
	}
	doc, ok, err := views.Get(ctx, "ledger_balances", "acct-0042")
	if err != nil || !ok || doc.Version != res.LastVersion {
		t.Fatalf("after WaitFor: %v %v %+v", ok, err, doc)
	}

	// A wait for a position not yet written returns when it is.
	waited := make(chan error, 1)
	go func() { waited <- e.WaitFor(ctx, res.LastPosition+1) }()
	res2 := g.appendTo(t, "acct-0042", withdrawn{Amount: 2})
	if err := <-waited; err != nil {
		t.Fatalf("wait for the next position: %v", err)
	}
	if err := e.WaitFor(ctx, res2.LastPosition); err != nil {
		t.Fatal(err)
	}

	// Past the bound: an error naming the projector.
	err = e.WaitFor(ctx, res2.LastPosition+100)
	if !errors.Is(err, engine.ErrNotCaughtUp) || !strings.Contains(err.Error(), "ledger") {
		t.Fatalf("wait beyond the head = %v, want ErrNotCaughtUp", err)
	}
	if err := e.WaitFor(ctx, 1, "nope"); !errors.Is(err, engine.ErrUnknownProjector) {
		t.Fatalf("unknown projector = %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := e.WaitFor(cctx, res2.LastPosition+100); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait = %v", err)
	}
}

func TestConsumerStartsAtHeadAndRetries(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 5)
	oldHead := g.fill(t, 100, 10) // history a new mailer must not send again
	e := newEngine(t, log, views, &ledgerProjector{}, func(c *engine.Config) {
		c.ConsumerBackoff = 5 * time.Millisecond
		c.ConsumerMaxBackoff = 20 * time.Millisecond
	})

	var mu sync.Mutex
	var got []eventlog.Envelope
	failures := map[uint64]int{}
	received := make(chan struct{}, 100)
	handler := func(ctx context.Context, env eventlog.Envelope) error {
		mu.Lock()
		defer mu.Unlock()
		if d, ok := env.Event.(deposited); ok && d.Amount == 13 && failures[env.Position] < 2 {
			failures[env.Position]++
			return errors.New("smtp: 451 try again later")
		}
		got = append(got, env)
		received <- struct{}{}
		return nil
	}
	start := func() (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- e.RunConsumer(ctx, "mailer", handler) }()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("RunConsumer: %v", err)
			}
		}
	}
	stop := start()
	waitFor(t, func() bool { // the first start has recorded the head
		_, ok, _ := views.Get(context.Background(), "consumers", "mailer")
		return ok
	})
	if cp, _ := views.Checkpoint(context.Background(), "mailer"); cp != oldHead {
		t.Fatalf("first start checkpoint = %d, want the head %d", cp, oldHead)
	}
	r1 := g.appendTo(t, "acct-0100", deposited{Owner: "o", Amount: 13}) // fails twice, then succeeds
	r2 := g.appendTo(t, "acct-0100", withdrawn{Amount: 1})
	<-received
	<-received
	stop()

	// While it is down, more happens; the next start resumes, not at the head.
	r3 := g.appendTo(t, "acct-0101", deposited{Owner: "o", Amount: 7})
	stop = start()
	<-received
	stop()

	mu.Lock()
	defer mu.Unlock()
	var positions []uint64
	for _, env := range got {
		positions = append(positions, env.Position)
	}
	want := []uint64{r1.LastPosition, r2.LastPosition, r3.LastPosition}
	if len(positions) != len(want) || positions[0] != want[0] || positions[1] != want[1] || positions[2] != want[2] {
		t.Fatalf("consumer saw positions %v, want %v (nothing before the first start's head %d)", positions, want, oldHead)
	}
	if failures[r1.LastPosition] != 2 {
		t.Errorf("failing event tried %d times before success, want 2 failures", failures[r1.LastPosition])
	}
	st, err := e.Status(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, s := range st {
		if s.Name == "mailer" && s.Kind == "consumer" && s.Checkpoint == r3.LastPosition {
			found = true
		}
	}
	if !found {
		t.Errorf("status does not show the mailer at %d: %+v", r3.LastPosition, st)
	}
}

// waitFor polls a condition the code under test offers no notification for.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestUnregisteredTypeIsPassedOver(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 3)
	g.fill(t, 30, 10)
	raw := proposed(g.id(), deposited{Owner: "ghost", Amount: 1})
	raw.Type = "ledger.FromTheFuture.v1"
	if _, err := log.Append(context.Background(), "future-1", eventlog.NoStream(), []eventlog.Proposed{raw}); err != nil {
		t.Fatal(err)
	}
	head := g.fill(t, 30, 10)
	reg := prometheus.NewRegistry()
	e := newEngine(t, log, views, &ledgerProjector{}, func(c *engine.Config) { c.Metrics = reg })
	run(t, e)
	if err := e.WaitFor(context.Background(), head); err != nil {
		t.Fatal(err)
	}
	checkAgainstLog(t, log, snapshot(t, views))
	if n := gauge(t, reg, "ispeks_projection_unknown_events_total"); n != 1 {
		t.Fatalf("unknown-type counter = %v, want 1", n)
	}
	if dls, _ := e.DeadLetters(context.Background(), "ledger", 0); len(dls) != 0 {
		t.Errorf("an unregistered type became a dead letter: %+v", dls)
	}
}

// A rebuild run by another process (here: another Engine on the same files)
// while the live projector serves and events keep coming.
func TestRebuildWhileLiveServes(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 50)
	g.fill(t, 5000, 50)
	live := newEngine(t, log, views, &ledgerProjector{}, func(c *engine.Config) { c.BatchSize = 100 })
	run(t, live)

	var mu sync.Mutex // g is not safe for concurrent use
	stopAppends := make(chan struct{})
	appended := make(chan struct{})
	go func() {
		defer close(appended)
		for i := 0; ; i++ {
			select {
			case <-stopAppends:
				return
			default:
			}
			mu.Lock()
			g.appendTo(t, "acct-9000", deposited{Owner: "busy", Amount: int64(i)})
			mu.Unlock()
			time.Sleep(time.Millisecond)
		}
	}()

	cli := newEngine(t, log, views, &ledgerProjector{}, func(c *engine.Config) { c.RebuildBatchSize = 500 })
	var bar bytes.Buffer
	res, err := cli.Rebuild(context.Background(), "ledger", &bar)
	close(stopAppends)
	<-appended
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(bar.String(), "rebuild ledger") {
		t.Errorf("no progress bar in %q", bar.String())
	}
	if res.Events < 5000 {
		t.Errorf("rebuild read %d events", res.Events)
	}
	mu.Lock()
	head := g.fill(t, 500, 50)
	mu.Unlock()
	if err := live.WaitFor(context.Background(), head); err != nil {
		t.Fatal(err)
	}
	snap := snapshot(t, views)
	checkAgainstLog(t, log, snap)
	sameModel(t, "live after a swap vs clean rebuild", rebuildInto(t, dir, log), snap)

	var tot struct{ Events int }
	_ = json.Unmarshal(snap["ledger_totals"][0].Body, &tot)
	if tot.Events == 0 {
		t.Fatal("empty totals")
	}
}

// A rebuild swaps the collections while a live projector is paging through
// its backlog: its next commit sees the swap, and it drops its uncommitted
// work and goes on from the rebuilt checkpoint.
func TestSwapDuringCatchUp(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 30)
	head := g.fill(t, 3000, 30)

	cli := newEngine(t, log, views, &ledgerProjector{}, nil)
	var projected atomic.Int64
	p := &ledgerProjector{}
	swapped := make(chan uint64, 1)
	p.onProject = func(eventlog.Envelope) {
		if projected.Add(1) == 1500 { // mid catch-up, between two commits
			if _, err := cli.Rebuild(context.Background(), "ledger", nil); err != nil {
				t.Errorf("rebuild: %v", err)
			}
			swapped <- g.fill(t, 2000, 25) // more log after the rebuilt checkpoint
		}
	}
	live := newEngine(t, log, views, p, func(c *engine.Config) { c.RebuildBatchSize = 400 })
	run(t, live)
	head = <-swapped
	if err := live.WaitFor(context.Background(), head); err != nil {
		t.Fatal(err)
	}
	// The rebuild went to the head; the live projector continued from its
	// checkpoint instead of projecting the rest of its backlog.
	if n := projected.Load(); n >= 4500 {
		t.Fatalf("live projector projected %d events: it did not take the swapped-in checkpoint", n)
	}
	snap := snapshot(t, views)
	checkAgainstLog(t, log, snap)
	sameModel(t, "caught up across a swap vs clean rebuild", rebuildInto(t, dir, log), snap)
}

// A fault that clears within the retries costs nothing; one that outlasts
// them makes a dead letter. MaxRetries 3: four attempts in all.
func TestTransientFailureIsRetried(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 2)
	soon := g.appendTo(t, "acct-0001", deposited{Owner: "o", Amount: 1})
	never := g.appendTo(t, "acct-0002", deposited{Owner: "o", Amount: 2})
	head := g.appendTo(t, "acct-0001", deposited{Owner: "o", Amount: 3}).LastPosition

	var mu sync.Mutex
	attempts := map[uint64]int{}
	p := &ledgerProjector{fail: func(env eventlog.Envelope) error {
		mu.Lock()
		defer mu.Unlock()
		attempts[env.Position]++
		switch {
		case env.Position == soon.LastPosition && attempts[env.Position] <= 3:
			return errors.New("read store busy")
		case env.Position == never.LastPosition:
			return errors.New("still broken")
		}
		return nil
	}}
	e := newEngine(t, log, views, p, func(c *engine.Config) { c.MaxRetries = 3 })
	run(t, e)
	if err := e.WaitFor(context.Background(), head); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if attempts[soon.LastPosition] != 4 || attempts[never.LastPosition] != 4 {
		t.Errorf("attempts = %v, want 4 for both failing events", attempts)
	}
	mu.Unlock()
	dls, err := e.DeadLetters(context.Background(), "ledger", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 1 || dls[0].Position != never.LastPosition || !strings.Contains(dls[0].Error, "still broken") {
		t.Fatalf("dead letters = %+v, want only the event that never succeeded", dls)
	}
	doc, ok, err := views.Get(context.Background(), "ledger_balances", "acct-0001")
	if err != nil || !ok || doc.Version != 2 {
		t.Fatalf("acct-0001 = %+v %v %v: the event that succeeded on its 4th attempt is missing", doc, ok, err)
	}
}

func TestConsumerWithTypesSeesOnlyThose(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 5)
	e := newEngine(t, log, views, &ledgerProjector{}, nil)

	received := make(chan eventlog.Envelope, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- e.RunConsumer(ctx, "withdrawals", func(_ context.Context, env eventlog.Envelope) error {
			received <- env
			return nil
		}, withdrawn{}.EventType())
	}()
	waitFor(t, func() bool {
		_, ok, _ := views.Get(context.Background(), "consumers", "withdrawals")
		return ok
	})
	g.appendTo(t, "acct-0200", deposited{Owner: "o", Amount: 5})
	w1 := g.appendTo(t, "acct-0200", withdrawn{Amount: 2})
	g.appendTo(t, "acct-0200", deposited{Owner: "o", Amount: 9})
	w2 := g.appendTo(t, "acct-0200", withdrawn{Amount: 3})
	// Delivery is in log order, so a deposit let through would arrive
	// between the two withdrawals.
	for _, want := range []uint64{w1.LastPosition, w2.LastPosition} {
		env := <-received
		if env.Position != want || env.Type != (withdrawn{}).EventType() {
			t.Fatalf("consumer got %s at %d, want the withdrawal at %d", env.Type, env.Position, want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestFollowerStartsWhereTold: a follower handles the events after the
// position it is given, at every start, and stores nothing: two processes
// on one read store each see every event.
func TestFollowerStartsWhereTold(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 5)
	head := g.fill(t, 20, 4)
	e := newEngine(t, log, views, &ledgerProjector{}, nil)

	received := make(chan uint64, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- e.RunFollower(ctx, "sessions", head, func(_ context.Context, env eventlog.Envelope) error {
			received <- env.Position
			return nil
		})
	}()
	r := g.appendTo(t, "acct-0100", deposited{Owner: "o", Amount: 3})
	if got := <-received; got != r.LastPosition {
		t.Fatalf("follower saw %d first, want %d (nothing up to %d)", got, r.LastPosition, head)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunFollower: %v", err)
	}
	if _, ok, _ := views.Get(context.Background(), "consumers", "sessions"); ok {
		t.Error("a follower recorded itself as a consumer")
	}
	if cp, _ := views.Checkpoint(context.Background(), "sessions"); cp != 0 {
		t.Errorf("a follower stored a checkpoint: %d", cp)
	}
}

// TestConsumerStartRecordedBeforeFirstRun: a start recorded when the stores
// were set up (an empty log) makes the first run handle what was appended
// since, e.g. by a console command before the first serve; a second record
// changes nothing, and a parked event becomes a dead letter while the
// checkpoint moves on.
func TestConsumerStartRecordedBeforeFirstRun(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 5)
	e := newEngine(t, log, views, &ledgerProjector{}, nil)
	ctx := context.Background()
	if err := e.RecordConsumerStarts(ctx, "mailer"); err != nil {
		t.Fatal(err)
	}
	before := g.appendTo(t, "acct-0300", deposited{Owner: "o", Amount: 5}) // before the first run
	if err := e.RecordConsumerStarts(ctx, "mailer"); err != nil {          // the next console command
		t.Fatal(err)
	}
	if cp, _ := views.Checkpoint(ctx, "mailer"); cp != 0 {
		t.Fatalf("a second record moved the start to %d", cp)
	}
	parked := g.appendTo(t, "acct-0300", withdrawn{Amount: 99})
	after := g.appendTo(t, "acct-0300", withdrawn{Amount: 1})

	received := make(chan uint64, 10)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- e.RunConsumer(runCtx, "mailer", func(_ context.Context, env eventlog.Envelope) error {
			if w, ok := env.Event.(withdrawn); ok && w.Amount == 99 {
				return engine.Park("recipient refused for now")
			}
			received <- env.Position
			return nil
		})
	}()
	for _, want := range []uint64{before.LastPosition, after.LastPosition} {
		if got := <-received; got != want {
			t.Fatalf("consumer saw %d, want %d", got, want)
		}
	}
	waitFor(t, func() bool {
		cp, _ := views.Checkpoint(ctx, "mailer")
		return cp == after.LastPosition
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	dls, err := e.DeadLetters(ctx, "mailer", 0)
	if err != nil || len(dls) != 1 || dls[0].Position != parked.LastPosition || dls[0].Error != "recipient refused for now" {
		t.Fatalf("dead letters %+v (%v), want the parked event", dls, err)
	}
}

// TestDeadLetterReplacedAndCleared: an operator's resend of a parked event
// that is refused again leaves one dead letter, at the resend's event; once
// it goes through, the dead letter is cleared. A consumer's checkpoint is
// read through the engine.
func TestDeadLetterReplacedAndCleared(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 5)
	e := newEngine(t, log, views, &ledgerProjector{}, nil)
	ctx := context.Background()
	if err := e.RecordConsumerStarts(ctx, "mailer"); err != nil {
		t.Fatal(err)
	}
	parked := g.appendTo(t, "acct-0301", withdrawn{Amount: 99})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- e.RunConsumer(runCtx, "mailer", func(context.Context, eventlog.Envelope) error {
			return engine.Park("refused for good")
		})
	}()
	waitFor(t, func() bool {
		cp, err := e.Checkpoint(ctx, "mailer")
		return err == nil && cp == parked.LastPosition
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	dls, err := e.DeadLetters(ctx, "mailer", 0)
	if err != nil || len(dls) != 1 {
		t.Fatalf("dead letters %+v (%v), want the parked event", dls, err)
	}

	resend := g.appendTo(t, "acct-0301", noted{})
	recs, err := log.ReadAll(ctx, resend.LastPosition-1, 1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("read the resend event: %v %v", recs, err)
	}
	if err := e.ReplaceDeadLetter(ctx, "mailer", dls[0].EventID, recs[0], "refused again"); err != nil {
		t.Fatal(err)
	}
	again, err := e.DeadLetters(ctx, "mailer", 0)
	if err != nil || len(again) != 1 || again[0].EventID != recs[0].ID.String() || again[0].Position != resend.LastPosition || again[0].Error != "refused again" {
		t.Fatalf("dead letters after the replace %+v (%v), want only the resend's", again, err)
	}
	if err := e.ClearDeadLetter(ctx, "mailer", again[0].EventID); err != nil {
		t.Fatal(err)
	}
	if err := e.ClearDeadLetter(ctx, "mailer", again[0].EventID); err != nil {
		t.Fatalf("clearing twice: %v", err)
	}
	if left, err := e.DeadLetters(ctx, "mailer", 0); err != nil || len(left) != 0 {
		t.Fatalf("dead letters after the clear %+v (%v), want none", left, err)
	}
}

// TestConsumerCheckpointFollowsPassedOverEvents: a consumer that wants a few
// types (the mailer) has read past the events it has no use for; its stored
// checkpoint, which `ispeks projections status` shows, follows, so the
// status does not show a caught-up mailer hundreds of events behind, and a
// restart does not read them again.
func TestConsumerCheckpointFollowsPassedOverEvents(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 5)
	e := newEngine(t, log, views, &ledgerProjector{}, nil)

	received := make(chan eventlog.Envelope, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- e.RunConsumer(ctx, "withdrawals", func(_ context.Context, env eventlog.Envelope) error {
			received <- env
			return nil
		}, withdrawn{}.EventType())
	}()
	waitFor(t, func() bool {
		_, ok, _ := views.Get(context.Background(), "consumers", "withdrawals")
		return ok
	})
	w := g.appendTo(t, "acct-0300", withdrawn{Amount: 2})
	if env := <-received; env.Position != w.LastPosition {
		t.Fatalf("got %d, want %d", env.Position, w.LastPosition)
	}
	var last eventlog.AppendResult
	for i := range 50 {
		last = g.appendTo(t, fmt.Sprintf("acct-%04d", 301+i), deposited{Owner: "o", Amount: 5})
	}
	// While it runs, and after it stops.
	waitFor(t, func() bool {
		cp, _ := views.Checkpoint(context.Background(), "withdrawals")
		return cp == last.LastPosition
	})
	tail := g.appendTo(t, "acct-0400", deposited{Owner: "o", Amount: 5})
	time.Sleep(20 * time.Millisecond) // the subscription reads it
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st, err := e.Status(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Name == "withdrawals" && (s.Checkpoint != tail.LastPosition || s.Lag != 0) {
			t.Errorf("status of a consumer that read everything: checkpoint %d, lag %d; want %d, 0", s.Checkpoint, s.Lag, tail.LastPosition)
		}
	}
	select {
	case env := <-received:
		t.Fatalf("a passed-over event reached the consumer: %s at %d", env.Type, env.Position)
	default:
	}
}

// TestReadStoreOfALongerLogIsRefused: a read store whose projector or
// consumer has passed the log's last event was built from another, longer
// log (one restored from a backup): CheckReadStore names it, so the portal
// does not pass over the events appended next at positions it has seen.
func TestReadStoreOfALongerLogIsRefused(t *testing.T) {
	ctx := context.Background()
	viewsPath := filepath.Join(t.TempDir(), "views.db")
	views := openViews(t, viewsPath)

	long := openEvents(t, t.TempDir())
	g := newGen(long, 3)
	var last eventlog.AppendResult
	for i := range 5 {
		last = g.appendTo(t, fmt.Sprintf("acct-%04d", i), deposited{Owner: "o", Amount: 1})
	}
	e := newEngine(t, long, views, &ledgerProjector{}, nil)
	if err := e.CheckReadStore(ctx); err != nil {
		t.Fatalf("the read store of this log: %v", err)
	}
	if err := e.RecordConsumerStarts(ctx, "mailer"); err != nil { // at the head, 5
		t.Fatal(err)
	}

	short := openEvents(t, t.TempDir())
	g2 := newGen(short, 3)
	for i := range 2 {
		g2.appendTo(t, fmt.Sprintf("acct-%04d", i), deposited{Owner: "o", Amount: 1})
	}
	e2 := newEngine(t, short, views, &ledgerProjector{}, nil)
	err := e2.CheckReadStore(ctx)
	if !errors.Is(err, engine.ErrReadStoreAhead) || !strings.Contains(err.Error(), "mailer has processed up to position "+fmt.Sprint(last.LastPosition)+", the log ends at 2") {
		t.Fatalf("consumer past the log's end: %v", err)
	}

	// A projector past the end likewise.
	views2 := openViews(t, filepath.Join(t.TempDir(), "views.db"))
	e3 := newEngine(t, long, views2, &ledgerProjector{}, nil)
	stop := run(t, e3)
	if err := e3.WaitFor(ctx, last.LastPosition); err != nil {
		t.Fatal(err)
	}
	stop()
	e4 := newEngine(t, short, views2, &ledgerProjector{}, nil)
	if err := e4.CheckReadStore(ctx); !errors.Is(err, engine.ErrReadStoreAhead) || !strings.Contains(err.Error(), "ledger has processed up to position "+fmt.Sprint(last.LastPosition)) {
		t.Fatalf("projector past the log's end: %v", err)
	}
}

// TestConsumerWaitsForACrashedHoldersLease: a process that ran the mailer
// crashed, leaving its lease (it could not give it up). Another process's
// mailer stands by, handling nothing, while that lease runs; once it has
// run out it takes over from the checkpoint and handles the event.
func TestConsumerWaitsForACrashedHoldersLease(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 5)
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newEngine(t, log, views, &ledgerProjector{}, func(c *engine.Config) {
		c.ConsumerLease = 60 * time.Millisecond
		c.Now = clock
	})
	ctx := context.Background()
	if err := e.RecordConsumerStarts(ctx, "mailer"); err != nil {
		t.Fatal(err)
	}
	if err := views.Ensure(ctx, projections.CollectionSpec{Name: "consumer_leases"}); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"owner": "crashed-process", "until": now.Add(30 * time.Second)})
	if err := views.Write(ctx, "engine_lease", 0, func(b projections.Batch) error {
		return b.Put(ctx, "consumer_leases", projections.Doc{ID: "mailer", Version: 1, Body: body})
	}); err != nil {
		t.Fatal(err)
	}
	ev := g.appendTo(t, "acct-0400", withdrawn{Amount: 7})

	received := make(chan uint64, 10)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- e.RunConsumer(runCtx, "mailer", func(_ context.Context, env eventlog.Envelope) error {
			received <- env.Position
			return nil
		})
	}()
	select {
	case p := <-received:
		t.Fatalf("handled %d while another process's lease ran", p)
	case <-time.After(300 * time.Millisecond): // five lease terms of polling
	}
	mu.Lock()
	now = now.Add(31 * time.Second)
	mu.Unlock()
	select {
	case p := <-received:
		if p != ev.LastPosition {
			t.Fatalf("handled %d, want %d", p, ev.LastPosition)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the lease ran out and the consumer did not take over")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestConsumerLeaseIsNotTakenByAFastClock: two serve processes run the
// mailer; the second's wall clock runs an hour ahead of the first's (no
// NTP on one of them). The lease the first renews looks run out by the
// second's clock, yet the second must not take it: it took over at once
// and both sent the same mail until the first's next renewal. It stands
// by, and every event is handled once, by the first.
func TestConsumerLeaseIsNotTakenByAFastClock(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 5)
	const lease = 600 * time.Millisecond
	a := newEngine(t, log, views, &ledgerProjector{}, func(c *engine.Config) { c.ConsumerLease = lease })
	b := newEngine(t, log, views, &ledgerProjector{}, func(c *engine.Config) {
		c.ConsumerLease = lease
		c.Now = func() time.Time { return time.Now().Add(time.Hour) }
	})
	ctx := context.Background()
	if err := a.RecordConsumerStarts(ctx, "mailer"); err != nil {
		t.Fatal(err)
	}
	type handled struct {
		by  string
		pos uint64
	}
	got := make(chan handled, 100)
	runIt := func(e *engine.Engine, by string) func() {
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			done <- e.RunConsumer(runCtx, "mailer", func(_ context.Context, env eventlog.Envelope) error {
				got <- handled{by, env.Position}
				return nil
			})
		}()
		return sync.OnceFunc(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
	stopA := runIt(a, "a")
	defer stopA()
	first := g.appendTo(t, "acct-0500", withdrawn{Amount: 1})
	select {
	case h := <-got:
		if h.by != "a" || h.pos != first.LastPosition {
			t.Fatalf("handled %+v, want position %d by a", h, first.LastPosition)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the first process did not handle the event")
	}
	stopB := runIt(b, "b")
	defer stopB()
	time.Sleep(lease / 2)
	var want []uint64
	for i := range 3 {
		want = append(want, g.appendTo(t, "acct-0500", withdrawn{Amount: int64(i + 2)}).LastPosition)
		time.Sleep(lease / 2)
	}
	time.Sleep(2 * lease)
	stopB()
	stopA()
	close(got)
	seen := map[uint64]int{}
	for h := range got {
		seen[h.pos]++
		if h.by != "a" {
			t.Errorf("position %d handled by the process with the fast clock, while the other held the lease", h.pos)
		}
	}
	for _, p := range want {
		if seen[p] != 1 {
			t.Errorf("position %d handled %d times, want once", p, seen[p])
		}
	}
}

// leaseFailingStore is a real read store on which, once failing is set,
// every write of a consumer's lease fails (the holder's connection to a
// shared read store broke for those writes).
type leaseFailingStore struct {
	projections.ReadStore
	failing atomic.Bool
}

func (s *leaseFailingStore) Write(ctx context.Context, projector string, checkpoint uint64, fn func(projections.Batch) error) error {
	if projector == "engine_lease" && s.failing.Load() {
		return errors.New("test: lease writes fail")
	}
	return s.ReadStore.Write(ctx, projector, checkpoint, fn)
}

// TestConsumerHolderThatCannotRenewStopsBeforeTakeover: the process that
// runs the mailer can no longer renew its lease. It must stop handling
// before another process may take the lease over; it went on for up to a
// third of a term after its lease had run out, while the other had taken
// over, and events of that window were handled (mailed) by both.
func TestConsumerHolderThatCannotRenewStopsBeforeTakeover(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 5)
	const lease = 600 * time.Millisecond
	broken := &leaseFailingStore{ReadStore: views}
	a := newEngine(t, log, broken, &ledgerProjector{}, func(c *engine.Config) { c.ConsumerLease = lease })
	b := newEngine(t, log, views, &ledgerProjector{}, func(c *engine.Config) { c.ConsumerLease = lease })
	ctx := context.Background()
	if err := a.RecordConsumerStarts(ctx, "mailer"); err != nil {
		t.Fatal(err)
	}
	type handled struct {
		by  string
		pos uint64
	}
	var mu sync.Mutex
	var got []handled
	runIt := func(e *engine.Engine, by string) func() {
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			done <- e.RunConsumer(runCtx, "mailer", func(_ context.Context, env eventlog.Envelope) error {
				mu.Lock()
				got = append(got, handled{by, env.Position})
				mu.Unlock()
				return nil
			})
		}()
		return sync.OnceFunc(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
	stopA := runIt(a, "a")
	defer stopA()
	first := g.appendTo(t, "acct-0600", withdrawn{Amount: 1})
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 1 })
	stopB := runIt(b, "b")
	defer stopB()
	// After a renewal or two.
	time.Sleep(lease/3 + lease/4)
	broken.failing.Store(true)
	// Events every 20 ms through the handover.
	var want []uint64
	for i := range 150 {
		want = append(want, g.appendTo(t, "acct-0600", withdrawn{Amount: int64(i + 2)}).LastPosition)
		time.Sleep(20 * time.Millisecond)
	}
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) > 0 && got[len(got)-1].pos >= want[len(want)-1]
	})
	stopB()
	stopA()
	mu.Lock()
	defer mu.Unlock()
	seen := map[uint64][]string{}
	for _, h := range got {
		seen[h.pos] = append(seen[h.pos], h.by)
	}
	twice := 0
	for _, p := range append([]uint64{first.LastPosition}, want...) {
		if len(seen[p]) > 1 {
			twice++
		}
	}
	if twice > 0 {
		t.Errorf("%d events handled by both processes around the handover", twice)
	}
	if seen[want[len(want)-1]][0] != "b" {
		t.Errorf("the last event was handled by %v, want the process that could renew", seen[want[len(want)-1]])
	}
}

// headHookLog is the real event log with a hook run once when a consumer's
// first start asks for the head: what another process does between this
// one's "not started yet" and its write.
type headHookLog struct {
	projections.EventLog
	once sync.Once
	hook func()
}

func (l *headHookLog) LastPosition(ctx context.Context) (uint64, error) {
	l.once.Do(l.hook)
	return l.EventLog.LastPosition(ctx)
}

// TestConsumerFirstStartRacingAnotherProcess: on a new install a console
// command and serve record the mailer's first start at the same moment.
// The other records it at the head (0) and appends an event; this one,
// which had found no start, must not write the later head over it, or the
// event between them is passed over and its mail never sent.
func TestConsumerFirstStartRacingAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 5)
	ctx := context.Background()
	other := newEngine(t, log, views, &ledgerProjector{}, nil)
	hooked := &headHookLog{EventLog: log, hook: func() {
		if err := other.RecordConsumerStarts(ctx, "mailer"); err != nil {
			t.Error(err)
		}
		g.appendTo(t, "acct-0300", deposited{Owner: "o", Amount: 5})
	}}
	this := newEngine(t, hooked, views, &ledgerProjector{}, nil)
	if err := this.RecordConsumerStarts(ctx, "mailer"); err != nil {
		t.Fatal(err)
	}
	if cp, _ := views.Checkpoint(ctx, "mailer"); cp != 0 {
		t.Fatalf("the mailer starts after position %d: the event the other process appended after its start is passed over", cp)
	}
}

// TestRawConsumerForwardsWhatThisVersionCannotDecode: an event a newer
// version wrote with a field this one does not know fails to decode. A
// decoding consumer (the mailer) records it as a dead letter; a raw one
// (the NATS publisher) gets the record as stored and goes on, as the HTTP
// event feed serves it.
func TestRawConsumerForwardsWhatThisVersionCannotDecode(t *testing.T) {
	log, views := openStores(t)
	g := newGen(log, 5)
	e := newEngine(t, log, views, &ledgerProjector{}, nil)
	ctx := context.Background()
	if err := e.RecordConsumerStarts(ctx, "mailer", "publisher"); err != nil {
		t.Fatal(err)
	}
	newer := proposed(g.id(), deposited{Owner: "o", Amount: 7})
	newer.Data = []byte(`{"owner":"o","amount":7,"branch":"added by a newer version"}`)
	res, err := log.Append(ctx, "acct-0401", eventlog.NoStream(), []eventlog.Proposed{newer})
	if err != nil {
		t.Fatal(err)
	}
	after := g.appendTo(t, "acct-0402", deposited{Owner: "p", Amount: 1})

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	forwarded := make(chan eventlog.Envelope, 4)
	done := make(chan error, 2)
	go func() {
		done <- e.RunRawConsumer(runCtx, "publisher", func(_ context.Context, env eventlog.Envelope) error {
			forwarded <- env
			return nil
		})
	}()
	go func() {
		done <- e.RunConsumer(runCtx, "mailer", func(context.Context, eventlog.Envelope) error { return nil })
	}()
	for _, want := range []uint64{res.LastPosition, after.LastPosition} {
		env := <-forwarded
		if env.Position != want || env.Event != nil {
			t.Fatalf("raw consumer got position %d (event %v), want %d undecoded", env.Position, env.Event, want)
		}
		if want == res.LastPosition && string(env.Data) != string(newer.Data) {
			t.Fatalf("raw consumer got %s, want the data as stored", env.Data)
		}
	}
	waitFor(t, func() bool {
		cp, err := e.Checkpoint(ctx, "mailer")
		return err == nil && cp == after.LastPosition
	})
	cancel()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if dls, err := e.DeadLetters(ctx, "mailer", 0); err != nil || len(dls) != 1 || dls[0].Position != res.LastPosition {
		t.Fatalf("mailer's dead letters %+v (%v), want the undecodable event", dls, err)
	}
	if dls, err := e.DeadLetters(ctx, "publisher", 0); err != nil || len(dls) != 0 {
		t.Fatalf("publisher's dead letters %+v (%v), want none", dls, err)
	}
}
