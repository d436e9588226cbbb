package eventstoretest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

func testReopen(t *testing.T, c *check) {
	st, err := c.b.Open(c.ctx)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	a, b := stream("ctreopen"), stream("ctreopen")
	evsA := events(3, "a")
	resA := c.append(t, st, a, eventlog.NoStream(), evsA)
	c.append(t, st, b, eventlog.NoStream(), events(2, "b"))
	beforeA := c.readStream(t, st, a)
	beforeB := c.readStream(t, st, b)
	last := c.lastPosition(t, st)
	if err := st.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	st2 := c.open(t)
	if got := c.lastPosition(t, st2); got < last || (c.h.GapFreePositions && got != last) {
		t.Errorf("last position after reopen %d, before %d", got, last)
	}
	for _, tc := range []struct {
		s      string
		before []eventlog.Record
	}{{a, beforeA}, {b, beforeB}} {
		after := c.readStream(t, st2, tc.s)
		if len(after) != len(tc.before) {
			t.Fatalf("%s has %d events after reopen, %d before", tc.s, len(after), len(tc.before))
		}
		for i := range after {
			x, y := after[i], tc.before[i]
			if x.ID != y.ID || x.Position != y.Position || x.Version != y.Version || x.Metadata != y.Metadata ||
				string(x.Data) != string(y.Data) || !x.OccurredAt.Equal(y.OccurredAt) || x.Type != y.Type {
				t.Errorf("%s version %d differs after reopen:\n%+v\n%+v", tc.s, x.Version, x, y)
			}
		}
	}
	// The reopened store continues versions and the chain, and still
	// recognises a retry of an append made before the close.
	if got, err := st2.Append(c.ctx, a, eventlog.NoStream(), evsA); err != nil || !replayOf(got, resA) {
		t.Errorf("retry after reopen: %+v, %v; want the original %+v", got, err, resA)
	}
	_, err = st2.Append(c.ctx, a, eventlog.NoStream(), events(1, "late"))
	wrongVersion(t, err, a, 3)
	res := c.append(t, st2, a, eventlog.Exactly(3), events(2, "more"))
	if res.FirstVersion != 4 || res.LastVersion != 5 || res.LastPosition <= last {
		t.Errorf("append after reopen: %+v, want versions 4..5 after position %d", res, last)
	}
	if br := eventlog.VerifyStream(c.readStream(t, st2, a)); br != nil {
		t.Errorf("chain across reopen: %v", br)
	}
}

func testIntegrity(t *testing.T, c *check) {
	st := c.open(t)
	start := c.lastPosition(t, st)
	streams := []string{stream("ctchain"), stream("ctchain"), stream("ctchain")}
	ver := map[string]uint64{}
	for round := 0; round < 4; round++ {
		for i, s := range streams {
			n := 1 + (round+i)%3
			c.append(t, st, s, eventlog.Exactly(ver[s]), events(n, s))
			ver[s] += uint64(n)
		}
	}
	recs := c.readAllOf(t, st, start, streams...)
	v := eventlog.NewChainVerifier()
	for _, r := range recs {
		if br := v.Add(r); br != nil {
			t.Fatalf("untouched log does not verify: %v", br)
		}
	}
	if v.Verified() != uint64(len(recs)) {
		t.Errorf("verifier counted %d of %d records", v.Verified(), len(recs))
	}
	for _, s := range streams {
		if br := eventlog.VerifyStream(c.readStream(t, st, s)); br != nil {
			t.Fatalf("stream %s does not verify: %v", s, br)
		}
	}

	// Metadata that is not UTF-8 (a browser's User-Agent may carry any
	// byte) is stored as it was sealed: the event verifies when read back,
	// so no request can plant a "tampered" event.
	bad := stream("ctutf8")
	evs := events(2, bad)
	evs[0].Metadata.UserAgent = "Mozilla\xff/5.0"
	evs[1].Metadata.SourceIP = "10.0.0.1\xc3"
	c.append(t, st, bad, eventlog.NoStream(), evs)
	got := c.readStream(t, st, bad)
	if br := eventlog.VerifyStream(got); br != nil {
		t.Fatalf("events with metadata that is not UTF-8 fail verification once stored: %v", br)
	}
	if ua := got[0].Metadata.UserAgent; ua != "Mozilla\uFFFD/5.0" {
		t.Errorf("stored user agent %q, want the byte replaced", ua)
	}

	if c.b.Tamper == nil {
		t.Skip("the backend has no Tamper hook (append-only storage): tamper detection not checked here")
	}
	victim := c.readStream(t, st, streams[1])[1] // version 2
	if err := c.b.Tamper(c.ctx, victim); err != nil {
		t.Fatalf("tamper: %v", err)
	}
	recs = c.readAllOf(t, st, start, streams...)
	v = eventlog.NewChainVerifier()
	var broken *eventlog.BrokenLink
	for _, r := range recs {
		if broken = v.Add(r); broken != nil {
			break
		}
	}
	if broken == nil {
		t.Fatal("a tampered event passed verification of the whole log")
	}
	if broken.Stream != victim.Stream || broken.Version != victim.Version || broken.Position != victim.Position || broken.EventID != victim.ID.String() {
		t.Fatalf("verification reported %v, want the tampered event %s version %d at position %d", broken, victim.Stream, victim.Version, victim.Position)
	}
	br := eventlog.VerifyStream(c.readStream(t, st, streams[1]))
	if br == nil || br.Version != victim.Version {
		t.Fatalf("stream verification reported %v, want version %d", br, victim.Version)
	}
	if br := eventlog.VerifyStream(c.readStream(t, st, streams[0])); br != nil {
		t.Errorf("an untouched stream fails verification: %v", br)
	}
}

func testLimits(t *testing.T, c *check) {
	st := c.open(t)
	start := c.lastPosition(t, st)
	for _, bad := range []string{
		"", "account", "-123", "Account-1", "1account-x", "account-", "acc$ount-1", "account-a/b",
		"account-a b", "$all", "account-" + strings.Repeat("x", eventlog.MaxStreamLength),
	} {
		_, err := st.Append(c.ctx, bad, eventlog.Any(), events(1, "x"))
		if !errors.Is(err, eventlog.ErrInvalidStream) {
			t.Errorf("append to stream %q: %v, want eventlog.ErrInvalidStream", bad, err)
		}
	}
	s := stream("ctlimit")

	big := events(1, "big")
	huge, _ := json.Marshal(map[string]string{"blob": strings.Repeat("a", eventlog.MaxEventSize)})
	big[0].Data = huge
	if _, err := st.Append(c.ctx, s, eventlog.Any(), big); !errors.Is(err, eventlog.ErrEventTooLarge) {
		t.Errorf("append of a %d-byte event: %v, want eventlog.ErrEventTooLarge", len(huge), err)
	}
	tooMany := events(eventlog.MaxBatchEvents+1, "many")
	if _, err := st.Append(c.ctx, s, eventlog.Any(), tooMany); !errors.Is(err, eventlog.ErrBatchTooLarge) {
		t.Errorf("append of %d events: %v, want eventlog.ErrBatchTooLarge", len(tooMany), err)
	}
	if _, err := st.Append(c.ctx, s, eventlog.Any(), nil); !errors.Is(err, eventlog.ErrEmptyAppend) {
		t.Errorf("append of no events: %v, want eventlog.ErrEmptyAppend", err)
	}
	badEvents := map[string]func([]eventlog.Proposed){
		"no ID":            func(e []eventlog.Proposed) { e[0].ID = uuid.Nil },
		"bad type name":    func(e []eventlog.Proposed) { e[1].Type = "HappenedWithoutVersion" },
		"no time":          func(e []eventlog.Proposed) { e[0].OccurredAt = time.Time{} },
		"invalid JSON":     func(e []eventlog.Proposed) { e[1].Data = []byte(`{"a":`) },
		"duplicate ID":     func(e []eventlog.Proposed) { e[1].ID = e[0].ID },
		"second too large": func(e []eventlog.Proposed) { e[1].Data = huge },
	}
	for name, spoil := range badEvents {
		evs := events(2, "bad")
		spoil(evs)
		_, err := st.Append(c.ctx, s, eventlog.Any(), evs)
		if err == nil {
			t.Errorf("append with %s succeeded", name)
			continue
		}
		if !errors.Is(err, eventlog.ErrInvalidEvent) && !errors.Is(err, eventlog.ErrEventTooLarge) {
			t.Errorf("append with %s: %v, want eventlog.ErrInvalidEvent", name, err)
		}
	}
	if got := c.readStream(t, st, s); len(got) != 0 {
		t.Fatalf("refused appends left %d events in %s", len(got), s)
	}
	if c.h.GapFreePositions {
		if last := c.lastPosition(t, st); last != start {
			t.Errorf("refused appends moved the last position from %d to %d", start, last)
		}
	}

	// The limits themselves are allowed.
	full := events(eventlog.MaxBatchEvents, "full")
	res := c.append(t, st, s, eventlog.NoStream(), full)
	if res.LastVersion != eventlog.MaxBatchEvents {
		t.Errorf("append of %d events: %+v", eventlog.MaxBatchEvents, res)
	}
	long := "c-" + uuid.NewString()
	long += strings.Repeat("y", eventlog.MaxStreamLength-len(long))
	if len(long) != eventlog.MaxStreamLength {
		t.Fatalf("test bug: stream name of %d characters", len(long))
	}
	c.append(t, st, long, eventlog.NoStream(), events(1, "long"))
	if got := c.readStream(t, st, long); len(got) != 1 {
		t.Errorf("stream with a %d-character name holds %d events", len(long), len(got))
	}
	sizeable := events(1, "sizeable")
	sizeable[0].Data, _ = json.Marshal(map[string]string{"blob": strings.Repeat("b", 256<<10)})
	c.append(t, st, stream("ctlimit"), eventlog.NoStream(), sizeable)
}

func testLastPositionAndPing(t *testing.T, c *check) {
	st := c.open(t)
	if err := st.Ping(c.ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	start := c.lastPosition(t, st)
	res := c.append(t, st, stream("ctlast"), eventlog.NoStream(), events(3, "x"))
	last := c.lastPosition(t, st)
	if last < res.LastPosition || (c.h.GapFreePositions && (last != res.LastPosition || last != start+3)) {
		t.Errorf("last position %d after an append ending at %d (start %d)", last, res.LastPosition, start)
	}
}

func testClosed(t *testing.T, c *check) {
	st, err := c.b.Open(c.ctx)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	s := stream("ctclosed")
	c.append(t, st, s, eventlog.NoStream(), events(1, "x"))
	if err := st.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := st.Append(c.ctx, s, eventlog.Exactly(1), events(1, "y")); err == nil {
		t.Error("append on a closed store succeeded")
	}
	if _, err := st.ReadStream(c.ctx, s, 1, eventlog.Forwards, 10); err == nil {
		t.Error("read on a closed store succeeded")
	}
	if err := st.Ping(c.ctx); err == nil {
		t.Error("ping on a closed store succeeded")
	}
}
