package viewcache

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"

	readsqlite "github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/projections"
)

// readiness is the engine's side the test drives by hand.
type readiness struct{ off atomic.Bool }

func (r *readiness) ViewReady(string) bool { return !r.off.Load() }

// newCache keeps the test's slips by payee.
func newCache(next projections.Reader, src Source, budget int64) *Reader {
	return New(next, src, Options{Budget: budget, PageSizes: []int{10}, Partitions: map[string]string{coll: "payee", "claims": "payee"}})
}

// changed tells c that documents of payee changed in coll.
func changed(c *Reader, coll string, payee string, ids ...string) {
	docs := make([]projections.Changed, len(ids))
	for i, id := range ids {
		docs[i] = projections.Changed{Collection: coll, ID: id, Fields: map[string]any{"payee": payee, "month": int64(1)}}
	}
	c.DocsChanged(docs)
}

// countingReader counts the Finds that reach the store.
type countingReader struct {
	projections.Reader
	finds atomic.Int64
	// before, if set, runs inside Find before the store is read.
	before func()
}

func (c *countingReader) Find(ctx context.Context, q projections.Query) (projections.Page, error) {
	c.finds.Add(1)
	if c.before != nil {
		c.before()
	}
	return c.Reader.Find(ctx, q)
}

const coll = "slips"

func openStore(t *testing.T) *readsqlite.Store {
	t.Helper()
	s, err := readsqlite.Open(context.Background(), filepath.Join(t.TempDir(), "views.db"),
		readsqlite.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Ensure(context.Background(), projections.CollectionSpec{Name: coll, Indexes: []string{"payee+month"}}); err != nil {
		t.Fatal(err)
	}
	return s
}

func put(t *testing.T, s *readsqlite.Store, id, payee string, month int64, version uint64, body string) {
	t.Helper()
	err := s.Write(context.Background(), "test", version, func(b projections.Batch) error {
		return b.Put(context.Background(), coll, projections.Doc{ID: id, Version: version,
			Fields: map[string]any{"payee": payee, "month": month}, Body: []byte(body)})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func listOf(payee string) projections.Query {
	return projections.Query{Collection: coll, Where: map[string]any{"payee": payee}, SortBy: "month", Desc: true, Limit: 10, BodyOnly: true}
}

func bodies(pg projections.Page) string {
	out := ""
	for _, d := range pg.Docs {
		out += d.ID + "=" + string(d.Body) + ";"
	}
	return out + "next=" + pg.Next
}

func TestKeptUntilTheirPartitionChanges(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	put(t, s, "a1", "A", 1, 1, `{"net":1}`)
	put(t, s, "a2", "A", 2, 1, `{"net":2}`)
	put(t, s, "b1", "B", 1, 1, `{"net":9}`)
	store := &countingReader{Reader: s}
	c := newCache(store, &readiness{}, 1<<20)

	first, err := c.Find(ctx, listOf("A"))
	if err != nil {
		t.Fatal(err)
	}
	want := `a2={"net":2};a1={"net":1};next=`
	if got := bodies(first); got != want {
		t.Fatalf("first read %s, want %s", got, want)
	}
	again, _ := c.Find(ctx, listOf("A"))
	if got := bodies(again); got != want || store.finds.Load() != 1 {
		t.Fatalf("second read %s after %d store reads, want %s from memory", got, store.finds.Load(), want)
	}
	if got, _ := c.Find(ctx, listOf("B")); bodies(got) != `b1={"net":9};next=` {
		t.Fatalf("another person's list: %s", bodies(got))
	}

	// A change not told is not seen (the engine tells every commit's
	// documents); a change to another payee leaves A's answer kept; A's
	// own drops it.
	put(t, s, "a3", "A", 3, 1, `{"net":3}`)
	if got, _ := c.Find(ctx, listOf("A")); bodies(got) != want {
		t.Fatalf("kept answer replaced without being told: %s", bodies(got))
	}
	changed(c, coll, "B", "b1")
	changed(c, "other", "A", "x1") // a collection not kept
	if got, _ := c.Find(ctx, listOf("A")); bodies(got) != want {
		t.Fatalf("A's answer after B's change: %s, want it kept (%s)", bodies(got), want)
	}
	changed(c, coll, "A", "a3")
	want = `a3={"net":3};a2={"net":2};a1={"net":1};next=`
	if got, _ := c.Find(ctx, listOf("A")); bodies(got) != want {
		t.Fatalf("after A's change was told: %s, want %s", bodies(got), want)
	}
	if got, _ := c.Find(ctx, listOf("B")); bodies(got) != `b1={"net":9};next=` {
		t.Fatalf("B after its change: %s", bodies(got))
	}
	if st := c.Stats(); st.Hits != 3 || st.Misses != 4 || st.Bytes <= 0 {
		t.Errorf("stats %+v: want 3 hits, 4 misses, bytes kept", st)
	}

	// Every answer goes when the collection as a whole may have changed,
	// or a document without its partition is told (deleted, say).
	for name, tell := range map[string]func(){
		"collections changed": func() { c.CollectionsChanged([]string{coll}) },
		"a document deleted":  func() { c.DocsChanged([]projections.Changed{{Collection: coll, ID: "zz", Deleted: true}}) },
	} {
		_, _ = c.Find(ctx, listOf("A"))
		before := store.finds.Load()
		tell()
		_, _ = c.Find(ctx, listOf("A"))
		if store.finds.Load() != before+1 {
			t.Errorf("%s: A's answer still kept", name)
		}
	}

	// The kept bodies are capped: appending to one does not write into
	// the next kept document.
	pg, _ := c.Find(ctx, listOf("A"))
	_ = append(pg.Docs[0].Body, "XXXX"...)
	if got, _ := c.Find(ctx, listOf("A")); bodies(got) != want {
		t.Fatalf("an append to a returned body changed the kept answer: %s", bodies(got))
	}
}

func TestPassesThroughWhatItMayNotKeep(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	for i := range 5 {
		put(t, s, fmt.Sprintf("a%d", i), "A", int64(i), 1, `{}`)
	}
	store := &countingReader{Reader: s}
	ready := &readiness{}
	c := newCache(store, ready, 1<<20)

	withFields := listOf("A")
	withFields.BodyOnly = false
	second := listOf("A")
	second.Limit = 2
	pg, err := c.Find(ctx, second)
	if err != nil || pg.Next == "" {
		t.Fatalf("first page: %v, next %q", err, pg.Next)
	}
	second.After = pg.Next
	otherSize := listOf("A")
	otherSize.Limit = 3
	cases := map[string]projections.Query{"fields asked for": withFields, "a page after the first": second, "a page size the portal does not ask for": otherSize}
	for name, q := range cases {
		before := store.finds.Load()
		for range 3 {
			pg, err := c.Find(ctx, q)
			if err != nil || len(pg.Docs) == 0 {
				t.Fatalf("%s: %v, %d documents", name, err, len(pg.Docs))
			}
		}
		if n := store.finds.Load() - before; n != 3 {
			t.Errorf("%s: %d of 3 reads reached the store", name, n)
		}
	}
	if pg, _ := c.Find(ctx, withFields); pg.Docs[0].Fields == nil || pg.Docs[0].Version == 0 {
		t.Errorf("fields and version dropped from a query that asked for them: %+v", pg.Docs[0])
	}

	ready.off.Store(true) // the projector is not ready, or the engine stopped
	before := store.finds.Load()
	for range 3 {
		_, _ = c.Find(ctx, listOf("A"))
	}
	if n := store.finds.Load() - before; n != 3 {
		t.Errorf("without a stamp: %d of 3 reads reached the store", n)
	}

	none := newCache(store, &readiness{}, 0)
	before = store.finds.Load()
	for range 3 {
		_, _ = none.Find(ctx, listOf("A"))
	}
	if n := store.finds.Load() - before; n != 3 {
		t.Errorf("budget 0: %d of 3 reads reached the store", n)
	}

	ready.off.Store(false)
	noPartition := listOf("A")
	noPartition.Where = map[string]any{"month": int64(1)}
	before = store.finds.Load()
	for range 3 {
		_, _ = c.Find(ctx, noPartition)
	}
	if n := store.finds.Load() - before; n != 3 {
		t.Errorf("a query without the partition field: %d of 3 reads reached the store", n)
	}
}

func TestBudgetBoundsWhatIsKept(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	for p := range 50 {
		put(t, s, fmt.Sprintf("p%d", p), fmt.Sprintf("P%d", p), 1, 1, fmt.Sprintf(`{"pad":"%0100d"}`, p))
	}
	const budget = 2000
	c := newCache(s, &readiness{}, budget)
	for p := range 50 {
		pg, err := c.Find(ctx, listOf(fmt.Sprintf("P%d", p)))
		if err != nil || len(pg.Docs) != 1 || pg.Docs[0].ID != fmt.Sprintf("p%d", p) {
			t.Fatalf("P%d: %v %+v", p, err, pg.Docs)
		}
	}
	st := c.Stats()
	if st.Bytes <= 0 || st.Bytes > budget {
		t.Fatalf("kept %d bytes with a budget of %d", st.Bytes, budget)
	}
	// Those kept are still answered right, and a new stamp frees the budget.
	for p := range 50 {
		if pg, _ := c.Find(ctx, listOf(fmt.Sprintf("P%d", p))); pg.Docs[0].ID != fmt.Sprintf("p%d", p) {
			t.Fatalf("P%d answered %+v", p, pg.Docs)
		}
	}
	c.CollectionsChanged([]string{coll})
	_, _ = c.Find(ctx, listOf("P0"))
	if got := c.Stats().Bytes; got <= 0 || got >= st.Bytes {
		t.Errorf("after every answer was dropped %d bytes kept, before %d: the old generation's bytes were not given back", got, st.Bytes)
	}
	changed(c, coll, "P0", "p0")
	if got := c.Stats().Bytes; got != 0 {
		t.Errorf("after P0's change %d bytes still counted, want 0", got)
	}
}

// A read that took its stamp before a change and read the store before the
// change landed must not leave its answer to be served after the change.
func TestAReadOvertakenByAChangeIsNotKept(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	put(t, s, "a1", "A", 1, 1, `{"v":"old"}`)
	store := &countingReader{Reader: s}
	c := newCache(store, &readiness{}, 1<<20)

	inStore, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	store.before = func() {
		if first.CompareAndSwap(false, true) {
			close(inStore)
			<-release
		}
	}
	done := make(chan string)
	go func() {
		pg, err := c.Find(ctx, listOf("A"))
		if err != nil {
			done <- err.Error()
			return
		}
		done <- bodies(pg)
	}()
	<-inStore
	// The slow read is about to read. The projector commits a change and
	// tells it (of another payee too: any change in the collection while a
	// read runs keeps its answer out); a new read sees the change.
	put(t, s, "a1", "A", 1, 2, `{"v":"new"}`)
	changed(c, coll, "A", "a1")
	want := `a1={"v":"new"};next=`
	if got, _ := c.Find(ctx, listOf("A")); bodies(got) != want {
		t.Fatalf("read after the change: %s", bodies(got))
	}
	close(release)
	<-done
	for range 3 {
		if got, _ := c.Find(ctx, listOf("A")); bodies(got) != want {
			t.Fatalf("after the overtaken read finished: %s, want %s", bodies(got), want)
		}
	}
}

// No two queries share a key, whatever their values hold: a shared key
// would answer one person with another's list.
func TestQueryKeysDiffer(t *testing.T) {
	base := projections.Query{Collection: coll, SortBy: "month", Desc: true, Limit: 10, BodyOnly: true}
	with := func(f func(*projections.Query)) projections.Query { q := base; f(&q); return q }
	queries := []projections.Query{
		with(func(q *projections.Query) { q.Where = map[string]any{"payee": "A"} }),
		with(func(q *projections.Query) { q.Where = map[string]any{"payee": "AB"} }),
		with(func(q *projections.Query) { q.Where = map[string]any{"payee": "A", "b": "x"} }),
		with(func(q *projections.Query) { q.Where = map[string]any{"payee": "A\x00b=sx"} }),
		with(func(q *projections.Query) { q.Where = map[string]any{"payee\x00b": "x"} }),
		with(func(q *projections.Query) { q.Where = map[string]any{"year": int64(5)} }),
		with(func(q *projections.Query) { q.Where = map[string]any{"year": "5"} }),
		with(func(q *projections.Query) { q.Where = map[string]any{"payee": "A"}; q.Desc = false }),
		with(func(q *projections.Query) { q.Where = map[string]any{"payee": "A"}; q.Limit = 1 }),
		with(func(q *projections.Query) { q.Where = map[string]any{"payee": "A"}; q.Bound = int64(20260101) }),
		with(func(q *projections.Query) { q.Where = map[string]any{"payee": "A"}; q.Bound = "20260101" }),
		with(func(q *projections.Query) { q.Where = map[string]any{"payee": "A"}; q.SortBy = "" }),
		with(func(q *projections.Query) { q.Where = map[string]any{"payee": "A"}; q.Collection = "other" }),
	}
	seen := map[string]int{}
	for i, q := range queries {
		k := queryKey(q)
		if j, dup := seen[k]; dup {
			t.Errorf("queries %d and %d share key %q", j, i, k)
		}
		seen[k] = i
		if queryKey(q) != k {
			t.Errorf("query %d: key not stable", i)
		}
	}
}
