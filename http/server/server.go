// Package server assembles the portal's HTTP server: the Gin engine in
// release mode with the shared middleware, health, readiness and metrics
// endpoints, the session manager, the pages of package web and the JSON API
// routes mounted by their owners.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/http/web"
)

// Config is the HTTP configuration.
type Config struct {
	// TrustedProxies are the reverse proxies (addresses or CIDRs) whose
	// X-Forwarded-For / X-Forwarded-Proto are believed. Empty: none.
	TrustedProxies []string
	// MetricsFrom are the addresses or CIDRs that may read /metrics,
	// connecting directly (not through a proxy); others get 404. Empty:
	// loopback only (DefaultMetricsFrom).
	MetricsFrom []string
	// SecureCookies forces Secure cookies and HSTS even when no trusted
	// proxy says the request came over TLS.
	SecureCookies bool
	// BodyLimit caps request bodies (default 1 MiB); routes may set their
	// own with httpx.BodyLimit.
	BodyLimit int64
	// ReadyTimeout bounds /readyz (default 2 s).
	ReadyTimeout time.Duration
	// LoginThrottle sizes the per-IP login throttle.
	LoginThrottle httpx.ThrottleConfig
	// LoginFailures sizes the per-IP limit of wrong passwords (default
	// 30 at once, then one a minute).
	LoginFailures httpx.ThrottleConfig
	// Session is the session policy; Secure, IsAPI, LoginPath and TOTPPath
	// are filled in here.
	Session session.Config
	// Web configures the pages (helpdesk contacts, demo mode, lockout
	// threshold).
	Web web.Config
}

// DefaultMetricsFrom lets only a scraper on the same host read /metrics.
var DefaultMetricsFrom = []string{"127.0.0.0/8", "::1"}

// APIPrefix is where the JSON API lives; its errors are JSON.
const APIPrefix = "/api/"

// Deps are the server's collaborators.
type Deps struct {
	Log *slog.Logger
	// Metrics is the Prometheus registry /metrics serves; nil makes a
	// private one. Never the global default registry.
	Metrics httpx.Registry
	// SessionStore holds sessions; nil is an in-memory store.
	SessionStore session.Store
	// Ready are the readiness checks of /readyz (stores reachable,
	// projector lag under a bound).
	Ready []httpx.Check
	// ErrorRules are the flows' error tables (domain sentinel errors →
	// status, code, message).
	ErrorRules [][]httpx.Rule
	// FieldRules map domain validation errors that carry field and code
	// as data (account.FieldError, employee.FieldError).
	FieldRules []httpx.FieldRule
	// API mounts JSON API routes on the /api/v1 group.
	API []func(api *gin.RouterGroup)
	// Web are the pages' flow collaborators (web.Deps.Accounts, …);
	// Sessions, Errors, Throttle, Log and Metrics are filled in by New.
	Web web.Deps
	// Now is the clock (default time.Now); tests inject one.
	Now func() time.Time
}

// Server is the assembled HTTP server.
type Server struct {
	Engine        *gin.Engine
	Sessions      *session.Manager
	Site          *web.Site
	Errors        *httpx.ErrorMap
	LoginThrottle *httpx.Throttle
	Metrics       *httpx.Metrics
	now           func() time.Time
}

// New builds the server.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Metrics == nil {
		deps.Metrics = prometheus.NewRegistry()
	}
	if deps.SessionStore == nil {
		deps.SessionStore = session.NewMemoryStore(0)
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = httpx.DefaultBodyLimit
	}
	proxies, err := httpx.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	if len(cfg.MetricsFrom) == 0 {
		cfg.MetricsFrom = DefaultMetricsFrom
	}
	scrapers, err := httpx.ParseNetworks("metrics client", cfg.MetricsFrom)
	if err != nil {
		return nil, err
	}
	secure := httpx.SecureRequest(cfg.SecureCookies, proxies)
	isAPI := func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, APIPrefix) }

	sc := cfg.Session
	sc.Secure, sc.IsAPI = secure, isAPI
	if cfg.SecureCookies {
		// Reached only over HTTPS: the __Host- prefix makes browsers take
		// these cookies from this host alone (Secure, Path=/, no Domain),
		// so a sibling subdomain cannot plant a session or a pre-login CSRF
		// nonce (a login CSRF into the planter's account). Without
		// --secure-cookies a request may come over plain HTTP, where such
		// a cookie would be dropped, so the plain names stay.
		if sc.CookieName == "" {
			sc.CookieName = "__Host-ispeks_session"
		}
		if sc.CSRFCookieName == "" {
			sc.CSRFCookieName = "__Host-ispeks_csrf"
		}
	}
	sc.LoginPath, sc.TOTPPath = web.PathLanding, web.PathLoginTOTP
	sc.PasswordPath = web.PathPassword + "?wajib=1" // with the notice why
	sc.FormerForms = web.TakesFormerForms
	sc.LogoutPath = web.PathLogout
	sessions, err := session.NewManager(deps.SessionStore, sc, deps.Now)
	if err != nil {
		return nil, err
	}
	errs := httpx.NewErrorMap(append([][]httpx.Rule{web.Rules()}, deps.ErrorRules...)...)
	errs.AddFieldRules(deps.FieldRules...)
	throttle := httpx.NewThrottle(cfg.LoginThrottle, deps.Now)
	failures := cfg.LoginFailures
	if failures.Burst <= 0 {
		failures.Burst = 30
	}
	if failures.Every <= 0 {
		failures.Every = time.Minute
	}
	wd := deps.Web
	wd.Sessions, wd.Errors, wd.Throttle, wd.Log, wd.Metrics = sessions, errs, throttle, deps.Log, deps.Metrics
	wd.FailThrottle = httpx.NewThrottle(failures, deps.Now)
	site, err := web.NewSite(cfg.Web, wd)
	if err != nil {
		return nil, err
	}
	metrics, err := httpx.NewMetrics(deps.Metrics)
	if err != nil {
		return nil, fmt.Errorf("server: metrics: %w", err)
	}
	responder := &httpx.Responder{Map: errs, Pages: site, IsAPI: isAPI, Log: deps.Log}

	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	if err := e.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("server: trusted proxies: %w", err)
	}
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	// Gin would answer a path with a trailing slash itself, before any
	// middleware: a 301 without the security headers, the access log or
	// metrics, its Location built from X-Forwarded-Prefix whoever sent
	// it. NoRoute redirects instead (trailingSlash), through the chain.
	e.RedirectTrailingSlash = false
	e.HTMLRender = site.HTMLRender()
	e.Use(
		httpx.RequestID(),
		metrics.Middleware(),
		httpx.AccessLog(deps.Log),
		httpx.SecurityHeaders(secure),
		responder.Recoverer(),
		responder.Errors(),
		httpx.BodyLimit(cfg.BodyLimit),
		i18n.Middleware(isAPI, secure),
		sessions.Load(),
		sessions.PasswordChangeFirst(web.OpenBeforePasswordChange),
	)
	var pages map[string]bool // the GET paths without parameters: set below, once mounted
	e.NoRoute(func(c *gin.Context) {
		if to, ok := trailingSlash(c.Request, pages); ok {
			c.Redirect(http.StatusMovedPermanently, to)
			return
		}
		httpx.Abort(c, httpx.ErrNotFound)
	})
	e.NoMethod(func(c *gin.Context) {
		// Gin has set Allow to the route's methods; ServeHTTP answers HEAD
		// wherever GET is.
		h := c.Writer.Header()
		if allow := h.Get("Allow"); slices.Contains(strings.Split(allow, ", "), http.MethodGet) &&
			!slices.Contains(strings.Split(allow, ", "), http.MethodHead) {
			h.Set("Allow", allow+", "+http.MethodHead)
		}
		if c.Request.Method == http.MethodOptions {
			c.Status(http.StatusNoContent)
			return
		}
		httpx.Abort(c, httpx.ErrMethodNotAllowed)
	})

	e.GET("/healthz", httpx.Healthz())
	e.GET("/readyz", httpx.Readyz(deps.Log, cfg.ReadyTimeout, deps.Ready...))
	// Every method and the trailing-slash form are routed here, so that a
	// client /metrics refuses gets the same 404 from each (gin would
	// answer 405 or a redirect, which says the route exists).
	onlyScrapers := httpx.OnlyFrom(scrapers)
	e.Any("/metrics", onlyScrapers, func(c *gin.Context) {
		if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
			c.Header("Allow", "GET, HEAD")
			httpx.Abort(c, httpx.ErrMethodNotAllowed)
			return
		}
		c.Next()
	}, metrics.Handler())
	e.Any("/metrics/", onlyScrapers, func(c *gin.Context) { httpx.Abort(c, httpx.ErrNotFound) })

	api := e.Group("/api/v1")
	for _, mount := range deps.API {
		mount(api)
	}
	site.Routes(e)
	site.FillComing(e)
	pages = map[string]bool{}
	for _, ri := range e.Routes() {
		// The API's paths are exact: one with a trailing slash is its JSON
		// 404 (a client that does not follow redirects read an HTML 301).
		if ri.Method == http.MethodGet && !strings.ContainsAny(ri.Path, ":*") && !strings.HasPrefix(ri.Path, APIPrefix) {
			pages[ri.Path] = true
		}
	}

	return &Server{Engine: e, Sessions: sessions, Site: site, Errors: errs, LoginThrottle: throttle, Metrics: metrics, now: deps.Now}, nil
}

// trailingSlash is where a GET of a page's path with a trailing slash
// ("/utama/") goes: the page, with the query kept. Only paths of pages
// (GET routes without parameters) are redirected, so nothing a client
// writes can make the Location another host's ("//evil.example/").
func trailingSlash(r *http.Request, pages map[string]bool) (string, bool) {
	p := r.URL.Path
	if r.Method != http.MethodGet || len(p) < 2 || p[len(p)-1] != '/' || !pages[p[:len(p)-1]] {
		return "", false
	}
	to := p[:len(p)-1]
	if r.URL.RawQuery != "" {
		to += "?" + r.URL.RawQuery
	}
	return to, true
}

// ServeHTTP makes the server an http.Handler. A HEAD request is answered as
// the GET of the same URL without the body: Gin routes HEAD only where it
// is registered, and monitors and link checkers send it to pages and
// /healthz. The access log and metrics then show it as a GET. The request's
// context ends as soon as the handler starts its body (or flushes): a
// streaming GET (the event feed) would otherwise go on writing into nothing,
// holding the keep-alive connection whose next request then waits for ever.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		g := r.WithContext(ctx)
		g.Method = http.MethodGet
		r, w = g, headWriter{ResponseWriter: w, bodyStarted: cancel}
	}
	s.Engine.ServeHTTP(w, r)
}

// headWriter drops the body of a HEAD answer (net/http does too, but not
// every http.ResponseWriter is net/http's) and ends the request's context
// once the body starts: nothing after the headers reaches the client.
type headWriter struct {
	http.ResponseWriter
	bodyStarted context.CancelFunc
}

func (h headWriter) Write(p []byte) (int, error) {
	h.bodyStarted()
	return len(p), nil
}

func (h headWriter) WriteString(s string) (int, error) {
	h.bodyStarted()
	return len(s), nil
}

func (h headWriter) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// Flush is there because Gin's writer asserts http.Flusher (a stream
// flushes): the headers go out, and the stream's context ends.
func (h headWriter) Flush() {
	_ = http.NewResponseController(h.ResponseWriter).Flush()
	h.bodyStarted()
}

// Run serves on addr until ctx ends, then shuts down gracefully; it also
// sweeps expired sessions meanwhile, and runs the pages' workers
// (Site.RunWorkers), which drain once the requests are done.
func (s *Server) Run(ctx context.Context, addr string) error {
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go session.Janitor(jctx, s.Sessions, time.Minute, s.now)
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	workers := make(chan struct{})
	go func() {
		defer close(workers)
		_ = s.Site.RunWorkers(work, httpx.DefaultShutdownTimeout)
	}()
	err := httpx.Serve(ctx, addr, s)
	stopWork()
	<-workers
	return err
}
