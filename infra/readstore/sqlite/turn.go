package sqlite

import (
	"context"
	"sync"
	"time"
)

// writeTurn hands the one writer connection to its callers in the order
// they asked, bulk writes (projections.Bulk: a rebuild's or a catch-up's
// batches) after every other waiting write. database/sql gives a freed
// connection to a waiter picked at random: while a projector caught up on a
// payroll run, committing batch after batch, a live projector (a login's),
// a consumer's checkpoint or a lease renewal could lose the draw many times
// in a row (checkpoint saves were seen to time out after 10 s). In turn, a
// write waits for the one holding the writer and the writes of its own kind
// queued before it; a bulk write also for those that are not bulk, but for
// no longer than patience. Once closed, it hands out no more turns.
type writeTurn struct {
	mu     sync.Mutex
	held   bool
	closed bool
	queues [2][]waiter // oldest first, others then bulk
	// patience is how long the oldest bulk write lets others go first
	// (bulkPatience if zero).
	patience time.Duration
}

// waiter is a caller waiting for the turn: ch receives nil when the turn is
// theirs, errClosed when the store closed first. It is sent to once, by
// whoever takes the waiter out of the queue.
type waiter struct {
	ch    chan error // buffered: the sender never waits
	since time.Time
}

// bulkPatience bounds a bulk write's wait behind writes that keep coming:
// while live projectors, checkpoints and lease renewals ask for the writer
// without a gap (a payroll run's ingestion), a catch-up served only when no
// one else waits would never commit, and its projector would fall further
// behind for as long as the run went on. Once a second it goes next, and
// holds the writer for about PagedCommitTime (engine.Config).
const bulkPatience = time.Second

// acquire waits for the turn, or until ctx ends or the turn closes
// (errClosed).
func (t *writeTurn) acquire(ctx context.Context, bulk bool) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return errClosed
	}
	if !t.held {
		t.held = true
		t.mu.Unlock()
		return nil
	}
	q := 0
	if bulk {
		q = 1
	}
	ch := make(chan error, 1)
	t.queues[q] = append(t.queues[q], waiter{ch: ch, since: time.Now()})
	t.mu.Unlock()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
	}
	t.mu.Lock()
	for i, w := range t.queues[q] {
		if w.ch == ch {
			t.queues[q] = append(t.queues[q][:i], t.queues[q][i+1:]...)
			t.mu.Unlock()
			return ctx.Err()
		}
	}
	t.mu.Unlock()
	// Taken out of the queue while ctx ended (its answer is in ch): a turn
	// handed over is passed on rather than kept.
	if <-ch == nil {
		t.release()
	}
	return ctx.Err()
}

// release gives the turn to the oldest waiter that is not bulk, else to
// the oldest bulk one, if any; to the oldest bulk one first once it has
// waited patience.
func (t *writeTurn) release() {
	t.mu.Lock()
	defer t.mu.Unlock()
	order := [2]int{0, 1}
	patience := t.patience
	if patience <= 0 {
		patience = bulkPatience
	}
	if bulk := t.queues[1]; len(bulk) > 0 && time.Since(bulk[0].since) >= patience {
		order = [2]int{1, 0}
	}
	for _, q := range order {
		if len(t.queues[q]) > 0 {
			next := t.queues[q][0]
			t.queues[q][0] = waiter{}
			t.queues[q] = t.queues[q][1:]
			next.ch <- nil
			return
		}
	}
	t.held = false
}

// close hands out no more turns: the callers waiting fail with errClosed
// at once, as do those who ask later, and close returns when the caller
// holding the turn, if any, has released it, so that a write running
// commits before the file closes. Only writes that have started are waited
// for. The holder itself must not call it (it would wait for itself).
func (t *writeTurn) close() {
	t.mu.Lock()
	t.closed = true
	for q := range t.queues {
		for _, w := range t.queues[q] {
			w.ch <- errClosed
		}
		t.queues[q] = nil
	}
	if !t.held {
		t.held = true
		t.mu.Unlock()
		return
	}
	// Last in line behind nobody: release hands the turn here.
	ch := make(chan error, 1)
	t.queues[0] = append(t.queues[0], waiter{ch: ch, since: time.Now()})
	t.mu.Unlock()
	<-ch
}

// waiting is how many callers wait for the turn (tests).
func (t *writeTurn) waiting() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.queues[0]) + len(t.queues[1])
}
