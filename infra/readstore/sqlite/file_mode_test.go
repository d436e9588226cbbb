package sqlite_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/melaka-gov/ispeks/infra/readstore/sqlite"
)

// TestNewStoreIsPrivate: the read models hold names, IC numbers and
// salaries; a new store and its WAL files are the portal user's alone.
func TestNewStoreIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "views.db")
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v, want no access for group and others", filepath.Base(f), fi.Mode().Perm())
		}
	}
}
