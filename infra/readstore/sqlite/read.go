package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
	"strings"

	"github.com/melaka-gov/ispeks/infra/readstore/internal/rskit"
	"github.com/melaka-gov/ispeks/projections"
)

// selectCols is the column list every read returns, in scan order.
func selectCols(sp rskit.Spec) string { return colList(fullShape(sp)) }

// colList is the columns a read of shape sh selects: id, version (unless
// lean), body, then sh's fields.
func colList(sh shape) string {
	var b strings.Builder
	if sh.lean {
		b.WriteString("id, body")
	} else {
		b.WriteString("id, version, body")
	}
	for _, f := range sh.fields {
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
	// lean reads id and body alone besides fields, and builds no Fields
	// (Query.BodyOnly); fields is then at most the sort field.
	lean bool
	// key is the index in fields of the sort field, whose value of each
	// row a read keeps in found.keys (-1: none kept).
	key int
}

// base is the number of columns before the fields.
func (sh shape) base() int {
	if sh.lean {
		return 2
	}
	return 3
}

func fullShape(sp rskit.Spec) shape { return shape{fields: sp.Fields, key: -1} }

// findShape leaves out the fields a Find's plan fixes by equality, and all
// but the sort field for a BodyOnly query.
func findShape(p rskit.Plan) shape {
	sh := shape{lean: p.BodyOnly, key: -1}
	for _, f := range p.Spec.Fields {
		i := slices.IndexFunc(p.Where, func(c rskit.Cond) bool { return c.Field == f })
		switch {
		case i < 0:
			if f == p.SortBy {
				sh.key = len(sh.fields)
			} else if p.BodyOnly {
				continue
			}
			sh.fields = append(sh.fields, f)
		case p.Where[i].Value != nil: // an absent (nil) one stays absent
			sh.fixed = append(sh.fixed, p.Where[i])
		}
	}
	return sh
}

// found is what a read collects: the documents and, when its shape keeps
// the sort field (shape.key), each one's value of it (nil: absent), which
// a lean document does not carry in Fields.
type found struct {
	docs []projections.Doc
	keys []any
}

// fieldValue checks a field column's value: nil (absent), an integer or
// a string.
func fieldValue(f string, v any) (any, error) {
	switch x := v.(type) {
	case nil, int64, string:
		return x, nil
	case []byte: // not written by this adapter, but keep it readable
		return string(x), nil
	}
	return nil, fmt.Errorf("field %q holds %T", f, v)
}

// scanDocs reads rows of colList(sh) of a full (not lean) shape.
func scanDocs(rows *sql.Rows, sh shape, into *found) error {
	defer rows.Close()
	if sh.lean {
		return fmt.Errorf("lean read in a batch") // find never reads through a batch
	}
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
			return err
		}
		d.Version = uint64(version)
		d.Body = body
		d.Fields = make(map[string]any, len(vals)+len(sh.fixed))
		for _, c := range sh.fixed {
			d.Fields[c.Field] = c.Value
		}
		for i, v := range vals {
			x, err := fieldValue(sh.fields[i], v)
			if err != nil {
				return err
			}
			if x != nil {
				d.Fields[sh.fields[i]] = x
			}
		}
		if sh.key >= 0 {
			into.keys = append(into.keys, d.Fields[sh.fields[sh.key]])
		}
		into.docs = append(into.docs, d)
	}
	return rows.Err()
}

// Get returns one document.
func (s *Store) Get(ctx context.Context, collection, id string) (projections.Doc, bool, error) {
	if !s.c.reads.Enter() {
		return projections.Doc{}, false, errClosed
	}
	defer s.c.reads.Leave()
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
		var f found
		err = s.query(ctx, b, fullShape(sp), q, &f, id)
		if err != nil && attempt == 0 && staleSchema(err) {
			if err := s.c.reload(ctx); err != nil {
				return projections.Doc{}, false, err
			}
			continue
		}
		if err != nil {
			return projections.Doc{}, false, fmt.Errorf("readstore/sqlite: get %s/%s: %w", collection, id, err)
		}
		if len(f.docs) == 0 {
			return projections.Doc{}, false, nil
		}
		return f.docs[0], true, nil
	}
}

// query runs a read through the batch's transaction, or, outside a batch,
// on a pooled reader connection (rawQuery), and appends its rows to into.
func (s *Store) query(ctx context.Context, b *batch, sh shape, q string, into *found, args ...any) error {
	if b == nil {
		// A read of a page takes a fraction of a millisecond: a cancelled
		// request is not worth interrupting, only not starting.
		if err := ctx.Err(); err != nil {
			return err
		}
		nv, err := namedArgs(args)
		if err != nil {
			return err
		}
		return s.c.rawQuery(ctx, sh, q, into, nv)
	}
	st, err := b.stmt(ctx, q)
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	return scanDocs(rows, sh, into)
}

// Find returns one page of a query. A sort by a field runs as up to two
// index range scans, absent values (NULL) and present ones, in the order
// the direction puts them (absent first ascending, last descending, as in
// MongoDB); each scan seeks straight to the cursor, so a deep page costs
// the same as the first.
func (s *Store) Find(ctx context.Context, q projections.Query) (projections.Page, error) {
	if !s.c.reads.Enter() {
		return projections.Page{}, errClosed
	}
	defer s.c.reads.Leave()
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
	case p.After == nil && (p.Bound == nil || p.Desc):
		// A first page needs no cursor condition, so one index scan
		// covers both segments in the order the direction puts them (a
		// descending bound leaves the absent values out by itself).
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
	// Absent values sort after every value descending: outside a bound.
	if p.Bound != nil && p.Desc && segs[len(segs)-1] == segNull {
		segs = segs[:len(segs)-1]
	}

	want := p.Limit + 1 // one more tells whether there is a next page
	sh := findShape(p)
	f := found{docs: make([]projections.Doc, 0, min(want, 128))}
	if sh.key >= 0 {
		f.keys = make([]any, 0, min(want, 128))
	}
	mid := middleFields(p)
	for i, seg := range segs {
		var err error
		if len(mid) > 0 && sh.key >= 0 && (seg == segBoth || seg == segPresent) {
			q, args := buildFind(p, sh, s.shadow, seg, i == 0 && p.After != nil, -1, mid)
			err = s.queryGroups(ctx, sh, q, &f, args, want-len(f.docs), p.Desc)
		} else {
			q, args := buildFind(p, sh, s.shadow, seg, i == 0 && p.After != nil, want-len(f.docs), nil)
			err = s.query(ctx, nil, sh, q, &f, args...)
		}
		if err != nil {
			return projections.Page{}, err
		}
		if len(f.docs) >= want {
			break
		}
	}
	page := projections.Page{Docs: f.docs}
	if len(f.docs) > p.Limit {
		page.Docs = f.docs[:p.Limit]
		var key any // the sort field fixed by equality, or absent
		if sh.key >= 0 {
			key = f.keys[p.Limit-1]
		} else if i := slices.IndexFunc(p.Where, func(c rskit.Cond) bool { return c.Field == p.SortBy }); i >= 0 {
			key = p.Where[i].Value
		}
		page.Next = p.Next(page.Docs[p.Limit-1].ID, key)
	}
	return page, nil
}

// middleFields are the fields a compound index holds between the sort
// field and id, when the query fixes every field before the sort field by
// equality: that index then returns rows in the order (sort, middle
// fields, id), and ordering by (sort, id) alone costs SQLite a temporary
// B-tree per query to re-sort each run of equal sort values (the
// statement lists: payee_ic+type+period_end+year, sorted by period_end).
// Such a query asks for the index's order instead and re-sorts those runs
// by id itself (queryGroups).
func middleFields(p rskit.Plan) []string {
	if p.SortBy == "" {
		return nil
	}
	for _, c := range p.Spec.Compounds {
		k := slices.Index(c, p.SortBy)
		if k < 0 || k == len(c)-1 {
			continue
		}
		fixed := true
		for _, f := range c[:k] {
			if !slices.ContainsFunc(p.Where, func(w rskit.Cond) bool { return w.Field == f }) {
				fixed = false
				break
			}
		}
		if fixed {
			return c[k+1:]
		}
	}
	return nil
}

// queryGroups runs q, whose rows come ordered by the sort field (column
// sh.key of sh) and then by other columns, and appends the first want of
// them in the order (sort field, id): it reads until want rows are in and
// the run of equal sort values the last one belongs to has ended, then
// sorts each run by id.
func (s *Store) queryGroups(ctx context.Context, sh shape, q string, into *found, args []any, want int, desc bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	nv, err := namedArgs(args)
	if err != nil {
		return err
	}
	base := len(into.docs)
	col := sh.base() + sh.key
	stop := func(f *found, next []driver.Value) bool {
		n := len(f.docs) - base
		return n >= want && !sameValue(f.keys[len(f.keys)-1], next[col])
	}
	if err := s.c.rawQueryUntil(ctx, sh, q, into, nv, stop); err != nil {
		return err
	}
	got, keys := into.docs[base:], into.keys[base:]
	for i := 0; i < len(got); {
		j := i + 1
		for j < len(got) && sameValue(keys[j], keys[i]) {
			j++
		}
		// The run's keys are equal: only its documents move.
		slices.SortFunc(got[i:j], func(a, b projections.Doc) int {
			if desc {
				return strings.Compare(b.ID, a.ID)
			}
			return strings.Compare(a.ID, b.ID)
		})
		i = j
	}
	n := base + min(len(got), want)
	into.docs, into.keys = into.docs[:n], into.keys[:n]
	return nil
}

// sameValue compares field values as SQLite's index groups them (nil is
// an absent value; a []byte column reads as its string).
func sameValue(a, b any) bool {
	if x, ok := b.([]byte); ok {
		b = string(x)
	}
	return a == b
}

// buildFind builds a page's query; limit < 0 leaves out the LIMIT, and mid
// lists fields to order by between the sort field and id (middleFields).
// It runs for every page read, so it writes the text piece by piece into
// one buffer rather than concatenating strings.
func buildFind(p rskit.Plan, sh shape, shadow bool, seg segment, withCursor bool, limit int, mid []string) (string, []any) {
	var b strings.Builder
	b.Grow(256)
	w := func(parts ...string) {
		for _, s := range parts {
			b.WriteString(s)
		}
	}
	// f writes a field's column ("f_name", quoted).
	f := func(field string) { w(`"f_`, field, `"`) }
	args := make([]any, 0, len(p.Where)+3)
	w("SELECT id, ")
	if !sh.lean {
		w("version, ")
	}
	w("body")
	for _, x := range sh.fields {
		w(", ")
		f(x)
	}
	w(" FROM ", table(p.Spec.Name, shadow), " WHERE 1")
	for _, c := range p.Where {
		w(" AND ")
		f(c.Field)
		if c.Value == nil {
			w(" IS NULL")
			continue
		}
		w(" = ?")
		args = append(args, c.Value)
	}
	cmp, dir := ">", " ASC"
	if p.Desc {
		cmp, dir = "<", " DESC"
	}
	// A bound on the sort field, for the segments of present values (an
	// absent one is below every bound: find leaves segNull out of a
	// descending bound and keeps it whole in an ascending one). SQLite
	// orders integers before text, as the sort does, so one comparison
	// serves both kinds of bound.
	if p.Bound != nil && (seg == segBoth || seg == segPresent) {
		w(" AND ")
		f(p.SortBy)
		if p.Desc {
			w(" >= ?")
		} else {
			w(" <= ?")
		}
		args = append(args, p.Bound)
	}
	orderBy := func() {
		w(" ORDER BY ")
		f(p.SortBy)
		w(dir)
		for _, x := range mid {
			w(", ")
			f(x)
			w(dir)
		}
		w(", id", dir)
	}
	switch seg {
	case segAll:
		if withCursor {
			w(" AND id ", cmp, " ?")
			args = append(args, p.After.ID)
		}
		w(" ORDER BY id", dir)
	case segBoth:
		orderBy()
	case segNull:
		w(" AND ")
		f(p.SortBy)
		w(" IS NULL")
		if withCursor {
			w(" AND id ", cmp, " ?")
			args = append(args, p.After.ID)
		}
		orderBy()
	case segPresent:
		w(" AND ")
		f(p.SortBy)
		w(" IS NOT NULL")
		if withCursor {
			w(" AND (")
			f(p.SortBy)
			w(", id) ", cmp, " (?, ?)")
			args = append(args, p.After.Key, p.After.ID)
		}
		orderBy()
	}
	if limit >= 0 {
		w(" LIMIT ?")
		args = append(args, limit)
	}
	return b.String(), args
}
