package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The load generator's connTransport keeps one connection for its
// requests, sends a request again on a new connection when the server has
// closed the kept one, and gives up on a cancelled request without waiting
// for its answer.
func TestConnTransport(t *testing.T) {
	var dials atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/lambat" {
			<-release
		}
		body, _ := io.ReadAll(r.Body)
		http.SetCookie(w, &http.Cookie{Name: "sesi", Value: "s1"})
		w.Write([]byte(r.Method + " " + string(body)))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dials.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	defer close(release)

	tr := newConnTransport(srv.URL)
	defer tr.Close()
	b := newBenchBrowser(srv.URL, tr)
	ctx := context.Background()
	for i := range 3 {
		st, _, err := b.post(ctx, "/borang", map[string][]string{"n": {"1"}})
		if err != nil || st != http.StatusOK {
			t.Fatalf("request %d: %d %v", i, st, err)
		}
	}
	if got := dials.Load(); got != 1 {
		t.Fatalf("3 requests took %d connections, want 1", got)
	}
	if body, err := b.get(ctx, "/"); err != nil || body != "GET " {
		t.Fatalf("GET: %q %v", body, err)
	}

	// The server drops the kept connection: the next POST goes again,
	// body and all, on a new one.
	srv.CloseClientConnections()
	time.Sleep(50 * time.Millisecond)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/borang", strings.NewReader("semula"))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("POST after the server closed the connection: %v", err)
	}
	if body, _ := io.ReadAll(resp.Body); string(body) != "POST semula" {
		t.Fatalf("POST after the server closed the connection: %q", body)
	}
	if got := dials.Load(); got != 2 {
		t.Fatalf("after the close: %d connections, want 2", got)
	}

	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	req, _ = http.NewRequestWithContext(cctx, http.MethodGet, srv.URL+"/lambat", nil)
	if _, err := tr.RoundTrip(req); err == nil {
		t.Fatal("a request whose context ended got an answer")
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("the cancelled request took %s", el)
	}
}
