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

// appendReq is one Append call waiting for the writer.
type appendReq struct {
	ctx      context.Context
	stream   string
	expected eventlog.ExpectedVersion
	events   []eventlog.Proposed
	reply    chan appendReply // buffered: the writer never blocks on it
}

type appendReply struct {
	res eventlog.AppendResult
	err error
}

// Append writes events to one stream if expected matches (see
// eventstore.Store). It returns once the events are durable on disk.
func (s *Store) Append(ctx context.Context, stream string, expected eventlog.ExpectedVersion, events []eventlog.Proposed) (eventlog.AppendResult, error) {
	if err := eventlog.ValidateAppend(stream, events); err != nil {
		return eventlog.AppendResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return eventlog.AppendResult{}, err
	}
	req := &appendReq{
		ctx:      ctx,
		stream:   stream,
		expected: expected,
		// A shallow copy: a caller that gives up on ctx may reuse its slice
		// while the writer still reads the request.
		events: append([]eventlog.Proposed(nil), events...),
		reply:  make(chan appendReply, 1),
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return eventlog.AppendResult{}, ErrClosed
	}
	select {
	case s.reqs <- req:
	case <-ctx.Done():
		s.mu.RUnlock()
		return eventlog.AppendResult{}, ctx.Err()
	}
	s.mu.RUnlock()
	select {
	case rep := <-req.reply:
		return rep.res, rep.err
	case <-ctx.Done():
		// The append may still commit; an idempotent retry finds out.
		return eventlog.AppendResult{}, ctx.Err()
	}
}

// writer holds the write connection and its prepared statements. Only the
// writer goroutine touches it after Open.
type writer struct {
	conn    *sql.Conn
	begin   *sql.Stmt
	commit  *sql.Stmt
	abort   *sql.Stmt
	maxPos  *sql.Stmt
	findID  *sql.Stmt
	batch   *sql.Stmt
	head    *sql.Stmt
	insert  *sql.Stmt
	undo    *sql.Stmt
	stmts   []*sql.Stmt
	metaBuf []byte
}

func newWriter(ctx context.Context, conn *sql.Conn) (*writer, error) {
	w := &writer{conn: conn}
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&w.begin, "BEGIN IMMEDIATE"},
		{&w.commit, "COMMIT"},
		{&w.abort, "ROLLBACK"},
		{&w.maxPos, "SELECT coalesce(max(position), 0) FROM events"},
		{&w.findID, "SELECT stream, batch FROM events WHERE id = ?"},
		{&w.batch, "SELECT min(version), max(version), max(position) FROM events WHERE position >= ?1 AND position < ?1 + ?2 AND batch = ?1"},
		{&w.head, "SELECT version, metadata FROM events WHERE stream = ? ORDER BY version DESC LIMIT 1"},
		{&w.insert, "INSERT INTO events (position, stream, version, id, type, occurred_at, data, metadata, batch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"},
		{&w.undo, "DELETE FROM events WHERE position >= ?"},
	} {
		st, err := conn.PrepareContext(ctx, p.sql)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("prepare %q: %w", p.sql, err)
		}
		*p.dst = st
		w.stmts = append(w.stmts, st)
	}
	return w, nil
}

func (w *writer) close() error {
	var errs []error
	for _, st := range w.stmts {
		errs = append(errs, st.Close())
	}
	errs = append(errs, w.conn.Close())
	return errors.Join(errs...)
}

// runWriter is the single writer goroutine: it takes every request pending
// (up to MaxGroupEvents events) and commits them together.
func (s *Store) runWriter() {
	defer close(s.writerDone)
	group := make([]*appendReq, 0, 256)
	for {
		var first *appendReq
		select {
		case first = <-s.reqs:
		case <-s.stop:
			// Close holds no more senders: what is queued is all there is.
			for {
				select {
				case r := <-s.reqs:
					s.commitGroup([]*appendReq{r})
				default:
					return
				}
			}
		}
		group = append(group[:0], first)
		n := len(first.events)
	fill:
		for n < s.opts.MaxGroupEvents {
			select {
			case r := <-s.reqs:
				group = append(group, r)
				n += len(r.events)
			default:
				break fill
			}
		}
		s.commitGroup(group)
		clear(group)
	}
}

// commitGroup runs the requests in one transaction. A request that fails its
// own checks gets its error and leaves no row behind; the others commit. An
// error of the transaction itself (I/O, lock timeout) fails every request.
func (s *Store) commitGroup(group []*appendReq) {
	ctx := context.Background() // one caller giving up must not abort the others
	live := group[:0:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.reply <- appendReply{err: err}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	failAll := func(err error) {
		err = fmt.Errorf("eventstore/sqlite: append: %w", err)
		for _, r := range live {
			r.reply <- appendReply{err: err}
		}
	}
	w := s.w
	if _, err := w.begin.ExecContext(ctx); err != nil {
		failAll(fmt.Errorf("begin: %w", err))
		return
	}
	var last int64
	if err := w.maxPos.QueryRowContext(ctx).Scan(&last); err != nil {
		w.abort.ExecContext(ctx)
		failAll(err)
		return
	}
	next := uint64(last) + 1
	replies := make([]appendReply, len(live))
	for i, r := range live {
		res, err, fatal := s.applyOne(ctx, r, &next)
		if fatal != nil {
			w.abort.ExecContext(ctx)
			failAll(fatal)
			return
		}
		replies[i] = appendReply{res: res, err: err}
	}
	if _, err := w.commit.ExecContext(ctx); err != nil {
		w.abort.ExecContext(ctx)
		failAll(fmt.Errorf("commit: %w", err))
		return
	}
	s.raiseHead(next - 1)
	s.commits.broadcast()
	for i, r := range live {
		r.reply <- replies[i]
	}
}

// applyOne checks and inserts one request inside the group's transaction.
// It returns the request's own result or error, or fatal when the
// transaction can no longer be trusted.
func (s *Store) applyOne(ctx context.Context, r *appendReq, next *uint64) (res eventlog.AppendResult, reqErr, fatal error) {
	w := s.w
	// Idempotent retry: the first event is already stored.
	var otherStream string
	var batch int64
	switch err := w.findID.QueryRowContext(ctx, r.events[0].ID[:]).Scan(&otherStream, &batch); {
	case err == nil:
		if otherStream != r.stream {
			return res, fmt.Errorf("%w: event ID %s is already stored in stream %q", eventlog.ErrInvalidEvent, r.events[0].ID, otherStream), nil
		}
		var first, lastV, lastP int64
		if err := w.batch.QueryRowContext(ctx, batch, eventlog.MaxBatchEvents).Scan(&first, &lastV, &lastP); err != nil {
			return res, nil, fmt.Errorf("original result of %s: %w", r.stream, err)
		}
		return eventlog.AppendResult{FirstVersion: uint64(first), LastVersion: uint64(lastV), LastPosition: uint64(lastP)}, nil, nil
	case !errors.Is(err, sql.ErrNoRows):
		return res, nil, fmt.Errorf("look up event ID: %w", err)
	}

	var version uint64
	var prev string
	var headVersion int64
	var headMeta []byte
	switch err := w.head.QueryRowContext(ctx, r.stream).Scan(&headVersion, &headMeta); {
	case err == nil:
		version = uint64(headVersion)
		var m struct {
			Hash string `json:"hash"`
		}
		if err := json.Unmarshal(headMeta, &m); err != nil {
			return res, nil, fmt.Errorf("metadata of %s version %d: %w", r.stream, version, err)
		}
		prev = m.Hash
	case !errors.Is(err, sql.ErrNoRows):
		return res, nil, fmt.Errorf("read head of %s: %w", r.stream, err)
	}
	if !r.expected.Matches(version) {
		return res, &eventlog.WrongExpectedVersionError{Stream: r.stream, Expected: r.expected, Actual: version}, nil
	}

	recs := make([]eventlog.Record, len(r.events))
	for i, p := range r.events {
		recs[i] = eventlog.Record{
			ID:         p.ID,
			Stream:     r.stream,
			Version:    version + uint64(i) + 1,
			Position:   *next + uint64(i),
			Type:       p.Type,
			OccurredAt: p.OccurredAt.UTC(),
			Data:       p.Data,
			Metadata:   p.Metadata,
		}
	}
	eventlog.Chain(prev, recs)

	firstPos := *next
	if firstPos > math.MaxInt64-uint64(len(recs)) {
		return res, nil, errors.New("log position overflow")
	}
	for _, rec := range recs {
		meta, err := json.Marshal(rec.Metadata)
		if err != nil {
			return res, nil, fmt.Errorf("encode metadata: %w", err)
		}
		_, err = w.insert.ExecContext(ctx,
			int64(rec.Position), rec.Stream, int64(rec.Version), rec.ID[:], rec.Type,
			rec.OccurredAt.Format(time.RFC3339Nano), []byte(rec.Data), meta, int64(firstPos))
		if err == nil {
			continue
		}
		if !isConstraint(err) {
			return res, nil, fmt.Errorf("insert into %s: %w", rec.Stream, err)
		}
		// A constraint failure undoes only its own statement: remove the
		// rows this request already inserted so nothing half-written stays.
		if _, uerr := w.undo.ExecContext(ctx, int64(firstPos)); uerr != nil {
			return res, nil, fmt.Errorf("undo failed append to %s: %w", rec.Stream, uerr)
		}
		return res, s.explainConflict(ctx, rec.ID, err), nil
	}
	*next += uint64(len(recs))
	return eventlog.AppendResult{
		FirstVersion: recs[0].Version,
		LastVersion:  recs[len(recs)-1].Version,
		LastPosition: recs[len(recs)-1].Position,
	}, nil, nil
}

// explainConflict turns a constraint failure on insert into an error that
// names the event. Versions were checked in the transaction, so a duplicate
// event ID is the only expected cause.
func (s *Store) explainConflict(ctx context.Context, id uuid.UUID, cause error) error {
	var stream string
	var batch int64
	if err := s.w.findID.QueryRowContext(ctx, id[:]).Scan(&stream, &batch); err == nil {
		return fmt.Errorf("%w: event ID %s is already stored in stream %q", eventlog.ErrInvalidEvent, id, stream)
	}
	return fmt.Errorf("%w: %v", eventlog.ErrInvalidEvent, cause)
}
