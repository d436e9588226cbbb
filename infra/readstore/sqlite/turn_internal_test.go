package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/projections"
)

// queuedWriters is how many callers wait for the writer.
func queuedWriters(s *Store) int {
	return s.c.turn.waiting()
}

func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for queuedWriters(s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writers queued after 5s, want %d", queuedWriters(s), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Batches get the writer in the order they asked for it: a projector
// committing batch after batch (a payroll run's catch-up) cannot keep a
// login's projector, a consumer's checkpoint or a lease renewal waiting
// behind draw after lost draw.
func TestWritesTakeTheWriterInTheOrderTheyAsked(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "views.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ensure(ctx, projections.CollectionSpec{Name: "things"}); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	holding := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := s.Write(ctx, "hog", 1, func(projections.Batch) error {
			close(holding)
			<-release
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	}()
	<-holding
	var mu sync.Mutex
	var order []string
	const waiters = 8
	for i := range waiters {
		name := fmt.Sprintf("p%d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Write(ctx, name, 1, func(b projections.Batch) error {
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
				return b.Put(ctx, "things", projections.Doc{ID: name, Version: 1, Body: []byte(`{}`)})
			})
			if err != nil {
				t.Error(err)
			}
		}()
		waitQueued(t, s, i+1)
	}
	close(release)
	wg.Wait()
	for i, got := range order {
		if want := fmt.Sprintf("p%d", i); got != want {
			t.Fatalf("writers served in the order %v, want p0 … p%d", order, waiters-1)
		}
	}
	if len(order) != waiters {
		t.Fatalf("%d of %d writers ran", len(order), waiters)
	}
}

// A writer that gives up while waiting leaves the queue (and writes
// nothing); one handed the writer just as it gave up passes it on, so the
// next in line is not stuck.
func TestAWriterThatGivesUpPassesItsTurnOn(t *testing.T) {
	var turn writeTurn
	if err := turn.acquire(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() { gaveUp <- turn.acquire(ctx, false) }()
	for turn.waiting() != 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
	if left := turn.waiting(); left != 0 {
		t.Fatalf("%d waiters left after the only one gave up", left)
	}

	turn.release()

	// Many writers, some giving up at random moments (some just as the
	// turn reaches them): one at a time holds it, and at the end nobody
	// holds it and nobody waits.
	var wg sync.WaitGroup
	var mu sync.Mutex
	inside, most := 0, 0
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%7)*50*time.Microsecond)
			defer cancel()
			if turn.acquire(ctx, i%3 == 0) != nil {
				return
			}
			mu.Lock()
			inside++
			most = max(most, inside)
			mu.Unlock()
			time.Sleep(20 * time.Microsecond)
			mu.Lock()
			inside--
			mu.Unlock()
			turn.release()
		}()
	}
	wg.Wait()
	if most != 1 {
		t.Fatalf("%d writers held the turn at once", most)
	}
	if turn.held || turn.waiting() != 0 {
		t.Fatalf("turn left held=%v with %d waiters", turn.held, turn.waiting())
	}
}

// A bulk write (a rebuild's or a catch-up's batch) lets the writes that
// are not bulk go first, even those that asked after it; among themselves
// each kind keeps its order.
func TestBulkWritesLetOthersGoFirst(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "views.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.c.turn.patience = time.Hour // the order, not the bound on a bulk write's wait (TestABulkWriteIsNotHeldOffForEver)
	release := make(chan struct{})
	holding := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.Write(ctx, "hog", 1, func(projections.Batch) error { close(holding); <-release; return nil }); err != nil {
			t.Error(err)
		}
	})
	<-holding
	var mu sync.Mutex
	var order []string
	for i, name := range []string{"bulk1", "live1", "bulk2", "live2"} {
		wctx := ctx
		if strings.HasPrefix(name, "bulk") {
			wctx = projections.Bulk(ctx)
		}
		wg.Go(func() {
			err := s.Write(wctx, name, 1, func(projections.Batch) error {
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
		waitQueued(t, s, i+1)
	}
	close(release)
	wg.Wait()
	if want := []string{"live1", "live2", "bulk1", "bulk2"}; !slices.Equal(order, want) {
		t.Fatalf("served %v, want %v", order, want)
	}
}

// A bulk write lets the others go first, but not for ever: while live
// projectors, consumers' checkpoints and lease renewals keep the writer
// asked for without a gap (a payroll run's ingestion), a catch-up that only
// got the writer when no one else waited would never commit, its projector
// falling further behind the longer the run went on.
func TestABulkWriteIsNotHeldOffForEver(t *testing.T) {
	turn := writeTurn{patience: 20 * time.Millisecond}
	if err := turn.acquire(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	got := make(chan time.Time, 1)
	asked := time.Now()
	go func() {
		if turn.acquire(context.Background(), true) == nil {
			got <- time.Now()
			turn.release()
		}
	}()
	for turn.waiting() != 1 {
		time.Sleep(time.Millisecond)
	}
	// Each live write asks before the one holding the writer is done, so
	// a write that is not bulk always waits when the turn is released.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		held := make(chan struct{})
		go func() {
			if turn.acquire(context.Background(), false) == nil {
				close(held)
			}
		}()
		for turn.waiting() != 2 {
			time.Sleep(50 * time.Microsecond)
		}
		turn.release()
		var at time.Time
		select {
		case at = <-got:
			<-held // the live write queued behind it gets its turn after
		case <-held:
			// The bulk write may have had its turn and passed it on to
			// the live write already: both are ready, and select picks
			// either (looping on would wait for a bulk write no longer
			// waiting).
			select {
			case at = <-got:
			default:
			}
		}
		if !at.IsZero() {
			if waited := at.Sub(asked); waited > 500*time.Millisecond {
				t.Fatalf("bulk write waited %v with a patience of 20ms", waited)
			}
			turn.release()
			return
		}
	}
	t.Fatal("a bulk write waited a second behind a stream of other writes, with a patience of 20ms")
}

// Writes still waiting for the writer when the store is closed fail with
// the store's own error (a shutdown's log says the store closed), not with
// database/sql's "sql: database is closed" from a transaction begun on it.
func TestWaitersForTheWriterSeeTheStoreClosed(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "views.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	spec := projections.CollectionSpec{Name: "things"}
	if err := s.Ensure(ctx, spec); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	holding := make(chan struct{})
	hogDone := make(chan struct{})
	go func() {
		defer close(hogDone)
		_ = s.Write(ctx, "hog", 1, func(projections.Batch) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	waiters := map[string]func() error{
		"Write": func() error {
			return s.Write(ctx, "late", 1, func(projections.Batch) error { return nil })
		},
		"Ensure": func() error { return s.Ensure(ctx, spec) },
		"BeginRebuild": func() error {
			_, err := s.BeginRebuild(ctx, "late", spec)
			return err
		},
		"SwapRebuild": func() error { return s.SwapRebuild(ctx, "late", spec) },
	}
	errs := make(chan error, len(waiters))
	n := 0
	for name, call := range waiters {
		go func() { errs <- fmt.Errorf("%s: %w", name, call()) }()
		n++
		waitQueued(t, s, n)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	for !s.c.closed.Load() {
		time.Sleep(time.Millisecond)
	}
	close(release)
	<-hogDone
	for range waiters {
		if err := <-errs; !errors.Is(err, errClosed) {
			t.Errorf("%v, want %v", err, errClosed)
		}
	}
	<-closed
}

// Close lets a write that is running commit before it closes the file
// (closed under it, the batch and its checkpoint could be lost or fail
// half-way), without waiting for the writes that have not started: those,
// and any asked for later, fail with the store's error.
func TestCloseWaitsForTheRunningWriteOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "views.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ensure(ctx, projections.CollectionSpec{Name: "things"}); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var releaseOnce sync.Once
	letGo := func() { releaseOnce.Do(func() { close(release) }) }
	defer letGo()
	holding := make(chan struct{})
	wrote := make(chan error, 1)
	go func() {
		wrote <- s.Write(ctx, "slow", 7, func(b projections.Batch) error {
			close(holding)
			<-release
			return b.Put(ctx, "things", projections.Doc{ID: "a", Version: 1, Body: []byte(`{"n":1}`)})
		})
	}()
	<-holding
	queued := make(chan error, 1)
	go func() {
		queued <- s.Write(ctx, "queued", 1, func(projections.Batch) error { return nil })
	}()
	waitQueued(t, s, 1)

	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a write was running", err)
	case err := <-queued:
		if !errors.Is(err, errClosed) {
			t.Fatalf("write queued when the store closed: %v, want %v", err, errClosed)
		}
	}
	if err := s.Write(ctx, "late", 1, func(projections.Batch) error { return nil }); !errors.Is(err, errClosed) {
		t.Fatalf("write after Close: %v, want %v", err, errClosed)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a write was running", err)
	default:
	}

	letGo()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-wrote; err != nil {
		t.Fatalf("the write running when Close was called: %v", err)
	}

	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if pos, err := s.Checkpoint(ctx, "slow"); err != nil || pos != 7 {
		t.Fatalf("checkpoint of the write Close waited for: %d, %v; want 7", pos, err)
	}
	if doc, ok, err := s.Get(ctx, "things", "a"); err != nil || !ok || string(doc.Body) != `{"n":1}` {
		t.Fatalf("document of the write Close waited for: %+v, %v, %v", doc, ok, err)
	}
}
