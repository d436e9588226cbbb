package eventlog_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// chained makes n records of one stream, chained as a store would.
func chained(stream string, n int, firstPosition uint64) []eventlog.Record {
	recs := make([]eventlog.Record, n)
	for i := range recs {
		recs[i] = eventlog.Record{
			ID:         uuid.New(),
			Stream:     stream,
			Version:    uint64(i + 1),
			Position:   firstPosition + uint64(i),
			Type:       "claim.Submitted.v3",
			OccurredAt: time.Date(2026, 5, 1, 8, 0, i, 123456789, time.UTC),
			Data:       json.RawMessage(fmt.Sprintf(`{"claim_id":"TK-%d","amount_sen":%d}`, i, 1000*i)),
			Metadata: eventlog.Metadata{
				CorrelationID: "corr", CausationID: fmt.Sprintf("cmd-%d", i),
				Actor: eventlog.Actor{Kind: eventlog.ActorUser, ID: "u-1"}, SourceIP: "10.0.0.1", UserAgent: "test",
			},
		}
	}
	eventlog.Chain("", recs)
	return recs
}

func TestChainLinksAndVerifies(t *testing.T) {
	recs := chained("claim-1", 5, 1)
	if recs[0].Metadata.Prev != "" {
		t.Errorf("first event has prev %q", recs[0].Metadata.Prev)
	}
	for i, r := range recs {
		if len(r.Metadata.Hash) != 64 || strings.Trim(r.Metadata.Hash, "0123456789abcdef") != "" {
			t.Fatalf("hash %q is not SHA-256 hex", r.Metadata.Hash)
		}
		if i > 0 && r.Metadata.Prev != recs[i-1].Metadata.Hash {
			t.Errorf("version %d: prev does not link to version %d", r.Version, i)
		}
		if eventlog.Seal(r) != r.Metadata.Hash {
			t.Errorf("version %d: Seal does not reproduce the hash", r.Version)
		}
	}
	if b := eventlog.VerifyStream(recs); b != nil {
		t.Fatalf("fresh chain: %v", b)
	}
	// Chaining further continues from the last hash.
	more := chained("claim-1", 7, 1)[5:]
	eventlog.Chain(recs[4].Metadata.Hash, more)
	if b := eventlog.VerifyStream(append(recs, more...)); b != nil {
		t.Fatalf("chain continued from a stored hash: %v", b)
	}
}

func TestSealCoversEveryStoredFieldButPosition(t *testing.T) {
	base := chained("claim-1", 2, 1)[1]
	h := eventlog.Seal(base)
	moved := base
	moved.Position = 999
	if eventlog.Seal(moved) != h {
		t.Error("the global position changed the hash; it is assigned after sealing")
	}
	withHash := base
	withHash.Metadata.Hash = "anything"
	if eventlog.Seal(withHash) != h {
		t.Error("the stored hash itself changed the hash")
	}
	changes := map[string]func(*eventlog.Record){
		"stream":         func(r *eventlog.Record) { r.Stream = "claim-2" },
		"version":        func(r *eventlog.Record) { r.Version++ },
		"ID":             func(r *eventlog.Record) { r.ID = uuid.New() },
		"type":           func(r *eventlog.Record) { r.Type = "claim.Submitted.v4" },
		"occurred-at":    func(r *eventlog.Record) { r.OccurredAt = r.OccurredAt.Add(time.Nanosecond) },
		"data":           func(r *eventlog.Record) { r.Data = json.RawMessage(`{"claim_id":"TK-1","amount_sen":1001}`) },
		"data spacing":   func(r *eventlog.Record) { r.Data = append(json.RawMessage(" "), r.Data...) },
		"prev":           func(r *eventlog.Record) { r.Metadata.Prev = strings.Repeat("0", 64) },
		"correlation ID": func(r *eventlog.Record) { r.Metadata.CorrelationID = "other" },
		"causation ID":   func(r *eventlog.Record) { r.Metadata.CausationID = "other" },
		"actor kind":     func(r *eventlog.Record) { r.Metadata.Actor.Kind = eventlog.ActorAdmin },
		"actor ID":       func(r *eventlog.Record) { r.Metadata.Actor.ID = "u-2" },
		"source IP":      func(r *eventlog.Record) { r.Metadata.SourceIP = "10.0.0.2" },
		"user agent":     func(r *eventlog.Record) { r.Metadata.UserAgent = "curl" },
	}
	for name, change := range changes {
		r := base
		change(&r)
		if eventlog.Seal(r) == h {
			t.Errorf("changing the %s left the hash unchanged", name)
		}
	}
	// Same time in another zone is the same instant: same hash.
	local := base
	local.OccurredAt = base.OccurredAt.In(time.FixedZone("MYT", 8*3600))
	if eventlog.Seal(local) != h {
		t.Error("the hash depends on the time zone of the occurred-at time")
	}
}

func TestSealFieldBoundaries(t *testing.T) {
	// Moving bytes from one field to the next must change the hash.
	a := chained("claim-1", 1, 1)[0]
	b := a
	a.Metadata.CorrelationID, a.Metadata.CausationID = "ab", "c"
	b.Metadata.CorrelationID, b.Metadata.CausationID = "a", "bc"
	if eventlog.Seal(a) == eventlog.Seal(b) {
		t.Error("correlation and causation IDs are not separated in the hash")
	}
	c, d := a, a
	c.Stream, c.Type = "claim-1x", "y.Z.v1"
	d.Stream, d.Type = "claim-1", "xy.Z.v1"
	if eventlog.Seal(c) == eventlog.Seal(d) {
		t.Error("stream and type are not separated in the hash")
	}
}

func TestVerifyStreamReportsFirstBrokenLink(t *testing.T) {
	cases := map[string]struct {
		spoil       func([]eventlog.Record) []eventlog.Record
		wantVersion uint64
		reason      string
	}{
		"changed data": {func(r []eventlog.Record) []eventlog.Record {
			r[2].Data = json.RawMessage(`{"claim_id":"TK-2","amount_sen":999999}`)
			return r
		}, 3, "hash"},
		"changed metadata": {func(r []eventlog.Record) []eventlog.Record {
			r[1].Metadata.Actor = eventlog.Actor{Kind: eventlog.ActorAdmin, ID: "intruder"}
			return r
		}, 2, "hash"},
		"resealed change": {func(r []eventlog.Record) []eventlog.Record {
			// The intruder recomputes the changed event's hash; the next
			// event's prev still points at the old one.
			r[1].Data = json.RawMessage(`{"claim_id":"TK-1","amount_sen":1}`)
			r[1].Metadata.Hash = eventlog.Seal(r[1])
			return r
		}, 3, "prev"},
		"swapped order": {func(r []eventlog.Record) []eventlog.Record {
			r[1], r[2] = r[2], r[1]
			return r
		}, 3, "version"},
		"renumbered swap": {func(r []eventlog.Record) []eventlog.Record {
			r[1], r[2] = r[2], r[1]
			r[1].Version, r[2].Version = 2, 3
			return r
		}, 2, "prev"},
		"missing event": {func(r []eventlog.Record) []eventlog.Record {
			return append(r[:2], r[3:]...)
		}, 4, "missing"},
		"missing first event": {func(r []eventlog.Record) []eventlog.Record {
			return r[1:]
		}, 2, "missing"},
	}
	for name, tc := range cases {
		recs := tc.spoil(chained("claim-7", 5, 10))
		b := eventlog.VerifyStream(recs)
		if b == nil {
			t.Errorf("%s: not detected", name)
			continue
		}
		if b.Version != tc.wantVersion || b.Stream != "claim-7" || !strings.Contains(b.Reason, tc.reason) {
			t.Errorf("%s: reported %v, want version %d (%s)", name, b, tc.wantVersion, tc.reason)
		}
		if !strings.Contains(b.Error(), "claim-7") || !strings.Contains(b.Error(), fmt.Sprint(b.Version)) {
			t.Errorf("%s: error text %q does not say where", name, b.Error())
		}
	}
}

func TestChainVerifierAcrossInterleavedStreams(t *testing.T) {
	a, b := chained("claim-a", 3, 1), chained("claim-b", 3, 1)
	log := []eventlog.Record{a[0], b[0], b[1], a[1], a[2], b[2]}
	v := eventlog.NewChainVerifier()
	for i, r := range log {
		if br := v.Add(r); br != nil {
			t.Fatalf("record %d: %v", i, br)
		}
	}
	if v.Verified() != 6 {
		t.Errorf("verified %d, want 6", v.Verified())
	}
	// A record of a stream whose earlier events were not fed in.
	c := chained("claim-c", 2, 1)
	if br := eventlog.NewChainVerifier().Add(c[1]); br == nil || br.Version != 2 {
		t.Errorf("verifier accepted version 2 of a stream it never saw start: %v", br)
	}
}

// A log verifier over a store without gaps reports a missing position, with
// the range, even where every stream's chain is intact (a stream's last
// event removed); it keeps the head, whose digest covers every event.
func TestLogVerifierPositionsAndHead(t *testing.T) {
	a := chained("account-a", 3, 1)  // positions 1–3
	b := chained("account-b", 2, 10) // renumbered below
	b[0].Position, b[1].Position = 4, 5
	log := []eventlog.Record{a[0], a[1], a[2], b[0], b[1]}

	v := eventlog.NewLogVerifier(true)
	for _, r := range log {
		if broken := v.Add(r); broken != nil {
			t.Fatalf("intact log: %v", broken)
		}
	}
	h := v.Head()
	if h.Events != 5 || h.Position != 5 || h.Hash != b[1].Metadata.Hash || len(h.Digest) != 64 {
		t.Fatalf("head %+v", h)
	}
	again := eventlog.NewLogVerifier(true)
	for _, r := range log {
		again.Add(r)
	}
	if again.Head() != h {
		t.Fatal("the same log gave another head")
	}

	for _, tc := range []struct {
		name string
		drop []int // indexes into log
		want string
		at   uint64
	}{
		{"stream's last event", []int{2}, "position 3 is missing", 4},
		{"a run", []int{1, 2, 3}, "positions 2–4 are missing", 5},
		{"the first", []int{0}, "position 1 is missing", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := eventlog.NewLogVerifier(true)
			var broken *eventlog.BrokenLink
			for i, r := range log {
				if slices.Contains(tc.drop, i) {
					continue
				}
				if broken = v.Add(r); broken != nil {
					break
				}
			}
			if broken == nil || broken.Position != tc.at || !strings.Contains(broken.Error(), tc.want) {
				t.Fatalf("got %v, want %q at position %d", broken, tc.want, tc.at)
			}
		})
	}

	// A store with sparse positions (KurrentDB): gaps are not errors, and a
	// stream's removed last event goes unnoticed but for the head.
	sparse := eventlog.NewLogVerifier(false)
	for _, r := range []eventlog.Record{a[0], a[1], b[0], b[1]} {
		if broken := sparse.Add(r); broken != nil {
			t.Fatalf("sparse log: %v", broken)
		}
	}
	if sparse.Head().Digest == h.Digest {
		t.Fatal("a log without position 3 has the full log's digest")
	}
}

// AddPast reports a break and goes on from it: the event after a changed
// one (its prev still names the stored hash) verifies, as does every event
// of another stream, and a second change later is reported too. Add
// refuses the same record and keeps the chain where it was.
func TestAddPastReportsEachBreakOnce(t *testing.T) {
	recs := chained("claim-1", 5, 1)
	recs[1].Data = json.RawMessage(`{"claim_id":"TK-1","amount_sen":1}`)
	recs[3].Data = json.RawMessage(`{"claim_id":"TK-3","amount_sen":1}`)
	v := eventlog.NewChainVerifier()
	var got []uint64
	for _, r := range recs {
		for _, b := range v.AddPast(r) {
			if !strings.Contains(b.Reason, "hash") {
				t.Errorf("version %d: %s, want the hash", b.Version, b.Reason)
			}
			got = append(got, b.Version)
		}
	}
	if len(got) != 2 || got[0] != 2 || got[1] != 4 || v.Verified() != 5 {
		t.Errorf("breaks at versions %v of %d read, want 2 and 4 of 5", got, v.Verified())
	}

	strict := eventlog.NewChainVerifier()
	if b := strict.Add(recs[0]); b != nil {
		t.Fatal(b)
	}
	if b := strict.Add(recs[1]); b == nil {
		t.Fatal("Add took a changed event")
	}
	if b := strict.Add(recs[2]); b == nil || !strings.Contains(b.Reason, "version 3 follows version 1") {
		t.Errorf("after a refused event Add goes on from the one before it: %v", b)
	}
}
