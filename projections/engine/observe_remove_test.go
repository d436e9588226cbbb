package engine_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/projections"
)

// gatedObserver counts the calls it gets, notes any that begins after its
// removal returned, and can hold one call until released.
type gatedObserver struct {
	calls, late      atomic.Int64
	removed          atomic.Bool // set by the test once the remover returned
	hold             atomic.Bool
	entered, release chan struct{}
}

func newGated() *gatedObserver {
	return &gatedObserver{entered: make(chan struct{}), release: make(chan struct{})}
}

func (o *gatedObserver) called() {
	o.calls.Add(1)
	if o.removed.Load() {
		o.late.Add(1)
	}
	if o.hold.CompareAndSwap(true, false) {
		close(o.entered)
		<-o.release
	}
}

func (o *gatedObserver) DocsChanged([]projections.Changed) { o.called() }
func (o *gatedObserver) CollectionsChanged([]string)       { o.called() }

// The function Observe returns takes the observer off the engine: it waits
// for a call a commit is making to it, and once it returns no commit calls
// the observer again, also while commits run all along; calling it twice,
// at once, is harmless; the other observers go on being told.
func TestObserveRemoverStopsTheCalls(t *testing.T) {
	dir := t.TempDir()
	log := openEvents(t, dir)
	views := openViews(t, filepath.Join(dir, "views.db"))
	g := newGen(log, 5)
	head := g.fill(t, 20, 10)
	e := newEngine(t, log, views, &ledgerProjector{}, nil)
	stay := &recorder{}
	e.Observe(stay)
	held, busy := newGated(), newGated()
	removeHeld, removeBusy := e.Observe(held), e.Observe(busy)
	run(t, e)
	ctx := context.Background()
	if err := e.WaitFor(ctx, head); err != nil {
		t.Fatal(err)
	}

	// A commit is inside the observer when it is removed.
	held.hold.Store(true)
	res := g.appendTo(t, "acct-0001", deposited{Owner: "owner-1", Amount: 5})
	select {
	case <-held.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the deposit's commit never called the observer")
	}
	removed := make(chan struct{})
	go func() {
		removeHeld()
		held.removed.Store(true)
		close(removed)
	}()
	select {
	case <-removed:
		t.Error("the remover returned while a commit was calling the observer")
	case <-time.After(100 * time.Millisecond): // long enough for a remover that does not wait to return
	}
	close(held.release)
	<-removed
	if err := e.WaitFor(ctx, res.LastPosition); err != nil {
		t.Fatal(err)
	}

	// Commits run all along while the other observer is removed.
	var last atomic.Uint64
	stopWriter := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var version uint64
		for {
			select {
			case <-stopWriter:
				return
			default:
			}
			res, err := log.Append(ctx, "acct-busy", eventlog.Exactly(version), []eventlog.Proposed{proposed(uuid.New(), deposited{Owner: "busy", Amount: 1})})
			if err != nil {
				t.Error(err)
				return
			}
			version = res.LastVersion
			last.Store(res.LastPosition)
		}
	})
	defer func() { close(stopWriter); wg.Wait() }()
	waitUntil := func(what string, done func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !done() {
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting until %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitUntil("the busy observer was called by the writer's commits", func() bool { return busy.calls.Load() >= 5 })
	var twice sync.WaitGroup
	for range 2 {
		twice.Go(removeBusy)
	}
	twice.Wait()
	busy.removed.Store(true)
	after := last.Load()
	waitUntil("the writer appended more", func() bool { return last.Load() > after+20 })
	if err := e.WaitFor(ctx, last.Load()); err != nil {
		t.Fatal(err)
	}
	stay.take()
	final := g.appendTo(t, "acct-0002", deposited{Owner: "owner-2", Amount: 1})
	if err := e.WaitFor(ctx, final.LastPosition); err != nil {
		t.Fatal(err)
	}
	if docs, colls := stay.take(); len(docs)+len(colls) == 0 {
		t.Error("the observer left in place was not told of a commit after the others' removal")
	}
	if n := held.late.Load(); n > 0 {
		t.Errorf("the observer removed during a call was called %d times after its removal returned", n)
	}
	if n := busy.late.Load(); n > 0 {
		t.Errorf("the observer removed while commits ran was called %d times after its removal returned", n)
	}
	removeHeld() // again: nothing to do
}
