package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/melaka-gov/ispeks/infra/readstore/internal/rskit"
	"github.com/melaka-gov/ispeks/projections"
)

// selectCols is the column list every read returns, in scan order.
func selectCols(sp rskit.Spec) string { return colList(sp.Fields) }

func colList(fields []string) string {
	var b strings.Builder
	b.WriteString("id, version, body")
	for _, f := range fields {
		b.WriteString(", " + col(f))
	}
	return b.String()
}

// shape is what a read selects: the field columns in scan order, and the
// fields every row has the same value of (an equality condition of the
// query), which need not be read per row.
type shape struct {
	fields []string
	fixed  []rskit.Cond
}

func fullShape(sp rskit.Spec) shape { return shape{fields: sp.Fields} }

// findShape leaves out the fields a Find's plan fixes by equality.
func findShape(p rskit.Plan) shape {
	var sh shape
	for _, f := range p.Spec.Fields {
		i := slices.IndexFunc(p.Where, func(c rskit.Cond) bool { return c.Field == f })
		switch {
		case i < 0:
			sh.fields = append(sh.fields, f)
		case p.Where[i].Value != nil: // an absent (nil) one stays absent
			sh.fixed = append(sh.fixed, p.Where[i])
		}
	}
	return sh
}

// scanDocs reads rows of colList(sh.fields).
func scanDocs(rows *sql.Rows, sh shape, into []projections.Doc) ([]projections.Doc, error) {
	defer rows.Close()
	vals := make([]any, len(sh.fields))
	var d projections.Doc
	var version int64
	var body []byte
	dest := make([]any, 0, 3+len(vals))
	dest = append(dest, &d.ID, &version, &body)
	for i := range vals {
		dest = append(dest, &vals[i])
	}
	for rows.Next() {
		d, body = projections.Doc{}, nil
		clear(vals)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		d.Version = uint64(version)
		d.Body = body
		d.Fields = make(map[string]any, len(vals)+len(sh.fixed))
		for _, c := range sh.fixed {
			d.Fields[c.Field] = c.Value
		}
		for i, v := range vals {
			switch x := v.(type) {
			case nil:
			case int64, string:
				d.Fields[sh.fields[i]] = x
			case []byte: // not written by this adapter, but keep it readable
				d.Fields[sh.fields[i]] = string(x)
			default:
				return nil, fmt.Errorf("field %q holds %T", sh.fields[i], v)
			}
		}
		into = append(into, d)
	}
	return into, rows.Err()
}

// Get returns one document.
func (s *Store) Get(ctx context.Context, collection, id string) (projections.Doc, bool, error) {
	if s.c.closed.Load() {
		return projections.Doc{}, false, errClosed
	}
	return s.get(ctx, nil, collection, id)
}

// get reads through the batch's transaction when b is set, else through the
// reader pool.
func (s *Store) get(ctx context.Context, b *batch, collection, id string) (projections.Doc, bool, error) {
	for attempt := 0; ; attempt++ {
		sp, err := s.spec(ctx, collection)
		if err != nil {
			return projections.Doc{}, false, err
		}
		if err := rskit.CheckID(collection, id); err != nil {
			return projections.Doc{}, false, err
		}
		q := "SELECT " + selectCols(sp) + " FROM " + table(collection, s.shadow) + " WHERE id = ?"
		docs, err := s.query(ctx, b, fullShape(sp), q, nil, id)
		if err != nil && attempt == 0 && staleSchema(err) {
			if err := s.c.reload(ctx); err != nil {
				return projections.Doc{}, false, err
			}
			continue
		}
		if err != nil {
			return projections.Doc{}, false, fmt.Errorf("readstore/sqlite: get %s/%s: %w", collection, id, err)
		}
		if len(docs) == 0 {
			return projections.Doc{}, false, nil
		}
		return docs[0], true, nil
	}
}

// query runs a read through the batch's transaction, or, outside a batch,
// on a pooled reader connection (rawQuery).
func (s *Store) query(ctx context.Context, b *batch, sh shape, q string, into []projections.Doc, args ...any) ([]projections.Doc, error) {
	if b == nil {
		// A read of a page takes a fraction of a millisecond: a cancelled
		// request is not worth interrupting, only not starting.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		nv, err := namedArgs(args)
		if err != nil {
			return nil, err
		}
		return s.c.rawQuery(ctx, sh, q, into, nv)
	}
	st, err := b.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	return scanDocs(rows, sh, into)
}

// Find returns one page of a query. A sort by a field runs as up to two
// index range scans, absent values (NULL) and present ones, in the order
// the direction puts them (absent first ascending, last descending, as in
// MongoDB); each scan seeks straight to the cursor, so a deep page costs
// the same as the first.
func (s *Store) Find(ctx context.Context, q projections.Query) (projections.Page, error) {
	if s.c.closed.Load() {
		return projections.Page{}, errClosed
	}
	need := make([]string, 0, len(q.Where)+1)
	for k := range q.Where {
		need = append(need, k)
	}
	need = append(need, q.SortBy)
	for attempt := 0; ; attempt++ {
		sp, err := s.spec(ctx, q.Collection, need...)
		if err != nil {
			return projections.Page{}, err
		}
		plan, err := rskit.PlanQuery(sp, q)
		if err != nil {
			return projections.Page{}, err
		}
		page, err := s.find(ctx, plan)
		if err != nil && attempt == 0 && staleSchema(err) {
			if err := s.c.reload(ctx); err != nil {
				return projections.Page{}, err
			}
			continue
		}
		if err != nil {
			return projections.Page{}, fmt.Errorf("readstore/sqlite: find in %s: %w", q.Collection, err)
		}
		return page, nil
	}
}

type segment int

const (
	segAll     segment = iota // sort by id: one scan
	segNull                   // sort field absent
	segPresent                // sort field present
	segBoth                   // both, first page: SQLite sorts NULL first, as MongoDB sorts absent values
)

func (s *Store) find(ctx context.Context, p rskit.Plan) (projections.Page, error) {
	var segs []segment
	switch {
	case p.SortBy == "":
		segs = []segment{segAll}
	case p.After == nil:
		// A first page needs no cursor condition, so one index scan
		// covers both segments in the order the direction puts them.
		segs = []segment{segBoth}
	case p.Desc:
		segs = []segment{segPresent, segNull}
	default:
		segs = []segment{segNull, segPresent}
	}
	// Skip the segments the cursor is already past.
	if p.After != nil && p.SortBy != "" {
		cur := segPresent
		if p.After.Key == nil {
			cur = segNull
		}
		for segs[0] != cur {
			segs = segs[1:]
		}
	}

	want := p.Limit + 1 // one more tells whether there is a next page
	sh := findShape(p)
	docs := make([]projections.Doc, 0, min(want, 128))
	for i, seg := range segs {
		q, args := buildFind(p, sh, s.shadow, seg, i == 0 && p.After != nil, want-len(docs))
		var err error
		docs, err = s.query(ctx, nil, sh, q, docs, args...)
		if err != nil {
			return projections.Page{}, err
		}
		if len(docs) >= want {
			break
		}
	}
	page := projections.Page{Docs: docs}
	if len(docs) > p.Limit {
		page.Docs = docs[:p.Limit]
		last := page.Docs[p.Limit-1]
		page.Next = p.Next(last.ID, last.Fields[p.SortBy])
	}
	return page, nil
}

func buildFind(p rskit.Plan, sh shape, shadow bool, seg segment, withCursor bool, limit int) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, len(p.Where)+3)
	b.WriteString("SELECT " + colList(sh.fields) + " FROM " + table(p.Spec.Name, shadow) + " WHERE 1")
	for _, c := range p.Where {
		if c.Value == nil {
			b.WriteString(" AND " + col(c.Field) + " IS NULL")
			continue
		}
		b.WriteString(" AND " + col(c.Field) + " = ?")
		args = append(args, c.Value)
	}
	cmp, dir := ">", "ASC"
	if p.Desc {
		cmp, dir = "<", "DESC"
	}
	switch seg {
	case segAll:
		if withCursor {
			b.WriteString(" AND id " + cmp + " ?")
			args = append(args, p.After.ID)
		}
		b.WriteString(" ORDER BY id " + dir)
	case segBoth:
		b.WriteString(" ORDER BY " + col(p.SortBy) + " " + dir + ", id " + dir)
	case segNull:
		b.WriteString(" AND " + col(p.SortBy) + " IS NULL")
		if withCursor {
			b.WriteString(" AND id " + cmp + " ?")
			args = append(args, p.After.ID)
		}
		b.WriteString(" ORDER BY " + col(p.SortBy) + " " + dir + ", id " + dir)
	case segPresent:
		b.WriteString(" AND " + col(p.SortBy) + " IS NOT NULL")
		if withCursor {
			b.WriteString(" AND (" + col(p.SortBy) + ", id) " + cmp + " (?, ?)")
			args = append(args, p.After.Key, p.After.ID)
		}
		b.WriteString(" ORDER BY " + col(p.SortBy) + " " + dir + ", id " + dir)
	}
	b.WriteString(" LIMIT ?")
	args = append(args, limit)
	return b.String(), args
}
