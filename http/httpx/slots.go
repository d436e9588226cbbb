package httpx

import "sync"

// Slots counts what each client holds open at once (event streams, ingest
// batches) against a cap: each one holds goroutines and memory for as long
// as it lasts, so a bound per request is the server's only if the number
// of them is bounded too.
type Slots struct {
	max  int
	mu   sync.Mutex
	held map[string]int
}

// NewSlots allows n open at once per key (at least 1).
func NewSlots(n int) *Slots {
	return &Slots{max: max(n, 1), held: map[string]int{}}
}

// Max is the cap per key.
func (s *Slots) Max() int { return s.max }

// Take holds one slot of key, unless it holds Max already; Give returns it.
func (s *Slots) Take(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held[key] >= s.max {
		return false
	}
	s.held[key]++
	return true
}

// Give returns a slot Take held.
func (s *Slots) Give(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held[key]--; s.held[key] <= 0 {
		delete(s.held, key)
	}
}
