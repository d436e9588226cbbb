package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/melaka-gov/ispeks/projections"
)

// A statement a batch had to prepare is kept on the writer's connection
// and bound to later batches without preparing again; documents and
// checkpoints still land.
func TestWriterStatementsAreKeptAcrossBatches(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "views.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ensure(ctx, projections.CollectionSpec{Name: "things", Indexes: []string{"owner"}}); err != nil {
		t.Fatal(err)
	}
	put := func(id string, version uint64, cp uint64) {
		t.Helper()
		err := s.Write(ctx, "p", cp, func(b projections.Batch) error {
			return b.Put(ctx, "things", projections.Doc{ID: id, Version: version, Body: []byte(`{}`), Fields: map[string]any{"owner": "o"}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	put("a", 1, 1)
	kept := len(s.c.wstmts.m)
	if kept < 2 {
		t.Fatalf("%d writer statements kept after the first batch, want the put and the checkpoint", kept)
	}
	for i := range 5 {
		put("b", uint64(i+1), uint64(i+2))
	}
	if n := len(s.c.wstmts.m); n != kept {
		t.Errorf("%d writer statements after more batches of the same shape, want still %d", n, kept)
	}
	doc, ok, err := s.Get(ctx, "things", "b")
	if err != nil || !ok || doc.Version != 5 {
		t.Fatalf("after reused statements: %+v %v %v", doc, ok, err)
	}
	if cp, err := s.Checkpoint(ctx, "p"); err != nil || cp != 6 {
		t.Fatalf("checkpoint %d %v, want 6", cp, err)
	}
}
