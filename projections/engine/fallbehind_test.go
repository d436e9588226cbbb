package engine_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/projections/engine"
)

// syncBuffer is a log sink safe for the engine's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A live projector that falls far behind (events arrive faster than the
// subscription hands them over) switches to the paged catch-up and back,
// and ends with the model a clean rebuild gives.
func TestLiveProjectorFarBehindCatchesUpInPagesAndMatchesRebuild(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 200)
	var logs syncBuffer
	e := newEngine(t, log, views, &ledgerProjector{}, func(c *engine.Config) {
		c.CatchUpThreshold = 100
		c.HeadInterval = 5 * time.Millisecond
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	run(t, e)
	head := g.fill(t, 6000, 500) // big appends: far ahead of one-at-a-time delivery
	if err := e.WaitFor(context.Background(), head, "ledger"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "projector catching up") {
		t.Error("the live projector never switched to the paged catch-up")
	}
	live := snapshot(t, views)
	checkAgainstLog(t, log, live)
	sameModel(t, "clean rebuild vs live with catch-ups", rebuildInto(t, dir, log), live)

	// Back on the subscription: a later event still arrives.
	res := g.appendTo(t, "acct-0007", deposited{Owner: "o", Amount: 1})
	if err := e.WaitFor(context.Background(), res.LastPosition, "ledger"); err != nil {
		t.Fatalf("after the catch-up the subscription did not resume: %v", err)
	}
}
