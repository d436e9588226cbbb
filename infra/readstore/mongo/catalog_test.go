package mongo_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	rsmongo "github.com/melaka-gov/ispeks/infra/readstore/mongo"
	"github.com/melaka-gov/ispeks/projections"
)

// Two stores (as two processes would) change the catalog at the same time:
// no change is lost, and an Ensure that changes nothing writes nothing.
func TestConcurrentCatalogChanges(t *testing.T) {
	uri, db, admin := scratchDB(t, "rs_cat_")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var stores [2]*rsmongo.Store
	for i := range stores {
		var err error
		if stores[i], err = rsmongo.OpenWith(ctx, uri, db, rsmongo.Options{CatalogTTL: time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		defer stores[i].Close()
	}
	const each = 6
	var wg sync.WaitGroup
	errs := make(chan error, 2*each)
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				spec := projections.CollectionSpec{Name: fmt.Sprintf("c%d_%d", i, j), Indexes: []string{"k"}}
				if err := s.Ensure(ctx, spec); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := range stores {
		for j := range each {
			name := fmt.Sprintf("c%d_%d", i, j)
			for _, s := range stores {
				if _, _, err := s.Get(ctx, name, "x"); err != nil {
					t.Errorf("collection %s lost: %v", name, err)
				}
			}
		}
	}
	revs := func() int64 {
		n, err := admin.Database(db).Collection("_ispeks_catalog").CountDocuments(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := revs()
	if err := stores[0].Ensure(ctx, projections.CollectionSpec{Name: "c1_1", Indexes: []string{"k"}}); err != nil {
		t.Fatal(err)
	}
	if after := revs(); after != before {
		t.Fatalf("an Ensure that changes nothing wrote a catalog revision (%d → %d)", before, after)
	}
}
