package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/projections"
)

// plan is SQLite's query plan of the list query of a first page.
func plan(t *testing.T, s *Store, q projections.Query) string {
	t.Helper()
	ctx := context.Background()
	sp, err := s.spec(ctx, q.Collection)
	if err != nil {
		t.Fatal(err)
	}
	where, args := []string{}, []any{}
	for k, v := range q.Where {
		where = append(where, col(k)+" = ?")
		args = append(args, v)
	}
	slices.Sort(where)
	query := "EXPLAIN QUERY PLAN SELECT " + selectCols(sp) + " FROM " + table(q.Collection, false) + " WHERE " + strings.Join(where, " AND ") +
		" ORDER BY " + col(q.SortBy) + " DESC, id DESC LIMIT 10"
	// On the writer: EXPLAIN does not check a reader's cached schema.
	rows, err := s.c.w.QueryContext(ctx, query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, detail)
	}
	return strings.Join(out, "; ")
}

func indexes(t *testing.T, s *Store, tbl string) map[string][]string {
	t.Helper()
	tx, err := s.c.w.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	m, err := indexCols(context.Background(), tx, tbl)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A compound index carries the whole document, so a list page reads the
// index alone; a store written with the narrow index of earlier versions
// is migrated by Ensure, and so is one whose spec gains a field.
func TestCoveringCompoundIndex(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "views.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	spec := projections.CollectionSpec{Name: "rows", Indexes: []string{"owner+kind+at", "kind"}}
	if err := s.Ensure(ctx, spec); err != nil {
		t.Fatal(err)
	}
	err = s.Write(ctx, "p", 1, func(b projections.Batch) error {
		for i, id := range []string{"a", "b", "c"} {
			if err := b.Put(ctx, "rows", projections.Doc{ID: id, Version: 1, Fields: map[string]any{"owner": "o", "kind": "k", "at": int64(i)}, Body: []byte(`{"n":1}`)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	q := projections.Query{Collection: "rows", Where: map[string]any{"owner": "o", "kind": "k"}, SortBy: "at", Desc: true, Limit: 10}
	if p := plan(t, s, q); !strings.Contains(p, "COVERING INDEX") {
		t.Fatalf("list plan does not read a covering index: %s", p)
	}

	// Put the narrow index of earlier versions back, as an old data dir has it.
	var cover string
	for name, cols := range indexes(t, s, "c_rows") {
		if len(cols) > 4 {
			cover = name
		}
	}
	for _, stmt := range []string{`DROP INDEX "` + cover + `"`, `CREATE INDEX "ix_rows_old" ON "c_rows" ("f_owner", "f_kind", "f_at", id)`} {
		if _, err := s.c.w.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	if p := plan(t, s, q); strings.Contains(p, "COVERING INDEX") {
		t.Fatalf("narrow index read as covering: %s", p)
	}
	s.Close()

	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ensure(ctx, spec); err != nil {
		t.Fatal(err)
	}
	got := indexes(t, s, "c_rows")
	if _, ok := got["ix_rows_old"]; ok || len(got) != 2 {
		t.Fatalf("after Ensure on an old store: indexes %v", got)
	}
	if p := plan(t, s, q); !strings.Contains(p, "COVERING INDEX") {
		t.Fatalf("list plan after migration: %s", p)
	}

	// A new field: the covering index is rebuilt with it.
	wider := projections.CollectionSpec{Name: "rows", Indexes: []string{"owner+kind+at", "kind", "extra"}}
	if err := s.Ensure(ctx, wider); err != nil {
		t.Fatal(err)
	}
	got = indexes(t, s, "c_rows")
	if len(got) != 3 {
		t.Fatalf("after a new field: indexes %v", got)
	}
	found := false
	for _, cols := range got {
		if len(cols) > 4 {
			found = slices.Equal(cols, []string{"f_owner", "f_kind", "f_at", "id", "version", "body", "f_extra"})
		}
	}
	if !found {
		t.Fatalf("covering index lacks the new field: %v", got)
	}
	p, err := s.Find(ctx, q)
	if err != nil || len(p.Docs) != 3 || p.Docs[0].ID != "c" || string(p.Docs[0].Body) != `{"n":1}` {
		t.Fatalf("Find after migration = %+v, %v", p, err)
	}
	var n int
	if err := s.c.r.QueryRowContext(ctx, "SELECT count(*) FROM c_rows").Scan(&n); err != nil || n != 3 {
		t.Fatal(n, err)
	}
}
