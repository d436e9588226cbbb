package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
)

// benchEvents makes n events of about 200 bytes of data with full metadata,
// the size of a typical claim or login event.
func benchEvents(n int) []eventlog.Proposed {
	out := make([]eventlog.Proposed, n)
	now := time.Now().UTC()
	for i := range out {
		id := uuid.New()
		data, _ := json.Marshal(map[string]any{"claim_id": fmt.Sprintf("TK-%08d", i), "amount": 12345, "note": strings.Repeat("x", 120)})
		out[i] = eventlog.Proposed{
			ID: id, Type: "bench.ClaimSubmitted.v1", OccurredAt: now, Data: data,
			Metadata: eventlog.Metadata{CorrelationID: "c-" + id.String()[:8], CausationID: id.String(),
				Actor: eventlog.Actor{Kind: eventlog.ActorUser, ID: "u-000123"}, SourceIP: "10.20.30.40", UserAgent: "bench/1"},
		}
	}
	return out
}

func benchStore(b *testing.B) *sqlite.Store {
	b.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "events.db"), sqlite.Options{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkAppendSingle: one writer, one event per append: every append
// waits for its own fsync.
func BenchmarkAppendSingle(b *testing.B) {
	st := benchStore(b)
	ctx := context.Background()
	evs := benchEvents(b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := st.Append(ctx, "bench-1", eventlog.Exactly(uint64(i)), evs[i:i+1]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendConcurrent64: 64 writers, one event per append, each on its
// own stream: group commit shares fsyncs among them.
func BenchmarkAppendConcurrent64(b *testing.B) {
	st := benchStore(b)
	ctx := context.Background()
	evs := benchEvents(b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := fmt.Sprintf("bench-%d", w)
			var v uint64
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if _, err := st.Append(ctx, s, eventlog.Exactly(v), evs[i:i+1]); err != nil {
					b.Error(err)
					return
				}
				v++
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendBatch100: one writer, 100 events per append. b.N counts
// events.
func BenchmarkAppendBatch100(b *testing.B) {
	st := benchStore(b)
	ctx := context.Background()
	evs := benchEvents(b.N + 100)
	b.ResetTimer()
	var v uint64
	for i := 0; i < b.N; i += 100 {
		res, err := st.Append(ctx, "bench-1", eventlog.Exactly(v), evs[i:i+100])
		if err != nil {
			b.Fatal(err)
		}
		v = res.LastVersion
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkReadAll: reading the whole log in pages of 1000. b.N counts
// events.
func BenchmarkReadAll(b *testing.B) {
	st := benchStore(b)
	ctx := context.Background()
	const stored = 20000
	evs := benchEvents(stored)
	for i := 0; i < stored; i += 1000 {
		if _, err := st.Append(ctx, fmt.Sprintf("bench-%d", i/1000%16), eventlog.Any(), evs[i:i+1000]); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var pos uint64
	for n := 0; n < b.N; {
		recs, err := st.ReadAll(ctx, pos, 1000)
		if err != nil {
			b.Fatal(err)
		}
		if len(recs) == 0 {
			pos = 0
			continue
		}
		n += len(recs)
		pos = recs[len(recs)-1].Position
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
