package ingest_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"syscall"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/commands/ingest"
	"testing"
)

// BenchmarkIngestStatements runs b.N monthly slips (a payroll run, one slip
// per person for the first 30,000 ops, then further months) through the
// whole ingestion path into a real SQLite event store: NDJSON decode,
// validation, payee check, load, append with group commit. The input is
// generated on the fly, so the batch is never held in memory.
//
//	go test ./commands/ingest -run XXX -bench IngestStatements -benchtime 30000x
func BenchmarkIngestStatements(b *testing.B) {
	for _, c := range []int{64, 256, 1024, 4096} {
		b.Run(fmt.Sprintf("concurrency-%d", c), func(b *testing.B) { benchIngest(b, c, false) })
	}
	// The payee check answered from a cache warmed with the master (as the
	// composition root can do from the employees read model).
	b.Run("concurrency-256-warm-payees", func(b *testing.B) { benchIngest(b, 256, true) })
}

func benchIngest(b *testing.B, concurrency int, warm bool) {
	const staff = 30000
	r := newRig(b)
	r.in.Concurrency = concurrency
	r.employees(b, min(b.N, staff))
	if warm {
		cache := &commands.PayeeCache{Next: commands.EmployeeStreams{Store: r.store}}
		for i := range min(b.N, staff) {
			cache.Remember(testIC(i))
		}
		r.in = ingest.New(r.runner, cache)
		r.in.Concurrency = concurrency
	}
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 256<<10)
		for i := range b.N {
			month := 1 + (i/staff)%12
			fmt.Fprintln(w, slipLine(fmt.Sprintf("bench-%d", i), fmt.Sprintf("SG-%d-%d", month, i), testIC(i%staff), month))
		}
		w.Flush()
		pw.Close()
	}()
	b.ResetTimer()
	cpu0 := cpuTime()
	var bad int
	sum, err := r.in.Run(context.Background(), pr, r.src, func(res ingest.Result) error {
		if res.Outcome != "accepted" {
			bad++
		}
		return nil
	})
	b.StopTimer()
	if err != nil || bad != 0 || sum.Accepted != b.N {
		b.Fatalf("%v: %+v (%d not accepted)", err, sum, bad)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "statements/s")
	// CPU time per statement (whole process, every goroutine): what the
	// rate would be on two idle cores if nothing else were the limit.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/statement")
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
