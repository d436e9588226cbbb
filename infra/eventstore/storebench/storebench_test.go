package storebench_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/infra/eventstore/storebench"
)

// A tiny run: checks that every phase runs, counts what it did and prints
// its line. Speed is what the command measures, not what the test checks.
func TestRunSmall(t *testing.T) {
	var out bytes.Buffer
	dir := t.TempDir()
	rep, err := storebench.Run(context.Background(), storebench.Config{
		Dir: dir, Writers: 8, SingleEvents: 80, BatchSize: 10, BatchWriters: 2,
		BatchEvents: 200, RawEvents: 300, RawTxRows: 100, ReadPage: 64,
	}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Single.Events != 80 || rep.Batched.Events != 200 || rep.Raw.Events != 300 || rep.ReadAll.Events != 280 {
		t.Errorf("events counted: single %d, batched %d, raw %d, read %d", rep.Single.Events, rep.Batched.Events, rep.Raw.Events, rep.ReadAll.Events)
	}
	for _, p := range []storebench.Phase{rep.Single, rep.Batched, rep.Raw, rep.ReadAll} {
		if p.Duration <= 0 || p.PerSecond <= 0 || !strings.Contains(out.String(), p.Name) {
			t.Errorf("phase %q: duration %v, rate %v, printed: %v", p.Name, p.Duration, p.PerSecond, strings.Contains(out.String(), p.Name))
		}
	}
	if math.Abs(rep.BatchedRatio-rep.Batched.PerSecond/rep.Raw.PerSecond) > 1e-9 {
		t.Errorf("ratio %v is not batched/raw", rep.BatchedRatio)
	}
	if rep.OK() != (rep.SingleOK && rep.BatchedOK && rep.ReadAllOK) {
		t.Error("OK disagrees with the targets")
	}
	if !strings.Contains(out.String(), "batched / raw bulk insert") {
		t.Errorf("no ratio line in:\n%s", out.String())
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("benchmark left %d entries in its directory", len(left))
	}
}
