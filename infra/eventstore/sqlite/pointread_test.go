package sqlite

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
)

// Point reads (a stream, the last position) use connections without a
// memory map, scans the mapped ones (see pointDSN).
func TestPointReadersDoNotMapTheFile(t *testing.T) {
	ctx := context.Background()
	s := openQuiet(t, filepath.Join(t.TempDir(), "events.db"))
	mmap := func(pool chan *reader) int64 {
		t.Helper()
		r := <-pool
		defer func() { pool <- r }()
		var n int64
		if err := r.conn.QueryRowContext(ctx, "PRAGMA mmap_size").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for range cap(s.points) {
		if n := mmap(s.points); n != 0 {
			t.Errorf("a point reader maps %d bytes of the file", n)
		}
	}
	if n := mmap(s.readers); n == 0 {
		t.Error("a scanning reader does not map the file")
	}
}

// openQuiet opens the store at path without logs, closed when t ends.
func openQuiet(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
