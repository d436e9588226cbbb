package commands_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
)

// The runner is tested with a test-only aggregate, a tally with a ceiling:
// it is opened once, counts up, and refuses (recording the refusal, as a
// refused login is recorded) to go past its limit.

type tallyOpened struct {
	Owner string `json:"owner"`
	Limit int    `json:"limit"`
}

func (tallyOpened) EventType() string { return "tally.Opened.v1" }

type tallyAdded struct {
	By int `json:"by"`
}

func (tallyAdded) EventType() string { return "tally.Added.v1" }

type tallyRefused struct {
	Wanted int `json:"wanted"`
}

func (tallyRefused) EventType() string { return "tally.Refused.v1" }

func registerTally(reg *eventlog.Registry) {
	eventlog.Register[tallyOpened](reg)
	eventlog.Register[tallyAdded](reg)
	eventlog.Register[tallyRefused](reg)
}

var (
	errTallyOpen    = errors.New("tally: already open")
	errTallyNotOpen = errors.New("tally: not open")
	errTallyFull    = errors.New("tally: limit reached")
)

type tally struct {
	eventlog.Changes
	open     bool
	owner    string
	limit    int
	total    int
	refusals int
}

func newTally() *tally { return &tally{} }

func (a *tally) Apply(e eventlog.Event) error {
	switch e := e.(type) {
	case tallyOpened:
		if a.open {
			return errTallyOpen
		}
		a.open, a.owner, a.limit = true, e.Owner, e.Limit
	case tallyAdded:
		if !a.open {
			return errTallyNotOpen
		}
		a.total += e.By
	case tallyRefused:
		a.refusals++
	default:
		return fmt.Errorf("tally: unknown event %T", e)
	}
	return nil
}

func (a *tally) record(e eventlog.Event) error {
	if err := a.Apply(e); err != nil {
		return err
	}
	a.Add(e)
	return nil
}

func (a *tally) Open(owner string, limit int, _ time.Time) error {
	if a.open {
		if a.owner == owner && a.limit == limit {
			return nil // the same open again: a repeat, like a re-sent record
		}
		return errTallyOpen
	}
	return a.record(tallyOpened{Owner: owner, Limit: limit})
}

func (a *tally) Increase(by int, _ time.Time) error {
	if !a.open {
		return errTallyNotOpen
	}
	if a.total+by > a.limit {
		if err := a.record(tallyRefused{Wanted: by}); err != nil {
			return err
		}
		return errTallyFull
	}
	return a.record(tallyAdded{By: by})
}

// runnerFixture is a real SQLite event store in a temporary directory with
// the tally registered and a fixed clock.
type runnerFixture struct {
	t      *testing.T
	ctx    context.Context
	store  *sqlite.Store
	reg    *eventlog.Registry
	runner commands.Runner
}

var runnerNow = time.Date(2026, 2, 2, 1, 30, 0, 0, time.UTC)

func newRunnerFixture(t *testing.T) *runnerFixture {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "events.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	reg := eventlog.NewRegistry()
	registerTally(reg)
	return &runnerFixture{
		t: t, ctx: ctx, store: store, reg: reg,
		runner: commands.Runner{Store: store, Registry: reg, Now: func() time.Time { return runnerNow }},
	}
}

func runnerMeta(actor string) commands.Meta {
	return commands.Meta{
		CommandID:     uuid.New(),
		CorrelationID: "corr-" + actor,
		Actor:         eventlog.Actor{Kind: eventlog.ActorUser, ID: actor},
		SourceIP:      "10.0.0.7",
		UserAgent:     "runner-test",
	}
}

func (f *runnerFixture) open(stream string, limit int) commands.Result {
	f.t.Helper()
	res, err := commands.Execute(f.ctx, f.runner, stream, newTally, runnerMeta("owner"), func(a *tally, now time.Time) error {
		return a.Open("owner", limit, now)
	})
	if err != nil {
		f.t.Fatalf("given the tally %s is open: %v", stream, err)
	}
	return res
}

func (f *runnerFixture) increase(stream string, m commands.Meta, by int) (commands.Result, error) {
	return commands.Execute(f.ctx, f.runner, stream, newTally, m, func(a *tally, now time.Time) error {
		return a.Increase(by, now)
	})
}

func (f *runnerFixture) records(stream string) []eventlog.Record {
	f.t.Helper()
	recs, err := f.store.ReadStream(f.ctx, stream, 1, eventlog.Forwards, 10000)
	if err != nil {
		f.t.Fatal(err)
	}
	return recs
}

func (f *runnerFixture) types(stream string) []string {
	f.t.Helper()
	var out []string
	for _, r := range f.records(stream) {
		out = append(out, r.Type)
	}
	return out
}

func (f *runnerFixture) lastPosition() uint64 {
	f.t.Helper()
	p, err := f.store.LastPosition(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func runnerSameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRunnerAppendsWithTheLoadedVersionAndEnvelope(t *testing.T) {
	f := newRunnerFixture(t)
	const s = "tally-t1"

	// Given an open tally, when it is increased,
	created := f.open(s, 10)
	if created.Version != 1 || created.Appended != 1 || created.Position == 0 {
		t.Fatalf("open: result %+v, want version 1, one event, a position", created)
	}
	m := runnerMeta("u1")
	res, err := f.increase(s, m, 3)
	if err != nil {
		t.Fatal(err)
	}

	// then one event lands at version 2, and the result says where.
	if res.Version != 2 || res.Appended != 1 || res.Position <= created.Position {
		t.Fatalf("increase: result %+v, want version 2, one event, after position %d", res, created.Position)
	}
	if last := f.lastPosition(); res.Position != last {
		t.Errorf("result position %d, log's last position %d", res.Position, last)
	}
	recs := f.records(s)
	if len(recs) != 2 {
		t.Fatalf("stream has %d events, want 2", len(recs))
	}
	rec := recs[1]
	if rec.Type != "tally.Added.v1" || rec.Version != 2 || rec.Position != res.Position {
		t.Errorf("stored %s version %d position %d", rec.Type, rec.Version, rec.Position)
	}
	if rec.ID != commands.EventID(m.CommandID, s, 0) {
		t.Errorf("event ID %s, want the one derived from the command ID", rec.ID)
	}
	if !rec.OccurredAt.Equal(runnerNow) {
		t.Errorf("occurred at %s, want the runner's clock %s", rec.OccurredAt, runnerNow)
	}
	want := eventlog.Metadata{CorrelationID: m.CorrelationID, CausationID: m.CommandID.String(), Actor: m.Actor, SourceIP: m.SourceIP, UserAgent: m.UserAgent}
	got := rec.Metadata
	got.Prev, got.Hash = "", ""
	if got != want {
		t.Errorf("metadata %+v, want %+v", got, want)
	}
	var data tallyAdded
	if err := json.Unmarshal(rec.Data, &data); err != nil || data.By != 3 {
		t.Errorf("data %s (%v), want by 3", rec.Data, err)
	}
	if b := eventlog.VerifyStream(recs); b != nil {
		t.Errorf("integrity: %v", b)
	}

	// Creating an aggregate that exists is refused by the domain, not by a
	// silent overwrite: the runner loaded version 2 and decided on it.
	_, err = commands.Execute(f.ctx, f.runner, s, newTally, runnerMeta("u2"), func(a *tally, now time.Time) error {
		return a.Open("someone else", 99, now)
	})
	if !errors.Is(err, errTallyOpen) {
		t.Errorf("second open: %v, want %v", err, errTallyOpen)
	}
	if n := len(f.records(s)); n != 2 {
		t.Errorf("stream has %d events after a refused open, want 2", n)
	}
}

func TestRunnerRetriesAfterAConcurrentWriterAndDecidesOnTheNewState(t *testing.T) {
	f := newRunnerFixture(t)
	const s = "tally-t2"
	f.open(s, 10)

	calls := 0
	var seen []int
	res, err := commands.Execute(f.ctx, f.runner, s, newTally, runnerMeta("slow"), func(a *tally, now time.Time) error {
		calls++
		seen = append(seen, a.total)
		if calls == 1 {
			// Another writer appends between our load and our append.
			if _, err := f.increase(s, runnerMeta("fast"), 4); err != nil {
				return err
			}
		}
		return a.Increase(5, now)
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Fatalf("decide ran %d times, want 2 (one conflict, one reload)", calls)
	}
	if seen[0] != 0 || seen[1] != 4 {
		t.Errorf("decide saw totals %v, want [0 4]: the retry must see the concurrent write", seen)
	}
	if res.Version != 3 || res.Appended != 1 {
		t.Errorf("result %+v, want version 3", res)
	}
	if got := f.types(s); !runnerSameStrings(got, []string{"tally.Opened.v1", "tally.Added.v1", "tally.Added.v1"}) {
		t.Errorf("stream %v", got)
	}

	// The state decided on is the one stored: 4 + 5 = 9, so 2 more is refused.
	_, err = f.increase(s, runnerMeta("late"), 2)
	if !errors.Is(err, errTallyFull) {
		t.Errorf("increase past the limit after the retry: %v, want %v", err, errTallyFull)
	}
}

func TestRunnerGivesUpWithErrConflictAfterBoundedRetries(t *testing.T) {
	f := newRunnerFixture(t)
	const s = "tally-t3"
	f.open(s, 100)
	f.runner.MaxAttempts = 3

	calls := 0
	res, err := commands.Execute(f.ctx, f.runner, s, newTally, runnerMeta("unlucky"), func(a *tally, now time.Time) error {
		calls++
		if _, err := f.increase(s, runnerMeta(fmt.Sprintf("rival%d", calls)), 1); err != nil {
			return err
		}
		return a.Increase(10, now)
	})
	if !errors.Is(err, commands.ErrConflict) {
		t.Fatalf("err = %v, want commands.ErrConflict", err)
	}
	if calls != 3 {
		t.Errorf("decide ran %d times, want MaxAttempts = 3", calls)
	}
	if res != (commands.Result{}) {
		t.Errorf("result %+v, want zero", res)
	}
	var rivals int
	for _, r := range f.records(s)[1:] {
		var d tallyAdded
		if err := json.Unmarshal(r.Data, &d); err != nil {
			t.Fatal(err)
		}
		if d.By != 1 {
			t.Errorf("version %d adds %d: the command that gave up left an event", r.Version, d.By)
		}
		rivals++
	}
	if rivals != 3 {
		t.Errorf("%d rival events, want 3", rivals)
	}
}

func TestRunnerRepeatedCommandAppendsNothingAndReturnsTheOriginalResult(t *testing.T) {
	f := newRunnerFixture(t)
	const s = "tally-t4"
	f.open(s, 100)

	m := runnerMeta("retrying-client")
	first, err := f.increase(s, m, 7)
	if err != nil {
		t.Fatal(err)
	}
	// Other commands move the stream on before the retry arrives, so the
	// retry loads a newer version and expects that one.
	if _, err := f.increase(s, runnerMeta("other"), 1); err != nil {
		t.Fatal(err)
	}
	last := f.lastPosition()

	again, err := f.increase(s, m, 7)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Errorf("repeated command: result %+v, want the original %+v", again, first)
	}
	if again.Position != first.Position {
		t.Errorf("repeated command: position %d, want the original %d", again.Position, first.Position)
	}
	if p := f.lastPosition(); p != last {
		t.Errorf("last position moved from %d to %d: the repeat appended", last, p)
	}
	if got := f.types(s); len(got) != 3 {
		t.Errorf("stream has %d events, want 3 (open, 7, 1)", len(got))
	}
}

func TestRunnerAppendsRecordedEventsAndReturnsTheDecisionError(t *testing.T) {
	f := newRunnerFixture(t)
	const s = "tally-t5"
	f.open(s, 5)

	// When the increase is refused, the refusal is both recorded and reported.
	res, err := f.increase(s, runnerMeta("greedy"), 6)
	if !errors.Is(err, errTallyFull) {
		t.Fatalf("err = %v, want %v", err, errTallyFull)
	}
	if res.Appended != 1 || res.Version != 2 || res.Position == 0 {
		t.Errorf("result %+v, want the refusal appended at version 2 with its position", res)
	}
	if got := f.types(s); !runnerSameStrings(got, []string{"tally.Opened.v1", "tally.Refused.v1"}) {
		t.Errorf("stream %v, want the refusal stored", got)
	}

	// A decision that records nothing and fails appends nothing.
	before := f.lastPosition()
	res, err = commands.Execute(f.ctx, f.runner, "tally-never-opened", newTally, runnerMeta("x"), func(a *tally, now time.Time) error {
		return a.Increase(1, now)
	})
	if !errors.Is(err, errTallyNotOpen) {
		t.Errorf("err = %v, want %v", err, errTallyNotOpen)
	}
	if res != (commands.Result{}) {
		t.Errorf("result %+v, want zero (nothing appended, version 0)", res)
	}
	if p := f.lastPosition(); p != before {
		t.Errorf("last position moved from %d to %d", before, p)
	}
}

func TestRunnerFailsToLoadAStreamWithAnUnknownEventType(t *testing.T) {
	f := newRunnerFixture(t)
	const s = "tally-t6"
	f.open(s, 10)
	_, err := f.store.Append(f.ctx, s, eventlog.Exactly(1), []eventlog.Proposed{{
		ID: uuid.New(), Type: "tally.Renamed.v1", OccurredAt: runnerNow, Data: json.RawMessage(`{"to":"x"}`),
		Metadata: eventlog.Metadata{Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "future-version"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	before := f.lastPosition()

	decided := false
	_, err = commands.Execute(f.ctx, f.runner, s, newTally, runnerMeta("u"), func(a *tally, now time.Time) error {
		decided = true
		return a.Increase(1, now)
	})
	var unknown *eventlog.UnknownTypeError
	if !errors.As(err, &unknown) || unknown.Type != "tally.Renamed.v1" {
		t.Fatalf("err = %v, want *eventlog.UnknownTypeError naming tally.Renamed.v1", err)
	}
	if decided {
		t.Error("decide ran on an aggregate that could not be loaded")
	}
	if p := f.lastPosition(); p != before {
		t.Errorf("last position moved from %d to %d", before, p)
	}
}

func TestRunnerReportsAStoredEventTheAggregateRefuses(t *testing.T) {
	f := newRunnerFixture(t)
	const s = "tally-t7"
	// An Added event on a stream that was never opened: the history is
	// impossible for the aggregate and must not be decided on.
	data, _ := json.Marshal(tallyAdded{By: 1})
	if _, err := f.store.Append(f.ctx, s, eventlog.NoStream(), []eventlog.Proposed{{
		ID: uuid.New(), Type: "tally.Added.v1", OccurredAt: runnerNow, Data: data,
		Metadata: eventlog.Metadata{Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "import"}},
	}}); err != nil {
		t.Fatal(err)
	}
	_, err := f.increase(s, runnerMeta("u"), 1)
	if !errors.Is(err, errTallyNotOpen) {
		t.Fatalf("err = %v, want the aggregate's replay error %v", err, errTallyNotOpen)
	}
	// The stream is named by its label: stream IDs are often IC numbers.
	if msg := err.Error(); !strings.Contains(msg, commands.StreamLabel(s)) || strings.Contains(msg, s) || !strings.Contains(msg, "version 1") {
		t.Errorf("error %q does not name the stream label and version, or shows the stream ID", msg)
	}
}

func TestRunnerLoadsStreamsLongerThanOnePage(t *testing.T) {
	f := newRunnerFixture(t)
	const s = "tally-t8"
	f.open(s, 1_000_000)
	// 700 increases of 1, written in batches straight to the store: more
	// than one read page of the runner.
	version := uint64(1)
	for batch := 0; batch < 7; batch++ {
		evs := make([]eventlog.Proposed, 100)
		for i := range evs {
			data, _ := json.Marshal(tallyAdded{By: 1})
			evs[i] = eventlog.Proposed{ID: uuid.New(), Type: "tally.Added.v1", OccurredAt: runnerNow, Data: data,
				Metadata: eventlog.Metadata{Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "bulk"}}}
		}
		res, err := f.store.Append(f.ctx, s, eventlog.Exactly(version), evs)
		if err != nil {
			t.Fatal(err)
		}
		version = res.LastVersion
	}
	var total int
	res, err := commands.Execute(f.ctx, f.runner, s, newTally, runnerMeta("u"), func(a *tally, now time.Time) error {
		total = a.total
		return a.Increase(1, now)
	})
	if err != nil {
		t.Fatal(err)
	}
	if total != 700 {
		t.Errorf("aggregate loaded with total %d, want 700", total)
	}
	if res.Version != 702 {
		t.Errorf("appended at version %d, want 702", res.Version)
	}
}

func TestRunnerRefusesACommandWithoutID(t *testing.T) {
	f := newRunnerFixture(t)
	m := runnerMeta("u")
	m.CommandID = uuid.Nil
	_, err := f.increase("tally-t9", m, 1)
	if err == nil {
		t.Fatal("a command without an ID ran")
	}
	if p := f.lastPosition(); p != 0 {
		t.Errorf("last position %d, want 0", p)
	}
}

// One command ID may land on two records (a finance client's request ID is
// unique per record): each stream's events get IDs of their own, so the log
// never holds one event ID twice (the SQLite store would refuse the second
// append, KurrentDB would store it and the NATS publisher drop it), and a
// repeat on either stream is still recognised.
func TestRunnerOneCommandIDOnTwoStreamsGivesEachItsOwnEventIDs(t *testing.T) {
	f := newRunnerFixture(t)
	m := runnerMeta("payroll")
	streams := []string{"tally-a", "tally-b"}
	for _, s := range streams {
		if _, err := commands.ExecuteCreate(f.ctx, f.runner, s, newTally, m, openTally(10)); err != nil {
			t.Fatalf("open %s: %v", s, err)
		}
	}
	n := runnerMeta("payroll")
	for _, s := range streams {
		if res, err := f.increase(s, n, 2); err != nil || res.Appended != 1 {
			t.Fatalf("increase %s: %+v, %v", s, res, err)
		}
	}
	last := f.lastPosition()
	for _, s := range streams {
		if _, err := commands.ExecuteCreate(f.ctx, f.runner, s, newTally, m, openTally(10)); err != nil {
			t.Errorf("open %s again: %v", s, err)
		}
		if _, err := f.increase(s, n, 2); err != nil {
			t.Errorf("increase %s again: %v", s, err)
		}
	}
	if p := f.lastPosition(); p != last {
		t.Errorf("last position moved from %d to %d: a repeat appended", last, p)
	}
	recs, err := f.store.ReadAll(f.ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uuid.UUID]string{}
	for _, rec := range recs {
		if other, dup := seen[rec.ID]; dup {
			t.Errorf("event ID %s in %s and %s", rec.ID, other, rec.Stream)
		}
		seen[rec.ID] = rec.Stream
		// Each command here records one event: index 0.
		if want := commands.EventID(uuid.MustParse(rec.Metadata.CausationID), rec.Stream, 0); rec.ID != want {
			t.Errorf("%s version %d: event ID %s, want %s", rec.Stream, rec.Version, rec.ID, want)
		}
	}
	if len(recs) != 4 {
		t.Errorf("%d events in the log, want 4 (open and increase on each stream)", len(recs))
	}
}

func TestEventIDDependsOnTheStream(t *testing.T) {
	cmd := uuid.MustParse("3b8c6a52-0f27-4c9e-9d0b-6c1f2a7e5d44")
	ids := map[uuid.UUID]string{
		// The derivation of events stored before the stream was part of it.
		uuid.NewSHA1(cmd, []byte("event-0")): "old derivation",
	}
	for _, c := range []struct {
		stream string
		i      int
	}{{"payment-P1", 0}, {"payment-P2", 0}, {"payment-P1", 1}, {"payment-P11", 0}, {"payment-P1", 10}, {"", 0}} {
		id := commands.EventID(cmd, c.stream, c.i)
		name := fmt.Sprintf("%s #%d", c.stream, c.i)
		if other, dup := ids[id]; dup {
			t.Errorf("%s and %s derive the same event ID %s", other, name, id)
		}
		ids[id] = name
		if again := commands.EventID(cmd, c.stream, c.i); again != id {
			t.Errorf("%s: %s, then %s", name, id, again)
		}
	}
}

// The same command landing between this one's load and its append (one
// request on two connections at once): the store answers the append as a
// replay, having compared event IDs only. The runner decides again on the
// stream that now holds the command, so an aggregate that remembers its
// commands can tell a repeat from the ID reused for another change; before,
// the answer was the other append's, whatever this one had asked for.
func TestRunnerDecidesAgainWhenItsCommandLandedAfterTheLoad(t *testing.T) {
	f := newRunnerFixture(t)
	const s = "tally-t9"
	f.open(s, 100)
	m := runnerMeta("two-connections")
	calls := 0
	var seen []int
	res, err := commands.Execute(f.ctx, f.runner, s, newTally, m, func(a *tally, now time.Time) error {
		calls++
		seen = append(seen, a.total)
		if calls == 1 {
			if _, err := f.increase(s, m, 7); err != nil { // the other connection, same command ID
				return err
			}
		}
		return a.Increase(7, now)
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 || seen[1] != 7 {
		t.Fatalf("decide ran %d times on totals %v, want twice, the second on the stored command", calls, seen)
	}
	if got := f.types(s); len(got) != 2 || res.Version != 2 {
		t.Errorf("stream %v, result %+v: want one Added, the other connection's", got, res)
	}
}

// The same, when the other connection's append lands on this command's
// last attempt (the record was busy before): deciding again on the stream
// that holds the command is not another conflict, so it does not use up
// an attempt. Before, the runner gave up with ErrConflict — "nothing was
// changed, send it again" — about a command that was stored.
func TestRunnerDecidesAgainEvenOnItsLastAttempt(t *testing.T) {
	f := newRunnerFixture(t)
	f.runner.MaxAttempts = 1
	const s = "tally-t10"
	f.open(s, 100)
	m := runnerMeta("two-connections")
	calls := 0
	res, err := commands.Execute(f.ctx, f.runner, s, newTally, m, func(a *tally, now time.Time) error {
		calls++
		if calls == 1 {
			if _, err := f.increase(s, m, 7); err != nil { // the other connection, same command ID
				return err
			}
		}
		return a.Increase(7, now)
	})
	if err != nil {
		t.Fatalf("the command stored by the other connection: %v, want its answer", err)
	}
	if calls != 2 || len(f.types(s)) != 2 || res.Version != 2 {
		t.Fatalf("decide ran %d times, stream %v, result %+v", calls, f.types(s), res)
	}
}

// TestRunnerEventsOccurAtTheDecision: the events a decision records occurred
// at the time the decision was given, not at a later reading of the clock.
// A session counts as begun at its login's decision and the sessions an
// event ends are those begun before it: with two readings, the password
// change that ends the account's other sessions ended its own.
func TestRunnerEventsOccurAtTheDecision(t *testing.T) {
	f := newRunnerFixture(t)
	var mu sync.Mutex
	tick := runnerNow
	f.runner.Now = func() time.Time { // every reading a millisecond later
		mu.Lock()
		defer mu.Unlock()
		tick = tick.Add(time.Millisecond)
		return tick
	}
	for _, run := range []struct {
		stream string
		exec   func(stream string, decide func(*tally, time.Time) error) error
	}{
		{"tally-decided", func(stream string, decide func(*tally, time.Time) error) error {
			if _, err := commands.Execute(f.ctx, f.runner, stream, newTally, runnerMeta("u1"), func(a *tally, now time.Time) error { return a.Open("o", 1, now) }); err != nil {
				return err
			}
			_, err := commands.Execute(f.ctx, f.runner, stream, newTally, runnerMeta("u1"), decide)
			return err
		}},
		{"tally-created", func(stream string, decide func(*tally, time.Time) error) error {
			_, err := commands.ExecuteCreate(f.ctx, f.runner, stream, newTally, runnerMeta("u1"), decide)
			return err
		}},
	} {
		var decidedAt time.Time
		err := run.exec(run.stream, func(a *tally, now time.Time) error {
			decidedAt = now
			if !a.open {
				return a.Open("o", 1, now)
			}
			return a.Increase(1, now)
		})
		if err != nil {
			t.Fatal(err)
		}
		recs := f.records(run.stream)
		if last := recs[len(recs)-1]; !last.OccurredAt.Equal(decidedAt) {
			t.Errorf("%s: occurred at %s, decided at %s", run.stream, last.OccurredAt, decidedAt)
		}
	}
}
