// Package viewcache keeps the answers of read-model queries in memory until
// a document they may contain changes.
//
// A person's pay slips change once a month and their claims a few times a
// year, but the lists are read on every visit, and on the embedded store a
// list read is most of a list page's CPU (the SQLite engine interpreting
// the query). The cache is told what changes by the projection engine
// (engine.ViewObserver, which Reader implements): the documents each
// commit wrote, or that any document of a collection may have changed. A
// kept collection is partitioned by a field every kept query fixes and no
// document ever changes (a person's lists by payee_ic: the domain never
// moves a payment or a statement to another payee); a changed document
// drops the answers of its partition only, so one person's new slip or
// claim status leaves everyone else's lists kept. Another process's writes
// are seen when this process's own projector applies the same events, as
// its WaitFor is (every portal process runs every projector).
//
// Only the first page of a query that asks for bodies alone, of the
// portal's page size, is kept (the lists a page or the JSON API shows when
// opened), so one person can put only a handful of answers in, and a
// stream of made-up cursors or page sizes cannot push everyone else's out.
// The memory is bounded: once the answers kept reach the budget, further
// ones are read and not kept until changes make room. Sized for the whole
// staff (the default holds 30,000 people's slip and claim lists) it keeps
// them all.
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

// Source tells whether answers read from a collection may be kept now
// (projections/engine: its projector is ready and running, so every change
// to the collection will be told).
type Source interface {
	ViewReady(collection string) bool
}

// Options shape a Reader.
type Options struct {
	// Budget is the memory the answers kept may take, in bytes (<= 0:
	// nothing is kept).
	Budget int64
	// PageSizes are the limits of the queries kept (the pages the portal
	// asks for).
	PageSizes []int
	// Partitions names, for each collection whose answers are kept, the
	// field every kept query fixes in its Where and that no document of the
	// collection ever changes (a query without it is not kept). A document
	// deleted, or put without the field, drops the collection's answers.
	Partitions map[string]string
}

// Reader is a projections.Reader that keeps Find answers (see the package
// documentation) and passes everything else through. The Docs of an answer
// share memory with the kept copy: their Body must not be modified (no
// query of this project does), and Version and Fields are left empty as
// BodyOnly says.
type Reader struct {
	next  projections.Reader
	src   Source
	opts  Options
	slots map[string]*slot // by collection; fixed by New

	used   atomic.Int64 // bytes kept, over every collection
	hits   atomic.Uint64
	misses atomic.Uint64
}

var _ projections.Reader = (*Reader)(nil)

// New returns a Reader over next, keeping answers as opts says. It has no
// Close: it lives as long as the engine that tells it (in the portal, the
// process). One read no more may be taken off the engine with the function
// Engine.Observe returned, and must not be read after: it would hear of no
// change, and give answers kept from before.
func New(next projections.Reader, src Source, opts Options) *Reader {
	r := &Reader{next: next, src: src, opts: opts, slots: map[string]*slot{}}
	for coll, field := range opts.Partitions {
		r.slots[coll] = &slot{coll: coll, field: field}
	}
	return r
}

// slot is one kept collection: its partition field and its current
// generation of answers.
type slot struct {
	coll, field string
	cur         atomic.Pointer[generation]
}

// current returns the slot's generation, starting one if there is none.
func (s *slot) current() *generation {
	for {
		if g := s.cur.Load(); g != nil {
			return g
		}
		if s.cur.CompareAndSwap(nil, newGeneration()) {
			return s.cur.Load()
		}
	}
}

// generation is the answers kept of one collection since its last
// CollectionsChanged. epoch counts the DocsChanged it has been told: an
// answer read across one is not kept.
type generation struct {
	mu      sync.RWMutex
	answers map[string]*answer
	parts   map[string][]string // partition value → keys of its answers
	epoch   uint64
	bytes   int64
	dropped bool // replaced: keeps nothing more
}

func newGeneration() *generation {
	return &generation{answers: map[string]*answer{}, parts: map[string][]string{}}
}

// answer is one kept page, packed: every document's ID then its body, back
// to back in buf; ends holds each one's ID end and body end.
type answer struct {
	buf  []byte
	ends []uint32
	next string
	size int64 // what it counts against the budget
}

// answerOverhead is what an answer costs beyond its bytes: the map entries
// (answers and parts), the struct, the slice and string headers.
const answerOverhead = 200

// Get reads through to the store: single documents are not kept.
func (r *Reader) Get(ctx context.Context, collection, id string) (projections.Doc, bool, error) {
	return r.next.Get(ctx, collection, id)
}

// Find answers from memory when it can, and otherwise from the store,
// keeping the answer if it may.
func (r *Reader) Find(ctx context.Context, q projections.Query) (projections.Page, error) {
	s := r.slots[q.Collection]
	if s == nil || r.opts.Budget <= 0 || !q.BodyOnly || q.After != "" || !slices.Contains(r.opts.PageSizes, q.Limit) {
		return r.next.Find(ctx, q)
	}
	pv, ok := q.Where[s.field]
	if !ok || !r.src.ViewReady(q.Collection) {
		return r.next.Find(ctx, q)
	}
	g := s.current()
	key := queryKey(q)
	g.mu.RLock()
	a, epoch := g.answers[key], g.epoch
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
	r.keep(g, epoch, key, partKey(pv), pack(pg, key))
	return pg, nil
}

// keep adds a to g under key if nothing changed in g since the read began
// (epoch) and the budget has room.
func (r *Reader) keep(g *generation, epoch uint64, key, part string, a *answer) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dropped || g.epoch != epoch || g.answers[key] != nil {
		return
	}
	if r.used.Add(a.size) > r.opts.Budget {
		r.used.Add(-a.size)
		return
	}
	g.answers[key] = a
	g.parts[part] = append(g.parts[part], key)
	g.bytes += a.size
}

// DocsChanged drops the answers of each changed document's partition (see
// engine.ViewObserver).
func (r *Reader) DocsChanged(docs []projections.Changed) {
	for coll, s := range r.slots {
		mine, whole := false, false
		for _, d := range docs {
			if d.Collection != coll {
				continue
			}
			mine = true
			if _, ok := d.Fields[s.field]; d.Deleted || !ok {
				whole = true // its partition is not known: any answer may hold it
				break
			}
		}
		switch {
		case whole:
			r.replace(s)
		case mine:
			r.dropParts(s, docs)
		}
	}
}

// dropParts drops the answers of the partitions of s's documents in docs.
func (r *Reader) dropParts(s *slot, docs []projections.Changed) {
	// The generation is started if there is none, so that a read begun
	// before this change cannot keep what it read into a new one.
	g := s.current()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.epoch++
	for _, d := range docs {
		pv, ok := d.Fields[s.field]
		if d.Collection != s.coll || !ok {
			continue
		}
		part := partKey(pv)
		for _, key := range g.parts[part] {
			if a := g.answers[key]; a != nil {
				delete(g.answers, key)
				g.bytes -= a.size
				r.used.Add(-a.size)
			}
		}
		delete(g.parts, part)
	}
}

// CollectionsChanged drops every answer of the collections (see
// engine.ViewObserver).
func (r *Reader) CollectionsChanged(collections []string) {
	for _, coll := range collections {
		if s := r.slots[coll]; s != nil {
			r.replace(s)
		}
	}
}

// replace starts a new generation for s and drops the old one's answers.
func (r *Reader) replace(s *slot) {
	old := s.cur.Swap(newGeneration())
	if old == nil {
		return
	}
	old.mu.Lock()
	defer old.mu.Unlock()
	old.dropped = true
	r.used.Add(-old.bytes)
	old.answers, old.parts, old.bytes = nil, nil, 0
}

// pack copies a page's IDs and bodies into one allocation.
func pack(pg projections.Page, key string) *answer {
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
	a.size = int64(len(a.buf)+4*len(a.ends)+2*len(key)+len(a.next)) + answerOverhead
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

// partKey is a partition value as a map key, its kind included (as
// queryKey writes values), so the string "5" and the integer 5 differ.
func partKey(v any) string { return string(appendValue(nil, v)) }

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
