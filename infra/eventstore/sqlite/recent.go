package sqlite

import (
	"database/sql/driver"
	"sync"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// recentCapacity is how many of its last committed events a store keeps in
// memory: during a payroll run (~20,000 slips a second) the projectors catch
// up from about a second behind the writer, and a ring of 4,096 missed them
// most of the time. The data of an event larger than recentMaxData is not
// kept (only its type), which bounds the ring at 64 MiB of event data (a
// slip is about 1 KiB).
const (
	recentCapacity = 16384
	recentMaxData  = 4 << 10
)

// recentRow is a committed event as the writer inserted it: the columns of
// its row, so that a record built from it is the one a read of the row
// would give (decodeRow makes both).
type recentRow struct {
	stream   string
	version  int64
	id       []byte
	typ      string
	occurred int64
	data     []byte // a copy: the caller's slice is not ours to keep
	meta     []byte
	chain    []byte
	event    eventlog.Event // the proposer's value of data, if it gave one (Record.Decoded)
	dropped  bool           // data larger than recentMaxData: a reader wanting it reads the file
}

// newRecentRow keeps what the writer inserted for the event at version of
// stream.
func newRecentRow(stream string, version int64, p *eventlog.Proposed, occurred int64, meta, chain []byte) recentRow {
	row := recentRow{stream: stream, version: version, id: append([]byte(nil), p.ID[:]...), typ: p.Type, occurred: occurred, meta: meta, chain: chain}
	if len(p.Data) > recentMaxData {
		row.dropped = true
	} else {
		row.data = append([]byte(nil), p.Data...)
		row.event = p.Event
	}
	return row
}

// recent keeps the events this store committed last, by position. Every
// commit wakes every live subscription; each used to ask SQLite for what
// was new. Now a subscription takes what it wants from here, and one that
// wants none of it (the accounts projector during a payroll run, the
// statements projector during logins) only moves on. Commits by other
// processes are not here: a subscription that reaches one reads the file.
type recent struct {
	mu   sync.RWMutex
	rows [recentCapacity]recentRow // rows[p % recentCapacity] is the event at position p
	from uint64                    // every position in [from, last] is here; 0: none
	last uint64
}

// record keeps the events at positions first, first+1, … (one commit). A
// gap before first means another process committed in between: what came
// before it is dropped.
func (r *recent) record(first uint64, rows []recentRow) {
	if len(rows) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.from == 0 || first != r.last+1 {
		r.from = first
	}
	for i := range rows {
		r.rows[(first+uint64(i))%recentCapacity] = rows[i]
	}
	r.last = first + uint64(len(rows)) - 1
	if r.last-r.from >= recentCapacity {
		r.from = r.last - recentCapacity + 1
	}
}

// read returns the events at positions after+1 … through whose types are
// not in skip, and whether it could: false means some of those positions
// are not here (older, or another process's), and the caller reads the
// file instead.
func (r *recent) read(after, through uint64, skip map[string]struct{}) ([]eventlog.Record, bool, error) {
	// The wanted rows are copied out under the lock (their slices are never
	// written again) and decoded after it, so the writer's next record
	// never waits for a subscriber's decoding.
	r.mu.RLock()
	if r.from == 0 || after+1 < r.from || through > r.last || through <= after {
		r.mu.RUnlock()
		return nil, false, nil
	}
	type wanted struct {
		pos uint64
		row recentRow
	}
	var rows []wanted
	for p := after + 1; p <= through; p++ {
		row := &r.rows[p%recentCapacity]
		if _, skipped := skip[row.typ]; !skipped {
			if row.dropped {
				r.mu.RUnlock()
				return nil, false, nil
			}
			rows = append(rows, wanted{p, *row})
		}
	}
	r.mu.RUnlock()

	recs := make([]eventlog.Record, 0, len(rows))
	for _, w := range rows {
		row := &w.row
		dest := [9]driver.Value{int64(w.pos), row.stream, row.version, row.id, row.typ, row.occurred,
			append([]byte(nil), row.data...), row.meta, row.chain}
		rec, err := decodeRow(dest[:])
		if err != nil {
			return nil, false, err
		}
		rec.Decoded = row.event
		recs = append(recs, rec)
	}
	return recs, true, nil
}
