package sqlite

import (
	"context"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/melaka-gov/ispeks/projections"
)

// The pooled reader connections keep their statements, yet every read sees
// what another process committed since the connection's last read (a second
// Store on the same file stands in for `ispeks projectors`).
func TestPooledReadsSeeOtherWritersCommits(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "views.db")
	reader, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	writer, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	if err := writer.Ensure(ctx, projections.CollectionSpec{Name: "things", Indexes: []string{"owner+rank"}}); err != nil {
		t.Fatal(err)
	}
	put := func(id string, version uint64, rank int64) {
		t.Helper()
		err := writer.Write(ctx, "p", version, func(b projections.Batch) error {
			return b.Put(ctx, "things", projections.Doc{ID: id, Version: version, Body: []byte(`{"v":` + id + `}`), Fields: map[string]any{"owner": "o", "rank": rank}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	find := func() projections.Page {
		t.Helper()
		pg, err := reader.Find(ctx, projections.Query{Collection: "things", Where: map[string]any{"owner": "o"}, SortBy: "rank", Desc: true, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return pg
	}
	put("1", 1, 10)
	if pg := find(); len(pg.Docs) != 1 || pg.Docs[0].ID != "1" || pg.Docs[0].Fields["rank"] != int64(10) || pg.Docs[0].Fields["owner"] != "o" {
		t.Fatalf("first read: %+v", pg.Docs)
	}
	if len(reader.c.raw().idle) == 0 {
		t.Fatal("no reader connection went back to the pool")
	}
	// The pooled readers do not map the file (see readerMmapBytes): a
	// commit by another connection unmaps it anyway.
	rc, err := reader.c.raw().get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st, err := rc.stmt(ctx, "PRAGMA mmap_size")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]driver.Value, 1)
	if err := rows.Next(v); err != nil || v[0] != int64(0) {
		t.Fatalf("mmap_size of a pooled reader: %v %v", v[0], err)
	}
	rows.Close()
	reader.c.raw().put(rc, false)
	put("2", 2, 20)
	pg := find()
	if len(pg.Docs) != 2 || pg.Docs[0].ID != "2" || string(pg.Docs[0].Body) != `{"v":2}` || pg.Docs[0].Version != 2 {
		t.Fatalf("read after the other store's commit: %+v", pg.Docs)
	}
	doc, ok, err := reader.Get(ctx, "things", "2")
	if err != nil || !ok || doc.Version != 2 {
		t.Fatalf("get after the other store's commit: %+v %v %v", doc, ok, err)
	}

	if err := reader.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Find(ctx, projections.Query{Collection: "things", Limit: 1}); err == nil {
		t.Fatal("find on a closed store succeeded")
	}
}

// Many concurrent page reads share the pool's few connections: none is
// opened past the pool's size (opening one reads the schema again and cost
// more than the queries when an unbounded pool opened one per request).
func TestPooledReadsOpenAtMostThePoolsSize(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "views.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ensure(ctx, projections.CollectionSpec{Name: "things", Indexes: []string{"owner+rank"}}); err != nil {
		t.Fatal(err)
	}
	err = s.Write(ctx, "p", 1, func(b projections.Batch) error {
		return b.Put(ctx, "things", projections.Doc{ID: "a", Version: 1, Body: []byte(`{}`), Fields: map[string]any{"owner": "o", "rank": int64(1)}})
	})
	if err != nil {
		t.Fatal(err)
	}
	p := s.c.raw()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Go(func() {
			for range 20 {
				pg, err := s.Find(ctx, projections.Query{Collection: "things", Where: map[string]any{"owner": "o"}, SortBy: "rank", Limit: 5})
				if err == nil && len(pg.Docs) != 1 {
					err = fmt.Errorf("want 1 document, got %d", len(pg.Docs))
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := p.opened.Load(); n < 1 || n > int64(p.size) {
		t.Errorf("%d reader connections opened for 1,280 reads; the pool holds %d", n, p.size)
	}
	if len(p.idle) != int(p.opened.Load()) {
		t.Errorf("%d connections idle after the reads, %d opened", len(p.idle), p.opened.Load())
	}
}
