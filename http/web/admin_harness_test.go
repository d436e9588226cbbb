package web_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
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
	readsqlite "github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/infra/security"
	"github.com/melaka-gov/ispeks/infra/staffimport"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/accounts"
	"github.com/melaka-gov/ispeks/projections/audit"
	"github.com/melaka-gov/ispeks/projections/engine"
)

// adminPortal is the real server over real components: the SQLite event store
// and read store in a temporary directory, the projector engine running the
// accounts projectors, the account command handlers with the real security
// components (argon2id with small parameters to keep the suite quick), the
// staff importer and the audit log reader. Only the login itself goes
// through a test route (the login pages belong to the staff account flow);
// what an administrator may do is still decided by the commands on the
// administrator's own stream.
type adminPortal struct {
	t      *testing.T
	dir    string
	events *eventsqlite.Store
	views  projections.ReadStore
	reg    *eventlog.Registry
	eng    *engine.Engine
	h      commands.AccountHandlers
	sealer *security.Sealer
	keyed  *security.Keyed
	srv    *server.Server

	mu  sync.Mutex
	now time.Time // the commands' clock (event times)
}

const (
	admAdminIC   = "750101045001"
	admSitiIC    = "791117045671"
	admNurulIC   = "850203145432"
	admHafizIC   = "900512015123"
	admAuditorIC = "820304105555"
	admSitiPW    = "kuih lapis sedap sekali"
)

var admT0 = time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)

func newAdminPortal(t *testing.T) *adminPortal {
	t.Helper()
	p := &adminPortal{t: t, dir: t.TempDir(), now: admT0}
	ctx, cancel := context.WithCancel(context.Background())
	quiet := slog.New(slog.DiscardHandler)
	var err error
	if p.events, err = eventsqlite.Open(ctx, filepath.Join(p.dir, "events.db"), eventsqlite.Options{Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	if p.views, err = readsqlite.Open(ctx, filepath.Join(p.dir, "views.db"), readsqlite.Options{Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	p.reg = eventlog.NewRegistry()
	account.Register(p.reg)
	employee.Register(p.reg)
	loginprobe.Register(p.reg)
	master := bytes.Repeat([]byte{42}, security.MasterKeySize)
	if p.sealer, err = security.NewSealer(master); err != nil {
		t.Fatal(err)
	}
	if p.keyed, err = security.NewKeyed(master); err != nil {
		t.Fatal(err)
	}
	runner := commands.Runner{Store: p.events, Registry: p.reg, Now: p.clock}
	p.h = commands.NewAccountHandlers(runner, commands.AccountSecurity{
		Hasher: security.NewArgon2(security.Argon2Params{MemoryKiB: 256, Time: 1, Threads: 1}, 0),
		Sealer: p.sealer, Keyed: p.keyed, TOTP: security.TOTP{}, Secrets: security.Generator{},
	}, commands.AccountPolicy{})
	p.eng, err = engine.New(engine.Config{Log: p.events, Store: p.views, Registry: p.reg, Logger: quiet,
		Projectors: []projections.Projector{accounts.Projector{}, accounts.AttemptsProjector{}}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.eng.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("engine: %v", err)
		}
		p.views.Close()
		p.events.Close()
	})

	p.srv, err = server.New(server.Config{}, server.Deps{
		Log: quiet,
		Now: p.clock, // the sessions' clock is the events' one, as in the portal
		Web: web.Deps{Admin: web.AdminDeps{
			Commands: web.AdminCommandsFrom(p.h),
			Views:    p.views,
			WaitFor:  func(ctx context.Context, pos uint64) error { return p.eng.WaitFor(ctx, pos) },
			Importer: staffimport.New(runner, staffimport.Config{Logger: quiet}),
			Audit:    audit.New(p.events, p.reg, p.keyed.ProbeKey),
			Now:      p.clock,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The portal's session follower, as cmd/ispeks runs it.
	ender := web.SessionEnder{Sessions: p.srv.Sessions}
	from := p.logHead()
	followed := make(chan error, 1)
	go func() {
		followed <- p.eng.RunFollower(ctx, web.SessionEnderName, from, ender.Handle, ender.Handles()...)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-followed; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("session follower: %v", err)
		}
	})
	// Test-only login: the session a completed login would give.
	p.srv.Engine.GET("/test/login", func(c *gin.Context) {
		var roles []string
		if r := c.Query("roles"); r != "" {
			roles = strings.Split(r, ",")
		}
		if err := p.srv.Sessions.Login(c, session.Identity{UserID: c.Query("user"), Name: c.Query("name"), Department: "Jabatan Kewangan",
			Roles: roles, TOTPVerified: c.Query("totp") == "1"}); err != nil {
			httpx.Abort(c, err)
			return
		}
		c.Redirect(http.StatusSeeOther, web.LocalPath(c.Query("next"), web.PathHome))
	})

	p.staff()
	return p
}

func (p *adminPortal) clock() time.Time { p.mu.Lock(); defer p.mu.Unlock(); return p.now }
func (p *adminPortal) advance(d time.Duration) {
	p.mu.Lock()
	p.now = p.now.Add(d)
	p.mu.Unlock()
}

func (p *adminPortal) meta(kind, id string) commands.Meta {
	return commands.Meta{CommandID: uuid.New(), Actor: eventlog.Actor{Kind: kind, ID: id}, SourceIP: "192.0.2.7", UserAgent: "test"}
}

func (p *adminPortal) ok(res commands.Result, err error) commands.Result {
	p.t.Helper()
	if err != nil {
		p.t.Fatalf("given: %v", err)
	}
	return res
}

// staff: the employee master, an active administrator, Siti (active), Nurul
// (registered, not activated), Hafiz (in the master only) and an auditor.
func (p *adminPortal) staff() {
	p.t.Helper()
	ctx := context.Background()
	sys := func() commands.Meta { return p.meta(eventlog.ActorSystem, "test") }
	for _, d := range []employee.Details{
		{IC: admSitiIC, Name: "Siti Aminah binti Omar", Email: "siti.aminah@melaka.gov.my", Department: "Jabatan Kewangan dan Perbendaharaan", Post: "Pegawai Kewangan", StaffNumber: "JKPN-0042"},
		{IC: admNurulIC, Name: "Nurul Huda binti Rahman", Email: "nurul.huda@melaka.gov.my", Department: "Jabatan Kerja Raya", Post: "Pembantu Tadbir", StaffNumber: "JKR-1001"},
		{IC: admHafizIC, Name: "Hafiz bin Ismail", Email: "hafiz@melaka.gov.my", Department: "Jabatan Kerja Raya", Post: "Juruteknik", StaffNumber: "JKR-1002"},
		{IC: admAuditorIC, Name: "Lim Mei Ling", Email: "mei.ling@melaka.gov.my", Department: "Jabatan Audit Negeri", Post: "Juruaudit", StaffNumber: "JAN-0007"},
	} {
		p.ok(p.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: sys(), Details: d}))
	}
	created, _, err := p.h.CreateAdministrator.Create(ctx, commands.CreateAdministrator{Meta: sys(), Staff: employee.Details{
		IC: admAdminIC, Name: "Mohd Fadzlezam bin Sulaiman", Email: "fadzlezam@melaka.gov.my", Department: "Jabatan Kewangan dan Perbendaharaan", Post: "Pegawai Teknologi Maklumat", StaffNumber: "JKPN-0001",
	}})
	if err != nil {
		p.t.Fatal(err)
	}
	p.activate(admAdminIC, created.TemporaryPassword, "pentadbir sistem melaka")
	p.register(admSitiIC, "siti.aminah@melaka.gov.my", true)
	p.register(admNurulIC, "nurul.huda@melaka.gov.my", false)
	p.register(admAuditorIC, "mei.ling@melaka.gov.my", true)
	res := p.ok(p.h.GrantRole.Handle(ctx, commands.GrantRole{Meta: sys(), UserID: admAuditorIC, Role: account.RoleAuditor}))
	p.caughtUp(res.Position)
}

func (p *adminPortal) activate(ic, temp, pw string) {
	p.t.Helper()
	if _, _, err := p.h.LogIn.LogIn(context.Background(), commands.LogIn{Meta: p.meta(eventlog.ActorAnonymous, ""), UserID: ic, Password: temp}); err != nil {
		p.t.Fatal(err)
	}
	p.ok(p.h.Activate.Handle(context.Background(), commands.ActivateAccount{Meta: p.meta(eventlog.ActorUser, ic), UserID: ic, Form: account.ActivationForm{
		Password: pw, ConfirmPassword: pw, QuestionID: "haiwan-peliharaan", Answer: "Comot", ImageID: "wau-bulan", Phrase: "Pantai Tenang",
	}}))
}

func (p *adminPortal) register(ic, email string, activate bool) {
	p.t.Helper()
	p.ok(p.h.Register.Handle(context.Background(), commands.RegisterAccount{Meta: p.meta(eventlog.ActorAnonymous, ""), IC: ic, Email: email}))
	if activate {
		p.activate(ic, p.tempPassword(ic), admSitiPW)
	}
}

// enrolTOTP switches TOTP on for ic, whose password is pw.
func (p *adminPortal) enrolTOTP(ic, pw string) {
	p.t.Helper()
	ctx := context.Background()
	enrol, _, err := p.h.EnrolTOTP.Enrol(ctx, commands.EnrolTOTP{Meta: p.meta(eventlog.ActorUser, ic), UserID: ic, CurrentPassword: pw})
	if err != nil {
		p.t.Fatal(err)
	}
	code, _ := security.TOTP{}.Code(enrol.Secret, p.clock())
	_, res, err := p.h.ConfirmTOTP.Confirm(ctx, commands.ConfirmTOTP{Meta: p.meta(eventlog.ActorUser, ic), UserID: ic, Code: code})
	if err != nil {
		p.t.Fatal(err)
	}
	p.caughtUp(res.Position)
}

// tempPassword opens the latest temporary password as the mailer does.
func (p *adminPortal) tempPassword(ic string) string {
	p.t.Helper()
	envs := p.stream(ic)
	for i := len(envs) - 1; i >= 0; i-- {
		if ev, ok := envs[i].Event.(account.TemporaryPasswordIssued); ok {
			pt, err := p.sealer.Open(ev.Sealed, ev.AAD())
			if err != nil {
				p.t.Fatal(err)
			}
			return string(pt)
		}
	}
	p.t.Fatalf("no temporary password for %s", ic)
	return ""
}

// stream decodes an account stream.
func (p *adminPortal) stream(ic string) []eventlog.Envelope {
	p.t.Helper()
	recs, err := p.events.ReadStream(context.Background(), "account-"+ic, 1, eventlog.Forwards, 10000)
	if err != nil {
		p.t.Fatal(err)
	}
	out := make([]eventlog.Envelope, len(recs))
	for i, r := range recs {
		if out[i], err = p.reg.Decode(r); err != nil {
			p.t.Fatal(err)
		}
	}
	return out
}

// logHead is the position of the last event in the log: "changes nothing"
// means it does not move.
func (p *adminPortal) logHead() uint64 {
	p.t.Helper()
	pos, err := p.events.LastPosition(context.Background())
	if err != nil {
		p.t.Fatal(err)
	}
	return pos
}

func (p *adminPortal) caughtUp(pos uint64) {
	p.t.Helper()
	if err := p.eng.WaitFor(context.Background(), pos); err != nil {
		p.t.Fatal(err)
	}
}

func (p *adminPortal) login(ic, pw string) error {
	_, res, err := p.h.LogIn.LogIn(context.Background(), commands.LogIn{Meta: p.meta(eventlog.ActorAnonymous, ""), UserID: ic, Password: pw})
	p.caughtUp(res.Position)
	return err
}

// lock locks an account with three wrong passwords, a minute apart.
func (p *adminPortal) lock(ic string) {
	p.t.Helper()
	for i := range 3 {
		err := p.login(ic, "bukan kata laluan ini")
		if (i < 2 && !errors.Is(err, account.ErrWrongPassword)) || (i == 2 && !errors.Is(err, account.ErrLocked)) {
			p.t.Fatalf("attempt %d: %v", i+1, err)
		}
		p.advance(time.Minute)
	}
}

// admBrowser keeps cookies between requests, like a real one.
type admBrowser struct {
	p       *adminPortal
	cookies map[string]*http.Cookie
}

type admResult struct {
	code int
	hdr  http.Header
	body string
}

func (p *adminPortal) newBrowser() *admBrowser {
	return &admBrowser{p: p, cookies: map[string]*http.Cookie{}}
}

func (b *admBrowser) send(r *http.Request) admResult {
	r.RemoteAddr = "192.0.2.10:40000"
	for _, c := range b.cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	w := httptest.NewRecorder()
	b.p.srv.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return admResult{w.Code, w.Header(), w.Body.String()}
}

func (b *admBrowser) get(target string) admResult {
	return b.send(httptest.NewRequest("GET", target, nil))
}

func (b *admBrowser) post(target string, form url.Values) admResult {
	r := httptest.NewRequest("POST", target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.send(r)
}

// upload posts a multipart form with one file.
func (b *admBrowser) upload(target string, fields url.Values, file string, content []byte) admResult {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range fields {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	if file != "" {
		fw, _ := mw.CreateFormFile("file", file)
		_, _ = io.Copy(fw, bytes.NewReader(content))
	}
	_ = mw.Close()
	r := httptest.NewRequest("POST", target, &body)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	return b.send(r)
}

// as logs the admBrowser in through the test route.
func (b *admBrowser) as(user, roles string, totp bool) *admBrowser {
	b.p.t.Helper()
	q := url.Values{"user": {user}, "roles": {roles}, "name": {"Pengguna " + user}}
	if totp {
		q.Set("totp", "1")
	}
	if r := b.get("/test/login?" + q.Encode()); r.code != http.StatusSeeOther {
		b.p.t.Fatalf("test login: %d %s", r.code, r.body)
	}
	return b
}

var admCSRFRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf fetches page and returns its form token.
func (b *admBrowser) csrf(page string) string {
	b.p.t.Helper()
	r := b.get(page)
	m := admCSRFRe.FindStringSubmatch(r.body)
	if m == nil {
		b.p.t.Fatalf("no CSRF token on %s (%d)", page, r.code)
	}
	return m[1]
}

// admin is a admBrowser logged in as the administrator with TOTP.
func (p *adminPortal) admin() *admBrowser   { return p.newBrowser().as(admAdminIC, "admin", true) }
func (p *adminPortal) auditor() *admBrowser { return p.newBrowser().as(admAuditorIC, "auditor", true) }

func admAccountURL(ic string) string { return "/pentadbir/akaun/" + ic }

func admContain(t *testing.T, what, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Errorf("%s: missing %q", what, s)
		}
	}
}

func admNotContain(t *testing.T, what, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(body, s) {
			t.Errorf("%s: must not contain %q", what, s)
		}
	}
}
