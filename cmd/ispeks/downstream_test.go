package main

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// TestServeWithNATSDown: NATS unreachable when the portal starts does not
// keep it from serving; the publisher connects and catches up later
// (infra/downstream's TestNATSDownAtStartCatchesUp).
func TestServeWithNATSDown(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	closed := freeAddr(t) // nothing listens there
	addr := freeAddr(t)
	done := make(chan error, 1)
	go func() {
		done <- execute(ctx, "serve", "--data", dir, "--listen", addr, "--log-level", "error", "--nats", "nats://"+closed)
	}()
	ready := false
	for deadline := time.Now().Add(30 * time.Second); !ready && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("serve ended with NATS down: %v", err)
		default:
		}
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			ready = resp.StatusCode == http.StatusOK
		}
	}
	if !ready {
		t.Fatal("serve not ready with NATS down")
	}
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("landing page: HTTP %d", resp.StatusCode)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
}
