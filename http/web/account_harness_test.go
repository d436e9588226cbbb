package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/loginprobe"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/server"
	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/http/web"
	eventsqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	"github.com/melaka-gov/ispeks/infra/mail"
	readsqlite "github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/infra/security"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/accounts"
	"github.com/melaka-gov/ispeks/projections/engine"
)

// The account pages are tested through the real router (server.New) wired
// to real components: the SQLite event store and read store in a temporary
// directory, the projector engine running the accounts projectors, the
// mail consumer writing .eml files to an outbox that the demo mailbox
// reads, infra/security (argon2id with small parameters so the suite stays
// quick), and the real command handlers.

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type world struct {
	t      *testing.T
	dir    string // events.db and views.db
	srv    *server.Server
	events *eventsqlite.Store
	views  *readsqlite.Store
	eng    *engine.Engine
	reg    *eventlog.Registry
	h      commands.AccountHandlers
	sealer *security.Sealer
	keyed  *security.Keyed
	clk    *clock
	outbox string
	logs   *syncBuffer
	// holdProjectors stops the projectors (not the mailer, not the
	// session follower): the read models stay as they are, as when the
	// projector process lags behind the log.
	holdProjectors func()
	// forgotRan counts the Lupa Kata Laluan commands the site's workers
	// have run (after the page answered); stopWorkers tells those workers
	// to stop, as serve does once the server has stopped taking requests,
	// and workersDone closes when they have drained and returned.
	forgotRan   atomic.Int64
	stopWorkers func()
	workersDone chan struct{}
}

// Staff of the tests: in the employee master, in service. Nurul and Hafiz
// share their department's mailbox.
const (
	sitiIC    = "791117045671"
	nurulIC   = "850203145432"
	hafizIC   = "900512015123"
	aminIC    = "880808085577"
	unknownIC = "820304105555" // not in the master
	password  = "Jambatan Merah Sungai 7"
)

type staff struct{ IC, Name, Email, Dept string }

var master = []staff{
	{sitiIC, "Siti Aminah binti Omar", "siti.aminah@melaka.gov.my", "Jabatan Kewangan dan Perbendaharaan Negeri Melaka"},
	{nurulIC, "Nurul Huda binti Rahman", "pentadbiran.jkr@melaka.gov.my", "Jabatan Kerja Raya"},
	{hafizIC, "Hafiz bin Ismail", "pentadbiran.jkr@melaka.gov.my", "Jabatan Kerja Raya"},
	{aminIC, "Amin bin Yusof", "amin.yusof@melaka.gov.my", "Jabatan Pendidikan"},
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type worldOpts struct {
	demo     bool
	throttle httpx.ThrottleConfig
	store    session.Store // nil: the server's default
	// waitTimeout bounds the pages' read-your-writes wait (default 2 s):
	// short for a test that holds the projectors back.
	waitTimeout time.Duration
	// commands, when set, may stand in front of the pages' commands (a
	// test that makes something happen while one runs).
	commands func(w *world, c *web.AccountCommands)
	// forgotQueue and forgotWorkers size the Lupa Kata Laluan queue
	// (0: the site's defaults).
	forgotQueue, forgotWorkers int
	// unawaited is the projectors' UnawaitedDelay (0: the engine's
	// default): an hour commits events only for a reader who waits.
	unawaited time.Duration
}

func newWorld(t *testing.T) *world { return newWorldWith(t, worldOpts{demo: true}) }

func newWorldWith(t *testing.T, o worldOpts) *world {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	w := &world{t: t, dir: dir, clk: &clock{t: time.Date(2026, 5, 4, 1, 0, 0, 0, time.UTC)}, outbox: filepath.Join(dir, "outbox"), logs: &syncBuffer{}}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var err error
	if w.events, err = eventsqlite.Open(ctx, filepath.Join(dir, "events.db"), eventsqlite.Options{Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.events.Close() })
	if w.views, err = readsqlite.Open(ctx, filepath.Join(dir, "views.db"), readsqlite.Options{Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.views.Close() })
	reg := eventlog.NewRegistry()
	account.Register(reg)
	employee.Register(reg)
	loginprobe.Register(reg)
	w.reg = reg
	key := make([]byte, security.MasterKeySize)
	for i := range key {
		key[i] = byte(i*13 + 1)
	}
	if w.sealer, err = security.NewSealer(key); err != nil {
		t.Fatal(err)
	}
	if w.keyed, err = security.NewKeyed(key); err != nil {
		t.Fatal(err)
	}
	runner := commands.Runner{Store: w.events, Registry: reg, Now: w.clk.Now}
	sec := commands.AccountSecurity{
		Hasher: security.NewArgon2(security.Argon2Params{MemoryKiB: 256, Time: 1, Threads: 1}, 0),
		Sealer: w.sealer, Keyed: w.keyed, TOTP: security.TOTP{}, Secrets: security.Generator{},
	}
	w.h = commands.NewAccountHandlers(runner, sec, commands.AccountPolicy{LockThreshold: 3})

	if w.eng, err = engine.New(engine.Config{
		Log: w.events, Store: w.views, Registry: reg,
		Projectors: []projections.Projector{accounts.Projector{}, accounts.AttemptsProjector{}},
		Logger:     quiet, WaitTimeout: 10 * time.Second, UnawaitedDelay: o.unawaited,
	}); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	projCtx, holdProjectors := context.WithCancel(runCtx)
	projDone := make(chan struct{})
	w.holdProjectors = func() { holdProjectors(); <-projDone }
	wg.Add(1)
	go func() { defer wg.Done(); defer close(projDone); _ = w.eng.Run(projCtx) }()

	// The mailer writes to the outbox the demo mailbox reads. It starts at
	// the log head, so wait for its first start before anything is mailed.
	sender, err := mail.NewSender("", w.outbox, nil)
	if err != nil {
		t.Fatal(err)
	}
	from, _ := mail.ParseAddress("iSPEKS <noreply@melaka.gov.my>")
	mailer := &mail.Consumer{Sender: sender, Composer: mail.Composer{From: from, PortalURL: "https://p.ispeks.melaka.gov.my/"}, Open: w.sealer.Open, Log: quiet}
	wg.Add(1)
	go func() { defer wg.Done(); _ = w.eng.RunConsumer(runCtx, mail.ConsumerName, mailer.Handle) }()
	w.eventually("mailer started", func() bool {
		_, ok, _ := w.views.Get(ctx, "consumers", mail.ConsumerName)
		return ok
	})

	for _, s := range master {
		res, err := w.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: sysMeta(), Details: employee.Details{
			IC: s.IC, Name: s.Name, Email: s.Email, Department: s.Dept, Post: "Pegawai", StaffNumber: "S-" + s.IC[8:],
		}})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.eng.WaitFor(ctx, res.Position); err != nil {
			t.Fatal(err)
		}
	}

	throttle := o.throttle
	if throttle.Burst == 0 {
		throttle = httpx.ThrottleConfig{Burst: 10000, Every: time.Millisecond}
	}
	deps := web.AccountDeps{
		Commands: web.AccountCommandsFrom(w.h),
		Views:    w.views, Sealer: w.sealer, Decoys: w.keyed,
		WaitFor:     func(ctx context.Context, pos uint64) error { return w.eng.WaitFor(ctx, pos) },
		WaitTimeout: o.waitTimeout,
		Now:         w.clk.Now,
		ForgotQueue: o.forgotQueue, ForgotWorkers: o.forgotWorkers,
	}
	forgot := deps.Commands.ForgotPassword
	deps.Commands.ForgotPassword = forgotFunc(func(ctx context.Context, cmd commands.ForgotPassword) (commands.Result, error) {
		defer w.forgotRan.Add(1)
		return forgot.Handle(ctx, cmd)
	})
	if o.demo {
		deps.Mailbox = mail.NewMailbox(w.outbox, quiet)
	}
	if o.commands != nil {
		o.commands(w, &deps.Commands)
	}
	w.srv, err = server.New(server.Config{
		TrustedProxies: []string{"10.0.0.0/8"},
		LoginThrottle:  throttle,
		Web:            web.Config{Demo: o.demo, LockoutThreshold: 3},
	}, server.Deps{
		Log:          slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:          w.clk.Now,
		SessionStore: o.store,
		Web:          web.Deps{Accounts: deps},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The site's workers (Lupa Kata Laluan), as cmd/ispeks runs them.
	workCtx, stopWorkers := context.WithCancel(runCtx)
	w.stopWorkers, w.workersDone = stopWorkers, make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(w.workersDone)
		_ = w.srv.Site.RunWorkers(workCtx, 10*time.Second)
	}()
	// The portal's session follower, as cmd/ispeks runs it.
	ender := web.SessionEnder{Sessions: w.srv.Sessions}
	start := w.head()
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = w.eng.RunFollower(runCtx, web.SessionEnderName, start, ender.Handle, ender.Handles()...)
	}()
	return w
}

// forgotFunc is a Lupa Kata Laluan handler made of a function (a test's
// stand-in in front of the real one).
type forgotFunc func(ctx context.Context, cmd commands.ForgotPassword) (commands.Result, error)

func (f forgotFunc) Handle(ctx context.Context, cmd commands.ForgotPassword) (commands.Result, error) {
	return f(ctx, cmd)
}

// forgot posts Lupa Kata Laluan for ic from b, checks the answer every IC
// gets, and waits until the site's workers have run the command.
func (w *world) forgot(b *browser, ic string) result {
	w.t.Helper()
	ran := w.forgotRan.Load()
	r := b.post("/lupa-kata-laluan", "/lupa-kata-laluan", url.Values{"ic": {ic}})
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/lupa-kata-laluan?hantar=1" {
		w.t.Fatalf("forgot password: %d %s", r.Code, r.Header().Get("Location"))
	}
	w.eventually("Lupa Kata Laluan run", func() bool { return w.forgotRan.Load() > ran })
	return r
}

func sysMeta() commands.Meta {
	return commands.Meta{CommandID: uuid.New(), Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "test"}}
}

// eventually polls cond until it holds; it fails the test after a generous
// bound (a stuck component), never asserting a speed.
func (w *world) eventually(what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			w.t.Fatalf("%s: gave up waiting", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// head is the event log's last position: a form that refuses its input
// must leave it unchanged.
func (w *world) head() uint64 {
	w.t.Helper()
	p, err := w.events.LastPosition(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// accountView reads the account view (after the projections caught up).
func (w *world) accountView(ic string) accounts.Account {
	w.t.Helper()
	head := w.head()
	if err := w.eng.WaitFor(context.Background(), head); err != nil {
		w.t.Fatal(err)
	}
	a, ok, err := accounts.GetAccount(context.Background(), w.views, ic)
	if err != nil || !ok {
		w.t.Fatalf("account view of %s: %v %v", ic, ok, err)
	}
	return a
}

// browser keeps cookies between requests like a real one.
type browser struct {
	w       *world
	cookies map[string]*http.Cookie
	remote  string
	headers map[string]string
}

func (w *world) browser() *browser {
	return &browser{w: w, cookies: map[string]*http.Cookie{}, remote: "192.0.2.10:40000", headers: map[string]string{}}
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
	r := httptest.NewRequest(method, target, body)
	r.RemoteAddr = b.remote
	if body != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range b.headers {
		r.Header.Set(k, v)
	}
	for _, c := range b.cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	rec := httptest.NewRecorder()
	b.w.srv.ServeHTTP(rec, r)
	res := result{rec, rec.Body.String()}
	b.keepCookies(res)
	return res
}

// keepCookies takes the cookies r sets or clears, as a browser does with
// every answer it gets.
func (b *browser) keepCookies(r result) {
	for _, c := range r.Result().Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
}

func (b *browser) get(target string) result { return b.do("GET", target, nil) }

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf fetches page and returns the CSRF token of its forms.
func (b *browser) csrf(page string) string {
	b.w.t.Helper()
	r := b.get(page)
	m := csrfRe.FindStringSubmatch(r.body)
	if m == nil {
		b.w.t.Fatalf("no CSRF token on %s (%d): %s", page, r.Code, r.body)
	}
	return m[1]
}

// post submits form on page (fetched first for its CSRF token) to action.
func (b *browser) post(page, action string, form url.Values) result {
	b.w.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", b.csrf(page))
	return b.do("POST", action, form)
}

// follow follows a redirect.
func (b *browser) follow(r result) result {
	b.w.t.Helper()
	if r.Code != http.StatusSeeOther && r.Code != http.StatusFound {
		b.w.t.Fatalf("expected a redirect, got %d: %s", r.Code, r.body)
	}
	return b.get(r.Header().Get("Location"))
}

// enterID is login step 1; it returns the password page.
func (b *browser) enterID(id string) result {
	b.w.t.Helper()
	r := b.post("/", "/login", url.Values{"user_id": {id}})
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/login/kata-laluan" {
		b.w.t.Fatalf("user ID step: %d %s", r.Code, r.Header().Get("Location"))
	}
	return b.follow(r)
}

// enterPassword is login step 2 (the password page must be open).
func (b *browser) enterPassword(pw string) result {
	b.w.t.Helper()
	return b.post("/login/kata-laluan", "/login/kata-laluan", url.Values{"password": {pw}})
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

var tempPasswordRe = regexp.MustCompile(`Kata laluan sementara:\s+([A-Za-z2-9]{14})\s`)

// mailFor waits for the newest outbox mail naming userID (digits) whose
// subject contains subject, read through the demo mailbox pages, and
// returns the temporary password in it.
func (w *world) mailFor(b *browser, userID, subject string, skip int) string {
	w.t.Helper()
	var pw string
	w.eventually("mail for "+userID, func() bool {
		list := b.get("/demo/mailbox")
		if list.Code != 200 {
			w.t.Fatalf("mailbox: %d", list.Code)
		}
		links := regexp.MustCompile(`href="(/demo/mailbox/[^"]+)">([^<]*)</a>`).FindAllStringSubmatch(list.body, -1)
		seen := 0
		for _, l := range links {
			if !strings.Contains(l[2], subject) {
				continue
			}
			m := b.get(l[1])
			if !strings.Contains(m.body, userID) {
				continue
			}
			if seen < skip {
				seen++
				continue
			}
			if p := tempPasswordRe.FindStringSubmatch(m.body); p != nil {
				pw = p[1]
				return true
			}
		}
		return false
	})
	return pw
}

// register runs Pendaftaran for s through the pages and returns the
// temporary password from the demo mailbox.
func (w *world) register(b *browser, s staff) string {
	w.t.Helper()
	r := b.post("/pendaftaran", "/pendaftaran", url.Values{"ic": {s.IC}, "email": {s.Email}})
	if r.Code != 200 || !strings.Contains(r.body, "Pendaftaran berjaya") {
		w.t.Fatalf("register %s: %d %s", s.IC, r.Code, r.body)
	}
	return w.mailFor(b, s.IC, "Pendaftaran iSPEKS", 0)
}

// activate logs in with the temporary password and completes activation;
// the browser ends on the home page.
func (w *world) activate(b *browser, s staff, temp, image, phrase string) result {
	w.t.Helper()
	b.enterID(s.IC)
	r := b.enterPassword(temp)
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/pengaktifan" {
		w.t.Fatalf("temporary password: %d %s %s", r.Code, r.Header().Get("Location"), r.body)
	}
	r = b.post("/pengaktifan", "/pengaktifan", activationForm(password, image, phrase))
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/utama" {
		w.t.Fatalf("activation: %d %s %s", r.Code, r.Header().Get("Location"), r.body)
	}
	return b.follow(r)
}

// activationForm is the activation form with the password pw, the tests'
// secret question and answer, and the image and phrase.
func activationForm(pw, image, phrase string) url.Values {
	return url.Values{
		"password": {pw}, "confirm_password": {pw}, "question": {"guru-kegemaran"},
		"answer": {"Cikgu Rosnah"}, "image": {image}, "phrase": {phrase},
	}
}

// atActivation registers s and logs in with the temporary password; the
// browser is at the Pengaktifan step.
func (w *world) atActivation(s staff) *browser {
	w.t.Helper()
	b := w.browser()
	temp := w.register(b, s)
	b.enterID(s.IC)
	b.enterPassword(temp)
	return b
}

// activeUser registers and activates s; the browser is logged in.
func (w *world) activeUser(s staff) *browser {
	w.t.Helper()
	b := w.browser()
	temp := w.register(b, s)
	w.activate(b, s, temp, "kucing", "Kopi Harum")
	return b
}

// login logs an activated account in (no TOTP) and returns the home page.
func (b *browser) login(id, pw string) result {
	b.w.t.Helper()
	b.enterID(id)
	r := b.enterPassword(pw)
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/utama" {
		b.w.t.Fatalf("login %s: %d %s", id, r.Code, r.Header().Get("Location"))
	}
	return b.follow(r)
}

var (
	csrfValueRe = regexp.MustCompile(`name="csrf_token" value="[^"]+"`)
	reqIDRe     = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
)

// normal removes what differs per request: the CSRF token and request IDs.
func normal(body string) string {
	body = csrfValueRe.ReplaceAllString(body, `name="csrf_token" value="-"`)
	return reqIDRe.ReplaceAllString(body, "-")
}
