package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestStatusExitsThreeOnProjectorDeadLetters: `projections status` prints
// its table as ever, and when a projector has dead letters it then fails
// with a status of its own (3, not a usage error's 1), so a monitor can tell
// them apart, saying how many and what to run.
func TestStatusExitsThreeOnProjectorDeadLetters(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := quietCLI(t)
	dir := c.cfg.DataDir
	createFirstAdmin(ctx, t, dir)
	out, err := executeOut(ctx, "--data", dir, "--log-level", "error", "projections", "status")
	if err != nil || exitStatus(err) != 0 {
		t.Fatalf("status without dead letters: %v (exit %d)\n%s", err, exitStatus(err), out)
	}

	// Two events the payments projector gave up on, recorded as the engine
	// records them.
	a, err := c.openApp(ctx, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	recs, err := a.events.ReadAll(ctx, 0, 2)
	if err != nil || len(recs) != 2 {
		a.Close()
		t.Fatalf("read the log: %d records, %v", len(recs), err)
	}
	for _, rec := range recs {
		if err := a.engine.ReplaceDeadLetter(ctx, "payments", rec.ID.String(), rec, "boom"); err != nil {
			a.Close()
			t.Fatal(err)
		}
	}
	a.Close()

	out, err = executeOut(ctx, "--data", dir, "--log-level", "error", "projections", "status")
	if err == nil {
		t.Fatalf("status with 2 dead letters of payments succeeded:\n%s", out)
	}
	if got := exitStatus(err); got != exitDeadLetters || exitDeadLetters == 1 {
		t.Fatalf("exit status %d (%v), want %d", got, err, exitDeadLetters)
	}
	if !strings.Contains(out, "PROJECTOR") || !strings.Contains(out, "DEAD LETTER OF") {
		t.Fatalf("status printed no table before failing:\n%s", out)
	}
	for _, want := range []string{"2 dead letters", "payments", "ispeks projections status", "ispeks projections rebuild payments"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("status failed with %q: want it to say %q", err, want)
		}
	}
	// A usage error still exits 1.
	if _, err := executeOut(ctx, "--data", dir, "projections", "status", "extra"); exitStatus(err) != 1 {
		t.Fatalf("usage error: %v, exit %d, want 1", err, exitStatus(err))
	}
}
