package engine

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/projections"
)

// A put that finds nothing in the overlay does not read the store (blind);
// the store's rule still holds: a Get sees a newer stored version rather
// than the blind one, the commit keeps the newer version, and no stale
// entry stays cached after it. (A replay from an old checkpoint puts old
// versions of documents the store has newer.)
func TestBlindPutKeepsNewerStoredVersion(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "views.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Ensure(ctx, projections.CollectionSpec{Name: "c"}); err != nil {
		t.Fatal(err)
	}
	put := func(id string, v uint64, body string) projections.Doc {
		return projections.Doc{ID: id, Version: v, Body: []byte(body)}
	}
	if err := store.Write(ctx, "p", 1, func(b projections.Batch) error { return b.Put(ctx, "c", put("old", 5, `"five"`)) }); err != nil {
		t.Fatal(err)
	}
	o := newOverlay(store, map[string]bool{"c": true}, false)
	var s staging
	get := func(id string) (uint64, string, bool) {
		t.Helper()
		d, ok, err := s.Get(ctx, "c", id)
		if err != nil {
			t.Fatal(err)
		}
		return d.Version, string(d.Body), ok
	}
	commit := func() {
		t.Helper()
		keys := o.writes()
		if err := store.Write(ctx, "p", 2, func(b projections.Batch) error { return o.apply(ctx, b, keys) }); err != nil {
			t.Fatal(err)
		}
		o.committed(keys, 1000)
	}

	// Event 1: blind puts of an older version of "old" and of a new "new".
	s.begin(o)
	for _, d := range []projections.Doc{put("old", 1, `"one"`), put("new", 1, `"new one"`)} {
		if err := s.Put(ctx, "c", d); err != nil {
			t.Fatal(err)
		}
	}
	if !s.writes[docKey{"c", "old"}].blind {
		t.Fatal("put of an uncached document read the store")
	}
	s.merge()
	// Event 2, same batch: a newer but still older put, then reads.
	s.begin(o)
	if err := s.Put(ctx, "c", put("old", 3, `"three"`)); err != nil {
		t.Fatal(err)
	}
	if v, body, ok := get("old"); !ok || v != 5 || body != `"five"` {
		t.Fatalf("Get after blind puts = v%d %s %v, want the stored v5", v, body, ok)
	}
	if v, body, ok := get("new"); !ok || v != 1 || body != `"new one"` {
		t.Fatalf("Get of a new document = v%d %s %v", v, body, ok)
	}
	s.merge()
	commit()

	// The store kept v5 of "old", took "new"; a later Get reads the truth.
	for id, want := range map[string]string{"old": `"five"`, "new": `"new one"`} {
		d, ok, err := store.Get(ctx, "c", id)
		if err != nil || !ok || string(d.Body) != want {
			t.Fatalf("stored %s = %s %v %v, want %s", id, d.Body, ok, err, want)
		}
	}
	s.begin(o)
	if err := s.Put(ctx, "c", put("old", 2, `"two"`)); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := get("old"); v != 5 {
		t.Fatalf("after the commit a blind put of v2 shows v%d, want the stored v5", v)
	}
	if err := s.Put(ctx, "c", put("old", 5, `"again"`)); err != nil {
		t.Fatal(err)
	}
	if _, body, _ := get("old"); body != `"five"` {
		t.Fatalf("a put of the stored version replaced it: %s", body)
	}
}
