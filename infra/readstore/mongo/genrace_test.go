package mongo_test

import (
	"context"
	"testing"
	"time"

	rsmongo "github.com/melaka-gov/ispeks/infra/readstore/mongo"
	"github.com/melaka-gov/ispeks/projections"
)

// A batch that reads the generation document (the engine's swap check) and
// then puts: if another process swaps a rebuild in meanwhile and this
// process's catalog cache is refreshed by any other Write (another
// projector's), the puts land in the newly swapped-in collections while the
// check saw the old generation, and the checkpoint goes to the old one.
func TestWriteSpansTwoGenerations(t *testing.T) {
	uri, db, _ := scratchDB(t, "genrace_")
	ctx := context.Background()
	open := func() *rsmongo.Store {
		s, err := rsmongo.OpenWith(ctx, uri, db, rsmongo.Options{CatalogTTL: time.Hour, DropDelay: 2 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	specs := []projections.CollectionSpec{{Name: "gen"}, {Name: "docs"}}
	a, b := open(), open()
	if err := a.Ensure(ctx, specs...); err != nil {
		t.Fatal(err)
	}
	if err := a.Write(ctx, "p", 10, func(bt projections.Batch) error {
		return bt.Put(ctx, "gen", projections.Doc{ID: "generation", Version: 1, Body: []byte(`{"g":"old"}`)})
	}); err != nil {
		t.Fatal(err)
	}
	err := a.Write(ctx, "p", 20, func(bt projections.Batch) error {
		g, _, err := bt.Get(ctx, "gen", "generation")
		if err != nil {
			return err
		}
		if string(g.Body) != `{"g":"old"}` {
			t.Fatalf("gen = %s", g.Body)
		}
		// Process B rebuilds and swaps now.
		sh, err := b.BeginRebuild(ctx, "p", specs...)
		if err != nil {
			return err
		}
		if err := sh.Write(ctx, "p", 15, func(sb projections.Batch) error {
			return sb.Put(ctx, "gen", projections.Doc{ID: "generation", Version: 1, Body: []byte(`{"g":"new"}`)})
		}); err != nil {
			return err
		}
		if err := b.SwapRebuild(ctx, "p", specs...); err != nil {
			return err
		}
		// Another projector of process A commits (refreshes A's catalog).
		if err := a.Write(ctx, "q", 1, func(projections.Batch) error { return nil }); err != nil {
			return err
		}
		return bt.Put(ctx, "docs", projections.Doc{ID: "d1", Version: 7, Body: []byte(`{"from":"old runner"}`)})
	})
	if err != nil {
		t.Fatal(err)
	}
	d, ok, err := b.Get(ctx, "docs", "d1")
	if err != nil {
		t.Fatal(err)
	}
	cp, _ := b.Checkpoint(ctx, "p")
	t.Logf("swapped-in docs/d1 present=%v body=%s; live checkpoint of p=%d", ok, d.Body, cp)
	if ok {
		t.Fatalf("a batch whose generation check saw the old generation wrote into the swapped-in collection (checkpoint of p is %d, not the batch's 20)", cp)
	}
}
