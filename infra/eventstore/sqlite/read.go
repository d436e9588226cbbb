package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

const columns = "position, stream, version, id, type, occurred_at, data, metadata"

type readStmts struct {
	all, fwd, back, last *sql.Stmt
}

func prepareReads(ctx context.Context, db *sql.DB) (readStmts, error) {
	var r readStmts
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&r.all, "SELECT " + columns + " FROM events WHERE position > ? ORDER BY position LIMIT ?"},
		{&r.fwd, "SELECT " + columns + " FROM events WHERE stream = ? AND version >= ? ORDER BY version LIMIT ?"},
		{&r.back, "SELECT " + columns + " FROM events WHERE stream = ? AND version <= ? ORDER BY version DESC LIMIT ?"},
		{&r.last, "SELECT coalesce(max(position), 0) FROM events"},
	} {
		st, err := db.PrepareContext(ctx, p.sql)
		if err != nil {
			r.close()
			return r, fmt.Errorf("prepare %q: %w", p.sql, err)
		}
		*p.dst = st
	}
	return r, nil
}

func (r readStmts) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{r.all, r.fwd, r.back, r.last} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// ReadStream reads up to limit events of stream from version from
// (inclusive) in direction dir. Backwards from 0 reads from the end.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, dir eventlog.Direction, limit int) ([]eventlog.Record, error) {
	if err := eventlog.ValidateStream(stream); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("eventstore/sqlite: read %s: limit %d: must be at least 1", stream, limit)
	}
	if s.isClosed() {
		return nil, ErrClosed
	}
	var rows *sql.Rows
	var err error
	switch dir {
	case eventlog.Forwards:
		rows, err = s.r.fwd.QueryContext(ctx, stream, clampInt64(from), limit)
	case eventlog.Backwards:
		if from == 0 {
			from = math.MaxInt64
		}
		rows, err = s.r.back.QueryContext(ctx, stream, clampInt64(from), limit)
	default:
		return nil, fmt.Errorf("eventstore/sqlite: read %s: unknown direction %d", stream, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("eventstore/sqlite: read %s: %w", stream, err)
	}
	recs, err := scanRecords(rows, limit)
	if err != nil {
		return nil, fmt.Errorf("eventstore/sqlite: read %s: %w", stream, err)
	}
	return recs, nil
}

// ReadAll reads up to limit events with position greater than after, in log
// order.
func (s *Store) ReadAll(ctx context.Context, after uint64, limit int) ([]eventlog.Record, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("eventstore/sqlite: read all: limit %d: must be at least 1", limit)
	}
	if s.isClosed() {
		return nil, ErrClosed
	}
	rows, err := s.r.all.QueryContext(ctx, clampInt64(after), limit)
	if err != nil {
		return nil, fmt.Errorf("eventstore/sqlite: read all after %d: %w", after, err)
	}
	recs, err := scanRecords(rows, limit)
	if err != nil {
		return nil, fmt.Errorf("eventstore/sqlite: read all after %d: %w", after, err)
	}
	return recs, nil
}

func clampInt64(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

func scanRecords(rows *sql.Rows, limit int) ([]eventlog.Record, error) {
	defer rows.Close()
	recs := make([]eventlog.Record, 0, min(limit, 1024))
	var (
		pos, ver int64
		stream   string
		id       sql.RawBytes
		typ, at  string
		data     []byte
		meta     sql.RawBytes
	)
	for rows.Next() {
		if err := rows.Scan(&pos, &stream, &ver, &id, &typ, &at, &data, &meta); err != nil {
			return nil, err
		}
		rec := eventlog.Record{
			Position: uint64(pos),
			Stream:   stream,
			Version:  uint64(ver),
			Type:     typ,
			Data:     json.RawMessage(data),
		}
		uid, err := uuid.FromBytes(id)
		if err != nil {
			return nil, fmt.Errorf("event at position %d: bad ID: %w", pos, err)
		}
		rec.ID = uid
		if rec.OccurredAt, err = time.Parse(time.RFC3339Nano, at); err != nil {
			return nil, fmt.Errorf("event at position %d: bad occurred_at: %w", pos, err)
		}
		if err := json.Unmarshal(meta, &rec.Metadata); err != nil {
			return nil, fmt.Errorf("event at position %d: bad metadata: %w", pos, err)
		}
		recs = append(recs, rec)
		data = nil
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return recs, nil
}
