package rskit

import (
	"sync"
	"sync/atomic"
)

// Gate counts the calls in progress on a store so that Close can wait for
// them before it closes the connections they use: a read racing shutdown
// either finishes on open connections or is refused at the gate, never
// runs on a connection closed under it. One atomic word holds the count
// and, above it, the closed bit: every page read passes the gate, and a
// mutex shared by all of them would be the one place they all meet.
type Gate struct {
	state atomic.Int64
	once  sync.Once
	idle  chan struct{} // closed once the gate is closed and no call is left
}

const gateClosed = 1 << 62

// NewGate returns an open gate.
func NewGate() *Gate { return &Gate{idle: make(chan struct{})} }

// Enter lets a call in, or reports false once the gate is closed; a call
// let in must Leave.
func (g *Gate) Enter() bool {
	if g.state.Add(1)&gateClosed != 0 {
		g.Leave()
		return false
	}
	return true
}

// Leave ends a call that Enter let in.
func (g *Gate) Leave() {
	// Only a call leaving brings the count of a closed gate to zero (one
	// refused leaves at once, and none enters for good).
	if g.state.Add(-1) == gateClosed {
		g.once.Do(func() { close(g.idle) })
	}
}

// Close lets no more calls in and returns once those in progress have left.
// A call in progress must not call it (it would wait for itself).
func (g *Gate) Close() {
	if g.state.Or(gateClosed)&^gateClosed == 0 {
		return
	}
	<-g.idle
}

// Closing reports that Close was called while calls were in progress and
// some still are (tests: Close is waiting for them).
func (g *Gate) Closing() bool {
	s := g.state.Load()
	return s&gateClosed != 0 && s&^gateClosed != 0
}
