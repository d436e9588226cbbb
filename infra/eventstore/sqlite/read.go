package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
	"unsafe"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

const columns = "position, stream, version, id, type, occurred_at, data, metadata, chain"

const numColumns = 9

// reader is one read-only connection with its statements; the store keeps a
// fixed pool of them.
type reader struct {
	conn                       *sql.Conn
	all, span, fwd, back, last rawStmt
	except                     rawStmt // span without some types (SubscribeExcept)
	dest                       []driver.Value
}

func newReader(ctx context.Context, db *sql.DB) (*reader, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	r := &reader{conn: conn, dest: make([]driver.Value, numColumns)}
	err = prepareRaw(ctx, conn, []*rawStmt{&r.all, &r.span, &r.fwd, &r.back, &r.last, &r.except}, []string{
		"SELECT " + columns + " FROM events WHERE position > ? ORDER BY position LIMIT ?",
		"SELECT " + columns + " FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?",
		"SELECT " + columns + " FROM events WHERE stream = ? AND version >= ? ORDER BY version LIMIT ?",
		"SELECT " + columns + " FROM events WHERE stream = ? AND version <= ? ORDER BY version DESC LIMIT ?",
		"SELECT coalesce(max(position), 0) FROM events",
		// The type list is one JSON array: one prepared statement for any
		// number of types.
		"SELECT " + columns + " FROM events WHERE position > ? AND position <= ? AND type NOT IN (SELECT value FROM json_each(?)) ORDER BY position LIMIT ?",
	})
	if err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

func (r *reader) close() error {
	var errs []error
	r.conn.Raw(func(any) error {
		for _, st := range []*rawStmt{&r.all, &r.span, &r.fwd, &r.back, &r.last, &r.except} {
			errs = append(errs, st.close())
		}
		return nil
	})
	errs = append(errs, r.conn.Close())
	return errors.Join(errs...)
}

// withReader runs f with a reader from the pool.
func (s *Store) withReader(ctx context.Context, f func(*reader) error) error {
	return s.withPooled(ctx, s.readers, f)
}

// withPointReader runs f with a reader without a memory map (pointDSN).
func (s *Store) withPointReader(ctx context.Context, f func(*reader) error) error {
	return s.withPooled(ctx, s.points, f)
}

func (s *Store) withPooled(ctx context.Context, pool chan *reader, f func(*reader) error) error {
	if s.isClosed() {
		return ErrClosed
	}
	var r *reader
	select {
	case r = <-pool:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return ErrClosed
	}
	defer func() { pool <- r }()
	return r.conn.Raw(func(any) error { return f(r) })
}

// LastPosition is the position of the last event in the log (0: empty).
func (s *Store) LastPosition(ctx context.Context) (uint64, error) {
	return lastPosition(ctx, s.withPointReader)
}

// ReadStream reads up to limit events of stream from version from
// (inclusive) in direction dir. Backwards from 0 reads from the end.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, dir eventlog.Direction, limit int) ([]eventlog.Record, error) {
	return readStream(ctx, s.withPointReader, stream, from, dir, limit)
}

// withReaderFunc runs f with a reader: Store's pool, or ReadOnly's one.
type withReaderFunc func(ctx context.Context, f func(*reader) error) error

func lastPosition(ctx context.Context, with withReaderFunc) (uint64, error) {
	var last int64
	err := with(ctx, func(r *reader) error {
		if _, err := r.last.queryRow(ctx, nil, r.dest[:1]); err != nil {
			return err
		}
		var err error
		last, err = colInt(r.dest[0], "max(position)")
		return err
	})
	if err != nil {
		if errors.Is(err, ErrClosed) {
			return 0, err
		}
		return 0, fmt.Errorf("eventstore/sqlite: last position: %w", err)
	}
	return uint64(last), nil
}

func readStream(ctx context.Context, with withReaderFunc, stream string, from uint64, dir eventlog.Direction, limit int) ([]eventlog.Record, error) {
	if err := eventlog.ValidateStream(stream); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("eventstore/sqlite: read %s: limit %d: must be at least 1", stream, limit)
	}
	var recs []eventlog.Record
	err := with(ctx, func(r *reader) error {
		var rows driver.Rows
		var err error
		switch dir {
		case eventlog.Forwards:
			rows, err = r.fwd.query(ctx, args(stream, clampInt64(from), int64(limit)))
		case eventlog.Backwards:
			if from == 0 {
				from = math.MaxInt64
			}
			rows, err = r.back.query(ctx, args(stream, clampInt64(from), int64(limit)))
		default:
			return fmt.Errorf("unknown direction %d", dir)
		}
		if err != nil {
			return err
		}
		recs, err = scanRecords(rows, r.dest, limit, nil)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrClosed) {
			return nil, err
		}
		return nil, fmt.Errorf("eventstore/sqlite: read %s: %w", stream, err)
	}
	return recs, nil
}

// ReadAll reads up to limit events with position greater than after, in log
// order.
func (s *Store) ReadAll(ctx context.Context, after uint64, limit int) ([]eventlog.Record, error) {
	return readAll(after, limit, func() ([]eventlog.Record, error) {
		if limit >= splitMin && after < math.MaxInt64/2 && s.head.Load() > after+uint64(limit/2) {
			return s.readAllSplit(ctx, after, limit)
		}
		return readAllPage(ctx, s.withReader, after, limit)
	})
}

// readAll checks ReadAll's limit, runs read and names a failure.
func readAll(after uint64, limit int, read func() ([]eventlog.Record, error)) ([]eventlog.Record, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("eventstore/sqlite: read all: limit %d: must be at least 1", limit)
	}
	recs, err := read()
	if err != nil {
		if errors.Is(err, ErrClosed) {
			return nil, err
		}
		return nil, fmt.Errorf("eventstore/sqlite: read all after %d: %w", after, err)
	}
	return recs, nil
}

// readAllPage reads up to limit events after position after in one query.
func readAllPage(ctx context.Context, with withReaderFunc, after uint64, limit int) ([]eventlog.Record, error) {
	var recs []eventlog.Record
	err := with(ctx, func(r *reader) error {
		rows, err := r.all.query(ctx, args(clampInt64(after), int64(limit)))
		if err != nil {
			return err
		}
		recs, err = scanRecords(rows, r.dest, limit, nil)
		return err
	})
	return recs, err
}

// ReadAllCached is ReadAll for a reader close behind this store's own
// commits (a projector keeping up with a payroll run): what the store still
// holds of its last commits comes from memory, as a live subscription gets
// it; reading them back from the file was a twentieth of an ingestion's
// CPU. ReadAll always reads the file, which an integrity check must.
func (s *Store) ReadAllCached(ctx context.Context, after uint64, limit int) ([]eventlog.Record, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("eventstore/sqlite: read all: limit %d: must be at least 1", limit)
	}
	if head := s.head.Load(); head > after && after < math.MaxInt64/2 {
		if recs, ok, err := s.recent.read(after, min(head, after+uint64(limit)), nil); ok || err != nil {
			return recs, err
		}
	}
	return s.ReadAll(ctx, after, limit)
}

// splitMin is the smallest ReadAll that is split over two connections.
const splitMin = 512

// readAllSplit reads a large page as two halves on two connections at once,
// so that reading the log uses both cores. Positions are gap-free, so the
// first half is exactly the positions (after, after+limit/2]; the second
// half starts after it. The two halves read two snapshots, which is safe
// only because the caller checked that the store's head (raised only after
// a commit) is past the first half: every event of the first half was
// committed before either snapshot began, so neither half can miss one.
// (Were a row ever deleted by hand, the page would only come back shorter,
// never out of order or skipping an event.) Without a second connection
// free it reads the page on one.
func (s *Store) readAllSplit(ctx context.Context, after uint64, limit int) ([]eventlog.Record, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	half := limit / 2
	var r2 *reader
	select {
	case r2 = <-s.readers:
	default:
	}
	type part struct {
		recs []eventlog.Record
		err  error
	}
	second := make(chan part, 1)
	if r2 != nil {
		go func() {
			defer func() { s.readers <- r2 }()
			var p part
			p.err = r2.conn.Raw(func(any) error {
				rows, err := r2.all.query(ctx, args(int64(after)+int64(half), int64(limit-half)))
				if err != nil {
					return err
				}
				p.recs, err = scanRecords(rows, r2.dest, limit-half, nil)
				return err
			})
			second <- p
		}()
	}
	var recs []eventlog.Record
	err := s.withReader(ctx, func(r *reader) error {
		if r2 == nil { // no second connection: the whole page here
			rows, err := r.all.query(ctx, args(int64(after), int64(limit)))
			if err != nil {
				return err
			}
			recs, err = scanRecords(rows, r.dest, limit, nil)
			return err
		}
		rows, err := r.span.query(ctx, args(int64(after), int64(after)+int64(half), int64(half)))
		if err != nil {
			return err
		}
		recs, err = scanRecords(rows, r.dest, half, make([]eventlog.Record, 0, limit))
		return err
	})
	if r2 == nil {
		return recs, err
	}
	p := <-second
	if err != nil {
		return nil, err
	}
	if p.err != nil {
		return nil, p.err
	}
	return append(recs, p.recs...), nil
}

func clampInt64(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

// scanRecords decodes rows into recs (allocated when nil).
func scanRecords(rows driver.Rows, dest []driver.Value, limit int, recs []eventlog.Record) ([]eventlog.Record, error) {
	defer rows.Close()
	if recs == nil {
		recs = make([]eventlog.Record, 0, min(limit, 1024))
	}
	for {
		err := rows.Next(dest)
		if errors.Is(err, io.EOF) {
			return recs, nil
		}
		if err != nil {
			return nil, err
		}
		rec, err := decodeRow(dest)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
}

// decodeRow turns one row (in the order of columns) into a record.
func decodeRow(d []driver.Value) (eventlog.Record, error) {
	var rec eventlog.Record
	pos, err := colInt(d[0], "position")
	if err != nil {
		return rec, err
	}
	bad := func(err error) (eventlog.Record, error) {
		return eventlog.Record{}, fmt.Errorf("event at position %d: %w", pos, err)
	}
	rec.Position = uint64(pos)
	var (
		errs           [8]error
		ver, at        int64
		id, data, meta []byte
		chain          []byte
	)
	rec.Stream, errs[0] = colString(d[1], "stream")
	ver, errs[1] = colInt(d[2], "version")
	rec.Version = uint64(ver)
	id, errs[2] = colBytes(d[3], "id")
	rec.Type, errs[3] = colString(d[4], "type")
	at, errs[4] = colInt(d[5], "occurred_at")
	data, errs[5] = colBytes(d[6], "data")
	meta, errs[6] = colBytes(d[7], "metadata")
	chain, errs[7] = colBytes(d[8], "chain")
	if err := errors.Join(errs[:]...); err != nil {
		return bad(err)
	}
	if err := decodeMeta(meta, &rec.Metadata); err != nil {
		return bad(fmt.Errorf("metadata: %w", err))
	}
	if rec.ID, err = uuid.FromBytes(id); err != nil {
		return bad(fmt.Errorf("event ID: %w", err))
	}
	if len(chain) != 32 && len(chain) != 64 {
		return bad(fmt.Errorf("integrity chain is %d bytes, want 32 or 64", len(chain)))
	}
	rec.OccurredAt = time.Unix(0, at).UTC()
	rec.Data = json.RawMessage(data)
	// Prev and hash as hex in one allocation.
	buf := make([]byte, hex.EncodedLen(len(chain)))
	hex.Encode(buf, chain)
	both := unsafe.String(unsafe.SliceData(buf), len(buf))
	rec.Metadata.Prev = both[:len(both)-64]
	rec.Metadata.Hash = both[len(both)-64:]
	return rec, nil
}
