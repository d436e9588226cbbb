package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/melaka-gov/ispeks/projections"
)

// The overlay is a projector's write-behind batch. Events are projected one at
// a time into a staging layer over it (so a failing event leaves no trace),
// the staging is merged when the event succeeds, and a commit writes the
// overlay's changed documents and the checkpoint of the last event in one
// read-store batch. Between commits the overlay also caches documents, so a
// document touched by many events is read from the store once and written
// once per commit.
//
// Reads that miss the overlay go to the store outside the batch transaction.
// That is safe because a projector is the only writer of its collections; a
// rebuild swapping the collections under a live projector is detected at
// commit (see runner.generation).

type docKey struct{ coll, id string }

type entry struct {
	doc     projections.Doc
	present bool // the document exists (false: absent or deleted)
	dirty   bool // differs from the store; the next commit writes it
	deleted bool // deleted since the last commit: the commit deletes before it puts
	// blind: put without reading the store first (most puts are of a
	// document's first version, which the store cannot hold yet; reading
	// it anyway cost a query per put). The store may hold a newer version,
	// which the commit then keeps (a put never replaces a newer version),
	// so a Get reads the store before trusting a blind entry, and the
	// commit drops blind entries from the cache.
	blind bool
}

type overlay struct {
	reader projections.Reader
	colls  map[string]bool
	m      map[docKey]*entry
	dirty  []docKey // keys of the dirty entries, each once
	// complete means m holds every document of the collections (a rebuild
	// into empty shadows that has not dropped its cache yet), so a miss is
	// an absent document and needs no read.
	complete bool
}

func newOverlay(reader projections.Reader, colls map[string]bool, complete bool) *overlay {
	return &overlay{reader: reader, colls: colls, m: map[docKey]*entry{}, complete: complete}
}

var absent = &entry{}

// lookup returns the visible state of a document, reading it through from the
// store (and caching it) on a miss.
func (o *overlay) lookup(ctx context.Context, k docKey) (*entry, error) {
	if e, ok := o.m[k]; ok {
		return e, nil
	}
	if o.complete {
		return absent, nil
	}
	doc, ok, err := o.reader.Get(ctx, k.coll, k.id)
	if err != nil {
		return nil, err
	}
	e := &entry{doc: doc, present: ok}
	o.m[k] = e
	return e, nil
}

// writes returns the dirty entries in a stable order (stable so a commit's
// statements, and so its lock order on backends that have row locks, do not
// depend on the order events touched them).
func (o *overlay) writes() []docKey {
	keys := slices.Clone(o.dirty)
	slices.SortFunc(keys, func(a, b docKey) int {
		if a.coll != b.coll {
			if a.coll < b.coll {
				return -1
			}
			return 1
		}
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	return keys
}

// apply writes the dirty entries into a store batch.
func (o *overlay) apply(ctx context.Context, b projections.Batch, keys []docKey) error {
	for _, k := range keys {
		e := o.m[k]
		if e.deleted {
			if err := b.Delete(ctx, k.coll, k.id); err != nil {
				return fmt.Errorf("delete %s/%s: %w", k.coll, k.id, err)
			}
		}
		if e.present {
			if err := b.Put(ctx, k.coll, e.doc); err != nil {
				return fmt.Errorf("put %s/%s: %w", k.coll, k.id, err)
			}
		}
	}
	return nil
}

// committed marks the written entries clean and, when the cache has grown past
// limit entries, drops it (everything in it is in the store now).
func (o *overlay) committed(keys []docKey, limit int) {
	for _, k := range keys {
		e := o.m[k]
		e.dirty, e.deleted = false, false
		if !e.present || e.blind {
			// A committed delete needs no cache entry; after a blind put
			// the store holds it or a newer version, unknown which.
			delete(o.m, k)
		}
	}
	o.dirty = o.dirty[:0]
	if len(o.m) > limit {
		o.m = map[docKey]*entry{}
		o.complete = false
	}
}

// reset forgets everything, committed or not.
func (o *overlay) reset() {
	o.m = map[docKey]*entry{}
	o.dirty = o.dirty[:0]
	o.complete = false
}

// staging is the projections.Batch one event is projected into. A runner
// reuses one for every event (begin clears it).
type staging struct {
	o      *overlay
	writes map[docKey]*entry
	// touched are the puts ignored because the document visible was as new
	// (another process sharing the store wrote it first), with the fields
	// the projector gave: the document changed all the same since the view
	// observers last heard of it.
	touched map[docKey]map[string]any
}

var _ projections.Batch = (*staging)(nil)

func (s *staging) begin(o *overlay) {
	s.o = o
	clear(s.writes)
	clear(s.touched)
}

func (s *staging) check(coll, id string) error {
	if !s.o.colls[coll] {
		return fmt.Errorf("%w: %q is not one of the projector's collections", projections.ErrUnknownCollection, coll)
	}
	if id == "" {
		return fmt.Errorf("projections: document in %q has an empty ID", coll)
	}
	return nil
}

func (s *staging) visible(ctx context.Context, k docKey) (*entry, error) {
	if e, ok := s.writes[k]; ok {
		return e, nil
	}
	return s.o.lookup(ctx, k)
}

// staged is the entry the event or the batch holds already (nil: none),
// without reading the store.
func (s *staging) staged(k docKey) *entry {
	if e, ok := s.writes[k]; ok {
		return e
	}
	if e, ok := s.o.m[k]; ok {
		return e
	}
	if s.o.complete {
		return absent
	}
	return nil
}

// resolve settles a blind entry against the store: a stored version at
// least as new wins (the commit's put of e would be ignored), else e is
// what the store will hold after the commit.
func (s *staging) resolve(ctx context.Context, k docKey, e *entry) error {
	doc, ok, err := s.o.reader.Get(ctx, k.coll, k.id)
	if err != nil {
		return err
	}
	if ok && doc.Version >= e.doc.Version {
		e.doc = doc
	}
	e.blind = false
	return nil
}

func (s *staging) Get(ctx context.Context, coll, id string) (projections.Doc, bool, error) {
	if err := s.check(coll, id); err != nil {
		return projections.Doc{}, false, err
	}
	k := docKey{coll, id}
	e, err := s.visible(ctx, k)
	if err == nil && e.blind {
		err = s.resolve(ctx, k, e)
	}
	if err != nil || !e.present {
		return projections.Doc{}, false, err
	}
	doc := e.doc
	doc.Fields = maps.Clone(doc.Fields)
	return doc, true, nil
}

// Put follows the store's rule: a version not greater than the visible one
// is ignored.
func (s *staging) Put(ctx context.Context, coll string, doc projections.Doc) error {
	if err := s.check(coll, doc.ID); err != nil {
		return err
	}
	k := docKey{coll, doc.ID}
	cur := s.staged(k)
	if cur == nil { // unknown here: put blind rather than read the store
		cur = &entry{blind: true}
	}
	if cur.present && doc.Version <= cur.doc.Version {
		if s.touched == nil {
			s.touched = map[docKey]map[string]any{}
		}
		s.touched[k] = maps.Clone(doc.Fields)
		return nil
	}
	doc.Fields = maps.Clone(doc.Fields)
	doc.Body = append([]byte(nil), doc.Body...)
	s.stage(k, &entry{doc: doc, present: true, dirty: true, deleted: cur.deleted, blind: cur.blind})
	return nil
}

func (s *staging) Delete(ctx context.Context, coll, id string) error {
	if err := s.check(coll, id); err != nil {
		return err
	}
	s.stage(docKey{coll, id}, &entry{dirty: true, deleted: true})
	return nil
}

func (s *staging) stage(k docKey, e *entry) {
	if s.writes == nil {
		s.writes = map[docKey]*entry{}
	}
	s.writes[k] = e
}

// merge moves a successful event's writes into the overlay.
func (s *staging) merge() {
	for k, e := range s.writes {
		old, ok := s.o.m[k]
		if ok {
			e.deleted = e.deleted || old.deleted
		}
		if !ok || !old.dirty {
			s.o.dirty = append(s.o.dirty, k)
		}
		s.o.m[k] = e
	}
	clear(s.writes)
}
