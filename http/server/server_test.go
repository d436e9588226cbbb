package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/http/server"
	"github.com/melaka-gov/ispeks/http/session"
)

func TestHealthReadyMetrics(t *testing.T) {
	var storeDown bool
	h := newHarness(t, func(_ *server.Config, d *server.Deps) {
		d.Ready = []httpx.Check{
			{Name: "eventstore", Run: func(context.Context) error {
				if storeDown {
					return errors.New("unreachable")
				}
				return nil
			}},
			httpx.LagCheck("projector.accounts", func(context.Context) (uint64, error) { return 2, nil }, 100),
		}
	})
	b := h.browser()
	r := b.get("/healthz")
	if r.Code != 200 || !strings.Contains(r.body, `"status":"ok"`) {
		t.Fatalf("healthz: %d %s", r.Code, r.body)
	}
	r = b.get("/readyz")
	if r.Code != 200 || !strings.Contains(r.body, `"projector.accounts":"ok"`) {
		t.Fatalf("readyz: %d %s", r.Code, r.body)
	}
	storeDown = true
	r = b.get("/readyz")
	if r.Code != 503 || !strings.Contains(r.body, `"eventstore":"fail"`) {
		t.Fatalf("readyz with store down: %d %s", r.Code, r.body)
	}

	b.get("/tiada/791117045678")
	// /metrics answers a scraper on this host only (DefaultMetricsFrom);
	// anyone else, directly or through a trusted proxy, gets the 404 of
	// an unknown path, even claiming to be local behind the proxy.
	r = b.get("/metrics")
	if r.Code != 404 || strings.Contains(r.body, "ispeks_") {
		t.Fatalf("metrics from 192.0.2.10: %d %.200s", r.Code, r.body)
	}
	unknown := b.get("/metricz")
	for _, target := range []string{"/metrics/", "/metrics?x=1"} {
		if r := b.get(target); r.Code != 404 || strings.Contains(r.body, "ispeks_") || r.Header().Get("Content-Type") != unknown.Header().Get("Content-Type") {
			t.Fatalf("GET %s from 192.0.2.10: %d", target, r.Code)
		}
	}
	for _, method := range []string{"HEAD", "POST", "OPTIONS"} {
		if r := b.do(method, "/metrics", nil); r.Code != 404 {
			t.Fatalf("%s /metrics from 192.0.2.10: %d", method, r.Code)
		}
	}
	// Through a proxy, trusted (10.0.0.1) or not (one on this host), even
	// naming a local client: refused.
	for _, via := range []struct{ remote, header, value string }{
		{"10.0.0.1:443", "X-Forwarded-For", "127.0.0.1, 192.0.2.10"},
		{"10.0.0.1:443", "X-Forwarded-For", "127.0.0.1"},
		{"127.0.0.1:443", "X-Forwarded-For", "192.0.2.10"},
		{"127.0.0.1:443", "X-Real-IP", "192.0.2.10"},
		{"127.0.0.1:443", "Forwarded", "for=192.0.2.10"},
	} {
		b.remote, b.headers[via.header] = via.remote, via.value
		if r = b.get("/metrics"); r.Code != 404 {
			t.Fatalf("metrics via %s with %s: %s: %d", via.remote, via.header, via.value, r.Code)
		}
		delete(b.headers, via.header)
	}
	b.remote = "127.0.0.1:40000"
	if r := b.do("POST", "/metrics", nil); r.Code != 405 || r.Header().Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST /metrics from this host: %d %q", r.Code, r.Header().Get("Allow"))
	}
	r = b.get("/metrics")
	if r.Code != 200 {
		t.Fatalf("metrics: %d", r.Code)
	}
	mustContain(t, "metrics", r.body,
		`ispeks_http_request_duration_seconds_bucket{method="GET",route="/healthz",status="200",le="0.005"}`,
		`ispeks_http_request_duration_seconds_count{method="GET",route="/readyz",status="503"} 1`,
		`route="unmatched",status="404"`,
		`ispeks_http_requests_in_flight`)
	mustNotContain(t, "metrics", r.body, "791117045678", "/tiada")

	// A configured network may read it.
	h2 := newHarness(t, func(c *server.Config, _ *server.Deps) { c.MetricsFrom = []string{"192.0.2.0/24"} })
	if r := h2.browser().get("/metrics"); r.Code != 200 || !strings.Contains(r.body, "ispeks_") {
		t.Fatalf("metrics from an allowed network: %d", r.Code)
	}
	if _, err := server.New(server.Config{MetricsFrom: []string{"prometheus.local"}}, server.Deps{}); err == nil {
		t.Fatal("a host name in MetricsFrom was accepted")
	}
}

// mountAPI is how a flow mounts JSON routes; these stand in for domain
// handlers returning domain errors.
var (
	errLocked   = errors.New("account: locked")
	errBadEmail = errors.New("account: e-mail domain not allowed")
)

type fieldErr struct{ f string }

func (e fieldErr) Error() string { return "account: bad " + e.f }
func (e fieldErr) Field() string { return e.f }
func (e fieldErr) Unwrap() error { return errBadEmail }

func apiHarness(t *testing.T) *harness {
	return newHarness(t, func(_ *server.Config, d *server.Deps) {
		d.ErrorRules = [][]httpx.Rule{{
			{Err: errLocked, Status: http.StatusLocked, Code: "account.locked", Key: "err.locked"},
			{Err: errBadEmail, Status: http.StatusUnprocessableEntity, Code: "account.email_domain",
				Text: i18n.Text{MS: "Domain emel tidak dibenarkan", EN: "E-mail domain not allowed"}},
		}}
		d.API = []func(*gin.RouterGroup){func(g *gin.RouterGroup) {
			g.GET("/locked", func(c *gin.Context) { httpx.Abort(c, fmt.Errorf("login: %w", errLocked)) })
			g.GET("/field", func(c *gin.Context) { httpx.Abort(c, fieldErr{"email"}) })
			g.GET("/db", func(c *gin.Context) { httpx.Abort(c, errors.New("sqlite: disk I/O error at /data/views.db")) })
			g.GET("/panic", func(c *gin.Context) { panic("nil map in handler for 791117045678") })
			g.GET("/employees/:ic", func(c *gin.Context) { c.JSON(200, gin.H{"ok": true}) })
			g.POST("/json", func(c *gin.Context) {
				var v struct{ A int }
				if err := json.NewDecoder(c.Request.Body).Decode(&v); err != nil {
					httpx.Abort(c, err)
					return
				}
				c.JSON(200, v)
			})
		}}
	})
}

func decodeAPIError(t *testing.T, r result) httpx.JSONErrorBody {
	t.Helper()
	if ct := r.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q: %s", ct, r.body)
	}
	var e httpx.JSONError
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("not the error shape: %v: %s", err, r.body)
	}
	var raw map[string]map[string]any
	_ = json.Unmarshal([]byte(r.body), &raw)
	for k := range raw["error"] {
		switch k {
		case "code", "message", "field", "incident":
		default:
			t.Errorf("unexpected error member %q", k)
		}
	}
	return e.Error
}

func TestAPIErrorMapping(t *testing.T) {
	h := apiHarness(t)
	b := h.browser()

	r := b.get("/api/v1/locked")
	e := decodeAPIError(t, r)
	if r.Code != 423 || e.Code != "account.locked" || e.Message != i18n.T(i18n.MS, "err.locked") || e.Incident != "" {
		t.Fatalf("locked: %d %+v", r.Code, e)
	}

	b.headers["Accept-Language"] = "en"
	r = b.get("/api/v1/field")
	e = decodeAPIError(t, r)
	if r.Code != 422 || e.Field != "email" || e.Code != "account.email_domain" || e.Message != "E-mail domain not allowed" {
		t.Fatalf("field: %d %+v", r.Code, e)
	}
	delete(b.headers, "Accept-Language")

	r = b.get("/api/v1/db")
	e = decodeAPIError(t, r)
	if r.Code != 500 || e.Code != "internal" || e.Message != "Sistem tidak dapat diakses" || e.Incident == "" {
		t.Fatalf("internal: %d %+v", r.Code, e)
	}
	mustNotContain(t, "internal error body", r.body, "sqlite", "views.db")
	mustContain(t, "log", h.logs.String(), "incident="+e.Incident, "disk I/O error")

	r = b.raw("POST", "/api/v1/json", strings.NewReader(`{"A":`), "application/json")
	if e = decodeAPIError(t, r); r.Code != 400 || e.Code != "malformed_json" {
		t.Fatalf("malformed JSON: %d %+v", r.Code, e)
	}
	r = b.raw("POST", "/api/v1/json", strings.NewReader(`{"A":"`+strings.Repeat("x", 2<<20)+`"}`), "application/json")
	if e = decodeAPIError(t, r); r.Code != 413 || e.Code != "too_large" {
		t.Fatalf("2 MiB body: %d %+v", r.Code, e)
	}
	r = b.get("/api/v1/no/such/thing")
	if e = decodeAPIError(t, r); r.Code != 404 || e.Code != "not_found" {
		t.Fatalf("API 404: %d %+v", r.Code, e)
	}
	r = b.raw("DELETE", "/api/v1/locked", nil, "")
	if e = decodeAPIError(t, r); r.Code != 405 {
		t.Fatalf("API 405: %d %+v", r.Code, e)
	}
}

func TestRecovererHidesPanics(t *testing.T) {
	h := apiHarness(t)
	b := h.browser()
	r := b.get("/test/panic")
	if r.Code != 500 || !strings.HasPrefix(r.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("page panic: %d %s", r.Code, r.Header().Get("Content-Type"))
	}
	mustContain(t, "panic page", r.body, "Sistem tidak dapat diakses", "ID Insiden", "En. Mohd Fadzlezam Bin Sulaiman", "06-2307290")
	mustNotContain(t, "panic page", r.body, "secret-detail", "791117045678", "goroutine", ".go:", "runtime.")

	r = b.get("/api/v1/panic")
	e := decodeAPIError(t, r)
	if r.Code != 500 || e.Incident == "" {
		t.Fatalf("API panic: %d %+v", r.Code, e)
	}
	mustNotContain(t, "API panic", r.body, "nil map", "goroutine")
	logs := h.logs.String()
	mustContain(t, "log", logs, "incident="+e.Incident, "nil map in handler", "goroutine")
	mustNotContain(t, "log", logs, "791117045678")
}

func TestUserMistakesAreNeverServerErrors(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	tok := b.csrf("/demo/borang")
	good := url.Values{"csrf_token": {tok}, "ic": {"791117-04-5678"}, "email": {"siti@melaka.gov.my"}, "modul": {"tuntutan"}, "image": {"durian"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range good {
			f[kk] = vv
		}
		f.Set(k, v)
		return f
	}
	cases := []struct {
		name  string
		form  url.Values
		field string
		msg   string
	}{
		{"malformed IC", with("ic", "79111704567X"), "ic", "No. Pengenalan mesti mempunyai 12 digit"},
		{"wrong domain", with("email", "siti@gmail.com"), "email", "Emel mesti emel rasmi kerajaan"},
		{"10 kB field", with("email", strings.Repeat("a", 10<<10)), "email", "Terlalu panjang: maksimum 254 aksara"},
		{"control characters", with("ic", "7911170\x0045678"), "ic", "Mengandungi aksara yang tidak dibenarkan"},
		{"bidi override", with("phrase", "abc\u202edef"), "phrase", "Mengandungi aksara yang tidak dibenarkan"},
		{"missing", with("email", ""), "email", "Sila isi ruangan ini"},
		{"unknown image", with("image", "../../etc/passwd"), "image", "Sila pilih satu"},
	}
	for _, c := range cases {
		r := b.do("POST", "/demo/borang", c.form)
		if r.Code != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d", c.name, r.Code)
			continue
		}
		mustContain(t, c.name, r.body, `id="f-`+c.field+`-error"`, c.msg, "Terdapat masalah pada borang", `href="#f-`+c.field+`"`)
		if c.field != "image" {
			mustContain(t, c.name, r.body, `aria-invalid="true"`)
		}
		if len(r.body) > 60<<10 {
			t.Errorf("%s: page of %d bytes echoes the input", c.name, len(r.body))
		}
	}
	// Several domain errors at once: every field marked in one answer.
	two := with("ic", "123")
	two.Set("email", "siti@gmail.com")
	r0 := b.do("POST", "/demo/borang", two)
	if r0.Code != 422 {
		t.Fatalf("two bad fields: %d", r0.Code)
	}
	mustContain(t, "two bad fields", r0.body, `id="f-ic-error"`, `id="f-email-error"`, `href="#f-ic"`, `href="#f-email"`)
	// A form-level user error: the box with the manual's words and the helpdesk.
	r := b.do("POST", "/demo/borang", with("ic", "000000-00-0000"))
	if r.Code != 422 {
		t.Fatalf("not registered: %d", r.Code)
	}
	mustContain(t, "not registered", r.body, "Pengguna Tidak Dapat Didaftarkan, Sila Hubungi Pentadbir Sistem", "Pn. Norasikin binti Salam", "06-2307594")
	if r := b.do("POST", "/demo/borang", good); r.Code != 200 || !strings.Contains(r.body, i18n.T(i18n.MS, "demo.saved")) {
		t.Fatalf("valid form: %d", r.Code)
	}
	// A form body over the limit is a 413 page, not a 500 or a CSRF refusal.
	big := with("phrase", strings.Repeat("x", 2<<20))
	if r := b.do("POST", "/demo/borang", big); r.Code != 413 || !strings.Contains(r.body, "Data yang dihantar terlalu besar") {
		t.Fatalf("2 MiB form: %d", r.Code)
	}
	if strings.Contains(h.logs.String(), "level=ERROR") {
		t.Fatalf("a user mistake was logged as an error:\n%s", h.logs.String())
	}
}

func TestCSRF(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	form := url.Values{"ic": {"791117045678"}, "email": {"a@melaka.gov.my"}, "modul": {"tuntutan"}, "image": {"teko"}}

	r := b.do("POST", "/demo/borang", form)
	if r.Code != 403 {
		t.Fatalf("POST without token: %d", r.Code)
	}
	mustContain(t, "CSRF page", r.body, "Borang ini telah tamat tempoh atau tidak sah", "06-2307290")

	tok := b.csrf("/demo/borang")
	form.Set("csrf_token", tok+"x")
	if r := b.do("POST", "/demo/borang", form); r.Code != 403 {
		t.Fatalf("wrong token: %d", r.Code)
	}
	form.Set("csrf_token", tok)
	if r := b.do("POST", "/demo/borang", form); r.Code != 200 {
		t.Fatalf("pre-session token refused: %d", r.Code)
	}
	// Another browser cannot use this browser's token (different nonce).
	other := h.browser()
	other.get("/")
	if r := other.do("POST", "/demo/borang", form); r.Code != 403 {
		t.Fatalf("token accepted with another browser's cookie: %d", r.Code)
	}
	// A request the browser marks cross-site is refused even with a token.
	b.headers["Sec-Fetch-Site"] = "cross-site"
	if r := b.do("POST", "/demo/borang", form); r.Code != 403 {
		t.Fatalf("cross-site POST: %d", r.Code)
	}
	delete(b.headers, "Sec-Fetch-Site")

	// Logged in: the session's token is required; the pre-session one no longer works.
	b.login("791117045678", "", false)
	if r := b.do("POST", "/demo/borang", form); r.Code != 403 {
		t.Fatalf("pre-session token accepted with a session: %d", r.Code)
	}
	// Logout is a state change: without a token it is refused and the session stays.
	if r := b.do("POST", "/log-keluar", nil); r.Code != 403 {
		t.Fatalf("logout without token: %d", r.Code)
	}
	if r := b.get("/utama"); r.Code != 200 {
		t.Fatalf("session ended by a CSRF-less POST: %d", r.Code)
	}
	stok := b.csrf("/utama")
	if r := b.do("POST", "/log-keluar", url.Values{"csrf_token": {stok}}); r.Code != 303 || r.Header().Get("Location") != "/?keluar=1" {
		t.Fatalf("logout: %d %s", r.Code, r.Header().Get("Location"))
	}
	if r := b.get("/utama"); r.Code != 303 {
		t.Fatalf("still logged in after logout: %d", r.Code)
	}
	// No GET changes state: GET /log-keluar is not a logout.
	b.login("791117045678", "", false)
	if r := b.get("/log-keluar"); r.Code != 405 && r.Code != 404 {
		t.Fatalf("GET logout: %d", r.Code)
	}
	if r := b.get("/utama"); r.Code != 200 {
		t.Fatalf("GET /log-keluar logged out: %d", r.Code)
	}
}

// Log Keluar pressed on a page drawn before the session ended (Log Keluar
// in another tab of the same browser, a timeout): there is nothing left to
// end, so the answer is the logged-out landing page, not the 403 of an
// expired form, which reads as if the logout had failed. A stale token
// with a live session (the other tab logged in again) is still refused.
func TestLogoutFromStaleTab(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	b.login("791117045678", "", false)
	stale := b.csrf("/utama") // the first tab's Log Keluar form
	other := b.csrf("/utama") // the second tab's
	if r := b.do("POST", "/log-keluar", url.Values{"csrf_token": {other}}); r.Code != 303 {
		t.Fatalf("logout in the other tab: %d", r.Code)
	}
	r := b.do("POST", "/log-keluar", url.Values{"csrf_token": {stale}})
	if r.Code != 303 || r.Header().Get("Location") != "/?keluar=1" {
		t.Fatalf("logout from the stale tab: %d %s", r.Code, r.Header().Get("Location"))
	}
	if r := b.get("/utama"); r.Code != 303 {
		t.Fatalf("logged in after logging out twice: %d", r.Code)
	}

	// Timed out meanwhile: the same.
	b.login("791117045678", "", false)
	stale = b.csrf("/utama")
	h.clk.Add(31 * time.Minute)
	if r := b.do("POST", "/log-keluar", url.Values{"csrf_token": {stale}}); r.Code != 303 || r.Header().Get("Location") != "/?keluar=1" {
		t.Fatalf("logout after the timeout: %d %s", r.Code, r.Header().Get("Location"))
	}

	// Logged in again since: the old form's token ends nothing.
	b.login("791117045678", "", false)
	if r := b.do("POST", "/log-keluar", url.Values{"csrf_token": {stale}}); r.Code != 403 {
		t.Fatalf("stale token with a live session: %d", r.Code)
	}
	if r := b.get("/utama"); r.Code != 200 {
		t.Fatalf("session ended by a stale token: %d", r.Code)
	}
}

// Log Keluar pressed on a page drawn before this browser's session moved on
// under a new token (a step-up or a password change in another tab, which
// log the browser in again): the form carries the replaced session's
// token, which only this browser's pages held. It logs out, the account's
// other sessions too, rather than answering the expired form's 403 and
// leaving the person logged in. Also when the request still carries the
// replaced session's cookie (it left before the new one came back).
func TestLogoutFromTabDrawnBeforeRotation(t *testing.T) {
	h := newHarness(t, nil)
	b, phone := h.browser(), h.browser()
	b.login("791117045678", "", false)
	phone.login("791117045678", "", false)
	stale := b.csrf("/utama")
	b.login("791117045678", "", true) // the other tab's step-up: a new token
	r := b.do("POST", "/log-keluar", url.Values{"csrf_token": {stale}})
	if r.Code != 303 || r.Header().Get("Location") != "/?keluar=1" {
		t.Fatalf("logout with the replaced session's form: %d %s", r.Code, r.Header().Get("Location"))
	}
	if r := b.get("/utama"); r.Code != 303 {
		t.Fatalf("still logged in: %d", r.Code)
	}
	if r := phone.get("/utama"); r.Code != 303 {
		t.Fatalf("the account's other session survived the logout: %d", r.Code)
	}

	// The request still carries the replaced cookie.
	b.login("791117045678", "", false)
	stale = b.csrf("/utama")
	old := b.cookies["ispeks_session"].Value
	b.login("791117045678", "", true)
	tab := h.browser()
	tab.cookies["ispeks_session"] = &http.Cookie{Name: "ispeks_session", Value: old}
	if r := tab.do("POST", "/log-keluar", url.Values{"csrf_token": {stale}}); r.Code != 303 || r.Header().Get("Location") != "/?keluar=1" {
		t.Fatalf("logout with the replaced cookie: %d %s", r.Code, r.Header().Get("Location"))
	}
	if r := b.get("/utama"); r.Code != 303 {
		t.Fatalf("the session that replaced it survived the logout: %d", r.Code)
	}

	// Another account's former token ends nothing of this one.
	b.login("791117045678", "", false)
	other := h.browser()
	other.login("800101015555", "", false)
	otherTok := other.csrf("/utama")
	if r := b.do("POST", "/log-keluar", url.Values{"csrf_token": {otherTok}}); r.Code != 403 {
		t.Fatalf("another account's token: %d", r.Code)
	}
	if r := b.get("/utama"); r.Code != 200 {
		t.Fatalf("ended by another account's token: %d", r.Code)
	}

	// A login in progress, which anyone can begin for this user ID: its
	// replaced form logs out that browser only.
	stranger := h.browser()
	stranger.get("/test/pending?user=791117045678")
	first := stranger.csrf("/demo/borang")
	stranger.get("/test/pending?user=791117045678")
	if r := stranger.do("POST", "/log-keluar", url.Values{"csrf_token": {first}}); r.Code != 303 {
		t.Fatalf("a login in progress's replaced form: %d", r.Code)
	}
	if r := b.get("/utama"); r.Code != 200 {
		t.Fatalf("ended by the form of a login in progress: %d", r.Code)
	}
}

func sessionCookie(t *testing.T, r result) *http.Cookie {
	t.Helper()
	for _, c := range r.Result().Cookies() {
		if c.Name == "ispeks_session" || c.Name == "__Host-ispeks_session" { // the latter with Secure forced
			return c
		}
	}
	t.Fatalf("no session cookie set")
	return nil
}

func TestSessionCookieFlags(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	c := sessionCookie(t, b.get("/test/login?user=u1"))
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure || c.MaxAge != 0 {
		t.Fatalf("plain HTTP cookie: %+v", c)
	}
	if len(c.Value) != 43 { // 32 bytes, base64url without padding
		t.Fatalf("token %d chars, want 43 (256 bits)", len(c.Value))
	}
	// Behind the trusted proxy saying https: Secure.
	p := h.browser()
	p.remote = "10.1.1.1:3333"
	p.headers["X-Forwarded-Proto"] = "https"
	r := p.get("/test/login?user=u1")
	if c := sessionCookie(t, r); !c.Secure {
		t.Fatal("no Secure behind a TLS-terminating trusted proxy")
	}
	if r.Header().Get("Strict-Transport-Security") == "" {
		t.Fatal("no HSTS over TLS")
	}
	// A client claiming https itself is not believed.
	u := h.browser()
	u.headers["X-Forwarded-Proto"] = "https"
	if c := sessionCookie(t, u.get("/test/login?user=u1")); c.Secure {
		t.Fatal("untrusted X-Forwarded-Proto believed")
	}
	// Forced by configuration.
	hf := newHarness(t, func(c *server.Config, _ *server.Deps) { c.SecureCookies = true })
	if c := sessionCookie(t, hf.browser().get("/test/login?user=u1")); !c.Secure {
		t.Fatal("SecureCookies ignored")
	}
}

func TestNewTokenAtLogin(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	pending := sessionCookie(t, b.get("/test/pending?user=791117045678")).Value
	if s := b.get("/utama"); s.Code != 303 {
		t.Fatalf("a pending login reached a staff page: %d", s.Code)
	}
	b.cookies["ispeks_session"] = &http.Cookie{Name: "ispeks_session", Value: pending}
	loggedIn := sessionCookie(t, b.get("/test/login?user=791117045678")).Value
	if loggedIn == pending {
		t.Fatal("token not renewed at login")
	}
	if r := b.get("/utama"); r.Code != 200 {
		t.Fatalf("new token: %d", r.Code)
	}
	old := h.browser()
	old.cookies["ispeks_session"] = &http.Cookie{Name: "ispeks_session", Value: pending}
	if r := old.get("/utama"); r.Code != 303 {
		t.Fatalf("pre-login token still valid: %d", r.Code)
	}
}

func TestIdleTimeout(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	b.login("u1", "", false)
	for range 4 { // activity every 29 min keeps the session alive past 30 min
		h.clk.Add(29 * time.Minute)
		if r := b.get("/utama"); r.Code != 200 {
			t.Fatalf("active session timed out: %d", r.Code)
		}
	}
	h.clk.Add(30*time.Minute + time.Second)
	r := b.get("/utama")
	if r.Code != 303 || r.Header().Get("Location") != "/?sesi=tamat" {
		t.Fatalf("idle session: %d %s", r.Code, r.Header().Get("Location"))
	}
	if _, ok := b.cookies["ispeks_session"]; ok {
		t.Fatal("expired cookie not cleared")
	}
	r = b.get("/?sesi=tamat")
	mustContain(t, "landing after timeout", r.body, "Sesi anda telah tamat")
}

func TestAbsoluteTimeout(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	b.login("u1", "", false)
	elapsed := time.Duration(0)
	for elapsed+20*time.Minute < 12*time.Hour {
		h.clk.Add(20 * time.Minute)
		elapsed += 20 * time.Minute
		if r := b.get("/utama"); r.Code != 200 {
			t.Fatalf("session ended after %s of activity: %d", elapsed, r.Code)
		}
	}
	h.clk.Add(12*time.Hour - elapsed)
	if r := b.get("/utama"); r.Code != 303 {
		t.Fatalf("session alive at 12 h: %d", r.Code)
	}
}

func TestEndAllFor(t *testing.T) {
	h := newHarness(t, nil)
	phone, desk, other := h.browser(), h.browser(), h.browser()
	phone.login("u1", "", false)
	desk.login("u1", "", false)
	other.login("u2", "", false)
	pend := h.browser()
	pend.get("/test/pending?user=u1")

	n, err := h.srv.Sessions.EndAllFor(context.Background(), "u1")
	if err != nil || n != 3 {
		t.Fatalf("EndAllFor ended %d (%v), want 3", n, err)
	}
	for name, b := range map[string]*browser{"phone": phone, "desk": desk} {
		if r := b.get("/utama"); r.Code != 303 {
			t.Errorf("%s still logged in: %d", name, r.Code)
		}
	}
	if r := other.get("/utama"); r.Code != 200 {
		t.Fatalf("another user's session ended: %d", r.Code)
	}

	// Log Keluar on one device ends the account's other sessions (DESIGN).
	phone.login("u2", "", false)
	tok := other.csrf("/utama")
	other.do("POST", "/log-keluar", url.Values{"csrf_token": {tok}})
	if r := phone.get("/utama"); r.Code != 303 {
		t.Fatalf("logout did not end the account's other session: %d", r.Code)
	}
}

func TestRoleMiddleware(t *testing.T) {
	h := newHarness(t, nil)
	anon, staff, admin, adminTOTP, auditor := h.browser(), h.browser(), h.browser(), h.browser(), h.browser()
	staff.login("s", "", false)
	admin.login("a", session.RoleAdmin, false)
	adminTOTP.login("a2", session.RoleAdmin, true)
	auditor.login("x", session.RoleAuditor, true)

	if r := anon.get("/pentadbir"); r.Code != 303 || r.Header().Get("Location") != "/?sesi=perlu" {
		t.Fatalf("anonymous: %d %s", r.Code, r.Header().Get("Location"))
	}
	r := staff.get("/pentadbir")
	if r.Code != 404 {
		t.Fatalf("staff on admin page: %d", r.Code)
	}
	mustContain(t, "staff 404", r.body, "Halaman tidak dijumpai")
	mustNotContain(t, "staff 404", r.body, "Pentadbir Sistem</summary>")
	if r := staff.get("/audit"); r.Code != 404 {
		t.Fatalf("staff on auditor page: %d", r.Code)
	}
	r = admin.get("/pentadbir")
	if r.Code != 303 || r.Header().Get("Location") != "/login/dua-faktor?next=%2Fpentadbir" {
		t.Fatalf("admin without TOTP: %d %s", r.Code, r.Header().Get("Location"))
	}
	if r := adminTOTP.get("/pentadbir"); r.Code != 200 || !strings.Contains(r.body, "Akan Datang") {
		t.Fatalf("admin with TOTP: %d", r.Code)
	}
	if r := adminTOTP.get("/audit"); r.Code != 404 {
		t.Fatalf("admin on auditor page: %d", r.Code)
	}
	if r := auditor.get("/audit/integriti"); r.Code != 200 {
		t.Fatalf("auditor: %d", r.Code)
	}
	// Menus: staff see the manual's menu only; admins also theirs.
	home := staff.get("/utama").body
	mustContain(t, "staff menu", home, "Permohonan", "Status Bayaran", "Penyata Gaji", "Tetapan Akaun",
		"Kemaskini Maklumat Pengguna", "Tukar Kata Laluan", "Dua Faktor", "Log Keluar", "Siti Aminah binti Hassan", "Jabatan Kewangan")
	mustNotContain(t, "staff menu", home, "Pentadbir Sistem</summary>", "Audit</summary>")
	mustContain(t, "admin menu", adminTOTP.get("/utama").body, "Pentadbir Sistem</summary>", "Cari Akaun")

	// MarkTOTP: the code turns an admin session into one that reaches admin pages, under a new token.
	h.srv.Engine.GET("/test/totp", func(c *gin.Context) {
		if err := h.srv.Sessions.MarkTOTP(c); err != nil {
			httpx.Abort(c, err)
			return
		}
		c.String(200, "ok")
	})
	before := admin.cookies["ispeks_session"].Value
	admin.get("/test/totp")
	if admin.cookies["ispeks_session"].Value == before {
		t.Fatal("token not rotated at TOTP")
	}
	if r := admin.get("/pentadbir"); r.Code != 200 {
		t.Fatalf("admin after TOTP: %d", r.Code)
	}
}

func TestComingPages(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	b.login("u1", "", false)
	for _, p := range []string{"/permohonan/status-bayaran", "/penyata-gaji", "/tetapan-akaun/kemaskini-maklumat", "/tetapan-akaun/tukar-kata-laluan", "/tetapan-akaun/dua-faktor"} {
		if r := b.get(p); r.Code != 200 || !strings.Contains(r.body, "Akan Datang") {
			t.Errorf("%s: %d", p, r.Code)
		}
		if r := h.browser().get(p); r.Code != 303 {
			t.Errorf("%s anonymous: %d", p, r.Code)
		}
	}
}

func TestLanguageToggle(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	r := b.get("/")
	mustContain(t, "Malay landing", r.body, `<html lang="ms">`, "ID Pengguna", ">Login<", "Pendaftaran", "Lupa Kata Laluan", `href="/?lang=en"`)
	r = b.get("/?lang=en")
	var lang *http.Cookie
	for _, c := range r.Result().Cookies() {
		if c.Name == "lang" {
			lang = c
		}
	}
	if lang == nil || lang.Value != "en" || lang.MaxAge <= 0 {
		t.Fatalf("toggle cookie: %+v", lang)
	}
	mustContain(t, "English landing", r.body, `<html lang="en">`, "User ID", "Registration", "Forgot Password", `href="/?lang=ms"`)
	r = b.get("/demo/borang")
	mustContain(t, "English remembered", r.body, `<html lang="en">`, "IC Number")
	b.get("/?lang=ms")
	mustContain(t, "back to Malay", b.get("/").body, `<html lang="ms">`)
	// Error pages follow the language too.
	b.get("/?lang=en")
	mustContain(t, "English 404", b.get("/nope").body, "Page not found", "Contact the System Administrator")
}

func TestSecurityHeaders(t *testing.T) {
	h := apiHarness(t)
	b := h.browser()
	b.login("u1", "", false)
	for _, p := range []string{"/", "/utama", "/demo/borang", "/nope", "/api/v1/locked", "/static/app.css", "/healthz"} {
		r := b.get(p)
		hd := r.Header()
		csp := hd.Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'none'", "frame-ancestors 'none'", "default-src 'self'", "object-src 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP lacks %s", p, want)
			}
		}
		if hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("Referrer-Policy") != "same-origin" || hd.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", p, hd)
		}
		if hd.Get("X-Request-Id") == "" {
			t.Errorf("%s: no request ID", p)
		}
		if p != "/static/app.css" && hd.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: cacheable (%q)", p, hd.Get("Cache-Control"))
		}
		if strings.HasPrefix(hd.Get("Content-Type"), "text/html") {
			mustNotContain(t, p, strings.ToLower(r.body), "<script", " style=", "javascript:", " onclick", " onload")
		}
	}
}

func TestAccessLogHasNoPersonalData(t *testing.T) {
	h := apiHarness(t)
	b := h.browser()
	b.get("/semak/791117045678?ic=800101015555")
	b.get("/api/v1/employees/791117045678")
	b.do("POST", "/demo/borang", url.Values{"ic": {"750505055555"}})
	logs := h.logs.String()
	mustContain(t, "access log", logs, "route=unmatched", "route=/api/v1/employees/:ic", "status=404", "status=200", "status=403")
	mustNotContain(t, "access log", logs, "791117", "800101", "750505", "/semak")
}

func TestLoginThrottle(t *testing.T) {
	h := newHarness(t, func(c *server.Config, _ *server.Deps) {
		c.LoginThrottle = httpx.ThrottleConfig{Burst: 2, Every: time.Minute}
	})
	// What the login handler will do: Check first, then run the command.
	h.srv.Engine.POST("/test/attempt", func(c *gin.Context) {
		if err := h.srv.LoginThrottle.Check(c); err != nil {
			httpx.Abort(c, err)
			return
		}
		c.String(200, "attempted")
	})
	b := h.browser()
	for i := range 2 {
		if r := b.do("POST", "/test/attempt", url.Values{}); r.Code != 200 {
			t.Fatalf("attempt %d: %d", i+1, r.Code)
		}
	}
	r := b.do("POST", "/test/attempt", url.Values{})
	if r.Code != 429 || r.Header().Get("Retry-After") != "60" {
		t.Fatalf("3rd attempt: %d Retry-After %q", r.Code, r.Header().Get("Retry-After"))
	}
	mustContain(t, "429 page", r.body, "Terlalu banyak percubaan. Sila cuba lagi selepas 1 minit.")
	other := h.browser()
	other.remote = "192.0.2.99:1"
	if r := other.do("POST", "/test/attempt", url.Values{}); r.Code != 200 {
		t.Fatalf("another IP throttled: %d", r.Code)
	}
	h.clk.Add(time.Minute)
	if r := b.do("POST", "/test/attempt", url.Values{}); r.Code != 200 {
		t.Fatalf("after a minute: %d", r.Code)
	}
}

func TestMethodAndStatic(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	if r := b.do("DELETE", "/", nil); r.Code != 405 {
		t.Fatalf("DELETE /: %d", r.Code)
	}
	r := b.get("/static/app.css")
	if r.Code != 200 || !strings.Contains(r.Header().Get("Cache-Control"), "max-age=31536000") || !strings.HasPrefix(r.Header().Get("Content-Type"), "text/css") {
		t.Fatalf("css: %d %v", r.Code, r.Header())
	}
	for _, p := range []string{"/static/", "/static/security/", "/static/../go.mod", "/static/nope.css"} {
		if r := b.get(p); r.Code != 404 {
			t.Errorf("%s: %d", p, r.Code)
		}
	}
	landing := b.get("/").body
	mustContain(t, "asset links", landing, `/static/app.css?v=`)
}

// TestHeadAndOptions: HEAD is answered wherever GET is (monitors probe
// pages and /healthz with it), without a body; OPTIONS lists the methods.
func TestHeadAndOptions(t *testing.T) {
	h := newHarness(t, nil)
	h.srv.Engine.POST("/test/post-only", func(c *gin.Context) { c.String(200, "posted") })
	b := h.browser()
	for _, p := range []string{"/", "/healthz", "/readyz"} {
		get, head := b.get(p), b.do("HEAD", p, nil)
		if head.Code != 200 || head.body != "" {
			t.Errorf("HEAD %s: %d, body %q", p, head.Code, head.body)
		}
		for _, k := range []string{"Content-Type", "Cache-Control", "Content-Security-Policy"} {
			if head.Header().Get(k) != get.Header().Get(k) {
				t.Errorf("HEAD %s: %s %q, GET has %q", p, k, head.Header().Get(k), get.Header().Get(k))
			}
		}
		opt := b.do("OPTIONS", p, nil)
		if opt.Code != 204 || opt.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("OPTIONS %s: %d Allow %q", p, opt.Code, opt.Header().Get("Allow"))
		}
	}
	if r := b.do("HEAD", "/test/post-only", nil); r.Code != 405 || r.body != "" || r.Header().Get("Allow") != "POST" {
		t.Errorf("HEAD on a POST route: %d Allow %q body %q", r.Code, r.Header().Get("Allow"), r.body)
	}
	if r := b.do("HEAD", "/nope", nil); r.Code != 404 || r.body != "" {
		t.Errorf("HEAD /nope: %d %q", r.Code, r.body)
	}
	if r := b.do("DELETE", "/", nil); r.Code != 405 || r.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("DELETE /: %d Allow %q", r.Code, r.Header().Get("Allow"))
	}
}

// TestMetricsMethodLabelIsBounded: made-up methods share one "other"
// series, so a client cannot grow the metrics without bound.
func TestMetricsMethodLabelIsBounded(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	for i := range 50 {
		b.do(fmt.Sprintf("X%d", i), "/", nil)
	}
	b.get("/")
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	methods := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != "ispeks_http_request_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "method" {
					methods[l.GetValue()] = true
				}
			}
		}
	}
	if len(methods) != 2 || !methods["GET"] || !methods["other"] {
		t.Fatalf("method labels: %v", methods)
	}
}

// TestTrailingSlashThroughTheChain: a page's path with a trailing slash
// goes to the page like any answer, with the security headers, a request
// ID and a line in the access log, and its Location is never taken from a
// header the client sent (Gin's own redirect built it from
// X-Forwarded-Prefix, whoever sent it). A path that is no page is the 404.
func TestTrailingSlashThroughTheChain(t *testing.T) {
	h := apiHarness(t)
	b := h.browser()
	b.headers = map[string]string{"X-Forwarded-Prefix": "/jalan-lain"}
	r := b.get("/utama/?lang=en")
	if r.Code != http.StatusMovedPermanently || r.Header().Get("Location") != "/utama?lang=en" {
		t.Fatalf("/utama/: %d %q", r.Code, r.Header().Get("Location"))
	}
	hd := r.Header()
	if !strings.Contains(hd.Get("Content-Security-Policy"), "frame-ancestors 'none'") || hd.Get("Cache-Control") != "no-store" ||
		hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("X-Request-Id") == "" {
		t.Errorf("redirect without the security headers: %v", hd)
	}
	if !strings.Contains(h.logs.String(), "status=301") {
		t.Error("redirect not in the access log")
	}
	for _, p := range []string{"//evil.example/", "/%2F%2Fevil.example/", "/nope/", "/utama//"} {
		if r := b.get(p); r.Code != http.StatusNotFound || r.Header().Get("Location") != "" {
			t.Errorf("%s: %d %q", p, r.Code, r.Header().Get("Location"))
		}
	}
}

// TestAPIPathsAreNotRedirected: an API path with a trailing slash is the
// API's JSON 404, as for every method, not a 301 with an HTML body: the
// API's paths are exact, and a client that does not follow redirects read
// an HTML page. Before, a GET of an API path without parameters
// (/api/v1/events/, /api/v1/openapi.json/) was redirected like a page,
// while a POST of one was the 404.
func TestAPIPathsAreNotRedirected(t *testing.T) {
	h := apiHarness(t)
	b := h.browser()
	for _, p := range []string{"/api/v1/locked/", "/api/v1/field/?lang=en", "/api/v1/db/"} {
		r := b.get(p)
		if r.Code != http.StatusNotFound || r.Header().Get("Location") != "" ||
			!strings.HasPrefix(r.Header().Get("Content-Type"), "application/json") || !strings.Contains(r.Body.String(), `"code":"not_found"`) {
			t.Errorf("%s: %d %q %q %s", p, r.Code, r.Header().Get("Location"), r.Header().Get("Content-Type"), r.Body)
		}
	}
}

// TestPublicAssetsSetNoCookies: a static file is cacheable by anyone for a
// year, so its answer must not set a cookie: a shared cache would hand the
// clearing of a timed-out session (or a language) to everyone who loads
// the stylesheet after it, logging them all out.
func TestPublicAssetsSetNoCookies(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	b.login("u1", "", false)
	h.clk.Add(31 * time.Minute) // the session times out
	for _, p := range []string{"/static/app.css", "/static/app.css?lang=en"} {
		r := b.get(p)
		if r.Code != 200 || !strings.Contains(r.Header().Get("Cache-Control"), "public") {
			t.Fatalf("%s: %d %v", p, r.Code, r.Header())
		}
		if sc := r.Header().Values("Set-Cookie"); len(sc) > 0 {
			t.Errorf("%s: a public answer sets cookies: %q", p, sc)
		}
	}
}

// With Secure forced (--secure-cookies: the portal is only reached over
// HTTPS), the session and pre-login CSRF cookies carry the __Host- prefix:
// a browser then takes them only from this host, Secure, Path=/ and no
// Domain, so a sibling subdomain cannot plant one (a login CSRF into the
// planter's own account). Plain HTTP keeps the plain names (browsers drop
// __Host- cookies without Secure).
func TestSecureCookiesCarryTheHostPrefix(t *testing.T) {
	hf := newHarness(t, func(c *server.Config, _ *server.Deps) { c.SecureCookies = true })
	b := hf.browser()
	r := b.get("/test/login?user=u1")
	var got *http.Cookie
	for _, c := range r.Result().Cookies() {
		if c.Name == "__Host-ispeks_session" {
			got = c
		}
	}
	if got == nil || !got.Secure || got.Path != "/" || got.Domain != "" {
		t.Fatalf("session cookie with Secure forced: %+v (all: %v)", got, r.Result().Cookies())
	}
	if r := b.get("/utama"); r.Code != 200 {
		t.Fatalf("logged in under the prefixed name: %d", r.Code)
	}
	if name := hf.srv.Sessions.Config().CookieName; name != "__Host-ispeks_session" {
		t.Fatalf("configured cookie name %q", name)
	}
	if name := hf.srv.Sessions.Config().CSRFCookieName; name != "__Host-ispeks_csrf" {
		t.Fatalf("configured CSRF cookie name %q", name)
	}
	plain := newHarness(t, nil)
	if name := plain.srv.Sessions.Config().CookieName; name != "ispeks_session" {
		t.Fatalf("plain HTTP cookie name %q", name)
	}
}
