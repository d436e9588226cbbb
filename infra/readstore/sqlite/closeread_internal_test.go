package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/projections"
)

// Close waits for a page read in progress, which then ends with all its
// rows, on a connection nobody closed under it; reads asked for after
// Close fail saying the store is closed.
func TestCloseWaitsForTheReadsInProgress(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "views.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ensure(ctx, projections.CollectionSpec{Name: "things", Indexes: []string{"owner+rank"}}); err != nil {
		t.Fatal(err)
	}
	err = s.Write(ctx, "p", 1, func(b projections.Batch) error {
		for i := range 3 {
			id := fmt.Sprintf("t%d", i)
			doc := projections.Doc{ID: id, Version: 1, Body: []byte(`{"id":"` + id + `"}`), Fields: map[string]any{"owner": "o", "rank": int64(i)}}
			if err := b.Put(ctx, "things", doc); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	held, release := make(chan struct{}), make(chan struct{})
	s.c.midRead = func() {
		close(held)
		<-release
	}
	query := projections.Query{Collection: "things", Where: map[string]any{"owner": "o"}, SortBy: "rank", Limit: 10}
	type result struct {
		page projections.Page
		err  error
	}
	read := make(chan result, 1)
	go func() {
		pg, err := s.Find(ctx, query)
		read <- result{pg, err}
	}()
	<-held // the read has its first row, its statement open

	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	deadline := time.Now().Add(10 * time.Second)
	for !s.c.reads.Closing() {
		select {
		case err := <-closed:
			close(release)
			t.Fatalf("Close returned (%v) while a page read was in progress", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("Close neither returned nor waited for the read in 10 s")
		}
		time.Sleep(time.Millisecond)
	}
	// Close is waiting: a read asked for now is refused, clearly.
	if _, _, err := s.Get(ctx, "things", "t0"); !errors.Is(err, errClosed) {
		t.Fatalf("Get while closing: %v, want %v", err, errClosed)
	}

	close(release)
	got := <-read
	if got.err != nil {
		t.Fatalf("the read in progress at Close: %v", got.err)
	}
	if len(got.page.Docs) != 3 {
		t.Fatalf("the read in progress at Close returned %d documents, want 3", len(got.page.Docs))
	}
	for i, d := range got.page.Docs {
		if want := fmt.Sprintf(`{"id":"t%d"}`, i); string(d.Body) != want || d.Fields["rank"] != int64(i) {
			t.Fatalf("document %d: %s %v, want %s rank %d", i, d.Body, d.Fields, want, i)
		}
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := len(s.c.raw().idle); n != 0 {
		t.Errorf("%d reader connections kept open after Close", n)
	}

	for name, call := range map[string]func() error{
		"Find":       func() error { _, err := s.Find(ctx, query); return err },
		"Get":        func() error { _, _, err := s.Get(ctx, "things", "t0"); return err },
		"Ping":       func() error { return s.Ping(ctx) },
		"Checkpoint": func() error { _, err := s.Checkpoint(ctx, "p"); return err },
	} {
		err := call()
		if !errors.Is(err, errClosed) || !strings.Contains(err.Error(), "store is closed") {
			t.Errorf("%s after Close: %v, want %q", name, err, errClosed)
		}
	}
}
