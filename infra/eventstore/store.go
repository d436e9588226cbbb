// Package eventstore holds what every event-store adapter implements. The
// adapters live in its sub-packages (sqlite, kurrent) and pass the one
// contract suite in eventstoretest.
package eventstore

import (
	"context"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// Store is the whole event-store port. Consumers declare the smaller slices of
// it they use (commands.EventStore, projections.EventLog); adapters implement
// all of it.
type Store interface {
	// Append writes events to one stream atomically if expected matches the
	// stream's current version. It validates with eventlog.ValidateAppend,
	// fills in the integrity chain (eventlog.Chain) and returns
	// *eventlog.WrongExpectedVersionError on a conflict. An append whose
	// first event ID is already stored in that stream returns the original
	// result and appends nothing (idempotent retry). An event ID stored in
	// another stream is where the adapters differ: SQLite refuses it
	// (ErrInvalidEvent), KurrentDB stores it again. The command runner never
	// sends one: commands.EventID derives event IDs from the stream too.
	Append(ctx context.Context, stream string, expected eventlog.ExpectedVersion, events []eventlog.Proposed) (eventlog.AppendResult, error)

	// ReadStream reads up to limit events of a stream starting at version
	// from (inclusive) in the given direction. Backwards from 0 means from
	// the end. A stream that does not exist gives an empty slice, no error.
	ReadStream(ctx context.Context, stream string, from uint64, dir eventlog.Direction, limit int) ([]eventlog.Record, error)

	// ReadAll reads up to limit events of the whole log whose position is
	// greater than after, in log order.
	ReadAll(ctx context.Context, after uint64, limit int) ([]eventlog.Record, error)

	// Subscribe delivers every event with position greater than after, in log
	// order: first the stored ones (catch-up), then new ones as they are
	// appended, with a latency of a few milliseconds at most. It blocks until
	// ctx ends (returning ctx.Err()) or handle returns an error (returning
	// it). handle is never called concurrently.
	Subscribe(ctx context.Context, after uint64, handle func(context.Context, eventlog.Record) error) error

	// LastPosition is the position of the last event in the log (0: empty).
	LastPosition(ctx context.Context) (uint64, error)

	// Ping checks the store is reachable (for /readyz).
	Ping(ctx context.Context) error

	// Close releases the store; Subscribe calls in progress return.
	Close() error
}

// ContiguousPositions is implemented by a store whose positions are 1, 2, 3 …
// with no gaps (the SQLite store; KurrentDB's are sparse). Verifying such a
// log also shows an event removed from it, even the last of its stream.
type ContiguousPositions interface {
	ContiguousPositions() bool
}
