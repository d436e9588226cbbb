package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/engine"
	"github.com/melaka-gov/ispeks/projections/viewcache"
)

// recorder is a view observer that keeps what it is told.
type recorder struct {
	mu    sync.Mutex
	docs  []projections.Changed
	colls []string
}

func (r *recorder) DocsChanged(docs []projections.Changed) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.docs = append(r.docs, docs...)
}

func (r *recorder) CollectionsChanged(colls []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.colls = append(r.colls, colls...)
}

// take returns what was told since the last take.
func (r *recorder) take() ([]projections.Changed, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, c := r.docs, r.colls
	r.docs, r.colls = nil, nil
	return d, c
}

// A view observer hears, before WaitFor returns, which documents each
// commit wrote (with their fields), nothing for events the projector
// passes over, and that every document may have changed when the
// projector loads its checkpoint; no answers may be kept before the
// projector is ready or after the engine stopped.
func TestViewObserverIsToldWhatEachCommitChanged(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 5)
	head := g.fill(t, 50, 10)
	e := newEngine(t, log, views, &ledgerProjector{}, nil)
	rec := &recorder{}
	e.Observe(rec)
	ctx := context.Background()

	if e.ViewReady("ledger_balances") {
		t.Fatal("ready before the engine runs")
	}
	stop := run(t, e)
	if err := e.WaitFor(ctx, head); err != nil {
		t.Fatal(err)
	}
	if e.ViewReady("engine_dead_letters") {
		t.Error("ready for a collection no projector writes")
	}
	if !e.ViewReady("ledger_balances") {
		t.Fatal("not ready once the projector is")
	}
	if _, colls := rec.take(); !slices.Contains(colls, "ledger_balances") || !slices.Contains(colls, "ledger_totals") {
		t.Errorf("loading the checkpoint told %v, want every ledger collection", colls)
	}

	passed := g.appendTo(t, "notes-1", noted{Text: "not for the ledger"})
	if err := e.WaitFor(ctx, passed.LastPosition); err != nil {
		t.Fatal(err)
	}
	if docs, colls := rec.take(); len(docs)+len(colls) > 0 {
		t.Errorf("an event the projector passes over told %v %v", docs, colls)
	}

	res := g.appendTo(t, "acct-0001", deposited{Owner: "owner-1", Amount: 5})
	if err := e.WaitFor(ctx, res.LastPosition); err != nil {
		t.Fatal(err)
	}
	docs, colls := rec.take()
	if len(colls) > 0 {
		t.Errorf("a deposit told every document changed (%v), want its documents", colls)
	}
	var balance *projections.Changed
	for i, d := range docs {
		if d.Collection == "ledger_balances" && d.ID == "acct-0001" {
			balance = &docs[i]
		}
	}
	if balance == nil || balance.Fields["owner"] != "owner-1" || balance.Deleted {
		t.Fatalf("after the deposit and its WaitFor: told %+v, want ledger_balances/acct-0001 with its owner", docs)
	}

	stop()
	if e.ViewReady("ledger_balances") {
		t.Error("ready after the engine stopped")
	}
}

// Through a view cache the engine tells, a read after WaitFor shows
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
	cache := newCache(views, e)
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
// engine: its observers hear that every document may have changed once it
// follows the swap.
func TestViewObserverHearsOfARebuildsSwap(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 5)
	head := g.fill(t, 100, 10)
	live := newEngine(t, log, views, &ledgerProjector{}, func(c *engine.Config) { c.SwapCheckInterval = 20 * time.Millisecond })
	rec := &recorder{}
	live.Observe(rec)
	run(t, live)
	ctx := context.Background()
	if err := live.WaitFor(ctx, head); err != nil {
		t.Fatal(err)
	}
	rec.take()
	other := newEngine(t, log, views, &ledgerProjector{}, nil)
	if _, err := other.Rebuild(ctx, "ledger", nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, colls := rec.take(); slices.Contains(colls, "ledger_balances") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the live engine's observer was not told of another process's rebuild swapping its collections")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// newCache is a view cache over views, told by e, keeping the ledger's
// balances by owner (which the tests never change for an account).
func newCache(views projections.Reader, e *engine.Engine) *viewcache.Reader {
	c := viewcache.New(views, e, viewcache.Options{Budget: 1 << 20, PageSizes: []int{10},
		Partitions: map[string]string{"ledger_balances": "owner"}})
	e.Observe(c)
	return c
}

// Another process projecting the same read store (a console import's
// catch-up, a second portal) may commit an event before this engine's
// projector reaches it; the projector then finds it applied and writes
// nothing. Its commit must still tell the cache: an answer kept before the
// other process's write must not be given after this engine's WaitFor for
// the event returned.
func TestViewCacheWhenAnotherProcessProjectedFirst(t *testing.T) {
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
	cache := newCache(views, live)
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

// A change to one owner's account drops that owner's kept answers only:
// another owner's list is still answered from memory, and right.
func TestViewCacheKeepsOthersAnswersOnAChange(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 5)
	g.appendTo(t, "acct-mine", deposited{Owner: "mine", Amount: 1})
	head := g.appendTo(t, "acct-theirs", deposited{Owner: "theirs", Amount: 2}).LastPosition
	e := newEngine(t, log, views, &ledgerProjector{}, nil)
	cache := newCache(views, e)
	run(t, e)
	ctx := context.Background()
	if err := e.WaitFor(ctx, head); err != nil {
		t.Fatal(err)
	}
	read := func(owner string) int64 {
		t.Helper()
		pg, err := cache.Find(ctx, projections.Query{Collection: "ledger_balances", Where: map[string]any{"owner": owner}, Limit: 10, BodyOnly: true})
		if err != nil || len(pg.Docs) != 1 {
			t.Fatalf("%s: %v, %d documents", owner, err, len(pg.Docs))
		}
		var b balance
		if err := json.Unmarshal(pg.Docs[0].Body, &b); err != nil {
			t.Fatal(err)
		}
		return b.Balance
	}
	read("mine")
	read("theirs")
	res := g.appendTo(t, "acct-theirs", deposited{Owner: "theirs", Amount: 40})
	if err := e.WaitFor(ctx, res.LastPosition); err != nil {
		t.Fatal(err)
	}
	before := cache.Stats()
	if got := read("mine"); got != 1 {
		t.Fatalf("mine: %d, want 1", got)
	}
	if st := cache.Stats(); st.Hits != before.Hits+1 {
		t.Errorf("another owner's deposit dropped mine's kept answer (hits %d → %d)", before.Hits, st.Hits)
	}
	if got := read("theirs"); got != 42 {
		t.Fatalf("theirs after their deposit: %d, want 42", got)
	}
}
