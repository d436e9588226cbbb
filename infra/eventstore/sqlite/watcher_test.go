package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// The watcher looks for other processes' commits. A tick in which this store
// committed queries nothing (the commit learnt the head, other processes'
// commits before it included); a tick without one reads the last position
// and raises the head past what another process committed.
func TestWatcherSkipsTheQueryAfterAnOwnCommit(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	s, other := openQuiet(t, path), openQuiet(t, path)
	appendOne := func(st *Store) uint64 {
		t.Helper()
		res, err := st.Append(ctx, "watched-"+uuid.NewString(), eventlog.Any(), []eventlog.Proposed{{
			ID: uuid.New(), Type: "test.Happened.v1", OccurredAt: time.Now().UTC(), Data: []byte(`{}`),
			Metadata: eventlog.Metadata{Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "test"}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		return res.LastPosition
	}
	seen := s.commitCount.Load()

	if !s.watch.poll(ctx, &seen) {
		t.Fatal("a tick with no commit of this store did not query")
	}
	own := appendOne(s)
	if s.watch.poll(ctx, &seen) {
		t.Error("a tick after this store's own commit queried the file")
	}
	if s.head.Load() != own {
		t.Errorf("head %d after the own commit at %d", s.head.Load(), own)
	}

	// Another process commits; a tick without an own commit notices it.
	theirs := appendOne(other)
	if !s.watch.poll(ctx, &seen) {
		t.Fatal("a tick with no own commit since did not query")
	}
	if s.head.Load() != theirs {
		t.Fatalf("head %d after another process committed at %d", s.head.Load(), theirs)
	}

	// Another process commits, then this store: the own commit's head
	// covers the other's, and the tick queries nothing.
	theirs = appendOne(other)
	own = appendOne(s)
	if own <= theirs {
		t.Fatalf("own commit at %d, the other's at %d", own, theirs)
	}
	if s.watch.poll(ctx, &seen) {
		t.Error("a tick after an own commit queried the file")
	}
	if s.head.Load() != own {
		t.Errorf("head %d, want the own commit's %d (past the other's %d)", s.head.Load(), own, theirs)
	}
}
