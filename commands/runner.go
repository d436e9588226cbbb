// Package commands is the application side of writes: one handler per
// command, each loading an aggregate from its stream, asking the domain to
// decide with the current time, and appending the events it recorded with the
// version it loaded.
package commands

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// EventStore is the slice of the event-store port that writes need.
type EventStore interface {
	Append(ctx context.Context, stream string, expected eventlog.ExpectedVersion, events []eventlog.Proposed) (eventlog.AppendResult, error)
	ReadStream(ctx context.Context, stream string, from uint64, dir eventlog.Direction, limit int) ([]eventlog.Record, error)
}

// Handler runs one kind of command.
type Handler[C any] interface {
	Handle(ctx context.Context, cmd C) (Result, error)
}

// Result says where a command's events landed. Position is the global
// position of its last event (0 if it appended nothing); the HTTP layer waits
// for projections to pass it before showing the next page.
type Result struct {
	Position uint64
	Version  uint64
	Appended int
	// NoChange: every event appended only records that the command changed
	// nothing (eventlog.NoChange), so a repeat of it is recognised later.
	// The sender is answered as for a repeat, unless the command also
	// returned an error: then what it appended is the refusal (recorded
	// so that the same request is refused again), and the error is the
	// answer.
	NoChange bool
}

// Meta is what every command carries besides its own fields. CommandID makes
// the command idempotent: the event IDs derive from it and the stream, so a
// retried command appends nothing new.
type Meta struct {
	CommandID uuid.UUID
	// FreshID: CommandID was made for this one command (uuid.New: an API
	// write without Idempotency-Key), not derived from a request ID the
	// sender chose, so it can never come again. Such a command that
	// changes nothing appends nothing: its eventlog.NoChange events only
	// serve to recognise a repeat. Left false, they are appended (the safe
	// side: a client may re-send any request ID it chose).
	FreshID       bool
	CorrelationID string
	Actor         eventlog.Actor
	SourceIP      string
	UserAgent     string
}

// Aggregate is what the runner needs of a domain aggregate.
type Aggregate interface {
	Apply(eventlog.Event) error
	Uncommitted() []eventlog.Event
}

// Runner is the load → decide → append loop shared by every handler.
type Runner struct {
	Store       EventStore
	Registry    *eventlog.Registry
	Now         func() time.Time
	MaxAttempts int // on version conflicts; default 5
}

// ErrConflict is returned when the stream kept changing under the command.
var ErrConflict = errors.New("commands: stream changed concurrently too many times")

// Most streams are short (a payment, a statement, an employee), so the first
// read asks for a small page and later reads for bigger ones: stores size
// their result buffers by the limit.
const (
	firstReadPage = 32
	readPage      = 512
)

// Execute loads the aggregate of stream, runs decide on it with the current
// time, and appends what it recorded with the version it loaded. On a
// version conflict it reloads and decides again, a bounded number of times.
//
// decide may record events and still return an error: the events are
// appended and the error returned with the result. That is how a refused
// login is both recorded (LoginFailed) and reported, and how a keyed
// request refused for the record's state records its refusal
// (payment.MoveRefused), which a command with a fresh ID leaves out as it
// does every eventlog.NoChange.
func Execute[A Aggregate](ctx context.Context, r Runner, stream string, newAggregate func() A, meta Meta, decide func(agg A, now time.Time) error) (Result, error) {
	return executeLoaded(ctx, r, stream, newAggregate, load, meta, decide)
}

// executeLoaded is Execute with the aggregate loaded by loadAgg (the whole
// stream, or only what the aggregate needs of it).
func executeLoaded[A Aggregate](ctx context.Context, r Runner, stream string, newAggregate func() A, loadAgg func(context.Context, Runner, string, Aggregate) (uint64, error), meta Meta, decide func(agg A, now time.Time) error) (Result, error) {
	if meta.CommandID == uuid.Nil {
		return Result{}, errCommandWithoutID
	}
	redecided := false
	for attempt := 0; attempt < r.attempts(); attempt++ {
		agg := newAggregate()
		version, err := loadAgg(ctx, r, stream, agg)
		if err != nil {
			return Result{}, err
		}
		res, stored, conflict, err := decideAndAppend(ctx, r, stream, agg, version, meta, decide)
		if conflict != nil {
			continue
		}
		if stored.Replayed && stored.LastVersion > version {
			// This command's events were stored after the load (the same
			// request on two connections at once, maybe with another
			// body): the store compared event IDs, not content, so decide
			// again on the stream that holds them, where the aggregate
			// tells a repeat from an ID reused for another change. That
			// is no conflict, so it takes no attempt (once: the next load
			// holds those events, so they cannot land after it again).
			if !redecided {
				redecided = true
				attempt--
			}
			continue
		}
		return res, err
	}
	return Result{}, fmt.Errorf("%w: %s", ErrConflict, StreamLabel(stream))
}

var errCommandWithoutID = errors.New("commands: command has no ID")

// attempts is how many times a command is decided on a conflict.
func (r Runner) attempts() int {
	if r.MaxAttempts <= 0 {
		return 5
	}
	return r.MaxAttempts
}

// decideAndAppend is one turn of the load → decide → append loop: decide on
// agg, which holds the stream at version, and append what it recorded
// expecting that version. It returns the command's result with decide's
// error (or the append's), the store's answer (zero when nothing was
// appended), and the conflict when the stream moved on meanwhile (then the
// caller loads again).
func decideAndAppend[A Aggregate](ctx context.Context, r Runner, stream string, agg A, version uint64, meta Meta, decide func(agg A, now time.Time) error) (Result, eventlog.AppendResult, *eventlog.WrongExpectedVersionError, error) {
	now := r.Now().UTC()
	decideErr := decide(agg, now)
	events := toAppend(meta, agg.Uncommitted())
	if len(events) == 0 {
		return Result{Version: version}, eventlog.AppendResult{}, nil, decideErr
	}
	proposed, err := r.propose(meta, stream, events, now)
	if err != nil {
		return Result{}, eventlog.AppendResult{}, nil, err
	}
	stored, err := r.Store.Append(ctx, stream, eventlog.Exactly(version), proposed)
	var wrong *eventlog.WrongExpectedVersionError
	if errors.As(err, &wrong) {
		return Result{}, eventlog.AppendResult{}, wrong, err
	}
	if err != nil {
		return Result{}, eventlog.AppendResult{}, nil, fmt.Errorf("commands: append to %s: %w", StreamLabel(stream), err)
	}
	return Result{Position: stored.LastPosition, Version: stored.LastVersion, Appended: len(events), NoChange: allNoChange(events)}, stored, nil, decideErr
}

// toAppend is what of a decision's events is appended: all of them, but for
// a command with a fresh ID (Meta.FreshID) its eventlog.NoChange events,
// which would only let a repeat that cannot come be recognised.
func toAppend(meta Meta, events []eventlog.Event) []eventlog.Event {
	if !meta.FreshID {
		return events
	}
	var out []eventlog.Event
	for _, e := range events {
		if _, ok := e.(eventlog.NoChange); !ok {
			out = append(out, e)
		}
	}
	return out
}

// allNoChange reports whether events change nothing (and are some).
func allNoChange(events []eventlog.Event) bool {
	for _, e := range events {
		if _, ok := e.(eventlog.NoChange); !ok {
			return false
		}
	}
	return len(events) > 0
}

// ExecuteCreate is Execute for commands that nearly always start a new
// stream — a payroll run's slips, a finance system's new payments. It
// decides on a fresh aggregate and appends expecting an empty stream, so the
// common case reads nothing. When the stream exists (a correction, a
// re-sent batch) or the fresh decision fails, it falls back to Execute,
// which decides on the stored state. So does a command whose event IDs are
// already stored: only the stored state tells a repeat of the very same
// command (appends nothing, Appended 0) from its ID reused for other content.
func ExecuteCreate[A Aggregate](ctx context.Context, r Runner, stream string, newAggregate func() A, meta Meta, decide func(agg A, now time.Time) error) (Result, error) {
	if meta.CommandID == uuid.Nil {
		return Result{}, errCommandWithoutID
	}
	agg := newAggregate()
	now := r.Now().UTC()
	err := decide(agg, now)
	events := toAppend(meta, agg.Uncommitted())
	if err != nil || len(events) == 0 {
		// A refusal on an empty stream may be an answer the stored state
		// would change (the same statement again is a duplicate, not new).
		return Execute(ctx, r, stream, newAggregate, meta, decide)
	}
	proposed, err := r.propose(meta, stream, events, now)
	if err != nil {
		return Result{}, err
	}
	res, err := r.Store.Append(ctx, stream, eventlog.Exactly(0), proposed)
	var wrong *eventlog.WrongExpectedVersionError
	switch {
	case errors.As(err, &wrong):
		return Execute(ctx, r, stream, newAggregate, meta, decide)
	case err != nil:
		return Result{}, fmt.Errorf("commands: append to %s: %w", StreamLabel(stream), err)
	case res.Replayed:
		// This command ID was stored before; the store compared IDs, not
		// content, so the aggregate decides (no position on a repeat, as
		// Execute answers one).
		return Execute(ctx, r, stream, newAggregate, meta, decide)
	}
	return Result{Position: res.LastPosition, Version: res.LastVersion, Appended: len(events), NoChange: allNoChange(events)}, nil
}

// executeOnLast is Execute for an aggregate whose every event carries the
// whole of its state (a login probe: the count so far, and whether it is
// locked), so its last event alone rebuilds it. It reads that one event,
// whatever the stream's length: a probe tried a thousand times then costs
// what a new one costs, as an account's cached tail read does, and the
// time a login takes does not tell an unknown ID from a real one.
func executeOnLast[A Aggregate](ctx context.Context, r Runner, stream string, newAggregate func() A, meta Meta, decide func(agg A, now time.Time) error) (Result, error) {
	return executeLoaded(ctx, r, stream, newAggregate, loadLast, meta, decide)
}

// loadLast applies the last event of stream to agg and returns the stream's
// version (0, agg untouched, for a stream that does not exist).
func loadLast(ctx context.Context, r Runner, stream string, agg Aggregate) (uint64, error) {
	recs, err := r.Store.ReadStream(ctx, stream, 0, eventlog.Backwards, 1)
	if err != nil {
		return 0, fmt.Errorf("commands: read %s: %w", StreamLabel(stream), err)
	}
	if len(recs) == 0 {
		return 0, nil
	}
	return recs[0].Version, applyRecord(r, stream, agg, recs[0])
}

// applyRecord decodes one stored event of stream and applies it to agg.
func applyRecord(r Runner, stream string, agg Aggregate, rec eventlog.Record) error {
	env, err := r.Registry.Decode(rec)
	if err != nil {
		return err
	}
	if err := agg.Apply(env.Event); err != nil {
		return fmt.Errorf("commands: replay %s at version %d: %w", StreamLabel(stream), rec.Version, err)
	}
	return nil
}

// load rebuilds agg from its stream and returns the stream's version.
func load(ctx context.Context, r Runner, stream string, agg Aggregate) (uint64, error) {
	return loadFrom(ctx, r, stream, agg, 0)
}

// loadFrom applies the events of stream after version to agg (which holds
// the state as of version) and returns the stream's version.
func loadFrom(ctx context.Context, r Runner, stream string, agg Aggregate, version uint64) (uint64, error) {
	limit := firstReadPage
	for {
		recs, err := r.Store.ReadStream(ctx, stream, version+1, eventlog.Forwards, limit)
		if err != nil {
			return 0, fmt.Errorf("commands: read %s: %w", StreamLabel(stream), err)
		}
		for _, rec := range recs {
			if err := applyRecord(r, stream, agg, rec); err != nil {
				return 0, err
			}
			version = rec.Version
		}
		if len(recs) < limit {
			return version, nil
		}
		limit = readPage
	}
}

// propose encodes the events a decision taken at now recorded; they
// occurred then (a session counts as begun at its login's decision, and the
// sessions an event ends are those begun before it: one clock reading for
// both, or the change that ended the others would end its own).
func (r Runner) propose(meta Meta, stream string, events []eventlog.Event, now time.Time) ([]eventlog.Proposed, error) {
	out := make([]eventlog.Proposed, len(events))
	for i, e := range events {
		typ, data, err := r.Registry.Encode(e)
		if err != nil {
			return nil, err
		}
		out[i] = eventlog.Proposed{
			ID:         EventID(meta.CommandID, stream, i),
			Type:       typ,
			OccurredAt: now,
			Data:       data,
			Event:      e,
			Metadata: eventlog.Metadata{
				CorrelationID: meta.CorrelationID,
				CausationID:   meta.CommandID.String(),
				Actor:         meta.Actor,
				SourceIP:      meta.SourceIP,
				UserAgent:     meta.UserAgent,
			},
		}
	}
	return out, nil
}

// EventID derives the i-th event ID of a command on stream from the command
// ID, so that a retried command proposes the same IDs and the store
// recognises it. The stream is part of it because one command ID may land on
// two records (a client's request ID is unique per record, not per client):
// an event ID is unique in the whole log, which the SQLite store enforces
// and KurrentDB, the NATS publisher (Msg-Id) and every consumer keyed by
// event ID take for granted. Events stored before the stream was part of it
// keep their old IDs (SHA1 of "event-<i>"); that needs no second lookup
// because a repeated client request is recognised by the command ID that
// payment, statement and employee events record, not by event IDs, and
// commands with other IDs are not repeated across an upgrade.
func EventID(commandID uuid.UUID, stream string, i int) uuid.UUID {
	// The index is digits only, so the separator keeps (i, stream) pairs
	// apart, and the names differ from the old "event-<i>".
	return uuid.NewSHA1(commandID, []byte("event-"+strconv.Itoa(i)+"\x00"+stream))
}

// StreamLabel names a stream in errors and logs without its ID, which is
// often an IC number (personal data): the category and a short digest are
// enough to find it again in the log.
func StreamLabel(stream string) string {
	category, id, ok := strings.Cut(stream, "-")
	if !ok {
		return "stream"
	}
	sum := sha256.Sum256([]byte(id))
	return category + "-#" + hex.EncodeToString(sum[:4])
}
