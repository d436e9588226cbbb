package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/projections"
)

// The big collection is built once per `go test -bench` run, in a temp file
// (ISPEKS_BENCH_DOCS docs, default 2,000,000; building it takes a while).
var (
	bigOnce  sync.Once
	bigStore *sqlite.Store
	bigN     int
	bigErr   error
)

var payments = projections.CollectionSpec{Name: "payments", Indexes: []string{"staff_id+created", "status", "created"}}

func benchDoc(i int) projections.Doc {
	staff := fmt.Sprintf("S%05d", i%20000)
	status := []string{"diterima", "diproses", "dibayar", "ditolak", "batal"}[i%5]
	created := int64(1_700_000_000 + i*7)
	return projections.Doc{
		ID:      fmt.Sprintf("pay-%08d", i),
		Version: 1,
		Fields:  map[string]any{"staff_id": staff, "status": status, "created": created},
		Body: fmt.Appendf(nil, `{"id":"pay-%08d","staff_id":%q,"status":%q,"created":%d,"amount_sen":%d,"module":"Tuntutan","ref":"TNT/%d/2025"}`,
			i, staff, status, created, 10000+i%90000, i),
	}
}

func big(b *testing.B) (*sqlite.Store, int) {
	bigOnce.Do(func() {
		bigN = 2_000_000
		if v, err := strconv.Atoi(os.Getenv("ISPEKS_BENCH_DOCS")); err == nil && v > 0 {
			bigN = v
		}
		dir, err := os.MkdirTemp("", "ispeks-readstore-bench")
		if err != nil {
			bigErr = err
			return
		}
		ctx := context.Background()
		bigStore, bigErr = sqlite.Open(ctx, filepath.Join(dir, "views.db"), sqlite.Options{})
		if bigErr != nil {
			return
		}
		if bigErr = bigStore.Ensure(ctx, payments); bigErr != nil {
			return
		}
		start := time.Now()
		const batch = 5000
		for i := 0; i < bigN; i += batch {
			bigErr = bigStore.Write(ctx, "bench", uint64(i+batch), func(bt projections.Batch) error {
				for j := i; j < min(i+batch, bigN); j++ {
					if err := bt.Put(ctx, "payments", benchDoc(j)); err != nil {
						return err
					}
				}
				return nil
			})
			if bigErr != nil {
				return
			}
		}
		el := time.Since(start)
		fmt.Fprintf(os.Stderr, "built %d docs in %v (%.0f docs/s)\n", bigN, el.Round(time.Millisecond), float64(bigN)/el.Seconds())
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigStore, bigN
}

// BenchmarkPut measures put throughput into a fresh collection, in batches
// of 1000 as a rebuild writes (reported as docs/s).
func BenchmarkPut(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "views.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Ensure(ctx, payments); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i += 1000 {
		err := s.Write(ctx, "bench", uint64(i), func(bt projections.Batch) error {
			for j := i; j < min(i+1000, b.N); j++ {
				if err := bt.Put(ctx, "payments", benchDoc(j)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
}

// cpuPerOp reports the process's CPU time per op next to wall time: on a
// busy 2-core machine wall time says more about the neighbours.
func cpuPerOp(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() {
		b.ReportMetric(float64(cpu()-start)/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkFind(b *testing.B) {
	s, n := big(b)
	ctx := context.Background()
	cases := []struct {
		name string
		q    func(i int) projections.Query
	}{
		{"first_page_by_id", func(int) projections.Query { return projections.Query{Collection: "payments", Limit: 20} }},
		{"staff_by_created_desc", func(i int) projections.Query {
			return projections.Query{Collection: "payments", Where: map[string]any{"staff_id": fmt.Sprintf("S%05d", i%20000)}, SortBy: "created", Desc: true, Limit: 20}
		}},
		{"status_by_id", func(i int) projections.Query {
			return projections.Query{Collection: "payments", Where: map[string]any{"status": "dibayar"}, Limit: 20}
		}},
		{"all_by_created_desc", func(int) projections.Query {
			return projections.Query{Collection: "payments", SortBy: "created", Desc: true, Limit: 20}
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			defer cpuPerOp(b)()
			for i := 0; b.Loop(); i++ {
				p, err := s.Find(ctx, c.q(i))
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Docs) == 0 {
					b.Fatal("empty page")
				}
			}
		})
	}
	// A page deep in the collection: follow cursors to the middle once, then
	// time the page after it.
	b.Run("deep_page_by_created", func(b *testing.B) {
		q := projections.Query{Collection: "payments", SortBy: "created", Limit: 1000}
		for range n / 2 / 1000 {
			p, err := s.Find(ctx, q)
			if err != nil {
				b.Fatal(err)
			}
			q.After = p.Next
		}
		q.Limit = 20
		defer cpuPerOp(b)()
		for b.Loop() {
			if p, err := s.Find(ctx, q); err != nil || len(p.Docs) != 20 {
				b.Fatal(err, len(p.Docs))
			}
		}
	})
	b.Run("get", func(b *testing.B) {
		defer cpuPerOp(b)()
		for i := 0; b.Loop(); i++ {
			if _, ok, err := s.Get(ctx, "payments", fmt.Sprintf("pay-%08d", (i*7919)%n)); err != nil || !ok {
				b.Fatal(err, ok)
			}
		}
	})
	b.Run("parallel_staff_pages", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				if _, err := s.Find(ctx, projections.Query{Collection: "payments", Where: map[string]any{"staff_id": fmt.Sprintf("S%05d", i%20000)}, SortBy: "created", Desc: true, Limit: 20}); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
