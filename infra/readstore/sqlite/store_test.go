package sqlite_test

import (
	"context"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/melaka-gov/ispeks/infra/readstore/readstoretest"
	"github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/projections"
)

func TestContract(t *testing.T) {
	base := t.TempDir()
	unsafe := regexp.MustCompile(`[^A-Za-z0-9_-]+`)
	readstoretest.Run(t, func(t *testing.T) projections.ReadStore {
		// Same test, same file: the suite reopens and runs a second instance.
		path := filepath.Join(base, unsafe.ReplaceAllString(t.Name(), "_"), "views.db")
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}
