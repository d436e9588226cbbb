package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/engine"
	"github.com/melaka-gov/ispeks/projections/viewcache"
)

// The stamp a view cache keeps answers under: it moves with every commit
// that wrote the projector's documents, before WaitFor returns, and not for
// events the projector passes over; no answers may be kept before the
// projector is ready or after the engine stopped.
func TestViewStampMovesWithTheProjectorsWrites(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 5)
	head := g.fill(t, 50, 10)
	e := newEngine(t, log, views, &ledgerProjector{}, nil)
	ctx := context.Background()

	if _, ok := e.ViewStamp("ledger_balances"); ok {
		t.Fatal("stamp given before the engine runs")
	}
	stop := run(t, e)
	if err := e.WaitFor(ctx, head); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.ViewStamp("engine_dead_letters"); ok {
		t.Error("stamp given for a collection no projector writes")
	}
	s1, ok := e.ViewStamp("ledger_balances")
	if !ok {
		t.Fatal("no stamp once the projector is ready")
	}
	if s, _ := e.ViewStamp("ledger_totals"); s != s1 {
		t.Errorf("collections of one projector: stamps %d and %d", s, s1)
	}

	passed := g.appendTo(t, "notes-1", noted{Text: "not for the ledger"})
	if err := e.WaitFor(ctx, passed.LastPosition); err != nil {
		t.Fatal(err)
	}
	if s, _ := e.ViewStamp("ledger_balances"); s != s1 {
		t.Errorf("an event the projector passes over moved the stamp %d → %d", s1, s)
	}

	res := g.appendTo(t, "acct-0001", deposited{Owner: "owner-1", Amount: 5})
	if err := e.WaitFor(ctx, res.LastPosition); err != nil {
		t.Fatal(err)
	}
	s2, ok := e.ViewStamp("ledger_balances")
	if !ok || s2 <= s1 {
		t.Fatalf("after a projected event and its WaitFor: stamp %d (ok %v), was %d", s2, ok, s1)
	}

	stop()
	if _, ok := e.ViewStamp("ledger_balances"); ok {
		t.Error("stamp given after the engine stopped")
	}
}

// Through a view cache over the engine's stamps, a read after WaitFor shows
// the write waited for, every time, while other readers keep filling the
// cache with what they read.
func TestViewCacheReadsItsOwnWrites(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 5)
	head := g.fill(t, 20, 10)
	e := newEngine(t, log, views, &ledgerProjector{}, nil)
	run(t, e)
	ctx := context.Background()
	if err := e.WaitFor(ctx, head); err != nil {
		t.Fatal(err)
	}
	cache := viewcache.New(views, e, 1<<20, 10)
	byOwner := func(owner string) projections.Query {
		return projections.Query{Collection: "ledger_balances", Where: map[string]any{"owner": owner}, Limit: 10, BodyOnly: true}
	}
	balanceOf := func(t *testing.T, owner string) int64 {
		pg, err := cache.Find(ctx, byOwner(owner))
		if err != nil {
			t.Fatal(err)
		}
		if len(pg.Docs) != 1 {
			t.Fatalf("owner %s: %d documents", owner, len(pg.Docs))
		}
		var b balance
		if err := json.Unmarshal(pg.Docs[0].Body, &b); err != nil {
			t.Fatal(err)
		}
		return b.Balance
	}

	var wg sync.WaitGroup
	stopReaders := make(chan struct{})
	for i := range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stopReaders:
					return
				default:
				}
				if _, err := cache.Find(ctx, byOwner(fmt.Sprintf("reader-%d", i%2))); err != nil {
					t.Error(err)
					return
				}
				if _, err := cache.Find(ctx, byOwner("mine")); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	want := int64(0)
	for i := range 100 {
		res := g.appendTo(t, "acct-mine", deposited{Owner: "mine", Amount: int64(i + 1)})
		want += int64(i + 1)
		if err := e.WaitFor(ctx, res.LastPosition, "ledger"); err != nil {
			t.Fatal(err)
		}
		if got := balanceOf(t, "mine"); got != want {
			t.Fatalf("deposit %d: balance %d after WaitFor, want %d", i+1, got, want)
		}
		// A second read is answered from the cache, and is still right.
		if got := balanceOf(t, "mine"); got != want {
			t.Fatalf("deposit %d: balance %d on the second read, want %d", i+1, got, want)
		}
	}
	close(stopReaders)
	wg.Wait()
	if st := cache.Stats(); st.Hits == 0 || st.Misses == 0 {
		t.Errorf("stats %+v: want both hits and misses", st)
	}
}

// A rebuild by another process swaps the collections under a running
// engine: the engine's stamp moves once it follows the swap, so answers
// kept from the old collections are not given after it.
func TestViewStampMovesWhenARebuildSwaps(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 5)
	head := g.fill(t, 100, 10)
	live := newEngine(t, log, views, &ledgerProjector{}, func(c *engine.Config) { c.SwapCheckInterval = 20 * time.Millisecond })
	run(t, live)
	ctx := context.Background()
	if err := live.WaitFor(ctx, head); err != nil {
		t.Fatal(err)
	}
	before, _ := live.ViewStamp("ledger_balances")
	other := newEngine(t, log, views, &ledgerProjector{}, nil)
	if _, err := other.Rebuild(ctx, "ledger", nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if s, ok := live.ViewStamp("ledger_balances"); ok && s > before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the live engine's stamp did not move after another process's rebuild swapped its collections")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Another process projecting the same read store (a console import's
// catch-up, a second portal) may commit an event before this engine's
// projector reaches it; the projector then finds it applied and writes
// nothing. Its commit must still move the stamp: an answer kept before the
// other process's write must not be given after this engine's WaitFor for
// the event returned.
func TestViewStampMovesWhenAnotherProcessProjectedFirst(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	path := filepath.Join(dir, "views.db")
	views := openViews(t, path)
	g := newGen(log, 5)
	g.fill(t, 20, 10)
	first := g.appendTo(t, "acct-mine", deposited{Owner: "mine", Amount: 1})

	var armed atomic.Bool
	entered, release := make(chan struct{}), make(chan struct{})
	p := &ledgerProjector{onProject: func(env eventlog.Envelope) {
		if armed.Load() && env.Stream == "acct-mine" {
			armed.Store(false)
			close(entered)
			<-release
		}
	}}
	// A small document cache, as after a restart or a payroll run: the
	// projector reads the account from the store, not from memory.
	live := newEngine(t, log, views, p, func(c *engine.Config) { c.CacheSize = 1 })
	run(t, live)
	ctx := context.Background()
	if err := live.WaitFor(ctx, first.LastPosition); err != nil {
		t.Fatal(err)
	}
	cache := viewcache.New(views, live, 1<<20, 10)
	balanceOf := func() int64 {
		pg, err := cache.Find(ctx, projections.Query{Collection: "ledger_balances", Where: map[string]any{"owner": "mine"}, Limit: 10, BodyOnly: true})
		if err != nil || len(pg.Docs) != 1 {
			t.Fatalf("balance of mine: %v, %d documents", err, len(pg.Docs))
		}
		var b balance
		if err := json.Unmarshal(pg.Docs[0].Body, &b); err != nil {
			t.Fatal(err)
		}
		return b.Balance
	}
	if got := balanceOf(); got != 1 {
		t.Fatalf("balance %d, want 1", got)
	}

	armed.Store(true)
	second := g.appendTo(t, "acct-mine", deposited{Owner: "mine", Amount: 10})
	<-entered // this engine's projector holds the event
	other := newEngine(t, log, openViews(t, path), &ledgerProjector{}, nil)
	stopOther := run(t, other)
	if err := other.WaitFor(ctx, second.LastPosition); err != nil {
		t.Fatal(err)
	}
	stopOther()
	close(release)
	if err := live.WaitFor(ctx, second.LastPosition); err != nil {
		t.Fatal(err)
	}
	if got := balanceOf(); got != 11 {
		t.Fatalf("after WaitFor for the deposit: balance %d, want 11 (an answer kept from before it)", got)
	}
}
