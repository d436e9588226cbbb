package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/infra/readstore/internal/rskit"
	"github.com/melaka-gov/ispeks/projections"
)

// A sort by a compound's field that has more fields after it (the
// statement lists: payee_ic+type+period_end+year, by period_end) reads
// the index in its own order and re-sorts runs of equal sort values by ID:
// pages, in either direction, are still ordered by (sort value, ID), with
// every document once across the pages, absent values where MongoDB puts
// them, and SQLite needs no temporary B-tree for it.
func TestSortByCompoundFieldWithFieldsAfterIt(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "views.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	spec := projections.CollectionSpec{Name: "rows", Indexes: []string{"owner+rank+extra"}}
	if err := s.Ensure(ctx, spec); err != nil {
		t.Fatal(err)
	}
	type row struct {
		id   string
		rank any
	}
	var all []row
	err = s.Write(ctx, "p", 1, func(b projections.Batch) error {
		for i := range 40 {
			id := fmt.Sprintf("d%02d", i)
			f := map[string]any{"owner": "o", "extra": int64(100 - i)} // extra runs against the IDs
			var rank any
			if i%7 != 0 {
				rank = int64(i % 4) // long runs of equal ranks
				f["rank"] = rank
			}
			all = append(all, row{id, rank})
			if err := b.Put(ctx, "rows", projections.Doc{ID: id, Version: 1, Body: []byte(`{}`), Fields: f}); err != nil {
				return err
			}
		}
		// Someone else's rows, inside the index between ours.
		return b.Put(ctx, "rows", projections.Doc{ID: "x", Version: 1, Body: []byte(`{}`), Fields: map[string]any{"owner": "p", "rank": int64(1), "extra": int64(1)}})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, desc := range []bool{false, true} {
		want := slices.Clone(all)
		slices.SortFunc(want, func(a, b row) int {
			// absent first ascending, last descending
			c := 0
			switch {
			case a.rank == nil && b.rank == nil:
			case a.rank == nil:
				c = -1
			case b.rank == nil:
				c = 1
			default:
				c = int(a.rank.(int64) - b.rank.(int64))
			}
			if c == 0 {
				c = strings.Compare(a.id, b.id)
			}
			if desc {
				c = -c
			}
			return c
		})
		for _, limit := range []int{1, 3, 5, 8, 50} {
			var got []string
			after := ""
			for range 100 {
				pg, err := s.Find(ctx, projections.Query{Collection: "rows", Where: map[string]any{"owner": "o"}, SortBy: "rank", Desc: desc, Limit: limit, After: after})
				if err != nil {
					t.Fatal(err)
				}
				if len(pg.Docs) > limit {
					t.Fatalf("desc=%v limit %d: a page of %d", desc, limit, len(pg.Docs))
				}
				for _, d := range pg.Docs {
					got = append(got, d.ID)
				}
				if pg.Next == "" {
					break
				}
				after = pg.Next
			}
			var wantIDs []string
			for _, r := range want {
				wantIDs = append(wantIDs, r.id)
			}
			if !slices.Equal(got, wantIDs) {
				t.Fatalf("desc=%v limit %d:\n got %v\nwant %v", desc, limit, got, wantIDs)
			}
		}
	}

	sp, err := s.spec(ctx, "rows")
	if err != nil {
		t.Fatal(err)
	}
	p, err := rskit.PlanQuery(sp, projections.Query{Collection: "rows", Where: map[string]any{"owner": "o"}, SortBy: "rank", Desc: true, Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := buildFind(p, findShape(p), false, segBoth, false, -1, middleFields(p))
	rows, err := s.c.w.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, "o")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if joined := strings.Join(plan, "; "); strings.Contains(joined, "TEMP B-TREE") || !strings.Contains(joined, "COVERING INDEX") {
		t.Fatalf("plan of %s: %s", q, joined)
	}
}
