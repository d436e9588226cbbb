package security

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"
)

// TestTuningAppliesOnFirstHashOnly: a tuned hasher leaves GOMAXPROCS and
// GOGC alone until it first derives, then raises GOMAXPROCS by its spare Ps
// once (a second tuned hasher does not compound it) and sets GOGC; the raw
// rate keeps one goroutine per real core. Not parallel: it changes the
// process's runtime settings and restores them.
func TestTuningAppliesOnFirstHashOnly(t *testing.T) {
	procs0 := runtime.GOMAXPROCS(0)
	gc0 := debug.SetGCPercent(100)
	debug.SetGCPercent(gc0)
	t.Cleanup(func() {
		runtime.GOMAXPROCS(procs0)
		debug.SetGCPercent(gc0)
		spare.Lock()
		spare.cores = 0
		spare.Unlock()
	})
	if processCores() != procs0 {
		t.Fatalf("cores %d before any raise, GOMAXPROCS %d", processCores(), procs0)
	}

	h := fastHasher(0)
	h.Tune(Argon2Tuning{SpareProcs: 3, GCPercent: 333})
	if h.Concurrency() != procs0 || h.Cores() != procs0 {
		t.Fatalf("limit %d cores %d, want %d (one per core)", h.Concurrency(), h.Cores(), procs0)
	}
	if got := runtime.GOMAXPROCS(0); got != procs0 {
		t.Fatalf("GOMAXPROCS %d before the first hash, want %d", got, procs0)
	}
	ctx := context.Background()
	if _, err := h.Hash(ctx, "kuih lapis sedap"); err != nil {
		t.Fatal(err)
	}
	if got := runtime.GOMAXPROCS(0); got != procs0+3 {
		t.Fatalf("GOMAXPROCS %d after the first hash, want cores %d + 3 spare", got, procs0)
	}
	if got := debug.SetGCPercent(333); got != 333 {
		t.Fatalf("GOGC %d after the first hash, want 333", got)
	}

	// A hasher made now (a test process opens the app many times) counts
	// the real cores, and its raise does not compound.
	h2 := fastHasher(0)
	h2.Tune(Argon2Tuning{SpareProcs: 2})
	if h2.Concurrency() != procs0 || h2.Cores() != procs0 {
		t.Fatalf("second hasher: limit %d cores %d, want %d", h2.Concurrency(), h2.Cores(), procs0)
	}
	if _, err := h2.Hash(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if got := runtime.GOMAXPROCS(0); got != procs0+3 {
		t.Fatalf("GOMAXPROCS %d after a second hasher's first hash, want %d", got, procs0+3)
	}
}

// TestUntunedHasherLeavesRuntimeAlone: without Tune (tests, CLI tools that
// build their own hasher) hashing changes nothing process-wide.
func TestUntunedHasherLeavesRuntimeAlone(t *testing.T) {
	procs0 := runtime.GOMAXPROCS(0)
	gc0 := debug.SetGCPercent(100)
	debug.SetGCPercent(gc0)
	if _, err := fastHasher(0).Hash(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	if got := runtime.GOMAXPROCS(0); got != procs0 {
		t.Fatalf("GOMAXPROCS %d, want %d", got, procs0)
	}
	if got := debug.SetGCPercent(gc0); got != gc0 {
		t.Fatalf("GOGC %d, want %d", got, gc0)
	}
}

// TestDefaultSpareProcs: the portal's spare Ps are one per four derivations
// allowed at once, and at least one.
func TestDefaultSpareProcs(t *testing.T) {
	for limit, want := range map[int]int{1: 1, 2: 1, 4: 1, 7: 1, 8: 2, 16: 4} {
		if got := DefaultSpareProcs(limit); got != want {
			t.Errorf("DefaultSpareProcs(%d) = %d, want %d", limit, got, want)
		}
	}
}
