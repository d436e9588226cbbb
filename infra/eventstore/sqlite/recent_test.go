package sqlite

import (
	"bytes"
	"testing"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

func eventlogProposed(typ string, data []byte) eventlog.Proposed {
	return eventlog.Proposed{Type: typ, Data: data}
}

func recentRows(types ...string) []recentRow {
	rows := make([]recentRow, len(types))
	for i, t := range types {
		chain := bytes.Repeat([]byte{byte(i + 1)}, 32)
		rows[i] = recentRow{stream: "s", version: int64(i + 1), id: bytes.Repeat([]byte{byte(i)}, 16), typ: t,
			occurred: 1_700_000_000_000_000_000, data: []byte(`{"i":1}`), meta: []byte(`{"actor":{"kind":"system"}}`), chain: chain}
	}
	return rows
}

func TestRecentAnswersOnlyForWhatItHolds(t *testing.T) {
	skip := map[string]struct{}{"s.Skipped.v1": {}}
	var r recent
	if _, ok, _ := r.read(0, 1, skip); ok {
		t.Fatal("nothing recorded yet, but answered")
	}
	r.record(1, recentRows("s.Skipped.v1", "s.Skipped.v1", "s.Kept.v1", "s.Skipped.v1"))
	for _, c := range []struct {
		after, through uint64
		ok             bool
		kept           []uint64
	}{
		{0, 2, true, nil},         // 1 and 2 skipped
		{0, 3, true, []uint64{3}}, // 3 is kept
		{2, 4, true, []uint64{3}}, // 4 skipped
		{3, 5, false, nil},        // 5 not committed by this store (yet)
		{4, 4, false, nil},        // an empty range is the caller's business
	} {
		recs, ok, err := r.read(c.after, c.through, skip)
		if err != nil {
			t.Fatal(err)
		}
		if ok != c.ok || len(recs) != len(c.kept) {
			t.Errorf("read(%d, %d) = %d records, %v; want %d, %v", c.after, c.through, len(recs), ok, len(c.kept), c.ok)
			continue
		}
		for i, rec := range recs {
			if rec.Position != c.kept[i] || rec.Type != "s.Kept.v1" || rec.Version != 3 || string(rec.Data) != `{"i":1}` ||
				rec.Metadata.Actor.Kind != "system" || len(rec.Metadata.Hash) != 64 || len(rec.Metadata.Prev) != 0 {
				t.Errorf("read(%d, %d): record %+v", c.after, c.through, rec)
			}
		}
	}
	// Each reader gets its own copy of the data.
	a, _, _ := r.read(2, 3, skip)
	b, _, _ := r.read(2, 3, skip)
	a[0].Data[0] = 'X'
	if b[0].Data[0] != '{' {
		t.Error("two readers share one data slice")
	}

	// Another process committed 5..9: this store's next commit starts at 10,
	// and nothing before it can be answered any more.
	r.record(10, recentRows("s.Skipped.v1"))
	if _, ok, _ := r.read(3, 10, skip); ok {
		t.Error("answered across positions another process wrote")
	}
	if _, ok, _ := r.read(9, 10, skip); !ok {
		t.Error("did not answer for its own commit after the gap")
	}

	// Older than the ring holds: forgotten.
	many := make([]string, recentCapacity)
	for i := range many {
		many[i] = "s.Skipped.v1"
	}
	r.record(11, recentRows(many...))
	if _, ok, _ := r.read(9, 11, skip); ok {
		t.Error("answered for a position the ring has overwritten")
	}
	if _, ok, _ := r.read(11, 10+recentCapacity, skip); !ok {
		t.Error("did not answer within the ring")
	}
}

// An event too large to keep is answered from memory only to readers that
// skip its type; one that wants it reads the file.
func TestRecentKeepsNoLargeData(t *testing.T) {
	var r recent
	big := eventlogProposed("s.Big.v1", make([]byte, recentMaxData+1))
	small := eventlogProposed("s.Small.v1", []byte(`{}`))
	chain := bytes.Repeat([]byte{1}, 32)
	r.record(1, []recentRow{
		newRecentRow("s", 1, &big, 1, []byte(`{"actor":{}}`), chain),
		newRecentRow("s", 2, &small, 1, []byte(`{"actor":{}}`), chain),
	})
	if recs, ok, err := r.read(0, 2, map[string]struct{}{"s.Big.v1": {}}); err != nil || !ok || len(recs) != 1 || recs[0].Type != "s.Small.v1" {
		t.Errorf("skipping the large one: %d records, %v, %v", len(recs), ok, err)
	}
	if _, ok, _ := r.read(0, 2, nil); ok {
		t.Error("answered with an event whose data it did not keep")
	}
}

type recentEvent struct{ N int }

func (recentEvent) EventType() string { return "s.Small.v1" }

// A record served from memory carries the proposer's event value, so a
// projector in this process need not decode its JSON again; a record whose
// data was too large to keep carries nothing (it is read from the file).
func TestRecentHandsBackTheProposedEvent(t *testing.T) {
	var r recent
	small := eventlogProposed("s.Small.v1", []byte(`{"N":7}`))
	small.Event = recentEvent{N: 7}
	bare := eventlogProposed("s.Small.v1", []byte(`{"N":8}`))
	big := eventlogProposed("s.Small.v1", make([]byte, recentMaxData+1))
	big.Event = recentEvent{N: 9}
	chain := bytes.Repeat([]byte{1}, 32)
	r.record(1, []recentRow{
		newRecentRow("s", 1, &small, 1, []byte(`{"actor":{}}`), chain),
		newRecentRow("s", 2, &bare, 1, []byte(`{"actor":{}}`), chain),
		newRecentRow("s", 3, &big, 1, []byte(`{"actor":{}}`), chain),
	})
	recs, ok, err := r.read(0, 2, nil)
	if err != nil || !ok || len(recs) != 2 {
		t.Fatalf("read: %d records, %v, %v", len(recs), ok, err)
	}
	if recs[0].Decoded != (recentEvent{N: 7}) || recs[1].Decoded != nil {
		t.Errorf("decoded values %v, %v; want {7} and none", recs[0].Decoded, recs[1].Decoded)
	}
	if row := r.rows[3%recentCapacity]; row.event != nil {
		t.Errorf("kept the event of data it dropped: %v", row.event)
	}
}
