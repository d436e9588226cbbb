// Package downstream hands the event log to finance systems: a side-effect
// consumer that publishes events to NATS JetStream through Watermill
// (watermill-nats), and a resumable Server-Sent Events feed for
// GET /api/v1/events. Both send the same JSON per event (WireEvent) and the
// same selection of events (Filter).
//
// Events never carry secrets in clear, but account and API-client events
// carry password and token hashes and sealed values, which no outside
// system needs: by default only the employee, payment and statement
// categories go downstream. IC numbers are in those events' data, which is
// why the feed requires the events:read scope and NATS should be reachable
// only by the finance systems.
package downstream

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// WireEvent is one event as sent downstream. ID is the event ID (and the
// Watermill message UUID and JetStream Msg-Id), so a subscriber dedupes
// repeats of an at-least-once delivery by it; Position orders events and
// resumes the feed.
type WireEvent struct {
	ID         uuid.UUID       `json:"id"`
	Position   uint64          `json:"position"`
	Stream     string          `json:"stream"`
	Version    uint64          `json:"version"`
	Type       string          `json:"type"`
	OccurredAt time.Time       `json:"occurred_at"`
	Data       json.RawMessage `json:"data"`
	Metadata   WireMetadata    `json:"metadata"`
}

// WireMetadata is the part of the metadata shared downstream: who and why,
// and the chain links. Source IP and user agent stay inside, and the seal
// (eventlog.Seal) covers them, so a subscriber cannot recompute Hash: it can
// check that each event's Prev is the Hash of the previous event of its
// stream (Version one lower), which shows a gap or a reordering in what it
// received. Recomputing the hashes is `ispeks audit verify`, on the log.
type WireMetadata struct {
	CorrelationID string         `json:"correlation_id,omitempty"`
	CausationID   string         `json:"causation_id,omitempty"`
	Actor         eventlog.Actor `json:"actor"`
	Prev          string         `json:"prev,omitempty"`
	Hash          string         `json:"hash,omitempty"`
}

// Wire converts a stored record.
func Wire(rec eventlog.Record) WireEvent {
	return WireEvent{
		ID: rec.ID, Position: rec.Position, Stream: rec.Stream, Version: rec.Version,
		Type: rec.Type, OccurredAt: rec.OccurredAt.UTC(), Data: rec.Data,
		Metadata: WireMetadata{
			CorrelationID: rec.Metadata.CorrelationID, CausationID: rec.Metadata.CausationID,
			Actor: rec.Metadata.Actor, Prev: rec.Metadata.Prev, Hash: rec.Metadata.Hash,
		},
	}
}

// Category is the part of a stream name before the first dash
// ("payment-123" → "payment").
func Category(stream string) string {
	c, _, _ := strings.Cut(stream, "-")
	return c
}

// DefaultCategories are sent when no selection is configured.
var DefaultCategories = []string{"employee", "payment", "statement"}

// Filter selects the events that go downstream: those whose category is in
// Categories ("*" for every category) or whose type is in Types.
type Filter struct {
	Categories []string
	Types      []string
}

// DefaultFilter sends DefaultCategories.
func DefaultFilter() Filter { return Filter{Categories: DefaultCategories} }

// Allows reports whether rec goes downstream.
func (f Filter) Allows(rec eventlog.Record) bool {
	if slices.Contains(f.Types, rec.Type) {
		return true
	}
	return slices.Contains(f.Categories, "*") || slices.Contains(f.Categories, Category(rec.Stream))
}
