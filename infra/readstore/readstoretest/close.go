package readstoretest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/projections"
)

// CloseHooks reach into an adapter for CloseWaitsForReads.
type CloseHooks struct {
	// HoldReads makes each Find run hook once it is under way on the
	// store (the adapter says where).
	HoldReads func(hook func())
	// Closing reports that Close is waiting for reads in progress.
	Closing func() bool
	// ErrClosed is what a read after Close fails with.
	ErrClosed error
}

// CloseWaitsForReads checks that Close waits for a read in progress, which
// then ends with all its documents, and that reads asked for once Close has
// begun fail with h.ErrClosed, saying the store is closed. s is a new
// store; the check closes it.
func CloseWaitsForReads(t *testing.T, s projections.ReadStore, h CloseHooks) {
	t.Helper()
	ctx := context.Background()
	if err := s.Ensure(ctx, projections.CollectionSpec{Name: "things", Indexes: []string{"owner+rank"}}); err != nil {
		t.Fatal(err)
	}
	err := s.Write(ctx, "p", 1, func(b projections.Batch) error {
		for i := range 3 {
			id := fmt.Sprintf("t%d", i)
			d := doc(id, 1, map[string]any{"owner": "o", "rank": int64(i)}, `{"id":"`+id+`"}`)
			if err := b.Put(ctx, "things", d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	held, release := make(chan struct{}), make(chan struct{})
	h.HoldReads(func() {
		close(held)
		<-release
	})
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
	<-held

	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	deadline := time.Now().Add(10 * time.Second)
	for !h.Closing() {
		select {
		case err := <-closed:
			close(release)
			got := <-read
			t.Fatalf("Close returned (%v) while a read was in progress; the read then got %d documents, error %v", err, len(got.page.Docs), got.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("Close neither returned nor waited for the read in 10 s")
		}
		time.Sleep(time.Millisecond)
	}
	if _, _, err := s.Get(ctx, "things", "t0"); !errors.Is(err, h.ErrClosed) {
		t.Fatalf("Get while closing: %v, want %v", err, h.ErrClosed)
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
	for name, call := range map[string]func() error{
		"Find":       func() error { _, err := s.Find(ctx, query); return err },
		"Get":        func() error { _, _, err := s.Get(ctx, "things", "t0"); return err },
		"Ping":       func() error { return s.Ping(ctx) },
		"Checkpoint": func() error { _, err := s.Checkpoint(ctx, "p"); return err },
	} {
		err := call()
		if !errors.Is(err, h.ErrClosed) || !strings.Contains(err.Error(), "store is closed") {
			t.Errorf("%s after Close: %v, want %q", name, err, h.ErrClosed)
		}
	}
}
