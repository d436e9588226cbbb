package main

import (
	"context"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchRow finds the table row starting with label and returns the numbers
// on it (after the label), so a test can say they are there and positive.
func benchRow(t *testing.T, table, label string) []float64 {
	t.Helper()
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, label) {
			continue
		}
		var nums []float64
		for _, m := range regexp.MustCompile(`\d+(?:\.\d+)?`).FindAllString(line[len(label):], -1) {
			f, err := strconv.ParseFloat(m, 64)
			if err != nil {
				t.Fatal(err)
			}
			nums = append(nums, f)
		}
		return nums
	}
	t.Fatalf("no row %q in the table:\n%s", label, table)
	return nil
}

// positive fails unless the row has at least n numbers and the first n are
// above zero. It says nothing about how fast anything was.
func positive(t *testing.T, table, label string, n int) {
	t.Helper()
	nums := benchRow(t, table, label)
	if len(nums) < n {
		t.Fatalf("row %q: want %d numbers, got %v", label, n, nums)
	}
	for i, v := range nums[:n] {
		if v <= 0 {
			t.Errorf("row %q: number %d is %v, want > 0", label, i+1, v)
		}
	}
}

// TestBenchLoginPrintsItsTable runs `ispeks bench login` end to end with
// tiny sizes: accounts made through the real commands with production
// argon2id, logins through the real pages over loopback, the storm and the
// status queries. It checks the table's rows and that the numbers are
// there; it never judges a speed.
func TestBenchLoginPrintsItsTable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := executeOut(ctx, "bench", "login", "--data", t.TempDir(), "--log-level", "warn",
		"--accounts", "2", "--clients", "2", "--storm-accounts", "1", "--storm-clients", "2", "--query-clients", "1",
		"--rounds", "1", "--duration", "1s", "--warmup", "100ms", "--rate-for", "300ms", "--settle", "200ms", "--split-cpu")
	if err != nil {
		t.Fatalf("bench login: %v\n%s", err, out)
	}
	positive(t, out, "settling: raw argon2id rate over", 2) // its length, its rate
	positive(t, out, "raw argon2id rate", 3)                // goroutines, before, after
	if benchRow(t, out, "raw argon2id rate")[0] > 1 {       // more than one core
		positive(t, out, "raw argon2id rate, 1 goroutine", 1)
	}
	positive(t, out, "logins/s, right password", 3)
	positive(t, out, "  ratio to the raw rate around it", 2)      // the round's, the median
	positive(t, out, "  CPU per raw hash / CPU per login", 2)     // the round's, the median
	positive(t, out, "  CPU per login (all rounds) / per raw", 3) // login, raw before, raw after
	// System time, page faults and context switches per login, raw before,
	// raw after (each may be 0 in a short phase, not all three times; a
	// login switches at least once, waiting for its answer).
	if nums := benchRow(t, out, "  system CPU, page faults and context switches per login"); len(nums) != 9 || nums[0]+nums[3]+nums[6] <= 0 || nums[2] <= 0 {
		t.Errorf("system CPU, page faults and switches: want them per login, raw before and raw after, got %v", nums)
	}
	if runtime.GOOS == "linux" { // the thread CPU clock --split-cpu reads
		positive(t, out, "  argon2id derivation's own CPU, in the logins / each raw", 3) // logins, raw before, raw after
		benchRow(t, out, "  CPU per login besides its derivation")
	}
	positive(t, out, "  argon2id derivations per login", 1)
	positive(t, out, "  login time p50 / p99", 2)
	positive(t, out, "status query during the storm: p50 / p99", 3)
	positive(t, out, "wrong-password storm", 3)
	if !strings.Contains(out, "hasher concurrency limit") {
		t.Errorf("the table does not name the hasher's concurrency limit:\n%s", out)
	}
	if !strings.Contains(out, "serving process: GOMAXPROCS raised") || !strings.Contains(out, "GOGC 400") {
		t.Errorf("the table does not say how the serving process is tuned for hashing:\n%s", out)
	}
}

// TestBenchLoginWithATinyHash: with --argon2-memory and --argon2-time the
// accounts hash with those parameters, the table says they are not
// production's, and the ratio rows judge nothing (a tiny hash leaves the
// rest of a login to measure, not the target).
func TestBenchLoginWithATinyHash(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := executeOut(ctx, "bench", "login", "--data", t.TempDir(), "--log-level", "warn",
		"--accounts", "2", "--clients", "2", "--storm-accounts", "1", "--storm-clients", "1", "--query-clients", "1",
		"--rounds", "1", "--duration", "500ms", "--warmup", "100ms", "--rate-for", "200ms", "--argon2-memory", "64", "--argon2-time", "1")
	if err != nil {
		t.Fatalf("bench login: %v\n%s", err, out)
	}
	if !strings.Contains(out, "argon2id m=64 KiB t=1 p=1 (NOT production") {
		t.Errorf("the table does not say its hash is not production's:\n%s", out)
	}
	positive(t, out, "logins/s, right password", 3)
	positive(t, out, "  CPU per login (all rounds) / per raw", 3)
	for _, label := range []string{"  ratio to the raw rate around it", "  CPU per raw hash / CPU per login"} {
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, label) && (strings.Contains(line, "met") || strings.Contains(line, "MISSED") || !strings.Contains(line, "not production")) {
				t.Errorf("a tiny hash's ratio is judged: %q", line)
			}
		}
	}
}

func TestBenchLoginRefusesBadSizes(t *testing.T) {
	for _, args := range [][]string{
		{"--accounts", "2", "--clients", "4"},
		{"--clients", "0"},
		{"--duration", "0s"},
		{"--rounds", "0"},
		{"--settle", "-1s"},
		{"--query", "status"},
		{"--spare-procs", "-2"},
		{"--spare-procs", "2", "--no-spare-procs"},
		{"--argon2-memory", "64"},
		{"--argon2-time", "1"},
		{"--argon2-memory", "4", "--argon2-time", "1"},
	} {
		_, err := executeOut(context.Background(), append([]string{"bench", "login", "--data", t.TempDir()}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "--") {
			t.Errorf("%v: want an error naming the flag, got %v", args, err)
		}
	}
}

// The storm counts a login sent back to the landing page (its login in
// progress ended by another browser's attempt on the locked account) as
// an answer, and nothing else that redirects.
func TestRestartsLogin(t *testing.T) {
	for loc, want := range map[string]bool{
		"/": true, "/?sesi=tamat": true,
		"/login/kata-laluan": false, "/utama": false, "": false, "https://elsewhere/": false,
	} {
		if got := restartsLogin(loc); got != want {
			t.Errorf("restartsLogin(%q) = %v, want %v", loc, got, want)
		}
	}
}
