package sqlite

import (
	"context"
	"sync"
)

// writeTurn hands the one writer connection to its callers in the order
// they asked. database/sql gives a freed connection to a waiter picked at
// random: while a projector catches up on a payroll run, committing batch
// after batch, a live projector (a login's), a consumer's checkpoint or a
// lease renewal could lose the draw many times in a row (checkpoint saves
// were seen to time out after 10 s). In turn, a caller waits for at most the
// batches queued before it.
type writeTurn struct {
	mu    sync.Mutex
	held  bool
	queue []chan struct{} // waiters, oldest first; closed when it is theirs
}

// acquire waits for the turn, or until ctx ends.
func (t *writeTurn) acquire(ctx context.Context) error {
	t.mu.Lock()
	if !t.held {
		t.held = true
		t.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	t.queue = append(t.queue, ch)
	t.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	}
	t.mu.Lock()
	for i, w := range t.queue {
		if w == ch {
			t.queue = append(t.queue[:i], t.queue[i+1:]...)
			t.mu.Unlock()
			return ctx.Err()
		}
	}
	t.mu.Unlock()
	// Handed over while ctx ended: pass it on rather than keep it.
	t.release()
	return ctx.Err()
}

// release gives the turn to the oldest waiter, if any.
func (t *writeTurn) release() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.queue) == 0 {
		t.held = false
		return
	}
	next := t.queue[0]
	t.queue[0] = nil
	t.queue = t.queue[1:]
	close(next)
}
