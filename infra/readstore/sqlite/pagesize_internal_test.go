package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/melaka-gov/ispeks/projections"
)

func pragmaOf(t *testing.T, db *sql.DB, name string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("PRAGMA " + name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func pageSizeOf(t *testing.T, db *sql.DB) int { return pragmaOf(t, db, "page_size") }

// The writer, which projectors keep busy, has the larger page cache; the
// readers, which drop theirs at every commit, SQLite's default (see dsn).
func TestWriterCacheIsLargerThanReaders(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "views.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := pragmaOf(t, s.c.w, "cache_size"); got != -131072 {
		t.Errorf("writer cache_size %d, want -131072 (128 MiB)", got)
	}
	if got := pragmaOf(t, s.c.r, "cache_size"); got != -2048 {
		t.Errorf("reader cache_size %d, want -2048 (2 MiB)", got)
	}
}

// A new store gets 8 KiB pages (cheaper to project into); one created
// with 4 KiB pages by an earlier version keeps them and still works.
func TestPageSizeOfNewAndExistingStores(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	fresh, err := Open(ctx, filepath.Join(dir, "new.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if got := pageSizeOf(t, fresh.c.w); got != 8192 {
		t.Errorf("new store: page size %d, want 8192", got)
	}

	oldPath := filepath.Join(dir, "old.db")
	old, err := sql.Open("sqlite", "file:"+oldPath+"?_pragma=page_size(4096)")
	if err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := old.QueryRow("PRAGMA journal_mode=WAL").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal mode %q: %v", mode, err)
	}
	if _, err := old.Exec(schema); err != nil {
		t.Fatal(err)
	}
	old.Close()

	s, err := Open(ctx, oldPath, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := pageSizeOf(t, s.c.w); got != 4096 {
		t.Errorf("existing store: page size %d, want it kept at 4096", got)
	}
	spec := projections.CollectionSpec{Name: "things", Indexes: []string{"owner"}}
	if err := s.Ensure(ctx, spec); err != nil {
		t.Fatal(err)
	}
	err = s.Write(ctx, "p", 7, func(b projections.Batch) error {
		return b.Put(ctx, "things", projections.Doc{ID: "a", Version: 1, Fields: map[string]any{"owner": "x"}, Body: []byte(`{"n":1}`)})
	})
	if err != nil {
		t.Fatal(err)
	}
	doc, ok, err := s.Get(ctx, "things", "a")
	if err != nil || !ok || string(doc.Body) != `{"n":1}` {
		t.Fatalf("get after put: %+v %v %v", doc, ok, err)
	}
	if cp, err := s.Checkpoint(ctx, "p"); err != nil || cp != 7 {
		t.Fatalf("checkpoint %d, %v", cp, err)
	}
}
