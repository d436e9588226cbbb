package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/melaka-gov/ispeks/http/api"
	"github.com/melaka-gov/ispeks/http/apiauth"
	"github.com/melaka-gov/ispeks/http/eventfeed"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/server"
	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/http/web"
	"github.com/melaka-gov/ispeks/infra/demo"
	"github.com/melaka-gov/ispeks/infra/mail"
	"github.com/melaka-gov/ispeks/infra/pdf"
	"github.com/melaka-gov/ispeks/infra/security"
	"github.com/melaka-gov/ispeks/infra/security/argon2id"
	"github.com/melaka-gov/ispeks/infra/staffimport"
	"github.com/melaka-gov/ispeks/projections/apiclients"
	"github.com/melaka-gov/ispeks/projections/audit"
	"github.com/melaka-gov/ispeks/projections/engine"
	"github.com/melaka-gov/ispeks/projections/payments"
	"github.com/melaka-gov/ispeks/projections/statements"
	"github.com/melaka-gov/ispeks/projections/viewcache"
)

// listPageSize is the rows of a list page (payments and statements).
const listPageSize = 20

// maxReadyLag is how far behind the log a projector may be before /readyz
// says the portal is not ready (pages would show stale data).
const maxReadyLag = 10_000

// httpHandler assembles the portal's HTTP server: pages, the JSON API, health
// and metrics. The returned stop function ends long-lived event streams on
// shutdown (the server waits for requests, and a stream never finishes).
func (a *app) httpHandler(ctx context.Context) (*server.Server, error) {
	cfg := &a.cli.cfg
	helpdesk := make([]web.Contact, len(cfg.Helpdesk))
	for i, h := range cfg.Helpdesk {
		helpdesk[i] = web.Contact{Name: h.Name, Phone: h.Phone}
	}
	auth := apiauth.New(apiclients.Queries{Reader: a.views}, apiauth.Config{
		RateBurst: cfg.APIRateBurst, RateEvery: cfg.APIRateEvery, FailBurst: cfg.APIFailBurst, FailEvery: cfg.APIFailEvery, Log: a.cli.log,
	})
	// The demo mailbox shows the outbox, which holds temporary passwords:
	// demo mode only.
	var mailbox web.DemoMailbox // a nil interface, not a nil pointer, outside demo mode
	if cfg.Demo {
		mailbox = mail.NewMailbox(a.outboxDir(), a.cli.log)
	}
	// People's lists are kept in memory until they change: on the
	// embedded store a list read was a third of a list page's CPU. The
	// engine tells the cache what each commit changed; a payment or a
	// statement never moves to another payee, so the lists are kept per
	// payee_ic and a change drops only that person's.
	lists := viewcache.New(a.views, a.engine, viewcache.Options{
		Budget:     int64(cfg.ViewCacheMB) << 20,
		PageSizes:  []int{listPageSize, api.DefaultPaymentsLimit, api.DefaultStatementsLimit},
		Partitions: map[string]string{payments.Rows: "payee_ic", statements.Rows: "payee_ic"},
	})
	// The cache is read for as long as the engine runs (both end with the
	// app), so it is never taken off the engine's observers.
	_ = a.engine.Observe(lists)
	if err := registerViewCacheMetrics(a.metrics, lists); err != nil {
		return nil, err
	}
	if err := registerHasherMetrics(a.metrics, a.hasher); err != nil {
		return nil, err
	}
	paymentViews := payments.Queries{Reader: a.views, Lists: lists}
	// One value for the queries (lists, views, PDFs, /api/v1/me) and the
	// pages (the year choice, the "how far back" line).
	windows := statements.Windows{SlipMonths: cfg.SlipMonths, AnnualYears: cfg.AnnualYears}
	statementViews := statements.Queries{Reader: a.views, Windows: windows, Lists: lists}
	reports := pdf.Renderer{VerifyURL: strings.TrimSuffix(cfg.BaseURL, "/") + "/sahkan/", QR: true}
	feed := &eventfeed.Feed{Events: a.events, Clients: apiclients.Queries{Reader: a.views}, Stop: ctx.Done(), MaxStreams: cfg.EventStreams, Logger: a.cli.log}

	srv, err := server.New(server.Config{
		TrustedProxies: cfg.TrustedProxies,
		MetricsFrom:    cfg.MetricsFrom,
		SecureCookies:  cfg.SecureCookies,
		LoginThrottle:  httpx.ThrottleConfig{Burst: cfg.LoginPerIPBurst, Every: cfg.LoginPerIPEvery},
		LoginFailures:  httpx.ThrottleConfig{Burst: cfg.LoginFailBurst, Every: cfg.LoginFailEvery},
		Web: web.Config{Helpdesk: helpdesk, Demo: cfg.Demo, LockoutThreshold: cfg.LockThreshold,
			DemoStaff: web.DemoPeople(demo.Staff(), func(p demo.Person) web.DemoPerson {
				return web.DemoPerson{Name: p.Name, IC: p.IC, Email: p.Email}
			})},
	}, server.Deps{
		Web: web.Deps{
			Accounts: web.AccountDeps{
				Commands:       web.AccountCommandsFrom(a.accounts),
				Views:          a.views,
				Sealer:         a.sealer,
				Decoys:         a.keyed,
				WaitFor:        a.waitFor,
				Mailbox:        mailbox,
				AllowedDomains: cfg.EmailDomains,
				Now:            time.Now,
			},
			Payments: web.PaymentDeps{
				Payments:   paymentViews,
				Statements: statementViews,
				Reports:    reports,
				Windows:    windows,
				PageSize:   listPageSize,
				Now:        time.Now,
			},
			Admin: web.AdminDeps{
				Commands: web.AdminCommandsFrom(a.accounts),
				Views:    a.views,
				WaitFor:  a.waitFor,
				Importer: staffimport.New(a.runner, staffimport.Config{AllowedDomains: cfg.EmailDomains, Logger: a.cli.log}),
				Audit:    audit.New(a.events, a.registry, a.keyed.ProbeKey),
			},
		},
		Log:     a.cli.log,
		Metrics: a.metrics,
		Ready: []httpx.Check{
			{Name: "event_store", Run: a.events.Ping},
			{Name: "read_store", Run: a.views.Ping},
			httpx.LagCheck("projectors", a.readyLag, maxReadyLag),
		},
		API: []func(*gin.RouterGroup){
			api.Mounter(api.Deps{Runner: a.runner, Auth: auth.Middleware(), AllowedDomains: cfg.EmailDomains, Log: a.cli.log,
				SpecFragments: api.PaymentsSpecFragments()}),
			api.PaymentsMounter(api.PaymentsDeps{Runner: a.runner, Auth: auth.Middleware(), Payees: a.payees, Log: a.cli.log,
				Clients: apiclients.Queries{Reader: a.views}}),
			api.MeMounter(api.MeDeps{Payments: paymentViews, Statements: statementViews, Reports: reports}),
			func(rg *gin.RouterGroup) {
				rg.GET("/events", auth.Middleware(), apiauth.RequireScope("events:read"), feed.Handler())
			},
		},
	})
	if err != nil {
		return nil, err
	}
	go session.Janitor(ctx, srv.Sessions, time.Minute, nil)
	return srv, nil
}

// serveHTTP serves srv on ln in g until ctx ends, beside the workers that
// run what the pages hand off (Lupa Kata Laluan). The workers stop only once
// the server has stopped taking requests and finished those in flight, so
// nothing is queued after they drain; each drain is bounded by grace.
func serveHTTP(ctx context.Context, g *errgroup.Group, ln net.Listener, srv *server.Server, grace time.Duration) {
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	g.Go(func() error { return srv.Site.RunWorkers(work, grace) })
	g.Go(func() error {
		defer stopWork()
		return httpx.ServeListener(ctx, ln, srv, grace)
	})
}

// waitFor is read-your-writes for pages: it returns when every projector has
// applied the command's last event, or an error after the engine's bound
// (the page then shows what it has).
func (a *app) waitFor(ctx context.Context, position uint64) error {
	return a.engine.WaitFor(ctx, position)
}

// maxLag is the largest lag of any projector.
func (a *app) maxLag(ctx context.Context) (uint64, error) {
	st, err := a.engine.Status(ctx, 1)
	if err != nil {
		return 0, err
	}
	return projectorLag(st), nil
}

func projectorLag(st []engine.Status) uint64 {
	var lag uint64
	for _, s := range st {
		if s.Kind == "projector" {
			lag = max(lag, s.Lag)
		}
	}
	return lag
}

// readyLag is maxLag for /readyz, which also fails while a projector's read
// model is not of the layout it declares: it is being rebuilt (or will be at
// the next start), and its live collections are not the ones this code reads.
func (a *app) readyLag(ctx context.Context) (uint64, error) {
	st, err := a.engine.Status(ctx, 1)
	if err != nil {
		return 0, err
	}
	for _, s := range st {
		if s.Kind == "projector" && s.Layout != s.WantLayout {
			return 0, fmt.Errorf("projector %s: read model of layout %d, rebuilding to %d", s.Name, s.Layout, s.WantLayout)
		}
	}
	return projectorLag(st), nil
}

var _ http.Handler = (*server.Server)(nil)

// registerViewCacheMetrics exports the list cache's hits, misses and size
// (nil registry: not exported).
func registerViewCacheMetrics(reg *prometheus.Registry, c *viewcache.Reader) error {
	return registerAll(reg, "view cache",
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ispeks_view_cache_hits_total",
			Help: "People's payment and statement lists answered from memory."},
			func() float64 { return float64(c.Stats().Hits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ispeks_view_cache_misses_total",
			Help: "People's payment and statement lists read from the read store while the cache could keep them."},
			func() float64 { return float64(c.Stats().Misses) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ispeks_view_cache_bytes",
			Help: "Memory counted for the lists kept (--view-cache-mb bounds it)."},
			func() float64 { return float64(c.Stats().Bytes) }))
}

// registerHasherMetrics exports the password derivations done and the
// block memory they hold outside the Go heap (nil registry: not exported).
// The hashing slots' memory (20 MiB each, on huge pages) is resident but
// in none of the Go runtime's heap figures: without this gauge a resident
// size some 40 MiB above the heap looks like a leak.
func registerHasherMetrics(reg *prometheus.Registry, h *security.Argon2) error {
	return registerAll(reg, "hasher",
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ispeks_argon2_derivations_total",
			Help: "argon2id derivations done (password and secret checks, new hashes, the decoys of unknown user IDs)."},
			func() float64 { return float64(h.Computed()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ispeks_argon2_mapped_bytes",
			Help: "argon2id block memory held in mappings outside the Go heap (the hashing slots: resident, yet in no Go heap figure)."},
			func() float64 { return float64(argon2id.MappedBytes()) }))
}

// registerAll registers cols, the metrics of what, on reg (nil: none).
func registerAll(reg *prometheus.Registry, what string, cols ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	for _, col := range cols {
		if err := reg.Register(col); err != nil {
			return fmt.Errorf("register %s metrics: %w", what, err)
		}
	}
	return nil
}
