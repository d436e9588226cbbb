package engine_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/engine"
)

// otherProcessStore is a real read store that another process shares: once
// the engine has read a projector's checkpoint, the other process commits
// that projector's checkpoint at the log head (it projected the last event
// too) before the engine's next read.
type otherProcessStore struct {
	projections.ReadStore
	head  uint64
	mu    sync.Mutex
	reads int
}

func (s *otherProcessStore) Checkpoint(ctx context.Context, projector string) (uint64, error) {
	s.mu.Lock()
	s.reads++
	second := s.reads == 2
	s.mu.Unlock()
	if second {
		if err := s.ReadStore.Write(ctx, projector, s.head, func(projections.Batch) error { return nil }); err != nil {
			return 0, err
		}
	}
	return s.ReadStore.Checkpoint(ctx, projector)
}

// A process that starts projecting while another one commits the same read
// models (a console command's catch-up beside the running portal) starts
// its subscription where its projector loaded its checkpoint, not at the
// checkpoint read again: the other process may have moved it on in between,
// and the projector would then never be given the events up to it, so
// WaitFor (the console's catch-up, a page's read-your-writes) would wait for
// them for ever. The projector projects them again, idempotently.
func TestStartsWhereItLoadedWhileAnotherProcessCommits(t *testing.T) {
	log, views := openStores(t)
	ctx := context.Background()
	g := newGen(log, 1)
	first := g.appendTo(t, "acct-0001", deposited{Owner: "o", Amount: 5})
	// The first event is projected and committed, as the other process
	// had done before this one starts.
	seed := newEngine(t, log, views, &ledgerProjector{}, nil)
	stopSeed := run(t, seed)
	if err := seed.WaitFor(ctx, first.LastPosition); err != nil {
		t.Fatal(err)
	}
	stopSeed()
	last := g.appendTo(t, "acct-0001", deposited{Owner: "o", Amount: 7})

	var projected atomic.Uint64
	store := &otherProcessStore{ReadStore: views, head: last.LastPosition}
	e := newEngine(t, log, store, &ledgerProjector{onProject: func(env eventlog.Envelope) { projected.Store(env.Position) }},
		func(c *engine.Config) { c.WaitTimeout = 5 * time.Second })
	run(t, e)
	if err := e.WaitFor(ctx, last.LastPosition); err != nil {
		t.Fatalf("waiting for the event the other process committed meanwhile: %v", err)
	}
	if got := projected.Load(); got != last.LastPosition {
		t.Fatalf("the projector was last given position %d, want %d", got, last.LastPosition)
	}
	store.mu.Lock()
	reads := store.reads
	store.mu.Unlock()
	if reads < 1 {
		t.Fatal("the engine read no checkpoint")
	}
}
