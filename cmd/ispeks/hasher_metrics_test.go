package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"testing"
)

// TestMetricsShowTheHasher: /metrics, through the portal's router, counts
// the argon2id derivations and, on Linux, shows the hashing slot's block
// memory that lives outside the Go heap (20 MiB once a slot has derived).
func TestMetricsShowTheHasher(t *testing.T) {
	ctx := context.Background()
	rig, err := quietCLI(t).startBenchRig(ctx, t.TempDir(), rigOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rig.Close()
	before := hasherMetric(t, rig.base, "ispeks_argon2_derivations_total")
	if _, err := rig.app.hasher.Hash(ctx, "Jambatan Merah Sungai 7"); err != nil {
		t.Fatal(err)
	}
	if got := hasherMetric(t, rig.base, "ispeks_argon2_derivations_total"); got != before+1 {
		t.Errorf("derivations after one hash: %v, want %v", got, before+1)
	}
	mapped := hasherMetric(t, rig.base, "ispeks_argon2_mapped_bytes")
	if runtime.GOOS == "linux" && mapped < 20<<20 {
		t.Errorf("mapped block memory after a derivation: %v bytes, want at least a slot's 20 MiB", mapped)
	}
}

// hasherMetric reads one unlabelled metric from the portal's /metrics.
func hasherMetric(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("/metrics has no %s:\n%s", name, body)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
