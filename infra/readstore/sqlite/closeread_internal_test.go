package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/melaka-gov/ispeks/infra/readstore/readstoretest"
)

// Close waits for a page read in progress, held after its first row with
// its statement open on its connection; the read ends with all its rows,
// and the connection is closed after it, not under it.
func TestCloseWaitsForTheReadsInProgress(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "views.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	readstoretest.CloseWaitsForReads(t, s, readstoretest.CloseHooks{
		HoldReads: func(hook func()) { s.c.midRead = hook },
		Closing:   s.c.reads.Closing,
		ErrClosed: errClosed,
	})
	if n := len(s.c.raw().idle); n != 0 {
		t.Errorf("%d reader connections kept open after Close", n)
	}
}
