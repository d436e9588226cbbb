package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// execute runs the binary's command tree in-process with args.
func execute(ctx context.Context, args ...string) error {
	_, err := executeOut(ctx, args...)
	return err
}

// executeOut is execute returning what the command printed on stdout.
func executeOut(ctx context.Context, args ...string) (string, error) {
	root := newRootCmd()
	root.SetArgs(args)
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestServeAnswersHealthzAndCreatesTheEventStore(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- execute(ctx, "serve", "--data", dir, "--listen", addr, "--log-level", "warn") }()

	deadline := time.Now().Add(20 * time.Second)
	var resp *http.Response
	var err error
	for time.Now().Before(deadline) {
		resp, err = http.Get("http://" + addr + "/healthz")
		if err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("healthz never answered: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz status %d", resp.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(dir, "events.db")); err != nil {
		t.Fatalf("events.db not created: %v", err)
	}
	// Ready once the projectors have recorded their layouts (a new store's
	// first start rebuilds each, briefly).
	ready := 0
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err = http.Get("http://" + addr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ready = resp.StatusCode; ready == http.StatusOK {
			break
		}
	}
	if ready != http.StatusOK {
		t.Fatalf("readyz status %d", ready)
	}

	cancel() // what SIGTERM does through signal.NotifyContext
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("serve returned %v after shutdown", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop after its context ended")
	}
}

func TestServeRefusesBadConfigurationClearly(t *testing.T) {
	dir := t.TempDir()
	notAStore := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notAStore, []byte("this is not a database, just a text file of some length........"), 0o600); err != nil {
		t.Fatal(err)
	}
	readOnly := filepath.Join(dir, "ro")
	if err := os.Mkdir(readOnly, 0o500); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"bad event store URL", []string{"--event-store", "postgres://db"}, "--event-store"},
		{"bad read store URL", []string{"--read-store", "redis://x"}, "--read-store"},
		{"a file that is not an event store", []string{"--event-store", "sqlite:" + notAStore}, "not an iSPEKS event store"},
		{"a data dir that is a file", []string{"--data", notAStore}, "data directory"},
	}
	if os.Geteuid() != 0 { // root can write anywhere
		cases = append(cases, struct {
			name string
			args []string
			want string
		}{"an unwritable data dir", []string{"--data", filepath.Join(readOnly, "data")}, "data directory"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--data", filepath.Join(dir, "d"), "--listen", "127.0.0.1:0", "--log-level", "error"}, tc.args...)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := execute(ctx, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestBaseURLIsTheRealListeningAddress(t *testing.T) {
	cases := map[string]string{
		"127.0.0.1:43127": "http://127.0.0.1:43127",
		"0.0.0.0:8080":    "http://localhost:8080",
		"[::]:8080":       "http://localhost:8080",
		"[::1]:9000":      "http://[::1]:9000",
	}
	for addr, want := range cases {
		tcp, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := baseURLOf(tcp); got != want {
			t.Errorf("baseURLOf(%s) = %s, want %s", addr, got, want)
		}
	}
}

// TestServeTriesItsAddressFirst: a --listen that cannot be had (a portal
// already on the port, a malformed address) fails before any store is
// opened: serve --demo in a new directory does not load the demo into a
// new install and then stop.
func TestServeTriesItsAddressFirst(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	data := filepath.Join(t.TempDir(), "data")
	for _, addr := range []string{taken.Addr().String(), "nonsense", "127.0.0.1:99999"} {
		err := execute(ctx, "serve", "--demo", "--data", data, "--listen", addr, "--log-level", "error")
		if err == nil || !strings.HasPrefix(err.Error(), "--listen "+addr+": ") {
			t.Errorf("serve --listen %s: %v, want an error naming --listen", addr, err)
		}
		if _, err := os.Stat(data); err == nil {
			t.Fatalf("serve --listen %s made the data directory", addr)
		}
	}
}
