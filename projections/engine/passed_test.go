package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/projections/engine"

	"github.com/melaka-gov/ispeks/domain/eventlog"
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
