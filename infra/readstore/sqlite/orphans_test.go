package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"

	"github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/projections"
)

// The swap of a projector's new layout drops the table it no longer declares
// from the file itself, and its rebuild drops what an abandoned rebuild
// left: a new Store on the same path (another process) does not know the
// collection, and the tables and their catalog rows are gone. A live table
// without an owner, as a store written by an older binary has them, is left
// alone.
func TestSwapDropsUndeclaredTable(t *testing.T) {
	ctx := context.Background()
	s, raw, path := openWithRaw(ctx, t)

	spec := func(name string) projections.CollectionSpec { return projections.CollectionSpec{Name: name} }
	kept, gone, legacy := spec("kept"), spec("gone"), spec("legacy")
	rebuild := func(specs ...projections.CollectionSpec) {
		t.Helper()
		shadow, err := s.BeginRebuild(ctx, "p", specs...)
		if err != nil {
			t.Fatal(err)
		}
		err = shadow.Write(ctx, "p", 1, func(b projections.Batch) error {
			for _, sp := range specs {
				if err := b.Put(ctx, sp.Name, projections.Doc{ID: "d", Version: 1, Body: []byte(`{}`)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SwapRebuild(ctx, "p", specs...); err != nil {
			t.Fatal(err)
		}
	}
	rebuild(kept, gone, legacy)
	// As a binary that did not record owners would have left it.
	if _, err := raw.ExecContext(ctx, "UPDATE _collections SET projector = '' WHERE name = 'legacy'"); err != nil {
		t.Fatal(err)
	}
	// An abandoned rebuild: its shadows, one of a collection never swapped
	// in, are dropped by the next rebuild, which does not declare them.
	if _, err := s.BeginRebuild(ctx, "p", kept, gone, spec("never")); err != nil {
		t.Fatal(err)
	}
	rebuild(kept)

	other, err := sqlite.Open(ctx, path, quietOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, _, err := other.Get(ctx, "gone", "d"); !errors.Is(err, projections.ErrUnknownCollection) {
		t.Fatalf("Get of the dropped collection in a new Store: %v, want ErrUnknownCollection", err)
	}
	for _, name := range []string{"kept", "legacy"} {
		if _, ok, err := other.Get(ctx, name, "d"); err != nil || !ok {
			t.Fatalf("Get(%s) in a new Store: %v %v", name, ok, err)
		}
	}

	tables := column(t, raw, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name")
	if want := []string{"c_kept", "c_legacy"}; !slices.Equal(tables, want) {
		t.Fatalf("tables after the swap: %q, want %q", tables, want)
	}
	catalog := column(t, raw, "SELECT name || ':' || shadow || ':' || projector FROM _collections ORDER BY name")
	if want := []string{"kept:0:p", "legacy:0:"}; !slices.Equal(catalog, want) {
		t.Fatalf("_collections after the swap: %q, want %q", catalog, want)
	}
}

// column returns the one text column of query's rows.
func column(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// DropShadows removes an unfinished rebuild's shadow tables, their catalog
// rows and its shadow checkpoint from the file, and nothing else.
func TestDropShadowsEmptiesTheFile(t *testing.T) {
	ctx := context.Background()
	s, raw, _ := openWithRaw(ctx, t)
	spec := projections.CollectionSpec{Name: "kept", Owner: "p"}
	if err := s.Ensure(ctx, spec); err != nil {
		t.Fatal(err)
	}
	write := func(st projections.ReadStore, cp uint64) {
		t.Helper()
		if err := st.Write(ctx, "p", cp, func(b projections.Batch) error {
			return b.Put(ctx, "kept", projections.Doc{ID: "d", Version: cp, Body: []byte(`{}`)})
		}); err != nil {
			t.Fatal(err)
		}
	}
	write(s, 1)
	shadow, err := s.BeginRebuild(ctx, "p", spec, projections.CollectionSpec{Name: "new"})
	if err != nil {
		t.Fatal(err)
	}
	write(shadow, 2)

	if got, err := s.DropShadows(ctx, "p"); err != nil || !slices.Equal(got, []string{"kept", "new"}) {
		t.Fatalf("DropShadows = %q, %v", got, err)
	}
	tables := column(t, raw, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name")
	if want := []string{"c_kept"}; !slices.Equal(tables, want) {
		t.Fatalf("tables after DropShadows: %q, want %q", tables, want)
	}
	if got := column(t, raw, "SELECT name || ':' || shadow FROM _collections ORDER BY name"); !slices.Equal(got, []string{"kept:0"}) {
		t.Fatalf("_collections after DropShadows: %q", got)
	}
	if got := column(t, raw, "SELECT projector || ':' || shadow || ':' || position FROM _checkpoints WHERE projector = 'p'"); !slices.Equal(got, []string{"p:0:1"}) {
		t.Fatalf("checkpoints of p after DropShadows: %q, want the live one", got)
	}
}

var quietOptions = sqlite.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}

// openWithRaw opens a quiet store in a new file, and a plain connection to
// the same file to see what the store left in it.
func openWithRaw(ctx context.Context, t *testing.T) (*sqlite.Store, *sql.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "views.db")
	s, err := sqlite.Open(ctx, path, quietOptions)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return s, raw, path
}
