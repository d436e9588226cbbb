package commands_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// readCounter is the real store with a count of stream reads, to show
// which paths read before they append.
type readCounter struct {
	commands.EventStore
	reads atomic.Int64
}

func (c *readCounter) ReadStream(ctx context.Context, stream string, from uint64, dir eventlog.Direction, limit int) ([]eventlog.Record, error) {
	c.reads.Add(1)
	return c.EventStore.ReadStream(ctx, stream, from, dir, limit)
}

func (f *runnerFixture) counted() (*readCounter, commands.Runner) {
	rc := &readCounter{EventStore: f.store}
	r := f.runner
	r.Store = rc
	return rc, r
}

func openTally(limit int) func(a *tally, now time.Time) error {
	return func(a *tally, now time.Time) error { return a.Open("owner", limit, now) }
}

func TestExecuteCreateAppendsANewStreamWithoutReadingIt(t *testing.T) {
	f := newRunnerFixture(t)
	rc, r := f.counted()

	res, err := commands.ExecuteCreate(f.ctx, r, "tally-new1", newTally, runnerMeta("payroll"), openTally(10))
	if err != nil {
		t.Fatal(err)
	}
	if res.Appended != 1 || res.Version != 1 || res.Position != f.lastPosition() {
		t.Errorf("result %+v, want one event at version 1 and the log's last position %d", res, f.lastPosition())
	}
	if n := rc.reads.Load(); n != 0 {
		t.Errorf("%d stream reads, want none for a new stream", n)
	}
	if got := f.types("tally-new1"); !runnerSameStrings(got, []string{"tally.Opened.v1"}) {
		t.Errorf("stream %v", got)
	}
}

func TestExecuteCreateRepeatOfTheSameCommandAppendsNothing(t *testing.T) {
	f := newRunnerFixture(t)
	_, r := f.counted()
	m := runnerMeta("payroll")
	if _, err := commands.ExecuteCreate(f.ctx, r, "tally-rep", newTally, m, openTally(10)); err != nil {
		t.Fatal(err)
	}
	last := f.lastPosition()

	again, err := commands.ExecuteCreate(f.ctx, r, "tally-rep", newTally, m, openTally(10))
	if err != nil {
		t.Fatal(err)
	}
	if again.Appended != 0 || again.Position != 0 || again.Version != 1 {
		t.Errorf("repeat: %+v, want nothing appended, at version 1", again)
	}
	if p := f.lastPosition(); p != last {
		t.Errorf("last position moved from %d to %d", last, p)
	}
}

// The store recognises a command by its event IDs, not by its content: a
// command ID used again for something else must be decided on the stored
// state, not answered as a repeat.
func TestExecuteCreateCommandIDUsedAgainForOtherContentIsDecidedOnTheStoredState(t *testing.T) {
	f := newRunnerFixture(t)
	_, r := f.counted()
	m := runnerMeta("payroll")
	if _, err := commands.ExecuteCreate(f.ctx, r, "tally-reuse", newTally, m, openTally(10)); err != nil {
		t.Fatal(err)
	}
	last := f.lastPosition()

	_, err := commands.ExecuteCreate(f.ctx, r, "tally-reuse", newTally, m, openTally(99))
	if !errors.Is(err, errTallyOpen) {
		t.Fatalf("err = %v, want %v from the stored state", err, errTallyOpen)
	}
	if p := f.lastPosition(); p != last {
		t.Errorf("last position moved from %d to %d", last, p)
	}
}

func TestExecuteCreateOnAnExistingStreamDecidesOnTheStoredState(t *testing.T) {
	f := newRunnerFixture(t)
	f.open("tally-old", 10)
	rc, r := f.counted()
	last := f.lastPosition()

	_, err := commands.ExecuteCreate(f.ctx, r, "tally-old", newTally, runnerMeta("second-opener"), openTally(99))
	if !errors.Is(err, errTallyOpen) {
		t.Fatalf("err = %v, want %v from the stored state", err, errTallyOpen)
	}
	if rc.reads.Load() == 0 {
		t.Error("the existing stream was never read: the refusal cannot come from its state")
	}
	if p := f.lastPosition(); p != last {
		t.Errorf("last position moved from %d to %d: a refused create appended", last, p)
	}
}

func TestExecuteCreateFallsBackWhenTheFreshDecisionFails(t *testing.T) {
	f := newRunnerFixture(t)
	f.open("tally-fb", 10)
	_, r := f.counted()

	// Increase refuses on a fresh (unopened) tally but succeeds on the
	// stored one: the fresh refusal must not be the answer.
	res, err := commands.ExecuteCreate(f.ctx, r, "tally-fb", newTally, runnerMeta("adder"), func(a *tally, now time.Time) error {
		return a.Increase(3, now)
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Appended != 1 || res.Version != 2 {
		t.Errorf("result %+v, want the increase appended at version 2", res)
	}
}

func TestExecuteCreateRefusesACommandWithoutID(t *testing.T) {
	f := newRunnerFixture(t)
	m := runnerMeta("x")
	m.CommandID = [16]byte{}
	if _, err := commands.ExecuteCreate(f.ctx, f.runner, "tally-noid", newTally, m, openTally(1)); err == nil {
		t.Fatal("a command without ID ran")
	}
	if got := f.records("tally-noid"); len(got) != 0 {
		t.Errorf("%d events appended", len(got))
	}
}
