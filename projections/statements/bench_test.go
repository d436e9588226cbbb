package statements_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/statements"
)

// BenchmarkProjectStatements projects b.N issued slips into a real SQLite
// read store, 500 events a batch as a live projector commits them (a
// catch-up commits 20,000: ISPEKS_BENCH_BATCH). The slips come as payroll
// runs do, a month for every payee (30,000) at a time, so the per-payee
// list index is written all over as it is in production.
//
//	go test ./projections/statements -run XXX -bench Project -benchtime 20000x
func BenchmarkProjectStatements(b *testing.B) {
	store, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "views.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	proj := statements.Projector{Key: key}
	if err := store.Ensure(context.Background(), proj.Collections()...); err != nil {
		b.Fatal(err)
	}
	const payees = 30000
	batchSize := 500
	if v, err := strconv.Atoi(os.Getenv("ISPEKS_BENCH_BATCH")); err == nil && v > 0 {
		batchSize = v
	}
	envs := make([]eventlog.Envelope, b.N)
	at := time.Date(2026, 2, 25, 0, 0, 0, 0, time.UTC)
	for i := range envs {
		payee, month := i%payees, i/payees
		ic := fmt.Sprintf("%s01%04d", time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, payee/10000).Format("060102"), payee%10000)
		period := statement.Period{Year: 2020 + month/12, Month: 1 + month%12}
		c, err := content(ic, statement.SlipGajiBulanan, period, 300000).Normalize(now)
		if err != nil {
			b.Fatal(err)
		}
		id := fmt.Sprintf("SG-%d-%02d-%06d", period.Year, period.Month, payee)
		envs[i] = eventlog.Envelope{Record: eventlog.Record{ID: uuid.New(), Stream: statement.Stream(id), Version: 1, Position: uint64(i + 1),
			Type: statement.Issued{}.EventType(), OccurredAt: at}, Event: statement.Issued{StatementID: id, CommandID: uuid.NewString(), Content: c}}
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	for start := 0; start < len(envs); start += batchSize {
		batch := envs[start:min(start+batchSize, len(envs))]
		err := store.Write(context.Background(), proj.Name(), batch[len(batch)-1].Position, func(tx projections.Batch) error {
			for _, env := range batch {
				if err := proj.Project(context.Background(), tx, env); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	// Process CPU per event: on a shared machine, steadier than the time.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
