package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/commands/ingest"
	"github.com/melaka-gov/ispeks/domain/apiclient"
	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/http/server"
	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/infra/config"
	"github.com/melaka-gov/ispeks/infra/security"
)

// The project's rule: every bad input gets a clear error and loses
// nothing — no 500 for a user's mistake, no stack trace or SQL shown.
// TestHostileInputEveryRoute checks it on every route of the fully wired
// portal (the routes are read from the Gin engine, so one added later is
// swept too), as five callers: anonymous, a logged-in activated member of
// staff with payments and statements, an administrator-auditor session,
// an API client holding every scope (on /api routes), and a browser with
// forged cookies. Every response must be below 500, show none of
// hostileLeaks, not reflect a script unescaped, and (a page) not be empty;
// afterwards the event log may hold only hostileAllowedEvents. All
// failures are reported together. (Checked when written: a route that
// panics, one that answers "sql: …", and DecodeJSON without its UTF-8
// check each fail it.)

// hostileQueryNames are the query parameters the handlers read (c.Query,
// GetQuery, DefaultQuery and the GET forms' fields in http/web, http/api,
// http/eventfeed, and i18n's ?lang=).
var hostileQueryNames = []string{
	"after", "dari", "dept", "disimpan", "download", "hantar", "hingga", "ic", "keluar", "kod", "lang", "limit",
	"modul", "module", "mula", "name", "next", "pada", "q", "roles", "selepas", "selesai", "semua", "sesi",
	"tahun", "totp", "type", "urusniaga", "user", "wajib", "year",
}

// hostileFormNames are the form fields the page handlers read (their Field
// lists and c.PostForm); names in the forms of the pages the sweep fetches
// are added to them.
var hostileFormNames = []string{
	"answer", "code", "confirm_password", "current_password", "dari", "email", "hingga", "ic", "image", "modul",
	"next", "office", "old_password", "op", "pada", "password", "phone", "phrase", "q", "question", "reason",
	"role", "sealed", "semua", "totp_reason", "user_id",
}

// hostileLeaks must never be in a response: they are what a panic, a stack
// trace, a Go error or a store's message look like.
var hostileLeaks = []string{"panic", "goroutine ", "runtime error", "sql:", "SQLITE", "sqlite", ".go:", "stack"}

// hostileLeakExempt are routes whose body is not for users and legitimately
// holds a marker: Prometheus metric names (go_goroutines,
// go_memstats_stack_inuse_bytes).
var hostileLeakExempt = []string{"/metrics"}

const hostileScript = "<script>alert(1)</script>"

// hostileValue is one bad value, raw (for forms and queries) and as it
// goes into a path (already escaped).
type hostileValue struct {
	name, raw, path string
}

func hostileValues() []hostileValue {
	tenKB := strings.Repeat("a", 10<<10)
	return []hostileValue{
		{"10kB of a", tenKB, tenKB},
		{"NUL", "\x00", "%00"},
		{"traversal", "../../etc/passwd", "..%2F..%2Fetc%2Fpasswd"},
		{"invalid UTF-8", "\xff\xfe", "%FF%FE"},
		{"script", hostileScript, url.PathEscape(hostileScript)},
		{"long number", "123456789012345678901234567890123456789", "123456789012345678901234567890123456789"},
		{"negative", "-1", "-1"},
	}
}

// hostileFormValues are what a form field gets: the values above and
// control characters.
func hostileFormValues() []hostileValue {
	return append(hostileValues(), hostileValue{name: "control characters", raw: "\x01\x02\x1b[31m\r\n\t\x7f\u202e"})
}

// hostileFailure is one response that broke the rule.
type hostileFailure struct {
	method, route, path, who, input string
	status                          int
	why, body                       string
}

func (f hostileFailure) String() string {
	return fmt.Sprintf("%s %s (%s) as %s, %s: %d: %s; body %q", f.method, f.route, clip(f.path, 100), f.who, f.input, f.status, clip(f.why, 200), f.body)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// hostileRequest is one request of the sweep.
type hostileRequest struct {
	method, route, path, rawQuery, input string
	body                                 []byte
	contentType                          string
}

// hostileCaller is one of the callers.
type hostileCaller struct {
	who     string
	apiOnly bool
	mu      sync.Mutex
	client  *http.Client
	header  http.Header
	// fresh makes sure the caller's session is alive and returns its CSRF
	// token ("" where none is used) before a state-changing request.
	fresh func(ctx context.Context) (string, error)
	// validIDsOnWrites: state-changing requests go to the routes also with
	// real IDs. The administrator's are not: "issue a temporary password"
	// to a real account needs no input and is a correct request, not a bad
	// one, and would change that account.
	validIDsOnWrites bool
}

func (h *hostileCaller) do(ctx context.Context, base string, r hostileRequest, token string) (*http.Response, []byte, error) {
	target := base + r.path
	if r.rawQuery != "" {
		target += "?" + r.rawQuery
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range h.header {
		req.Header[k] = v
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if token != "" {
		req.Header.Set(session.CSRFHeader, token)
	}
	h.mu.Lock()
	c := h.client
	h.mu.Unlock()
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		// A stream (the event feed) that started well never ends: what
		// came in the first moments is its answer.
		stop := time.AfterFunc(100*time.Millisecond, cancel)
		defer stop.Stop()
		b, _ := io.ReadAll(resp.Body)
		return resp, b, nil
	}
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

type hostileSweep struct {
	base     string
	requests atomic.Int64
	mu       sync.Mutex
	failures []hostileFailure
	forms    map[string]bool // form field names seen in the pages
	statuses map[string]int  // "who method status" → responses
}

var hostileFieldName = regexp.MustCompile(`<(?:input|select|textarea)[^>]*\sname="([^"]+)"`)

// check applies the rule to one response.
func (s *hostileSweep) check(who string, r hostileRequest, resp *http.Response, body []byte, err error) {
	s.requests.Add(1)
	if resp != nil {
		s.mu.Lock()
		s.statuses[fmt.Sprintf("%s %s %d", who, r.method, resp.StatusCode)]++
		s.mu.Unlock()
	}
	fail := func(status int, why string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.failures = append(s.failures, hostileFailure{method: r.method, route: r.route, path: r.path, who: who, input: r.input,
			status: status, why: why, body: string(body[:min(len(body), 200)])})
	}
	if err != nil {
		fail(0, "no answer: "+err.Error())
		return
	}
	if resp.StatusCode >= 500 {
		fail(resp.StatusCode, "server error")
	}
	if !slices.Contains(hostileLeakExempt, r.route) {
		for _, m := range hostileLeaks {
			if bytes.Contains(body, []byte(m)) {
				fail(resp.StatusCode, fmt.Sprintf("body shows %q", m))
			}
		}
	}
	html := strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html")
	if html && bytes.Contains(body, []byte(hostileScript)) {
		fail(resp.StatusCode, "body shows the script unescaped")
	}
	page := !strings.HasPrefix(r.route, server.APIPrefix) && r.method != http.MethodHead
	if page && len(body) == 0 && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotModified &&
		(resp.StatusCode < 300 || resp.StatusCode >= 400) {
		fail(resp.StatusCode, "empty page")
	}
	if html && resp.StatusCode == http.StatusOK {
		s.mu.Lock()
		for _, m := range hostileFieldName.FindAllSubmatch(body, -1) {
			s.forms[string(m[1])] = true
		}
		s.mu.Unlock()
	}
}

// fill puts v into every parameter of a route's path.
func fill(route, v string) string {
	parts := strings.Split(route, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*") {
			parts[i] = v
		}
	}
	return strings.Join(parts, "/")
}

func hasParams(route string) bool { return strings.ContainsAny(route, ":*") }

// hostileFixture is the data the sweep's callers own or may not see.
type hostileFixture struct {
	ownIC, otherIC, adminIC      string
	ownPayment, otherPayment     string
	ownStatement, otherStatement string
	sentPayment                  string // the staff member's payment sent to the bank
	token                        string // the API client's bearer token
}

// ids are the fixture's IDs by the JSON field names the API bodies use.
func (f hostileFixture) ids() map[string]string {
	return map[string]string{"ic": f.ownIC, "payee_ic": f.ownIC, "payment_id": f.ownPayment, "statement_id": f.ownStatement}
}

// pathValues are the values a route's parameters get: real IDs (the
// caller's and someone else's) and the hostile ones.
func (f hostileFixture) pathValues() (valid, bad []hostileValue) {
	for _, v := range [][2]string{
		{"own IC", f.ownIC}, {"someone else's IC", f.otherIC}, {"own payment", f.ownPayment},
		{"someone else's payment", f.otherPayment}, {"own statement", f.ownStatement}, {"someone else's statement", f.otherStatement},
	} {
		valid = append(valid, hostileValue{name: v[0], raw: v[1], path: url.PathEscape(v[1])})
	}
	return valid, hostileValues()
}

func TestHostileInputEveryRoute(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole portal, thousands of requests")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	logPath := filepath.Join(t.TempDir(), "server.log")
	logs, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	c := quietCLI(t)
	rig, err := c.startBenchRig(ctx, t.TempDir(), rigOptions{Logs: logs,
		// Every request comes from 127.0.0.1 and the one API client: the
		// throttles would answer most of the sweep with 429 (fine, but the
		// handlers behind them would not be reached).
		Tune: func(k *config.Config) {
			k.LoginPerIPBurst, k.LoginPerIPEvery = 1<<30, time.Nanosecond
			k.LoginFailBurst, k.LoginFailEvery = 1<<30, time.Nanosecond
			k.APIRateBurst, k.APIRateEvery = 1<<30, time.Nanosecond
			k.APIFailBurst, k.APIFailEvery = 1<<30, time.Nanosecond
			k.LockThreshold = 20
		},
		// Cheap password hashing: the logins are not what is tested.
		Prepare: func(a *app) {
			a.useHasher(security.NewArgon2(security.Argon2Params{MemoryKiB: 256, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rig.Close()
	fx := hostileSetUp(ctx, t, rig)

	callers := hostileCallers(ctx, t, rig, fx)
	s := &hostileSweep{base: rig.base, forms: map[string]bool{}, statuses: map[string]int{}}
	for _, n := range hostileFormNames {
		s.forms[n] = true
	}
	head0, err := rig.app.events.LastPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}

	routes := rig.srv.Engine.Routes()
	sort.Slice(routes, func(i, j int) bool { return routes[i].Path+routes[i].Method < routes[j].Path+routes[j].Method })
	valid, bad := fx.pathValues()
	t0 := time.Now()
	s.reads(ctx, routes, callers, fx, valid, bad)
	reads := s.requests.Load()
	t.Logf("reads: %d requests in %s", reads, time.Since(t0).Round(time.Millisecond))
	s.writes(ctx, routes, callers, valid, bad)
	baselines := s.apiBodies(ctx, t, callers[3], fx)
	t.Logf("%d routes, %d callers: %d reading and %d writing requests in %s", len(routes), len(callers), reads, s.requests.Load()-reads, time.Since(t0).Round(time.Millisecond))

	t.Logf("answers (caller, method, status → count): %v", s.statuses)
	if n := len(s.failures); n > 0 {
		sort.Slice(s.failures, func(i, j int) bool { return s.failures[i].String() < s.failures[j].String() })
		var b strings.Builder
		for i, f := range s.failures {
			if i == 300 {
				fmt.Fprintf(&b, "… and %d more\n", n-i)
				break
			}
			fmt.Fprintln(&b, f)
		}
		t.Errorf("%d responses broke the rule (no 5xx, no internals shown, no empty page):\n%s\nserver log:\n%s", n, b.String(), logTail(logPath, 4000))
	}
	hostileNothingWritten(ctx, t, rig, head0)

	// Each example the mutations started from, with the fixture's IDs,
	// is itself accepted: so the mutations were refused for their hostile
	// field, not for something else in the body. (Sent last: these write.)
	for _, r := range baselines {
		resp, body, err := callers[3].do(ctx, s.base, r, "")
		if err != nil || resp.StatusCode >= 300 {
			t.Errorf("%s %s, the OpenAPI example with the fixture's IDs: %v %.300s", r.method, r.path, statusOf(resp), body)
		}
	}
}

func statusOf(resp *http.Response) any {
	if resp == nil {
		return "no response"
	}
	return resp.StatusCode
}

// logTail is the end of the server's log file, for a failure message.
func logTail(path string, n int) string {
	b, _ := os.ReadFile(path)
	return string(b[max(0, len(b)-n):])
}

// hostileSetUp makes three activated accounts (the staff member, someone
// else, the administrator's), payments and a monthly statement for the
// first two through the ingestion path, and an API client with every
// scope; then waits for the projections.
func hostileSetUp(ctx context.Context, t *testing.T, rig *benchRig) hostileFixture {
	t.Helper()
	a := rig.app
	users, err := benchAccounts(ctx, a, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := benchPayments(ctx, a, users[:2]); err != nil {
		t.Fatal(err)
	}
	month := time.Date(time.Now().Year(), time.Now().Month()-1, 1, 0, 0, 0, 0, time.UTC)
	src := ingest.Source{Actor: eventlog.Actor{Kind: eventlog.ActorClient, ID: "hostile-setup"}, CorrelationID: "hostile"}
	if err := benchIngest(ctx, ingest.New(a.runner, a.payees), src, 2, func(w *bufio.Writer) {
		for i := range 2 {
			writeSlip(w, newBenchStaff(i), i, month)
		}
	}); err != nil {
		t.Fatal(err)
	}
	add, err := commands.AddAPIClient{Meta: commands.Meta{CommandID: uuid.New(), Actor: benchSystem}, Name: "Sistem Ujian", Scopes: apiclient.Scopes()}.WithNewToken()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (commands.AddAPIClientHandler{Runner: a.runner}).Handle(ctx, add); err != nil {
		t.Fatal(err)
	}
	if err := rig.catchUp(ctx); err != nil {
		t.Fatal(err)
	}
	return hostileFixture{
		ownIC: users[0].ic, otherIC: users[1].ic, adminIC: users[2].ic,
		ownPayment: "BL-0-0", otherPayment: "BL-1-0", sentPayment: "BL-0-3", // benchPayments: k%5 moves
		ownStatement: benchSlipID(month, 0), otherStatement: benchSlipID(month, 1),
		token: add.Token,
	}
}

// hostileCallers are the callers, each ready: the staff member logged in
// through the pages, the administrator-auditor with a session as a login
// with a TOTP code leaves it.
func hostileCallers(ctx context.Context, t *testing.T, rig *benchRig, fx hostileFixture) []*hostileCaller {
	t.Helper()
	tr := benchTransport(16)
	t.Cleanup(tr.CloseIdleConnections)
	bare := &http.Client{Transport: tr, CheckRedirect: noRedirect, Timeout: time.Minute}
	none := func(context.Context) (string, error) { return "", nil }

	anon := &hostileCaller{who: "anonymous", client: newBenchBrowser(rig.base, tr).client, validIDsOnWrites: true}
	anon.fresh = func(ctx context.Context) (string, error) {
		// A new browser each time: a write may have moved the last one's
		// session on (a login step).
		b := newBenchBrowser(rig.base, tr)
		anon.mu.Lock()
		anon.client = b.client
		anon.mu.Unlock()
		return b.csrf(ctx, "/")
	}

	staffB := newBenchBrowser(rig.base, tr)
	if err := staffB.login(ctx, fx.ownIC, benchPassword); err != nil {
		t.Fatalf("staff login: %v", err)
	}
	staff := &hostileCaller{who: "staff", client: staffB.client, validIDsOnWrites: true}
	staff.fresh = func(ctx context.Context) (string, error) {
		if tok, err := staffB.csrf(ctx, "/utama"); err == nil {
			return tok, nil
		}
		// A write ended the session (Log Keluar): log in again.
		if err := staffB.login(ctx, fx.ownIC, benchPassword); err != nil {
			return "", err
		}
		return staffB.csrf(ctx, "/utama")
	}

	admin := &hostileCaller{who: "admin+auditor", client: bare}
	adminB := &benchBrowser{base: rig.base}
	adminB.client = &http.Client{Transport: headerTransport{tr, admin}, CheckRedirect: noRedirect, Timeout: time.Minute}
	adminLogin := func() error {
		ck, err := benchSession(rig.srv, session.Identity{UserID: fx.adminIC, Name: "Pentadbir Ujian",
			Roles: []string{session.RoleAdmin, session.RoleAuditor}, TOTPVerified: true})
		admin.mu.Lock()
		admin.header = http.Header{"Cookie": {ck}}
		admin.mu.Unlock()
		return err
	}
	admin.fresh = func(ctx context.Context) (string, error) {
		if tok, err := adminB.csrf(ctx, "/pentadbir"); err == nil {
			return tok, nil
		}
		if err := adminLogin(); err != nil {
			return "", err
		}
		return adminB.csrf(ctx, "/pentadbir")
	}
	if err := adminLogin(); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.fresh(ctx); err != nil {
		t.Fatalf("the administrator's session does not reach the admin pages: %v", err)
	}

	api := &hostileCaller{who: "API client", apiOnly: true, client: bare, fresh: none,
		header: http.Header{"Authorization": {"Bearer " + fx.token}}}

	// Cookies a browser never got from the portal: a forged session, CSRF
	// and language.
	k := rig.srv.Sessions.Config()
	forged := &hostileCaller{who: "forged cookies", client: bare, fresh: none, header: http.Header{"Cookie": {
		k.CookieName + "=" + strings.Repeat("A", 4000) + "; " + k.CSRFCookieName + "=%FF%FE%00; " + i18n.CookieName + "=" + url.QueryEscape(hostileScript)}}}
	return []*hostileCaller{anon, staff, admin, api, forged}
}

// headerTransport adds a caller's headers (its session cookie) to the
// requests of a benchBrowser.
type headerTransport struct {
	rt http.RoundTripper
	h  *hostileCaller
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	t.h.mu.Lock()
	for k, v := range t.h.header {
		r.Header[k] = v
	}
	t.h.mu.Unlock()
	return t.rt.RoundTrip(r)
}

// ownFor is the caller's own ID a route's parameters take for the
// one-parameter-at-a-time queries.
func (f hostileFixture) ownFor(route string) string {
	switch {
	case strings.Contains(route, "statement") || strings.Contains(route, "penyata"):
		return f.ownStatement
	case strings.Contains(route, "payment") || strings.Contains(route, "bayaran"):
		return f.ownPayment
	}
	return f.ownIC
}

func reaches(h *hostileCaller, route string) bool {
	return !h.apiOnly || strings.HasPrefix(route, server.APIPrefix)
}

// reads sends every GET and HEAD route, as every caller, with every path
// value; with every query parameter set to each hostile value at once;
// and, on the caller's own IDs, with each parameter alone set to each
// hostile value and given three times.
func (s *hostileSweep) reads(ctx context.Context, routes gin.RoutesInfo, callers []*hostileCaller, fx hostileFixture, valid, bad []hostileValue) {
	jobs := make(chan func())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for j := range jobs {
				j()
			}
		})
	}
	send := func(h *hostileCaller, r hostileRequest) {
		jobs <- func() {
			resp, body, err := h.do(ctx, s.base, r, "")
			s.check(h.who, r, resp, body, err)
		}
	}
	values := hostileValues()
	for _, rt := range routes {
		if rt.Method != http.MethodGet && rt.Method != http.MethodHead {
			continue
		}
		for _, h := range callers {
			if !reaches(h, rt.Path) {
				continue
			}
			paths := []hostileValue{{name: "as routed"}}
			if hasParams(rt.Path) {
				paths = append(slices.Clone(valid), bad...)
			}
			for _, pv := range paths {
				r := hostileRequest{method: rt.Method, route: rt.Path, path: fill(rt.Path, pv.path), input: "path " + pv.name}
				send(h, r)
				if rt.Method == http.MethodHead {
					continue
				}
				for _, v := range values {
					q := url.Values{}
					for _, n := range hostileQueryNames {
						q.Set(n, v.raw)
					}
					r.rawQuery, r.input = q.Encode(), "path "+pv.name+", every query parameter "+v.name
					send(h, r)
				}
			}
			if rt.Method == http.MethodHead {
				continue
			}
			path := fill(rt.Path, url.PathEscape(fx.ownFor(rt.Path)))
			for _, n := range hostileQueryNames {
				for _, v := range values {
					send(h, hostileRequest{method: rt.Method, route: rt.Path, path: path,
						rawQuery: url.Values{n: {v.raw}}.Encode(), input: "query " + n + " " + v.name})
				}
				send(h, hostileRequest{method: rt.Method, route: rt.Path, path: path,
					rawQuery: url.Values{n: {"2025", hostileScript, "-1"}}.Encode(), input: "query " + n + " three times"})
			}
		}
	}
	close(jobs)
	wg.Wait()
}

// hostileBody is one body of a state-changing request; make puts the CSRF
// token into a form.
type hostileBody struct {
	name, contentType string
	big               bool // sent once a route, not with every path value
	make              func(token string) []byte
}

func hostileBodies(fields []string) []hostileBody {
	var out []hostileBody
	for _, v := range hostileFormValues() {
		out = append(out, hostileBody{name: "form, every field " + v.name, contentType: "application/x-www-form-urlencoded",
			make: func(tok string) []byte {
				f := url.Values{session.CSRFField: {tok}}
				for _, n := range fields {
					f.Set(n, v.raw)
				}
				return []byte(f.Encode())
			}})
	}
	var mpType string
	mp := func(tok string) []byte {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		_ = w.WriteField(session.CSRFField, tok)
		for _, n := range fields {
			_ = w.WriteField(n, "\xff\xfe"+hostileScript)
		}
		fw, _ := w.CreateFormFile("file", "../../etc/passwd\x00.csv")
		_, _ = fw.Write([]byte("\xff\xfe;\"\x00,=cmd|' /C calc'!A0\n" + strings.Repeat("a,", 5000)))
		_ = w.Close()
		mpType = w.FormDataContentType()
		return b.Bytes()
	}
	mp("") // for its content type (the boundary is the writer's)
	json := func(s string) func(string) []byte { return func(string) []byte { return []byte(s) } }
	huge := strings.Repeat("a", 3<<20)
	return append(out,
		hostileBody{name: "multipart form with a file", contentType: mpType, make: mp},
		hostileBody{name: "malformed JSON", contentType: "application/json", make: json(`{"payment_id": "BL-0-0", "amount_sen": `)},
		hostileBody{name: "JSON with unknown fields", contentType: "application/json", make: json(`{"zz_unknown": true, "status": "` + hostileScript + `"}`)},
		hostileBody{name: "JSON of the wrong types", contentType: "application/json", make: json(`{"payment_id": 7, "amount_sen": "sepuluh", "ic": [], "period": "x"}`)},
		hostileBody{name: "JSON null", contentType: "application/json", make: json(`null`)},
		hostileBody{name: "empty JSON body", contentType: "application/json", make: json(``)},
		hostileBody{name: "wrong Content-Type", contentType: "application/xml", make: json(`<?xml version="1.0"?><a>` + hostileScript + `</a>`)},
		hostileBody{name: "no Content-Type", make: json("\x00\xff\xfe")},
		hostileBody{name: "3 MB form", contentType: "application/x-www-form-urlencoded", big: true, make: func(tok string) []byte {
			return []byte(url.Values{session.CSRFField: {tok}, "q": {huge}}.Encode())
		}},
		hostileBody{name: "3 MB JSON", contentType: "application/json", big: true, make: json(`{"x":"` + huge + `"}`)},
		hostileBody{name: "3 MB NDJSON line", contentType: "application/x-ndjson", big: true, make: json(huge + "\n")},
	)
}

// writes sends every other method's route every hostile body, as every
// caller, each with a live session and its CSRF token (so the handler's
// own checks run, not only the CSRF refusal). Each caller goes through the
// routes in turn (its session is its own).
func (s *hostileSweep) writes(ctx context.Context, routes gin.RoutesInfo, callers []*hostileCaller, valid, bad []hostileValue) {
	fields := slices.Sorted(maps.Keys(s.forms))
	bodies := hostileBodies(fields)
	var wg sync.WaitGroup
	for _, h := range callers {
		wg.Go(func() {
			for _, rt := range routes {
				switch rt.Method {
				case http.MethodGet, http.MethodHead, http.MethodOptions:
					continue
				}
				if !reaches(h, rt.Path) {
					continue
				}
				paths := []hostileValue{{name: "as routed"}}
				if hasParams(rt.Path) {
					paths = slices.Clone(bad)
					if h.validIDsOnWrites {
						paths = append(slices.Clone(valid), bad...)
					}
				}
				for i, pv := range paths {
					for _, b := range bodies {
						if b.big && i > 0 {
							continue
						}
						r := hostileRequest{method: rt.Method, route: rt.Path, path: fill(rt.Path, pv.path),
							input: "path " + pv.name + ", " + b.name, contentType: b.contentType}
						tok, err := h.fresh(ctx)
						if err != nil {
							s.check(h.who, r, nil, nil, fmt.Errorf("no live session for the request: %w", err))
							continue
						}
						r.body = b.make(tok)
						resp, body, err := h.do(ctx, s.base, r, tok)
						s.check(h.who, r, resp, body, err)
					}
				}
			}
		})
	}
	wg.Wait()
}

// hostileAllowedEvents are the only events the sweep may write, each with
// why: none changes what a person owns or sees. Every other type (a
// payment, statement, employee or API client event, a password, profile,
// role or registration change) would be a bad input that changed
// something, and fails the test. The streams are not compared as a whole:
// these few are the correct answer to some of the sweep's requests.
var hostileAllowedEvents = map[string]string{
	// A wrong current password on the change-password, profile or
	// two-factor start form is recorded as a guess, like a wrong password
	// at login (the lock threshold is raised so the staff member is not
	// locked out midway).
	"account.LoginFailed.v1": "a hostile current password is a wrong one",
	// Log Keluar with a valid CSRF token logs out whatever the body: the
	// staff caller then logs in again through the pages.
	"account.LoginSucceeded.v1": "the staff caller's logins after Log Keluar",
	// Log Keluar records the end of the account's sessions, so every
	// portal process ends them.
	"account.SessionsEnded.v1": "the staff caller's Log Keluar",
	// (Starting TOTP enrolment takes the current password: no hostile
	// body starts one.)
}

// hostileNothingWritten reads what the sweep appended to the log and fails
// on any event not in hostileAllowedEvents.
func hostileNothingWritten(ctx context.Context, t *testing.T, rig *benchRig, after uint64) {
	t.Helper()
	counts := map[string]int{}
	example := map[string]string{}
	for {
		recs, err := rig.app.events.ReadAll(ctx, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			counts[r.Type]++
			example[r.Type] = r.Stream + " " + clip(string(r.Data), 300)
			after = r.Position
		}
		if len(recs) < 1000 {
			break
		}
	}
	t.Logf("events the sweep caused: %v", counts)
	for typ, n := range counts {
		if _, ok := hostileAllowedEvents[typ]; !ok {
			t.Errorf("the sweep wrote %d %s events (e.g. %s): a bad input changed something", n, typ, example[typ])
		}
	}
}

// hostileInvalidUTF8 stands for invalid UTF-8 in a marshalled body
// (encoding/json would turn the bytes into U+FFFD).
const hostileInvalidUTF8 = "HOSTILE-INVALID-UTF8"

// hostileLoneSurrogate stands for the escape of half a UTF-16 pair
// (valid UTF-8 text that encoding/json also decodes to U+FFFD).
const hostileLoneSurrogate = "HOSTILE-LONE-SURROGATE"

// hostileLeafValues replace one field of a valid API body: each must be
// refused whatever the field.
var hostileLeafValues = []struct {
	name string
	v    any
}{
	{"10kB of a", strings.Repeat("a", 10<<10)},
	{"NUL", "a\x00b"},
	{"control characters", "\x01\x1b[31m\r\n\u202e"},
	{"invalid UTF-8", hostileInvalidUTF8},
	{"lone surrogate", hostileLoneSurrogate},
	{"negative number", json.Number("-1")},
	{"huge number", json.Number("1e40")},
	{"object", map[string]any{"$ne": 1}},
}

// apiBodies sends the API client, for every write the OpenAPI document
// describes with an example body, that example with one field at a time
// replaced by each hostile value (the IDs in it made the fixture's, so
// the handlers go as far as they can): the handlers' field checks and the
// domain's, not only the decoder's.
func (s *hostileSweep) apiBodies(ctx context.Context, t *testing.T, api *hostileCaller, fx hostileFixture) (baselines []hostileRequest) {
	t.Helper()
	resp, raw, err := api.do(ctx, s.base, hostileRequest{method: http.MethodGet, path: server.APIPrefix + "v1/openapi.json"}, "")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("openapi.json: %v", err)
	}
	var spec struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"` // method → operation, and the path's parameters
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	bodies := 0
	for _, p := range slices.Sorted(maps.Keys(spec.Paths)) { // one order: a failure repeats
		ops := spec.Paths[p]
		route := server.APIPrefix + "v1" + regexp.MustCompile(`\{([^}]+)\}`).ReplaceAllString(p, ":$1")
		// The IDs that make the example itself acceptable (the baseline
		// below): a status move the example names is legal from the
		// payment that was sent to the bank; a new payment or statement
		// needs an ID not recorded yet (the example's own).
		ids, id := fx.ids(), fx.ownFor(route)
		switch route {
		case server.APIPrefix + "v1/payments/:id/status":
			ids["payment_id"], id = fx.sentPayment, fx.sentPayment
		case server.APIPrefix + "v1/payments":
			delete(ids, "payment_id")
		case server.APIPrefix + "v1/statements":
			delete(ids, "statement_id")
		}
		path := fill(route, url.PathEscape(id))
		// Methods in one order too: DELETE …/left-service (cancel a
		// leaving date) comes before its POST, whose example date is past.
		for _, method := range slices.Sorted(maps.Keys(ops)) {
			rawOp := ops[method]
			var op struct {
				RequestBody struct {
					Content map[string]struct {
						Example json.RawMessage `json:"example"`
					} `json:"content"`
				} `json:"requestBody"`
			}
			if method == "parameters" || json.Unmarshal(rawOp, &op) != nil {
				continue
			}
			for ct, media := range op.RequestBody.Content {
				if len(media.Example) == 0 {
					continue
				}
				bodies++
				if method == "delete" && route == server.APIPrefix+"v1/employees/:ic/left-service" {
					// A cancellation needs a leaving date still ahead.
					ahead := time.Now().In(calendar.Melaka).AddDate(0, 1, 0).Format(time.DateOnly)
					baselines = append(baselines, hostileRequest{method: http.MethodPost, route: route, path: path,
						input: "a leaving date ahead, to cancel", body: []byte(`{"date":"` + ahead + `"}`), contentType: ct})
				}
				baselines = append(baselines, hostileRequest{method: strings.ToUpper(method), route: route, path: path, input: "the example", body: hostileBaseline(media.Example, ct, ids), contentType: ct})
				for _, b := range hostileMutations(media.Example, ct, ids) {
					r := hostileRequest{method: strings.ToUpper(method), route: route, path: path, input: b.name, body: b.body, contentType: ct}
					resp, body, err := api.do(ctx, s.base, r, "")
					s.check(api.who, r, resp, body, err)
				}
			}
		}
	}
	if bodies < 5 {
		t.Fatalf("openapi.json: %d example bodies, want the writes' (at least 5)", bodies)
	}
	return baselines
}

// hostileBaseline is an example body with the fixture's IDs, unmutated.
func hostileBaseline(example json.RawMessage, contentType string, ids map[string]string) []byte {
	lines := []string{string(example)}
	if strings.Contains(contentType, "ndjson") {
		var s string
		if json.Unmarshal(example, &s) != nil {
			return nil
		}
		lines = strings.Split(strings.TrimSpace(s), "\n")
	}
	var out []byte
	for _, line := range lines {
		v := hostileDecode(line)
		hostileSet(v, nil, ids)
		b, _ := json.Marshal(v)
		out = append(append(out, b...), '\n')
	}
	return out
}

type hostileMutation struct {
	name string
	body []byte
}

// hostileMutations are an example body (a JSON object, or NDJSON lines as
// a JSON string) with one leaf at a time replaced by each hostile value.
func hostileMutations(example json.RawMessage, contentType string, ids map[string]string) []hostileMutation {
	var lines []string
	if strings.Contains(contentType, "ndjson") {
		var s string
		if json.Unmarshal(example, &s) != nil {
			return nil
		}
		lines = strings.Split(strings.TrimSpace(s), "\n")
	} else {
		lines = []string{string(example)}
	}
	var out []hostileMutation
	for _, line := range lines {
		var leaves [][]any
		var probe any
		if json.Unmarshal([]byte(line), &probe) != nil {
			continue
		}
		hostileLeaves(probe, nil, &leaves)
		for _, leaf := range leaves {
			for _, hv := range hostileLeafValues {
				v := hostileDecode(line)
				hostileSet(v, nil, ids) // the fixture's IDs
				hostileSetLeaf(v, leaf, hv.v)
				b, _ := json.Marshal(v)
				b = bytes.ReplaceAll(b, []byte(hostileInvalidUTF8), []byte("\xff\xfe"))
				b = bytes.ReplaceAll(b, []byte(hostileLoneSurrogate), []byte(`A\ud800B`))
				out = append(out, hostileMutation{name: fmt.Sprintf("JSON field %v %s", leaf, hv.name), body: append(b, '\n')})
			}
		}
	}
	return out
}

func hostileDecode(s string) any {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	_ = d.Decode(&v)
	return v
}

// hostileLeaves collects the paths (keys and indexes) of v's leaves.
func hostileLeaves(v any, path []any, out *[][]any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			hostileLeaves(e, append(slices.Clone(path), k), out)
		}
	case []any:
		for i, e := range x {
			hostileLeaves(e, append(slices.Clone(path), i), out)
		}
	default:
		*out = append(*out, path)
	}
}

// hostileSet replaces the values of the keys in ids wherever they are.
func hostileSet(v any, _ []any, ids map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if id, ok := ids[k]; ok {
				if _, str := e.(string); str {
					x[k] = id
					continue
				}
			}
			hostileSet(e, nil, ids)
		}
	case []any:
		for _, e := range x {
			hostileSet(e, nil, ids)
		}
	}
}

// hostileSetLeaf sets the leaf at path to x.
func hostileSetLeaf(v any, path []any, x any) {
	for i, p := range path {
		last := i == len(path)-1
		switch k := p.(type) {
		case string:
			m := v.(map[string]any)
			if last {
				m[k] = x
				return
			}
			v = m[k]
		case int:
			a := v.([]any)
			if last {
				a[k] = x
				return
			}
			v = a[k]
		}
	}
}
