package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// A live subscription takes this store's last commits from memory: what it
// is handed must be exactly what a read of the file gives, metadata that
// needs escaping or repair included.
func TestLiveRecordsFromMemoryEqualTheFile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "events.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	cases := metaCases()
	got := make(chan eventlog.Record, 2*len(cases))
	gotExcept := make(chan eventlog.Record, 2*len(cases))
	sub, stop := context.WithCancel(ctx)
	defer stop()
	go st.Subscribe(sub, 0, func(_ context.Context, r eventlog.Record) error { got <- r; return nil })
	go st.SubscribeExcept(sub, 0, []string{"test.Skipped.v1"}, func(_ context.Context, r eventlog.Record) error { gotExcept <- r; return nil }, nil)
	time.Sleep(50 * time.Millisecond) // both are waiting live

	for i, m := range cases {
		typ := "test.Kept.v1"
		if i%2 == 1 {
			typ = "test.Skipped.v1"
		}
		_, err := st.Append(ctx, fmt.Sprintf("live-%d", i%3), eventlog.Any(), []eventlog.Proposed{{
			ID: uuid.New(), Type: typ, OccurredAt: time.Now().UTC(), Data: json.RawMessage(fmt.Sprintf(`{"n":%d,"s":"é\u2028"}`, i)), Metadata: m,
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	stored, err := st.ReadAll(ctx, 0, 100)
	if err != nil || len(stored) != len(cases) {
		t.Fatalf("read back %d records: %v", len(stored), err)
	}
	// ReadAllCached close behind the head takes them from memory too.
	for _, after := range []uint64{0, 1, uint64(len(cases)) - 1} {
		for _, limit := range []int{1, 2, 100} {
			mem, err := st.ReadAllCached(ctx, after, limit)
			if err != nil {
				t.Fatal(err)
			}
			want := stored[after:min(len(stored), int(after)+limit)]
			if !reflect.DeepEqual(mem, want) {
				t.Errorf("ReadAllCached(%d, %d) from memory differs from the file:\n memory %+v\n file   %+v", after, limit, mem, want)
			}
		}
	}
	if recs, err := st.ReadAllCached(ctx, uint64(len(cases)), 10); err != nil || len(recs) != 0 {
		t.Errorf("ReadAllCached at the head: %d records, %v", len(recs), err)
	}
	for _, want := range stored {
		select {
		case r := <-got:
			if !reflect.DeepEqual(r, want) {
				t.Errorf("live record differs from the file:\n live %+v\n file %+v", r, want)
			}
		case <-ctx.Done():
			t.Fatal("the live subscription stopped short")
		}
		if want.Type == "test.Skipped.v1" {
			continue
		}
		select {
		case r := <-gotExcept:
			if !reflect.DeepEqual(r, want) {
				t.Errorf("live record (skipping) differs from the file:\n live %+v\n file %+v", r, want)
			}
		case <-ctx.Done():
			t.Fatal("the skipping subscription stopped short")
		}
	}
	st.recent.mu.RLock()
	last := st.recent.last
	st.recent.mu.RUnlock()
	if last != stored[len(stored)-1].Position {
		t.Errorf("the store kept up to position %d, the log reaches %d", last, stored[len(stored)-1].Position)
	}
}
