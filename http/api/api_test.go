package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/apiclient"
	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/http/api"
	"github.com/melaka-gov/ispeks/http/apiauth"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/i18n"
	evsqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	rssqlite "github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/apiclients"
	"github.com/melaka-gov/ispeks/projections/engine"
)

// rig is the API behind a real Gin router with the server's middleware, the
// real SQLite event and read stores, the apiclients projector running in
// the engine, and real client tokens.
type rig struct {
	t       *testing.T
	events  *evsqlite.Store
	views   *rssqlite.Store
	reg     *eventlog.Registry
	runner  commands.Runner
	eng     *engine.Engine
	router  *gin.Engine
	auth    gin.HandlerFunc // the clients' middleware, for a router of a test's own
	spec    *openapi3.T
	writer  string // token with employees:write
	reader  string // token with events:read only
	writeID string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	quiet := slog.New(slog.DiscardHandler)
	events, err := evsqlite.Open(ctx, filepath.Join(dir, "events.db"), evsqlite.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = events.Close() })
	views, err := rssqlite.Open(ctx, filepath.Join(dir, "views.db"), rssqlite.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = views.Close() })
	reg := eventlog.NewRegistry()
	apiclient.Register(reg)
	employee.Register(reg)
	eng, err := engine.New(engine.Config{Log: events, Store: views, Registry: reg, Projectors: []projections.Projector{apiclients.Projector{}}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- eng.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })

	r := &rig{t: t, events: events, views: views, reg: reg, eng: eng,
		runner: commands.Runner{Store: events, Registry: reg, Now: time.Now}}

	gin.SetMode(gin.ReleaseMode)
	router := gin.New()
	isAPI := func(*http.Request) bool { return true }
	responder := &httpx.Responder{Map: httpx.NewErrorMap(), IsAPI: isAPI, Log: quiet}
	router.Use(httpx.RequestID(), responder.Recoverer(), responder.Errors(), httpx.BodyLimit(httpx.DefaultBodyLimit), i18n.Middleware(isAPI, nil))
	auth := apiauth.New(apiclients.Queries{Reader: views}, apiauth.Config{RateBurst: 10_000, Log: quiet})
	api.Mount(router.Group("/api/v1"), api.Deps{Runner: r.runner, Auth: auth.Middleware(), Log: quiet,
		AllowedDomains: []string{"melaka.gov.my"}})
	r.router, r.auth = router, auth.Middleware()

	r.writeID = "payroll"
	r.writer = r.client("payroll", apiclient.ScopeEmployeesWrite)
	r.reader = r.client("feeder", apiclient.ScopeEventsRead)

	raw := r.do("GET", "/api/v1/openapi.json", "", "", nil)
	if raw.Code != 200 {
		t.Fatalf("openapi.json: %d %s", raw.Code, raw.Body)
	}
	loader := openapi3.NewLoader()
	spec, err := loader.LoadFromData(raw.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	r.spec = spec
	return r
}

func (r *rig) client(id string, scopes ...string) string {
	r.t.Helper()
	cmd, err := commands.AddAPIClient{Meta: commands.Meta{CommandID: uuid.New(), Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "cli:test"}},
		ClientID: id, Name: id, Scopes: scopes}.WithNewToken()
	if err != nil {
		r.t.Fatal(err)
	}
	res, err := commands.AddAPIClientHandler{Runner: r.runner}.Handle(context.Background(), cmd)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.eng.WaitFor(context.Background(), res.Position, "apiclients"); err != nil {
		r.t.Fatal(err)
	}
	return cmd.Token
}

func (r *rig) do(method, path, token, body string, header map[string]string) *httptest.ResponseRecorder {
	r.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	r.router.ServeHTTP(w, req)
	if r.spec != nil {
		r.conforms(req, body, w)
	}
	return w
}

// conforms checks the answer against the OpenAPI document: its status is
// documented for the operation and its body matches the schema.
func (r *rig) conforms(req *http.Request, body string, w *httptest.ResponseRecorder) {
	r.t.Helper()
	path := strings.TrimPrefix(req.URL.Path, "/api/v1")
	var tmpl string
	params := map[string]string{}
	switch {
	case path == "/openapi.json":
		tmpl = path
	case strings.HasSuffix(path, "/left-service"):
		tmpl = "/employees/{ic}/left-service"
		params["ic"] = strings.TrimSuffix(strings.TrimPrefix(path, "/employees/"), "/left-service")
	case strings.HasPrefix(path, "/employees/"):
		tmpl = "/employees/{ic}"
		params["ic"] = strings.TrimPrefix(path, "/employees/")
	default:
		return
	}
	item := r.spec.Paths.Find(tmpl)
	if item == nil {
		r.t.Fatalf("%s is not in the OpenAPI document", tmpl)
	}
	op := item.GetOperation(req.Method)
	if op == nil {
		r.t.Fatalf("%s %s is not in the OpenAPI document", req.Method, tmpl)
	}
	if op.Responses.Status(w.Code) == nil {
		r.t.Fatalf("%s %s answered %d, which the OpenAPI document does not list", req.Method, tmpl, w.Code)
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      &routers.Route{Spec: r.spec, Path: tmpl, PathItem: item, Method: req.Method, Operation: op},
		Options:    &openapi3filter.Options{IncludeResponseStatus: true},
	}
	err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: w.Code, Header: w.Header(),
		Body: io.NopCloser(bytes.NewReader(w.Body.Bytes())), Options: in.Options,
	})
	if err != nil {
		r.t.Fatalf("%s %s %d does not match the OpenAPI document: %v\n%s", req.Method, tmpl, w.Code, err, w.Body)
	}
}

func (r *rig) head() uint64 {
	r.t.Helper()
	p, err := r.events.LastPosition(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return p
}

func (r *rig) stream(ic string) []eventlog.Record {
	r.t.Helper()
	recs, err := r.events.ReadStream(context.Background(), "employee-"+ic, 1, eventlog.Forwards, 100)
	if err != nil {
		r.t.Fatal(err)
	}
	return recs
}

type errBody struct {
	Error struct {
		Code    string             `json:"code"`
		Message string             `json:"message"`
		Field   string             `json:"field"`
		Fields  []api.FieldProblem `json:"fields"`
	} `json:"error"`
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, w.Body)
	}
	return v
}

func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, code, field string) errBody {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body)
	}
	e := decode[errBody](t, w)
	if e.Error.Code != code || e.Error.Field != field || e.Error.Message == "" {
		t.Fatalf("error %+v, want code %q field %q", e.Error, code, field)
	}
	// The manual's and the pages' word for the IC number.
	if strings.Contains(e.Error.Message, "Kad Pengenalan") {
		t.Errorf("error message %q: the IC number is \"No. Pengenalan\"", e.Error.Message)
	}
	return e
}

const (
	sitiIC   = "791117045671"
	sitiPath = "/api/v1/employees/791117-04-5671"
	sitiBody = `{"name":"Siti Aminah binti Omar","email":"Siti.Aminah@melaka.gov.my","department":"Jabatan Kewangan dan Perbendaharaan","post":"Pegawai Kewangan","staff_number":"JKPN-0042"}`
)

func TestPutEmployeeCreateRepeatUpdate(t *testing.T) {
	r := newRig(t)
	w := r.do("PUT", sitiPath, r.writer, sitiBody, map[string]string{"X-Request-ID": "req-create-0001"})
	if w.Code != http.StatusCreated || w.Header().Get("Location") != sitiPath {
		t.Fatalf("create: %d %v %s", w.Code, w.Header(), w.Body)
	}
	res := decode[api.EmployeeResult](t, w)
	want := employee.Details{IC: sitiIC, Name: "Siti Aminah binti Omar", Email: "siti.aminah@melaka.gov.my",
		Department: "Jabatan Kewangan dan Perbendaharaan", Post: "Pegawai Kewangan", StaffNumber: "JKPN-0042"}
	if res.Result != api.ResultCreated || res.Employee != want || res.Version != 1 || res.Position != r.head() {
		t.Fatalf("create result %+v", res)
	}
	recs := r.stream(sitiIC)
	if len(recs) != 1 || recs[0].Type != "employee.StaffRecorded.v1" {
		t.Fatalf("stream %+v", recs)
	}
	m := recs[0].Metadata
	if m.Actor != (eventlog.Actor{Kind: eventlog.ActorClient, ID: r.writeID}) || m.CorrelationID != "req-create-0001" {
		t.Fatalf("metadata %+v", m)
	}

	// The identical repeat (no key at all) is a no-op.
	head := r.head()
	w = r.do("PUT", sitiPath, r.writer, sitiBody, nil)
	if w.Code != http.StatusOK || decode[api.EmployeeResult](t, w).Result != api.ResultUnchanged || r.head() != head {
		t.Fatalf("repeat: %d %s, head %d→%d", w.Code, w.Body, head, r.head())
	}
	// A retry of the first request with its request ID: same command, no-op,
	// answered as the first was (201 created, its position).
	createdAt := res.Position
	w = r.do("PUT", sitiPath, r.writer, sitiBody, map[string]string{"X-Request-ID": "req-create-0001"})
	if res := decode[api.EmployeeResult](t, w); w.Code != http.StatusCreated || res.Result != api.ResultCreated || res.Position != createdAt || r.head() != head {
		t.Fatalf("retry: %d %s", w.Code, w.Body)
	}

	// An update.
	upd := strings.Replace(sitiBody, "Pegawai Kewangan", "Penolong Akauntan", 1)
	w = r.do("PUT", "/api/v1/employees/"+sitiIC, r.writer, upd, map[string]string{api.IdempotencyKeyHeader: "upd-1"})
	res = decode[api.EmployeeResult](t, w)
	if w.Code != http.StatusOK || res.Result != api.ResultUpdated || res.Employee.Post != "Penolong Akauntan" || res.Version != 2 {
		t.Fatalf("update: %d %s", w.Code, w.Body)
	}
	// Its retry with the same key and body appends nothing and answers as
	// the update did.
	head = r.head()
	w = r.do("PUT", "/api/v1/employees/"+sitiIC, r.writer, upd, map[string]string{api.IdempotencyKeyHeader: "upd-1"})
	if res := decode[api.EmployeeResult](t, w); w.Code != http.StatusOK || res.Result != api.ResultUpdated || res.Position != head || r.head() != head {
		t.Fatalf("keyed retry: %d %s", w.Code, w.Body)
	}
	// The same key on a different body is refused as a reused key, as the
	// payments endpoints do: nothing changes.
	w = r.do("PUT", "/api/v1/employees/"+sitiIC, r.writer, sitiBody, map[string]string{api.IdempotencyKeyHeader: "upd-1"})
	wantError(t, w, http.StatusUnprocessableEntity, "idempotency_key_reused", api.IdempotencyKeyHeader)
	if len(r.stream(sitiIC)) != 2 || r.head() != head {
		t.Fatalf("key reused on another body wrote: %d events", len(r.stream(sitiIC)))
	}
	// A late retry of the update after a later change is still a repeat:
	// the later change stands.
	later := strings.Replace(sitiBody, "Pegawai Kewangan", "Akauntan", 1)
	if w := r.do("PUT", "/api/v1/employees/"+sitiIC, r.writer, later, map[string]string{api.IdempotencyKeyHeader: "upd-2"}); w.Code != http.StatusOK {
		t.Fatalf("later update: %d %s", w.Code, w.Body)
	}
	head = r.head()
	w = r.do("PUT", "/api/v1/employees/"+sitiIC, r.writer, upd, map[string]string{api.IdempotencyKeyHeader: "upd-1"})
	if w.Code != http.StatusOK || r.head() != head || len(r.stream(sitiIC)) != 3 {
		t.Fatalf("late retry: %d %s, %d events", w.Code, w.Body, len(r.stream(sitiIC)))
	}
}

func TestLeftServiceKeyReusedForAnotherDate(t *testing.T) {
	r := newRig(t)
	if w := r.do("PUT", sitiPath, r.writer, sitiBody, nil); w.Code != 201 {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	path := sitiPath + "/left-service"
	key := map[string]string{api.IdempotencyKeyHeader: "left-1"}
	w := r.do("POST", path, r.writer, `{"date":" 2025-12-31","reason":"Bersara"}`, key)
	first := decode[api.LeftServiceResult](t, w)
	if w.Code != 200 || first.Result != api.ResultLeftService || first.Date != "2025-12-31" {
		t.Fatalf("left: %d %s", w.Code, w.Body)
	}
	// The retry (with the same untrimmed date) answers as the first did.
	head := r.head()
	w = r.do("POST", path, r.writer, `{"date":" 2025-12-31","reason":"Bersara"}`, key)
	if res := decode[api.LeftServiceResult](t, w); w.Code != 200 || res != first || r.head() != head {
		t.Fatalf("retry: %d %s", w.Code, w.Body)
	}
	// Without the key, the same date again is "unchanged", not a conflict.
	w = r.do("POST", path, r.writer, `{"date":" 2025-12-31"}`, nil)
	if w.Code != 200 || decode[api.LeftServiceResult](t, w).Result != api.ResultUnchanged {
		t.Fatalf("same date again: %d %s", w.Code, w.Body)
	}
	w = r.do("POST", path, r.writer, `{"date":"2026-01-31"}`, key)
	wantError(t, w, http.StatusUnprocessableEntity, "idempotency_key_reused", api.IdempotencyKeyHeader)
	if r.head() != head {
		t.Fatal("a reused key wrote")
	}
}

func TestAuthRefusals(t *testing.T) {
	r := newRig(t)
	head := r.head()
	w := r.do("PUT", sitiPath, "", sitiBody, nil)
	wantError(t, w, http.StatusUnauthorized, "auth.missing_token", "")
	w = r.do("PUT", sitiPath, "isp_payroll_"+strings.Repeat("A", 43), sitiBody, nil)
	wantError(t, w, http.StatusUnauthorized, "auth.invalid_token", "")
	w = r.do("PUT", sitiPath, r.reader, sitiBody, nil)
	wantError(t, w, http.StatusForbidden, "auth.insufficient_scope", "")
	w = r.do("POST", sitiPath+"/left-service", r.reader, `{"date":"2025-12-31"}`, nil)
	wantError(t, w, http.StatusForbidden, "auth.insufficient_scope", "")
	if r.head() != head {
		t.Fatal("a refused request wrote")
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	r := newRig(t)
	body := func(field, value string) string {
		m := map[string]string{}
		_ = json.Unmarshal([]byte(sitiBody), &m)
		m[field] = value
		b, _ := json.Marshal(m)
		return string(b)
	}
	head := r.head()
	cases := []struct {
		name, path, body string
		ctype            string
		status           int
		code, field      string
		fieldCode        string
	}{
		{"malformed JSON", sitiPath, `{"name":`, "", 400, "malformed_json", "", ""},
		{"not an object", sitiPath, `["x"]`, "", 400, "malformed_json", "", ""},
		{"trailing data", sitiPath, sitiBody + ` {}`, "", 400, "bad_request", "", ""},
		{"empty body", sitiPath, ``, "application/json", 400, "bad_request", "", ""},
		{"unknown field", sitiPath, strings.Replace(sitiBody, `{`, `{"ic":"791117045671",`, 1), "", 400, "unknown_field", "ic", ""},
		// Strict as a batch line is (docs/payments.md): a member twice is
		// ambiguous (which name is meant?), and a name in another case is
		// not the member's name.
		{"a member twice", sitiPath, strings.Replace(sitiBody, `{`, `{"name":"Orang Lain",`, 1), "", 400, "malformed_json", "name", ""},
		{"a name in another case", sitiPath, strings.Replace(sitiBody, `"post"`, `"Post"`, 1), "", 400, "unknown_field", "Post", ""},
		{"wrong type", sitiPath, strings.Replace(sitiBody, `"JKPN-0042"`, `42`, 1), "", 400, "invalid_type", "staff_number", ""},
		{"not JSON content type", sitiPath, sitiBody, "text/plain", 415, "unsupported_media_type", "Content-Type", ""},
		{"bad place code", "/api/v1/employees/791117175671", sitiBody, "", 422, "invalid", "ic", "invalid_place_code"},
		{"bad date", "/api/v1/employees/791317045671", sitiBody, "", 422, "invalid", "ic", "invalid_date"},
		{"not 12 digits", "/api/v1/employees/7911170456", sitiBody, "", 422, "invalid", "ic", "invalid"},
		{"wrong domain", sitiPath, body("email", "siti@gmail.com"), "", 422, "invalid", "email", "domain_not_allowed"},
		{"lookalike domain", sitiPath, body("email", "siti@melaka.gov.my.evil.com"), "", 422, "invalid", "email", "domain_not_allowed"},
		{"bad email", sitiPath, body("email", "Siti <siti@melaka.gov.my>"), "", 422, "invalid", "email", "invalid"},
		{"10 kB field", sitiPath, body("name", strings.Repeat("n", 10_000)), "", 422, "invalid", "name", "too_long"},
		{"control character", sitiPath, body("department", "Jabatan\u0007Kewangan"), "", 422, "invalid", "department", "control_character"},
		{"line break", sitiPath, body("post", "Pegawai\nKewangan"), "", 422, "invalid", "post", "control_character"},
		{"missing field", sitiPath, `{"name":"Siti","email":"siti@melaka.gov.my","department":"JK","post":"PK"}`, "", 422, "invalid", "staff_number", "required"},
		{"bad staff number", sitiPath, body("staff_number", "JK PN 42"), "", 422, "invalid", "staff_number", "invalid"},
		{"2 MB body", sitiPath, body("name", strings.Repeat("n", 2<<20)), "", 413, "too_large", "", ""},
		{"bad idempotency key", sitiPath, sitiBody, "", 400, "invalid_idempotency_key", api.IdempotencyKeyHeader, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.ctype != "" {
				hdr["Content-Type"] = tc.ctype
			}
			if tc.code == "invalid_idempotency_key" {
				hdr[api.IdempotencyKeyHeader] = "has space"
			}
			w := r.do("PUT", tc.path, r.writer, tc.body, hdr)
			e := wantError(t, w, tc.status, tc.code, tc.field)
			if tc.fieldCode != "" {
				found := false
				for _, f := range e.Error.Fields {
					found = found || (f.Field == tc.field && f.Code == tc.fieldCode && f.Reason != "")
				}
				if !found {
					t.Fatalf("fields %+v lack %s/%s", e.Error.Fields, tc.field, tc.fieldCode)
				}
			}
			if len(w.Body.String()) > 2000 {
				t.Fatalf("error answer echoes the input: %d bytes", w.Body.Len())
			}
		})
	}
	if r.head() != head {
		t.Fatalf("bad input wrote: head %d→%d", head, r.head())
	}
}

func TestEveryBadFieldIsNamed(t *testing.T) {
	r := newRig(t)
	w := r.do("PUT", "/api/v1/employees/791117175671", r.writer,
		`{"name":"","email":"x@gmail.com","department":"JK","post":"PK","staff_number":"!"}`, nil)
	e := wantError(t, w, 422, "invalid", "ic")
	got := map[string]string{}
	for _, f := range e.Error.Fields {
		got[f.Field] = f.Code
	}
	want := map[string]string{"ic": "invalid_place_code", "name": "required", "staff_number": "invalid", "email": "domain_not_allowed"}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("fields %v, want %v", got, want)
		}
	}
}

func TestEnglishMessages(t *testing.T) {
	r := newRig(t)
	w := r.do("PUT", sitiPath, r.writer, `{"name":`, map[string]string{"Accept-Language": "en"})
	e := wantError(t, w, 400, "malformed_json", "")
	if e.Error.Message != "Malformed JSON" {
		t.Fatalf("message %q", e.Error.Message)
	}
}

func TestLeftService(t *testing.T) {
	r := newRig(t)
	path := sitiPath + "/left-service"
	w := r.do("POST", path, r.writer, `{"date":"2025-12-31","reason":"Bersara"}`, nil)
	wantError(t, w, http.StatusNotFound, "employee.not_found", "ic")

	if w := r.do("PUT", sitiPath, r.writer, sitiBody, nil); w.Code != 201 {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	head := r.head()
	for _, tc := range []struct{ body, field, code string }{
		{`{"date":"31/12/2025"}`, "date", "invalid"},
		{`{"date":""}`, "date", "required"},
		{`{"date":"2025-12-31","reason":"` + strings.Repeat("r", 600) + `"}`, "reason", "too_long"},
	} {
		w := r.do("POST", path, r.writer, tc.body, nil)
		e := wantError(t, w, 422, "invalid", tc.field)
		if e.Error.Fields[0].Code != tc.code {
			t.Fatalf("%s: %+v", tc.body, e.Error.Fields)
		}
	}
	w = r.do("POST", "/api/v1/employees/791117175671/left-service", r.writer, `{"date":"2025-12-31"}`, nil)
	wantError(t, w, 422, "invalid", "ic")
	w = r.do("POST", path, r.writer, `{"date":"2025-12-31","when":"now"}`, nil)
	wantError(t, w, 400, "unknown_field", "when")
	if r.head() != head {
		t.Fatal("bad input wrote")
	}

	w = r.do("POST", path, r.writer, `{"date":"2025-12-31","reason":"Bersara"}`, nil)
	res := decode[api.LeftServiceResult](t, w)
	if w.Code != 200 || res.Result != api.ResultLeftService || res.IC != sitiIC || res.Date != "2025-12-31" || res.Version != 2 {
		t.Fatalf("left: %d %s", w.Code, w.Body)
	}
	head = r.head()
	w = r.do("POST", path, r.writer, `{"date":"2025-12-31","reason":"Bersara"}`, nil)
	if w.Code != 200 || decode[api.LeftServiceResult](t, w).Result != api.ResultUnchanged || r.head() != head {
		t.Fatalf("repeat: %d %s", w.Code, w.Body)
	}
	w = r.do("POST", path, r.writer, `{"date":"2026-01-31"}`, nil)
	wantError(t, w, http.StatusConflict, "employee.left_service", "date")

	// Rejoining is a PUT: recorded again, 200 (the record existed) and
	// said apart from a new person, also to a keyed retry.
	key := map[string]string{"Idempotency-Key": "rejoin-1"}
	w = r.do("PUT", sitiPath, r.writer, sitiBody, key)
	if w.Code != 200 || decode[api.EmployeeResult](t, w).Result != api.ResultRejoined || w.Header().Get("Location") != "" {
		t.Fatalf("rejoin: %d %s", w.Code, w.Body)
	}
	w = r.do("PUT", sitiPath, r.writer, sitiBody, key)
	if w.Code != 200 || decode[api.EmployeeResult](t, w).Result != api.ResultRejoined {
		t.Fatalf("rejoin retried: %d %s", w.Code, w.Body)
	}
	if recs := r.stream(sitiIC); len(recs) != 3 || recs[1].Metadata.Actor.ID != r.writeID {
		t.Fatalf("stream %+v", recs)
	}
}

func TestConcurrentPutsOfOneRecord(t *testing.T) {
	r := newRig(t)
	const n = 16
	codes := make(chan int, n)
	for range n {
		go func() {
			req := httptest.NewRequest("PUT", sitiPath, strings.NewReader(sitiBody))
			req.Header.Set("Authorization", "Bearer "+r.writer)
			w := httptest.NewRecorder()
			r.router.ServeHTTP(w, req)
			codes <- w.Code
		}()
	}
	created := 0
	for range n {
		switch c := <-codes; c {
		case 201:
			created++
		case 200:
		default:
			t.Fatalf("status %d", c)
		}
	}
	if created != 1 || len(r.stream(sitiIC)) != 1 {
		t.Fatalf("created %d times, %d events", created, len(r.stream(sitiIC)))
	}
}

func TestOpenAPIDocument(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if err := r.spec.Validate(ctx); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	// Every route Mount added is documented, with a security requirement
	// unless it is the document itself.
	for _, rt := range r.router.Routes() {
		p := strings.TrimPrefix(rt.Path, "/api/v1")
		p = strings.ReplaceAll(p, ":ic", "{ic}")
		item := r.spec.Paths.Find(p)
		if item == nil || item.GetOperation(rt.Method) == nil {
			t.Fatalf("route %s %s is not in the OpenAPI document", rt.Method, rt.Path)
		}
		op := item.GetOperation(rt.Method)
		if p != "/openapi.json" && (op.Extensions["x-required-scope"] == nil || op.Security != nil && len(*op.Security) == 0) {
			t.Fatalf("%s %s does not say it needs a token and a scope", rt.Method, p)
		}
	}
	// The documented request example is accepted by the handler.
	ex := r.spec.Paths.Find("/employees/{ic}").Put.RequestBody.Value.Content["application/json"].Example
	b, _ := json.Marshal(ex)
	if w := r.do("PUT", sitiPath, r.writer, string(b), nil); w.Code != 201 {
		t.Fatalf("documented example refused: %d %s", w.Code, w.Body)
	}
}

func TestSpecFragments(t *testing.T) {
	extra := []byte(`{"paths":{"/payments/{id}":{"get":{"operationId":"getPayment",
		"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"string"}}],
		"responses":{"200":{"description":"ok"},"401":{"$ref":"#/components/responses/Unauthorized"}}}}},
		"components":{"schemas":{"Payment":{"type":"object"}}},"tags":[{"name":"payments"}]}`)
	doc, err := api.Spec(extra)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := openapi3.NewLoader().LoadFromData(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if spec.Paths.Find("/payments/{id}") == nil || spec.Paths.Find("/employees/{ic}") == nil || spec.Components.Schemas["Payment"] == nil {
		t.Fatal("fragment not merged")
	}
	for name, bad := range map[string]string{
		"duplicate path":   `{"paths":{"/employees/{ic}":{}}}`,
		"duplicate schema": `{"components":{"schemas":{"Error":{}}}}`,
		"duplicate tag":    `{"tags":[{"name":"employees"}]}`,
		"foreign key":      `{"info":{"title":"x"}}`,
		"not JSON":         `{"paths":`,
	} {
		if _, err := api.Spec([]byte(bad)); err == nil {
			t.Errorf("%s: merged", name)
		}
	}
}

// TestLeavingDateAhead: a finance system reports a retirement a month
// ahead. Until that date the person is in service: a PUT of their record
// (the nightly master) updates it and leaves the date in place, and a later
// report moves the date; the same date again is unchanged.
func TestLeavingDateAhead(t *testing.T) {
	r := newRig(t)
	path := sitiPath + "/left-service"
	ahead := time.Now().In(calendar.Melaka).AddDate(0, 1, 0).Format(time.DateOnly)
	if w := r.do("PUT", sitiPath, r.writer, sitiBody, nil); w.Code != 201 {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	w := r.do("POST", path, r.writer, `{"date":"`+ahead+`","reason":"Bersara"}`, nil)
	if w.Code != 200 || decode[api.LeftServiceResult](t, w).Result != api.ResultLeftService {
		t.Fatalf("left: %d %s", w.Code, w.Body)
	}
	changed := strings.Replace(sitiBody, `"post":"`, `"post":"Ketua `, 1)
	if changed == sitiBody {
		t.Fatal("the body has no post to change")
	}
	w = r.do("PUT", sitiPath, r.writer, changed, nil)
	if w.Code != 200 || decode[api.EmployeeResult](t, w).Result != api.ResultUpdated {
		t.Fatalf("put before the leaving date: %d %s, want updated", w.Code, w.Body)
	}
	head := r.head()
	w = r.do("POST", path, r.writer, `{"date":"`+ahead+`","reason":"Bersara"}`, nil)
	if w.Code != 200 || decode[api.LeftServiceResult](t, w).Result != api.ResultUnchanged || r.head() != head {
		t.Fatalf("the same date after the put: %d %s, want unchanged", w.Code, w.Body)
	}
	later := time.Now().In(calendar.Melaka).AddDate(0, 2, 0).Format(time.DateOnly)
	w = r.do("POST", path, r.writer, `{"date":"`+later+`"}`, nil)
	if res := decode[api.LeftServiceResult](t, w); w.Code != 200 || res.Result != api.ResultLeftService || res.Date != later {
		t.Fatalf("date moved: %d %s", w.Code, w.Body)
	}
}
