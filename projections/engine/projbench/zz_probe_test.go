package projbench_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	eventsqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	readsqlite "github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/engine"
	"github.com/melaka-gov/ispeks/projections/engine/projbench"
)

func TestProbe(t *testing.T) {
	dir := os.Getenv("PROBE_DIR")
	if dir == "" {
		t.Skip()
	}
	ctx := context.Background()
	ev, err := eventsqlite.Open(ctx, filepath.Join(dir, "events.db"), eventsqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	start := time.Now()
	var after uint64
	n := 0
	for {
		recs, err := ev.ReadAll(ctx, after, 2000)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		n += len(recs)
		after = recs[len(recs)-1].Position
	}
	fmt.Printf("readall %d in %s (%.0f/s)\n", n, time.Since(start), float64(n)/time.Since(start).Seconds())
	reg := projbench.Registry()
	start = time.Now()
	after = 0
	for {
		recs, _ := ev.ReadAll(ctx, after, 2000)
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			if _, err := reg.Decode(r); err != nil {
				t.Fatal(err)
			}
		}
		after = recs[len(recs)-1].Position
	}
	fmt.Printf("read+decode in %s\n", time.Since(start))
	os.Remove("/tmp/pbx/views.db")
	os.Remove("/tmp/pbx/views.db-wal")
	os.Remove("/tmp/pbx/views.db-shm")
	views, err := readsqlite.Open(ctx, "/tmp/pbx/views.db")
	if err != nil {
		t.Fatal(err)
	}
	defer views.Close()
	e, _ := engine.New(engine.Config{Log: ev, Store: views, Registry: reg, Projectors: []projections.Projector{projbench.Projector{}}})
	res, err := e.Rebuild(ctx, projbench.ProjectorName, nil)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("rebuild %+v %.0f/s\n", res, float64(res.Events)/res.Duration.Seconds())
}
