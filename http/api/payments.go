package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/commands/ingest"
	"github.com/melaka-gov/ispeks/domain/apiclient"
	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/http/apiauth"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/i18n"
)

// The finance systems' writes of payments and statements, one at a time
// (this file and statements.go) or as an NDJSON batch (ingest.go):
//
//	POST  /payments                        payments:write   record a payment (201; 200 duplicate)
//	PUT   /payments/{id}                   payments:write   amend it: the whole details
//	PATCH /payments/{id}                   payments:write   amend it: a JSON merge patch of the details
//	POST  /payments/{id}/status            payments:write   move its status (409 illegal_move names the current status and the allowed moves)
//	POST  /statements                      statements:write issue a statement (201; 200 duplicate)
//	POST  /statements/{id}/corrections     statements:write supersede it
//	POST  /ingest                          either scope     NDJSON batch, answered line by line as NDJSON
//
// A single write is run as a one-line batch through commands/ingest, so a
// body is decoded and checked exactly as a batch line is (strict JSON,
// money in whole sen, every field named by its path) and answered with the
// same codes. Each write is one command on one stream: it lands whole or
// not at all.

// Defaults of the payment and statement writes.
const (
	// DefaultMaxWriteBody bounds a single write's body (a statement at its
	// 60 + 60 lines is well under 64 KiB; a batch line may be 1 MiB).
	DefaultMaxWriteBody = 1 << 20
	// DefaultMaxBatch bounds an NDJSON batch: a month's 30,000 slips at
	// about 2 KiB each is 60 MiB.
	DefaultMaxBatch = 256 << 20
	// DefaultMaxBatches bounds the batches one client streams at once: a
	// batch already runs up to ingest.DefaultConcurrency lines at a time,
	// so more batches in parallel add memory and goroutines, not speed.
	DefaultMaxBatches = 4
)

// PaymentsDeps are the collaborators of the payment and statement writes.
type PaymentsDeps struct {
	// Runner runs the commands.
	Runner commands.Runner
	// Payees checks that a payee is in the employee master (default: a
	// commands.PayeeCache over the employee streams of Runner.Store).
	Payees commands.PayeeDirectory
	// Auth authenticates the client: apiauth.(*Authenticator).Middleware().
	Auth gin.HandlerFunc
	// MaxBody bounds a single write's body (default DefaultMaxWriteBody).
	MaxBody int64
	// MaxBatch bounds an NDJSON batch (default DefaultMaxBatch); MaxLine
	// bounds one of its lines (default ingest.DefaultMaxLineBytes).
	MaxBatch int64
	MaxLine  int
	// Concurrency is the number of batch lines in flight (default
	// ingest.DefaultConcurrency).
	Concurrency int
	// Clients re-checks a batch's client while the batch streams
	// (apiclients.Queries, as the token middleware reads): a batch stops
	// taking lines within RecheckEvery (default 5 s) of its client being
	// revoked, as an event feed does. nil: the client is checked when the
	// batch opens only, and a batch streaming for hours outlives a
	// revocation.
	Clients      apiauth.Clients
	RecheckEvery time.Duration
	// MaxBatches bounds the batches one client may stream at once
	// (default DefaultMaxBatches); one more is 429 too_many_batches.
	MaxBatches int
	// AnswerWriteTimeout bounds each write of a batch's answer (default
	// 30 s): a client that stops reading its answer (or sends the whole
	// batch before reading any of it) ends the batch, its lines answered
	// standing, rather than hold its slot, workers and connection for good.
	AnswerWriteTimeout time.Duration
	Log                *slog.Logger
}

// MountPayments adds the payment, statement and batch writes to rg (the
// /api/v1 group). It panics if Auth is nil (a wiring mistake).
func MountPayments(rg *gin.RouterGroup, deps PaymentsDeps) {
	if deps.Auth == nil {
		panic("api: MountPayments without Auth middleware")
	}
	w := newWriter(deps)
	pay := rg.Group("/payments", deps.Auth, apiauth.RequireScope(apiclient.ScopePaymentsWrite), httpx.BodyLimit(w.maxBody))
	pay.POST("", w.recordPayment)
	pay.PUT("/:id", w.amendPayment)
	pay.PATCH("/:id", w.patchPayment)
	pay.POST("/:id/status", w.changeStatus)
	st := rg.Group("/statements", deps.Auth, apiauth.RequireScope(apiclient.ScopeStatementsWrite), httpx.BodyLimit(w.maxBody))
	st.POST("", w.issueStatement)
	st.POST("/:id/corrections", w.correctStatement)
	rg.POST("/ingest", deps.Auth, requireAnyScope(apiclient.ScopePaymentsWrite, apiclient.ScopeStatementsWrite),
		httpx.BodyLimit(w.maxBatch), w.ingest)
}

// PaymentsMounter adapts MountPayments to server.Deps.API.
func PaymentsMounter(deps PaymentsDeps) func(*gin.RouterGroup) {
	return func(rg *gin.RouterGroup) { MountPayments(rg, deps) }
}

// writer runs the writes.
type writer struct {
	one      *ingest.Ingester // single writes: one line at a time
	batch    *ingest.Ingester
	maxBody  int64
	maxBatch int64
	clients  apiauth.Clients
	recheck  time.Duration
	batches  *httpx.Slots // batches streaming now, per client
	// answerTimeout bounds each write of a batch's answer.
	answerTimeout time.Duration
	resp          *httpx.Responder
	log           *slog.Logger
}

func newWriter(d PaymentsDeps) *writer {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.MaxBody <= 0 {
		d.MaxBody = DefaultMaxWriteBody
	}
	if d.MaxBatch <= 0 {
		d.MaxBatch = DefaultMaxBatch
	}
	if d.RecheckEvery <= 0 {
		d.RecheckEvery = 5 * time.Second
	}
	if d.MaxBatches <= 0 {
		d.MaxBatches = DefaultMaxBatches
	}
	if d.AnswerWriteTimeout <= 0 {
		d.AnswerWriteTimeout = 30 * time.Second
	}
	if d.Payees == nil {
		d.Payees = &commands.PayeeCache{Next: commands.EmployeeStreams{Store: d.Runner.Store}}
	}
	one := ingest.New(d.Runner, d.Payees)
	one.Concurrency, one.Logger = 1, d.Log
	// The line wraps the body: leave room for the envelope.
	one.MaxLineBytes = int(d.MaxBody) + 4096
	batch := ingest.New(d.Runner, d.Payees)
	batch.Concurrency, batch.MaxLineBytes, batch.Logger = d.Concurrency, d.MaxLine, d.Log
	return &writer{
		one: one, batch: batch,
		maxBody: d.MaxBody, maxBatch: d.MaxBatch, clients: d.Clients, recheck: d.RecheckEvery, answerTimeout: d.AnswerWriteTimeout, log: d.Log,
		batches: httpx.NewSlots(d.MaxBatches),
		resp:    &httpx.Responder{Map: httpx.NewErrorMap(), IsAPI: func(*http.Request) bool { return true }, Log: d.Log},
	}
}

// WriteResult answers a single write.
type WriteResult struct {
	Result      string `json:"result"` // accepted | duplicate
	Position    uint64 `json:"position,omitempty"`
	PaymentID   string `json:"payment_id,omitempty"`
	StatementID string `json:"statement_id,omitempty"`
	Status      string `json:"status,omitempty"` // a status move's new status
}

// illegalMoveBody is the 409 of a status move that is not allowed.
type illegalMoveBody struct {
	Error illegalMoveDetail `json:"error"`
}

type illegalMoveDetail struct {
	Code          string   `json:"code"`
	Message       string   `json:"message"`
	Field         string   `json:"field"`
	CurrentStatus string   `json:"current_status"`
	Requested     string   `json:"requested_status,omitempty"`
	Allowed       []string `json:"allowed"`
}

// single is one write to run: a kind of line, its body member, and the ID
// the path names (if any).
type single struct {
	op      string // "POST /payments", for the idempotency key's scope
	kind    ingest.Kind
	member  string // the line's body member: "payment", "change", …
	idField string // "payment_id" or "statement_id"
	id      string // from the path; "" when the body carries it
	created bool   // 201 when accepted
	patch   bool   // the body is a merge patch of the payment's details
	status  string // a status move's target, echoed back
}

// readObject reads the body as one JSON object of members, refusing
// malformed JSON, duplicate members and anything after the object.
func (w *writer) readObject(c *gin.Context, contentOK func(*gin.Context) bool) (map[string]jsontext.Value, bool) {
	if !plainBody(c) || !contentOK(c) {
		return nil, false
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var mb *http.MaxBytesError
		if !errors.As(err, &mb) && !errors.Is(err, httpx.ErrBodyTimeout) {
			// The client stopped sending (its connection broke off): not
			// the server's failure, as httpx.DecodeJSON answers it. Left
			// as it was, the map knew no rule for it: a 500 with an
			// incident logged as ours.
			err = errors.Join(httpx.ErrBadRequest, errors.New("body not received whole"))
		}
		w.resp.Respond(c, err) // 413 over the limit, 408 too slow, else 400
		c.Abort()
		return nil, false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		writeProblem(c, http.StatusBadRequest, "bad_request", "", i18n.Text{
			MS: "Kandungan permintaan kosong; hantar satu objek JSON.", EN: "The request body is empty; send one JSON object."})
		return nil, false
	}
	var m map[string]jsontext.Value
	if err := json.Unmarshal(body, &m); err != nil {
		field, reason := jsonReason(err)
		writeProblem(c, http.StatusBadRequest, "malformed_json", field, i18n.Text{
			MS: "JSON tidak sah: " + reason, EN: "Malformed JSON: " + reason})
		return nil, false
	}
	if m == nil {
		writeProblem(c, http.StatusBadRequest, "malformed_json", "", i18n.Text{
			MS: "Kandungan permintaan mesti satu objek JSON.", EN: "The request body must be one JSON object."})
		return nil, false
	}
	return m, true
}

// jsonReason words a decoding error of the body.
func jsonReason(err error) (field, reason string) {
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	switch {
	case errors.As(err, &syn):
		if errors.Is(syn.Err, jsontext.ErrDuplicateName) {
			return fieldPath(string(syn.JSONPointer)), "a member appears twice in one object"
		}
		msg := strings.TrimPrefix(syn.Error(), "jsontext: ")
		return "", msg
	case errors.As(err, &sem):
		return fieldPath(string(sem.JSONPointer)), "the body must be one JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "", "the body ends before the object does"
	}
	return "", "not one JSON object"
}

// fieldPath turns "/earnings/2/amount_sen" into "earnings[2].amount_sen".
func fieldPath(ptr string) string {
	var b strings.Builder
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		if tok == "" {
			continue
		}
		if tok[0] >= '0' && tok[0] <= '9' && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// jsonContent refuses a body declared as something other than JSON.
func jsonContent(c *gin.Context) bool {
	ct := c.GetHeader("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	if mt == "application/json" || strings.HasSuffix(mt, "+json") {
		return utf8Charset(c)
	}
	writeProblem(c, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type", i18n.Text{
		MS: "Kandungan permintaan mesti JSON (Content-Type: application/json).",
		EN: "The request body must be JSON (Content-Type: application/json).",
	})
	return false
}

// writeProblem answers an error in the API's shape.
func writeProblem(c *gin.Context, status int, code, field string, msg i18n.Text) {
	c.Header("Cache-Control", "no-store")
	c.JSON(status, errorBody{Error: errorDetail{Code: code, Message: msg.In(i18n.From(c)), Field: field}})
	c.Abort()
}

// withPathID puts the path's ID into the body, or checks that the body's
// agrees with it.
func withPathID(c *gin.Context, m map[string]jsontext.Value, field, id string) bool {
	if raw, ok := m[field]; ok {
		var v string
		if err := json.Unmarshal(raw, &v); err != nil || v != id {
			writeProblem(c, http.StatusUnprocessableEntity, "invalid", field, i18n.Text{
				MS: field + " dalam kandungan mesti sama dengan ID dalam alamat (atau tiada).",
				EN: field + " in the body must be the same as the ID in the path (or be left out).",
			})
			return false
		}
		return true
	}
	q, _ := json.Marshal(id)
	m[field] = q
	return true
}

// requestID is the line's request ID: from the Idempotency-Key (or the
// caller's own X-Request-ID), scoped to the operation and so to its record
// (the client scopes it too: commands.ClientCommandID); a fresh one when
// the client sent no key. The body is left out on purpose: the same key
// with another body on the same record is the same command, which the
// payment or statement refuses as a reused key (422 idempotency_key_reused)
// instead of running it as a new one. fresh says the ID was made here (no
// key): no repeat of it can come.
func requestID(c *gin.Context, op string) (id string, fresh, ok bool) {
	key := c.GetHeader(IdempotencyKeyHeader)
	if key == "" {
		if rid := c.GetHeader(httpx.RequestIDHeader); rid != "" && rid == httpx.RequestIDOf(c) {
			key = rid
		}
	} else if !validKey(key) {
		writeProblem(c, http.StatusBadRequest, "invalid_idempotency_key", IdempotencyKeyHeader, i18n.Text{
			MS: "Idempotency-Key mesti 1 hingga 255 aksara ASCII yang boleh dicetak.",
			EN: "Idempotency-Key must be 1 to 255 printable ASCII characters.",
		})
		return "", false, false
	}
	if key == "" {
		return "api." + uuid.NewString(), true, true
	}
	h := sha256.New()
	for _, p := range [][]byte{[]byte(op), []byte(key)} {
		h.Write(p)
		h.Write([]byte{0})
	}
	return "api." + hex.EncodeToString(h.Sum(nil)[:24]), false, true
}

// run wraps the body as one NDJSON line, runs it through the ingester and
// answers with what the line's result says.
func (w *writer) run(c *gin.Context, s single, body map[string]jsontext.Value) {
	if s.id != "" && !withPathID(c, body, s.idField, s.id) {
		return
	}
	canonical, err := json.Marshal(body, json.Deterministic(true))
	if err != nil {
		w.resp.Respond(c, err)
		return
	}
	// A key names one request on one record. A creating request's record
	// is in its body, and in the scope: the key reused for another new
	// record is another command. (Its events would get IDs of their own
	// anyway, commands.EventID takes the stream; the scope stays because
	// the commands already stored were derived with it.)
	op := s.op
	if s.created {
		var rec string
		_ = json.Unmarshal(body[s.idField], &rec) // missing or bad: the line is rejected anyway
		op += "/" + rec
	}
	rid, fresh, ok := requestID(c, op)
	if !ok {
		return
	}
	line, err := json.Marshal(map[string]jsontext.Value{
		"kind": quote(string(s.kind)), "request_id": quote(rid), s.member: canonical,
	}, json.Deterministic(true))
	if err != nil {
		w.resp.Respond(c, err)
		return
	}
	src := w.source(c)
	src.AmendmentIsPatch = s.patch
	src.FreshRequestIDs = fresh
	var res ingest.Result
	if _, err := w.one.Run(c.Request.Context(), bytes.NewReader(line), src, func(r ingest.Result) error {
		res = r
		return nil
	}); err != nil {
		w.resp.Respond(c, err)
		return
	}
	id := s.id
	if id == "" {
		_ = json.Unmarshal(body[s.idField], &id)
	}
	w.answer(c, s, id, res)
}

func quote(s string) jsontext.Value {
	q, _ := json.Marshal(s)
	return q
}

// source is the request's sender for the ingester: the client, the request
// ID as correlation, address and user agent.
func (w *writer) source(c *gin.Context) ingest.Source {
	ua := c.Request.UserAgent()
	if len(ua) > 256 {
		ua = ua[:256]
	}
	client, _ := apiauth.FromGin(c)
	return ingest.Source{
		Actor: apiauth.Actor(c), CorrelationID: httpx.RequestIDOf(c), SourceIP: c.ClientIP(),
		UserAgent: strings.ToValidUTF8(ua, "?"),
		Allowed:   func(k ingest.Kind) bool { return client.HasScope(k.Scope()) },
	}
}

// answer turns a line's result into the HTTP answer.
func (w *writer) answer(c *gin.Context, s single, id string, r ingest.Result) {
	field := strings.TrimPrefix(r.Field, s.member+".")
	if r.Field == s.member {
		field = ""
	}
	c.Header("Cache-Control", "no-store")
	out := WriteResult{Result: string(r.Outcome), Position: r.Position, Status: s.status}
	if s.idField == "statement_id" {
		out.StatementID = id
	} else {
		out.PaymentID = id
	}
	switch r.Outcome {
	case ingest.Accepted:
		status := http.StatusOK
		if s.created {
			status = http.StatusCreated
		}
		c.JSON(status, out)
		return
	case ingest.Duplicate:
		c.JSON(http.StatusOK, out)
		return
	case ingest.Failed:
		if r.Code == ingest.CodeBusy {
			// Not a fault: concurrent requests on one record. Nothing was
			// written; the same request again will be decided afresh.
			c.Header("Retry-After", "1")
			c.JSON(http.StatusConflict, errorBody{Error: errorDetail{Code: "concurrent_change", Message: bilingual(c,
				"Rekod ini sedang diubah oleh permintaan lain pada masa yang sama; tiada apa-apa diubah. Hantar semula permintaan ini.",
				"the record was being changed by other requests at the same time; nothing was changed, send this request again")}})
			return
		}
		// The ingester logged it under its own incident ID: given in the
		// incident field, as every other server fault of the API gives it.
		c.JSON(http.StatusInternalServerError, errorBody{Error: errorDetail{Code: "internal",
			Message: i18n.Get("err.system").In(i18n.From(c)), Incident: r.Incident}})
		return
	}
	switch r.Code {
	case ingest.CodeIllegalMove:
		allowed := r.Allowed
		if allowed == nil {
			allowed = []string{}
		}
		c.JSON(http.StatusConflict, illegalMoveBody{Error: illegalMoveDetail{
			Code: "illegal_move", Message: moveMessage(i18n.From(c), r.CurrentStatus, s.status, allowed),
			Field: "status", CurrentStatus: r.CurrentStatus, Requested: s.status, Allowed: allowed,
		}})
	case ingest.CodeNotFound:
		c.JSON(http.StatusNotFound, errorBody{Error: errorDetail{Code: "not_found", Field: field, Message: bilingual(c,
			"Tiada rekod dengan ID ini; rekodkan dahulu.", r.Reason)}})
	case ingest.CodeConflict:
		if r.Field == "request_id" {
			// The key (the line's request ID) already named another change.
			c.JSON(http.StatusUnprocessableEntity, errorBody{Error: errorDetail{Code: "idempotency_key_reused", Field: IdempotencyKeyHeader,
				Message: bilingual(c, "Idempotency-Key ini telah digunakan untuk permintaan lain; tiada apa-apa diubah. Gunakan kunci baharu untuk perubahan baharu.",
					"this Idempotency-Key was already used for a different request; nothing was changed (use a new key for a new change)")}})
			return
		}
		c.JSON(http.StatusConflict, errorBody{Error: errorDetail{Code: "conflict", Field: field, Message: bilingual(c,
			"Rekod ini tidak boleh diubah begini.", r.Reason)}})
	case ingest.CodeUnknownPayee:
		c.JSON(http.StatusUnprocessableEntity, errorBody{Error: errorDetail{Code: "unknown_payee", Field: field,
			Message: bilingual(c, "Tiada pekerja dengan No. Pengenalan ini dalam data induk pekerja.", r.Reason),
			Fields:  []FieldProblem{{Field: field, Code: "unknown_payee", Reason: r.Reason}}}})
	case ingest.CodeForbidden:
		c.JSON(http.StatusForbidden, errorBody{Error: errorDetail{Code: "auth.insufficient_scope", Message: r.Reason}})
	case ingest.CodeTooLong:
		writeProblem(c, http.StatusRequestEntityTooLarge, "too_large", "", i18n.Get("err.too_large"))
	case ingest.CodeMalformed:
		c.JSON(http.StatusBadRequest, errorBody{Error: errorDetail{Code: "malformed_json", Message: bilingual(c, "JSON tidak sah.", r.Reason)}})
	default: // invalid
		code, status := "invalid", http.StatusUnprocessableEntity
		switch {
		case strings.HasPrefix(r.Reason, "unknown field"):
			code, status = "unknown_field", http.StatusBadRequest
		case strings.HasPrefix(r.Reason, "must be a JSON "), strings.HasPrefix(r.Reason, "appears twice"):
			code, status = "invalid_type", http.StatusBadRequest
		}
		c.JSON(status, errorBody{Error: errorDetail{Code: code, Field: field, Message: bilingual(c, "Data tidak sah: "+field+".", field+": "+r.Reason),
			Fields: []FieldProblem{{Field: field, Code: code, Reason: r.Reason}}}})
	}
}

// bilingual picks the Malay summary or the English reason (the domain's
// reasons are English, like the rest of the machine-facing detail).
func bilingual(c *gin.Context, ms, en string) string {
	if i18n.From(c) == i18n.EN {
		return en
	}
	return ms + " (" + en + ")"
}

// moveMessage says why a move was refused, naming the current status and
// what is allowed from it.
func moveMessage(l i18n.Lang, current, requested string, allowed []string) string {
	cur := payment.Status(current).Label()
	labels := make([]string, len(allowed))
	for i, a := range allowed {
		labels[i] = payment.Status(a).Label()
	}
	if l == i18n.EN {
		to := "none (the status is final)"
		if len(labels) > 0 {
			to = strings.Join(labels, ", ")
		}
		return "The payment cannot move from " + cur + " to " + payment.Status(requested).Label() + ". Current status: " + cur + "; allowed moves: " + to + "."
	}
	to := "tiada (status muktamad)"
	if len(labels) > 0 {
		to = strings.Join(labels, ", ")
	}
	return "Status bayaran tidak boleh ditukar daripada " + cur + " kepada " + payment.Status(requested).Label() + ". Status semasa: " + cur + "; pertukaran yang dibenarkan: " + to + "."
}

func (w *writer) recordPayment(c *gin.Context) {
	m, ok := w.readObject(c, jsonContent)
	if !ok {
		return
	}
	w.run(c, single{op: "POST /payments", kind: ingest.KindPayment, member: "payment", idField: "payment_id", created: true}, m)
}

func (w *writer) amendPayment(c *gin.Context) {
	m, ok := w.readObject(c, jsonContent)
	if !ok {
		return
	}
	id := c.Param("id")
	w.run(c, single{op: "PUT /payments/" + id, kind: ingest.KindPaymentAmendment, member: "amendment", idField: "payment_id", id: id}, m)
}

// patchPayment amends a payment with a JSON merge patch (RFC 7396) of its
// details: the members sent replace the current ones, null removes an
// optional one (reference), and the rest stay. The patch is merged inside
// the command, on the details it decides on (an amendment landing meanwhile
// is kept, not reverted), and the result is checked as a whole, as a PUT.
func (w *writer) patchPayment(c *gin.Context) {
	patch, ok := w.readObject(c, mergePatchContent)
	if !ok {
		return
	}
	id := c.Param("id")
	w.run(c, single{op: "PATCH /payments/" + id, kind: ingest.KindPaymentAmendment, member: "amendment", idField: "payment_id", id: id, patch: true}, patch)
}

// mergePatchContent accepts application/merge-patch+json (and plain JSON).
func mergePatchContent(c *gin.Context) bool {
	mt, _, _ := strings.Cut(c.GetHeader("Content-Type"), ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	switch mt {
	case "", "application/json", "application/merge-patch+json":
		return utf8Charset(c)
	}
	writeProblem(c, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type", i18n.Text{
		MS: "Kandungan PATCH mesti application/merge-patch+json.",
		EN: "A PATCH body must be application/merge-patch+json.",
	})
	return false
}

func (w *writer) changeStatus(c *gin.Context) {
	m, ok := w.readObject(c, jsonContent)
	if !ok {
		return
	}
	id := c.Param("id")
	var to string
	if raw, ok := m["status"]; ok {
		_ = json.Unmarshal(raw, &to)
	}
	w.run(c, single{op: "POST /payments/" + id + "/status", kind: ingest.KindPaymentStatus, member: "change", idField: "payment_id", id: id, status: to}, m)
}

// requireAnyScope lets through a client holding one of scopes (the batch
// then checks each line's own scope).
func requireAnyScope(scopes ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		client, ok := apiauth.FromGin(c)
		if ok {
			for _, s := range scopes {
				if client.HasScope(s) {
					c.Next()
					return
				}
			}
		}
		list := strings.Join(scopes, " / ")
		c.Header("Cache-Control", "no-store")
		httpx.WriteJSONProblem(c, httpx.Problem{Status: http.StatusForbidden, Code: "auth.insufficient_scope", Message: i18n.Text{
			MS: "Pelanggan API ini tidak mempunyai skop " + list + ".", EN: "This API client lacks the " + list + " scope."}})
		c.Abort()
	}
}
