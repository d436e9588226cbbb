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

// The measured clients' rawBrowser keeps one connection for its requests,
// reads answers of a given length and in chunks, keeps and sends the
// cookies the server sets (and drops one it expires), sends a request again
// on a new connection when the server has closed the kept one, and gives up
// on a cancelled request without waiting for its answer.
func TestRawBrowser(t *testing.T) {
	var dials atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/lambat":
			<-release
		case "/keluar":
			http.SetCookie(w, &http.Cookie{Name: "sesi", MaxAge: -1})
			return
		case "/ketul":
			w.(http.Flusher).Flush() // no length: chunked
			w.Write([]byte(strings.Repeat("x", 5000)))
			w.Write([]byte(`<input name="csrf_token" value="tok-123">`))
			return
		}
		body, _ := io.ReadAll(r.Body)
		http.SetCookie(w, &http.Cookie{Name: "sesi", Value: "s" + r.Method})
		if r.URL.Path == "/pergi" {
			http.Redirect(w, r, "/sana", http.StatusSeeOther)
			return
		}
		c, _ := r.Cookie("sesi")
		cookie := ""
		if c != nil {
			cookie = c.Value
		}
		w.Write([]byte(r.Method + " " + string(body) + " " + r.Header.Get("Content-Type") + " cookie=" + cookie))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dials.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	defer close(release)

	b := newRawBrowser(srv.URL)
	defer b.Close()
	ctx := context.Background()
	want := []string{"POST n=1 application/x-www-form-urlencoded cookie=", "POST n=1 application/x-www-form-urlencoded cookie=sPOST"}
	for i, w := range want {
		a, err := b.do(ctx, "POST", "/borang", []byte("n=1"))
		if err != nil || a.Status != http.StatusOK || string(a.Body) != w {
			t.Fatalf("request %d: %d %q %v, want %q", i, a.Status, a.Body, err, w)
		}
	}
	if a, err := b.do(ctx, "GET", "/pergi", nil); err != nil || a.Status != http.StatusSeeOther || a.Location != "/sana" {
		t.Fatalf("redirect: %+v %v", a, err)
	}
	if tok, err := b.csrf(ctx, "/ketul"); err != nil || tok != "tok-123" {
		t.Fatalf("chunked page: %q %v", tok, err)
	}
	if _, err := b.do(ctx, "GET", "/keluar", nil); err != nil || len(b.cookies) != 0 {
		t.Fatalf("an expired cookie is kept: %v %v", b.cookies, err)
	}
	if got := dials.Load(); got != 1 {
		t.Fatalf("5 requests took %d connections, want 1", got)
	}

	// The server drops the kept connection: the next POST goes again,
	// body and all, on a new one.
	srv.CloseClientConnections()
	time.Sleep(50 * time.Millisecond)
	a, err := b.do(ctx, "POST", "/borang", []byte("semula"))
	if err != nil || !strings.HasPrefix(string(a.Body), "POST semula ") {
		t.Fatalf("POST after the server closed the connection: %q %v", a.Body, err)
	}
	if got := dials.Load(); got != 2 {
		t.Fatalf("after the close: %d connections, want 2", got)
	}

	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := b.do(cctx, "GET", "/lambat", nil); err == nil {
		t.Fatal("a request whose context ended got an answer")
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("the cancelled request took %s", el)
	}
}
