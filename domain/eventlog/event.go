// Package eventlog holds the shape of the append-only event log: the envelope
// every event travels in, the explicit type registry, expected versions, and
// the per-stream SHA-256 integrity chain. It does no I/O; adapters in
// infra/eventstore store and load what is defined here.
package eventlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"
)

// Event is a domain event. Its type name is explicit and versioned
// ("account.LoginFailed.v1") and never derived from the Go type by reflection,
// so renaming a Go type can never orphan stored events.
type Event interface {
	EventType() string
}

// NoChange is an event that changes no state: it records only that a
// command ran and found nothing to change (payment.AmendmentUnchanged), so
// that the same command sent again later, after other commands changed the
// state, is recognised as a repeat instead of being applied then. The
// sender is answered as for a repeat: nothing changed. A refusal recorded
// for the same reason (payment.MoveRefused: a keyed request refused for
// the record's state then, so that the same request sent again gets that
// refusal, not a new decision) is one too: it changes no state, and its
// sender is answered with the refusal the command returns with it.
type NoChange interface {
	Event
	NoChange()
}

// Actor kinds: who caused an event.
const (
	ActorUser      = "user"
	ActorAdmin     = "admin"
	ActorClient    = "client"
	ActorSystem    = "system"
	ActorAnonymous = "anonymous"
)

// Actor names who caused an event. ID is a user ID, admin user ID, API client
// ID or a system component name.
type Actor struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
}

// Metadata travels with every event. Prev and Hash are the integrity chain and
// are filled in by the event store at append time; writers leave them empty.
type Metadata struct {
	CorrelationID string `json:"correlation_id,omitempty"`
	CausationID   string `json:"causation_id,omitempty"`
	Actor         Actor  `json:"actor"`
	SourceIP      string `json:"source_ip,omitempty"`
	UserAgent     string `json:"user_agent,omitempty"`
	Prev          string `json:"prev,omitempty"`
	Hash          string `json:"hash,omitempty"`
}

// Proposed is an event handed to Append: not yet in the log.
type Proposed struct {
	ID         uuid.UUID
	Type       string
	OccurredAt time.Time // UTC
	Data       json.RawMessage
	Metadata   Metadata

	// Event, when set, is the value Data encodes (Registry.Encode of it):
	// a store may hand it back as Record.Decoded on the records it serves
	// from memory right after appending them. It is never stored.
	Event Event
}

// Record is an event as stored in the log.
//
// Version is the 1-based position of the event inside its stream (the first
// event of a stream has version 1). Position is the event's global position in
// the whole log: strictly increasing in log order (gap-free in the embedded
// store; KurrentDB commit positions are increasing but sparse).
type Record struct {
	ID         uuid.UUID
	Stream     string
	Version    uint64
	Position   uint64
	Type       string
	OccurredAt time.Time
	Data       json.RawMessage
	Metadata   Metadata

	// Decoded, when not nil, is the event Data encodes, as the command that
	// appended it made it (Proposed.Event): the embedded store sets it on
	// records it serves from memory to subscribers in the process that
	// appended them, so a projector keeping up with a payroll run does not
	// decode every event's JSON again (Registry.Decode uses it; decoding
	// was ~5 % of the run's CPU). It is shared: nobody may modify it. It
	// is never stored or sent; a record read from the file has none.
	Decoded Event
}

// Envelope is a stored record together with its decoded event.
type Envelope struct {
	Record
	Event Event
}

// Limits every adapter enforces, so that a write accepted by one store is
// accepted by all.
const (
	MaxEventSize    = 1 << 20 // bytes of data + metadata of one event
	MaxBatchEvents  = 1000    // events in one Append call
	MaxStreamLength = 200     // characters of a stream name
)

// Errors returned by every event store adapter. Adapters wrap them so callers
// test with errors.Is / errors.As.
var (
	ErrInvalidStream  = errors.New("eventlog: invalid stream name")
	ErrEventTooLarge  = errors.New("eventlog: event larger than 1 MiB")
	ErrBatchTooLarge  = errors.New("eventlog: too many events in one append")
	ErrEmptyAppend    = errors.New("eventlog: append with no events")
	ErrInvalidEvent   = errors.New("eventlog: invalid event")
	ErrStreamNotFound = errors.New("eventlog: stream not found")
	ErrNotEventStore  = errors.New("eventlog: file is not an iSPEKS event store")
)

// ErrCommandReused: a command ID (a client's request ID or Idempotency-Key)
// that already recorded a different change to its aggregate. Answering it
// as a repeat would tell the client a change happened that never did. Each
// aggregate has its own sentinel (CommandReused), worded for its package;
// errors.Is finds this one through any of them.
var ErrCommandReused = errors.New("eventlog: request ID already used for a different change")

// CommandReused is an aggregate's sentinel for ErrCommandReused, its message
// prefixed by the aggregate's package ("payment").
func CommandReused(pkg string) error { return commandReused(pkg) }

type commandReused string

func (e commandReused) Error() string {
	return string(e) + ": request ID already used for a different change"
}
func (commandReused) Is(target error) bool { return target == ErrCommandReused }

// WrongExpectedVersionError reports an append whose expected version did not
// match the stream. Actual is the stream's current version (0: no stream).
type WrongExpectedVersionError struct {
	Stream   string
	Expected ExpectedVersion
	Actual   uint64
}

func (e *WrongExpectedVersionError) Error() string {
	return fmt.Sprintf("eventlog: wrong expected version on stream %q: expected %s, actual %d", e.Stream, e.Expected, e.Actual)
}

// ExpectedVersion is the optimistic-concurrency condition of an append.
type ExpectedVersion struct {
	kind    expectKind
	version uint64
}

type expectKind uint8

const (
	expectAny expectKind = iota
	expectNoStream
	expectExact
)

// NoStream expects the stream not to exist yet: the create of an aggregate.
func NoStream() ExpectedVersion { return ExpectedVersion{kind: expectNoStream} }

// Any appends whatever the stream's version. Aggregate writes never use it; it
// is for streams with no invariants (login probes of unknown user IDs).
func Any() ExpectedVersion { return ExpectedVersion{kind: expectAny} }

// Exactly expects the stream's last event to have version v (v >= 1).
// Exactly(0) is the same as NoStream.
func Exactly(v uint64) ExpectedVersion {
	if v == 0 {
		return NoStream()
	}
	return ExpectedVersion{kind: expectExact, version: v}
}

// IsAny, IsNoStream and Exact describe the condition to adapters.
func (e ExpectedVersion) IsAny() bool      { return e.kind == expectAny }
func (e ExpectedVersion) IsNoStream() bool { return e.kind == expectNoStream }

// Exact returns the expected version and true when the condition is exact.
func (e ExpectedVersion) Exact() (uint64, bool) { return e.version, e.kind == expectExact }

// Matches reports whether a stream currently at version actual (0: no stream)
// satisfies the condition.
func (e ExpectedVersion) Matches(actual uint64) bool {
	switch e.kind {
	case expectNoStream:
		return actual == 0
	case expectExact:
		return actual == e.version
	default:
		return true
	}
}

func (e ExpectedVersion) String() string {
	switch e.kind {
	case expectNoStream:
		return "no stream"
	case expectExact:
		return fmt.Sprintf("version %d", e.version)
	default:
		return "any"
	}
}

// AppendResult tells where an append landed. A retried append whose event IDs
// are already stored returns the original result.
type AppendResult struct {
	FirstVersion uint64
	LastVersion  uint64
	LastPosition uint64
	// Replayed says nothing was written: the events were stored by an
	// earlier append (an idempotent retry). Callers that skipped reading the
	// stream need it to tell a duplicate from a new write.
	Replayed bool
}

// Direction of a stream read.
type Direction uint8

const (
	Forwards Direction = iota
	Backwards
)

// ValidateStream checks a stream name: "<category>-<id>", lower-case category,
// no '$' (KurrentDB reserves it), at most MaxStreamLength characters.
func ValidateStream(stream string) error {
	if len(stream) == 0 || len(stream) > MaxStreamLength || !validStream(stream) {
		return fmt.Errorf("%w: %q (want category-id, letters, digits and ._:@+=- only, at most %d characters)", ErrInvalidStream, stream, MaxStreamLength)
	}
	return nil
}

// ValidateType checks an event type name: "<context>.<Name>.v<N>".
func ValidateType(name string) error {
	if !validType(name) {
		return fmt.Errorf("%w: type name %q is not of the form context.Name.vN", ErrInvalidEvent, name)
	}
	return nil
}

// ValidateProposed checks one event against the limits every store enforces.
func ValidateProposed(p Proposed) error {
	if p.ID == uuid.Nil {
		return fmt.Errorf("%w: missing event ID", ErrInvalidEvent)
	}
	if err := ValidateType(p.Type); err != nil {
		return err
	}
	if p.OccurredAt.IsZero() {
		return fmt.Errorf("%w: %s has no occurred-at time", ErrInvalidEvent, p.Type)
	}
	if !validJSON(p.Data) {
		return fmt.Errorf("%w: %s data is not valid JSON", ErrInvalidEvent, p.Type)
	}
	// Metadata is encoded to measure it only when an upper bound of its
	// size could reach the limit: nearly every event is far below it.
	if len(p.Data)+metadataSizeBound(p.Metadata) <= MaxEventSize {
		return nil
	}
	meta, err := json.Marshal(p.Metadata)
	if err != nil {
		return fmt.Errorf("%w: metadata: %v", ErrInvalidEvent, err)
	}
	if len(p.Data)+len(meta) > MaxEventSize {
		return fmt.Errorf("%w: %s is %d bytes", ErrEventTooLarge, p.Type, len(p.Data)+len(meta))
	}
	return nil
}

// validJSON is encoding/json.Valid (duplicate names and invalid UTF-8 are
// let through as it does) in half the time: every appended event is checked.
func validJSON(b []byte) bool {
	return jsontext.Value(b).IsValid(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
}

// metadataSizeBound is at least the length of m encoded as JSON: every
// string byte escapes to at most 6 bytes (\u00XX), plus the keys and
// punctuation of every field.
func metadataSizeBound(m Metadata) int {
	n := len(m.CorrelationID) + len(m.CausationID) + len(m.Actor.Kind) + len(m.Actor.ID) +
		len(m.SourceIP) + len(m.UserAgent) + len(m.Prev) + len(m.Hash)
	return 6*n + 256
}

// ValidateAppend checks a whole append request before any adapter touches
// storage, so every adapter rejects the same inputs with the same errors.
func ValidateAppend(stream string, events []Proposed) error {
	if err := ValidateStream(stream); err != nil {
		return err
	}
	if len(events) == 0 {
		return ErrEmptyAppend
	}
	if len(events) > MaxBatchEvents {
		return fmt.Errorf("%w: %d events (at most %d)", ErrBatchTooLarge, len(events), MaxBatchEvents)
	}
	seen := make(map[uuid.UUID]struct{}, len(events))
	for _, e := range events {
		if err := ValidateProposed(e); err != nil {
			return err
		}
		if _, dup := seen[e.ID]; dup {
			return fmt.Errorf("%w: event ID %s twice in one append", ErrInvalidEvent, e.ID)
		}
		seen[e.ID] = struct{}{}
	}
	return nil
}

// Changes collects the events an aggregate recorded while running a command.
// Aggregates embed it and record through their own Apply:
//
//	func (a *Account) record(e eventlog.Event) error {
//		if err := a.Apply(e); err != nil { return err }
//		a.Changes.Add(e)
//		return nil
//	}
type Changes struct{ events []Event }

// Add appends an event that has been applied.
func (c *Changes) Add(e Event) { c.events = append(c.events, e) }

// Uncommitted returns the recorded events in order.
func (c *Changes) Uncommitted() []Event { return c.events }
