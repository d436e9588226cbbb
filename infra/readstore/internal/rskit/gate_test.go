package rskit

import (
	"sync"
	"sync/atomic"
	"testing"
)

// Close returns only once every call the gate let in has left, however
// calls and Close interleave, and lets none in after.
func TestGateCloseWaitsForEveryCallLetIn(t *testing.T) {
	for range 200 {
		g := NewGate()
		var inside atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 50 {
					if !g.Enter() {
						return
					}
					inside.Add(1)
					inside.Add(-1)
					g.Leave()
				}
			})
		}
		g.Close()
		if n := inside.Load(); n != 0 {
			t.Fatalf("Close returned with %d calls inside", n)
		}
		if g.Enter() {
			t.Fatal("a closed gate let a call in")
		}
		wg.Wait()
	}
}
