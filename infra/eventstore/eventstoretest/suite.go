// Package eventstoretest is the contract suite for eventstore.Store. Every
// adapter runs it from its own tests with a Harness that says how to open
// that adapter:
//
//	func TestContract(t *testing.T) {
//		eventstoretest.Run(t, eventstoretest.Harness{
//			New: func(t *testing.T) eventstoretest.Backend {
//				path := filepath.Join(t.TempDir(), "events.db")
//				return eventstoretest.Backend{
//					Open: func(ctx context.Context) (eventstore.Store, error) {
//						return sqlite.Open(ctx, path, sqlite.Options{})
//					},
//					Tamper: func(ctx context.Context, rec eventlog.Record) error {
//						// change the stored row with plain SQL
//					},
//				}
//			},
//			GapFreePositions: true,
//		})
//	}
//
// The suite is written so that it can run against a shared server such as
// KurrentDB: every check uses stream names of its own (random IDs), reads of
// the whole log start at the position LastPosition reported before the check
// and look only at the check's own streams, and nothing assumes the log
// starts empty. Checks that need more than that are switched by the
// Harness: GapFreePositions turns on the exact-position checks, and a nil
// Backend.Tamper skips the tamper check with a message.
//
// Covered: append and read in both directions with limits, the record
// fields as written, expected-version conflicts with the actual version,
// idempotent retry (same IDs → original result, nothing appended, whatever
// the expected version), 64 goroutines on one stream (exactly one wins each
// version) and on 64 streams (all succeed, positions gap-free when
// promised), subscriptions (exclusive start, catch-up then live, handler
// errors, context end, store close), reopen keeps everything and continues
// the chain, the integrity chain verifies and a tampered event is reported,
// and the limits of eventlog (stream names, 1 MiB events, batch size, bad
// events) with its errors.
package eventstoretest

import (
	"context"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/eventstore"
)

// Harness tells the suite how to get stores of one adapter.
type Harness struct {
	// New prepares empty (or at least independent) storage for one check
	// and returns how to open stores on it. It may call t.Skip.
	New func(t *testing.T) Backend

	// GapFreePositions promises that positions are consecutive integers and
	// that nothing but the check writes to the storage from New while it
	// runs, so the suite can expect exact positions.
	GapFreePositions bool

	// Timeout bounds each check. Default 60s.
	Timeout time.Duration
}

// Backend is one storage prepared by Harness.New.
type Backend struct {
	// Open opens a store on the storage. The suite closes every store it
	// opens and may open the storage again after closing it (reopen must
	// find everything written before).
	Open func(ctx context.Context) (eventstore.Store, error)

	// Tamper changes the stored data of rec behind the store's back (for
	// SQLite: an UPDATE with plain SQL) so that its integrity hash no longer
	// matches. nil when the backend cannot be tampered with (KurrentDB is
	// append-only); the tamper check is then skipped.
	Tamper func(ctx context.Context, rec eventlog.Record) error
}

// Run runs the whole contract against h.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("eventstoretest: Harness.New is nil")
	}
	if h.Timeout <= 0 {
		h.Timeout = 60 * time.Second
	}
	checks := []struct {
		name string
		fn   func(t *testing.T, c *check)
	}{
		{"AppendAndReadStream", testAppendAndReadStream},
		{"ReadAll", testReadAll},
		{"ExpectedVersion", testExpectedVersion},
		{"IdempotentRetry", testIdempotentRetry},
		{"ConcurrentOneStream", testConcurrentOneStream},
		{"ConcurrentRetryOneStream", testConcurrentRetryOneStream},
		{"ConcurrentManyStreams", testConcurrentManyStreams},
		{"SubscribeCatchUpThenLive", testSubscribeCatchUpThenLive},
		{"SubscribeFromEnd", testSubscribeFromEnd},
		{"SubscribeHandlerError", testSubscribeHandlerError},
		{"SubscribeContextEnd", testSubscribeContextEnd},
		{"SubscribeEndsOnClose", testSubscribeEndsOnClose},
		{"Reopen", testReopen},
		{"Integrity", testIntegrity},
		{"Limits", testLimits},
		{"LastPositionAndPing", testLastPositionAndPing},
		{"Closed", testClosed},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
			defer cancel()
			b := h.New(t)
			if b.Open == nil {
				t.Fatal("eventstoretest: Backend.Open is nil")
			}
			c.fn(t, &check{ctx: ctx, h: h, b: b})
		})
	}
}
