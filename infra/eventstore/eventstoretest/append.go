package eventstoretest

import (
	"errors"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

func testAppendAndReadStream(t *testing.T, c *check) {
	st := c.open(t)
	s, other := stream("ctread"), stream("ctread")
	first := events(5, "a")
	res := c.append(t, st, s, eventlog.NoStream(), first)
	if res.FirstVersion != 1 || res.LastVersion != 5 || res.LastPosition == 0 {
		t.Fatalf("first append: result %+v, want versions 1..5 and a position", res)
	}
	c.append(t, st, other, eventlog.NoStream(), events(2, "other"))
	second := events(2, "b")
	res2 := c.append(t, st, s, eventlog.Exactly(5), second)
	if res2.FirstVersion != 6 || res2.LastVersion != 7 || res2.LastPosition <= res.LastPosition {
		t.Fatalf("second append: result %+v, want versions 6..7 after position %d", res2, res.LastPosition)
	}
	all := append(append([]eventlog.Proposed{}, first...), second...)

	recs := c.readStream(t, st, s)
	if len(recs) != 7 {
		t.Fatalf("read %s: %d records, want 7", s, len(recs))
	}
	for i, rec := range recs {
		sameEvent(t, rec, all[i], s, uint64(i+1))
		if i > 0 && rec.Position <= recs[i-1].Position {
			t.Errorf("version %d has position %d, not after %d", rec.Version, rec.Position, recs[i-1].Position)
		}
	}
	if recs[0].Metadata.Prev != "" {
		t.Errorf("first event of a stream has prev %q, want empty", recs[0].Metadata.Prev)
	}
	if recs[4].Position != res.LastPosition || recs[6].Position != res2.LastPosition {
		t.Errorf("positions %d and %d differ from the append results %d and %d",
			recs[4].Position, recs[6].Position, res.LastPosition, res2.LastPosition)
	}

	for _, tc := range []struct {
		name  string
		from  uint64
		dir   eventlog.Direction
		limit int
		want  []uint64
	}{
		{"forwards from the start", 1, eventlog.Forwards, 100, []uint64{1, 2, 3, 4, 5, 6, 7}},
		{"forwards with a limit", 3, eventlog.Forwards, 2, []uint64{3, 4}},
		{"forwards to the end", 6, eventlog.Forwards, 10, []uint64{6, 7}},
		{"forwards past the end", 8, eventlog.Forwards, 10, []uint64{}},
		{"backwards from the end", 0, eventlog.Backwards, 3, []uint64{7, 6, 5}},
		{"backwards from a version", 4, eventlog.Backwards, 10, []uint64{4, 3, 2, 1}},
		{"backwards with limit 1", 2, eventlog.Backwards, 1, []uint64{2}},
		{"backwards from beyond the end", 100, eventlog.Backwards, 2, []uint64{7, 6}},
	} {
		got, err := st.ReadStream(c.ctx, s, tc.from, tc.dir, tc.limit)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !equalU64(versions(got), tc.want) {
			t.Errorf("%s: versions %v, want %v", tc.name, versions(got), tc.want)
		}
		for _, r := range got {
			if r.Stream != s {
				t.Errorf("%s: record of stream %s leaked into %s", tc.name, r.Stream, s)
			}
		}
	}

	missing, err := st.ReadStream(c.ctx, stream("ctmissing"), 1, eventlog.Forwards, 10)
	if err != nil || len(missing) != 0 {
		t.Errorf("read of a stream that does not exist: %d records, err %v; want none and no error", len(missing), err)
	}
	missing, err = st.ReadStream(c.ctx, stream("ctmissing"), 0, eventlog.Backwards, 10)
	if err != nil || len(missing) != 0 {
		t.Errorf("backwards read of a stream that does not exist: %d records, err %v; want none and no error", len(missing), err)
	}
}

func testReadAll(t *testing.T, c *check) {
	st := c.open(t)
	start := c.lastPosition(t, st)
	a, b := stream("ctall"), stream("ctall")
	var order []eventlog.Proposed
	add := func(s string, exp eventlog.ExpectedVersion, evs []eventlog.Proposed) {
		c.append(t, st, s, exp, evs)
		order = append(order, evs...)
	}
	add(a, eventlog.NoStream(), events(2, "a1"))
	add(b, eventlog.NoStream(), events(3, "b1"))
	add(a, eventlog.Exactly(2), events(1, "a2"))

	recs := c.readAllOf(t, st, start, a, b)
	if len(recs) != len(order) {
		t.Fatalf("read all: %d records of the check's streams, want %d", len(recs), len(order))
	}
	for i, r := range recs {
		if r.ID != order[i].ID {
			t.Fatalf("read all: record %d is event %s, want %s (log order is append order)", i, r.ID, order[i].ID)
		}
		if r.Position <= start {
			t.Errorf("read all after %d returned position %d", start, r.Position)
		}
	}
	if c.h.GapFreePositions {
		for i, r := range recs {
			if r.Position != start+uint64(i)+1 {
				t.Errorf("record %d has position %d, want %d (gap-free)", i, r.Position, start+uint64(i)+1)
			}
		}
	}

	// after is exclusive and limit is honoured.
	p3 := recs[2].Position
	page, err := st.ReadAll(c.ctx, p3, 2)
	if err != nil {
		t.Fatalf("read all after %d: %v", p3, err)
	}
	if len(page) != 2 {
		t.Fatalf("read all after %d limit 2: %d records", p3, len(page))
	}
	if page[0].Position <= p3 || page[1].Position <= page[0].Position {
		t.Errorf("read all after %d: positions %d, %d", p3, page[0].Position, page[1].Position)
	}
	if page[0].Position == p3 || page[0].ID == recs[2].ID {
		t.Errorf("read all after %d returned the event at %d itself", p3, p3)
	}
	if c.h.GapFreePositions && (page[0].ID != recs[3].ID || page[1].ID != recs[4].ID) {
		t.Errorf("read all after %d: got events %s, %s, want %s, %s", p3, page[0].ID, page[1].ID, recs[3].ID, recs[4].ID)
	}
	last := recs[len(recs)-1].Position
	end, err := st.ReadAll(c.ctx, last, 10)
	if err != nil {
		t.Fatalf("read all after the end: %v", err)
	}
	for _, r := range end {
		if r.Stream == a || r.Stream == b {
			t.Errorf("read all after the last event returned %s version %d", r.Stream, r.Version)
		}
	}
}

func testExpectedVersion(t *testing.T, c *check) {
	st := c.open(t)
	s := stream("ctexp")
	_, err := st.Append(c.ctx, s, eventlog.Exactly(3), events(1, "x"))
	wrongVersion(t, err, s, 0)

	c.append(t, st, s, eventlog.NoStream(), events(2, "first"))
	for _, exp := range []eventlog.ExpectedVersion{eventlog.NoStream(), eventlog.Exactly(1), eventlog.Exactly(3), eventlog.Exactly(0)} {
		_, err := st.Append(c.ctx, s, exp, events(2, "late"))
		wrongVersion(t, err, s, 2)
		var wev *eventlog.WrongExpectedVersionError
		if errors.As(err, &wev) && wev.Expected != exp {
			t.Errorf("wrong-version error carries expected %s, want %s", wev.Expected, exp)
		}
	}
	res := c.append(t, st, s, eventlog.Any(), events(1, "any"))
	if res.FirstVersion != 3 || res.LastVersion != 3 {
		t.Errorf("append with Any: result %+v, want version 3", res)
	}
	res = c.append(t, st, s, eventlog.Exactly(3), events(1, "exact"))
	if res.FirstVersion != 4 {
		t.Errorf("append with Exactly(3): result %+v, want version 4", res)
	}
	if got := c.readStream(t, st, s); !equalU64(versions(got), []uint64{1, 2, 3, 4}) {
		t.Errorf("after refused appends the stream has versions %v, want [1 2 3 4]", versions(got))
	}
	fresh := stream("ctexp")
	res = c.append(t, st, fresh, eventlog.Any(), events(2, "any-new"))
	if res.FirstVersion != 1 || res.LastVersion != 2 {
		t.Errorf("append with Any to a new stream: %+v, want versions 1..2", res)
	}
}

func testIdempotentRetry(t *testing.T, c *check) {
	st := c.open(t)
	s := stream("ctidem")
	evs := events(3, "once")
	orig := c.append(t, st, s, eventlog.NoStream(), evs)
	before := c.lastPosition(t, st)

	if orig.Replayed {
		t.Fatalf("first append %+v says Replayed", orig)
	}
	again := c.append(t, st, s, eventlog.NoStream(), evs)
	if !replayOf(again, orig) {
		t.Fatalf("retry with the same expected version: %+v, want the original %+v", again, orig)
	}
	next := c.append(t, st, s, eventlog.Exactly(3), events(1, "next"))
	if next.FirstVersion != 4 {
		t.Fatalf("append after retry: %+v, want version 4", next)
	}
	afterNext := c.lastPosition(t, st)
	// A retry arriving late: its expected version is stale, or Any, or (as
	// when a command reloads and decides again) the current version.
	for _, exp := range []eventlog.ExpectedVersion{eventlog.NoStream(), eventlog.Any(), eventlog.Exactly(4), eventlog.Exactly(2)} {
		got, err := st.Append(c.ctx, s, exp, evs)
		if err != nil {
			t.Fatalf("retry with expected %s: %v, want the original result", exp, err)
		}
		if !replayOf(got, orig) {
			t.Fatalf("retry with expected %s: %+v, want the original %+v, Replayed", exp, got, orig)
		}
	}
	single := events(1, "single")
	sres := c.append(t, st, s, eventlog.Exactly(4), single)
	if got := c.append(t, st, s, eventlog.Exactly(4), single); !replayOf(got, sres) {
		t.Errorf("retry of a one-event append: %+v, want %+v", got, sres)
	}

	recs := c.readStream(t, st, s)
	if !equalU64(versions(recs), []uint64{1, 2, 3, 4, 5}) {
		t.Fatalf("after retries the stream has versions %v, want [1 2 3 4 5]", versions(recs))
	}
	if c.h.GapFreePositions {
		if before != orig.LastPosition || afterNext != next.LastPosition {
			t.Errorf("retries moved the last position: %d and %d, want %d and %d", before, afterNext, orig.LastPosition, next.LastPosition)
		}
		if last := c.lastPosition(t, st); last != sres.LastPosition {
			t.Errorf("last position %d after retries, want %d", last, sres.LastPosition)
		}
	}

	// A different append at a taken version is a conflict, not a retry.
	_, err := st.Append(c.ctx, s, eventlog.Exactly(2), events(1, "different"))
	wrongVersion(t, err, s, 5)
	_, err = st.Append(c.ctx, s, eventlog.NoStream(), events(2, "different"))
	wrongVersion(t, err, s, 5)
}

// replayOf: got answers a retry of the append that answered orig — the
// original result, marked Replayed because nothing new was written.
func replayOf(got, orig eventlog.AppendResult) bool {
	if !got.Replayed {
		return false
	}
	got.Replayed = false
	return got == orig
}

// testConcurrentOneStream: in each round 64 goroutines append one event to
// the same stream with the same expected version; exactly one wins and every
// other gets a wrong-version error naming the winner's version.
func testConcurrentOneStream(t *testing.T, c *check) {
	st := c.open(t)
	s := stream("ctrace")
	const writers, rounds = 64, 3
	var winners []uuid.UUID
	for round := 0; round < rounds; round++ {
		evs := make([][]eventlog.Proposed, writers)
		for i := range evs {
			evs[i] = events(1, "race")
		}
		results := make([]eventlog.AppendResult, writers)
		errs := make([]error, writers)
		startGun := make(chan struct{})
		var wg sync.WaitGroup
		for i := 0; i < writers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-startGun
				results[i], errs[i] = st.Append(c.ctx, s, eventlog.Exactly(uint64(round)), evs[i])
			}()
		}
		close(startGun)
		wg.Wait()
		won := -1
		for i, err := range errs {
			if err == nil {
				if won >= 0 {
					t.Fatalf("round %d: writers %d and %d both won version %d", round, won, i, round+1)
				}
				won = i
				if results[i].FirstVersion != uint64(round+1) || results[i].LastVersion != uint64(round+1) {
					t.Fatalf("round %d: winner got %+v, want version %d", round, results[i], round+1)
				}
				continue
			}
			wrongVersion(t, err, s, uint64(round+1))
		}
		if won < 0 {
			t.Fatalf("round %d: no writer won", round)
		}
		winners = append(winners, evs[won][0].ID)
	}
	recs := c.readStream(t, st, s)
	if len(recs) != rounds {
		t.Fatalf("stream has %d events after %d rounds, want %d", len(recs), rounds, rounds)
	}
	for i, r := range recs {
		if r.ID != winners[i] {
			t.Errorf("version %d holds event %s, want the winner %s", r.Version, r.ID, winners[i])
		}
	}
	if b := eventlog.VerifyStream(recs); b != nil {
		t.Errorf("integrity after concurrent appends: %v", b)
	}
}

// testConcurrentRetryOneStream: 16 goroutines each append 4 events to one
// stream, re-reading the version after every conflict, as the command
// runner does. All 64 land, each version once.
func testConcurrentRetryOneStream(t *testing.T, c *check) {
	st := c.open(t)
	s := stream("ctretry")
	const writers, each = 16, 4
	ids := make(chan uuid.UUID, writers*each)
	errc := make(chan error, writers)
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < each; k++ {
				ev := events(1, "retry")
				for {
					recs, err := st.ReadStream(c.ctx, s, 0, eventlog.Backwards, 1)
					if err != nil {
						errc <- err
						return
					}
					var v uint64
					if len(recs) == 1 {
						v = recs[0].Version
					}
					_, err = st.Append(c.ctx, s, eventlog.Exactly(v), ev)
					var wev *eventlog.WrongExpectedVersionError
					if errors.As(err, &wev) {
						if wev.Actual <= v {
							errc <- errors.New("wrong-version error with an actual version not beyond the one read")
							return
						}
						continue
					}
					if err != nil {
						errc <- err
						return
					}
					ids <- ev[0].ID
					break
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	close(ids)
	for err := range errc {
		t.Fatalf("concurrent retrying writer: %v", err)
	}
	want := map[uuid.UUID]bool{}
	for id := range ids {
		want[id] = true
	}
	recs := c.readStream(t, st, s)
	if len(recs) != writers*each {
		t.Fatalf("stream has %d events, want %d", len(recs), writers*each)
	}
	for i, r := range recs {
		if r.Version != uint64(i+1) {
			t.Fatalf("record %d has version %d", i, r.Version)
		}
		if !want[r.ID] {
			t.Fatalf("version %d holds event %s that no writer saw succeed (or a duplicate)", r.Version, r.ID)
		}
		delete(want, r.ID)
	}
	if b := eventlog.VerifyStream(recs); b != nil {
		t.Errorf("integrity: %v", b)
	}
}

// testConcurrentManyStreams: 64 goroutines, each with its own stream, append
// one event at a time; all succeed and the log holds them in a consistent
// order with (when promised) gap-free positions.
func testConcurrentManyStreams(t *testing.T, c *check) {
	st := c.open(t)
	const writers, each = 64, 8
	start := c.lastPosition(t, st)
	streams := make([]string, writers)
	for i := range streams {
		streams[i] = stream("ctmany")
	}
	positions := make(chan uint64, writers*each)
	errc := make(chan error, writers)
	startGun := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGun
			for k := 0; k < each; k++ {
				res, err := st.Append(c.ctx, streams[i], eventlog.Exactly(uint64(k)), events(1, "many"))
				if err != nil {
					errc <- err
					return
				}
				if res.FirstVersion != uint64(k+1) {
					errc <- errors.New("unexpected version in append result")
					return
				}
				positions <- res.LastPosition
			}
		}()
	}
	close(startGun)
	wg.Wait()
	close(errc)
	close(positions)
	for err := range errc {
		t.Fatalf("append to its own stream failed: %v", err)
	}
	reported := map[uint64]bool{}
	for p := range positions {
		if reported[p] {
			t.Fatalf("position %d reported to two appends", p)
		}
		reported[p] = true
	}

	recs := c.readAllOf(t, st, start, streams...)
	if len(recs) != writers*each {
		t.Fatalf("log holds %d of the %d events", len(recs), writers*each)
	}
	next := map[string]uint64{}
	for i, r := range recs {
		next[r.Stream]++
		if r.Version != next[r.Stream] {
			t.Fatalf("%s: version %d appears where %d was due", r.Stream, r.Version, next[r.Stream])
		}
		if !reported[r.Position] {
			t.Errorf("position %d was not reported by any append", r.Position)
		}
		if c.h.GapFreePositions && r.Position != start+uint64(i)+1 {
			t.Fatalf("record %d has position %d, want %d (gap-free)", i, r.Position, start+uint64(i)+1)
		}
	}
	if c.h.GapFreePositions {
		if last := c.lastPosition(t, st); last != start+writers*each {
			t.Errorf("last position %d, want %d", last, start+writers*each)
		}
	}
}
