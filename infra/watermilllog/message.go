package watermilllog

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// Metadata keys set on every delivered message. MetaName is the key
// Watermill's CQRS marshalers read (cqrs.JSONMarshaler.NameFromMessage), so a
// cqrs.EventProcessor can route log events by their type name.
const (
	MetaName          = "name"
	MetaStream        = "stream"
	MetaVersion       = "version"
	MetaPosition      = "position"
	MetaOccurredAt    = "occurred_at"
	MetaCorrelationID = "correlation_id" // same key as watermill's middleware.CorrelationID
	MetaCausationID   = "causation_id"
)

type recordKey struct{}

// ContextWithRecord attaches the log record a message was made from, so an
// in-process handler gets the whole record (metadata, integrity fields)
// without parsing message metadata back.
func ContextWithRecord(ctx context.Context, rec eventlog.Record) context.Context {
	return context.WithValue(ctx, recordKey{}, rec)
}

// RecordFromContext returns the record attached by ContextWithRecord.
func RecordFromContext(ctx context.Context) (eventlog.Record, bool) {
	rec, ok := ctx.Value(recordKey{}).(eventlog.Record)
	return rec, ok
}

// RecordFromMessage returns the log record a delivered message carries.
func RecordFromMessage(msg *message.Message) (eventlog.Record, bool) {
	return RecordFromContext(msg.Context())
}

// NewMessage turns a log record into a Watermill message: UUID = event ID,
// payload = event data JSON, metadata = type name, stream, version, position
// and correlation. Records written by Publisher are unwrapped back into the
// message that was published (its UUID, payload and metadata). The record is
// attached to the message context (RecordFromMessage).
func NewMessage(ctx context.Context, rec eventlog.Record) *message.Message {
	var msg *message.Message
	if w, ok := unwrap(rec); ok {
		msg = message.NewMessage(w.UUID, w.Payload)
		for k, v := range w.Metadata {
			msg.Metadata[k] = v
		}
		if msg.Metadata[MetaName] == "" {
			msg.Metadata[MetaName] = rec.Type
		}
	} else {
		msg = message.NewMessage(rec.ID.String(), message.Payload(rec.Data))
		msg.Metadata[MetaName] = rec.Type
		if rec.Metadata.CorrelationID != "" {
			msg.Metadata[MetaCorrelationID] = rec.Metadata.CorrelationID
		}
		if rec.Metadata.CausationID != "" {
			msg.Metadata[MetaCausationID] = rec.Metadata.CausationID
		}
	}
	// The log's own coordinates always win over anything a publisher set.
	msg.Metadata[MetaStream] = rec.Stream
	msg.Metadata[MetaVersion] = strconv.FormatUint(rec.Version, 10)
	msg.Metadata[MetaPosition] = strconv.FormatUint(rec.Position, 10)
	msg.Metadata[MetaOccurredAt] = rec.OccurredAt.UTC().Format(time.RFC3339Nano)
	msg.SetContext(ContextWithRecord(ctx, rec))
	return msg
}

// MessageType is the event type under which Publisher stores a Watermill
// message that is not a domain event: its UUID, metadata and raw payload are
// kept so the subscriber hands back exactly what was published.
const MessageType = "watermill.Message.v1"

type wrapped struct {
	UUID     string            `json:"uuid"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Payload  []byte            `json:"payload"`
}

func unwrap(rec eventlog.Record) (wrapped, bool) {
	if rec.Type != MessageType {
		return wrapped{}, false
	}
	var w wrapped
	if err := json.Unmarshal(rec.Data, &w); err != nil || w.UUID == "" {
		return wrapped{}, false
	}
	return w, true
}
