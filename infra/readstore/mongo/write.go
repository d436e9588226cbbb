package mongo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/melaka-gov/ispeks/infra/readstore/internal/rskit"
	"github.com/melaka-gov/ispeks/projections"
)

// checkpointGen is the generation of projector's checkpoint document.
func (s *Store) checkpointGen(cat *catalog, projector string) int64 {
	if s.shadow {
		return s.cpGen
	}
	return cat.CPLive[projector]
}

// Checkpoint returns the projector's stored position (the shadow one on a
// shadow store).
func (s *Store) Checkpoint(ctx context.Context, projector string) (_ uint64, err error) {
	defer func() { err = unavailable(err) }()
	if !s.c.reads.Enter() {
		return 0, errClosed
	}
	defer s.c.reads.Leave()
	if err := rskit.CheckProjector(projector); err != nil {
		return 0, err
	}
	cat, err := s.c.catalog(ctx, false)
	if err != nil {
		return 0, err
	}
	var doc struct {
		Pos int64 `bson:"pos"`
	}
	err = s.c.db.Collection(checkpointColl).FindOne(ctx, bson.D{{Key: fID, Value: cpID(projector, s.checkpointGen(cat, projector))}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("readstore/mongo: checkpoint of %s: %w", projector, err)
	}
	return uint64(doc.Pos), nil
}

// Write collects fn's puts and deletes, then applies them as one ordered
// bulk write per collection, in collection name order (see the package
// doc), then stores the checkpoint. If fn fails nothing
// is written. If the process dies after the puts and before the checkpoint,
// the projector replays the batch from the old checkpoint, which is harmless:
// puts apply only over older versions, and the deletes come out the same.
func (s *Store) Write(ctx context.Context, projector string, checkpoint uint64, fn func(projections.Batch) error) (err error) {
	defer func() { err = unavailable(err) }()
	if s.c.closed.Load() {
		return errClosed
	}
	if err := rskit.CheckProjector(projector); err != nil {
		return err
	}
	if checkpoint > math.MaxInt64 {
		return fmt.Errorf("%w: projector %q: checkpoint %d does not fit in int64", rskit.ErrInvalid, projector, checkpoint)
	}
	// A fresh catalog: write into the generation that is live now, even if
	// another process swapped a rebuild in a moment ago.
	cat, err := s.c.catalog(ctx, !s.shadow)
	if err != nil {
		return err
	}
	b := &batch{s: s, cat: cat, colls: map[string]*pending{}}
	if err := fn(b); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	names := make([]string, 0, len(b.colls))
	for name := range b.colls {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := b.colls[name].flush(ctx); err != nil {
			return fmt.Errorf("readstore/mongo: write %s: %w", projector, err)
		}
	}
	_, err = s.c.db.Collection(checkpointColl).UpdateOne(ctx,
		bson.D{{Key: fID, Value: cpID(projector, s.checkpointGen(cat, projector))}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "pos", Value: int64(checkpoint)}}}},
		options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("readstore/mongo: write %s: checkpoint: %w", projector, err)
	}
	return nil
}

// batch buffers a Write's changes, reduced to one operation per document.
type batch struct {
	s     *Store
	cat   *catalog // the revision the whole batch resolves against
	colls map[string]*pending
}

type pending struct {
	rc  resolved
	ops map[string]*op
}

// op is the net effect of a batch on one document.
type op struct {
	// afterDelete: the batch deleted the document first, so the put (if
	// any) replaces whatever is stored, whatever its version.
	afterDelete bool
	put         *projections.Doc
	fields      map[string]any
}

func (b *batch) coll(ctx context.Context, name string, need ...string) (*pending, error) {
	if p, ok := b.colls[name]; ok && hasAll(p.rc.spec, need) {
		return p, nil
	}
	// The batch's own catalog revision first (see Write), the store's
	// (refreshed) only for a collection or field it lacks.
	rc, ok, err := b.s.resolveIn(b.cat, name)
	if err != nil {
		return nil, err
	}
	if !ok || !hasAll(rc.spec, need) {
		if rc, err = b.s.resolve(ctx, name, need...); err != nil {
			return nil, err
		}
	}
	p, ok := b.colls[name]
	if !ok {
		p = &pending{ops: map[string]*op{}}
		b.colls[name] = p
	}
	p.rc = rc
	return p, nil
}

// Get returns the document as it will be after the batch: the batch's own
// put or delete, or the stored document, whichever is newer.
func (b *batch) Get(ctx context.Context, collection, id string) (projections.Doc, bool, error) {
	p, err := b.coll(ctx, collection)
	if err != nil {
		return projections.Doc{}, false, err
	}
	if err := rskit.CheckID(collection, id); err != nil {
		return projections.Doc{}, false, err
	}
	o := p.ops[id]
	if o != nil && o.afterDelete {
		if o.put == nil {
			return projections.Doc{}, false, nil
		}
		return *o.put, true, nil
	}
	stored, found, err := getDoc(ctx, p.rc, id)
	if err != nil {
		return projections.Doc{}, false, err
	}
	if o != nil && o.put != nil && (!found || o.put.Version > stored.Version) {
		return *o.put, true, nil
	}
	return stored, found, nil
}

func (b *batch) Put(ctx context.Context, collection string, doc projections.Doc) error {
	need := make([]string, 0, len(doc.Fields))
	for k := range doc.Fields {
		need = append(need, k)
	}
	p, err := b.coll(ctx, collection, need...)
	if err != nil {
		return err
	}
	fields, err := rskit.Doc(p.rc.spec, doc)
	if err != nil {
		return err
	}
	o := p.ops[doc.ID]
	if o == nil {
		o = &op{}
		p.ops[doc.ID] = o
	}
	if o.put != nil && doc.Version <= o.put.Version {
		return nil // older than the batch's own put
	}
	// Keep what Get returns independent of the caller's slices and maps.
	d := projections.Doc{ID: doc.ID, Version: doc.Version, Body: slices.Clone(doc.Body), Fields: make(map[string]any, len(fields))}
	for k, v := range fields {
		d.Fields[k] = v
	}
	o.put, o.fields = &d, fields
	return nil
}

func (b *batch) Delete(ctx context.Context, collection, id string) error {
	p, err := b.coll(ctx, collection)
	if err != nil {
		return err
	}
	if err := rskit.CheckID(collection, id); err != nil {
		return err
	}
	p.ops[id] = &op{afterDelete: true}
	return nil
}

// flush applies the net operations. A put is a replace-with-upsert filtered
// on an older version; when the stored document is the same or newer the
// filter misses and the upsert's insert fails on the duplicate _id, which
// means "ignored". Such a failure is retried, because it can also come from
// a concurrent insert of an older version, which the retry then replaces.
func (p *pending) flush(ctx context.Context) error {
	if len(p.ops) == 0 {
		return nil
	}
	ids := make([]string, 0, len(p.ops))
	for id := range p.ops {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	models := make([]mongo.WriteModel, 0, len(ids))
	for _, id := range ids {
		o := p.ops[id]
		switch {
		case o.put == nil:
			models = append(models, mongo.NewDeleteOneModel().SetFilter(bson.D{{Key: fID, Value: id}}))
		case o.afterDelete:
			models = append(models, mongo.NewReplaceOneModel().
				SetFilter(bson.D{{Key: fID, Value: id}}).
				SetReplacement(encode(p.rc.spec, *o.put, o.fields)).
				SetUpsert(true))
		default:
			models = append(models, mongo.NewReplaceOneModel().
				SetFilter(bson.D{{Key: fID, Value: id}, {Key: fVer, Value: bson.D{{Key: "$lt", Value: int64(o.put.Version)}}}}).
				SetReplacement(encode(p.rc.spec, *o.put, o.fields)).
				SetUpsert(true))
		}
	}
	// Ordered, continuing after each duplicate-key error ("ignored"): a
	// server may stop an unordered bulk write at its first error too
	// (FerretDB 1.x does), so do not rely on it going on.
	retried := map[int]bool{}
	for start := 0; start < len(models); {
		_, err := p.rc.coll.BulkWrite(ctx, models[start:], options.BulkWrite().SetOrdered(true))
		if err == nil {
			return nil
		}
		var bwe mongo.BulkWriteException
		if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) != 1 || bwe.WriteErrors[0].Code != 11000 {
			return fmt.Errorf("%s: %w", p.rc.spec.Name, err)
		}
		i := start + bwe.WriteErrors[0].Index
		if !retried[i] { // a concurrent insert of an older version: once more
			retried[i] = true
			start = i
			continue
		}
		start = i + 1
	}
	return nil
}
