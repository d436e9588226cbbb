package projbench_test

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/projections/engine/projbench"
)

// A small run: the bench works end to end and reports what it measured.
// (Speeds are not asserted; run the real bench with ISPEKS_PROJBENCH=1 or
// `ispeks bench projections`.)
func TestSmallRun(t *testing.T) {
	var out bytes.Buffer
	rep, err := projbench.Run(context.Background(), projbench.Config{
		Dir: t.TempDir(), Events: 3000, Payments: 300, Rate: 200, Duration: time.Second,
	}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Events != 3000 || rep.Generated != 3000 || rep.Appended != 200 || rep.RebuildRate <= 0 ||
		rep.LagP50 <= 0 || rep.LagP99 < rep.LagP50 || rep.LagMax < rep.LagP99 || rep.PeakRSS == 0 || rep.PeakAnonRSS == 0 {
		t.Fatalf("report = %+v", rep)
	}
	for _, want := range []string{"rebuild throughput", "projection lag p99", "peak RSS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

// TestFullRun is the standard bench (1M events, 30 s of lag), for tuning
// without the CLI: ISPEKS_PROJBENCH=1 go test -run TestFullRun -v -timeout 30m
// (ISPEKS_PROJBENCH_DIR keeps and reuses the generated log).
func TestFullRun(t *testing.T) {
	if os.Getenv("ISPEKS_PROJBENCH") == "" {
		t.Skip("set ISPEKS_PROJBENCH=1 to run the full projection bench")
	}
	events, _ := strconv.Atoi(os.Getenv("ISPEKS_PROJBENCH_EVENTS")) // 0: the default million
	cfg := projbench.Config{Dir: os.Getenv("ISPEKS_PROJBENCH_DIR"), Events: events, Progress: os.Stderr}
	if _, err := projbench.Run(context.Background(), cfg, os.Stdout); err != nil {
		t.Fatal(err)
	}
}
