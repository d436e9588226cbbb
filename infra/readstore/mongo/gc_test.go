package mongo_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	rsmongo "github.com/melaka-gov/ispeks/infra/readstore/mongo"
	"github.com/melaka-gov/ispeks/projections"
)

// After a swap the old generation stays for DropDelay, for readers still on
// it, and is dropped after that by whichever store collects next.
func TestSwappedOutGenerationIsDropped(t *testing.T) {
	uri, db, admin := scratchDB(t, "rs_gc_")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// A delay no test run reaches: the old generation must still be there.
	s, spec := openThings(ctx, t, uri, db)
	names := func() []string {
		n, err := admin.Database(db).ListCollectionNames(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(n)
		return n
	}
	if got := names(); !slices.Contains(got, "things__g1") {
		t.Fatalf("collections after Ensure: %q", got)
	}
	shadow, err := s.BeginRebuild(ctx, "p", spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := shadow.Write(ctx, "p", 3, func(b projections.Batch) error {
		return b.Put(ctx, "things", projections.Doc{ID: "x", Version: 1, Body: []byte(`{}`)})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.SwapRebuild(ctx, "p", spec); err != nil {
		t.Fatal(err)
	}
	if got := names(); !slices.Contains(got, "things__g1") || !slices.Contains(got, "things__g2") {
		t.Fatalf("right after the swap both generations should exist: %q", got)
	}
	if _, ok, err := s.Get(ctx, "things", "x"); err != nil || !ok {
		t.Fatalf("swapped-in doc: %v %v", ok, err)
	}
	// A store with a short delay collects it once the delay has passed.
	s2, err := rsmongo.OpenWith(ctx, uri, db, rsmongo.Options{CatalogTTL: 10 * time.Millisecond, DropDelay: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	time.Sleep(100 * time.Millisecond)
	if err := s2.Ensure(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if got := names(); slices.Contains(got, "things__g1") || !slices.Contains(got, "things__g2") {
		t.Fatalf("after collection: %q", got)
	}
	if _, ok, err := s.Get(ctx, "things", "x"); err != nil || !ok {
		t.Fatalf("live doc after collection: %v %v", ok, err)
	}
	var cps []bson.M
	cur, err := admin.Database(db).Collection("_ispeks_checkpoints").Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cur.All(ctx, &cps); err != nil {
		t.Fatal(err)
	}
	if len(cps) != 1 || cps[0]["_id"] != "p@3" {
		t.Fatalf("checkpoint documents after collection: %v", cps)
	}
}

// A collection the projector's new layout no longer declares is retired by
// the swap like an old generation, and dropped once DropDelay has passed.
func TestUndeclaredCollectionIsDropped(t *testing.T) {
	uri, db, admin := scratchDB(t, "rs_gcu_")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	s, err := rsmongo.OpenWith(ctx, uri, db, rsmongo.Options{CatalogTTL: 10 * time.Millisecond, DropDelay: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	kept := projections.CollectionSpec{Name: "kept", Indexes: []string{"k"}}
	gone := projections.CollectionSpec{Name: "gone", Indexes: []string{"k"}}
	never := projections.CollectionSpec{Name: "never", Indexes: []string{"k"}}
	for i, specs := range [][]projections.CollectionSpec{{kept, gone}, {kept, gone, never}, {kept}} {
		if _, err := s.BeginRebuild(ctx, "p", specs...); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			continue // abandoned: the next rebuild drops its shadows
		}
		if err := s.SwapRebuild(ctx, "p", specs...); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		names, err := admin.Database(db).ListCollectionNames(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "gone__g") || strings.HasPrefix(n, "never__g") }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the undeclared collection is still there after 10 s: %q", names)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, _, err := s.Get(ctx, "kept", "x"); err != nil {
		t.Fatalf("the kept collection: %v", err)
	}
}

// DropShadows drops an unfinished rebuild's shadow generations and shadow
// checkpoint document at once (no reader is on them: no drop delay), and
// leaves the live generation and checkpoint.
func TestDropShadowsDropsTheGenerations(t *testing.T) {
	uri, db, admin := scratchDB(t, "rs_gcs_")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	s, spec := openThings(ctx, t, uri, db)
	put := func(st projections.ReadStore, cp uint64) {
		t.Helper()
		if err := st.Write(ctx, "p", cp, func(b projections.Batch) error {
			return b.Put(ctx, "things", projections.Doc{ID: "x", Version: cp, Body: []byte(`{}`)})
		}); err != nil {
			t.Fatal(err)
		}
	}
	put(s, 1)
	shadow, err := s.BeginRebuild(ctx, "p", spec)
	if err != nil {
		t.Fatal(err)
	}
	put(shadow, 2)
	cps := func() []string {
		t.Helper()
		var docs []bson.M
		cur, err := admin.Database(db).Collection("_ispeks_checkpoints").Find(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		if err := cur.All(ctx, &docs); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, d := range docs {
			ids = append(ids, d["_id"].(string))
		}
		slices.Sort(ids)
		return ids
	}
	names := func() []string {
		t.Helper()
		n, err := admin.Database(db).ListCollectionNames(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, name := range n {
			if strings.HasPrefix(name, "things__g") {
				out = append(out, name)
			}
		}
		slices.Sort(out)
		return out
	}
	if got := names(); !slices.Equal(got, []string{"things__g1", "things__g2"}) {
		t.Fatalf("collections during the rebuild: %q", got)
	}
	if got := cps(); !slices.Equal(got, []string{"p@0", "p@3"}) {
		t.Fatalf("checkpoint documents during the rebuild: %q", got)
	}

	if got, err := s.DropShadows(ctx, "p"); err != nil || !slices.Equal(got, []string{"things"}) {
		t.Fatalf("DropShadows = %q, %v", got, err)
	}
	if got := names(); !slices.Equal(got, []string{"things__g1"}) {
		t.Fatalf("collections after DropShadows: %q, want the live generation only", got)
	}
	if got := cps(); !slices.Equal(got, []string{"p@0"}) {
		t.Fatalf("checkpoint documents after DropShadows: %q, want the live one only", got)
	}
	if cp, err := s.Checkpoint(ctx, "p"); err != nil || cp != 1 {
		t.Fatalf("live checkpoint after DropShadows: %d %v, want 1", cp, err)
	}
}

// openThings opens a store whose swapped-out generations stay for an hour
// (longer than any test run) with the collection "things" ensured.
func openThings(ctx context.Context, t *testing.T, uri, db string) (*rsmongo.Store, projections.CollectionSpec) {
	t.Helper()
	s, err := rsmongo.OpenWith(ctx, uri, db, rsmongo.Options{CatalogTTL: 10 * time.Millisecond, DropDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	spec := projections.CollectionSpec{Name: "things", Indexes: []string{"k"}}
	if err := s.Ensure(ctx, spec); err != nil {
		t.Fatal(err)
	}
	return s, spec
}
