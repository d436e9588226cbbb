// Package kurrent is the event-store adapter for KurrentDB (formerly
// EventStoreDB), on the gRPC client github.com/EventStore/EventStore-Client-Go
// v4. It implements eventstore.Store; it is the only package that knows
// KurrentDB, so moving to the successor client (KurrentDB-Client-Go) touches
// nothing else.
//
// Mapping: an iSPEKS stream is a KurrentDB stream of the same name; our
// 1-based version v is KurrentDB revision v-1; our global position is the
// event's commit position in $all (increasing, but sparse: not gap-free like
// the embedded store's); the event ID is the KurrentDB event ID, so
// KurrentDB's own idempotency applies; the metadata (with the integrity chain
// and the occurred-at time) is the event's user metadata as JSON.
package kurrent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/eventstore"
	"github.com/melaka-gov/ispeks/infra/redact"
)

var _ eventstore.Store = (*Store)(nil)

// ErrClosed is returned by calls on a closed store.
var ErrClosed = errors.New("kurrent: store is closed")

// idempotencyWindow is how many of a stream's last events an append reads
// before writing: the last one gives the integrity chain its predecessor, and
// all of them are searched for the append's first event ID. KurrentDB itself
// recognises a retry only when it carries the original expected revision; a
// command retried after reloading its stream carries the new one, which
// KurrentDB would append a second time. The window catches that case for
// retries made within the next idempotencyWindow events of the stream.
const idempotencyWindow = 64

// anyAttempts bounds the read-chain-append loop of an append with
// eventlog.Any() when other writers keep winning the race.
const anyAttempts = 10

// Subscription resubscribe backoff after a dropped connection.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// Store is a KurrentDB event store. It is safe for concurrent use.
type Store struct {
	client    *esdb.Client
	log       *slog.Logger
	positions *positionCache

	closeOnce sync.Once
	closed    chan struct{}
}

// Open connects to KurrentDB at an esdb:// (or esdb+discover://) connection
// string, for example "esdb://localhost:2113?tls=false", and checks that the
// server answers. Credentials in the string never appear in errors or logs.
func Open(ctx context.Context, connectionString string) (*Store, error) {
	cfg, err := esdb.ParseConnectionString(connectionString)
	if err != nil {
		return nil, fmt.Errorf("kurrent: invalid connection string: %s", scrubError(err, connectionString))
	}
	log := slog.Default().With("component", "kurrentdb")
	cfg.Logger = clientLogger(log)
	client, err := esdb.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("kurrent: %s", scrubError(err, connectionString))
	}
	s := &Store{client: client, log: log, positions: newPositionCache(positionCacheSize), closed: make(chan struct{})}
	if err := s.Ping(ctx); err != nil {
		_ = s.Close()
		// The caller names the server (redacted): this message would repeat it.
		return nil, fmt.Errorf("kurrent: cannot reach the server: %w", err)
	}
	return s, nil
}

// scrubError removes the connection string, and any password in it, from an
// error message: url.Parse errors quote the whole string.
func scrubError(err error, connectionString string) string {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	msg := err.Error()
	msg = strings.ReplaceAll(msg, connectionString, redact.URL(connectionString))
	if u, perr := url.Parse(connectionString); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}

// clientLogger routes the client library's log lines to slog. Its error level
// includes routine events (a subscription dropped because its context ended),
// so they are warnings here; its info and warning lines narrate discovery
// attempts whose outcome the adapter reports anyway, so they are debug.
func clientLogger(log *slog.Logger) esdb.LoggingFunc {
	return func(level esdb.LogLevel, format string, args ...any) {
		lvl := slog.LevelDebug
		if level == esdb.LogError {
			lvl = slog.LevelWarn
		}
		log.Log(context.Background(), lvl, "kurrentdb client: "+fmt.Sprintf(format, args...))
	}
}

// Close closes the connection; Subscribe calls in progress return ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		_ = s.client.Close()
	})
	return nil
}

func (s *Store) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

// Ping reads the last event of $all, which needs a working connection and the
// right to read $all (which subscriptions need too).
func (s *Store) Ping(ctx context.Context) error {
	if s.isClosed() {
		return ErrClosed
	}
	rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
	if err != nil {
		return fmt.Errorf("kurrent: ping: %w", err)
	}
	defer rs.Close()
	if _, err := rs.Recv(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("kurrent: ping: %w", err)
	}
	return nil
}

// Append implements eventstore.Store.Append.
//
// It reads the stream's last events, builds the integrity chain on the last
// one, and appends with the exact expected revision that the chain was built
// on, so a writer that raced in between is caught by KurrentDB's revision
// check and the chain can never fork. eventlog.Any() is served the same way,
// re-reading and retrying a bounded number of times: sending KurrentDB's Any
// would let two racing writers chain from the same predecessor.
func (s *Store) Append(ctx context.Context, stream string, expected eventlog.ExpectedVersion, events []eventlog.Proposed) (eventlog.AppendResult, error) {
	if err := eventlog.ValidateAppend(stream, events); err != nil {
		return eventlog.AppendResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return eventlog.AppendResult{}, err
	}
	if s.isClosed() {
		return eventlog.AppendResult{}, ErrClosed
	}
	attempts := 1
	if expected.IsAny() {
		attempts = anyAttempts
	}
	var lastConflict error
	for attempt := 0; attempt < attempts; attempt++ {
		res, err := s.appendOnce(ctx, stream, expected, events)
		var wrong *eventlog.WrongExpectedVersionError
		if expected.IsAny() && errors.As(err, &wrong) {
			lastConflict = err
			continue
		}
		return res, err
	}
	return eventlog.AppendResult{}, fmt.Errorf("kurrent: append to %q with any version: the stream changed under %d attempts: %w", stream, attempts, lastConflict)
}

func (s *Store) appendOnce(ctx context.Context, stream string, expected eventlog.ExpectedVersion, events []eventlog.Proposed) (eventlog.AppendResult, error) {
	tail, err := s.readStream(ctx, stream, esdb.End{}, esdb.Backwards, idempotencyWindow)
	if err != nil {
		return eventlog.AppendResult{}, fmt.Errorf("kurrent: append to %q: read the stream's last events: %w", stream, err)
	}
	// An idempotent retry is recognised before the version check, as in the
	// embedded store: a command retried after reloading its stream expects
	// the version its first run produced.
	if found, ok := findID(tail, events[0].ID); ok {
		return s.original(ctx, stream, found, tail)
	}
	var current uint64
	prev := ""
	if len(tail) > 0 {
		current, prev = tail[0].Version, tail[0].Metadata.Hash
	}

	target := current // the version the chain is built on and the append expects
	if !expected.IsAny() {
		want, _ := expected.Exact() // 0 for NoStream
		switch {
		case want > current:
			return eventlog.AppendResult{}, &eventlog.WrongExpectedVersionError{Stream: stream, Expected: expected, Actual: current}
		case want < current:
			return s.appendBehind(ctx, stream, expected, want, current, events)
		}
		target = want
	}

	data, err := encodeAppend(stream, target, prev, events)
	if err != nil {
		return eventlog.AppendResult{}, err
	}
	wr, err := s.client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: revisionFor(target)}, data...)
	if isWrongExpectedVersion(err) {
		return eventlog.AppendResult{}, s.conflict(ctx, stream, expected, err)
	}
	if isAppendTooLarge(err) {
		return eventlog.AppendResult{}, fmt.Errorf("%w: %d events to %q: %v", ErrAppendTooLarge, len(events), stream, err)
	}
	if err != nil {
		return eventlog.AppendResult{}, fmt.Errorf("kurrent: append to %q: %w", stream, err)
	}
	res := eventlog.AppendResult{
		FirstVersion: target + 1,
		LastVersion:  versionOf(wr.NextExpectedVersion),
		LastPosition: wr.CommitPosition,
	}
	if res.LastVersion != target+uint64(len(events)) || res.LastPosition == 0 {
		// Not what a fresh write answers: KurrentDB recognised a concurrent
		// identical retry that won the race and answered for it. Read the
		// stored events to return exactly the original result.
		return s.readBack(ctx, stream, target, events)
	}
	s.positions.add(esdb.Position{Commit: wr.CommitPosition, Prepare: wr.CommitPosition})
	return res, nil
}

// encodeAppend chains events onto the stream's last version and hash and
// encodes them for KurrentDB.
func encodeAppend(stream string, current uint64, prev string, events []eventlog.Proposed) ([]esdb.EventData, error) {
	recs := chained(stream, current, prev, events)
	data := make([]esdb.EventData, len(recs))
	for i, rec := range recs {
		var err error
		if data[i], err = eventData(rec, current+1, len(recs)); err != nil {
			return nil, err
		}
	}
	return data, nil
}

// appendBehind handles an append whose expected version is older than the
// stream and whose first event is not among the stream's last events: a
// conflict, or a retry older than the window. Only KurrentDB can tell, by its
// own idempotency check on the event IDs stored after revision want; it
// answers success only for a retry and can never store these events anew at
// an old revision, so the chain they are sent with (built on nothing) is
// never stored.
func (s *Store) appendBehind(ctx context.Context, stream string, expected eventlog.ExpectedVersion, want, current uint64, events []eventlog.Proposed) (eventlog.AppendResult, error) {
	data, err := encodeAppend(stream, want, "", events)
	if err != nil {
		return eventlog.AppendResult{}, err
	}
	_, err = s.client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: revisionFor(want)}, data...)
	if isWrongExpectedVersion(err) {
		return eventlog.AppendResult{}, &eventlog.WrongExpectedVersionError{Stream: stream, Expected: expected, Actual: current}
	}
	if isAppendTooLarge(err) {
		return eventlog.AppendResult{}, fmt.Errorf("%w: %d events to %q: %v", ErrAppendTooLarge, len(events), stream, err)
	}
	if err != nil {
		return eventlog.AppendResult{}, fmt.Errorf("kurrent: append to %q: %w", stream, err)
	}
	return s.readBack(ctx, stream, want, events)
}

// readBack returns the original result of an append that KurrentDB reports
// as already stored after version base, read from the stream itself.
func (s *Store) readBack(ctx context.Context, stream string, base uint64, events []eventlog.Proposed) (eventlog.AppendResult, error) {
	recs, err := s.readStream(ctx, stream, esdb.Revision(base), esdb.Forwards, len(events))
	if err != nil {
		return eventlog.AppendResult{}, fmt.Errorf("kurrent: append to %q: read back a retried append: %w", stream, err)
	}
	if len(recs) == 0 || recs[0].ID != events[0].ID {
		return eventlog.AppendResult{}, fmt.Errorf("kurrent: append to %q: KurrentDB reported event %s stored at version %d, but it is not there", stream, events[0].ID, base+1)
	}
	return s.original(ctx, stream, recs[0], recs)
}

// original is the result of the stored append that found belongs to. evs are
// events of the stream read with it; the append's last event is read if it
// is not among them.
func (s *Store) original(ctx context.Context, stream string, found stored, evs []stored) (eventlog.AppendResult, error) {
	res, lastVersion, ok := originalResult(found, evs)
	if ok {
		return res, nil
	}
	last, err := s.readStream(ctx, stream, esdb.Revision(lastVersion-1), esdb.Forwards, 1)
	if err != nil {
		return eventlog.AppendResult{}, fmt.Errorf("kurrent: append to %q: read the original append's last event: %w", stream, err)
	}
	if res, _, ok = originalResult(found, last); !ok {
		return eventlog.AppendResult{}, fmt.Errorf("kurrent: append to %q: event %s says its append ended at version %d, which is not there", stream, found.ID, lastVersion)
	}
	return res, nil
}

// conflict builds the typed error for a wrong-expected-version answer. The
// client's error carries the actual revision only as text, so the stream's
// version is read.
func (s *Store) conflict(ctx context.Context, stream string, expected eventlog.ExpectedVersion, cause error) error {
	last, err := s.readStream(ctx, stream, esdb.End{}, esdb.Backwards, 1)
	if err != nil {
		return fmt.Errorf("kurrent: append to %q: wrong expected version (%v), and reading the actual version failed: %w", stream, cause, err)
	}
	var actual uint64
	if len(last) > 0 {
		actual = last[0].Version
	}
	return &eventlog.WrongExpectedVersionError{Stream: stream, Expected: expected, Actual: actual}
}

// ReadStream implements eventstore.Store.ReadStream.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, dir eventlog.Direction, limit int) ([]eventlog.Record, error) {
	if err := eventlog.ValidateStream(stream); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("kurrent: read %q: limit must be at least 1, got %d", stream, limit)
	}
	if s.isClosed() {
		return nil, ErrClosed
	}
	var start esdb.StreamPosition
	esDir := esdb.Forwards
	switch {
	case dir == eventlog.Backwards && from == 0:
		start, esDir = esdb.End{}, esdb.Backwards
	case dir == eventlog.Backwards:
		start, esDir = esdb.Revision(from-1), esdb.Backwards
	case from <= 1:
		start = esdb.Start{}
	default:
		start = esdb.Revision(from - 1)
	}
	recs, err := s.readStream(ctx, stream, start, esDir, limit)
	if err != nil {
		return nil, fmt.Errorf("kurrent: read %q: %w", stream, err)
	}
	return records(recs), nil
}

// readStream reads up to limit events of a stream; a missing stream is empty.
func (s *Store) readStream(ctx context.Context, stream string, from esdb.StreamPosition, dir esdb.Direction, limit int) ([]stored, error) {
	rs, err := s.client.ReadStream(ctx, stream, esdb.ReadStreamOptions{Direction: dir, From: from}, uint64(limit))
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	defer rs.Close()
	recs := make([]stored, 0, min(limit, 64))
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return recs, nil
		}
		if isNotFound(err) {
			return recs[:0], nil
		}
		if err != nil {
			return nil, err
		}
		rec, err := storedOf(ev.Event)
		if err != nil {
			return nil, err
		}
		s.positions.add(ev.Event.Position)
		recs = append(recs, rec)
	}
}

// ReadAll implements eventstore.Store.ReadAll. Positions are KurrentDB commit
// positions: increasing but not gap-free. KurrentDB's own events ('$' types
// and streams) are skipped.
func (s *Store) ReadAll(ctx context.Context, after uint64, limit int) ([]eventlog.Record, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("kurrent: read all: limit must be at least 1, got %d", limit)
	}
	if s.isClosed() {
		return nil, ErrClosed
	}
	start, fromStart, err := s.startAfter(ctx, after)
	if err != nil {
		return nil, err
	}
	out := make([]eventlog.Record, 0, min(limit, 1024))
	from := allStart(start, fromStart)
	seen, haveSeen := start, !fromStart
	for len(out) < limit {
		// The read from a position includes the event at it, so ask for one
		// more than is missing.
		want := limit - len(out) + 1
		rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Forwards, From: from}, uint64(want))
		if err != nil {
			return nil, fmt.Errorf("kurrent: read all after %d: %w", after, err)
		}
		got, fresh := 0, 0
		for {
			ev, err := rs.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rs.Close()
				return nil, fmt.Errorf("kurrent: read all after %d: %w", after, err)
			}
			got++
			pos := ev.Event.Position
			if haveSeen && notAfter(pos, seen) {
				continue // the read from a position includes the event at it
			}
			seen, haveSeen = pos, true
			fresh++
			if isSystem(ev.Event) || len(out) >= limit || positionOf(pos) <= after {
				continue
			}
			rec, err := recordOf(ev.Event)
			if err != nil {
				rs.Close()
				return nil, err
			}
			s.positions.add(pos)
			out = append(out, rec)
		}
		rs.Close()
		if got < want || fresh == 0 {
			break // end of $all
		}
		from = seen
	}
	return out, nil
}

// LastPosition implements eventstore.Store.LastPosition: the position of the
// last iSPEKS event in $all (KurrentDB's own events after it are skipped, so
// a subscriber that has seen this position has seen everything).
func (s *Store) LastPosition(ctx context.Context) (uint64, error) {
	if s.isClosed() {
		return 0, ErrClosed
	}
	const page = 64
	var from esdb.AllPosition = esdb.End{}
	var seen *esdb.Position
	for {
		rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: from}, page+1)
		if err != nil {
			return 0, fmt.Errorf("kurrent: last position: %w", err)
		}
		got, fresh := 0, 0
		for {
			ev, err := rs.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rs.Close()
				return 0, fmt.Errorf("kurrent: last position: %w", err)
			}
			got++
			pos := ev.Event.Position
			if seen != nil && notAfter(*seen, pos) {
				continue // a backwards read from a position includes it
			}
			seen = &pos
			fresh++
			if !isSystem(ev.Event) {
				rs.Close()
				s.positions.add(pos)
				return positionOf(pos), nil
			}
		}
		rs.Close()
		if got < page+1 || fresh == 0 || seen == nil {
			return 0, nil // only KurrentDB's own events, or none
		}
		from = *seen
	}
}

// Subscribe implements eventstore.Store.Subscribe with a catch-up
// subscription to $all from an explicit position, filtered server-side to
// leave out KurrentDB's own events. If the connection drops, it resubscribes
// from the exact position (commit and prepare) of the last event it delivered,
// with backoff. The subscription is closed when ctx ends or the store closes.
func (s *Store) Subscribe(ctx context.Context, after uint64, handle func(context.Context, eventlog.Record) error) error {
	if s.isClosed() {
		return ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // Close ends the subscription like the caller's ctx does
		select {
		case <-s.closed:
			cancel()
		case <-ctx.Done():
		}
	}()

	var from esdb.AllPosition
	var last *esdb.Position
	backoff := minBackoff
	for {
		if from == nil {
			// Resolved inside the retry loop: a server that is down when
			// the subscription starts is waited for like a dropped one.
			start, fromStart, err := s.startAfter(ctx, after)
			if err != nil {
				if done := s.subscriptionOver(ctx, err); done != nil {
					return done
				}
				s.log.Warn("kurrentdb subscription cannot find its start, retrying", "after", after, "retry_in", backoff, "err", err)
				if !sleep(ctx, backoff) {
					return s.subscriptionOver(ctx, ctx.Err())
				}
				backoff = min(2*backoff, maxBackoff)
				continue
			}
			from = allStart(start, fromStart)
			if !fromStart {
				last = &start
			}
		}
		sub, err := s.client.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: from, Filter: esdb.ExcludeSystemEventsFilter()})
		if err != nil {
			if done := s.subscriptionOver(ctx, err); done != nil {
				return done
			}
			s.log.Warn("kurrentdb subscription failed, retrying", "after", lastCommit(last), "retry_in", backoff, "err", err)
			if !sleep(ctx, backoff) {
				return s.subscriptionOver(ctx, ctx.Err())
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		err = s.deliver(ctx, sub, after, &last, handle, &backoff)
		_ = sub.Close()
		if err != nil {
			return err
		}
		// The subscription dropped: resubscribe after the last delivered event.
		if done := s.subscriptionOver(ctx, nil); done != nil {
			return done
		}
		if last != nil {
			from = *last
		}
		s.log.Warn("kurrentdb subscription dropped, resubscribing", "after", lastCommit(last), "retry_in", backoff)
		if !sleep(ctx, backoff) {
			return s.subscriptionOver(ctx, ctx.Err())
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// deliver hands the subscription's events to handle until it drops (nil) or
// handle fails, an event cannot be read, or the subscription is over (error).
func (s *Store) deliver(ctx context.Context, sub *esdb.Subscription, after uint64, last **esdb.Position, handle func(context.Context, eventlog.Record) error, backoff *time.Duration) error {
	stop := context.AfterFunc(ctx, func() { _ = sub.Close() })
	defer stop()
	for {
		msg := sub.Recv()
		switch {
		case msg.SubscriptionDropped != nil:
			if done := s.subscriptionOver(ctx, msg.SubscriptionDropped.Error); done != nil {
				return done
			}
			return nil
		case msg.EventAppeared != nil:
			ev := msg.EventAppeared.Event
			if ev == nil {
				continue
			}
			pos := ev.Position
			if *last != nil && notAfter(pos, **last) {
				continue // already delivered before a resubscription
			}
			if isSystem(ev) || positionOf(pos) <= after {
				*last = &pos
				continue
			}
			rec, err := recordOf(ev)
			if err != nil {
				return err
			}
			s.positions.add(pos)
			if err := handle(ctx, rec); err != nil {
				return err
			}
			*last = &pos
			*backoff = minBackoff
		}
	}
}

// subscriptionOver returns the error Subscribe ends with, or nil if it should
// resubscribe.
func (s *Store) subscriptionOver(ctx context.Context, err error) error {
	if s.isClosed() {
		return ErrClosed
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil && isPermanent(err) {
		return fmt.Errorf("kurrent: subscribe to $all: %w", err)
	}
	return nil
}

// lastCommit is our position of the last delivered event, for logs.
func lastCommit(p *esdb.Position) uint64 {
	if p == nil {
		return 0
	}
	return positionOf(*p)
}

// sleep waits d or until ctx ends; it reports whether the wait completed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
