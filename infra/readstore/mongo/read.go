package mongo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/melaka-gov/ispeks/infra/readstore/internal/rskit"
	"github.com/melaka-gov/ispeks/projections"
)

const (
	fID   = "_id"
	fVer  = "_v"
	fBody = "_body"
)

// encode builds the stored document; absent fields are left out, so they
// sort and match as null, like NULL in the SQLite adapter.
func encode(sp rskit.Spec, d projections.Doc, fields map[string]any) bson.D {
	out := make(bson.D, 0, 3+len(fields))
	out = append(out, bson.E{Key: fID, Value: d.ID}, bson.E{Key: fVer, Value: int64(d.Version)}, bson.E{Key: fBody, Value: string(d.Body)})
	for _, f := range sp.Fields {
		if v, ok := fields[f]; ok {
			out = append(out, bson.E{Key: f, Value: v})
		}
	}
	return out
}

// decode reads a stored document.
func decode(sp rskit.Spec, raw bson.Raw) (projections.Doc, error) {
	d, err := decodeBody(raw)
	if err != nil {
		return d, err
	}
	v, ok := raw.Lookup(fVer).AsInt64OK()
	if !ok || v < 0 {
		return d, fmt.Errorf("document %q: bad %s", d.ID, fVer)
	}
	d.Version = uint64(v)
	d.Fields = make(map[string]any, len(sp.Fields))
	for _, f := range sp.Fields {
		x, err := fieldOf(raw, d.ID, f)
		if err != nil {
			return d, err
		}
		if x != nil {
			d.Fields[f] = x
		}
	}
	return d, nil
}

// decodeBody reads a stored document's ID and body alone (Query.BodyOnly).
func decodeBody(raw bson.Raw) (projections.Doc, error) {
	var d projections.Doc
	id, ok := raw.Lookup(fID).StringValueOK()
	if !ok {
		return d, fmt.Errorf("document without a string _id")
	}
	d.ID = id
	body, ok := raw.Lookup(fBody).StringValueOK()
	if !ok {
		return d, fmt.Errorf("document %q: bad %s", id, fBody)
	}
	d.Body = json.RawMessage(body)
	return d, nil
}

// fieldOf reads the indexed field f of a stored document: nil when absent.
func fieldOf(raw bson.Raw, id, f string) (any, error) {
	rv, err := raw.LookupErr(f)
	if err != nil {
		return nil, nil // absent
	}
	switch rv.Type {
	case bson.TypeNull:
		return nil, nil
	case bson.TypeString:
		return rv.StringValue(), nil
	case bson.TypeInt64, bson.TypeInt32:
		return rv.AsInt64(), nil
	case bson.TypeDouble: // not written by this adapter; accept whole numbers
		x := rv.Double()
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return nil, fmt.Errorf("document %q: field %q holds %v", id, f, x)
		}
		return int64(x), nil
	}
	return nil, fmt.Errorf("document %q: field %q holds BSON %s", id, f, rv.Type)
}

// Get returns one document.
func (s *Store) Get(ctx context.Context, collection, id string) (_ projections.Doc, _ bool, err error) {
	defer func() { err = unavailable(err) }()
	if !s.c.reads.Enter() {
		return projections.Doc{}, false, errClosed
	}
	defer s.c.reads.Leave()
	rc, err := s.resolve(ctx, collection)
	if err != nil {
		return projections.Doc{}, false, err
	}
	if err := rskit.CheckID(collection, id); err != nil {
		return projections.Doc{}, false, err
	}
	return getDoc(ctx, rc, id)
}

func getDoc(ctx context.Context, rc resolved, id string) (projections.Doc, bool, error) {
	raw, err := rc.coll.FindOne(ctx, bson.D{{Key: fID, Value: id}}).Raw()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return projections.Doc{}, false, nil
	}
	if err != nil {
		return projections.Doc{}, false, fmt.Errorf("readstore/mongo: get %s/%s: %w", rc.spec.Name, id, err)
	}
	d, err := decode(rc.spec, raw)
	if err != nil {
		return projections.Doc{}, false, fmt.Errorf("readstore/mongo: get %s/%s: %w", rc.spec.Name, id, err)
	}
	return d, true, nil
}

// kind ranks values as MongoDB sorts them: null (or absent), numbers, strings.
type kind int

const (
	kNull kind = iota
	kNumber
	kString
)

func kindOf(v any) kind {
	switch v.(type) {
	case nil:
		return kNull
	case int64:
		return kNumber
	default:
		return kString
	}
}

// Find returns one page of a query. A sort by a field runs as one query per
// BSON type bracket the field can hold (null, numbers, strings), in sort
// order: MongoDB's range operators only match their own bracket, so each
// query is a plain index range that starts at the cursor.
func (s *Store) Find(ctx context.Context, q projections.Query) (_ projections.Page, err error) {
	defer func() { err = unavailable(err) }()
	if !s.c.reads.Enter() {
		return projections.Page{}, errClosed
	}
	defer s.c.reads.Leave()
	need := make([]string, 0, len(q.Where)+1)
	for k := range q.Where {
		need = append(need, k)
	}
	need = append(need, q.SortBy)
	rc, err := s.resolve(ctx, q.Collection, need...)
	if err != nil {
		return projections.Page{}, err
	}
	if hook := s.c.midRead; hook != nil {
		hook()
	}
	p, err := rskit.PlanQuery(rc.spec, q)
	if err != nil {
		return projections.Page{}, err
	}

	dir := 1
	if p.Desc {
		dir = -1
	}
	var where bson.A
	for _, c := range p.Where {
		where = append(where, bson.D{{Key: c.Field, Value: c.Value}})
	}

	type segment struct {
		filter bson.D
		sort   bson.D
	}
	var segs []segment
	if p.SortBy == "" {
		f := bson.D{}
		if p.After != nil {
			f = bson.D{{Key: fID, Value: bson.D{{Key: gt(dir), Value: p.After.ID}}}}
		}
		segs = append(segs, segment{f, bson.D{{Key: fID, Value: dir}}})
	} else {
		kinds := []kind{kNull, kNumber, kString}
		if p.Desc {
			kinds = []kind{kString, kNumber, kNull}
		}
		if p.After != nil {
			for kinds[0] != kindOf(p.After.Key) {
				kinds = kinds[1:]
			}
		}
		for i, k := range kinds {
			f := bracket(p.SortBy, k, dir, i == 0 && p.After != nil, p.After)
			if p.Bound != nil {
				// The brackets after the bound's own lie beyond it; its
				// own ends at the bound (a range in one bracket, as the
				// operators compare).
				if kb := kindOf(p.Bound); k == kb {
					f = append(f, bson.E{Key: "$and", Value: bson.A{bson.D{{Key: p.SortBy, Value: bson.D{{Key: gte(-dir), Value: p.Bound}}}}}})
				} else if (k > kb) != p.Desc {
					break
				}
			}
			segs = append(segs, segment{
				filter: f,
				sort:   bson.D{{Key: p.SortBy, Value: dir}, {Key: fID, Value: dir}},
			})
		}
	}

	want := p.Limit + 1 // one more tells whether there is a next page
	var docs []projections.Doc
	var keys []any // each doc's sort value (a BodyOnly doc has no Fields)
	var proj bson.D
	if p.BodyOnly {
		proj = bson.D{{Key: fID, Value: 1}, {Key: fBody, Value: 1}}
		if p.SortBy != "" {
			proj = append(proj, bson.E{Key: p.SortBy, Value: 1})
		}
	}
	for _, seg := range segs {
		conds := append(bson.A{}, where...)
		if len(seg.filter) > 0 {
			conds = append(conds, seg.filter)
		}
		filter := bson.D{}
		if len(conds) > 0 {
			filter = bson.D{{Key: "$and", Value: conds}}
		}
		opts := options.Find().SetSort(seg.sort).SetLimit(int64(want - len(docs)))
		if proj != nil {
			opts.SetProjection(proj)
		}
		cur, err := rc.coll.Find(ctx, filter, opts)
		if err != nil {
			return projections.Page{}, fmt.Errorf("readstore/mongo: find in %s: %w", q.Collection, err)
		}
		for cur.Next(ctx) {
			var d projections.Doc
			var key any
			if p.BodyOnly {
				d, err = decodeBody(cur.Current)
				if err == nil && p.SortBy != "" {
					key, err = fieldOf(cur.Current, d.ID, p.SortBy)
				}
			} else {
				d, err = decode(rc.spec, cur.Current)
				key = d.Fields[p.SortBy]
			}
			if err != nil {
				cur.Close(ctx)
				return projections.Page{}, fmt.Errorf("readstore/mongo: find in %s: %w", q.Collection, err)
			}
			docs = append(docs, d)
			keys = append(keys, key)
		}
		err = cur.Err()
		cur.Close(ctx)
		if err != nil {
			return projections.Page{}, fmt.Errorf("readstore/mongo: find in %s: %w", q.Collection, err)
		}
		if len(docs) >= want {
			break
		}
	}
	page := projections.Page{Docs: docs}
	if len(docs) > p.Limit {
		page.Docs = docs[:p.Limit]
		page.Next = p.Next(page.Docs[p.Limit-1].ID, keys[p.Limit-1])
	}
	return page, nil
}

func gt(dir int) string {
	if dir < 0 {
		return "$lt"
	}
	return "$gt"
}

func gte(dir int) string {
	if dir < 0 {
		return "$lte"
	}
	return "$gte"
}

// bracket is the filter for one type bracket of the sort field, starting
// after the cursor when withCursor is set.
func bracket(field string, k kind, dir int, withCursor bool, after *rskit.Cursor) bson.D {
	if withCursor {
		if k == kNull {
			return bson.D{{Key: field, Value: nil}, {Key: fID, Value: bson.D{{Key: gt(dir), Value: after.ID}}}}
		}
		// The range on the field uses the index; the $or only sorts out
		// the ties at the cursor's own value.
		return bson.D{
			{Key: field, Value: bson.D{{Key: gte(dir), Value: after.Key}}},
			{Key: "$or", Value: bson.A{
				bson.D{{Key: field, Value: bson.D{{Key: gt(dir), Value: after.Key}}}},
				bson.D{{Key: fID, Value: bson.D{{Key: gt(dir), Value: after.ID}}}},
			}},
		}
	}
	switch k {
	case kNull:
		return bson.D{{Key: field, Value: nil}}
	case kNumber:
		return bson.D{{Key: field, Value: bson.D{{Key: "$gte", Value: int64(math.MinInt64)}}}}
	default:
		return bson.D{{Key: field, Value: bson.D{{Key: "$gte", Value: ""}}}}
	}
}
