package kurrent

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

func TestRevisionForMapsOneBasedVersionsToZeroBasedRevisions(t *testing.T) {
	cases := []struct {
		version uint64
		want    esdb.ExpectedRevision
	}{
		{0, esdb.NoStream{}},
		{1, esdb.Revision(0)},
		{2, esdb.Revision(1)},
		{1000, esdb.Revision(999)},
	}
	for _, c := range cases {
		if got := revisionFor(c.version); !reflect.DeepEqual(got, c.want) {
			t.Errorf("revisionFor(%d) = %#v, want %#v", c.version, got, c.want)
		}
	}
	for _, rev := range []uint64{0, 1, 41} {
		if got := versionOf(rev); got != rev+1 {
			t.Errorf("versionOf(%d) = %d, want %d", rev, got, rev+1)
		}
		// The round trip: the revision expected after an event is the event's own.
		if got := revisionFor(versionOf(rev)); !reflect.DeepEqual(got, esdb.Revision(rev)) {
			t.Errorf("revisionFor(versionOf(%d)) = %#v", rev, got)
		}
	}
}

func TestPositionEncoding(t *testing.T) {
	if got := positionOf(esdb.Position{Commit: 4096, Prepare: 4096}); got != 4096 {
		t.Errorf("positionOf = %d, want the commit position 4096", got)
	}
	if got := positionOf(esdb.Position{Commit: math.MaxUint64, Prepare: math.MaxUint64}); got != 0 {
		t.Errorf("positionOf(no position) = %d, want 0 (unknown)", got)
	}
	if got := allStart(esdb.Position{Commit: 5, Prepare: 5}, true); !reflect.DeepEqual(got, esdb.AllPosition(esdb.Start{})) {
		t.Errorf("allStart(fromStart) = %#v, want Start", got)
	}
	if got := allStart(esdb.Position{Commit: 9000, Prepare: 8000}, false); !reflect.DeepEqual(got, esdb.AllPosition(esdb.Position{Commit: 9000, Prepare: 8000})) {
		t.Errorf("allStart = %#v, want the exact pair", got)
	}
	p := func(c, pr uint64) esdb.Position { return esdb.Position{Commit: c, Prepare: pr} }
	order := []struct {
		a, b esdb.Position
		want bool
	}{
		{p(10, 10), p(10, 10), true},
		{p(10, 10), p(11, 11), true},
		{p(11, 11), p(10, 10), false},
		// A legacy explicit transaction: one commit, several prepares.
		{p(50, 20), p(50, 30), true},
		{p(50, 30), p(50, 20), false},
		{p(40, 45), p(50, 20), true},
	}
	for _, o := range order {
		if got := notAfter(o.a, o.b); got != o.want {
			t.Errorf("notAfter(%v, %v) = %v, want %v", o.a, o.b, got, o.want)
		}
	}
}

func TestPositionCacheKeepsExactPairsAndEvictsTheOldest(t *testing.T) {
	c := newPositionCache(3)
	// A legacy transaction event: commit and prepare differ; the pair is kept.
	c.add(esdb.Position{Commit: 100, Prepare: 90})
	c.add(esdb.Position{Commit: 200, Prepare: 200})
	c.add(esdb.Position{Commit: math.MaxUint64, Prepare: math.MaxUint64}) // unknown: not kept
	if p, ok := c.get(100); !ok || p != (esdb.Position{Commit: 100, Prepare: 90}) {
		t.Errorf("get(100) = %v, %v", p, ok)
	}
	if _, ok := c.get(0); ok {
		t.Error("an unknown position was cached")
	}
	c.add(esdb.Position{Commit: 200, Prepare: 200}) // again: no second slot
	c.add(esdb.Position{Commit: 300, Prepare: 300})
	c.add(esdb.Position{Commit: 400, Prepare: 400}) // evicts 100, the oldest
	if _, ok := c.get(100); ok {
		t.Error("the oldest entry was not evicted")
	}
	for _, k := range []uint64{200, 300, 400} {
		if p, ok := c.get(k); !ok || p.Commit != k {
			t.Errorf("get(%d) = %v, %v", k, p, ok)
		}
	}
	if len(c.m) != 3 || len(c.ring) != 3 {
		t.Errorf("cache holds %d entries in a ring of %d, want 3 and 3", len(c.m), len(c.ring))
	}
}

func TestIsSystemSkipsKurrentDBEventsOnly(t *testing.T) {
	cases := []struct {
		stream, typ string
		want        bool
	}{
		{"account-u1", "account.LoginFailed.v1", false},
		{"$$account-u1", "$metadata", true},
		{"$stats-127.0.0.1:2113", "$statsCollected", true},
		{"$projections-$all", "$ProjectionsInitialized", true},
		{"$ce-account", "$>", true},
		{"$scavenges", "scavengeStarted", true},
	}
	for _, c := range cases {
		if got := isSystem(&esdb.RecordedEvent{StreamID: c.stream, EventType: c.typ}); got != c.want {
			t.Errorf("isSystem(%q, %q) = %v, want %v", c.stream, c.typ, got, c.want)
		}
	}
}

func proposed(n int) []eventlog.Proposed {
	at := time.Date(2026, 3, 1, 8, 30, 0, 123456789, time.FixedZone("MYT", 8*3600))
	out := make([]eventlog.Proposed, n)
	for i := range out {
		out[i] = eventlog.Proposed{
			ID:         uuid.New(),
			Type:       "test.Happened.v1",
			OccurredAt: at.Add(time.Duration(i) * time.Second),
			Data:       json.RawMessage(`{"n":` + string(rune('0'+i)) + `,"note":"ünïcode ok"}`),
			Metadata: eventlog.Metadata{
				CorrelationID: "corr-1",
				CausationID:   "cmd-1",
				Actor:         eventlog.Actor{Kind: eventlog.ActorUser, ID: "u1"},
				SourceIP:      "10.0.0.1",
				UserAgent:     "test",
			},
		}
	}
	return out
}

// asServerReturns builds the event KurrentDB hands back for what we sent.
func asServerReturns(stream string, revision uint64, pos uint64, d esdb.EventData) *esdb.RecordedEvent {
	ct := "application/octet-stream"
	if d.ContentType == esdb.ContentTypeJson {
		ct = "application/json"
	}
	return &esdb.RecordedEvent{
		EventID:      d.EventID,
		EventType:    d.EventType,
		ContentType:  ct,
		StreamID:     stream,
		EventNumber:  revision,
		Position:     esdb.Position{Commit: pos, Prepare: pos},
		CreatedDate:  time.Now(),
		Data:         d.Data,
		UserMetadata: d.Metadata,
	}
}

func TestEncodeAppendRoundTripKeepsEventsAndChain(t *testing.T) {
	const stream = "account-u1"
	first := proposed(2)
	data1, err := encodeAppend(stream, 0, "", first)
	if err != nil {
		t.Fatal(err)
	}
	var back []eventlog.Record
	for i, d := range data1 {
		if d.EventID != first[i].ID {
			t.Fatalf("event %d sent with ID %s, want our event ID %s", i, d.EventID, first[i].ID)
		}
		if d.ContentType != esdb.ContentTypeJson || d.EventType != first[i].Type || string(d.Data) != string(first[i].Data) {
			t.Fatalf("event %d sent as %v %q %s", i, d.ContentType, d.EventType, d.Data)
		}
		s, err := storedOf(asServerReturns(stream, uint64(i), 1000+uint64(i)*200, d))
		if err != nil {
			t.Fatal(err)
		}
		if f, l := s.batchRange(); f != 1 || l != 2 {
			t.Errorf("event %d batch range %d..%d, want 1..2", i, f, l)
		}
		back = append(back, s.Record)
	}
	// A second append chains on the first one's last hash.
	second := proposed(1)
	data2, err := encodeAppend(stream, 2, back[1].Metadata.Hash, second)
	if err != nil {
		t.Fatal(err)
	}
	s, err := storedOf(asServerReturns(stream, 2, 1400, data2[0]))
	if err != nil {
		t.Fatal(err)
	}
	back = append(back, s.Record)

	all := append(append([]eventlog.Proposed{}, first...), second...)
	for i, rec := range back {
		p := all[i]
		if rec.ID != p.ID || rec.Stream != stream || rec.Version != uint64(i+1) || rec.Type != p.Type ||
			string(rec.Data) != string(p.Data) || !rec.OccurredAt.Equal(p.OccurredAt) || rec.OccurredAt.Location() != time.UTC {
			t.Errorf("record %d = %+v, does not match proposed %+v", i, rec, p)
		}
		want := p.Metadata
		want.Prev, want.Hash = rec.Metadata.Prev, rec.Metadata.Hash
		if rec.Metadata != want || rec.Metadata.Hash == "" {
			t.Errorf("record %d metadata = %+v, want %+v with a hash", i, rec.Metadata, want)
		}
	}
	if back[0].Position != 1000 || back[2].Position != 1400 {
		t.Errorf("positions %d, %d: want the commit positions", back[0].Position, back[2].Position)
	}
	if broken := eventlog.VerifyStream(back); broken != nil {
		t.Fatalf("chain of round-tripped events: %v", broken)
	}
	// What an auditor relies on: changing stored data breaks the chain.
	back[1].Data = json.RawMessage(`{"n":9}`)
	if broken := eventlog.VerifyStream(back); broken == nil || broken.Version != 2 {
		t.Fatalf("tampered event not reported at version 2: %v", broken)
	}
}

func TestStoredOfRefusesEventsNotWrittenByISPEKS(t *testing.T) {
	good, err := encodeAppend("account-u1", 0, "", proposed(1))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(ev *esdb.RecordedEvent){
		"metadata not JSON":   func(ev *esdb.RecordedEvent) { ev.UserMetadata = []byte("binary") },
		"no metadata":         func(ev *esdb.RecordedEvent) { ev.UserMetadata = nil },
		"no occurred_at":      func(ev *esdb.RecordedEvent) { ev.UserMetadata = []byte(`{"actor":{"kind":"user"}}`) },
		"binary content type": func(ev *esdb.RecordedEvent) { ev.ContentType = "application/octet-stream" },
	}
	for name, spoil := range cases {
		ev := asServerReturns("account-u1", 0, 10, good[0])
		spoil(ev)
		_, err := storedOf(ev)
		if !errors.Is(err, ErrForeignEvent) {
			t.Errorf("%s: err = %v, want ErrForeignEvent", name, err)
			continue
		}
		if !strings.Contains(err.Error(), good[0].EventID.String()) || !strings.Contains(err.Error(), "account-u1") {
			t.Errorf("%s: error %q does not name the event and stream", name, err)
		}
	}
}

func TestOriginalResultOfARetriedAppend(t *testing.T) {
	mk := func(v, pos, bFirst uint64, bSize int) stored {
		return stored{Record: eventlog.Record{ID: uuid.New(), Stream: "account-u1", Version: v, Position: pos}, batchFirst: bFirst, batchSize: bSize}
	}
	// Stream: v1 alone, v2..v4 one append, v5 alone. Tail is newest first.
	v1, v2, v3, v4, v5 := mk(1, 100, 1, 1), mk(2, 200, 2, 3), mk(3, 300, 2, 3), mk(4, 400, 2, 3), mk(5, 500, 5, 1)
	tail := []stored{v5, v4, v3, v2, v1}

	if _, ok := findID(tail, uuid.New()); ok {
		t.Fatal("found an ID that is not stored")
	}
	found, ok := findID(tail, v2.ID)
	if !ok || found.Version != 2 {
		t.Fatalf("findID(v2) = %+v, %v", found, ok)
	}
	res, _, ok := originalResult(found, tail)
	want := eventlog.AppendResult{FirstVersion: 2, LastVersion: 4, LastPosition: 400, Replayed: true}
	if !ok || res != want {
		t.Errorf("original result of the append holding v2 = %+v, %v; want %+v", res, ok, want)
	}
	// A retry whose first event is the middle of the original gets the
	// original's result too, as in the embedded store.
	if res, _, ok := originalResult(v3, tail); !ok || res != want {
		t.Errorf("original result via v3 = %+v, %v; want %+v", res, ok, want)
	}
	if res, _, ok := originalResult(v5, tail); !ok || res != (eventlog.AppendResult{FirstVersion: 5, LastVersion: 5, LastPosition: 500, Replayed: true}) {
		t.Errorf("original result of v5 = %+v, %v", res, ok)
	}
	// The original's last event is not among those read: the caller must read it.
	if _, last, ok := originalResult(v2, []stored{v2}); ok || last != 4 {
		t.Errorf("originalResult without the last event = ok %v, last %d; want not ok, 4", ok, last)
	}
	// Events without bookkeeping stand alone.
	bare := mk(7, 700, 0, 0)
	if f, l := bare.batchRange(); f != 7 || l != 7 {
		t.Errorf("batchRange without bookkeeping = %d..%d, want 7..7", f, l)
	}
	inconsistent := mk(7, 700, 9, 2)
	if f, l := inconsistent.batchRange(); f != 7 || l != 7 {
		t.Errorf("batchRange with bookkeeping that does not cover the event = %d..%d, want 7..7", f, l)
	}
}

func TestRedactKeepsCredentialsOutOfErrors(t *testing.T) {
	const conn = "esdb://admin:s3cr3t-pw@db.example:2113?tls=false&bogus"
	msg := scrubError(errors.New(`parse "`+conn+`": invalid, password s3cr3t-pw`), conn)
	if strings.Contains(msg, "s3cr3t-pw") || strings.Contains(msg, "admin:") {
		t.Errorf("redacted message still has credentials: %q", msg)
	}
	if !strings.Contains(msg, "esdb://xxxxx@db.example:2113") {
		t.Errorf("redacted message lost where it connected to: %q", msg)
	}
}
