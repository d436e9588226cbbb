package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/projections"
)

// BenchmarkReadsWhileProjecting reads one owner's newest page (as the
// statement list does) from readers that map the file and from readers that
// do not, with no writer and with a writer committing every 5 ms (a
// projector while events arrive). It is why the readers do not map the
// file: SQLite unmaps a reader's map after any other connection's commit.
// ISPEKS_BENCH_DOCS is not read here: 200,000 documents keep it quick.
func BenchmarkReadsWhileProjecting(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "views.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	spec := projections.CollectionSpec{Name: "rows", Indexes: []string{"owner+at"}}
	if err := s.Ensure(ctx, spec); err != nil {
		b.Fatal(err)
	}
	const docs, owners = 200_000, 10_000
	for i := 0; i < docs; i += 5000 {
		err := s.Write(ctx, "bench", uint64(i+5000), func(bt projections.Batch) error {
			for j := i; j < i+5000; j++ {
				d := projections.Doc{ID: fmt.Sprintf("r%08d", j), Version: 1,
					Body:   fmt.Appendf(nil, `[2,"r%08d",1,"slip-gaji-bulanan",2024,%d,"","","bulan","2024-11-25",245000,31425,213575,"2CN5IUAIF46TPUM2"]`, j, j%12+1),
					Fields: map[string]any{"owner": fmt.Sprintf("o%05d", j%owners), "at": int64(j)}}
				if err := bt.Put(ctx, "rows", d); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, mmap := range []int64{0, 2 << 30} {
		for _, every := range []time.Duration{0, 5 * time.Millisecond} {
			name := fmt.Sprintf("mmap=%t/writer=%v", mmap > 0, every)
			b.Run(name, func(b *testing.B) {
				// A reader store of its own (a fresh pool), the writer is s.
				r, err := Open(ctx, path, Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer r.Close()
				r.c.rawp = newRawPool(r.c.path, mmap)
				stop := make(chan struct{})
				var wg sync.WaitGroup
				if every > 0 {
					wg.Go(func() {
						v := uint64(docs)
						for {
							select {
							case <-stop:
								return
							case <-time.After(every):
							}
							v++
							err := s.Write(ctx, "bench", v, func(bt projections.Batch) error {
								return bt.Put(ctx, "rows", projections.Doc{ID: "w", Version: v, Body: []byte(`[]`), Fields: map[string]any{"owner": "w", "at": int64(v)}})
							})
							if err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				cpu := func() time.Duration {
					var ru syscall.Rusage
					_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
					return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
				}
				start := cpu()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						i += 7919
						q := projections.Query{Collection: "rows", Where: map[string]any{"owner": fmt.Sprintf("o%05d", i%owners)}, SortBy: "at", Desc: true, Limit: 18}
						if p, err := r.Find(ctx, q); err != nil || len(p.Docs) != 18 {
							b.Error(err, len(p.Docs))
							return
						}
					}
				})
				b.ReportMetric(float64(cpu()-start)/float64(b.N), "cpu-ns/op")
				close(stop)
				wg.Wait()
			})
		}
	}
}
