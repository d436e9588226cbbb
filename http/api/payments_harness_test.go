package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/apiclient"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/http/api"
	"github.com/melaka-gov/ispeks/http/apiauth"
	"github.com/melaka-gov/ispeks/http/eventfeed"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/server"
	"github.com/melaka-gov/ispeks/http/session"
	evsqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	"github.com/melaka-gov/ispeks/infra/pdf"
	rssqlite "github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/apiclients"
	"github.com/melaka-gov/ispeks/projections/engine"
	"github.com/melaka-gov/ispeks/projections/payments"
	"github.com/melaka-gov/ispeks/projections/statements"
)

// fin is the whole server (http/server.New) with the payment, statement,
// batch and /me endpoints mounted as the lead mounts them, over the real
// SQLite event and read stores, the engine running the apiclients,
// payments and statements projectors, real client tokens and the real PDF
// renderer. Staff log in through a test route that gives the session a
// completed login gives (the login flow is tested with the account pages).
type fin struct {
	t      *testing.T
	events *evsqlite.Store
	views  projections.ReadStore
	reg    *eventlog.Registry
	runner commands.Runner
	eng    *engine.Engine
	srv    *server.Server
	spec   *openapi3.T
	logs   *finLog

	both, payOnly, stmtOnly, feeder string // client tokens

	mu  sync.Mutex
	now time.Time
}

var finKey = []byte("fin-test-document-verification-key")

// finRecheck is how often a streaming batch re-checks its client.
const finRecheck = 50 * time.Millisecond

// The people: valid MyKad numbers in the employee master.
const (
	finSiti  = "791117045672"
	finNurul = "850203145432"
	finNoOne = "900512015123" // a valid IC nobody put in the master
)

type finOptions struct {
	maxBatch int64
	// answerTimeout bounds a write of a batch's answer (0: the default).
	answerTimeout time.Duration
	reports       api.MeReports
	// writeStore wraps the event store the payment and statement writes
	// run on (to step in between a command's read and its append).
	writeStore func(commands.EventStore) commands.EventStore
}

func newFin(t *testing.T, opt finOptions) *fin {
	t.Helper()
	f := &fin{t: t, now: time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC), logs: &finLog{}}
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	quiet := slog.New(slog.DiscardHandler)
	var err error
	if f.events, err = evsqlite.Open(ctx, filepath.Join(dir, "events.db"), evsqlite.Options{Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	if f.views, err = rssqlite.Open(ctx, filepath.Join(dir, "views.db"), rssqlite.Options{Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	f.reg = eventlog.NewRegistry()
	apiclient.Register(f.reg)
	employee.Register(f.reg)
	payment.Register(f.reg)
	statement.Register(f.reg)
	f.runner = commands.Runner{Store: f.events, Registry: f.reg, Now: f.clock}
	f.eng, err = engine.New(engine.Config{Log: f.events, Store: f.views, Registry: f.reg, Logger: quiet, Projectors: []projections.Projector{
		apiclients.Projector{}, payments.Projector{Key: finKey}, statements.Projector{Key: finKey}}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.eng.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("engine: %v", err)
		}
		f.views.Close()
		f.events.Close()
	})
	log := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	auth := apiauth.New(apiclients.Queries{Reader: f.views}, apiauth.Config{RateBurst: 100_000, Log: quiet})
	reports := opt.reports
	writes := f.runner
	if opt.writeStore != nil {
		writes.Store = opt.writeStore(f.events)
	}
	if reports == nil {
		reports = pdf.Renderer{VerifyURL: "https://ispeks.melaka.gov.my/sahkan/"}
	}
	f.srv, err = server.New(server.Config{}, server.Deps{
		Log: log, Now: f.clock,
		API: []func(*gin.RouterGroup){
			api.Mounter(api.Deps{Runner: f.runner, Auth: auth.Middleware(), Log: log, SpecFragments: api.PaymentsSpecFragments()}),
			api.PaymentsMounter(api.PaymentsDeps{Runner: writes, Auth: auth.Middleware(), Log: log, MaxBatch: opt.maxBatch,
				Clients: apiclients.Queries{Reader: f.views}, RecheckEvery: finRecheck, AnswerWriteTimeout: opt.answerTimeout}),
			api.MeMounter(api.MeDeps{Payments: payments.Queries{Reader: f.views}, Statements: statements.Queries{Reader: f.views},
				Reports: reports, Now: f.clock}),
			// The event feed, as serve mounts it (cmd/ispeks/http.go).
			func(rg *gin.RouterGroup) {
				feed := &eventfeed.Feed{Events: f.events, Clients: apiclients.Queries{Reader: f.views}, Stop: ctx.Done(), Logger: quiet}
				rg.GET("/events", auth.Middleware(), apiauth.RequireScope(apiclient.ScopeEventsRead), feed.Handler())
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Engine.GET("/test/login", func(c *gin.Context) {
		var roles []string
		if r := c.Query("roles"); r != "" {
			roles = strings.Split(r, ",")
		}
		if err := f.srv.Sessions.Login(c, session.Identity{UserID: c.Query("user"), Name: c.Query("name"),
			Department: "Jabatan Kewangan dan Perbendaharaan", Roles: roles}); err != nil {
			httpx.Abort(c, err)
			return
		}
		c.String(http.StatusOK, "ok")
	})
	f.both = f.client("payroll", apiclient.ScopePaymentsWrite, apiclient.ScopeStatementsWrite)
	f.payOnly = f.client("payments-system", apiclient.ScopePaymentsWrite)
	f.stmtOnly = f.client("payroll-only", apiclient.ScopeStatementsWrite)
	f.feeder = f.client("feeder", apiclient.ScopeEventsRead)
	for _, d := range []employee.Details{
		{IC: finSiti, Name: "Siti Aminah binti Omar", Email: "siti.aminah@melaka.gov.my", Department: "Jabatan Kewangan dan Perbendaharaan", Post: "Pegawai Kewangan", StaffNumber: "JKPN-0042"},
		{IC: finNurul, Name: "Nurul Huda binti Rahman", Email: "nurul.huda@melaka.gov.my", Department: "Jabatan Kerja Raya", Post: "Pembantu Tadbir", StaffNumber: "JKR-1001"},
	} {
		f.wait(commands.PutStaffHandler{Runner: f.runner}.Handle(ctx, commands.PutStaff{Meta: f.sys(), Details: d}))
	}
	w := f.do("GET", "/api/v1/openapi.json", "", "", "", nil, nil)
	if w.Code != http.StatusOK {
		t.Fatalf("openapi.json: %d", w.Code)
	}
	if f.spec, err = openapi3.NewLoader().LoadFromData(w.Body.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := f.spec.Validate(ctx); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	return f
}

func (f *fin) clock() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }

func (f *fin) sys() commands.Meta {
	return commands.Meta{CommandID: uuid.New(), Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "test"}}
}

func (f *fin) wait(res commands.Result, err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.eng.WaitFor(context.Background(), res.Position); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fin) client(id string, scopes ...string) string {
	f.t.Helper()
	cmd, err := commands.AddAPIClient{Meta: f.sys(), ClientID: id, Name: id, Scopes: scopes}.WithNewToken()
	if err != nil {
		f.t.Fatal(err)
	}
	f.wait(commands.AddAPIClientHandler{Runner: f.runner}.Handle(context.Background(), cmd))
	return cmd.Token
}

// caughtUp waits until the read side has every event written so far.
func (f *fin) caughtUp() {
	f.t.Helper()
	if err := f.eng.WaitFor(context.Background(), f.head()); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fin) head() uint64 {
	f.t.Helper()
	p, err := f.events.LastPosition(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// do sends a request through the whole server and checks the answer
// against the OpenAPI document.
func (f *fin) do(method, path, token, ctype, body string, header map[string]string, cookies []*http.Cookie) *httptest.ResponseRecorder {
	f.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr = "192.0.2.44:5000"
	if body != "" {
		if ctype == "" {
			ctype = "application/json"
		}
		r.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, r)
	if f.spec != nil {
		f.conforms(r, w)
	}
	return w
}

func (f *fin) post(path, token, body string) *httptest.ResponseRecorder {
	f.t.Helper()
	return f.do("POST", path, token, "", body, nil, nil)
}

// login gives a browser session for ic and returns its cookies.
func (f *fin) login(ic, name, roles string) []*http.Cookie {
	f.t.Helper()
	r := httptest.NewRequest("GET", "/test/login?user="+ic+"&name="+strings.ReplaceAll(name, " ", "+")+"&roles="+roles, nil)
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		f.t.Fatalf("login: %d", w.Code)
	}
	return w.Result().Cookies()
}

// conforms checks an answer of the documented endpoints against the
// OpenAPI document: the operation exists, its status is listed and, for
// JSON, the body matches the schema.
func (f *fin) conforms(req *http.Request, w *httptest.ResponseRecorder) {
	f.t.Helper()
	path := strings.TrimPrefix(req.URL.Path, "/api/v1")
	if !strings.HasPrefix(req.URL.Path, "/api/v1/") || path == "/openapi.json" || strings.HasPrefix(path, "/employees/") {
		return
	}
	tmpl, params := templateOf(path)
	item := f.spec.Paths.Find(tmpl)
	if item == nil {
		f.t.Fatalf("%s is not in the OpenAPI document", tmpl)
	}
	op := item.GetOperation(req.Method)
	if op == nil {
		if w.Code == http.StatusMethodNotAllowed {
			return
		}
		f.t.Fatalf("%s %s is not in the OpenAPI document", req.Method, tmpl)
	}
	if op.Responses.Status(w.Code) == nil {
		f.t.Fatalf("%s %s answered %d, which the OpenAPI document does not list: %s", req.Method, tmpl, w.Code, w.Body)
	}
	ct := w.Header().Get("Content-Type")
	// The answer's type is one the document gives for its status (the body
	// itself is checked below for JSON only).
	if resp := op.Responses.Status(w.Code).Value; len(resp.Content) > 0 && w.Body.Len() > 0 {
		if mt, _, _ := mime.ParseMediaType(ct); resp.Content.Get(mt) == nil {
			f.t.Fatalf("%s %s %d is %q, which the OpenAPI document does not give: %s", req.Method, tmpl, w.Code, ct, w.Body)
		}
	}
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params,
		Route: &routers.Route{Spec: f.spec, Path: tmpl, PathItem: item, Method: req.Method, Operation: op},
		Options: &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: !strings.HasPrefix(ct, "application/json"),
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: w.Code, Header: w.Header(),
		Body: io.NopCloser(bytes.NewReader(w.Body.Bytes())), Options: in.Options,
	})
	if err != nil {
		f.t.Fatalf("%s %s %d does not match the OpenAPI document: %v\n%s", req.Method, tmpl, w.Code, err, w.Body)
	}
}

// templateOf maps a request path to its documented template.
func templateOf(path string) (string, map[string]string) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	params := map[string]string{}
	switch {
	case len(parts) >= 2 && (parts[0] == "payments" || parts[0] == "statements"):
		params["id"] = parts[1]
		parts[1] = "{id}"
	case len(parts) >= 3 && parts[0] == "me":
		params["id"] = parts[2]
		parts[2] = "{id}"
	}
	return "/" + strings.Join(parts, "/"), params
}

// finErr is an API error answer.
type finErr struct {
	Error struct {
		Code          string             `json:"code"`
		Message       string             `json:"message"`
		Field         string             `json:"field"`
		Incident      string             `json:"incident"`
		Fields        []api.FieldProblem `json:"fields"`
		CurrentStatus string             `json:"current_status"`
		Allowed       []string           `json:"allowed"`
	} `json:"error"`
}

func finDecode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, w.Body)
	}
	return v
}

// wantErr checks an error answer's status, code and field.
func wantErr(t *testing.T, what string, w *httptest.ResponseRecorder, status int, code, field string) finErr {
	t.Helper()
	if w.Code != status {
		t.Fatalf("%s: status %d, want %d: %s", what, w.Code, status, w.Body)
	}
	e := finDecode[finErr](t, w)
	if e.Error.Code != code || e.Error.Field != field || e.Error.Message == "" {
		t.Fatalf("%s: error %+v, want code %q field %q", what, e.Error, code, field)
	}
	return e
}

func wantResult(t *testing.T, what string, w *httptest.ResponseRecorder, status int, result string) api.WriteResult {
	t.Helper()
	if w.Code != status {
		t.Fatalf("%s: status %d, want %d: %s", what, w.Code, status, w.Body)
	}
	r := finDecode[api.WriteResult](t, w)
	if r.Result != result {
		t.Fatalf("%s: result %+v, want %s", what, r, result)
	}
	return r
}

// pdfText reads a PDF back with pdftotext (poppler).
func pdfText(t *testing.T, doc []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Skip("pdftotext is not installed")
	}
	p := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(p, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-layout", "-enc", "UTF-8", p, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// finLog collects the server's log.
type finLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *finLog) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *finLog) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// Bodies of the tests.
const (
	payBody = `{"payment_id":"PAY-000123","module":"tuntutan","type":"tuntutan-perjalanan","voucher_no":"BV-2026-000123","voucher_date":"2026-03-01","reference":"TP/2026/77","description":"Tuntutan perjalanan ke Kuala Lumpur","amount_sen":45050,"payee_ic":"791117-04-5672"}`
)

// slipBody is a monthly slip of Siti for month m of 2026 whose totals add
// up.
func slipBody(id string, month int) string {
	c := map[string]any{
		"statement_id": id, "type": "slip-gaji-bulanan", "period": map[string]int{"year": 2026, "month": month},
		"payee":      map[string]string{"ic": finSiti, "name": "Siti Aminah binti Omar", "staff_no": "JKPN-0042", "department": "Jabatan Kewangan dan Perbendaharaan", "post": "Pegawai Kewangan", "grade": "WA41"},
		"employer":   map[string]string{"name": "Kerajaan Negeri Melaka"},
		"earnings":   []map[string]any{{"code": "0001", "name": "Gaji Pokok", "amount_sen": 456789}, {"name": "ITKA", "amount_sen": 30000}},
		"deductions": []map[string]any{{"name": "PCB", "amount_sen": 21000}, {"name": "KWSP", "amount_sen": 50246}},
		"totals":     map[string]int64{"earnings_sen": 486789, "deductions_sen": 71246, "net_sen": 415543},
		"pay_date":   "2026-02-25",
	}
	b, _ := json.Marshal(c)
	return string(b)
}

type httptestRecorder = httptest.ResponseRecorder
