package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
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
	enc      *encoded         // sealed by the caller on a guessed head; nil if no guess
	head     []byte           // set by the writer: hash of the last event appended
}

type appendReply struct {
	res eventlog.AppendResult
	err error
}

// Occurred-at times are stored as Unix nanoseconds, which cover the years
// 1678 to 2262; the store accepts a comfortable range inside that.
var (
	minOccurred = time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC)
	maxOccurred = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Append writes events to one stream if expected matches (see
// eventstore.Store). It returns once the events are durable on disk.
func (s *Store) Append(ctx context.Context, stream string, expected eventlog.ExpectedVersion, events []eventlog.Proposed) (eventlog.AppendResult, error) {
	if err := eventlog.ValidateAppend(stream, events); err != nil {
		return eventlog.AppendResult{}, err
	}
	for _, e := range events {
		if e.OccurredAt.Before(minOccurred) || !e.OccurredAt.Before(maxOccurred) {
			return eventlog.AppendResult{}, fmt.Errorf("%w: %s occurred at %s, outside the years 1700 to 2199 the store keeps",
				eventlog.ErrInvalidEvent, e.Type, e.OccurredAt.UTC().Format(time.RFC3339))
		}
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
	// Hashing and encoding happen here, on the caller's goroutine, when the
	// stream's head can be guessed; the writer checks the guess.
	if base, prev, ok := s.heads.guess(stream, expected); ok {
		req.enc = encodeAppend(stream, base, prev, req.events)
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

// writer holds the write connection and its statements. Only the writer
// goroutine touches it after Open, and only inside conn.Raw.
type writer struct {
	conn                              *sql.Conn
	begin, commit, rollback, maxPos   rawStmt
	findID, head, batch, insert, undo rawStmt
	dataVersion                       rawStmt
	checkpoint                        rawStmt
	ins                               []driver.NamedValue
	dest                              []driver.Value
	meta                              []byte // reused: the driver copies what it binds

	// heads is the writer's exact knowledge of stream heads it wrote,
	// including rows of the open transaction. It is trusted only while no
	// other connection has committed (PRAGMA data_version unchanged) and is
	// dropped on every rollback.
	heads    map[string]streamHead
	lastSeen int64 // data_version when heads was last known good

	committed []recentRow // the open transaction's events, in position order
}

func newWriter(ctx context.Context, conn *sql.Conn) (*writer, error) {
	w := &writer{conn: conn, ins: args(make([]driver.Value, 10)...), dest: make([]driver.Value, 4), heads: map[string]streamHead{}}
	err := prepareRaw(ctx, conn,
		[]*rawStmt{&w.begin, &w.commit, &w.rollback, &w.maxPos, &w.findID, &w.head, &w.batch, &w.insert, &w.undo, &w.checkpoint, &w.dataVersion},
		[]string{
			"BEGIN IMMEDIATE",
			"COMMIT",
			"ROLLBACK",
			"SELECT coalesce(max(position), 0) FROM events",
			"SELECT stream, batch FROM events WHERE id = ?",
			"SELECT version, chain FROM events WHERE stream = ? ORDER BY version DESC LIMIT 1",
			"SELECT min(version), max(version), max(position) FROM events WHERE position >= ? AND position < ? AND batch = ?",
			InsertSQL,
			"DELETE FROM events WHERE position >= ?",
			"PRAGMA wal_checkpoint(PASSIVE)",
			"PRAGMA data_version",
		})
	if err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (w *writer) close() error {
	var errs []error
	w.conn.Raw(func(any) error {
		for _, st := range []*rawStmt{&w.begin, &w.commit, &w.rollback, &w.maxPos, &w.findID, &w.head, &w.batch, &w.insert, &w.undo, &w.checkpoint, &w.dataVersion} {
			errs = append(errs, st.close())
		}
		return nil
	})
	errs = append(errs, w.conn.Close())
	return errors.Join(errs...)
}

// maxSettleYields bounds how long the writer lets just-answered callers come
// back before it commits without them.
const maxSettleYields = 64

// settleWait bounds the wait for callers answered by the last commit. Under
// CPU contention they need a while to come back; waiting for them beats
// paying an fsync for a half-empty group.
const settleWait = time.Millisecond

// runWriter is the single writer goroutine: it takes every request pending
// (up to MaxGroupEvents events) and commits them together.
func (s *Store) runWriter() {
	defer close(s.writerDone)
	group := make([]*appendReq, 0, 256)
	prevReqs := 0
	for {
		var first *appendReq
		select {
		case first = <-s.reqs:
		case <-s.stop:
			// Close holds no more senders: what is queued is all there is.
			for {
				select {
				case r := <-s.reqs:
					s.runGroup([]*appendReq{r})
				default:
					return
				}
			}
		}
		group = append(group[:0], first)
		n := len(first.events)
		// Take what is queued; then yield so that callers answered by the
		// last commit can queue their next append, and take those too. The
		// yields cost microseconds; a commit without them costs an fsync.
		for yields := 0; n < s.opts.MaxGroupEvents; {
			select {
			case r := <-s.reqs:
				group = append(group, r)
				n += len(r.events)
				continue
			default:
			}
			if yields == maxSettleYields {
				break
			}
			yields++
			runtime.Gosched()
			if len(s.reqs) == 0 {
				break
			}
		}
		// Fewer callers than last time: some are likely still on their way
		// back. Wait a little for them, far less than the fsync they save.
		if len(group) < prevReqs {
			// Blocking, not spinning: the callers need the CPU to get here.
			timer := time.NewTimer(settleWait)
		wait:
			for len(group) < prevReqs && n < s.opts.MaxGroupEvents {
				select {
				case r := <-s.reqs:
					group = append(group, r)
					n += len(r.events)
				case <-timer.C:
					break wait
				}
			}
			timer.Stop()
		}
		prevReqs = len(group)
		s.runGroup(group)
		clear(group)
	}
}

func (s *Store) runGroup(group []*appendReq) {
	err := s.w.conn.Raw(func(any) error {
		s.commitGroup(group)
		return nil
	})
	if err != nil { // the connection itself is gone
		for _, r := range group {
			r.reply <- appendReply{err: fmt.Errorf("eventstore/sqlite: append: %w", err)}
		}
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
	s.checkpointInline(ctx)
	if err := w.begin.exec(ctx, nil); err != nil {
		failAll(fmt.Errorf("begin: %w", err))
		return
	}
	if err := w.checkOthers(ctx); err != nil {
		w.abort(ctx)
		failAll(err)
		return
	}
	// Positions come from the file, not from memory: another process may
	// have appended since our last commit.
	if _, err := w.maxPos.queryRow(ctx, nil, w.dest[:1]); err != nil {
		w.abort(ctx)
		failAll(err)
		return
	}
	last, err := colInt(w.dest[0], "max(position)")
	if err != nil {
		w.abort(ctx)
		failAll(err)
		return
	}
	next := uint64(last) + 1
	first := next
	clear(w.committed) // drop the references of the last group
	w.committed = w.committed[:0]
	replies := make([]appendReply, len(live))
	for i, r := range live {
		res, err, fatal := s.applyOne(ctx, r, &next)
		if fatal != nil {
			w.abort(ctx)
			failAll(fatal)
			return
		}
		replies[i] = appendReply{res: res, err: err}
	}
	if err := w.commit.exec(ctx, nil); err != nil {
		w.abort(ctx)
		failAll(fmt.Errorf("commit: %w", err))
		return
	}
	s.recent.record(first, w.committed) // before the head moves: a woken subscription may look
	s.raiseHead(next - 1)
	s.commitCount.Add(1)
	s.commits.broadcast()
	for i, r := range live {
		if replies[i].err == nil && r.head != nil {
			s.heads.set(r.stream, replies[i].res.LastVersion, r.head)
		}
	}
	select {
	case s.ckptKick <- struct{}{}:
	default:
	}
	for i, r := range live {
		r.reply <- replies[i]
	}
}

// applyOne checks and inserts one request inside the group's transaction.
// It returns the request's own result or error, or fatal when the
// transaction can no longer be trusted.
func (s *Store) applyOne(ctx context.Context, r *appendReq, next *uint64) (res eventlog.AppendResult, reqErr, fatal error) {
	w := s.w
	// An append that creates its stream (a payroll run is thousands of them)
	// inserts without looking the head up: the unique (stream, version)
	// index refuses it if the stream exists, and only then is the head read.
	want, exact := r.expected.Exact()
	creates := r.expected.IsNoStream() || (exact && want == 0)
	var (
		version uint64
		prev    []byte
		err     error
	)
	if h, ok := w.heads[r.stream]; ok {
		version, prev = h.version, h.hash
	} else if !creates {
		if version, prev, err = s.streamHead(ctx, r.stream); err != nil {
			return res, nil, err
		}
	}
	if !r.expected.Matches(version) {
		// A retry may arrive with an expected version that has gone stale
		// (its own first attempt moved the stream on).
		if res, reqErr, fatal, retry := s.retried(ctx, r); retry {
			return res, reqErr, fatal
		}
		return res, &eventlog.WrongExpectedVersionError{Stream: r.stream, Expected: r.expected, Actual: version}, nil
	}
	firstPos := *next
	if firstPos > math.MaxInt64-uint64(len(r.events)) {
		return res, nil, errors.New("log position overflow")
	}
	enc := r.enc
	if enc == nil || enc.base != version || !bytes.Equal(enc.prev, prev) {
		// The caller's guess at the stream's head was wrong or missing.
		enc = encodeAppend(r.stream, version, prev, r.events)
	}

	a := w.ins
	for i := range enc.rows {
		row := &enc.rows[i]
		p := &r.events[i]
		a[0].Value = int64(firstPos) + int64(i)
		a[1].Value = r.stream
		a[2].Value = int64(version) + int64(i) + 1
		a[3].Value = p.ID[:]
		a[4].Value = p.Type
		a[5].Value = row.occurred
		a[6].Value = []byte(p.Data)
		a[7].Value = row.meta
		a[8].Value = row.chain
		a[9].Value = int64(firstPos)
		err := w.insert.exec(ctx, a)
		if err == nil {
			continue
		}
		if !isConstraint(err) {
			return res, nil, fmt.Errorf("insert into %s: %w", r.stream, err)
		}
		// A constraint failure undoes only its own statement: remove the
		// rows this request already inserted so nothing half-written stays.
		if i > 0 {
			if uerr := w.undo.exec(ctx, args(int64(firstPos))); uerr != nil {
				return res, nil, fmt.Errorf("undo failed append to %s: %w", r.stream, uerr)
			}
		} else if res, reqErr, fatal, retry := s.retried(ctx, r); retry {
			// The first event is stored already: an idempotent retry. Not
			// looked up beforehand because retries are rare and the
			// unique index finds them anyway.
			return res, reqErr, fatal
		} else if creates && version == 0 {
			// The head was not read: the stream may exist.
			actual, _, herr := s.streamHead(ctx, r.stream)
			if herr != nil {
				return res, nil, herr
			}
			if actual != 0 {
				return res, &eventlog.WrongExpectedVersionError{Stream: r.stream, Expected: r.expected, Actual: actual}, nil
			}
		}
		return res, s.explainConflict(ctx, p.ID, err), nil
	}
	n := uint64(len(enc.rows))
	*next += n
	for i := range enc.rows {
		p, row := &r.events[i], &enc.rows[i]
		w.committed = append(w.committed, newRecentRow(r.stream, int64(version)+int64(i)+1, p, row.occurred, row.meta, row.chain))
	}
	r.head = enc.rows[n-1].hash()
	if len(w.heads) >= headCacheMax {
		clear(w.heads)
	}
	w.heads[r.stream] = streamHead{version: version + n, hash: r.head}
	return eventlog.AppendResult{
		FirstVersion: version + 1,
		LastVersion:  version + n,
		LastPosition: firstPos + n - 1,
	}, nil, nil
}

// encoded is an append chained onto a stream head and encoded for insert:
// everything but positions, which only the writer can assign.
type encoded struct {
	base uint64 // the stream version it was chained onto
	prev []byte // that version's hash (empty for a new stream)
	rows []encodedRow
}

type encodedRow struct {
	occurred int64
	meta     []byte
	chain    []byte // prev (absent for a stream's first event) and hash
}

func (r *encodedRow) hash() []byte { return r.chain[len(r.chain)-32:] }

// encodeAppend seals events as versions base+1.. of stream after the event
// with hash prev. It is pure computation: callers run it on their own
// goroutines when they can guess the head, so the writer mostly only
// compares and inserts.
func encodeAppend(stream string, base uint64, prev []byte, events []eventlog.Proposed) *encoded {
	recs := make([]eventlog.Record, len(events))
	for i, p := range events {
		recs[i] = eventlog.Record{
			ID:         p.ID,
			Stream:     stream,
			Version:    base + uint64(i) + 1,
			Type:       p.Type,
			OccurredAt: p.OccurredAt.UTC(),
			Data:       p.Data,
			Metadata:   p.Metadata,
		}
	}
	eventlog.Chain(hex.EncodeToString(prev), recs)
	enc := &encoded{base: base, prev: prev, rows: make([]encodedRow, len(recs))}
	// links is prev, hash 1, hash 2, ...: each row's chain column is the
	// window of its prev and its hash.
	p := len(prev)
	links := make([]byte, p+32*len(recs))
	copy(links, prev)
	var meta []byte
	ends := make([]int, len(recs))
	for i := range recs {
		hex.Decode(links[p+32*i:p+32*i+32], []byte(recs[i].Metadata.Hash))
		meta = appendMeta(meta, &recs[i].Metadata)
		ends[i] = len(meta)
	}
	start := 0
	for i := range recs {
		row := &enc.rows[i]
		row.occurred = recs[i].OccurredAt.UnixNano()
		row.meta = meta[start:ends[i]:ends[i]]
		start = ends[i]
		from := max(0, p+32*(i-1))
		row.chain = links[from : p+32*i+32 : p+32*i+32]
	}
	return enc
}

// streamHead is the version and hash of the last event of stream (0 and
// nil for a new stream) as the open transaction sees it.
func (s *Store) streamHead(ctx context.Context, stream string) (uint64, []byte, error) {
	w := s.w
	if h, ok := w.heads[stream]; ok {
		return h.version, h.hash, nil
	}
	found, err := w.head.queryRow(ctx, args(stream), w.dest[:2])
	if err != nil || !found {
		if err != nil {
			err = fmt.Errorf("read head of %s: %w", stream, err)
		}
		return 0, nil, err
	}
	v, err := colInt(w.dest[0], "version")
	if err != nil {
		return 0, nil, fmt.Errorf("head of %s: %w", stream, err)
	}
	chain, err := colBytes(w.dest[1], "chain")
	if err != nil {
		return 0, nil, fmt.Errorf("head of %s: %w", stream, err)
	}
	if len(chain) < 32 {
		return 0, nil, fmt.Errorf("head of %s: integrity chain is %d bytes", stream, len(chain))
	}
	return uint64(v), chain[len(chain)-32:], nil
}

// retried reports whether r's first event is already stored and, if so,
// answers r: with the result of the append that stored it when that was in
// the same stream, with an error otherwise.
func (s *Store) retried(ctx context.Context, r *appendReq) (res eventlog.AppendResult, reqErr, fatal error, retry bool) {
	dest := s.w.dest
	found, err := s.w.findID.queryRow(ctx, args(r.events[0].ID[:]), dest[:2])
	if err != nil {
		return res, nil, fmt.Errorf("look up event ID: %w", err), true
	}
	if !found {
		return res, nil, nil, false
	}
	res, reqErr, fatal = s.original(ctx, r, dest)
	return res, reqErr, fatal, true
}

// original answers a retried append whose first event is stored (dest holds
// its stream and batch): the result of the append that stored it.
func (s *Store) original(ctx context.Context, r *appendReq, dest []driver.Value) (res eventlog.AppendResult, reqErr, fatal error) {
	stream, err := colString(dest[0], "stream")
	if err != nil {
		return res, nil, err
	}
	batch, err := colInt(dest[1], "batch")
	if err != nil {
		return res, nil, err
	}
	if stream != r.stream {
		return res, fmt.Errorf("%w: event ID %s is already stored in stream %q", eventlog.ErrInvalidEvent, r.events[0].ID, stream), nil
	}
	// One append's events have consecutive positions, at most
	// MaxBatchEvents of them, all marked with the first one's position.
	if _, err := s.w.batch.queryRow(ctx, args(batch, batch+eventlog.MaxBatchEvents, batch), dest[:3]); err != nil {
		return res, nil, fmt.Errorf("original result of %s: %w", r.stream, err)
	}
	first, err1 := colInt(dest[0], "version")
	lastV, err2 := colInt(dest[1], "version")
	lastP, err3 := colInt(dest[2], "position")
	if err := errors.Join(err1, err2, err3); err != nil {
		return res, nil, fmt.Errorf("original result of %s: %w", r.stream, err)
	}
	return eventlog.AppendResult{FirstVersion: uint64(first), LastVersion: uint64(lastV), LastPosition: uint64(lastP), Replayed: true}, nil, nil
}

// explainConflict turns a constraint failure on insert into an error that
// names the event. Versions were checked in the transaction, so a duplicate
// event ID is the only expected cause.
func (s *Store) explainConflict(ctx context.Context, id uuid.UUID, cause error) error {
	dest := make([]driver.Value, 2)
	if found, err := s.w.findID.queryRow(ctx, args(id[:]), dest); err == nil && found {
		if stream, err := colString(dest[0], "stream"); err == nil {
			return fmt.Errorf("%w: event ID %s is already stored in stream %q", eventlog.ErrInvalidEvent, id, stream)
		}
	}
	return fmt.Errorf("%w: %v", eventlog.ErrInvalidEvent, cause)
}

// runCheckpointer copies committed WAL frames into the database file in the
// background, so that commits pay only for appending to the WAL and its
// fsync. It runs PASSIVE checkpoints (they never block the writer or
// readers) at most every checkpointEvery while commits happen: a page
// changed many times in that span is copied once. Under a write load that
// never pauses, a passive checkpoint may never catch up and the WAL would
// only grow; past walLimitFrames the writer checkpoints inline before its
// next transaction, which lets the WAL start over.
func (s *Store) runCheckpointer() {
	defer close(s.ckptDone)
	for {
		select {
		case <-s.ckptKick:
		case <-s.stop:
			return
		}
		t := time.NewTimer(checkpointEvery)
		select {
		case <-t.C:
		case <-s.stop:
			t.Stop()
			return
		}
		var busy, logFrames, done int64
		if err := s.ckpt.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &done); err != nil {
			s.log.Warn("event store: checkpoint failed", "path", s.path, "err", err)
			continue
		}
		if logFrames > walLimitFrames {
			s.ckptUrgent.Store(true)
		}
	}
}

// A second between checkpoints lets the event-ID index's leaves (random
// keys: every append dirties one) be copied once per second rather than
// once per commit burst; the WAL stays well under walLimitFrames at the
// rates this machine reaches.
const (
	checkpointEvery = time.Second
	walLimitFrames  = 65536 // 128 MiB of 2 KiB pages
)

// checkpointInline is the writer's own checkpoint when the WAL has grown
// past walLimitFrames; no commit runs meanwhile, so it completes.
func (s *Store) checkpointInline(ctx context.Context) {
	if !s.ckptUrgent.Swap(false) {
		return
	}
	if _, err := s.w.checkpoint.queryRow(ctx, nil, s.w.dest[:3]); err != nil {
		s.log.Warn("event store: inline checkpoint failed", "path", s.path, "err", err)
	}
}

// headCache remembers the last version and hash of recently appended
// streams. It is only a guess for encodeAppend: the writer checks every
// guess against the file, so a stale entry (another process appended) costs
// a re-encode, never a wrong chain.
type headCache struct {
	mu sync.Mutex
	m  map[string]streamHead
}

type streamHead struct {
	version uint64
	hash    []byte
}

const headCacheMax = 1 << 16

func (c *headCache) guess(stream string, exp eventlog.ExpectedVersion) (uint64, []byte, bool) {
	if exp.IsNoStream() {
		return 0, nil, true
	}
	c.mu.Lock()
	h, ok := c.m[stream]
	c.mu.Unlock()
	if !ok {
		return 0, nil, false
	}
	if v, exact := exp.Exact(); exact && v != h.version {
		return 0, nil, false
	}
	return h.version, h.hash, true
}

func (c *headCache) set(stream string, version uint64, hash []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= headCacheMax {
		c.m = make(map[string]streamHead) // crude bound; guesses only
	}
	c.m[stream] = streamHead{version: version, hash: hash}
}

// abort rolls the open transaction back and forgets heads it may have
// recorded.
func (w *writer) abort(ctx context.Context) {
	w.rollback.exec(ctx, nil)
	clear(w.heads)
}

// checkOthers forgets the known heads if another connection (another
// process) has committed since this one last looked. Called with the write
// lock held, so nothing can commit between the check and the inserts.
func (w *writer) checkOthers(ctx context.Context) error {
	if _, err := w.dataVersion.queryRow(ctx, nil, w.dest[:1]); err != nil {
		return fmt.Errorf("data version: %w", err)
	}
	v, err := colInt(w.dest[0], "data_version")
	if err != nil {
		return err
	}
	if v != w.lastSeen {
		clear(w.heads)
		w.lastSeen = v
	}
	return nil
}
