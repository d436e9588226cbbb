package httpx

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(m.Run())
}

func TestRequestID(t *testing.T) {
	e := gin.New()
	e.Use(RequestID())
	var seen string
	e.GET("/", func(c *gin.Context) { seen = RequestIDFromContext(c.Request.Context()); c.Status(204) })
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set(RequestIDHeader, "proxy-abc-123")
	e.ServeHTTP(w, r)
	if w.Header().Get(RequestIDHeader) != "proxy-abc-123" || seen != "proxy-abc-123" {
		t.Fatalf("plain proxy ID not kept: %q / %q", w.Header().Get(RequestIDHeader), seen)
	}
	w = httptest.NewRecorder()
	r = httptest.NewRequest("GET", "/", nil)
	r.Header.Set(RequestIDHeader, "<script>alert(1)</script>")
	e.ServeHTTP(w, r)
	if got := w.Header().Get(RequestIDHeader); strings.Contains(got, "<") || len(got) != 24 {
		t.Fatalf("hostile ID echoed: %q", got)
	}
}

func TestBodyLimitRouteOverride(t *testing.T) {
	e := gin.New()
	resp := &Responder{Map: NewErrorMap(), IsAPI: func(*http.Request) bool { return true }}
	e.Use(resp.Errors(), BodyLimit(10))
	read := func(c *gin.Context) {
		b, err := io.ReadAll(c.Request.Body)
		if err != nil {
			Abort(c, err)
			return
		}
		c.String(200, "%d", len(b))
	}
	e.POST("/small", read)
	e.POST("/big", BodyLimit(100), read)
	e.POST("/stream", BodyLimit(0), read)
	body := strings.Repeat("x", 50)
	for path, want := range map[string]int{"/small": 413, "/big": 200, "/stream": 200} {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest("POST", path, strings.NewReader(body)))
		if w.Code != want {
			t.Errorf("%s: %d, want %d (%s)", path, w.Code, want, w.Body)
		}
	}
}

func TestSecureRequest(t *testing.T) {
	proxies, err := ParseProxies([]string{"10.0.0.0/8", "192.168.1.5"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseProxies([]string{"not-an-ip"}); err == nil {
		t.Fatal("bad proxy accepted")
	}
	sec := SecureRequest(false, proxies)
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.2.3:5555"
	r.Header.Set("X-Forwarded-Proto", "https")
	if !sec(r) {
		t.Error("trusted proxy's https ignored")
	}
	r.RemoteAddr = "203.0.113.9:5555"
	if sec(r) {
		t.Error("untrusted client's X-Forwarded-Proto believed")
	}
	r.TLS = &tls.ConnectionState{}
	if !sec(r) {
		t.Error("direct TLS not seen")
	}
	r2 := httptest.NewRequest("GET", "/", nil)
	if !SecureRequest(true, Proxies{})(r2) {
		t.Error("force ignored")
	}
}

func TestReadyz(t *testing.T) {
	e := gin.New()
	var fail atomic.Bool
	e.GET("/readyz", Readyz(nil, 200*time.Millisecond,
		Check{Name: "events", Run: func(ctx context.Context) error {
			if fail.Load() {
				return errors.New("dial tcp 10.9.9.9:2113: refused")
			}
			return nil
		}},
		LagCheck("projector.accounts", func(context.Context) (uint64, error) { return 5, nil }, 10),
		Check{Name: "stuck", Run: func(ctx context.Context) error { <-ctx.Done(); return nil }},
	))
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	// "stuck" honours ctx and returns nil at the deadline, but the
	// deadline itself makes the check fail.
	if w.Code != 503 || !strings.Contains(w.Body.String(), `"stuck":"fail"`) || !strings.Contains(w.Body.String(), `"events":"ok"`) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	fail.Store(true)
	w = httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if strings.Contains(w.Body.String(), "10.9.9.9") {
		t.Fatalf("check error leaked: %s", w.Body)
	}
	e2 := gin.New()
	e2.GET("/readyz", Readyz(nil, time.Second,
		LagCheck("projector.payments", func(context.Context) (uint64, error) { return 5000, nil }, 1000)))
	w = httptest.NewRecorder()
	e2.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != 503 || !strings.Contains(w.Body.String(), `"projector.payments":"lag 5000 \u003e 1000"`) {
		t.Fatalf("lag: %d %s", w.Code, w.Body)
	}
}

// TestServeGraceful: a request in flight when ctx ends completes; the
// listener is closed to new connections.
func TestServeGraceful(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	started := make(chan struct{})
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, ln, h, 10*time.Second) }()

	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	<-started
	cancel()
	// Shutdown closes the listener first; wait until new connections fail.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	if body := <-got; body != "finished" {
		t.Fatalf("in-flight request: %q", body)
	}
	if err := <-done; err != nil {
		t.Fatalf("ServeListener: %v", err)
	}
}

// TestBodyTimeout: a client that sends its headers and then trickles (or
// withholds) its body is answered 408 once the body's time is up, instead
// of holding the connection for ever; a body that arrived in time leaves
// the request alive however long the handler then works.
func TestBodyTimeout(t *testing.T) {
	old := bodyTimeBase
	bodyTimeBase = 300 * time.Millisecond
	defer func() { bodyTimeBase = old }()

	e := gin.New()
	resp := &Responder{Map: NewErrorMap(), IsAPI: func(*http.Request) bool { return true }}
	e.Use(resp.Errors(), BodyLimit(1000))
	e.POST("/read", func(c *gin.Context) {
		b, err := io.ReadAll(c.Request.Body)
		if err != nil {
			Abort(c, err)
			return
		}
		time.Sleep(2 * bodyTimeBase) // past the deadline the body had
		if err := c.Request.Context().Err(); err != nil {
			Abort(c, err)
			return
		}
		c.String(200, "%d", len(b))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, ln, e, 5*time.Second) }()
	defer func() { cancel(); <-done }()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "POST /read HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nten bytes.")
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	status := make([]byte, 12)
	if _, err := io.ReadFull(conn, status); err != nil {
		t.Fatalf("trickled body: no answer: %v", err)
	}
	if got := string(status); got != "HTTP/1.1 408" {
		t.Fatalf("trickled body: %q", got)
	}

	r, err := http.Post("http://"+ln.Addr().String()+"/read", "text/plain", strings.NewReader(strings.Repeat("x", 500)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 || string(b) != "500" {
		t.Fatalf("body in time, slow handler: %d %s", r.StatusCode, b)
	}
}
