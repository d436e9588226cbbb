package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands/ingest"
	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// BenchmarkIngestSlipsWithProjectors is the ingestion phase of `ispeks bench
// queries` in little: the whole portal in a temporary directory, an employee
// master, then monthly slips through the real ingester with the projectors
// running, until the projections have caught up. b.N is ignored beyond one
// run; the size is ISPEKS_BENCH_STAFF (default 20,000) times
// ISPEKS_BENCH_SLIPS months (default 5). It reports process CPU per slip
// during ingestion and including the projectors' catch-up after it.
//
//	go test ./cmd/ispeks -run XXX -bench IngestSlipsWithProjectors -benchtime 1x
func BenchmarkIngestSlipsWithProjectors(b *testing.B) {
	staffN, months := envInt("ISPEKS_BENCH_STAFF", 20000), envInt("ISPEKS_BENCH_SLIPS", 5)
	c := quietCLI(b)
	ctx := context.Background()
	for range b.N {
		rig, err := c.startBenchRig(ctx, b.TempDir(), rigOptions{Logs: os.Stderr, DeferEngine: true})
		if err != nil {
			b.Fatal(err)
		}
		staff := make([]benchStaff, staffN)
		for i := range staff {
			staff[i] = newBenchStaff(i)
		}
		// The master first, projected, as the queries bench does.
		var res queriesBenchResult
		lastMonth := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
		if err := benchDataset(ctx, rig, queriesBenchConfig{Staff: staffN, ProjectWhileIngesting: true}, staff, lastMonth, &res, io.Discard); err != nil {
			b.Fatal(err)
		}
		in := ingest.New(rig.app.runner, rig.app.payees)
		src := ingest.Source{Actor: eventlog.Actor{Kind: eventlog.ActorClient, ID: "bench-payroll"}, CorrelationID: "bench"}
		n := staffN * months
		b.ResetTimer()
		t0, cpu0 := time.Now(), processCPU()
		if err := benchIngest(ctx, in, src, n, func(w *bufio.Writer) {
			for m := months - 1; m >= 0; m-- {
				month := lastMonth.AddDate(0, -m, 0)
				for i := range staff {
					writeSlip(w, staff[i], i, month)
				}
			}
		}); err != nil {
			b.Fatal(err)
		}
		elapsed, cpu1 := time.Since(t0), processCPU()
		if err := rig.catchUp(ctx); err != nil {
			b.Fatal(err)
		}
		cpu2 := processCPU()
		b.StopTimer()
		b.ReportMetric(float64(n)/elapsed.Seconds(), "slips/s")
		b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(n), "ingest-cpu-µs/slip")
		// With the projectors' catch-up after the last line: what a slip costs in all.
		b.ReportMetric(float64((cpu2-cpu0).Microseconds())/float64(n), "total-cpu-µs/slip")
		if err := rig.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
