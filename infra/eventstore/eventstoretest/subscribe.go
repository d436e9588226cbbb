package eventstoretest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

var errEnough = errors.New("eventstoretest: seen enough")

// collector is a subscription handler that keeps the records of some streams
// and stops once it has want of them. It fails the check if the store calls
// it concurrently or out of order.
type collector struct {
	t       *testing.T
	streams map[string]bool
	after   uint64
	want    int
	onCount map[int]func() // run when the count reaches the key (in the handler)
	busy    atomic.Int32
	last    uint64
	got     []eventlog.Record
	seen    chan int // count after each kept record
}

func newCollector(t *testing.T, after uint64, want int, streams ...string) *collector {
	c := &collector{t: t, streams: map[string]bool{}, after: after, want: want, last: after,
		onCount: map[int]func(){}, seen: make(chan int, want+16)}
	for _, s := range streams {
		c.streams[s] = true
	}
	return c
}

func (c *collector) handle(ctx context.Context, rec eventlog.Record) error {
	if c.busy.Add(1) != 1 {
		c.t.Error("subscription handler called concurrently")
	}
	defer c.busy.Add(-1)
	if rec.Position <= c.after {
		c.t.Errorf("subscription after %d delivered position %d (the start is exclusive)", c.after, rec.Position)
	}
	if rec.Position <= c.last && len(c.got) > 0 {
		c.t.Errorf("subscription delivered position %d after %d (not in log order)", rec.Position, c.last)
	}
	c.last = rec.Position
	if !c.streams[rec.Stream] {
		return nil
	}
	c.got = append(c.got, rec)
	if f := c.onCount[len(c.got)]; f != nil {
		f()
	}
	c.seen <- len(c.got)
	if len(c.got) >= c.want {
		return errEnough
	}
	return nil
}

// subscribe runs Subscribe in the background and returns its result channel.
func subscribe(ctx context.Context, st interface {
	Subscribe(context.Context, uint64, func(context.Context, eventlog.Record) error) error
}, after uint64, handle func(context.Context, eventlog.Record) error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- st.Subscribe(ctx, after, handle) }()
	return done
}

func testSubscribeCatchUpThenLive(t *testing.T, c *check) {
	st := c.open(t)
	a, b := stream("ctsub"), stream("ctsub")
	evs := events(5, "stored")
	c.append(t, st, a, eventlog.NoStream(), evs)
	stored := c.readStream(t, st, a)
	from := stored[1].Position // start after the 2nd event

	live := make([]eventlog.Proposed, 0, 5)
	liveA, liveB := events(3, "liveA"), events(2, "liveB")
	live = append(append(live, liveA[:2]...), liveB...)
	live = append(live, liveA[2])
	col := newCollector(t, from, 3+5, a, b)
	appendErr := make(chan error, 1)
	// Once caught up, append more from another goroutine: they must arrive
	// live, in log order.
	col.onCount[3] = func() {
		go func() {
			var err error
			defer func() { appendErr <- err }()
			if _, err = st.Append(c.ctx, a, eventlog.Exactly(5), liveA[:2]); err != nil {
				return
			}
			if _, err = st.Append(c.ctx, b, eventlog.NoStream(), liveB); err != nil {
				return
			}
			_, err = st.Append(c.ctx, a, eventlog.Exactly(7), liveA[2:])
		}()
	}
	err := <-subscribe(c.ctx, st, from, col.handle)
	if !errors.Is(err, errEnough) {
		t.Fatalf("subscribe returned %v, want the handler's error (got %d of %d events)", err, len(col.got), col.want)
	}
	if err := <-appendErr; err != nil {
		t.Fatalf("live append: %v", err)
	}
	want := append([]uuid.UUID{evs[2].ID, evs[3].ID, evs[4].ID}, live[0].ID, live[1].ID, live[2].ID, live[3].ID, live[4].ID)
	for i, r := range col.got {
		if r.ID != want[i] {
			t.Fatalf("subscription record %d is %s %s version %d, want event %s", i, r.Stream, r.ID, r.Version, want[i])
		}
	}
	sameEvent(t, col.got[0], evs[2], a, 3)
	if col.got[0].Metadata.Hash != stored[2].Metadata.Hash {
		t.Errorf("subscription delivers hash %s, stream read gives %s", col.got[0].Metadata.Hash, stored[2].Metadata.Hash)
	}
}

func testSubscribeFromEnd(t *testing.T, c *check) {
	st := c.open(t)
	s := stream("ctsubend")
	c.append(t, st, s, eventlog.NoStream(), events(3, "old"))
	end := c.lastPosition(t, st)
	col := newCollector(t, end, 2, s)
	done := subscribe(c.ctx, st, end, col.handle)
	// Give the subscription a moment to reach the live phase; correctness
	// does not depend on it (the events come either way).
	time.Sleep(20 * time.Millisecond)
	fresh := events(2, "new")
	c.append(t, st, s, eventlog.Exactly(3), fresh[:1])
	select {
	case n := <-col.seen:
		if n != 1 {
			t.Fatalf("first live delivery made the count %d", n)
		}
	case err := <-done:
		t.Fatalf("subscription ended early: %v", err)
	case <-c.ctx.Done():
		t.Fatal("live event was never delivered")
	}
	c.append(t, st, s, eventlog.Exactly(4), fresh[1:])
	if err := <-done; !errors.Is(err, errEnough) {
		t.Fatalf("subscribe returned %v, want the handler's error", err)
	}
	if col.got[0].ID != fresh[0].ID || col.got[1].ID != fresh[1].ID || col.got[0].Version != 4 {
		t.Errorf("subscription from the end delivered %s v%d, %s v%d; want the two new events", col.got[0].ID, col.got[0].Version, col.got[1].ID, col.got[1].Version)
	}
}

func testSubscribeHandlerError(t *testing.T, c *check) {
	st := c.open(t)
	s := stream("ctsuberr")
	c.append(t, st, s, eventlog.NoStream(), events(4, "x"))
	recs := c.readStream(t, st, s)
	boom := errors.New("projector failed")
	calls := 0
	err := st.Subscribe(c.ctx, recs[0].Position-1, func(ctx context.Context, r eventlog.Record) error {
		if r.Stream != s {
			return nil
		}
		calls++
		if r.Version == 2 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("subscribe returned %v, want the handler's error", err)
	}
	if calls != 2 {
		t.Errorf("handler called %d times for the stream, want 2 (no more after its error)", calls)
	}
}

func testSubscribeContextEnd(t *testing.T, c *check) {
	st := c.open(t)
	s := stream("ctsubctx")
	c.append(t, st, s, eventlog.NoStream(), events(2, "x"))
	ctx, cancel := context.WithCancel(c.ctx)
	col := newCollector(t, 0, 1000, s)
	done := subscribe(ctx, st, c.lastPosition(t, st)-1, col.handle)
	select {
	case <-col.seen:
	case err := <-done:
		t.Fatalf("subscription ended before delivering: %v", err)
	case <-c.ctx.Done():
		t.Fatal("no delivery")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("subscribe after cancel returned %v, want context.Canceled", err)
		}
	case <-c.ctx.Done():
		t.Fatal("subscribe did not return after its context was cancelled")
	}
}

func testSubscribeEndsOnClose(t *testing.T, c *check) {
	st, err := c.b.Open(c.ctx)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	closed := false
	defer func() {
		if !closed {
			st.Close()
		}
	}()
	s := stream("ctsubclose")
	start := c.lastPosition(t, st)
	col := newCollector(t, start, 1000, s)
	done := subscribe(c.ctx, st, start, col.handle)
	c.append(t, st, s, eventlog.NoStream(), events(1, "x"))
	select {
	case <-col.seen: // live now
	case err := <-done:
		t.Fatalf("subscription ended early: %v", err)
	case <-c.ctx.Done():
		t.Fatal("no delivery")
	}
	if err := st.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	closed = true
	select {
	case err := <-done:
		if err == nil {
			t.Error("subscribe returned nil after the store closed, want an error")
		}
	case <-c.ctx.Done():
		t.Fatal("subscribe did not return after the store was closed")
	}
}
