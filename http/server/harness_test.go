package server_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/server"
	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/http/web"
)

// clock is the injected clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuffer collects log output from concurrent requests.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type harness struct {
	t    testing.TB
	srv  *server.Server
	clk  *clock
	logs *syncBuffer
	reg  *prometheus.Registry
}

// newHarness builds the real server. Test-only routes: /test/login logs the
// browser in (the accounts flow will own real logins), /test/pending starts
// a pending login, /test/panic panics.
func newHarness(t testing.TB, mutate func(*server.Config, *server.Deps)) *harness {
	t.Helper()
	h := &harness{t: t, clk: &clock{t: time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)}, logs: &syncBuffer{}, reg: prometheus.NewRegistry()}
	cfg := server.Config{Web: web.Config{Demo: true}, TrustedProxies: []string{"10.0.0.0/8"}}
	deps := server.Deps{
		Log:     slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics: h.reg,
		Now:     h.clk.Now,
	}
	if mutate != nil {
		mutate(&cfg, &deps)
	}
	srv, err := server.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	e := srv.Engine
	e.GET("/test/login", func(c *gin.Context) {
		var roles []string
		if r := c.Query("roles"); r != "" {
			roles = strings.Split(r, ",")
		}
		err := srv.Sessions.Login(c, session.Identity{
			UserID: c.Query("user"), Name: "Siti Aminah binti Hassan", Department: "Jabatan Kewangan",
			Roles: roles, TOTPVerified: c.Query("totp") == "1",
		})
		if err != nil {
			httpx.Abort(c, err)
			return
		}
		c.String(200, "ok")
	})
	e.GET("/test/pending", func(c *gin.Context) {
		if err := srv.Sessions.StartPending(c, c.Query("user"), session.StagePassword, nil); err != nil {
			httpx.Abort(c, err)
			return
		}
		c.String(200, "pending")
	})
	e.GET("/test/panic", func(c *gin.Context) { panic("secret-detail 791117045678") })
	return h
}

// browser keeps cookies between requests, like a real one.
type browser struct {
	h       *harness
	cookies map[string]*http.Cookie
	remote  string
	headers map[string]string
}

func (h *harness) browser() *browser {
	return &browser{h: h, cookies: map[string]*http.Cookie{}, remote: "192.0.2.10:40000", headers: map[string]string{}}
}

type result struct {
	*httptest.ResponseRecorder
	body string
}

func (b *browser) do(method, target string, form url.Values) result {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	return b.raw(method, target, body, "application/x-www-form-urlencoded")
}

func (b *browser) raw(method, target string, body io.Reader, ctype string) result {
	r := httptest.NewRequest(method, target, body)
	r.RemoteAddr = b.remote
	if body != nil {
		r.Header.Set("Content-Type", ctype)
	}
	for k, v := range b.headers {
		r.Header.Set(k, v)
	}
	for _, c := range b.cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	w := httptest.NewRecorder()
	b.h.srv.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return result{w, w.Body.String()}
}

func (b *browser) get(target string) result { return b.do("GET", target, nil) }

// login logs the browser in through the test route.
func (b *browser) login(user string, roles string, totp bool) {
	b.h.t.Helper()
	q := url.Values{"user": {user}, "roles": {roles}}
	if totp {
		q.Set("totp", "1")
	}
	if r := b.get("/test/login?" + q.Encode()); r.Code != 200 {
		b.h.t.Fatalf("test login: %d %s", r.Code, r.body)
	}
}

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf fetches page and returns the CSRF token of its first form.
func (b *browser) csrf(page string) string {
	b.h.t.Helper()
	r := b.get(page)
	m := csrfRe.FindStringSubmatch(r.body)
	if m == nil {
		b.h.t.Fatalf("no CSRF token on %s (%d)", page, r.Code)
	}
	return m[1]
}

func mustContain(t *testing.T, what, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Errorf("%s: missing %q", what, s)
		}
	}
}

func mustNotContain(t *testing.T, what, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(body, s) {
			t.Errorf("%s: must not contain %q", what, s)
		}
	}
}
