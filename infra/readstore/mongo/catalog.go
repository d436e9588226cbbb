package mongo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/melaka-gov/ispeks/infra/readstore/internal/rskit"
	"github.com/melaka-gov/ispeks/projections"
)

const (
	catalogColl    = "_ispeks_catalog"
	checkpointColl = "_ispeks_checkpoints"
)

// catalog says which physical collection and which checkpoint document are
// live. It is stored as a chain of immutable revisions, one document each,
// _id "rev:<zero-padded number>", and the highest is current. A change
// inserts the next revision: the unique _id makes that a compare-and-swap
// that holds on any Mongo-wire server, including FerretDB, whose
// conditional updates are not atomic against each other.
type catalog struct {
	ID       string           `bson:"_id"`
	Rev      int64            `bson:"rev"`
	At       time.Time        `bson:"at"`
	NextGen  int64            `bson:"next_gen"`
	Live     map[string]entry `bson:"live"`
	Shadow   map[string]entry `bson:"shadow"`
	CPLive   map[string]int64 `bson:"cp_live"`   // projector → checkpoint generation (absent: 0)
	CPShadow map[string]int64 `bson:"cp_shadow"` // projector → shadow checkpoint generation
	Retired  []retired        `bson:"retired"`   // to drop once nobody reads them
}

func revID(rev int64) string { return fmt.Sprintf("rev:%019d", rev) }

// Old revisions are pruned once they are both this old and this far behind:
// a writer that read a revision that long ago cannot still be about to
// insert its successor.
const (
	keepRevs   = 10
	keepRevFor = 24 * time.Hour
)

type entry struct {
	Gen     int64    `bson:"gen"`
	Indexes []string `bson:"indexes"`
	// Projector is, for a shadow, whose rebuild it is; for a live
	// collection, the projector that swapped it in or last declared it
	// (Ensure with an Owner); empty: unknown (Ensure without an Owner, or a
	// binary that did not record it).
	Projector string `bson:"projector,omitempty"`
}

type retired struct {
	Collection string    `bson:"coll,omitempty"`
	Checkpoint string    `bson:"cp,omitempty"`
	At         time.Time `bson:"at"`
}

func physical(name string, gen int64) string { return name + "__g" + strconv.FormatInt(gen, 10) }

func cpID(projector string, gen int64) string { return projector + "@" + strconv.FormatInt(gen, 10) }

func (cat *catalog) clone() *catalog {
	n := *cat
	n.Live = maps.Clone(cat.Live)
	n.Shadow = maps.Clone(cat.Shadow)
	n.CPLive = maps.Clone(cat.CPLive)
	n.CPShadow = maps.Clone(cat.CPShadow)
	n.Retired = slices.Clone(cat.Retired)
	if n.Live == nil {
		n.Live = map[string]entry{}
	}
	if n.Shadow == nil {
		n.Shadow = map[string]entry{}
	}
	if n.CPLive == nil {
		n.CPLive = map[string]int64{}
	}
	if n.CPShadow == nil {
		n.CPShadow = map[string]int64{}
	}
	return &n
}

// catalog returns the cached catalog, re-read when older than CatalogTTL or
// when fresh is set.
func (c *core) catalog(ctx context.Context, fresh bool) (*catalog, error) {
	c.mu.Lock()
	cat, at := c.cat, c.loadedAt
	c.mu.Unlock()
	if cat != nil && !fresh && time.Since(at) < c.opts.CatalogTTL {
		return cat, nil
	}
	start := time.Now()
	cat = &catalog{NextGen: 1}
	opts := options.FindOne().SetSort(bson.D{{Key: "_id", Value: -1}})
	err := c.db.Collection(catalogColl).FindOne(ctx, bson.D{}, opts).Decode(cat)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return nil, fmt.Errorf("readstore/mongo: read catalog: %w", err)
	}
	cat = cat.clone()
	c.setCatalog(cat, start)
	return cat, nil
}

func (c *core) setCatalog(cat *catalog, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Keep the newer of two concurrent reads.
	if c.cat == nil || cat.Rev >= c.cat.Rev {
		c.cat, c.loadedAt = cat, at
	}
}

// update applies change to the current catalog and inserts the result as
// the next revision, retrying when another writer got there first; change
// may be called several times. A change that changes nothing writes nothing.
func (c *core) update(ctx context.Context, change func(*catalog) error) (*catalog, error) {
	c.updMu.Lock() // fewer lost races between this process's own writers
	defer c.updMu.Unlock()
	coll := c.db.Collection(catalogColl)
	for attempt := 0; attempt < 50; attempt++ {
		cur, err := c.catalog(ctx, true)
		if err != nil {
			return nil, err
		}
		next := cur.clone()
		if err := change(next); err != nil {
			return nil, err
		}
		if reflect.DeepEqual(next, cur.clone()) {
			return cur, nil
		}
		next.Rev = cur.Rev + 1
		next.ID = revID(next.Rev)
		next.At = time.Now().UTC().Truncate(time.Millisecond)
		start := time.Now()
		_, err = coll.InsertOne(ctx, next)
		if mongo.IsDuplicateKeyError(err) {
			time.Sleep(time.Duration(attempt) * 5 * time.Millisecond)
			continue // another writer inserted this revision first
		}
		if err != nil {
			return nil, fmt.Errorf("readstore/mongo: update catalog: %w", err)
		}
		c.setCatalog(next, start)
		if next.Rev > keepRevs {
			_, err := coll.DeleteMany(ctx, bson.D{
				{Key: "_id", Value: bson.D{{Key: "$lt", Value: revID(next.Rev - keepRevs)}}},
				{Key: "at", Value: bson.D{{Key: "$lt", Value: time.Now().Add(-keepRevFor)}}},
			})
			if err != nil {
				c.log.Warn("prune old catalog revisions", "err", err)
			}
		}
		return next, nil
	}
	return nil, fmt.Errorf("readstore/mongo: update catalog: too many concurrent changes")
}

// resolved is a collection as one Store sees it.
type resolved struct {
	spec rskit.Spec
	coll *mongo.Collection
}

func (s *Store) lookup(cat *catalog, name string) (entry, bool) {
	if !s.shadow {
		e, ok := cat.Live[name]
		return e, ok
	}
	gen, ok := s.gens[name]
	if !ok {
		return entry{}, false
	}
	if e, ok := cat.Shadow[name]; ok && e.Gen == gen {
		return e, true
	}
	if e, ok := cat.Live[name]; ok && e.Gen == gen {
		return e, true // already swapped in
	}
	return entry{}, false // the rebuild was begun again: this shadow is gone
}

// resolve finds a collection, re-reading the catalog once when the name or
// one of the needed fields is unknown (another process may have declared
// them).
func (s *Store) resolve(ctx context.Context, name string, need ...string) (resolved, error) {
	if s.shadow {
		if _, ok := s.gens[name]; !ok {
			return resolved{}, fmt.Errorf("%w (not part of the rebuild of %q)", rskit.Unknown(name), s.projector)
		}
	}
	for fresh := false; ; fresh = true {
		cat, err := s.c.catalog(ctx, fresh)
		if err != nil {
			return resolved{}, err
		}
		rc, ok, err := s.resolveIn(cat, name)
		if err != nil {
			return resolved{}, err
		}
		if ok && (hasAll(rc.spec, need) || fresh) {
			return rc, nil
		}
		if fresh {
			return resolved{}, rskit.Unknown(name)
		}
	}
}

// resolveIn is name's collection as catalog revision cat has it (ok false:
// not in it).
func (s *Store) resolveIn(cat *catalog, name string) (rc resolved, ok bool, err error) {
	e, ok := s.lookup(cat, name)
	if !ok {
		return resolved{}, false, nil
	}
	spec, err := rskit.ParseSpec(projections.CollectionSpec{Name: name, Indexes: e.Indexes})
	if err != nil {
		return resolved{}, false, fmt.Errorf("readstore/mongo: catalog entry of %q is corrupt: %w", name, err)
	}
	return resolved{spec: spec, coll: s.c.db.Collection(physical(name, e.Gen))}, true, nil
}

func hasAll(sp rskit.Spec, fields []string) bool {
	for _, f := range fields {
		if f != "" && !sp.Has(f) {
			return false
		}
	}
	return true
}

// Ensure creates the collections and indexes that are missing. It only adds:
// a field dropped from a spec stays indexed, so an older and a newer binary
// can run side by side. Documents stored before a field was added lack it
// until they are put again (or rebuilt).
func (s *Store) Ensure(ctx context.Context, specs ...projections.CollectionSpec) (err error) {
	defer func() { err = unavailable(err) }()
	if s.c.closed.Load() {
		return errClosed
	}
	parsed, err := rskit.ParseSpecs(specs)
	if err != nil {
		return err
	}
	for _, sp := range parsed {
		if s.shadow && s.gens[sp.Name] == 0 {
			return fmt.Errorf("%w (not part of the rebuild of %q)", rskit.Unknown(sp.Name), s.projector)
		}
	}
	cat, err := s.c.update(ctx, func(cat *catalog) error {
		for _, sp := range parsed {
			m := cat.Live
			if s.shadow {
				m = cat.Shadow
			}
			e, ok := m[sp.Name]
			switch {
			case s.shadow && (!ok || e.Gen != s.gens[sp.Name]):
				return fmt.Errorf("readstore/mongo: ensure %q: the rebuild of %q was restarted or swapped in meanwhile", sp.Name, s.projector)
			case !ok:
				e = entry{Gen: cat.NextGen, Indexes: sp.Entries(), Projector: sp.Owner}
				cat.NextGen++
			default:
				have, err := rskit.ParseSpec(projections.CollectionSpec{Name: sp.Name, Indexes: e.Indexes})
				if err != nil {
					return fmt.Errorf("readstore/mongo: catalog entry of %q is corrupt: %w", sp.Name, err)
				}
				e.Indexes = have.Merge(sp).Entries()
				if !s.shadow && sp.Owner != "" {
					// The collection may have moved to another projector:
					// the earlier owner's rebuild must not drop it.
					e.Projector = sp.Owner
				}
			}
			m[sp.Name] = e
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, sp := range parsed {
		e, _ := s.lookup(cat, sp.Name)
		full, err := rskit.ParseSpec(projections.CollectionSpec{Name: sp.Name, Indexes: e.Indexes})
		if err != nil {
			return err
		}
		if err := createIndexes(ctx, s.c.db.Collection(physical(sp.Name, e.Gen)), full); err != nil {
			return err
		}
	}
	if !s.shadow {
		s.c.collect(ctx)
	}
	return nil
}

// createIndexes creates the missing indexes, one per field and per compound
// entry, each ending in _id so that ties sort by id inside the index; it
// also creates the collection, so an empty one exists. Indexes are created
// one at a time and only when missing: FerretDB 1.24 fails a createIndexes
// that repeats several existing indexes.
func createIndexes(ctx context.Context, coll *mongo.Collection, sp rskit.Spec) error {
	var keys [][]string
	for _, f := range sp.Singles {
		keys = append(keys, []string{f})
	}
	keys = append(keys, sp.Compounds...)

	have := map[string]bool{}
	specs, err := coll.Indexes().ListSpecifications(ctx)
	var ce mongo.CommandError
	if err != nil && !(errors.As(err, &ce) && ce.Code == 26) { // NamespaceNotFound: no collection yet
		return fmt.Errorf("readstore/mongo: list indexes of %s: %w", coll.Name(), err)
	}
	for _, s := range specs {
		have[s.Name] = true
	}
	created := len(specs) > 0
	for _, k := range keys {
		name := "ix_" + strings.Join(k, "+")
		if have[name] {
			continue
		}
		d := bson.D{}
		for _, f := range k {
			d = append(d, bson.E{Key: f, Value: 1})
		}
		d = append(d, bson.E{Key: "_id", Value: 1})
		if _, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: d, Options: options.Index().SetName(name)}); err != nil {
			return fmt.Errorf("readstore/mongo: create index %s on %s: %w", name, coll.Name(), err)
		}
		created = true
	}
	if !created {
		err := coll.Database().CreateCollection(ctx, coll.Name())
		if err != nil && !(errors.As(err, &ce) && ce.Code == 48) { // NamespaceExists
			return fmt.Errorf("readstore/mongo: create collection %s: %w", coll.Name(), err)
		}
	}
	return nil
}

// collect drops retired generations and checkpoint documents whose delay has
// passed. Failures are logged, not returned: a later call retries.
func (c *core) collect(ctx context.Context) {
	cat, err := c.catalog(ctx, true)
	if err != nil {
		c.log.Warn("collect retired collections", "err", err)
		return
	}
	var due []retired
	for _, r := range cat.Retired {
		if time.Since(r.At) >= c.opts.DropDelay {
			due = append(due, r)
		}
	}
	if len(due) == 0 {
		return
	}
	for _, r := range due {
		var err error
		if r.Collection != "" {
			err = c.db.Collection(r.Collection).Drop(ctx)
		}
		if r.Checkpoint != "" && err == nil {
			_, err = c.db.Collection(checkpointColl).DeleteOne(ctx, bson.D{{Key: "_id", Value: r.Checkpoint}})
		}
		if err != nil {
			c.log.Warn("drop retired generation", "collection", r.Collection, "checkpoint", r.Checkpoint, "err", err)
			return
		}
	}
	_, err = c.update(ctx, func(cat *catalog) error {
		cat.Retired = slices.DeleteFunc(cat.Retired, func(r retired) bool { return slices.Contains(due, r) })
		return nil
	})
	if err != nil {
		if ctx.Err() == nil { // not just the store closing; the next collect retries
			c.log.Warn("collect retired collections", "err", err)
		}
		return
	}
	c.log.Info("dropped retired generations", "count", len(due))
}

// collectLater runs collect once the drop delay has passed.
func (c *core) collectLater() {
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		t := time.NewTimer(c.opts.DropDelay + 10*time.Millisecond)
		defer t.Stop()
		select {
		case <-c.bgCtx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(c.bgCtx, time.Minute)
		defer cancel()
		c.collect(ctx)
	}()
}
