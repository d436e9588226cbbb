package eventstoretest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/eventstore"
)

// check is the state of one contract check.
type check struct {
	ctx context.Context
	h   Harness
	b   Backend
}

// open opens a store on the check's backend and closes it when the check
// ends (closing twice is part of the contract: Close is idempotent).
func (c *check) open(t *testing.T) eventstore.Store {
	t.Helper()
	st, err := c.b.Open(c.ctx)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return st
}

// stream returns a stream name no other check or run uses.
func stream(category string) string {
	return category + "-" + uuid.NewString()
}

const eventType = "contract.Happened.v1"

// base is a fixed time with nanoseconds, so a store that rounds or shifts
// occurred-at times is caught.
var base = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

// events makes n valid events; tag goes into the data to tell them apart.
func events(n int, tag string) []eventlog.Proposed {
	out := make([]eventlog.Proposed, n)
	for i := range out {
		id := uuid.New()
		data, _ := json.Marshal(map[string]any{"tag": tag, "n": i, "note": "Tuntutan perjalanan — Melaka"})
		out[i] = eventlog.Proposed{
			ID:         id,
			Type:       eventType,
			OccurredAt: base.Add(time.Duration(i) * time.Millisecond),
			Data:       data,
			Metadata: eventlog.Metadata{
				CorrelationID: "corr-" + tag,
				CausationID:   id.String(),
				Actor:         eventlog.Actor{Kind: eventlog.ActorUser, ID: "user-" + tag},
				SourceIP:      "10.1.2.3",
				UserAgent:     "contract-suite/1",
			},
		}
	}
	return out
}

func (c *check) append(t *testing.T, st eventstore.Store, s string, exp eventlog.ExpectedVersion, evs []eventlog.Proposed) eventlog.AppendResult {
	t.Helper()
	res, err := st.Append(c.ctx, s, exp, evs)
	if err != nil {
		t.Fatalf("append %d events to %s (expected %s): %v", len(evs), s, exp, err)
	}
	return res
}

// readStream reads a whole stream forwards.
func (c *check) readStream(t *testing.T, st eventstore.Store, s string) []eventlog.Record {
	t.Helper()
	var all []eventlog.Record
	from := uint64(1)
	for {
		recs, err := st.ReadStream(c.ctx, s, from, eventlog.Forwards, 100)
		if err != nil {
			t.Fatalf("read %s from %d: %v", s, from, err)
		}
		all = append(all, recs...)
		if len(recs) < 100 {
			return all
		}
		from = recs[len(recs)-1].Version + 1
	}
}

// readAllOf reads the log after position after and keeps the records of the
// given streams, checking on the way that positions strictly increase.
func (c *check) readAllOf(t *testing.T, st eventstore.Store, after uint64, streams ...string) []eventlog.Record {
	t.Helper()
	want := map[string]bool{}
	for _, s := range streams {
		want[s] = true
	}
	var out []eventlog.Record
	pos := after
	for {
		recs, err := st.ReadAll(c.ctx, pos, 250)
		if err != nil {
			t.Fatalf("read all after %d: %v", pos, err)
		}
		for _, r := range recs {
			if r.Position <= pos {
				t.Fatalf("read all after %d: position %d does not increase (previous %d)", after, r.Position, pos)
			}
			pos = r.Position
			if want[r.Stream] {
				out = append(out, r)
			}
		}
		if len(recs) < 250 {
			return out
		}
	}
}

func (c *check) lastPosition(t *testing.T, st eventstore.Store) uint64 {
	t.Helper()
	p, err := st.LastPosition(c.ctx)
	if err != nil {
		t.Fatalf("last position: %v", err)
	}
	return p
}

// sameEvent checks that a stored record is the proposed event as written.
func sameEvent(t *testing.T, rec eventlog.Record, p eventlog.Proposed, s string, version uint64) {
	t.Helper()
	where := fmt.Sprintf("%s version %d", s, version)
	if rec.Stream != s || rec.Version != version {
		t.Fatalf("%s: got record of %s version %d", where, rec.Stream, rec.Version)
	}
	if rec.ID != p.ID {
		t.Errorf("%s: ID %s, want %s", where, rec.ID, p.ID)
	}
	if rec.Type != p.Type {
		t.Errorf("%s: type %q, want %q", where, rec.Type, p.Type)
	}
	if !rec.OccurredAt.Equal(p.OccurredAt) || rec.OccurredAt.Location() != time.UTC {
		t.Errorf("%s: occurred at %s, want %s in UTC", where, rec.OccurredAt, p.OccurredAt.UTC())
	}
	if !bytes.Equal(rec.Data, p.Data) {
		t.Errorf("%s: data %s, want %s", where, rec.Data, p.Data)
	}
	got, want := rec.Metadata, p.Metadata
	got.Prev, got.Hash = "", ""
	if got != want {
		t.Errorf("%s: metadata %+v, want %+v", where, got, want)
	}
	if len(rec.Metadata.Hash) != 64 {
		t.Errorf("%s: hash %q is not a SHA-256 in hex", where, rec.Metadata.Hash)
	}
	if rec.Position == 0 {
		t.Errorf("%s: position 0 (positions are 1-based)", where)
	}
}

func versions(recs []eventlog.Record) []uint64 {
	out := make([]uint64, len(recs))
	for i, r := range recs {
		out[i] = r.Version
	}
	return out
}

func equalU64(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// wrongVersion checks err is a *WrongExpectedVersionError with the actual
// version and stream.
func wrongVersion(t *testing.T, err error, s string, actual uint64) {
	t.Helper()
	var wev *eventlog.WrongExpectedVersionError
	if !errors.As(err, &wev) {
		t.Fatalf("append to %s: got %v, want *eventlog.WrongExpectedVersionError with actual %d", s, err, actual)
	}
	if wev.Actual != actual || wev.Stream != s {
		t.Fatalf("append to %s: wrong-version error says stream %q actual %d, want %q actual %d", s, wev.Stream, wev.Actual, s, actual)
	}
	if !strings.Contains(err.Error(), "wrong expected version") {
		t.Errorf("error text %q does not say what went wrong", err)
	}
}
