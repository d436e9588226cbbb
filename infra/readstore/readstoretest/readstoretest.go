// Package readstoretest is the one contract suite every read-store adapter
// (projections.ReadStore) passes.
package readstoretest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/projections"
)

// Open returns a store for a test. Calls with the same t must return stores
// over the same data (the suite uses this to reopen a store and to run a
// second instance beside the first, as a second process would); calls with
// different t must not share data. The suite closes every store it opens;
// Close must tolerate being called twice.
type Open func(t *testing.T) projections.ReadStore

// Run runs the contract suite.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Open)
	}{
		{"PutGet", testPutGet},
		{"BodyRoundtrip", testBodyRoundtrip},
		{"PutIfNewer", testPutIfNewer},
		{"Delete", testDelete},
		{"StalePutDoesNotBlockOthers", testStalePutDoesNotBlockOthers},
		{"DeleteThenOlderPutInLaterBatch", testDeleteThenOlderPut},
		{"FindEquality", testFindEquality},
		{"SortTiesByID", testSort},
		{"Pagination", testPagination},
		{"CompoundIndex", testCompound},
		{"Bound", testBound},
		{"BodyOnly", testBodyOnly},
		{"ErrUnknownCollection", testUnknownCollection},
		{"ErrUnindexedField", testUnindexed},
		{"ErrBadCursor", testBadCursor},
		{"InvalidInput", testInvalidInput},
		{"BatchAtomicity", testBatchAtomicity},
		{"BatchGetSeesOwnWrites", testBatchGet},
		{"Checkpoints", testCheckpoints},
		{"EnsureIsAdditive", testEnsureAdditive},
		{"RebuildShadowInvisible", testRebuildInvisible},
		{"RebuildSwap", testRebuildSwap},
		{"RebuildSeenByOtherInstance", testRebuildOtherInstance},
		{"RebuildDropsUndeclared", testRebuildDropsUndeclared},
		{"DropShadows", testDropShadows},
		{"Reopen", testReopen},
		{"ConcurrentReadersAndWriter", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// ---- helpers ----

var staff = projections.CollectionSpec{Name: "staff", Indexes: []string{"dept", "grade", "name"}}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func opened(t *testing.T, open Open, specs ...projections.CollectionSpec) projections.ReadStore {
	t.Helper()
	s := open(t)
	t.Cleanup(func() { _ = s.Close() })
	if len(specs) > 0 {
		if err := s.Ensure(ctxFor(t), specs...); err != nil {
			t.Fatalf("Ensure: %v", err)
		}
	}
	return s
}

func doc(id string, v uint64, fields map[string]any, body string) projections.Doc {
	return projections.Doc{ID: id, Version: v, Fields: fields, Body: json.RawMessage(body)}
}

func put(t *testing.T, s projections.ReadStore, collection string, docs ...projections.Doc) {
	t.Helper()
	putCP(t, s, "seed", 0, collection, docs...)
}

func putCP(t *testing.T, s projections.ReadStore, projector string, cp uint64, collection string, docs ...projections.Doc) {
	t.Helper()
	err := s.Write(ctxFor(t), projector, cp, func(b projections.Batch) error {
		for _, d := range docs {
			if err := b.Put(ctxFor(t), collection, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func get(t *testing.T, r projections.Reader, collection, id string) (projections.Doc, bool) {
	t.Helper()
	d, ok, err := r.Get(ctxFor(t), collection, id)
	if err != nil {
		t.Fatalf("Get(%s, %s): %v", collection, id, err)
	}
	return d, ok
}

func mustGet(t *testing.T, r projections.Reader, collection, id string) projections.Doc {
	t.Helper()
	d, ok := get(t, r, collection, id)
	if !ok {
		t.Fatalf("Get(%s, %s): not found", collection, id)
	}
	return d
}

func checkpoint(t *testing.T, s projections.ReadStore, projector string) uint64 {
	t.Helper()
	cp, err := s.Checkpoint(ctxFor(t), projector)
	if err != nil {
		t.Fatalf("Checkpoint(%s): %v", projector, err)
	}
	return cp
}

func find(t *testing.T, r projections.Reader, q projections.Query) projections.Page {
	t.Helper()
	p, err := r.Find(ctxFor(t), q)
	if err != nil {
		t.Fatalf("Find(%+v): %v", q, err)
	}
	return p
}

// findAll follows Next until the last page and fails on a page that is
// over the limit, or a cursor loop.
func findAll(t *testing.T, r projections.Reader, q projections.Query) []string {
	t.Helper()
	var ids []string
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatalf("Find(%+v): more than 10000 pages, the cursor does not advance", q)
		}
		p := find(t, r, q)
		if q.Limit > 0 && len(p.Docs) > q.Limit {
			t.Fatalf("Find: page of %d docs over limit %d", len(p.Docs), q.Limit)
		}
		for _, d := range p.Docs {
			ids = append(ids, d.ID)
		}
		if p.Next == "" {
			return ids
		}
		if len(p.Docs) == 0 {
			t.Fatalf("Find: empty page with a Next cursor")
		}
		q.After = p.Next
	}
}

func ids(p projections.Page) []string {
	out := make([]string, len(p.Docs))
	for i, d := range p.Docs {
		out[i] = d.ID
	}
	return out
}

func equalIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// eventually polls cond for up to 10 s: a second instance of a store may
// learn of another instance's rebuild swap a moment later.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after 10 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---- tests ----

func testPutGet(t *testing.T, open Open) {
	s := opened(t, open, staff)
	put(t, s, "staff", doc("s1", 3, map[string]any{"dept": "JKN", "grade": 41, "name": "Aminah"}, `{"name":"Aminah","grade":41}`))

	d := mustGet(t, s, "staff", "s1")
	if d.ID != "s1" || d.Version != 3 || string(d.Body) != `{"name":"Aminah","grade":41}` {
		t.Fatalf("Get = %+v (body %s)", d, d.Body)
	}
	want := map[string]any{"dept": "JKN", "grade": int64(41), "name": "Aminah"}
	if fmt.Sprint(d.Fields) != fmt.Sprint(want) {
		t.Fatalf("Fields = %#v, want %#v (ints come back as int64)", d.Fields, want)
	}
	for k, v := range d.Fields {
		if fmt.Sprintf("%T", v) != fmt.Sprintf("%T", want[k]) {
			t.Fatalf("Fields[%s] is %T, want %T", k, v, want[k])
		}
	}
	if _, ok := get(t, s, "staff", "nobody"); ok {
		t.Fatal("Get of a missing id found something")
	}

	// A field left out of Fields is absent, not zero.
	put(t, s, "staff", doc("s2", 1, map[string]any{"dept": "JKN"}, `{}`))
	d2 := mustGet(t, s, "staff", "s2")
	if len(d2.Fields) != 1 || d2.Fields["dept"] != "JKN" {
		t.Fatalf("Fields of a doc with only dept = %#v", d2.Fields)
	}
	if err := s.Ping(ctxFor(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testBodyRoundtrip(t *testing.T, open Open) {
	s := opened(t, open, staff)
	bodies := []string{
		`{"b":1,"a":2}`,
		"{ \"spaced\" :\t[1, 2.50, 1e3],\n \"big\": 123456789012345678901234567890 }",
		`{"ms":"Pegawai Kewangan – Ç é \u00e9 日本","esc":"a\"b\\c\u0000"}`,
		`[1,"two",null,true]`,
		`"just a string"`,
		`12.0`,
		`{"nested":{"deep":{"deeper":[{},[],{"x":null}]}}}`,
	}
	for i, b := range bodies {
		put(t, s, "staff", doc(fmt.Sprintf("b%d", i), 1, nil, b))
	}
	for i, b := range bodies {
		got := mustGet(t, s, "staff", fmt.Sprintf("b%d", i))
		if string(got.Body) != b {
			t.Errorf("body %d:\n got  %s\n want %s", i, got.Body, b)
		}
	}
	// Find returns the same bytes as Get.
	for _, d := range find(t, s, projections.Query{Collection: "staff"}).Docs {
		var i int
		fmt.Sscanf(d.ID, "b%d", &i)
		if string(d.Body) != bodies[i] {
			t.Errorf("Find body of %s:\n got  %s\n want %s", d.ID, d.Body, bodies[i])
		}
	}
	// IDs are opaque strings: spaces, slashes, unicode, dots and dollars.
	for _, id := range []string{"a b", "x/y:z", "Ünï-côdé", "$dollar", "dot.ted", strings.Repeat("z", 200)} {
		put(t, s, "staff", doc(id, 1, map[string]any{"dept": id}, `{}`))
		if d := mustGet(t, s, "staff", id); d.ID != id || d.Fields["dept"] != id {
			t.Errorf("id %q came back as %+v", id, d)
		}
	}
}

func testPutIfNewer(t *testing.T, open Open) {
	s := opened(t, open, staff)
	put(t, s, "staff", doc("p", 5, map[string]any{"dept": "A"}, `{"v":5}`))

	put(t, s, "staff", doc("p", 4, map[string]any{"dept": "old"}, `{"v":4}`))
	if d := mustGet(t, s, "staff", "p"); d.Version != 5 || string(d.Body) != `{"v":5}` || d.Fields["dept"] != "A" {
		t.Fatalf("older put applied: %+v %s", d, d.Body)
	}
	put(t, s, "staff", doc("p", 5, map[string]any{"dept": "same"}, `{"v":"5 again"}`))
	if d := mustGet(t, s, "staff", "p"); string(d.Body) != `{"v":5}` || d.Fields["dept"] != "A" {
		t.Fatalf("equal-version put applied: %+v %s", d, d.Body)
	}
	if p := find(t, s, projections.Query{Collection: "staff", Where: map[string]any{"dept": "old"}}); len(p.Docs) != 0 {
		t.Fatalf("ignored put is findable by its fields: %q", ids(p))
	}
	put(t, s, "staff", doc("p", 6, map[string]any{"grade": 9}, `{"v":6}`))
	d := mustGet(t, s, "staff", "p")
	if d.Version != 6 || string(d.Body) != `{"v":6}` {
		t.Fatalf("newer put not applied: %+v %s", d, d.Body)
	}
	// A newer put replaces the whole document: dept is gone.
	if _, has := d.Fields["dept"]; has || d.Fields["grade"] != int64(9) {
		t.Fatalf("newer put kept old fields: %#v", d.Fields)
	}
	if p := find(t, s, projections.Query{Collection: "staff", Where: map[string]any{"dept": "A"}}); len(p.Docs) != 0 {
		t.Fatalf("replaced field still findable: %q", ids(p))
	}

	// Delivering the same batch twice leaves the same state.
	batch := []projections.Doc{
		doc("q1", 1, map[string]any{"dept": "B"}, `{"n":1}`),
		doc("q1", 2, map[string]any{"dept": "C"}, `{"n":2}`),
		doc("q2", 1, map[string]any{"dept": "B"}, `{"n":1}`),
	}
	put(t, s, "staff", batch...)
	put(t, s, "staff", batch...)
	put(t, s, "staff", batch[0])
	if d := mustGet(t, s, "staff", "q1"); d.Version != 2 || string(d.Body) != `{"n":2}` {
		t.Fatalf("replayed batch changed q1: %+v %s", d, d.Body)
	}
	equalIDs(t, "dept B after replays", ids(find(t, s, projections.Query{Collection: "staff", Where: map[string]any{"dept": "B"}})), []string{"q2"})

	// Version 0 is a version like any other: it creates, and nothing older exists.
	put(t, s, "staff", doc("z", 0, nil, `{"z":0}`))
	put(t, s, "staff", doc("z", 0, nil, `{"z":"again"}`))
	if d := mustGet(t, s, "staff", "z"); d.Version != 0 || string(d.Body) != `{"z":0}` {
		t.Fatalf("version 0: %+v %s", d, d.Body)
	}
}

func testDelete(t *testing.T, open Open) {
	s := opened(t, open, staff)
	put(t, s, "staff", doc("d1", 7, map[string]any{"dept": "X"}, `{}`), doc("d2", 1, map[string]any{"dept": "X"}, `{}`))
	err := s.Write(ctxFor(t), "seed", 0, func(b projections.Batch) error {
		if err := b.Delete(ctxFor(t), "staff", "d1"); err != nil {
			return err
		}
		return b.Delete(ctxFor(t), "staff", "never-existed")
	})
	if err != nil {
		t.Fatalf("Write with deletes: %v", err)
	}
	if _, ok := get(t, s, "staff", "d1"); ok {
		t.Fatal("deleted doc still there")
	}
	equalIDs(t, "dept X after delete", ids(find(t, s, projections.Query{Collection: "staff", Where: map[string]any{"dept": "X"}})), []string{"d2"})
	// Once deleted, any version may create it again.
	put(t, s, "staff", doc("d1", 2, map[string]any{"dept": "Y"}, `{"again":true}`))
	if d := mustGet(t, s, "staff", "d1"); d.Version != 2 || string(d.Body) != `{"again":true}` {
		t.Fatalf("re-created doc = %+v %s", d, d.Body)
	}
}

func seedStaff(t *testing.T, s projections.ReadStore) {
	put(t, s, "staff",
		doc("a", 1, map[string]any{"dept": "JKN", "grade": 41, "name": "Aminah"}, `{}`),
		doc("b", 1, map[string]any{"dept": "JKN", "grade": 44, "name": "Badrul"}, `{}`),
		doc("c", 1, map[string]any{"dept": "JPN", "grade": 41, "name": "Chong"}, `{}`),
		doc("d", 1, map[string]any{"dept": "JKN", "grade": 41, "name": "Devi"}, `{}`),
		doc("e", 1, map[string]any{"dept": "JPN", "grade": 52}, `{}`),
		doc("f", 1, map[string]any{"grade": 41, "name": "Farid"}, `{}`),
	)
}

func testFindEquality(t *testing.T, open Open) {
	s := opened(t, open, staff)
	seedStaff(t, s)
	q := func(where map[string]any) []string {
		return ids(find(t, s, projections.Query{Collection: "staff", Where: where}))
	}
	equalIDs(t, "dept=JKN", q(map[string]any{"dept": "JKN"}), []string{"a", "b", "d"})
	equalIDs(t, "grade=41", q(map[string]any{"grade": 41}), []string{"a", "c", "d", "f"})
	equalIDs(t, "grade=int64(41)", q(map[string]any{"grade": int64(41)}), []string{"a", "c", "d", "f"})
	equalIDs(t, "dept=JKN grade=41", q(map[string]any{"dept": "JKN", "grade": 41}), []string{"a", "d"})
	equalIDs(t, "dept=JPN grade=41", q(map[string]any{"dept": "JPN", "grade": 41}), []string{"c"})
	equalIDs(t, "dept=none", q(map[string]any{"dept": "none"}), nil)
	equalIDs(t, "grade as string matches nothing", q(map[string]any{"grade": "41"}), nil)
	equalIDs(t, "dept absent (nil)", q(map[string]any{"dept": nil}), []string{"f"})
	equalIDs(t, "name absent and dept=JPN", q(map[string]any{"name": nil, "dept": "JPN"}), []string{"e"})
	equalIDs(t, "no filter", q(nil), []string{"a", "b", "c", "d", "e", "f"})

	// Returned docs carry version, fields and body.
	p := find(t, s, projections.Query{Collection: "staff", Where: map[string]any{"name": "Chong"}})
	if len(p.Docs) != 1 || p.Docs[0].Version != 1 || p.Docs[0].Fields["grade"] != int64(41) || string(p.Docs[0].Body) != `{}` || p.Next != "" {
		t.Fatalf("Find name=Chong = %+v", p)
	}
}

func testSort(t *testing.T, open Open) {
	s := opened(t, open, staff)
	seedStaff(t, s)
	q := func(sortBy string, desc bool, where map[string]any) []string {
		return ids(find(t, s, projections.Query{Collection: "staff", SortBy: sortBy, Desc: desc, Where: where}))
	}
	equalIDs(t, "by id", q("", false, nil), []string{"a", "b", "c", "d", "e", "f"})
	equalIDs(t, "by id desc", q("", true, nil), []string{"f", "e", "d", "c", "b", "a"})
	// Ties by id, in the same direction as the sort.
	equalIDs(t, "grade asc", q("grade", false, nil), []string{"a", "c", "d", "f", "b", "e"})
	equalIDs(t, "grade desc", q("grade", true, nil), []string{"e", "b", "f", "d", "c", "a"})
	// Absent values sort first ascending and last descending.
	equalIDs(t, "dept asc", q("dept", false, nil), []string{"f", "a", "b", "d", "c", "e"})
	equalIDs(t, "dept desc", q("dept", true, nil), []string{"e", "c", "d", "b", "a", "f"})
	equalIDs(t, "name asc", q("name", false, nil), []string{"e", "a", "b", "c", "d", "f"})
	equalIDs(t, "grade=41 by name desc", q("name", true, map[string]any{"grade": 41}), []string{"f", "d", "c", "a"})
	equalIDs(t, "dept=JKN by grade desc", q("grade", true, map[string]any{"dept": "JKN"}), []string{"b", "d", "a"})
	// Strings compare by bytes, not by locale.
	put(t, s, "staff", doc("u1", 1, map[string]any{"name": "zaki"}, `{}`), doc("u2", 1, map[string]any{"name": "Zaki"}, `{}`), doc("u3", 1, map[string]any{"name": "Élan"}, `{}`))
	equalIDs(t, "byte order", q("name", false, map[string]any{"dept": nil, "grade": nil}), []string{"u2", "u1", "u3"})
	// Integers compare as numbers, negatives included.
	put(t, s, "staff", doc("n1", 1, map[string]any{"dept": "N", "grade": 10}, `{}`), doc("n2", 1, map[string]any{"dept": "N", "grade": 9}, `{}`), doc("n3", 1, map[string]any{"dept": "N", "grade": -100}, `{}`), doc("n4", 1, map[string]any{"dept": "N", "grade": int64(1) << 53}, `{}`), doc("n5", 1, map[string]any{"dept": "N", "grade": int64(1)<<53 + 1}, `{}`))
	equalIDs(t, "numeric order", q("grade", false, map[string]any{"dept": "N"}), []string{"n3", "n2", "n1", "n4", "n5"})
}

// model is the expected order of a query, computed here from the docs.
type row struct {
	id  string
	key any // nil, int64 or string
}

// sortedIDs are the rows' IDs in the order a sorted Find returns them.
func sortedIDs(rows []row, desc bool) []string {
	slices.SortFunc(rows, func(a, b row) int {
		if less(a, b, desc) {
			return -1
		}
		return 1
	})
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.id
	}
	return out
}

func less(a, b row, desc bool) bool {
	rank := func(v any) int {
		switch v.(type) {
		case nil:
			return 0
		case int64:
			return 1
		default:
			return 2
		}
	}
	c := 0
	switch {
	case rank(a.key) != rank(b.key):
		c = rank(a.key) - rank(b.key)
	case rank(a.key) == 1:
		c = cmpInt(a.key.(int64), b.key.(int64))
	case rank(a.key) == 2:
		c = strings.Compare(a.key.(string), b.key.(string))
	}
	if c == 0 {
		c = strings.Compare(a.id, b.id)
	}
	if desc {
		return c > 0
	}
	return c < 0
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testPagination(t *testing.T, open Open) {
	s := opened(t, open, staff)
	const n = 100 // ids are a permutation: gcd(37, n) = 1
	var docs []projections.Doc
	type fields struct {
		dept  any
		grade any
		name  any
	}
	all := map[string]fields{}
	for i := range n {
		id := fmt.Sprintf("id%03d", (i*37)%n) // inserted out of id order
		f := fields{dept: []string{"JKN", "JPN", "JAS"}[i%3], grade: int64(40 + i%5)}
		if i%7 != 0 {
			f.name = fmt.Sprintf("n%02d", i%20) // many ties, some absent
		}
		all[id] = f
		m := map[string]any{"dept": f.dept, "grade": f.grade}
		if f.name != nil {
			m["name"] = f.name
		}
		docs = append(docs, doc(id, uint64(i+1), m, fmt.Sprintf(`{"i":%d}`, i)))
	}
	// Several writes, as a projector would.
	for i := 0; i < n; i += 50 {
		put(t, s, "staff", docs[i:min(i+50, n)]...)
	}

	expect := func(sortBy string, desc bool, where func(fields) bool) []string {
		var rows []row
		for id, f := range all {
			if where != nil && !where(f) {
				continue
			}
			r := row{id: id}
			switch sortBy {
			case "dept":
				r.key = f.dept
			case "grade":
				r.key = f.grade
			case "name":
				r.key = f.name
			}
			rows = append(rows, r)
		}
		return sortedIDs(rows, desc)
	}
	cases := []struct {
		name   string
		q      projections.Query
		filter func(fields) bool
	}{
		{"by id", projections.Query{}, nil},
		{"by id desc", projections.Query{Desc: true}, nil},
		{"grade asc", projections.Query{SortBy: "grade"}, nil},
		{"grade desc", projections.Query{SortBy: "grade", Desc: true}, nil},
		{"name asc (absent first)", projections.Query{SortBy: "name"}, nil},
		{"name desc (absent last)", projections.Query{SortBy: "name", Desc: true}, nil},
		{"dept=JPN by name", projections.Query{SortBy: "name", Where: map[string]any{"dept": "JPN"}}, func(f fields) bool { return f.dept == "JPN" }},
		{"dept=JAS grade=42 by name desc", projections.Query{SortBy: "name", Desc: true, Where: map[string]any{"dept": "JAS", "grade": 42}}, func(f fields) bool { return f.dept == "JAS" && f.grade == int64(42) }},
		{"name absent by grade desc", projections.Query{SortBy: "grade", Desc: true, Where: map[string]any{"name": nil}}, func(f fields) bool { return f.name == nil }},
	}
	for i, c := range cases {
		want := expect(c.q.SortBy, c.q.Desc, c.filter)
		limits := []int{7, 30, 1000}
		if i%3 == 0 {
			// Pages of one doc cost a query each; a few cases suffice.
			limits = append(limits, 1)
		}
		for _, limit := range limits {
			q := c.q
			q.Collection = "staff"
			q.Limit = limit
			got := findAll(t, s, q)
			equalIDs(t, fmt.Sprintf("%s limit %d", c.name, limit), got, want)
		}
	}

	// A page exactly at the end has no Next; the default limit applies.
	p := find(t, s, projections.Query{Collection: "staff", Limit: n})
	if len(p.Docs) != n || p.Next != "" {
		t.Fatalf("one page of all %d: %d docs, Next %q", n, len(p.Docs), p.Next)
	}
	if p := find(t, s, projections.Query{Collection: "staff"}); len(p.Docs) == 0 || len(p.Docs) > 1000 || p.Next == "" {
		t.Fatalf("default limit: %d docs, Next %q", len(p.Docs), p.Next)
	}

	// A cursor stays valid while documents change: a doc inserted before
	// the cursor is not seen, one after it is, and nothing repeats.
	q := projections.Query{Collection: "staff", Limit: 10}
	first := find(t, s, q)
	put(t, s, "staff", doc("id000a", 1, nil, `{}`), doc("zzz", 1, nil, `{}`))
	q.After = first.Next
	rest := findAll(t, s, q)
	if slices.Contains(rest, "id000a") || !slices.Contains(rest, "zzz") || slices.Contains(rest, first.Docs[9].ID) {
		t.Fatalf("pages after concurrent inserts: %q", rest)
	}
}

func testCompound(t *testing.T, open Open) {
	spec := projections.CollectionSpec{Name: "payments", Indexes: []string{"staff_id+paid_on", "status"}}
	s := opened(t, open, spec)
	var want []string
	for i := range 30 {
		id := fmt.Sprintf("p%02d", i)
		staffID := []string{"S1", "S2"}[i%2]
		put(t, s, "payments", doc(id, 1, map[string]any{"staff_id": staffID, "paid_on": int64(20250100 + (29 - i)), "status": "paid"}, `{}`))
		if staffID == "S1" {
			want = append([]string{id}, want...)
		}
	}
	got := findAll(t, s, projections.Query{Collection: "payments", Where: map[string]any{"staff_id": "S1"}, SortBy: "paid_on", Limit: 4})
	equalIDs(t, "staff_id=S1 by paid_on", got, want)
	// Each part of a compound entry is an indexed field on its own.
	got = findAll(t, s, projections.Query{Collection: "payments", SortBy: "paid_on", Desc: true, Limit: 100})
	if len(got) != 30 || got[0] != "p00" || got[29] != "p29" {
		t.Fatalf("by paid_on desc: %q", got)
	}
	if p := find(t, s, projections.Query{Collection: "payments", Where: map[string]any{"status": "paid"}, Limit: 1000}); len(p.Docs) != 30 {
		t.Fatalf("status=paid: %d docs", len(p.Docs))
	}
}

// bounded holds a sort field k of every kind (absent, integers with ties,
// strings), under a compound index that puts m between k and id (the
// shape of the statement lists) and an index of its own.
var bounded = projections.CollectionSpec{Name: "bounded", Indexes: []string{"g+k+m", "k"}}

type boundedRow struct {
	id   string
	g    string
	k    any
	m    int64
	body string
}

func seedBounded(t *testing.T, s projections.ReadStore) []boundedRow {
	const n = 60
	var rows []boundedRow
	var docs []projections.Doc
	for i := range n {
		r := boundedRow{id: fmt.Sprintf("r%02d", (i*7)%n), g: []string{"A", "B"}[i%2], m: int64((n - i) % 4), body: fmt.Sprintf(`{"i":%d}`, i)}
		switch {
		case i%6 == 0: // absent
		case i%6 == 1:
			r.k = fmt.Sprintf("s%d", i%4)
		default:
			r.k = int64(i%9 - 3)
		}
		f := map[string]any{"g": r.g, "m": r.m}
		if r.k != nil {
			f["k"] = r.k
		}
		rows = append(rows, r)
		docs = append(docs, doc(r.id, uint64(i+1), f, r.body))
	}
	put(t, s, "bounded", docs...)
	return rows
}

// withinBound reports whether key sorts no later than bound in the
// direction: the model of Query.Bound.
func withinBound(key, bound any, desc bool) bool {
	if b, ok := bound.(int); ok {
		bound = int64(b)
	}
	if key == bound {
		return true
	}
	// less with equal ids compares the keys alone.
	return less(row{key: key}, row{key: bound}, desc)
}

func testBound(t *testing.T, open Open) {
	s := opened(t, open, bounded)
	rows := seedBounded(t, s)
	expect := func(g string, desc bool, bound any) []string {
		var rs []row
		for _, r := range rows {
			if (g == "" || r.g == g) && (bound == nil || withinBound(r.k, bound, desc)) {
				rs = append(rs, row{id: r.id, key: r.k})
			}
		}
		return sortedIDs(rs, desc)
	}
	bounds := []any{int64(-4), int64(-3), 0, int64(2), int64(5), "", "s1", "s2", "zz"}
	for _, g := range []string{"", "A"} {
		for _, desc := range []bool{false, true} {
			for bi, bound := range bounds {
				for _, bodyOnly := range []bool{false, true} {
					want := expect(g, desc, bound)
					q := projections.Query{Collection: "bounded", SortBy: "k", Desc: desc, Bound: bound, BodyOnly: bodyOnly}
					if g != "" {
						q.Where = map[string]any{"g": g}
					}
					name := fmt.Sprintf("g=%q desc=%v bound=%#v bodyOnly=%v", g, desc, bound, bodyOnly)
					limits := []int{4, 1000}
					if bi%3 == 0 && !bodyOnly {
						// Pages of one doc cost a query each; a few cases suffice.
						limits = append(limits, 1)
					}
					for _, limit := range limits {
						q.Limit = limit
						equalIDs(t, fmt.Sprintf("%s limit %d", name, limit), findAll(t, s, q), want)
					}
					// A page that ends at the bound is the last one,
					// though documents lie beyond it.
					if len(want) > 0 {
						q.Limit = len(want)
						p := find(t, s, q)
						equalIDs(t, name+" one page to the bound", ids(p), want)
						if p.Next != "" {
							t.Fatalf("%s: a page ending at the bound has Next %q", name, p.Next)
						}
					}
				}
			}
		}
	}

	// A cursor of the unbounded query continues under a bound: from
	// within it to the bound's end, from beyond it to nothing.
	for _, desc := range []bool{false, true} {
		for _, bound := range []any{int64(1), "s1"} {
			all := expect("", desc, nil)
			in := expect("", desc, bound)
			q := projections.Query{Collection: "bounded", SortBy: "k", Desc: desc, Limit: 1}
			for i := range all {
				p := find(t, s, q)
				if len(p.Docs) != 1 || p.Docs[0].ID != all[i] {
					t.Fatalf("desc=%v unbounded page %d: %q, want %q", desc, i, ids(p), all[i])
				}
				if p.Next == "" {
					break
				}
				bq := q
				bq.After, bq.Bound, bq.Limit = p.Next, bound, 1000
				var rest []string
				if i+1 < len(in) {
					rest = in[i+1:]
				}
				got := find(t, s, bq)
				equalIDs(t, fmt.Sprintf("desc=%v bound=%#v after %s", desc, bound, all[i]), ids(got), rest)
				if got.Next != "" {
					t.Fatalf("desc=%v bound=%#v after %s: Next %q on the last page", desc, bound, all[i], got.Next)
				}
				q.After = p.Next
			}
		}
	}

	// A sort field the filter fixes is bounded as any other.
	for _, c := range []struct {
		k     any
		desc  bool
		bound any
	}{{int64(2), true, int64(1)}, {int64(2), true, int64(3)}, {int64(2), false, int64(1)}, {int64(2), false, "a"}, {nil, true, int64(-5)}, {nil, false, int64(-5)}} {
		var want []string
		for _, r := range rows {
			if r.k == c.k && withinBound(r.k, c.bound, c.desc) {
				want = append(want, r.id)
			}
		}
		slices.Sort(want)
		if c.desc {
			slices.Reverse(want)
		}
		q := projections.Query{Collection: "bounded", Where: map[string]any{"k": c.k}, SortBy: "k", Desc: c.desc, Bound: c.bound, Limit: 3}
		equalIDs(t, fmt.Sprintf("k=%#v desc=%v bound=%#v", c.k, c.desc, c.bound), findAll(t, s, q), want)
	}

	ctx := ctxFor(t)
	if _, err := s.Find(ctx, projections.Query{Collection: "bounded", Bound: int64(1)}); err == nil || !strings.Contains(err.Error(), "bound") {
		t.Errorf("a bound without a sort field: err = %v", err)
	}
	if _, err := s.Find(ctx, projections.Query{Collection: "bounded", SortBy: "k", Bound: 1.5}); err == nil || !strings.Contains(err.Error(), "bound") {
		t.Errorf("a float bound: err = %v", err)
	}
}

func testBodyOnly(t *testing.T, open Open) {
	s := opened(t, open, bounded)
	rows := seedBounded(t, s)
	body := map[string]string{}
	for _, r := range rows {
		body[r.id] = r.body
	}
	for _, q := range []projections.Query{
		{SortBy: "k", Desc: true},
		{SortBy: "k", Where: map[string]any{"g": "B"}},
		{SortBy: "k", Desc: true, Where: map[string]any{"g": "A", "k": int64(2)}},
		{Where: map[string]any{"g": "A"}},
	} {
		q.Collection = "bounded"
		q.Limit = 5
		full := findAll(t, s, q)
		lean := q
		lean.BodyOnly = true
		var got []string
		for pages := 0; ; pages++ {
			p := find(t, s, lean)
			for _, d := range p.Docs {
				if d.Fields != nil || d.Version != 0 || string(d.Body) != body[d.ID] {
					t.Fatalf("%+v: BodyOnly doc %+v", lean, d)
				}
				got = append(got, d.ID)
			}
			if p.Next == "" || pages > 100 {
				break
			}
			lean.After = p.Next
		}
		equalIDs(t, fmt.Sprintf("%+v BodyOnly", q), got, full)
	}
	// Without BodyOnly the docs are whole.
	p := find(t, s, projections.Query{Collection: "bounded", Where: map[string]any{"g": "A"}, SortBy: "k", Limit: 1})
	if len(p.Docs) != 1 || p.Docs[0].Version == 0 || p.Docs[0].Fields["g"] != "A" {
		t.Fatalf("full doc: %+v", p.Docs)
	}
}

// checkUnknown fails t unless err is ErrUnknownCollection naming name.
func checkUnknown(t *testing.T, what, name string, err error) {
	t.Helper()
	if !errors.Is(err, projections.ErrUnknownCollection) {
		t.Errorf("%s: err = %v, want ErrUnknownCollection", what, err)
	} else if !strings.Contains(err.Error(), name) {
		t.Errorf("%s: error %q does not name the collection", what, err)
	}
}

func testUnknownCollection(t *testing.T, open Open) {
	s := opened(t, open, staff)
	ctx := ctxFor(t)
	check := func(what string, err error) {
		t.Helper()
		checkUnknown(t, what, "nosuch", err)
	}
	_, _, err := s.Get(ctx, "nosuch", "x")
	check("Get", err)
	_, err = s.Find(ctx, projections.Query{Collection: "nosuch"})
	check("Find", err)
	err = s.Write(ctx, "p", 1, func(b projections.Batch) error { return b.Put(ctx, "nosuch", doc("x", 1, nil, `{}`)) })
	check("Batch.Put", err)
	err = s.Write(ctx, "p", 1, func(b projections.Batch) error { _, _, err := b.Get(ctx, "nosuch", "x"); return err })
	check("Batch.Get", err)
	err = s.Write(ctx, "p", 1, func(b projections.Batch) error { return b.Delete(ctx, "nosuch", "x") })
	check("Batch.Delete", err)
	if cp := checkpoint(t, s, "p"); cp != 0 {
		t.Errorf("failed writes stored checkpoint %d", cp)
	}
	_, err = s.BeginRebuild(ctx, "p", projections.CollectionSpec{Name: "staff"}, projections.CollectionSpec{Name: "staff"})
	if err == nil {
		t.Error("BeginRebuild with a collection named twice: no error")
	}
}

func testUnindexed(t *testing.T, open Open) {
	s := opened(t, open, staff)
	ctx := ctxFor(t)
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, projections.ErrUnindexedField) {
			t.Errorf("%s: err = %v, want ErrUnindexedField", what, err)
		} else if !strings.Contains(err.Error(), "salary") {
			t.Errorf("%s: error %q does not name the field", what, err)
		}
	}
	_, err := s.Find(ctx, projections.Query{Collection: "staff", Where: map[string]any{"salary": 1}})
	check("Find where", err)
	_, err = s.Find(ctx, projections.Query{Collection: "staff", SortBy: "salary"})
	check("Find sort", err)
	_, err = s.Find(ctx, projections.Query{Collection: "staff", Where: map[string]any{"dept": "A", "salary": 1}})
	check("Find where with an indexed and an unindexed field", err)
	err = s.Write(ctx, "p", 1, func(b projections.Batch) error {
		return b.Put(ctx, "staff", doc("x", 1, map[string]any{"dept": "A", "salary": 1}, `{}`))
	})
	check("Put with an undeclared field", err)
	if _, ok := get(t, s, "staff", "x"); ok {
		t.Error("rejected put stored")
	}
}

func testBadCursor(t *testing.T, open Open) {
	s := opened(t, open, staff)
	seedStaff(t, s)
	ctx := ctxFor(t)
	good := find(t, s, projections.Query{Collection: "staff", SortBy: "grade", Limit: 2}).Next
	if good == "" {
		t.Fatal("no cursor for the first of several pages")
	}
	bad := map[string]projections.Query{
		"garbage":                   {Collection: "staff", SortBy: "grade", After: "not a cursor!"},
		"base64 of nothing useful":  {Collection: "staff", SortBy: "grade", After: "AAAA"},
		"truncated":                 {Collection: "staff", SortBy: "grade", After: good[:len(good)-3]},
		"extended":                  {Collection: "staff", SortBy: "grade", After: good + "AAAA"},
		"other sort field":          {Collection: "staff", SortBy: "name", After: good},
		"other direction":           {Collection: "staff", SortBy: "grade", Desc: true, After: good},
		"other filter":              {Collection: "staff", SortBy: "grade", Where: map[string]any{"dept": "JKN"}, After: good},
		"sort by id with a key set": {Collection: "staff", After: good},
	}
	for name, q := range bad {
		_, err := s.Find(ctx, q)
		if !errors.Is(err, projections.ErrBadCursor) {
			t.Errorf("%s: err = %v, want ErrBadCursor", name, err)
		}
	}
	// The good cursor still works.
	if p := find(t, s, projections.Query{Collection: "staff", SortBy: "grade", Limit: 2, After: good}); len(p.Docs) != 2 {
		t.Errorf("good cursor: %q", ids(p))
	}
}

func testInvalidInput(t *testing.T, open Open) {
	s := opened(t, open, staff)
	ctx := ctxFor(t)
	putErr := func(d projections.Doc) error {
		return s.Write(ctx, "p", 1, func(b projections.Batch) error { return b.Put(ctx, "staff", d) })
	}
	cases := map[string]struct {
		err  error
		word string
	}{
		"empty id":        {putErr(doc("", 1, nil, `{}`)), "id"},
		"empty body":      {putErr(doc("x", 1, nil, ``)), "body"},
		"body not JSON":   {putErr(doc("x", 1, nil, `{"a":`)), "JSON"},
		"float field":     {putErr(doc("x", 1, map[string]any{"grade": 4.5}, `{}`)), "grade"},
		"bool field":      {putErr(doc("x", 1, map[string]any{"grade": true}, `{}`)), "grade"},
		"version too big": {putErr(doc("x", 1<<63, nil, `{}`)), "version"},
		"negative limit":  {func() error { _, err := s.Find(ctx, projections.Query{Collection: "staff", Limit: -1}); return err }(), "limit"},
		"huge limit": {func() error {
			_, err := s.Find(ctx, projections.Query{Collection: "staff", Limit: 1 << 20})
			return err
		}(), "limit"},
		"float in where": {func() error {
			_, err := s.Find(ctx, projections.Query{Collection: "staff", Where: map[string]any{"grade": 1.5}})
			return err
		}(), "grade"},
		"bad spec name":    {s.Ensure(ctx, projections.CollectionSpec{Name: "Bad Name"}), "Bad Name"},
		"bad index name":   {s.Ensure(ctx, projections.CollectionSpec{Name: "ok", Indexes: []string{"a.b"}}), "a.b"},
		"bad projector":    {s.Write(ctx, "", 1, func(projections.Batch) error { return nil }), "projector"},
		"bad projector cp": {func() error { _, err := s.Checkpoint(ctx, "no spaces allowed"); return err }(), "projector"},
		"checkpoint huge":  {s.Write(ctx, "p", 1<<63, func(projections.Batch) error { return nil }), "checkpoint"},
	}
	for name, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.Contains(c.err.Error(), c.word) {
			t.Errorf("%s: error %q does not mention %q", name, c.err, c.word)
		}
	}
	if p := find(t, s, projections.Query{Collection: "staff"}); len(p.Docs) != 0 {
		t.Fatalf("rejected puts stored: %q", ids(p))
	}
	if cp := checkpoint(t, s, "p"); cp != 0 {
		t.Fatalf("rejected writes stored checkpoint %d", cp)
	}
}

func testBatchAtomicity(t *testing.T, open Open) {
	s := opened(t, open, staff)
	ctx := ctxFor(t)
	putCP(t, s, "proj", 10, "staff", doc("keep", 1, map[string]any{"dept": "A"}, `{"n":1}`))

	boom := errors.New("projector failed")
	err := s.Write(ctx, "proj", 20, func(b projections.Batch) error {
		for i := range 50 {
			if err := b.Put(ctx, "staff", doc(fmt.Sprintf("x%02d", i), 1, map[string]any{"dept": "B"}, `{}`)); err != nil {
				return err
			}
		}
		if err := b.Put(ctx, "staff", doc("keep", 2, map[string]any{"dept": "B"}, `{"n":2}`)); err != nil {
			return err
		}
		if err := b.Delete(ctx, "staff", "keep"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Write returned %v, want fn's error", err)
	}
	if cp := checkpoint(t, s, "proj"); cp != 10 {
		t.Fatalf("checkpoint after a failed batch = %d, want 10", cp)
	}
	if d := mustGet(t, s, "staff", "keep"); d.Version != 1 || string(d.Body) != `{"n":1}` {
		t.Fatalf("failed batch changed keep: %+v", d)
	}
	if p := find(t, s, projections.Query{Collection: "staff", Where: map[string]any{"dept": "B"}}); len(p.Docs) != 0 {
		t.Fatalf("failed batch stored %q", ids(p))
	}

	// A batch over several collections commits all of it with its checkpoint.
	other := projections.CollectionSpec{Name: "other", Indexes: []string{"k"}}
	if err := s.Ensure(ctx, other); err != nil {
		t.Fatal(err)
	}
	err = s.Write(ctx, "proj", 30, func(b projections.Batch) error {
		if err := b.Put(ctx, "staff", doc("s", 1, nil, `{}`)); err != nil {
			return err
		}
		return b.Put(ctx, "other", doc("o", 1, map[string]any{"k": "v"}, `{}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	mustGet(t, s, "staff", "s")
	mustGet(t, s, "other", "o")
	if cp := checkpoint(t, s, "proj"); cp != 30 {
		t.Fatalf("checkpoint = %d, want 30", cp)
	}
	// An empty batch still moves the checkpoint (events that touched nothing).
	if err := s.Write(ctx, "proj", 31, func(projections.Batch) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if cp := checkpoint(t, s, "proj"); cp != 31 {
		t.Fatalf("checkpoint after empty batch = %d, want 31", cp)
	}
	// A cancelled context stores nothing.
	cctx, cancel := context.WithCancel(ctx)
	err = s.Write(cctx, "proj", 40, func(b projections.Batch) error {
		if err := b.Put(cctx, "staff", doc("late", 1, nil, `{}`)); err != nil {
			return err
		}
		cancel()
		return cctx.Err()
	})
	if err == nil {
		t.Fatal("Write with a cancelled context: no error")
	}
	if _, ok := get(t, s, "staff", "late"); ok {
		t.Fatal("cancelled batch stored its put")
	}
	if cp := checkpoint(t, s, "proj"); cp != 31 {
		t.Fatalf("checkpoint after cancelled batch = %d, want 31", cp)
	}
}

func testBatchGet(t *testing.T, open Open) {
	s := opened(t, open, staff)
	ctx := ctxFor(t)
	put(t, s, "staff", doc("stored", 5, map[string]any{"dept": "A"}, `{"v":5}`), doc("gone", 1, nil, `{}`))
	err := s.Write(ctx, "proj", 1, func(b projections.Batch) error {
		want := func(id string, v uint64, body string) {
			t.Helper()
			d, ok, err := b.Get(ctx, "staff", id)
			if err != nil {
				t.Fatalf("Batch.Get(%s): %v", id, err)
			}
			if !ok || d.Version != v || string(d.Body) != body {
				t.Fatalf("Batch.Get(%s) = %+v %s (found %v), want v%d %s", id, d, d.Body, ok, v, body)
			}
		}
		missing := func(id string) {
			t.Helper()
			if _, ok, err := b.Get(ctx, "staff", id); err != nil || ok {
				t.Fatalf("Batch.Get(%s): found %v, err %v; want missing", id, ok, err)
			}
		}
		want("stored", 5, `{"v":5}`)
		missing("new")
		if err := b.Put(ctx, "staff", doc("new", 1, map[string]any{"dept": "N"}, `{"v":1}`)); err != nil {
			return err
		}
		want("new", 1, `{"v":1}`)
		if err := b.Put(ctx, "staff", doc("new", 3, nil, `{"v":3}`)); err != nil {
			return err
		}
		if err := b.Put(ctx, "staff", doc("new", 2, nil, `{"v":2}`)); err != nil {
			return err
		}
		want("new", 3, `{"v":3}`)
		// A put older than the stored doc is ignored in the batch too.
		if err := b.Put(ctx, "staff", doc("stored", 4, nil, `{"v":4}`)); err != nil {
			return err
		}
		want("stored", 5, `{"v":5}`)
		if err := b.Put(ctx, "staff", doc("stored", 6, nil, `{"v":6}`)); err != nil {
			return err
		}
		want("stored", 6, `{"v":6}`)
		if err := b.Delete(ctx, "staff", "gone"); err != nil {
			return err
		}
		missing("gone")
		// After a delete in the batch any version re-creates it.
		if err := b.Put(ctx, "staff", doc("gone", 1, nil, `{"back":1}`)); err != nil {
			return err
		}
		want("gone", 1, `{"back":1}`)
		if err := b.Delete(ctx, "staff", "new"); err != nil {
			return err
		}
		missing("new")
		// Readers outside the batch do not see it yet.
		if d, _ := get(t, s, "staff", "stored"); d.Version != 5 {
			t.Errorf("reader outside the batch sees version %d before commit", d.Version)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := mustGet(t, s, "staff", "stored"); d.Version != 6 || d.Fields["dept"] != nil {
		t.Fatalf("stored after batch = %+v", d)
	}
	if d := mustGet(t, s, "staff", "gone"); d.Version != 1 || string(d.Body) != `{"back":1}` {
		t.Fatalf("gone after batch = %+v %s", d, d.Body)
	}
	if _, ok := get(t, s, "staff", "new"); ok {
		t.Fatal("new was deleted in the batch but is stored")
	}
}

func testCheckpoints(t *testing.T, open Open) {
	s := opened(t, open, staff)
	ctx := ctxFor(t)
	if cp := checkpoint(t, s, "alpha"); cp != 0 {
		t.Fatalf("fresh checkpoint = %d", cp)
	}
	for _, w := range []struct {
		p  string
		cp uint64
	}{{"alpha", 5}, {"beta", 7}, {"alpha", 9}, {"alpha-2_x", 1 << 40}} {
		if err := s.Write(ctx, w.p, w.cp, func(projections.Batch) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	for p, want := range map[string]uint64{"alpha": 9, "beta": 7, "alpha-2_x": 1 << 40, "gamma": 0} {
		if cp := checkpoint(t, s, p); cp != want {
			t.Errorf("Checkpoint(%s) = %d, want %d", p, cp, want)
		}
	}
}

func testEnsureAdditive(t *testing.T, open Open) {
	s := opened(t, open, staff)
	ctx := ctxFor(t)
	put(t, s, "staff", doc("old", 1, map[string]any{"dept": "A"}, `{}`))
	if err := s.Ensure(ctx, staff, staff); err == nil {
		t.Error("Ensure with a collection twice: no error")
	}
	if err := s.Ensure(ctx, staff); err != nil {
		t.Fatalf("Ensure again: %v", err)
	}
	// A new index on an existing collection: old docs lack it until re-put.
	wider := projections.CollectionSpec{Name: "staff", Indexes: []string{"dept", "grade", "name", "unit"}}
	if err := s.Ensure(ctx, wider); err != nil {
		t.Fatalf("Ensure with a new field: %v", err)
	}
	put(t, s, "staff", doc("new", 1, map[string]any{"dept": "A", "unit": "U1"}, `{}`))
	equalIDs(t, "unit=U1", ids(find(t, s, projections.Query{Collection: "staff", Where: map[string]any{"unit": "U1"}})), []string{"new"})
	equalIDs(t, "unit absent", ids(find(t, s, projections.Query{Collection: "staff", Where: map[string]any{"unit": nil}})), []string{"old"})
	// Ensure never drops: the narrower spec keeps "unit" usable.
	if err := s.Ensure(ctx, staff); err != nil {
		t.Fatal(err)
	}
	equalIDs(t, "unit=U1 after narrower Ensure", ids(find(t, s, projections.Query{Collection: "staff", Where: map[string]any{"unit": "U1"}})), []string{"new"})
	equalIDs(t, "all kept", ids(find(t, s, projections.Query{Collection: "staff"})), []string{"new", "old"})
}

func testRebuildInvisible(t *testing.T, open Open) {
	s := opened(t, open, staff)
	ctx := ctxFor(t)
	putCP(t, s, "proj", 10, "staff", doc("live1", 3, map[string]any{"dept": "L"}, `{"live":1}`), doc("both", 3, map[string]any{"dept": "L"}, `{"live":"both"}`))

	shadow, err := s.BeginRebuild(ctx, "proj", staff)
	if err != nil {
		t.Fatalf("BeginRebuild: %v", err)
	}
	t.Cleanup(func() { _ = shadow.Close() })
	// The shadow starts empty, with no checkpoint.
	if _, ok := get(t, shadow, "staff", "live1"); ok {
		t.Fatal("shadow is not empty")
	}
	if cp := checkpoint(t, shadow, "proj"); cp != 0 {
		t.Fatalf("shadow checkpoint = %d, want 0", cp)
	}
	putCP(t, shadow, "proj", 4, "staff", doc("both", 1, map[string]any{"dept": "S"}, `{"shadow":"both"}`), doc("shadow1", 1, map[string]any{"dept": "S"}, `{"shadow":1}`))
	// Batch.Get through the shadow reads the shadow.
	err = shadow.Write(ctx, "proj", 5, func(b projections.Batch) error {
		d, ok, err := b.Get(ctx, "staff", "both")
		if err != nil || !ok || d.Version != 1 {
			return fmt.Errorf("shadow Batch.Get(both) = %+v %v %v", d, ok, err)
		}
		_, ok, err = b.Get(ctx, "staff", "live1")
		if err != nil || ok {
			return fmt.Errorf("shadow Batch.Get(live1) found %v, err %v", ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Readers of the live store see only live data and the live checkpoint.
	if d := mustGet(t, s, "staff", "both"); string(d.Body) != `{"live":"both"}` {
		t.Fatalf("live reader sees shadow write: %s", d.Body)
	}
	if _, ok := get(t, s, "staff", "shadow1"); ok {
		t.Fatal("live reader sees shadow-only doc")
	}
	equalIDs(t, "live dept=S", ids(find(t, s, projections.Query{Collection: "staff", Where: map[string]any{"dept": "S"}})), nil)
	if cp := checkpoint(t, s, "proj"); cp != 10 {
		t.Fatalf("live checkpoint = %d during rebuild, want 10", cp)
	}
	if cp := checkpoint(t, shadow, "proj"); cp != 5 {
		t.Fatalf("shadow checkpoint = %d, want 5", cp)
	}
	// The shadow reads only shadow data, through Find too.
	equalIDs(t, "shadow dept=S", ids(find(t, shadow, projections.Query{Collection: "staff", Where: map[string]any{"dept": "S"}})), []string{"both", "shadow1"})
	// Live projectors keep writing meanwhile.
	putCP(t, s, "proj", 11, "staff", doc("live2", 1, nil, `{}`))
	if _, ok := get(t, shadow, "staff", "live2"); ok {
		t.Fatal("live write visible in the shadow")
	}
	// The shadow holds only the rebuild's collections.
	_, _, err = shadow.Get(ctx, "other", "x")
	if !errors.Is(err, projections.ErrUnknownCollection) {
		t.Fatalf("shadow Get of a collection outside the rebuild: %v", err)
	}
	// Beginning again starts over with an empty shadow.
	shadow2, err := s.BeginRebuild(ctx, "proj", staff)
	if err != nil {
		t.Fatalf("BeginRebuild again: %v", err)
	}
	t.Cleanup(func() { _ = shadow2.Close() })
	if _, ok := get(t, shadow2, "staff", "shadow1"); ok {
		t.Fatal("a new rebuild's shadow holds the old shadow's docs")
	}
	if cp := checkpoint(t, shadow2, "proj"); cp != 0 {
		t.Fatalf("new shadow checkpoint = %d", cp)
	}
}

func testRebuildSwap(t *testing.T, open Open) {
	s := opened(t, open, staff)
	ctx := ctxFor(t)
	other := projections.CollectionSpec{Name: "other", Indexes: []string{"k"}}
	if err := s.Ensure(ctx, other); err != nil {
		t.Fatal(err)
	}
	putCP(t, s, "proj", 100, "staff", doc("old", 1, map[string]any{"dept": "L"}, `{}`), doc("both", 9, nil, `{"live":true}`))
	putCP(t, s, "else", 77, "other", doc("o", 1, map[string]any{"k": "v"}, `{}`))

	if err := s.SwapRebuild(ctx, "proj", staff); err == nil {
		t.Fatal("SwapRebuild without BeginRebuild: no error")
	}
	// The rebuild adds an index the live collection lacks.
	rebuilt := projections.CollectionSpec{Name: "staff", Indexes: []string{"dept", "grade", "name", "region"}}
	shadow, err := s.BeginRebuild(ctx, "proj", rebuilt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shadow.Close() })
	for i := 0; i < 120; i += 40 {
		var docs []projections.Doc
		for j := i; j < i+40; j++ {
			docs = append(docs, doc(fmt.Sprintf("n%03d", j), 1, map[string]any{"region": []string{"north", "south"}[j%2]}, fmt.Sprintf(`{"j":%d}`, j)))
		}
		putCP(t, shadow, "proj", uint64(60+i), "staff", docs...)
	}
	putCP(t, shadow, "proj", 99, "staff", doc("both", 2, nil, `{"rebuilt":true}`))

	if err := s.SwapRebuild(ctx, "proj", rebuilt); err != nil {
		t.Fatalf("SwapRebuild: %v", err)
	}
	if cp := checkpoint(t, s, "proj"); cp != 99 {
		t.Fatalf("live checkpoint after swap = %d, want the shadow's 99", cp)
	}
	if _, ok := get(t, s, "staff", "old"); ok {
		t.Fatal("a doc only in the old live collection survived the swap")
	}
	// The rebuilt doc replaces the live one even though its version is lower.
	if d := mustGet(t, s, "staff", "both"); d.Version != 2 || string(d.Body) != `{"rebuilt":true}` {
		t.Fatalf("both after swap = %+v %s", d, d.Body)
	}
	north := findAll(t, s, projections.Query{Collection: "staff", Where: map[string]any{"region": "north"}, Limit: 25})
	if len(north) != 60 {
		t.Fatalf("region=north after swap: %d docs, want 60", len(north))
	}
	// Other collections and projectors are untouched.
	mustGet(t, s, "other", "o")
	if cp := checkpoint(t, s, "else"); cp != 77 {
		t.Fatalf("checkpoint of another projector = %d, want 77", cp)
	}
	// Live writes go to the swapped-in collection.
	putCP(t, s, "proj", 101, "staff", doc("after", 1, map[string]any{"region": "east"}, `{}`))
	equalIDs(t, "region=east", ids(find(t, s, projections.Query{Collection: "staff", Where: map[string]any{"region": "east"}})), []string{"after"})
	// The rebuild is over: swapping again fails.
	if err := s.SwapRebuild(ctx, "proj", rebuilt); err == nil {
		t.Fatal("second SwapRebuild: no error")
	}
	// And a second rebuild works the same way.
	shadow2, err := s.BeginRebuild(ctx, "proj", rebuilt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shadow2.Close() })
	putCP(t, shadow2, "proj", 150, "staff", doc("only", 1, nil, `{}`))
	if err := s.SwapRebuild(ctx, "proj", rebuilt); err != nil {
		t.Fatal(err)
	}
	equalIDs(t, "after second rebuild", findAll(t, s, projections.Query{Collection: "staff"}), []string{"only"})
	if cp := checkpoint(t, s, "proj"); cp != 150 {
		t.Fatalf("checkpoint after second swap = %d", cp)
	}
	// A rebuild that wrote no checkpoint swaps in 0: the projector starts over.
	shadow3, err := s.BeginRebuild(ctx, "proj", rebuilt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shadow3.Close() })
	if err := s.SwapRebuild(ctx, "proj", rebuilt); err != nil {
		t.Fatal(err)
	}
	if cp := checkpoint(t, s, "proj"); cp != 0 {
		t.Fatalf("checkpoint after swapping an untouched shadow = %d, want 0", cp)
	}
	equalIDs(t, "after swapping an empty shadow", findAll(t, s, projections.Query{Collection: "staff"}), nil)
}

func testRebuildOtherInstance(t *testing.T, open Open) {
	s := opened(t, open, staff)
	other := opened(t, open) // a second process over the same data
	putCP(t, s, "proj", 10, "staff", doc("old", 1, map[string]any{"dept": "L"}, `{}`))
	// The second instance knows the collection without calling Ensure.
	mustGet(t, other, "staff", "old")

	shadow, err := s.BeginRebuild(ctxFor(t), "proj", staff)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shadow.Close() })
	putCP(t, shadow, "proj", 20, "staff", doc("new", 1, map[string]any{"dept": "N"}, `{}`))
	if _, ok := get(t, other, "staff", "new"); ok {
		t.Fatal("second instance sees the shadow before the swap")
	}
	if err := s.SwapRebuild(ctxFor(t), "proj", staff); err != nil {
		t.Fatal(err)
	}
	eventually(t, "second instance sees the swapped collection", func() bool {
		_, hasNew := get(t, other, "staff", "new")
		_, hasOld := get(t, other, "staff", "old")
		if hasNew == hasOld {
			return false // never both, never neither, once settled
		}
		p := find(t, other, projections.Query{Collection: "staff", Where: map[string]any{"dept": "N"}})
		return hasNew && len(p.Docs) == 1 && checkpoint(t, other, "proj") == 20
	})
}

// A new layout of projector "p" gives up a collection: its swap drops it (it
// then reads as unknown, in this instance, in one opened before and in one
// opened after) and rebuilds the one it keeps, while the collections of
// another projector, one that moved to another projector (Ensure with that
// one as Owner) and one created by Ensure alone (no owner) stay.
func testRebuildDropsUndeclared(t *testing.T, open Open) {
	spec := func(name string) projections.CollectionSpec {
		return projections.CollectionSpec{Name: name, Indexes: []string{"k"}}
	}
	kept, gone, theirs, plain, moved := spec("kept"), spec("gone"), spec("theirs"), spec("plain"), spec("moved")
	s := opened(t, open, plain)
	other := opened(t, open) // a second process, running through the swaps
	ctx := ctxFor(t)
	put(t, s, "plain", doc("x", 1, map[string]any{"k": "v"}, `{}`))
	// rebuild rebuilds projector with specs and swaps them in, each holding
	// one document "d<cp>", with checkpoint cp.
	rebuild := func(projector string, cp uint64, specs ...projections.CollectionSpec) {
		t.Helper()
		shadow, err := s.BeginRebuild(ctx, projector, specs...)
		if err != nil {
			t.Fatalf("BeginRebuild(%s): %v", projector, err)
		}
		t.Cleanup(func() { _ = shadow.Close() })
		for _, sp := range specs {
			putCP(t, shadow, projector, cp, sp.Name, doc(fmt.Sprintf("d%d", cp), cp, map[string]any{"k": "v"}, fmt.Sprintf(`{"cp":%d}`, cp)))
		}
		if err := s.SwapRebuild(ctx, projector, specs...); err != nil {
			t.Fatalf("SwapRebuild(%s): %v", projector, err)
		}
	}
	rebuild("q", 1, theirs)
	rebuild("p", 2, kept, gone, moved)
	for _, r := range []projections.ReadStore{s, other} {
		mustGet(t, r, "gone", "d2")
		mustGet(t, r, "kept", "d2")
	}
	// A new release gives "moved" to projector q, whose start ensures it.
	movedToQ := moved
	movedToQ.Owner = "q"
	if err := s.Ensure(ctx, movedToQ); err != nil {
		t.Fatal(err)
	}

	rebuild("p", 3, kept) // the new layout: "gone" is no longer declared
	untouched := func(r projections.ReadStore) {
		t.Helper()
		equalIDs(t, "kept after the new layout's swap", findAll(t, r, projections.Query{Collection: "kept"}), []string{"d3"})
		equalIDs(t, "another projector's collection", findAll(t, r, projections.Query{Collection: "theirs"}), []string{"d1"})
		equalIDs(t, "a collection created by Ensure", findAll(t, r, projections.Query{Collection: "plain"}), []string{"x"})
		equalIDs(t, "a collection that moved to another projector", findAll(t, r, projections.Query{Collection: "moved"}), []string{"d2"})
		if cp := checkpoint(t, r, "p"); cp != 3 {
			t.Fatalf("checkpoint of p = %d, want 3", cp)
		}
		if cp := checkpoint(t, r, "q"); cp != 1 {
			t.Fatalf("checkpoint of q = %d, want 1", cp)
		}
	}
	_, _, err := s.Get(ctx, "gone", "d2")
	checkUnknown(t, "Get of the dropped collection", "gone", err)
	_, err = s.Find(ctx, projections.Query{Collection: "gone"})
	checkUnknown(t, "Find in the dropped collection", "gone", err)
	err = s.Write(ctx, "p", 4, func(b projections.Batch) error { return b.Put(ctx, "gone", doc("y", 1, nil, `{}`)) })
	checkUnknown(t, "Batch.Put to the dropped collection", "gone", err)
	untouched(s)

	// The instance that was running learns of the drop; one opened now
	// knows at once.
	eventually(t, "second instance sees the drop", func() bool {
		_, _, err := other.Get(ctx, "gone", "d2")
		return errors.Is(err, projections.ErrUnknownCollection)
	})
	untouched(other)
	fresh := opened(t, open)
	_, _, err = fresh.Get(ctx, "gone", "d2")
	checkUnknown(t, "Get of the dropped collection in a new instance", "gone", err)
	untouched(fresh)

	// A later layout may declare the name again: it starts empty.
	rebuild("p", 5, kept, gone)
	equalIDs(t, "a dropped collection declared again", findAll(t, s, projections.Query{Collection: "gone"}), []string{"d5"})
}

// An unfinished rebuild of "proj" (one cut short before its swap) leaves
// shadows; DropShadows drops them, says which, and leaves the live
// collections, the live checkpoint and another projector's rebuild alone.
// A later rebuild of "proj" starts afresh.
func testDropShadows(t *testing.T, open Open) {
	s := opened(t, open, staff)
	ctx := ctxFor(t)
	extra := projections.CollectionSpec{Name: "staff_extra", Indexes: []string{"k"}}
	theirs := projections.CollectionSpec{Name: "theirs", Indexes: []string{"k"}}
	putCP(t, s, "proj", 10, "staff", doc("live1", 1, map[string]any{"dept": "L"}, `{"live":1}`))

	if got, err := s.DropShadows(ctx, "proj"); err != nil || len(got) != 0 {
		t.Fatalf("DropShadows with no rebuild begun = %q, %v; want none", got, err)
	}
	else_, err := s.BeginRebuild(ctx, "else", theirs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = else_.Close() })
	putCP(t, else_, "else", 7, "theirs", doc("t1", 1, map[string]any{"k": "v"}, `{}`))

	shadow, err := s.BeginRebuild(ctx, "proj", staff, extra)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shadow.Close() })
	putCP(t, shadow, "proj", 5, "staff", doc("shadow1", 1, map[string]any{"dept": "S"}, `{}`))
	putCP(t, shadow, "proj", 6, "staff_extra", doc("x", 1, map[string]any{"k": "v"}, `{}`))

	got, err := s.DropShadows(ctx, "proj")
	if err != nil {
		t.Fatalf("DropShadows: %v", err)
	}
	equalIDs(t, "collections whose shadows were dropped", got, []string{"staff", "staff_extra"})
	// Nothing is left to swap in; the live side is as it was.
	if err := s.SwapRebuild(ctx, "proj", staff, extra); err == nil {
		t.Fatal("SwapRebuild after DropShadows: no error")
	}
	equalIDs(t, "live staff", findAll(t, s, projections.Query{Collection: "staff"}), []string{"live1"})
	if cp := checkpoint(t, s, "proj"); cp != 10 {
		t.Fatalf("live checkpoint after DropShadows = %d, want 10", cp)
	}
	_, _, err = s.Get(ctx, "staff_extra", "x")
	checkUnknown(t, "Get of a collection only the dropped shadow had", "staff_extra", err)
	if got, err := s.DropShadows(ctx, "proj"); err != nil || len(got) != 0 {
		t.Fatalf("DropShadows again = %q, %v; want none", got, err)
	}
	other := opened(t, open) // a second process
	if got, err := other.DropShadows(ctx, "proj"); err != nil || len(got) != 0 {
		t.Fatalf("DropShadows in a second instance = %q, %v; want none", got, err)
	}

	// The other projector's rebuild goes on and swaps in.
	putCP(t, else_, "else", 8, "theirs", doc("t2", 1, map[string]any{"k": "v"}, `{}`))
	if err := s.SwapRebuild(ctx, "else", theirs); err != nil {
		t.Fatalf("another projector's swap after DropShadows: %v", err)
	}
	equalIDs(t, "the other projector's swapped-in collection", findAll(t, s, projections.Query{Collection: "theirs"}), []string{"t1", "t2"})
	if cp := checkpoint(t, s, "else"); cp != 8 {
		t.Fatalf("checkpoint of the other projector = %d, want 8", cp)
	}

	// A new rebuild of proj starts empty and swaps in.
	again, err := s.BeginRebuild(ctx, "proj", staff)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = again.Close() })
	if _, ok := get(t, again, "staff", "shadow1"); ok {
		t.Fatal("a new rebuild's shadow holds the dropped shadow's docs")
	}
	if cp := checkpoint(t, again, "proj"); cp != 0 {
		t.Fatalf("new shadow checkpoint = %d, want 0", cp)
	}
	putCP(t, again, "proj", 20, "staff", doc("new", 1, nil, `{}`))
	if err := s.SwapRebuild(ctx, "proj", staff); err != nil {
		t.Fatal(err)
	}
	equalIDs(t, "staff after the new rebuild", findAll(t, s, projections.Query{Collection: "staff"}), []string{"new"})

	// Refused: on a shadow store, and for a malformed projector name.
	if _, err := again.DropShadows(ctx, "proj"); err == nil {
		t.Fatal("DropShadows on a shadow store: no error")
	}
	if _, err := s.DropShadows(ctx, "No Such"); err == nil {
		t.Fatal("DropShadows of a malformed projector name: no error")
	}
}

func testReopen(t *testing.T, open Open) {
	s := open(t)
	ctx := ctxFor(t)
	if err := s.Ensure(ctx, staff); err != nil {
		t.Fatal(err)
	}
	putCP(t, s, "proj", 42, "staff", doc("kept", 4, map[string]any{"dept": "K", "grade": 1}, `{"kept":true}`))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	r := opened(t, open) // no Ensure: the collection is known from storage
	d := mustGet(t, r, "staff", "kept")
	if d.Version != 4 || string(d.Body) != `{"kept":true}` || d.Fields["grade"] != int64(1) {
		t.Fatalf("after reopen: %+v %s", d, d.Body)
	}
	equalIDs(t, "find after reopen", ids(find(t, r, projections.Query{Collection: "staff", Where: map[string]any{"dept": "K"}, SortBy: "grade"})), []string{"kept"})
	if cp := checkpoint(t, r, "proj"); cp != 42 {
		t.Fatalf("checkpoint after reopen = %d", cp)
	}
	put(t, r, "staff", doc("kept", 3, nil, `{"older":true}`))
	if d := mustGet(t, r, "staff", "kept"); d.Version != 4 {
		t.Fatalf("put-if-newer after reopen: %+v", d)
	}
}

func testConcurrent(t *testing.T, open Open) {
	s := opened(t, open, staff)
	ctx := ctxFor(t)
	const writes = 20
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; i <= writes; i++ {
			err := s.Write(ctx, "proj", uint64(i), func(b projections.Batch) error {
				for j := range 5 {
					if err := b.Put(ctx, "staff", doc(fmt.Sprintf("w%02d-%d", i, j), uint64(i), map[string]any{"grade": i}, `{}`)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				errs <- err
				return
			}
		}
	}()
	for r := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				got, err := s.Find(ctx, projections.Query{Collection: "staff", Limit: 1000, SortBy: "grade", Desc: r%2 == 0})
				if err != nil {
					errs <- err
					return
				}
				for _, d := range got.Docs {
					if d.Fields["grade"] != int64(d.Version) {
						errs <- fmt.Errorf("reader saw %s with grade %v at version %d", d.ID, d.Fields["grade"], d.Version)
						return
					}
				}
				if _, _, err := s.Get(ctx, "staff", "w01-0"); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if p := find(t, s, projections.Query{Collection: "staff", Limit: 1000}); len(p.Docs) != writes*5 {
		t.Fatalf("%d docs after concurrent writes, want %d", len(p.Docs), writes*5)
	}
	if cp := checkpoint(t, s, "proj"); cp != writes {
		t.Fatalf("checkpoint = %d, want %d", cp, writes)
	}
}

// A batch whose put is older than the stored document (a replay) still
// applies its other puts, whatever their order by id.
func testStalePutDoesNotBlockOthers(t *testing.T, open Open) {
	s := opened(t, open, staff)
	put(t, s, "staff", doc("a", 5, map[string]any{"dept": "A"}, `{"v":5}`))
	put(t, s, "staff",
		doc("a", 4, map[string]any{"dept": "old"}, `{"v":4}`), // stale: ignored
		doc("b", 1, map[string]any{"dept": "B"}, `{"v":1}`),
		doc("c", 1, map[string]any{"dept": "C"}, `{"v":1}`))
	for _, id := range []string{"b", "c"} {
		if _, ok := get(t, s, "staff", id); !ok {
			t.Errorf("put of %q after a stale put of \"a\" in the same batch was lost", id)
		}
	}
	if d := mustGet(t, s, "staff", "a"); d.Version != 5 {
		t.Errorf("a = %+v", d)
	}
}

// Deleting, then (another batch) putting an older version brings the document back on both adapters.
func testDeleteThenOlderPut(t *testing.T, open Open) {
	s := opened(t, open, staff)
	put(t, s, "staff", doc("a", 5, nil, `{"v":5}`))
	err := s.Write(ctxFor(t), "seed", 0, func(b projections.Batch) error {
		if err := b.Put(ctxFor(t), "staff", doc("a", 3, nil, `{"v":3}`)); err != nil {
			return err
		}
		if err := b.Delete(ctxFor(t), "staff", "a"); err != nil {
			return err
		}
		return b.Put(ctxFor(t), "staff", doc("a", 2, nil, `{"v":2}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := mustGet(t, s, "staff", "a"); d.Version != 2 {
		t.Errorf("a = %+v", d)
	}
}
