package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/commands/ingest"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/statement"
)

// lineSource hands out one line a Read and calls stop as line stopAt is
// handed out: a client that hangs up, or Ctrl-C, mid-batch.
type lineSource struct {
	lines  []string
	next   int
	stopAt int
	stop   func()
}

func (s *lineSource) Read(p []byte) (int, error) {
	if s.next >= len(s.lines) {
		return 0, io.EOF
	}
	if s.next+1 == s.stopAt {
		s.stop()
	}
	n := copy(p, s.lines[s.next]+"\n")
	s.next++
	return n, nil
}

// TestInterruptedBatchReportsWhatWasStored stops a batch while many of its
// lines are being appended to the real event store and checks each line's
// answer against the log: accepted lines are stored, failed ones are not,
// and the summary counts the lines answered. The store answers well within
// the stop's grace, so no line is left unknown.
func TestInterruptedBatchReportsWhatWasStored(t *testing.T) {
	r := newRig(t)
	r.employees(t, 20)
	const total, stopAt = 3000, 1500
	lines := make([]string, total)
	for round := range 3 {
		ids := make([]string, total)
		for i := range lines {
			ids[i] = fmt.Sprintf("SG-%d-%d", round, i+1)
			lines[i] = slipLine(fmt.Sprintf("r%d-%d", round, i+1), ids[i], testIC(i%20), 1)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var results []ingest.Result
		sum, err := r.in.Run(ctx, &lineSource{lines: lines, stopAt: stopAt, stop: cancel}, r.src, func(res ingest.Result) error {
			results = append(results, res)
			return nil
		})
		cancel()
		if err == nil {
			t.Fatalf("round %d: the stopped batch returned no error", round)
		}
		var tally ingest.Summary
		answered := map[int]bool{}
		for _, res := range results {
			answered[res.Line] = true
			switch res.Outcome {
			case ingest.Accepted:
				tally.Accepted++
			case ingest.Failed:
				tally.Failed++
			default:
				t.Errorf("round %d: line %d: %+v", round, res.Line, res)
			}
			recs, err := r.store.ReadStream(context.Background(), statement.Stream(ids[res.Line-1]), 0, eventlog.Forwards, 10)
			if err != nil {
				t.Fatal(err)
			}
			stored := len(recs) > 0
			switch {
			case res.Outcome == ingest.Accepted && !stored:
				t.Errorf("round %d: line %d answered accepted but is not in the log", round, res.Line)
			case res.Outcome == ingest.Failed && stored:
				t.Errorf("round %d: line %d answered %q (%s) but is in the log", round, res.Line, res.Code, res.Reason)
			case res.Outcome == ingest.Failed && !strings.Contains(res.Reason, "before this line ran"):
				t.Errorf("round %d: line %d answered %q (%s), want it not run", round, res.Line, res.Code, res.Reason)
			}
		}
		// A line never answered was never run.
		for i, id := range ids {
			if answered[i+1] {
				continue
			}
			recs, err := r.store.ReadStream(context.Background(), statement.Stream(id), 0, eventlog.Forwards, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) > 0 {
				t.Errorf("round %d: line %d was not answered but is in the log", round, i+1)
			}
		}
		if sum.Lines != len(results) || sum.Accepted != tally.Accepted || sum.Failed != tally.Failed {
			t.Errorf("round %d: summary %+v, lines answered %d (%d accepted, %d failed)", round, sum, len(results), tally.Accepted, tally.Failed)
		}
		t.Logf("round %d: %d lines answered: %d accepted, %d failed", round, len(results), tally.Accepted, tally.Failed)
	}
}

// stuckStatements never answers until its context ends: a store that hangs.
type stuckStatements struct{ started chan struct{} }

func (h stuckStatements) Handle(ctx context.Context, cmd commands.IssueStatement) (commands.Result, error) {
	close(h.started)
	<-ctx.Done()
	return commands.Result{}, ctx.Err()
}

// A line still running when the stop's grace runs out cannot be known to be
// stored or not: it says so, and that a re-send is safe, rather than
// "failed" as if nothing were stored.
func TestLineStillRunningAfterTheStopGraceMayBeStored(t *testing.T) {
	r := newRig(t)
	r.employees(t, 1)
	stuck := stuckStatements{started: make(chan struct{})}
	r.in.Statements, r.in.StopGrace = stuck, 50*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-stuck.started; cancel() }()
	var results []ingest.Result
	t0 := time.Now()
	sum, err := r.in.Run(ctx, strings.NewReader(slipLine("g1", "SG-G-1", testIC(0), 1)+"\n"), r.src, func(res ingest.Result) error {
		results = append(results, res)
		return nil
	})
	if err == nil || time.Since(t0) > 5*time.Second {
		t.Fatalf("err %v after %s, want the stop's error after the grace", err, time.Since(t0))
	}
	if len(results) != 1 || results[0].Outcome != ingest.Failed || results[0].Code != ingest.CodeMaybeStored ||
		!strings.Contains(results[0].Reason, "may have been stored") || sum.Failed != 1 || sum.Lines != 1 {
		t.Fatalf("%+v %+v", results, sum)
	}
}

// countedStatements counts the lines its handler has finished and closes
// all once want of them have.
type countedStatements struct {
	next commands.Handler[commands.IssueStatement]
	mu   sync.Mutex
	n    int
	want int
	all  chan struct{}
}

func (h *countedStatements) Handle(ctx context.Context, cmd commands.IssueStatement) (commands.Result, error) {
	res, err := h.next.Handle(ctx, cmd)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n++; h.n == h.want {
		close(h.all)
	}
	return res, err
}

// When an answer cannot be written (the client went away, stdout closed),
// the lines already running still finish and are stored: the summary
// counts them, and says how many of the lines it counts were not answered,
// rather than counting only the lines answered.
func TestLinesStoredAfterTheAnswersBrokeAreCounted(t *testing.T) {
	r := newRig(t)
	r.employees(t, 1)
	const total = 50
	counted := &countedStatements{next: r.in.Statements, want: total, all: make(chan struct{})}
	r.in.Statements = counted
	var b strings.Builder
	for i := range total {
		fmt.Fprintln(&b, slipLine(fmt.Sprint("w", i), fmt.Sprint("SW-", i), testIC(0), 1))
	}
	broken := errors.New("write: broken pipe")
	answers := 0
	sum, err := r.in.Run(context.Background(), strings.NewReader(b.String()), r.src, func(ingest.Result) error {
		if answers++; answers < 3 {
			return nil
		}
		// Every line is running or stored by the time the third answer
		// fails to go out.
		<-counted.all
		return broken
	})
	if !errors.Is(err, broken) {
		t.Fatalf("err %v, want the answer's error", err)
	}
	stored := 0
	for i := range total {
		recs, err := r.store.ReadStream(context.Background(), statement.Stream(fmt.Sprint("SW-", i)), 0, eventlog.Forwards, 1)
		if err != nil {
			t.Fatal(err)
		}
		stored += len(recs)
	}
	if stored != total {
		t.Fatalf("%d of %d lines stored, want every line the batch ran", stored, total)
	}
	if sum.Lines != total || sum.Accepted != stored || sum.Unanswered != total-2 {
		t.Fatalf("summary %+v: want %d lines, %d accepted, %d of them unanswered (2 answers written)", sum, total, stored, total-2)
	}
}
