package kurrent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// Where "after p" starts in $all.
//
// KurrentDB positions are byte offsets into its transaction log, and a read
// or subscription of $all must start at the exact position of a record: a
// number in between (p-1 for an event at p, which is "just before p" for a
// gap-free log) is not a place the server can read from. The port lets a
// caller pass any number, so the adapter turns p into the exact position of
// the newest event at or before p:
//
//  1. from a cache of the exact (commit, prepare) pairs of events this store
//     has handed out or appended, which covers the usual case of a caller
//     passing back a position it was given (a page boundary, a checkpoint
//     written by this process, LastPosition);
//  2. otherwise by reading $all backwards from its end until an event at or
//     before p appears (at most resolveWindow events);
//  3. beyond that window it trusts p to be an event position, as every
//     checkpoint iSPEKS writes is.

// positionCacheSize bounds the cache of exact positions (about 3 MiB).
const positionCacheSize = 1 << 16

// resolveWindow bounds the backwards search for an unknown position.
const resolveWindow = 4096

// positionCache remembers the exact position pairs of recent events, by our
// uint64 position, evicting the oldest first.
type positionCache struct {
	mu   sync.Mutex
	m    map[uint64]esdb.Position
	ring []uint64
	next int
}

func newPositionCache(size int) *positionCache {
	return &positionCache{m: make(map[uint64]esdb.Position, size), ring: make([]uint64, 0, size)}
}

func (c *positionCache) add(p esdb.Position) {
	key := positionOf(p)
	if key == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; ok {
		c.m[key] = p
		return
	}
	if len(c.ring) < cap(c.ring) {
		c.ring = append(c.ring, key)
	} else {
		delete(c.m, c.ring[c.next])
		c.ring[c.next] = key
		c.next = (c.next + 1) % len(c.ring)
	}
	c.m[key] = p
}

func (c *positionCache) get(key uint64) (esdb.Position, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[key]
	return p, ok
}

// startAfter resolves "after p" to the exact position of the newest event at
// or before p. fromStart is true when there is none (p is 0 or before the
// first event): reading then starts at the beginning of $all.
func (s *Store) startAfter(ctx context.Context, after uint64) (pos esdb.Position, fromStart bool, err error) {
	if after == 0 {
		return esdb.Position{}, true, nil
	}
	if p, ok := s.positions.get(after); ok {
		return p, false, nil
	}
	const page = 256
	var from esdb.AllPosition = esdb.End{}
	var seen *esdb.Position
	for scanned := 0; scanned < resolveWindow; {
		rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: from}, page+1)
		if err != nil {
			return esdb.Position{}, false, fmt.Errorf("kurrent: find position %d in $all: %w", after, err)
		}
		got, fresh := 0, 0
		for {
			ev, err := rs.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rs.Close()
				return esdb.Position{}, false, fmt.Errorf("kurrent: find position %d in $all: %w", after, err)
			}
			got++
			p := ev.Event.Position
			if seen != nil && notAfter(*seen, p) {
				continue // the event the page started from
			}
			seen = &p
			fresh++
			scanned++
			s.positions.add(p)
			if positionOf(p) <= after {
				rs.Close()
				return p, false, nil
			}
		}
		rs.Close()
		if got < page+1 || fresh == 0 {
			return esdb.Position{}, true, nil // reached the beginning: every event is after p
		}
		from = *seen
	}
	return esdb.Position{Commit: after, Prepare: after}, false, nil
}
