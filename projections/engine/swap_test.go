package engine_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	eventsqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	"github.com/melaka-gov/ispeks/projections/engine"
)

// A rebuild by another engine (`ispeks projections rebuild` beside a running
// server) swaps the collections while the live projector is idle. The first
// event after the swap finds it at its commit; it must still be projected at
// once, not when yet another event comes to a quiet log.
func TestFirstEventAfterSwapIsProjected(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 5)
	head := g.fill(t, 200, 10)
	live := newEngine(t, log, views, &ledgerProjector{}, func(c *engine.Config) { c.WaitTimeout = 2 * time.Second })
	run(t, live)
	ctx := context.Background()
	if err := live.WaitFor(ctx, head); err != nil {
		t.Fatal(err)
	}
	cli := newEngine(t, log, views, &ledgerProjector{}, nil)
	if _, err := cli.Rebuild(ctx, "ledger", nil); err != nil {
		t.Fatal(err)
	}
	e := g.appendTo(t, "acct-user", deposited{Owner: "user", Amount: 7})
	if err := live.WaitFor(ctx, e.LastPosition); err != nil {
		t.Fatalf("the first event after a swap is not projected on a quiet log: %v", err)
	}
	if _, ok, err := views.Get(ctx, "ledger_balances", "acct-user"); err != nil || !ok {
		t.Fatalf("acct-user in the read model: %v, %v", ok, err)
	}
	checkAgainstLog(t, log, snapshot(t, views))
}

// tailHookLog runs onEnd once, the first time ReadAll comes back empty: the
// rebuild's last read, just before it commits and swaps. (It does not embed
// the store: the engine would read through the store's ReadAllCached.)
type tailHookLog struct {
	store *eventsqlite.Store
	once  sync.Once
	onEnd func()
}

func (h *tailHookLog) Subscribe(ctx context.Context, after uint64, f func(context.Context, eventlog.Record) error) error {
	return h.store.Subscribe(ctx, after, f)
}

func (h *tailHookLog) LastPosition(ctx context.Context) (uint64, error) {
	return h.store.LastPosition(ctx)
}

func (h *tailHookLog) ReadAll(ctx context.Context, after uint64, limit int) ([]eventlog.Record, error) {
	recs, err := h.store.ReadAll(ctx, after, limit)
	if err == nil && len(recs) == 0 {
		h.once.Do(h.onEnd)
	}
	return recs, err
}

// An event appended after the rebuild's last read is committed by the idle
// live projector into the old collections, which the swap then replaces. The
// live projector has nothing to commit, yet it must follow the swap and
// project that event again into the swapped-in collections.
func TestSwapBehindALiveCommitIsFollowed(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 5)
	head := g.fill(t, 200, 10)
	live := newEngine(t, log, views, &ledgerProjector{}, func(c *engine.Config) {
		c.WaitTimeout = 2 * time.Second
		c.SwapCheckInterval = 20 * time.Millisecond
	})
	run(t, live)
	ctx := context.Background()
	if err := live.WaitFor(ctx, head); err != nil {
		t.Fatal(err)
	}
	var late eventlog.AppendResult
	hl := &tailHookLog{store: log}
	hl.onEnd = func() {
		late = g.appendTo(t, "acct-late", deposited{Owner: "late", Amount: 7})
		if err := live.WaitFor(ctx, late.LastPosition); err != nil {
			t.Error(err)
		}
	}
	cli := newEngine(t, hl, views, &ledgerProjector{}, nil)
	res, err := cli.Rebuild(ctx, "ledger", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Checkpoint >= late.LastPosition {
		t.Fatalf("rebuild checkpoint %d reached the late event at %d: the test did not set up the race", res.Checkpoint, late.LastPosition)
	}
	// Within a few swap checks the event is back in the read model.
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, ok, err := views.Get(ctx, "ledger_balances", "acct-late")
		if err != nil {
			t.Fatal(err)
		}
		cp, _ := views.Checkpoint(ctx, "ledger")
		if ok && cp >= late.LastPosition {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("2s after the swap acct-late is in the read model: %v, stored checkpoint %d (late event at %d)", ok, cp, late.LastPosition)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := live.WaitFor(ctx, late.LastPosition); err != nil {
		t.Fatal(err)
	}
	snap := snapshot(t, views)
	checkAgainstLog(t, log, snap)
	sameModel(t, "live after a swap behind it vs clean rebuild", rebuildInto(t, dir, log), snap)
}
