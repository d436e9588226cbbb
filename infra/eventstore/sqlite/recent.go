package sqlite

import "sync"

// recentCapacity is how many of its last committed events a store remembers
// the types of: a few group commits' worth.
const recentCapacity = 8192

// recentTypes remembers the types of the events this store committed last,
// by position. Every commit wakes every subscription; one that skips all the
// types just committed (the accounts projector during a payroll run, the
// statements projector during logins) learns so here instead of asking
// SQLite, which was about 2 % of a login's CPU.
type recentTypes struct {
	mu    sync.RWMutex
	types [recentCapacity]string // types[p % recentCapacity] is the type at position p
	from  uint64                 // every position in [from, last] is remembered; 0: none
	last  uint64
}

// record remembers the types of the events at positions first, first+1, …
// (one commit). A gap before first means another process committed in
// between: what came before it is forgotten.
func (r *recentTypes) record(first uint64, types []string) {
	if len(types) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.from == 0 || first != r.last+1 {
		r.from = first
	}
	for i, t := range types {
		r.types[(first+uint64(i))%recentCapacity] = t
	}
	r.last = first + uint64(len(types)) - 1
	if r.last-r.from >= recentCapacity {
		r.from = r.last - recentCapacity + 1
	}
}

// allSkipped reports whether every event at positions after..through is
// remembered and of a type in skip. false means "ask SQLite".
func (r *recentTypes) allSkipped(after, through uint64, skip map[string]struct{}) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.from == 0 || after+1 < r.from || through > r.last || through <= after {
		return false
	}
	for p := after + 1; p <= through; p++ {
		if _, ok := skip[r.types[p%recentCapacity]]; !ok {
			return false
		}
	}
	return true
}
