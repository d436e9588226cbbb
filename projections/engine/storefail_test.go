package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/engine"
)

// flakyReads is a real read store whose reads of one collection fail a
// number of times as unavailable (a network blip to Mongo), while its
// writes keep working.
type flakyReads struct {
	projections.ReadStore
	coll  string
	fails atomic.Int64
}

var errReadDown = fmt.Errorf("readstore: get: %w: connection reset", projections.ErrUnavailable)

func (f *flakyReads) Get(ctx context.Context, coll, id string) (projections.Doc, bool, error) {
	if coll == f.coll && f.fails.Add(-1) >= 0 {
		return projections.Doc{}, false, errReadDown
	}
	return f.ReadStore.Get(ctx, coll, id)
}

// A projector whose read of the store fails is not a poison event: the
// event is tried again until the store answers, not dead-lettered and
// passed over (which left the read model without it until a rebuild).
func TestStoreReadFailureIsNotADeadLetter(t *testing.T) {
	t.Run("live", func(t *testing.T) { storeReadFailure(t, nil) })
	// A projector far behind at start catches up in pages, not through
	// the subscription.
	t.Run("catch-up", func(t *testing.T) {
		storeReadFailure(t, func(c *engine.Config) { c.CatchUpThreshold, c.WaitTimeout = 10, 20*time.Second })
	})
}

func storeReadFailure(t *testing.T, tweak func(*engine.Config)) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 5)
	head := g.fill(t, 50, 10)

	store := &flakyReads{ReadStore: views, coll: "ledger_balances"}
	store.fails.Store(12) // more than one delivery's tries
	e := newEngine(t, log, store, &ledgerProjector{}, tweak)
	run(t, e)
	if err := e.WaitFor(context.Background(), head); err != nil {
		t.Fatal(err)
	}
	dls, err := e.DeadLetters(context.Background(), "ledger", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 0 {
		t.Fatalf("%d dead letters for a read store that failed for a moment: %+v", len(dls), dls[0])
	}
	checkAgainstLog(t, log, snapshot(t, views))
}

// A read the store fails for good (a stored document it cannot decode) is
// not the store being away: the event is dead-lettered and the projector
// moves on, not tried again for ever.
func TestStoreRefusalIsStillADeadLetter(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 5)
	g.fill(t, 20, 10)
	bad := g.appendTo(t, "acct-corrupt", deposited{Owner: "o", Amount: 1})
	head := g.fill(t, 20, 10)

	store := &corruptDoc{ReadStore: views, coll: "ledger_balances", id: "acct-corrupt"}
	e := newEngine(t, log, store, &ledgerProjector{}, func(c *engine.Config) { c.WaitTimeout = 20 * time.Second })
	run(t, e)
	if err := e.WaitFor(context.Background(), head); err != nil {
		t.Fatalf("the projector did not move past an event whose document the store cannot read: %v", err)
	}
	dls, err := e.DeadLetters(context.Background(), "ledger", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 1 || dls[0].Position != bad.LastPosition {
		t.Fatalf("dead letters %+v, want the one event at %d", dls, bad.LastPosition)
	}
}

// corruptDoc is a real read store with one document it cannot decode.
type corruptDoc struct {
	projections.ReadStore
	coll, id string
}

func (c *corruptDoc) Get(ctx context.Context, coll, id string) (projections.Doc, bool, error) {
	if coll == c.coll && id == c.id {
		return projections.Doc{}, false, fmt.Errorf("readstore: get %s/%s: stored document is corrupt", coll, id)
	}
	return c.ReadStore.Get(ctx, coll, id)
}
