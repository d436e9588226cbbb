package kurrent

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/infra/eventstore"
	"github.com/melaka-gov/ispeks/infra/eventstore/eventstoretest"
)

// TestContract runs the event-store contract suite against a real KurrentDB
// (or EventStoreDB) server. There is none in CI; start a single node in
// insecure mode (see KurrentDB's installation guide) and set the variable:
//
//	ISPEKS_TEST_KURRENTDB_URL='esdb://localhost:2113?tls=false' go test ./infra/eventstore/kurrent/
//
// The server is shared by every check and every run: the suite writes only
// to streams with random names and reads the log from the position it saw
// before each check, so it needs no empty database. Positions are sparse
// (GapFreePositions is false), and the tamper check is skipped: KurrentDB is
// append-only and offers no way to change a stored event behind our back.
func TestContract(t *testing.T) {
	url := os.Getenv("ISPEKS_TEST_KURRENTDB_URL")
	if url == "" {
		t.Skip("KurrentDB contract suite skipped: set ISPEKS_TEST_KURRENTDB_URL=esdb://localhost:2113?tls=false to run it against a real server")
	}
	eventstoretest.Run(t, eventstoretest.Harness{
		New: func(t *testing.T) eventstoretest.Backend {
			return eventstoretest.Backend{
				Open: func(ctx context.Context) (eventstore.Store, error) {
					return Open(ctx, url)
				},
			}
		},
		GapFreePositions: false,
		Timeout:          2 * time.Minute,
	})
}
