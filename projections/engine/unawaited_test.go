package engine_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/projections/engine"
)

// Events nobody waits for (logins, whose next page reads no view) are
// committed together, UnawaitedDelay after the first; a reader who then
// waits has them committed at once. The delay here is an hour, so the
// commit can only come from the waiting reader.
func TestUnawaitedEventsShareOneCommitAReaderHurries(t *testing.T) {
	log, views := openStores(t)
	store := &countingStore{ReadStore: views, writes: map[string]int{}}
	var projected atomic.Int64
	p := &ledgerProjector{onProject: func(eventlog.Envelope) { projected.Add(1) }}
	e := newEngine(t, log, store, p, func(c *engine.Config) {
		c.UnawaitedDelay = time.Hour
		c.WaitTimeout = 20 * time.Second
	})
	run(t, e)
	ctx := context.Background()
	g := newGen(log, 1)
	first := g.appendTo(t, "acct-0000", deposited{Owner: "o", Amount: 1})
	if err := e.WaitFor(ctx, first.LastPosition); err != nil {
		t.Fatalf("a reader waiting for the first event: %v", err)
	}
	before := store.count("ledger")

	var last eventlog.AppendResult
	for i := range 5 {
		last = g.appendTo(t, fmt.Sprintf("acct-%04d", i+1), deposited{Owner: "o", Amount: 1})
	}
	deadline := time.Now().Add(20 * time.Second)
	for projected.Load() < 6 {
		if time.Now().After(deadline) {
			t.Fatalf("the projector took %d of the 6 events", projected.Load())
		}
		time.Sleep(time.Millisecond)
	}
	if n := store.count("ledger") - before; n != 0 {
		t.Fatalf("%d commits of events nobody waits for, want none before UnawaitedDelay", n)
	}
	if cp, err := views.Checkpoint(ctx, "ledger"); err != nil || cp != first.LastPosition {
		t.Fatalf("stored checkpoint %d (%v), want still %d", cp, err, first.LastPosition)
	}

	if err := e.WaitFor(ctx, last.LastPosition); err != nil {
		t.Fatalf("a reader waiting for the last of them: %v", err)
	}
	// One commit, or two if the reader came between the last event's
	// projection (counted above) and its bookkeeping: the four before it
	// are committed at once then, the last within BatchDelay.
	if n := store.count("ledger") - before; n < 1 || n > 2 {
		t.Errorf("%d commits for the five events, want one (two at most)", n)
	}
	if cp, err := views.Checkpoint(ctx, "ledger"); err != nil || cp != last.LastPosition {
		t.Errorf("stored checkpoint %d (%v), want %d", cp, err, last.LastPosition)
	}
}

// Unawaited, they are still committed, UnawaitedDelay after the first.
func TestUnawaitedEventsAreCommittedAfterTheDelay(t *testing.T) {
	log, views := openStores(t)
	store := &countingStore{ReadStore: views, writes: map[string]int{}}
	e := newEngine(t, log, store, &ledgerProjector{}, func(c *engine.Config) { c.UnawaitedDelay = 20 * time.Millisecond })
	run(t, e)
	g := newGen(log, 1)
	var last eventlog.AppendResult
	for i := range 3 {
		last = g.appendTo(t, fmt.Sprintf("acct-%04d", i), deposited{Owner: "o", Amount: 1})
	}
	waitStoredCheckpoint(t, views, last.LastPosition) // polls the store: no reader waits
}
