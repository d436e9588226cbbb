package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	eventsqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	readsqlite "github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/engine"
)

// Test events: an account ledger.
type deposited struct {
	Owner  string `json:"owner"`
	Amount int64  `json:"amount"`
}

func (deposited) EventType() string { return "ledger.Deposited.v1" }

type withdrawn struct {
	Amount int64 `json:"amount"`
}

func (withdrawn) EventType() string { return "ledger.Withdrawn.v1" }

type closed struct{}

func (closed) EventType() string { return "ledger.Closed.v1" }

// poisoned fails (or panics) in the projector while the projector's "broken"
// switch is on: a bug that a later release fixes.
type poisoned struct {
	Panic bool `json:"panic"`
}

func (poisoned) EventType() string { return "ledger.Poisoned.v1" }

// noted is registered but handled by no projector.
type noted struct {
	Text string `json:"text"`
}

func (noted) EventType() string { return "ledger.Noted.v1" }

func registry() *eventlog.Registry {
	reg := eventlog.NewRegistry()
	eventlog.Register[deposited](reg)
	eventlog.Register[withdrawn](reg)
	eventlog.Register[closed](reg)
	eventlog.Register[poisoned](reg)
	eventlog.Register[noted](reg)
	return reg
}

// ledgerProjector keeps one balance document per account (stream), an index
// of open accounts, and a totals document. Deletes are idempotent the usual
// way: the balance document is a tombstone with a version, and the open index
// only changes when the balance document accepted the event.
type ledgerProjector struct {
	broken atomic.Bool // poisoned events fail while set
	// onProject, if set, runs before each projected event (tests use it to
	// kill the engine mid-batch).
	onProject func(env eventlog.Envelope)
	// fail, if set, can fail an attempt (a transient fault).
	fail func(env eventlog.Envelope) error
}

type balance struct {
	Owner   string `json:"owner"`
	Balance int64  `json:"balance"`
	Events  int    `json:"events"`
	Closed  bool   `json:"closed"`
	Fixed   int    `json:"fixed"` // poisoned events projected after the fix
}

type totals struct {
	Events   int   `json:"events"`
	Deposits int64 `json:"deposits"`
}

func (p *ledgerProjector) Name() string { return "ledger" }
func (p *ledgerProjector) Handles() []string {
	return []string{"ledger.Deposited.v1", "ledger.Withdrawn.v1", "ledger.Closed.v1", "ledger.Poisoned.v1"}
}
func (p *ledgerProjector) Collections() []projections.CollectionSpec {
	return []projections.CollectionSpec{
		{Name: "ledger_balances", Indexes: []string{"owner", "balance"}},
		{Name: "ledger_open", Indexes: []string{"owner"}},
		{Name: "ledger_totals"},
	}
}

func (p *ledgerProjector) Project(ctx context.Context, b projections.Batch, env eventlog.Envelope) error {
	if p.onProject != nil {
		p.onProject(env)
	}
	if p.fail != nil {
		if err := p.fail(env); err != nil {
			return err
		}
	}
	if ev, ok := env.Event.(poisoned); ok && p.broken.Load() {
		if ev.Panic {
			panic("ledger projector: cannot handle this event")
		}
		return errors.New("ledger projector: cannot handle this event")
	}
	doc, found, err := b.Get(ctx, "ledger_balances", env.Stream)
	if err != nil {
		return err
	}
	var bal balance
	if found {
		if env.Version <= doc.Version {
			return nil // already applied
		}
		if err := json.Unmarshal(doc.Body, &bal); err != nil {
			return err
		}
	}
	var deposit int64
	switch ev := env.Event.(type) {
	case deposited: // a deposit reopens a closed account
		bal.Owner = ev.Owner
		bal.Balance += ev.Amount
		bal.Closed = false
		deposit = ev.Amount
	case withdrawn:
		bal.Balance -= ev.Amount
	case closed:
		bal.Closed = true
	case poisoned:
		bal.Fixed++
	default:
		return fmt.Errorf("ledger projector: unexpected %T", ev)
	}
	bal.Events++
	body, _ := json.Marshal(bal)
	if err := b.Put(ctx, "ledger_balances", projections.Doc{
		ID: env.Stream, Version: env.Version, Body: body,
		Fields: map[string]any{"owner": bal.Owner, "balance": bal.Balance},
	}); err != nil {
		return err
	}
	if bal.Closed {
		if err := b.Delete(ctx, "ledger_open", env.Stream); err != nil {
			return err
		}
	} else if err := b.Put(ctx, "ledger_open", projections.Doc{
		ID: env.Stream, Version: env.Version, Body: []byte(`{}`), Fields: map[string]any{"owner": bal.Owner},
	}); err != nil {
		return err
	}

	// One document fed by every stream: versioned by global position.
	tdoc, found, err := b.Get(ctx, "ledger_totals", "all")
	if err != nil {
		return err
	}
	var tot totals
	if found {
		if env.Position <= tdoc.Version {
			return nil
		}
		if err := json.Unmarshal(tdoc.Body, &tot); err != nil {
			return err
		}
	}
	tot.Events++
	tot.Deposits += deposit
	body, _ = json.Marshal(tot)
	return b.Put(ctx, "ledger_totals", projections.Doc{ID: "all", Version: env.Position, Body: body})
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openEvents(t testing.TB, dir string) *eventsqlite.Store {
	t.Helper()
	s, err := eventsqlite.Open(context.Background(), filepath.Join(dir, "events.db"), eventsqlite.Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openViews(t testing.TB, path string) *readsqlite.Store {
	t.Helper()
	s, err := readsqlite.Open(context.Background(), path, readsqlite.Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newEngine(t testing.TB, log projections.EventLog, store projections.ReadStore, p projections.Projector, tweak func(*engine.Config)) *engine.Engine {
	t.Helper()
	cfg := engine.Config{
		Log: log, Store: store, Registry: registry(), Projectors: []projections.Projector{p},
		Logger: quiet(), RetryInitial: time.Millisecond, RetryMax: 5 * time.Millisecond,
		WaitTimeout: 60 * time.Second,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	e, err := engine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// run starts e.Run and returns a stop function that waits for it.
func run(t testing.TB, e *engine.Engine) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("engine run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// ledgerGen appends ledger events in batches of up to 1000 per stream append.
type ledgerGen struct {
	store    *eventsqlite.Store
	accounts int
	next     map[string]uint64 // stream versions
	seq      int
}

func newGen(store *eventsqlite.Store, accounts int) *ledgerGen {
	return &ledgerGen{store: store, accounts: accounts, next: map[string]uint64{}}
}

func (g *ledgerGen) id() uuid.UUID {
	g.seq++
	return uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "ledger-%d", g.seq))
}

func proposed(id uuid.UUID, e eventlog.Event) eventlog.Proposed {
	data, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	return eventlog.Proposed{
		ID: id, Type: e.EventType(), OccurredAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		Data: data, Metadata: eventlog.Metadata{Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "test"}},
	}
}

// appendTo appends events to one stream with the exact expected version.
func (g *ledgerGen) appendTo(t testing.TB, stream string, evs ...eventlog.Event) eventlog.AppendResult {
	t.Helper()
	props := make([]eventlog.Proposed, len(evs))
	for i, e := range evs {
		props[i] = proposed(g.id(), e)
	}
	res, err := g.store.Append(context.Background(), stream, eventlog.Exactly(g.next[stream]), props)
	if err != nil {
		t.Fatal(err)
	}
	g.next[stream] = res.LastVersion
	return res
}

// fill appends n events: per account stream a run of deposits and
// withdrawals, some accounts closed at the end, a noted event now and then.
func (g *ledgerGen) fill(t testing.TB, n int, perAppend int) uint64 {
	t.Helper()
	var last uint64
	for made := 0; made < n; {
		acct := (made / perAppend) % g.accounts
		stream := fmt.Sprintf("acct-%04d", acct)
		k := min(perAppend, n-made)
		evs := make([]eventlog.Event, 0, k)
		for i := 0; i < k; i++ {
			switch j := made + i; {
			case j%211 == 210:
				evs = append(evs, closed{}) // the next deposit reopens it
			case j%97 == 96:
				evs = append(evs, noted{Text: "audit"})
			case j%5 == 4:
				evs = append(evs, withdrawn{Amount: int64(j % 13)})
			default:
				evs = append(evs, deposited{Owner: fmt.Sprintf("owner-%d", acct%7), Amount: int64(j%100 + 1)})
			}
		}
		last = g.appendTo(t, stream, evs...).LastPosition
		made += k
	}
	return last
}

// snapshot reads every document of the ledger collections, in ID order.
func snapshot(t testing.TB, r projections.Reader) map[string][]projections.Doc {
	t.Helper()
	out := map[string][]projections.Doc{}
	for _, coll := range []string{"ledger_balances", "ledger_open", "ledger_totals"} {
		q := projections.Query{Collection: coll, Limit: 1000}
		for {
			page, err := r.Find(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			out[coll] = append(out[coll], page.Docs...)
			if page.Next == "" {
				break
			}
			q.After = page.Next
		}
	}
	return out
}

// sameModel fails the test unless two snapshots hold the same documents.
func sameModel(t testing.TB, what string, want, got map[string][]projections.Doc) {
	t.Helper()
	for coll, docs := range want {
		g := got[coll]
		if len(g) != len(docs) {
			t.Fatalf("%s: %s has %d documents, want %d", what, coll, len(g), len(docs))
		}
		for i := range docs {
			a, b := docs[i], g[i]
			if a.ID != b.ID || a.Version != b.Version || string(a.Body) != string(b.Body) || fmt.Sprint(a.Fields) != fmt.Sprint(b.Fields) {
				t.Fatalf("%s: %s document %d differs:\nwant %s v%d %s %v\ngot  %s v%d %s %v", what, coll, i,
					a.ID, a.Version, a.Body, a.Fields, b.ID, b.Version, b.Body, b.Fields)
			}
		}
	}
}

// expected computes the ledger read model straight from the log, without the
// engine, so the tests compare against an independent answer.
func expected(t testing.TB, log projections.EventLog) (balances map[string]balance, tot totals) {
	t.Helper()
	reg := registry()
	balances = map[string]balance{}
	var after uint64
	for {
		recs, err := log.ReadAll(context.Background(), after, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			return balances, tot
		}
		for _, rec := range recs {
			after = rec.Position
			env, err := reg.Decode(rec)
			if err != nil {
				continue
			}
			bal := balances[rec.Stream]
			switch ev := env.Event.(type) {
			case deposited:
				bal.Owner = ev.Owner
				bal.Balance += ev.Amount
				bal.Closed = false
				tot.Deposits += ev.Amount
			case withdrawn:
				bal.Balance -= ev.Amount
			case closed:
				bal.Closed = true
			case poisoned:
				bal.Fixed++
			default:
				continue
			}
			bal.Events++
			tot.Events++
			balances[rec.Stream] = bal
		}
	}
}

// checkAgainstLog compares a snapshot with the model computed from the log.
func checkAgainstLog(t testing.TB, log projections.EventLog, snap map[string][]projections.Doc) {
	t.Helper()
	want, wantTot := expected(t, log)
	if len(snap["ledger_balances"]) != len(want) {
		t.Fatalf("%d balance documents, want %d", len(snap["ledger_balances"]), len(want))
	}
	open := 0
	for _, d := range snap["ledger_balances"] {
		var got balance
		if err := json.Unmarshal(d.Body, &got); err != nil {
			t.Fatal(err)
		}
		if got != want[d.ID] {
			t.Fatalf("balance of %s = %+v, want %+v", d.ID, got, want[d.ID])
		}
		if !got.Closed {
			open++
		}
	}
	if len(snap["ledger_open"]) != open {
		t.Fatalf("%d open accounts indexed, want %d", len(snap["ledger_open"]), open)
	}
	if len(snap["ledger_totals"]) != 1 {
		t.Fatalf("%d totals documents, want 1", len(snap["ledger_totals"]))
	}
	var tot totals
	if err := json.Unmarshal(snap["ledger_totals"][0].Body, &tot); err != nil {
		t.Fatal(err)
	}
	if tot != wantTot {
		t.Fatalf("totals = %+v, want %+v", tot, wantTot)
	}
}

// rebuildInto projects the whole log into a fresh read store and returns its
// snapshot: the reference a live run must equal.
func rebuildInto(t testing.TB, dir string, log projections.EventLog) map[string][]projections.Doc {
	t.Helper()
	views := openViews(t, filepath.Join(dir, "reference-views.db"))
	e := newEngine(t, log, views, &ledgerProjector{}, nil)
	if _, err := e.Rebuild(context.Background(), "ledger", nil); err != nil {
		t.Fatal(err)
	}
	return snapshot(t, views)
}
