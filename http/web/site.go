// Package web is the portal's server-rendered pages: templates (embedded),
// static assets, security images, the layout and menu, forms with per-field
// errors, and the page handlers of each flow. Every page is rendered
// through Site.Render; every failure goes through Site.Fail or httpx.Abort,
// so errors look and map the same everywhere.
package web

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/render"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/http/session"
)

// Config is the pages' configuration.
type Config struct {
	// Helpdesk is shown on every error page (default: the manual's four
	// System Administrator lines).
	Helpdesk []Contact
	// Demo mounts the demo-only pages (a sample form).
	Demo bool
	// LockoutThreshold is the number of wrong passwords that locks an
	// account (default 3); the lockout notice quotes it.
	LockoutThreshold int
	DemoStaff        []DemoPerson // demo mode: staff the landing page suggests to register as (demo_hint.go)
}

// Deps are the pages' collaborators. Flows add theirs here as their pages
// are built (accounts commands and queries, payments queries, …).
type Deps struct {
	Sessions *session.Manager // required
	Errors   *httpx.ErrorMap  // required: the one error table
	Throttle *httpx.Throttle  // login throttling (may be nil in tests)
	// FailThrottle limits wrong passwords per client address (nil: none):
	// a password step takes a token before its check and gives it back
	// when the password was right.
	FailThrottle *httpx.Throttle
	Log          *slog.Logger
	// Metrics registers the pages' own collectors (the Lupa Kata Laluan
	// queue's); nil: not exported.
	Metrics prometheus.Registerer
	// Accounts: the staff account pages (account_deps.go); zero leaves
	// them out.
	Accounts AccountDeps
	Admin    AdminDeps // administrator and auditor pages (admin_deps.go); zero leaves them out
	// Payments: Status Bayaran, Penyata Gaji, /sahkan (payments_deps.go).
	Payments PaymentDeps
}

// Site renders pages and holds the handlers.
type Site struct {
	cfg        Config
	deps       Deps
	pages      *pages
	assets     map[string]string
	static     fs.FS
	forgotJobs *forgotQueue // nil without the account pages
}

// NewSite parses the embedded templates and prepares the static files.
func NewSite(cfg Config, deps Deps) (*Site, error) {
	if deps.Sessions == nil || deps.Errors == nil {
		return nil, errors.New("web: Sessions and Errors are required")
	}
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if len(cfg.Helpdesk) == 0 {
		cfg.Helpdesk = DefaultHelpdesk()
	}
	if cfg.LockoutThreshold <= 0 {
		cfg.LockoutThreshold = 3
	}
	if deps.Accounts.enabled() {
		if err := deps.Accounts.check(cfg.Demo); err != nil {
			return nil, err
		}
		deps.Accounts = deps.Accounts.withDefaults()
	}
	var forgot *forgotQueue
	if a := deps.Accounts; a.enabled() {
		var err error
		if forgot, err = newForgotQueue(a.Commands.ForgotPassword, a.ForgotQueue, a.ForgotWorkers, deps.Log, deps.Metrics); err != nil {
			return nil, fmt.Errorf("web: metrics: %w", err)
		}
	}
	// The account errors map the same on every page (admin pages run
	// account commands too).
	deps.Errors.Add(AccountRules()...)
	deps.Errors.AddFieldRules(AccountFieldRules()...)
	p, err := parsePages(files)
	if err != nil {
		return nil, err
	}
	assets, err := hashAssets(files)
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(files, "static")
	if err != nil {
		return nil, err
	}
	return &Site{cfg: cfg, deps: deps, pages: p, assets: assets, static: static, forgotJobs: forgot}, nil
}

// RunWorkers runs the work the pages hand off to be done after they have
// answered (Lupa Kata Laluan, so its response time says nothing about the
// account) until ctx ends, then finishes what is queued, for up to grace,
// and returns nil. Run it beside the HTTP server and end ctx once the server
// has stopped taking requests, so that none is queued after the drain.
// Without it the requests queue up unrun and then are dropped.
func (s *Site) RunWorkers(ctx context.Context, grace time.Duration) error {
	if s.forgotJobs == nil {
		<-ctx.Done()
		return nil
	}
	s.forgotJobs.run(ctx, grace)
	return nil
}

// HTMLRender is the renderer to install on the Gin engine
// (engine.HTMLRender = site.HTMLRender()).
func (s *Site) HTMLRender() render.HTMLRender { return s.pages }

// Sessions returns the session manager (for handlers of other packages).
func (s *Site) Sessions() *session.Manager { return s.deps.Sessions }

func (s *Site) asset(name string) string {
	h, ok := s.assets[name]
	if !ok {
		panic("web: no static file " + name)
	}
	return PathStatic + "/" + name + "?v=" + h
}

// view builds what templates see from the handler's Page.
func (s *Site) view(c *gin.Context, p Page) *View {
	v := &View{
		Page:      p,
		Lang:      i18n.From(c),
		Helpdesk:  s.cfg.Helpdesk,
		Path:      c.Request.URL.Path,
		RequestID: httpx.RequestIDOf(c),
		site:      s,
	}
	v.LangURL = langURL(togglePath(c.Request), c.Request.URL.Query(), v.Lang.Other())
	if u, ok := session.User(c); ok {
		v.User = &u
		v.Menu = menuFor(u)
	}
	v.CSRF = s.deps.Sessions.CSRFToken(c)
	if v.Form == nil {
		v.Form = NewForm(nil)
	}
	return v
}

// Render draws page name (templates/pages/NAME.html) with status.
func (s *Site) Render(c *gin.Context, status int, name string, p Page) {
	v := s.view(c, p)
	if status == http.StatusOK {
		v.Carried = s.takeCarried(c, v.Notice)
	}
	c.HTML(status, name, v)
}

// Fail shows err to the user in the right place. A user mistake tied to a
// field goes beside that field; another user mistake (not registered, wrong
// password, locked) goes in the box at the top of the form, with the
// helpdesk contacts; a fault of ours goes to the "Sistem tidak dapat
// diakses" page via the Errors middleware (logged, with an incident ID).
// The form page is re-rendered with the error's status (422, 401, 423,
// 429, …), never 200.
func (s *Site) Fail(c *gin.Context, name string, p Page, err error) {
	if fps := s.deps.Errors.FieldProblems(err); len(fps) > 0 {
		// Every field error of the form at once (a domain's FieldErrors).
		if p.Form == nil {
			p.Form = NewForm(nil)
		}
		for _, fp := range fps {
			p.Form.Fail(fp.Field, fp.Message)
		}
		s.Render(c, fps[0].Status, name, p)
		return
	}
	prob := s.deps.Errors.Map(err)
	if !prob.UserError() || prob.Code == "csrf" {
		httpx.Abort(c, err)
		return
	}
	if p.Form == nil {
		p.Form = NewForm(nil)
	}
	if prob.Field != "" {
		p.Form.Fail(prob.Field, prob.Message)
	} else {
		p.Problem = &prob
	}
	if prob.RetryAfter > 0 {
		c.Header("Retry-After", fmt.Sprint(int(prob.RetryAfter.Seconds()+0.999)))
	}
	s.Render(c, prob.Status, name, p)
}

// Invalid re-renders a form whose own checks failed (Form.Valid() false)
// with 422.
func (s *Site) Invalid(c *gin.Context, name string, p Page) {
	s.Render(c, http.StatusUnprocessableEntity, name, p)
}

// RenderProblem implements httpx.ErrorPages: the error page, with the
// helpdesk contacts and, for our faults, the incident ID.
func (s *Site) RenderProblem(c *gin.Context, p httpx.Problem) {
	s.Render(c, p.Status, "error", Page{Title: "title.error", Problem: &p})
}

// serveStatic serves the embedded static files with a year of caching:
// every link to them carries the content hash (View.Asset).
func (s *Site) serveStatic() gin.HandlerFunc {
	fileServer := http.StripPrefix(PathStatic, http.FileServerFS(s.static))
	return func(c *gin.Context) {
		name := strings.TrimPrefix(c.Param("filepath"), "/")
		if _, ok := s.assets[name]; !ok {
			httpx.Abort(c, httpx.ErrNotFound) // no directory listings, no guessing
			return
		}
		c.Header("Cache-Control", "public, max-age=31536000, immutable")
		// Anyone's cache may keep this answer for a year: a cookie the
		// middleware set on the way (clearing a timed-out session, a
		// ?lang= choice) would go to everyone it is served to.
		c.Writer.Header().Del("Set-Cookie")
		fileServer.ServeHTTP(c.Writer, c.Request)
	}
}

// Routes mounts the pages on r. r must already carry the session loader;
// Routes adds the CSRF check to the page group itself.
func (s *Site) Routes(r gin.IRouter) {
	r.GET(PathStatic+"/*filepath", s.serveStatic())
	r.HEAD(PathStatic+"/*filepath", s.serveStatic())

	pg := r.Group("", s.deps.Sessions.CSRF())
	pg.GET(PathLanding, s.landing)
	pg.POST(PathLogout, s.logout)
	// The home page shows what the login decided (kept in the session): it
	// alone does not wait for the login's events to reach the views.
	pg.GET(PathHome, s.deps.Sessions.RequireLogin(), s.home)

	pages := pg.Group("", s.readAfterLogin)
	staff := pages.Group("", s.deps.Sessions.RequireLogin())
	s.accountRoutes(pages, staff)
	s.adminRoutes(r, pages)
	s.paymentRoutes(pages, staff)

	if s.cfg.Demo {
		pg.GET(PathDemoForm, s.demoForm)
		pg.POST(PathDemoForm, s.demoFormSubmit)
	}
}

// FillComing registers an "Akan Datang" page for every menu path that has
// no GET handler yet, behind the same guards the real page will have.
// Call it after every flow has mounted its routes.
func (s *Site) FillComing(e *gin.Engine) {
	have := map[string]bool{}
	for _, ri := range e.Routes() {
		if ri.Method == http.MethodGet {
			have[ri.Path] = true
		}
	}
	m := s.deps.Sessions
	var walk func(items []MenuItem, guards []gin.HandlerFunc)
	walk = func(items []MenuItem, guards []gin.HandlerFunc) {
		for _, it := range items {
			g := guards
			if len(it.Roles) > 0 {
				g = []gin.HandlerFunc{m.RequireRole(it.Roles...), m.RequireTOTP()}
			}
			if it.Path != "" && !it.POST && !have[it.Path] {
				e.GET(it.Path, append(append([]gin.HandlerFunc{}, g...), s.coming)...)
				have[it.Path] = true
			}
			walk(it.Children, g)
		}
	}
	walk(menu, []gin.HandlerFunc{m.RequireLogin()})
}
