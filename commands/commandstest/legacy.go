// Package commandstest holds what tests of several packages need to drive
// the command runner against a real event store.
package commandstest

import (
	"context"
	"strconv"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// LegacyIDs stores events with the event IDs the runner derived before the
// stream was part of them (SHA1 of the command ID and "event-<i>"), as a
// log written by an older iSPEKS has them: the tests that a retry after the
// upgrade is still recognised write through it.
type LegacyIDs struct{ commands.EventStore }

// Append rewrites the events' IDs the old way, then appends them.
func (l LegacyIDs) Append(ctx context.Context, stream string, expected eventlog.ExpectedVersion, events []eventlog.Proposed) (eventlog.AppendResult, error) {
	out := make([]eventlog.Proposed, len(events))
	for i, p := range events {
		p.ID = uuid.NewSHA1(uuid.MustParse(p.Metadata.CausationID), []byte("event-"+strconv.Itoa(i)))
		out[i] = p
	}
	return l.EventStore.Append(ctx, stream, expected, out)
}
