package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/engine"
)

// slowWrites is the real read store with each put made slow (a big store
// on a busy disk), recording the checkpoint of every batch.
type slowWrites struct {
	projections.ReadStore
	perPut time.Duration

	mu          sync.Mutex
	checkpoints []uint64
}

func (s *slowWrites) Write(ctx context.Context, projector string, checkpoint uint64, fn func(projections.Batch) error) error {
	err := s.ReadStore.Write(ctx, projector, checkpoint, func(b projections.Batch) error {
		return fn(slowBatch{Batch: b, perPut: s.perPut})
	})
	if err == nil && projector == "ledger" {
		s.mu.Lock()
		s.checkpoints = append(s.checkpoints, checkpoint)
		s.mu.Unlock()
	}
	return err
}

type slowBatch struct {
	projections.Batch
	perPut time.Duration
}

func (b slowBatch) Put(ctx context.Context, collection string, doc projections.Doc) error {
	time.Sleep(b.perPut)
	return b.Batch.Put(ctx, collection, doc)
}

// catchUpCheckpoints starts the ledger projector on a log whose head it
// is far behind (a paged catch-up), with 20 ms commits as the target, and
// returns the checkpoint of each batch it committed up to head.
func catchUpCheckpoints(t *testing.T, log projections.EventLog, views *slowWrites, head uint64) []uint64 {
	t.Helper()
	e := newEngine(t, log, views, &ledgerProjector{}, func(c *engine.Config) {
		c.PagedCommitTime = 20 * time.Millisecond
		c.RebuildBatchSize = 20000
	})
	run(t, e)
	if err := e.WaitFor(context.Background(), head, "ledger"); err != nil {
		t.Fatal(err)
	}
	views.mu.Lock()
	defer views.mu.Unlock()
	return append([]uint64(nil), views.checkpoints...)
}

// A projector paging through a backlog (here at start-up) commits batches
// sized so that each holds the read store's one writer for about
// PagedCommitTime, not RebuildBatchSize events at a time: meanwhile every
// other projector, a login's included, waits for the writer. The first
// batch is modest (1,000 documents), since nothing has shown yet how long
// a commit takes.
func TestPagedCommitsAreSizedToHoldTheStoreBriefly(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := &slowWrites{ReadStore: openViews(t, filepath.Join(dir, "views.db")), perPut: 200 * time.Microsecond}
	// An account per event, so that every event leaves documents of its
	// own to write (a payroll run's slips do): a batch commits what its
	// events changed, each document once. Appended from several goroutines
	// so that the log commits them in groups.
	const events = 1500
	var wg sync.WaitGroup
	for w := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < events; i += 10 {
				ev := proposed(uuid.New(), deposited{Owner: "o", Amount: 1})
				if _, err := log.Append(context.Background(), fmt.Sprintf("acct-%04d", i), eventlog.NoStream(), []eventlog.Proposed{ev}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	head, err := log.LastPosition(context.Background())
	if err != nil || head != events {
		t.Fatalf("log head %d (%v), want %d", head, err, events)
	}

	// Each event's balance and open-index documents: 200 µs or more each
	// to put, so 20 ms of commit fits fewer than 100 documents and the
	// batch gathers the least a paged batch does (100 documents, about 50
	// events).
	cps := catchUpCheckpoints(t, log, views, head)
	if len(cps) < 3 {
		t.Fatalf("the backlog of %d events was committed in %d batches (%v)", head, len(cps), cps)
	}
	var prev uint64
	for i, cp := range cps {
		size := cp - prev
		prev = cp
		switch {
		case i == 0 && size > 1000:
			t.Errorf("first batch %d events, want at most 1000 before a commit was timed", size)
		case i > 0 && size > 100:
			t.Errorf("batch %d: %d events after commits of ≥200 µs a document, want at most 100 (20 ms)", i, size)
		}
	}
	checkAgainstLog(t, log, snapshot(t, views))
}

// A backlog that keeps changing the same few documents (a payment and its
// status moves) costs a commit those documents once, however many events
// it holds: its batch is not cut short by the event count, so each
// document is written once rather than once per short batch.
func TestPagedBatchesAreSizedByDocumentsNotEvents(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := &slowWrites{ReadStore: openViews(t, filepath.Join(dir, "views.db")), perPut: 200 * time.Microsecond}
	g := newGen(log, 40)
	head := g.fill(t, 3000, 100) // 40 accounts: at most 81 documents to write

	cps := catchUpCheckpoints(t, log, views, head)
	if len(cps) != 1 || cps[0] != head {
		t.Fatalf("a backlog of %d events over 81 documents was committed in batches ending at %v, want one", head, cps)
	}
	checkAgainstLog(t, log, snapshot(t, views))
}
