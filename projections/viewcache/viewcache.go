// Package viewcache keeps the answers of read-model queries in memory until
// the projector that writes their collection next changes it.
//
// A person's pay slips change once a month and their claims a few times a
// year, but the lists are read on every visit, and on the embedded store a
// list read is most of a list page's CPU (the SQLite engine interpreting
// the query). An answer is kept under the projector's change stamp taken
// before it was read (Stamps, which projections/engine implements): a
// commit that may change the collection moves the stamp, and every answer
// kept under the old one is dropped at the next read. Another process's
// writes are seen when this process's own projector applies the same
// events, as its WaitFor is (every portal process runs every projector).
//
// Only the first page of a query that asks for bodies alone, of the
// portal's page size, is kept (the lists a page or the JSON API shows when
// opened), so one person can put only a handful of answers in, and a
// stream of made-up cursors or page sizes cannot push everyone else's out. The memory is bounded: once the answers kept reach
// the budget, further ones are read and not kept until the next change
// empties the generation. With no eviction the cache favours those who came
// first since the last change; sized for the whole staff (the default
// holds 30,000 people's slip and claim lists) it keeps them all.
package viewcache

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/melaka-gov/ispeks/projections"
)

// Stamps tells how fresh a collection's kept answers are.
type Stamps interface {
	// ViewStamp returns a number that grows whenever collection's
	// documents may have changed; ok false forbids keeping answers.
	ViewStamp(collection string) (stamp uint64, ok bool)
}

// Reader is a projections.Reader that keeps Find answers (see the package
// documentation) and passes everything else through. The Docs of an answer
// share memory with the kept copy: their Body must not be modified (no
// query of this project does), and Version and Fields are left empty as
// BodyOnly says.
type Reader struct {
	next      projections.Reader
	stamps    Stamps
	budget    int64
	pageSizes []int

	used   atomic.Int64 // bytes kept, over every collection
	slots  sync.Map     // collection → *atomic.Pointer[generation]
	hits   atomic.Uint64
	misses atomic.Uint64
}

var _ projections.Reader = (*Reader)(nil)

// New returns a Reader over next that keeps at most budget bytes of
// answers (budget <= 0: none; every call goes to next), of queries for one
// of pageSizes documents only (the pages the portal asks for).
func New(next projections.Reader, stamps Stamps, budget int64, pageSizes ...int) *Reader {
	return &Reader{next: next, stamps: stamps, budget: budget, pageSizes: pageSizes}
}

// generation is the answers kept under one stamp of one collection.
type generation struct {
	stamp   uint64
	mu      sync.RWMutex
	answers map[string]*answer
	bytes   int64
	dropped bool // replaced by a newer stamp: keeps nothing more
}

// answer is one kept page, packed: every document's ID then its body, back
// to back in buf; ends holds each one's ID end and body end.
type answer struct {
	buf  []byte
	ends []uint32
	next string
}

// answerOverhead is what an answer costs beyond its bytes: the map entry,
// the struct, the slice and string headers (counted against the budget).
const answerOverhead = 160

// Get reads through to the store: single documents are not kept.
func (r *Reader) Get(ctx context.Context, collection, id string) (projections.Doc, bool, error) {
	return r.next.Get(ctx, collection, id)
}

// Find answers from memory when it can, and otherwise from the store,
// keeping the answer if it may.
func (r *Reader) Find(ctx context.Context, q projections.Query) (projections.Page, error) {
	if r.budget <= 0 || !q.BodyOnly || q.After != "" || !slices.Contains(r.pageSizes, q.Limit) {
		return r.next.Find(ctx, q)
	}
	stamp, ok := r.stamps.ViewStamp(q.Collection)
	if !ok {
		return r.next.Find(ctx, q)
	}
	g := r.generation(q.Collection, stamp)
	if g == nil {
		return r.next.Find(ctx, q) // a newer stamp has a generation already
	}
	key := queryKey(q)
	g.mu.RLock()
	a := g.answers[key]
	g.mu.RUnlock()
	if a != nil {
		r.hits.Add(1)
		return a.page(), nil
	}
	r.misses.Add(1)
	pg, err := r.next.Find(ctx, q)
	if err != nil {
		return pg, err
	}
	r.keep(g, key, pack(pg))
	return pg, nil
}

// generation returns the generation of collection for stamp, starting it
// (and dropping the older one) if stamp is newer; nil if a newer one is
// there already (this caller's stamp was taken before a change: what it
// reads must not be kept, nor need it read what was kept since).
func (r *Reader) generation(collection string, stamp uint64) *generation {
	slot, ok := r.slots.Load(collection)
	if !ok {
		slot, _ = r.slots.LoadOrStore(collection, new(atomic.Pointer[generation]))
	}
	p := slot.(*atomic.Pointer[generation])
	for {
		g := p.Load()
		switch {
		case g != nil && g.stamp == stamp:
			return g
		case g != nil && g.stamp > stamp:
			return nil
		}
		ng := &generation{stamp: stamp, answers: map[string]*answer{}}
		if p.CompareAndSwap(g, ng) {
			if g != nil {
				r.drop(g)
			}
			return ng
		}
	}
}

// keep adds a to g under key if the budget has room, making room first
// from generations whose stamp has moved on unread.
func (r *Reader) keep(g *generation, key string, a *answer) {
	size := int64(len(a.buf)+4*len(a.ends)+len(key)+len(a.next)) + answerOverhead
	if r.used.Load()+size > r.budget {
		r.reclaim()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dropped || g.answers[key] != nil {
		return
	}
	if r.used.Add(size) > r.budget {
		r.used.Add(-size)
		return
	}
	g.answers[key] = a
	g.bytes += size
}

// reclaim drops the generations of collections whose stamp has moved on
// (or that may no longer keep answers) since they were last read: a
// generation is otherwise replaced only by a read of its own collection,
// and until then its stale answers would hold budget another collection's
// could use.
func (r *Reader) reclaim() {
	r.slots.Range(func(k, v any) bool {
		p := v.(*atomic.Pointer[generation])
		g := p.Load()
		if g == nil {
			return true
		}
		if stamp, ok := r.stamps.ViewStamp(k.(string)); ok && stamp == g.stamp {
			return true
		}
		if p.CompareAndSwap(g, nil) {
			r.drop(g)
		}
		return true
	})
}

// drop empties a generation that is no longer current and gives its bytes
// back.
func (r *Reader) drop(g *generation) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dropped {
		return
	}
	g.dropped = true
	r.used.Add(-g.bytes)
	g.answers, g.bytes = nil, 0
}

// pack copies a page's IDs and bodies into one allocation.
func pack(pg projections.Page) *answer {
	n := 0
	for _, d := range pg.Docs {
		n += len(d.ID) + len(d.Body)
	}
	a := &answer{buf: make([]byte, 0, n), ends: make([]uint32, 0, 2*len(pg.Docs)), next: pg.Next}
	for _, d := range pg.Docs {
		a.buf = append(a.buf, d.ID...)
		a.ends = append(a.ends, uint32(len(a.buf)))
		a.buf = append(a.buf, d.Body...)
		a.ends = append(a.ends, uint32(len(a.buf)))
	}
	return a
}

// page unpacks a kept answer. The IDs and bodies point into the kept
// bytes, which are never written again (bodies capped, so an append copies).
func (a *answer) page() projections.Page {
	docs := make([]projections.Doc, len(a.ends)/2)
	start := uint32(0)
	for i := range docs {
		idEnd, end := a.ends[2*i], a.ends[2*i+1]
		if idEnd > start {
			docs[i].ID = unsafe.String(&a.buf[start], idEnd-start)
		}
		docs[i].Body = a.buf[idEnd:end:end]
		start = end
	}
	return projections.Page{Docs: docs, Next: a.next}
}

// queryKey is every part of q that shapes its answer (After is always ""
// here, BodyOnly always true). Every string goes in with its length first,
// so no two queries share a key whatever their values hold: a shared key
// would hand one person's list to another.
func queryKey(q projections.Query) string {
	b := make([]byte, 0, 96)
	b = appendString(b, q.Collection)
	keys := make([]string, 0, len(q.Where))
	for k := range q.Where {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendValue(appendString(b, k), q.Where[k])
	}
	b = appendString(b, q.SortBy)
	if q.Desc {
		b = append(b, 'd')
	} else {
		b = append(b, 'a')
	}
	b = binary.AppendVarint(b, int64(q.Limit))
	if q.Bound == nil {
		b = append(b, 'n')
	} else {
		b = appendValue(append(b, 'b'), q.Bound)
	}
	return string(b)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// appendValue writes a Where or Bound value with its kind, so the string
// "5" and the integer 5 differ.
func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return appendString(append(b, 's'), v)
	case int64:
		return binary.AppendVarint(append(b, 'i'), v)
	case int:
		return binary.AppendVarint(append(b, 'i'), int64(v))
	default:
		// Not a value the stores accept (they answer an error, which is
		// not kept); the key still differs per value.
		return appendString(append(b, '?'), fmt.Sprintf("%T %#v", v, v))
	}
}

// Stats are the cache's counters since it was made.
type Stats struct {
	Hits, Misses uint64
	Bytes        int64
}

// Stats reports hits, misses and the bytes kept.
func (r *Reader) Stats() Stats {
	return Stats{Hits: r.hits.Load(), Misses: r.misses.Load(), Bytes: r.used.Load()}
}
