package engine_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	eventsqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/engine"
)

// shadowTables lists the SQLite read store's shadow tables (its "s_"
// prefix: the test pins what the file holds, not what the port says).
func shadowTables(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 's\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

var ledgerShadows = []string{"s_engine_gen_ledger", "s_ledger_balances", "s_ledger_open", "s_ledger_totals"}

// A rebuild cut short (a console's `projections rebuild` interrupted, a
// portal stopped during a layout rebuild) leaves its shadow tables; the
// next start drops them rather than keep them until the projector's next
// rebuild. So does a start after a rebuild whose process was killed, once
// its claim has lapsed.
func TestStartDropsAnInterruptedRebuildsShadows(t *testing.T) {
	log, views, path, head := stampedLedger(t)
	ctx := context.Background()

	interrupted := &gatedLedger{layoutLedger: layoutLedger{layout: 1}, gate: make(chan struct{})}
	rctx, cancel := context.WithCancel(ctx)
	rebuilt := make(chan error, 1)
	go func() {
		_, err := newEngine(t, log, views, interrupted, nil).Rebuild(rctx, "ledger", nil)
		rebuilt <- err
	}()
	waitFor(t, func() bool { return interrupted.entered.Load() })
	cancel()
	close(interrupted.gate)
	if err := <-rebuilt; !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted rebuild: %v", err)
	}
	if got := shadowTables(t, path); !slices.Equal(got, ledgerShadows) {
		t.Fatalf("shadow tables after the interrupted rebuild: %q, want %q", got, ledgerShadows)
	}

	startUntil(t, log, views, head)
	if got := shadowTables(t, path); len(got) != 0 {
		t.Fatalf("shadow tables after the next start: %q, want none", got)
	}
	checkAgainstLog(t, log, snapshot(t, views))

	// A killed rebuild: its shadows and a claim it could not give up,
	// lapsed by the time of the next start.
	if _, err := views.BeginRebuild(ctx, "ledger", (&layoutLedger{layout: 1}).Collections()...); err != nil {
		t.Fatal(err)
	}
	putClaim(t, views, 1, time.Now().Add(-time.Hour))
	startUntil(t, log, views, head)
	if got := shadowTables(t, path); len(got) != 0 {
		t.Fatalf("shadow tables of a killed rebuild after the next start: %q, want none", got)
	}
}

// A start while another process rebuilds the projector (it holds the
// claim) leaves that rebuild's shadows alone: the rebuild swaps in the
// whole model.
func TestStartLeavesARunningRebuildsShadows(t *testing.T) {
	log, views, path, head := stampedLedger(t)
	ctx := context.Background()

	running := &gatedLedger{layoutLedger: layoutLedger{layout: 1}, gate: make(chan struct{})}
	rebuilt := make(chan error, 1)
	go func() {
		// Another process: a store of its own over the same file.
		_, err := newEngine(t, log, openViews(t, path), running, nil).Rebuild(ctx, "ledger", nil)
		rebuilt <- err
	}()
	waitFor(t, func() bool { return running.entered.Load() })

	e := newEngine(t, log, views, &layoutLedger{layout: 1}, nil)
	stop := run(t, e)
	defer stop()
	if err := e.WaitFor(ctx, head); err != nil {
		t.Fatal(err)
	}
	if got := shadowTables(t, path); !slices.Equal(got, ledgerShadows) {
		t.Fatalf("shadow tables of the running rebuild after a start: %q, want %q", got, ledgerShadows)
	}
	close(running.gate)
	if err := <-rebuilt; err != nil {
		t.Fatalf("the running rebuild: %v", err)
	}
	if _, tot := expected(t, log); running.projected.Load() != int64(tot.Events) {
		t.Errorf("the rebuild projected %d events, want %d", running.projected.Load(), tot.Events)
	}
	checkAgainstLog(t, log, snapshot(t, views))
}

// A console's rebuild begun while a starting process holds its brief
// Cleanup claim (dropping a cut-short rebuild's shadows) waits for that
// claim to go rather than refuse as if another rebuild ran.
func TestRebuildWaitsOutAStartsCleanupClaim(t *testing.T) {
	log, views, _, _ := stampedLedger(t)
	putClaimDoc(t, views, 1, claim{Owner: "a starting portal", Layout: 1, At: time.Now(), Cleanup: true})
	rebuilt := make(chan error, 1)
	var bar syncBuffer
	go func() {
		_, err := newEngine(t, log, views, &layoutLedger{layout: 1}, nil).Rebuild(context.Background(), "ledger", &bar)
		rebuilt <- err
	}()
	select {
	case err := <-rebuilt:
		t.Fatalf("the rebuild did not wait for the Cleanup claim: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if !strings.Contains(bar.String(), "waiting for a starting process") {
		t.Errorf("the rebuild waits without saying so: %q", bar.String())
	}
	putClaimDoc(t, views, 2, claim{}) // given up, as releaseRelayout does
	if err := <-rebuilt; err != nil {
		t.Fatalf("rebuild after the Cleanup claim went: %v", err)
	}
	checkAgainstLog(t, log, snapshot(t, views))
}

// stampedLedger is a log of 100 events and a read store in dir (path:
// its file) with the ledger of layout 1 projected up to head.
func stampedLedger(t *testing.T) (log *eventsqlite.Store, views projections.ReadStore, path string, head uint64) {
	t.Helper()
	dir := t.TempDir()
	path = filepath.Join(dir, "views.db")
	log, views = openEvents(t, dir), openViews(t, path)
	head = newGen(log, 10).fill(t, 100, 10)
	startUntil(t, log, views, head) // layout 1 stamped
	return log, views, path, head
}

// startUntil starts an engine over the ledger of layout 1, as the portal
// starts its projectors, and stops it once it has projected head.
func startUntil(t *testing.T, log *eventsqlite.Store, views projections.ReadStore, head uint64) {
	t.Helper()
	e := newEngine(t, log, views, &layoutLedger{layout: 1}, nil)
	stop := run(t, e)
	defer stop()
	if err := e.WaitFor(context.Background(), head); err != nil {
		t.Fatal(err)
	}
}

// A rebuild killed moments before a start left its shadows and a claim
// still live: the start leaves them (the rebuild may be running), and once
// the claim has lapsed, unrenewed, the running engine drops them without
// waiting for the next start.
func TestRunningEngineDropsAKilledRebuildsShadowsOnceItsClaimLapses(t *testing.T) {
	log, views, path, head := stampedLedger(t)
	ctx := context.Background()

	if _, err := views.BeginRebuild(ctx, "ledger", (&layoutLedger{layout: 1}).Collections()...); err != nil {
		t.Fatal(err)
	}
	left := shadowTables(t, path)
	if len(left) == 0 {
		t.Fatal("the killed rebuild left no shadow tables")
	}
	const term = 500 * time.Millisecond
	claimed := time.Now()
	putClaim(t, views, 1, claimed) // live for a term, and never renewed
	e := newEngine(t, log, views, &layoutLedger{layout: 1}, func(c *engine.Config) { c.RebuildClaim = term })
	stop := run(t, e)
	defer stop()
	if err := e.WaitFor(ctx, head); err != nil {
		t.Fatal(err)
	}
	// Checked only well inside the term (a slow machine may be past it).
	if got := shadowTables(t, path); time.Since(claimed) < term/2 && !slices.Equal(got, left) {
		t.Fatalf("shadow tables while the claim is live: %q, want %q", got, left)
	}
	waitFor(t, func() bool { return len(shadowTables(t, path)) == 0 })
	checkAgainstLog(t, log, snapshot(t, views))
}
