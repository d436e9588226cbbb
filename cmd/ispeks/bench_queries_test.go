package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestBenchQueriesPrintsItsTable runs `ispeks bench queries` end to end
// with a tiny dataset: employees, slips and payments through the real
// ingester, projections, sessions from the session manager, and every
// query phase over loopback. It checks the table's rows and that the
// numbers are there; it never judges a speed.
func TestBenchQueriesPrintsItsTable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := executeOut(ctx, "bench", "queries", "--data", t.TempDir(), "--log-level", "warn",
		"--staff", "40", "--slips", "3", "--payments", "60", "--conns", "4",
		"--duration", "400ms", "--warmup", "300ms", "--rounds", "2") // slices of 200 ms after 150 ms of warm-up: long enough for a first PDF under the load of a full test run
	if err != nil {
		t.Fatalf("bench queries: %v\n%s", err, out)
	}
	positive(t, out, "employee master", 2)          // "64 at once", rate
	positive(t, out, "ingestion, monthly slips", 2) // rate, CPU per statement
	// Until the projectors have them: rate, CPU per statement (the lag
	// and the catch-up after them may be 0 on so small a run).
	positive(t, out, "monthly slips until in their payees' views", 2)
	if !regexp.MustCompile(`monthly slips until in their payees' views.*projectors up to \d+ events behind; caught up \S+ after the last slip`).MatchString(out) {
		t.Errorf("the slips' row does not say how far the projectors fell behind:\n%s", out)
	}
	positive(t, out, "ingestion, payments and status changes", 2)
	positive(t, out, "a master update until its own view shows it", 5) // every 100 ms, count, max, p50, p99
	// The path's "1" where it has one, rate, p50, p99, CPU/req, then each
	// round's rate (the constant route: 2 rounds and the closing slice) or
	// ratio and the median ratio.
	positive(t, out, "constant JSON route", 8)
	positive(t, out, "status list JSON", 8)
	positive(t, out, "status list page", 7)
	positive(t, out, "statement list page", 7)
	positive(t, out, "statement PDF", 4)
	// The lists are kept in memory between changes (the cache is wired
	// into the server the bench measures): with 40 people and two rounds,
	// some of each list route's requests are answered from memory.
	for _, route := range []string{"status list JSON", "status list page", "statement list page"} {
		if !regexp.MustCompile(route + `.*\(lists [1-9][0-9]*% from memory\)`).MatchString(out) {
			t.Errorf("%s: no list answered from memory:\n%s", route, out)
		}
	}
	if !strings.Contains(out, "40 staff, 3 monthly slips each, 60 payments") {
		t.Errorf("the table does not describe the dataset:\n%s", out)
	}
}

// TestBenchQueriesReusesItsDataset runs twice on one --dir: the second run
// finds the dataset and ingests nothing; other sizes on that dir are refused.
func TestBenchQueriesReusesItsDataset(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the bench twice")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	args := []string{"bench", "queries", "--data", t.TempDir(), "--dir", dir, "--staff", "10", "--slips", "1", "--payments", "10",
		"--moves", "1", "--conns", "2", "--rounds", "1", "--duration", "400ms", "--warmup", "300ms"}
	// One slice a route, after a warm-up: under the load of the other
	// packages' tests a first PDF took longer than a 20 ms slice, and a
	// slice in which no request finishes fails the run.
	if out, err := executeOut(ctx, args...); err != nil {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	out, err := executeOut(ctx, args...)
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	if !strings.Contains(out, "reused from --dir") || strings.Contains(out, "ingestion,") {
		t.Errorf("second run did not reuse the dataset:\n%s", out)
	}
	other := append(append([]string(nil), args...), "--staff", "11")
	if _, err := executeOut(ctx, other...); err == nil || !strings.Contains(err.Error(), "other sizes") {
		t.Errorf("other sizes on the same --dir: want a refusal, got %v", err)
	}
}

// TestBenchQueriesRefusesBadSizes: each bad flag is named before any work.
func TestBenchQueriesRefusesBadSizes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--staff", "1"}, "--staff"},
		{[]string{"--moves", "5"}, "--moves"},
		{[]string{"--rounds", "0"}, "--rounds"},
		{[]string{"--duration", "3ns", "--rounds", "5"}, "less than a millisecond"},
		{[]string{"--slips", "0", "--payments", "0"}, "something to query"},
	} {
		args := append([]string{"bench", "queries", "--data", t.TempDir()}, c.args...)
		if _, err := executeOut(ctx, args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error naming %q", c.args, err, c.want)
		}
	}
}
