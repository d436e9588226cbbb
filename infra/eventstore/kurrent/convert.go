package kurrent

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// This file holds the pure mapping between the iSPEKS event log and
// KurrentDB: revisions, positions, event bodies and errors. It does no I/O so
// it is unit-tested without a server.

// revisionFor is the expected revision of an append to a stream whose last
// event has our version v (0: no stream). Our versions are 1-based, KurrentDB
// revisions 0-based: version v is revision v-1.
func revisionFor(v uint64) esdb.ExpectedRevision {
	if v == 0 {
		return esdb.NoStream{}
	}
	return esdb.Revision(v - 1)
}

// versionOf is our 1-based version of a KurrentDB event number.
func versionOf(eventNumber uint64) uint64 { return eventNumber + 1 }

// Positions.
//
// Our global position of an event is its KurrentDB commit position. Every
// event appended through the gRPC API is its own implicit transaction record,
// so its commit and prepare positions are equal and unique; positions are
// strictly increasing in $all order but sparse (byte offsets in the
// transaction log, not a counter). A uint64 position p maps back to the
// exact pair remembered for it (positions.go), or else to
// esdb.Position{Commit: p, Prepare: p}. Only events written long ago with the
// legacy TCP explicit transactions have commit != prepare; Subscribe keeps the
// exact pair of the last delivered event internally, so a resubscription
// after a dropped connection never skips or repeats one of them either.

// noPosition is what servers send for an event read from a stream when they
// do not know its $all position (servers before EventStoreDB 22.x).
const noPosition = math.MaxUint64

// positionOf is our position of a recorded event (0 when the server did not
// send one, which only happens on stream reads from old servers).
func positionOf(p esdb.Position) uint64 {
	if p.Commit == noPosition {
		return 0
	}
	return p.Commit
}

// allStart is where a read or subscription of $all starts: at the exact
// position of an event (see startAfter), or at the beginning. Reads from a
// position include the event at it and subscriptions exclude it; callers drop
// what they have already seen with notAfter.
func allStart(p esdb.Position, fromStart bool) esdb.AllPosition {
	if fromStart {
		return esdb.Start{}
	}
	return p
}

// notAfter reports whether position a is at or before b in $all order
// (commit first, then prepare).
func notAfter(a, b esdb.Position) bool {
	return a.Commit < b.Commit || (a.Commit == b.Commit && a.Prepare <= b.Prepare)
}

// isSystem reports KurrentDB's own events: types and streams starting with
// '$' (stream metadata, projections, statistics, links). iSPEKS stream names
// and type names can never start with '$' (eventlog.ValidateStream,
// ValidateType), so skipping them hides nothing of ours. The subscription
// filter (esdb.ExcludeSystemEventsFilter) tests the type only; the stream test
// here makes ReadAll and Subscribe skip exactly the same events.
func isSystem(ev *esdb.RecordedEvent) bool {
	return strings.HasPrefix(ev.EventType, "$") || strings.HasPrefix(ev.StreamID, "$")
}

// storedMeta is the user metadata of a KurrentDB event written by iSPEKS: our
// Metadata (with the integrity chain) plus the occurred-at time, which
// KurrentDB has no field for (its created date is the server's clock, and the
// hash covers ours), plus where the event's append began and how many events
// it had, so that a retried append returns the original result whole, as the
// embedded store does. The batch fields are bookkeeping of this adapter, not
// part of the event: the hash does not cover them.
type storedMeta struct {
	eventlog.Metadata
	OccurredAt time.Time `json:"occurred_at"`
	BatchFirst uint64    `json:"batch_first,omitempty"`
	BatchSize  int       `json:"batch_size,omitempty"`
}

// stored is an event read back from KurrentDB with its batch bookkeeping.
type stored struct {
	eventlog.Record
	batchFirst uint64
	batchSize  int
}

// batchRange is the first and last version of the append that wrote s.
func (s stored) batchRange() (first, last uint64) {
	if s.batchSize <= 0 || s.batchFirst == 0 || s.batchFirst > s.Version || s.batchFirst+uint64(s.batchSize)-1 < s.Version {
		return s.Version, s.Version // no usable bookkeeping: the event alone
	}
	return s.batchFirst, s.batchFirst + uint64(s.batchSize) - 1
}

func records(ss []stored) []eventlog.Record {
	out := make([]eventlog.Record, len(ss))
	for i := range ss {
		out[i] = ss[i].Record
	}
	return out
}

const contentTypeJSON = "application/json"

// eventData is the KurrentDB body of a chained record about to be appended
// in a batch of batchSize events starting at version batchFirst.
func eventData(rec eventlog.Record, batchFirst uint64, batchSize int) (esdb.EventData, error) {
	meta, err := json.Marshal(storedMeta{Metadata: rec.Metadata, OccurredAt: rec.OccurredAt.UTC(), BatchFirst: batchFirst, BatchSize: batchSize})
	if err != nil {
		return esdb.EventData{}, fmt.Errorf("kurrent: encode metadata of event %s: %w", rec.ID, err)
	}
	return esdb.EventData{
		EventID:     rec.ID,
		EventType:   rec.Type,
		ContentType: esdb.ContentTypeJson,
		Data:        rec.Data,
		Metadata:    meta,
	}, nil
}

// ErrForeignEvent reports an event in KurrentDB that iSPEKS did not write
// (its metadata is not iSPEKS metadata). The KurrentDB database of iSPEKS must
// hold nothing else; the error names the event so an operator can find it.
var ErrForeignEvent = errors.New("kurrent: event not written by iSPEKS")

// recordOf converts an event read from KurrentDB.
func recordOf(ev *esdb.RecordedEvent) (eventlog.Record, error) {
	s, err := storedOf(ev)
	return s.Record, err
}

// storedOf converts an event read from KurrentDB, keeping its bookkeeping.
func storedOf(ev *esdb.RecordedEvent) (stored, error) {
	if ev == nil {
		return stored{}, fmt.Errorf("%w: empty event from server", ErrForeignEvent)
	}
	var meta storedMeta
	if err := json.Unmarshal(ev.UserMetadata, &meta); err != nil || meta.OccurredAt.IsZero() {
		reason := "no occurred_at"
		if err != nil {
			reason = err.Error()
		}
		return stored{}, fmt.Errorf("%w: event %s in stream %q at revision %d has metadata iSPEKS cannot read (%s)",
			ErrForeignEvent, ev.EventID, ev.StreamID, ev.EventNumber, reason)
	}
	if ev.ContentType != contentTypeJSON {
		return stored{}, fmt.Errorf("%w: event %s in stream %q at revision %d has content type %q, want %q",
			ErrForeignEvent, ev.EventID, ev.StreamID, ev.EventNumber, ev.ContentType, contentTypeJSON)
	}
	rec := eventlog.Record{
		ID:         ev.EventID,
		Stream:     ev.StreamID,
		Version:    versionOf(ev.EventNumber),
		Position:   positionOf(ev.Position),
		Type:       ev.EventType,
		OccurredAt: meta.OccurredAt.UTC(),
		Data:       json.RawMessage(ev.Data),
		Metadata:   meta.Metadata,
	}
	return stored{Record: rec, batchFirst: meta.BatchFirst, batchSize: meta.BatchSize}, nil
}

// chained builds the records of an append at version current+1.. and fills
// in their integrity chain from prev, the hash of the stream's last event.
func chained(stream string, current uint64, prev string, events []eventlog.Proposed) []eventlog.Record {
	recs := make([]eventlog.Record, len(events))
	for i, p := range events {
		meta := p.Metadata
		recs[i] = eventlog.Record{
			ID:         p.ID,
			Stream:     stream,
			Version:    current + 1 + uint64(i),
			Type:       p.Type,
			OccurredAt: p.OccurredAt.UTC(),
			Data:       p.Data,
			Metadata:   meta,
		}
	}
	eventlog.Chain(prev, recs)
	return recs
}

// isWrongExpectedVersion reports KurrentDB's optimistic-concurrency failure.
func isWrongExpectedVersion(err error) bool {
	var esErr *esdb.Error
	return errors.As(err, &esErr) && esErr.Code() == esdb.ErrorCodeWrongExpectedVersion
}

// ErrAppendTooLarge reports an append KurrentDB refused for its size. The
// server limits a whole append to its MaxAppendSize (1 MiB by default, 16 MiB
// at most), while iSPEKS allows up to 1 MiB per event and many events per
// append; raise the server's setting.
var ErrAppendTooLarge = errors.New("kurrent: append larger than the server's MaxAppendSize (raise it on the server, up to 16 MiB)")

// isAppendTooLarge recognises the server's refusal by its status and text;
// the client has no error code for it.
func isAppendTooLarge(err error) bool {
	return err != nil && status.Code(err) == codes.InvalidArgument && strings.Contains(err.Error(), "Maximum Append Size")
}

// isNotFound reports a read of a stream that does not exist.
func isNotFound(err error) bool {
	var esErr *esdb.Error
	return errors.As(err, &esErr) && esErr.Code() == esdb.ErrorCodeResourceNotFound
}

// isPermanent reports errors a subscription cannot recover from by
// resubscribing: the caller must be told instead of retrying forever.
func isPermanent(err error) bool {
	var esErr *esdb.Error
	if !errors.As(err, &esErr) {
		return false
	}
	switch esErr.Code() {
	case esdb.ErrorCodeAccessDenied, esdb.ErrorCodeUnauthenticated, esdb.ErrorCodeConnectionClosed,
		esdb.ErrorCodeUnsupportedFeature:
		return true
	}
	return false
}

// findID returns the event with ID id among a stream's events.
func findID(evs []stored, id uuid.UUID) (stored, bool) {
	for _, e := range evs {
		if e.ID == id {
			return e, true
		}
	}
	return stored{}, false
}

// originalResult is the result of the append that stored found, if its last
// event is among evs (a stream's events that include everything after
// found). ok is false when it is not there and must be read.
func originalResult(found stored, evs []stored) (res eventlog.AppendResult, lastVersion uint64, ok bool) {
	first, last := found.batchRange()
	for _, e := range evs {
		if e.Version == last {
			return eventlog.AppendResult{FirstVersion: first, LastVersion: last, LastPosition: e.Position, Replayed: true}, last, true
		}
	}
	return eventlog.AppendResult{}, last, false
}
