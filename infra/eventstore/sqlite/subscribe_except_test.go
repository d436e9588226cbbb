package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

func typed(typ string, n int) []eventlog.Proposed {
	evs := proposed(n)
	for i := range evs {
		evs[i].Type = typ
	}
	return evs
}

// A subscription that skips some types gets every other event in log
// order, and is told how far the log was read, so its checkpoint follows
// the head even when the last events are all skipped.
func TestSubscribeExceptSkipsTypesAndReportsHowFarItRead(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "events.db"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Stored before the subscription: a mix, then a run of skipped events.
	var want []uint64
	for i := range 30 {
		typ := []string{"test.Kept.v1", "test.Skipped.v1", "test.Other.v1"}[i%3]
		res, err := st.Append(ctx, fmt.Sprintf("mix-%d", i), eventlog.NoStream(), typed(typ, 1))
		if err != nil {
			t.Fatal(err)
		}
		if typ != "test.Skipped.v1" {
			want = append(want, res.LastPosition)
		}
	}
	res, err := st.Append(ctx, "tail-1", eventlog.NoStream(), typed("test.Skipped.v1", 5))
	if err != nil {
		t.Fatal(err)
	}
	storedHead := res.LastPosition

	var (
		mu      sync.Mutex
		got     []uint64
		through []uint64
		reached = make(chan uint64, 100)
	)
	done := make(chan error, 1)
	go func() {
		done <- st.SubscribeExcept(ctx, 0, []string{"test.Skipped.v1"},
			func(_ context.Context, rec eventlog.Record) error {
				if rec.Type == "test.Skipped.v1" {
					return errors.New("a skipped type was delivered")
				}
				mu.Lock()
				got = append(got, rec.Position)
				mu.Unlock()
				reached <- rec.Position
				return nil
			},
			func(_ context.Context, pos uint64) error {
				mu.Lock()
				through = append(through, pos)
				mu.Unlock()
				reached <- pos
				return nil
			})
	}()
	waitReach(t, reached, storedHead)

	// Live: only skipped events arrive; the subscription still follows.
	res, err = st.Append(ctx, "tail-2", eventlog.NoStream(), typed("test.Skipped.v1", 3))
	if err != nil {
		t.Fatal(err)
	}
	waitReach(t, reached, res.LastPosition)
	kept, err := st.Append(ctx, "tail-3", eventlog.NoStream(), typed("test.Kept.v1", 1))
	if err != nil {
		t.Fatal(err)
	}
	waitReach(t, reached, kept.LastPosition)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("subscription ended with %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	want = append(want, kept.LastPosition)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("delivered positions %v, want %v", got, want)
	}
	for i := 1; i < len(through); i++ {
		if through[i] <= through[i-1] {
			t.Errorf("read-up-to positions go backwards: %v", through)
		}
	}
	if len(through) == 0 || !contains(through, storedHead) || !contains(through, res.LastPosition) {
		t.Errorf("read-up-to positions %v, want them to include %d and %d (runs of skipped events at the end)", through, storedHead, res.LastPosition)
	}
}

func waitReach(t *testing.T, reached <-chan uint64, pos uint64) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case p := <-reached:
			if p >= pos {
				return
			}
		case <-timeout:
			t.Fatalf("the subscription did not reach position %d", pos)
		}
	}
}

func contains(xs []uint64, x uint64) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
