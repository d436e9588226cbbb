package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	readsqlite "github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/engine"
)

// Live events a projector does not handle never reach it as messages, yet
// its checkpoint moves past them: read-your-writes waits for every
// projector, so one that is passed over must not stay behind.
func TestLiveEventsAProjectorDoesNotHandleStillMoveItsCheckpoint(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	var projected atomic.Int64
	p := &ledgerProjector{onProject: func(env eventlog.Envelope) {
		if env.Type == (noted{}).EventType() {
			t.Errorf("the projector was given %s, a type it does not handle", env.Type)
		}
		projected.Add(1)
	}}
	e := newEngine(t, log, views, p, func(c *engine.Config) { c.WaitTimeout = 2 * time.Second })
	stop := run(t, e)
	ctx := context.Background()
	g := newGen(log, 1)

	dep := g.appendTo(t, "acct-0001", deposited{Owner: "o", Amount: 5})
	if err := e.WaitFor(ctx, dep.LastPosition); err != nil {
		t.Fatal(err)
	}
	var last eventlog.AppendResult
	for i := range 300 {
		last = g.appendTo(t, fmt.Sprintf("note-%d", i), noted{Text: "x"})
	}
	if err := e.WaitFor(ctx, last.LastPosition); err != nil {
		t.Fatalf("waiting past events the projector does not handle: %v", err)
	}
	if n := projected.Load(); n != 1 {
		t.Errorf("Project ran %d times, want once (the deposit)", n)
	}
	stop()
	cp, err := views.Checkpoint(ctx, "ledger")
	if err != nil {
		t.Fatal(err)
	}
	if cp != last.LastPosition {
		t.Errorf("stored checkpoint %d after stop, want the last passed-over position %d", cp, last.LastPosition)
	}
}

// countingStore is a real read store that counts the batches written for
// each projector.
type countingStore struct {
	projections.ReadStore
	mu     sync.Mutex
	writes map[string]int
}

func (c *countingStore) Write(ctx context.Context, projector string, checkpoint uint64, fn func(projections.Batch) error) error {
	c.mu.Lock()
	c.writes[projector]++
	c.mu.Unlock()
	return c.ReadStore.Write(ctx, projector, checkpoint, fn)
}

func (c *countingStore) count(projector string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes[projector]
}

// ledgerAfterADeposit runs the ledger projector over a read store that
// counts its batches, once it has projected a deposit; the engine stops
// with the test.
func ledgerAfterADeposit(t *testing.T, tweak func(*engine.Config)) (*engine.Engine, *readsqlite.Store, *countingStore, *ledgerGen, eventlog.AppendResult) {
	t.Helper()
	log, views := openStores(t)
	store := &countingStore{ReadStore: views, writes: map[string]int{}}
	e := newEngine(t, log, store, &ledgerProjector{}, tweak)
	t.Cleanup(run(t, e))
	g := newGen(log, 1)
	dep := g.appendTo(t, "acct-0001", deposited{Owner: "o", Amount: 5})
	if err := e.WaitFor(context.Background(), dep.LastPosition); err != nil {
		t.Fatal(err)
	}
	return e, views, store, g, dep
}

// Events a projector passes over, arriving one at a time after quiet
// spells (a login's events, for the payments projector), are waited for
// at once but cost no transaction each: the stored checkpoint follows
// within LazyCheckpointDelay, a few batches for them all.
func TestPassedOverEventsCommitTheCheckpointLazily(t *testing.T) {
	e, views, store, g, _ := ledgerAfterADeposit(t, nil)
	ctx := context.Background()
	before := store.count("ledger")
	var last eventlog.AppendResult
	for i := range 100 {
		last = g.appendTo(t, fmt.Sprintf("note-%d", i), noted{Text: "x"})
		if err := e.WaitFor(ctx, last.LastPosition); err != nil {
			t.Fatalf("waiting for passed-over event %d: %v", i, err)
		}
		time.Sleep(6 * time.Millisecond) // a quiet spell: more than BatchDelay
	}
	waitStoredCheckpoint(t, views, last.LastPosition)
	if n := store.count("ledger") - before; n > 30 {
		t.Errorf("%d batches for 100 passed-over events, want a few", n)
	}
}

// A projector passing over a long run of events (a payroll run, for the
// accounts projector) stores its checkpoint once it is
// LazyCheckpointEvents behind, without waiting for LazyCheckpointDelay:
// the lag Status and /readyz count from the stored checkpoint stays
// bounded. Here the delay is an hour, so only the event bound can store it.
func TestPassedOverEventsStoreTheCheckpointOnceTheyAreTooMany(t *testing.T) {
	e, views, store, g, dep := ledgerAfterADeposit(t, func(c *engine.Config) {
		c.LazyCheckpointDelay, c.LazyCheckpointEvents = time.Hour, 50
	})
	ctx := context.Background()
	before := store.count("ledger")
	var last eventlog.AppendResult
	for i := range 120 {
		last = g.appendTo(t, fmt.Sprintf("note-%d", i), noted{Text: "x"})
	}
	if err := e.WaitFor(ctx, last.LastPosition); err != nil {
		t.Fatal(err)
	}
	waitStoredCheckpoint(t, views, dep.LastPosition+50) // 50 past the deposit
	// Fewer than the 120 a commit per event would make.
	if n := store.count("ledger") - before; n < 1 || n > 10 {
		t.Errorf("%d batches for 120 passed-over events with a bound of 50, want a few", n)
	}
}

// waitStoredCheckpoint waits up to 5 s for the ledger's stored checkpoint
// to reach at least want.
func waitStoredCheckpoint(t *testing.T, views *readsqlite.Store, want uint64) {
	t.Helper()
	var cp uint64
	for deadline := time.Now().Add(5 * time.Second); cp < want; time.Sleep(10 * time.Millisecond) {
		var err error
		if cp, err = views.Checkpoint(context.Background(), "ledger"); err != nil {
			t.Fatal(err)
		}
		if cp < want && time.Now().After(deadline) {
			t.Fatalf("stored checkpoint %d, want at least %d", cp, want)
		}
	}
}
