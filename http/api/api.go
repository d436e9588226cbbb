// Package api is the JSON API under /api/v1 for the finance systems:
// bearer-token clients (http/apiauth) pushing the employee master, and the
// OpenAPI document that describes every endpoint (openapi.go).
//
// Every endpoint decodes strictly (httpx.DecodeJSON: unknown fields, a
// member twice, names in another case, wrong types and trailing data
// refused), bounds its body, validates with the
// domain's rules before any write, records the client as the events' actor,
// and answers errors in the httpx JSON shape, with a "fields" list when the
// input has several bad fields:
//
//	{"error":{"code":"invalid","message":"…","field":"email",
//	          "fields":[{"field":"email","code":"domain_not_allowed","reason":"…"}]}}
//
// Repeats are no-ops: PUT of the same record changes nothing, and an
// Idempotency-Key (or the caller's X-Request-ID) makes a retried request the
// same command, so it never appends twice.
package api

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/apiclient"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/textfield"
	"github.com/melaka-gov/ispeks/http/apiauth"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/i18n"
)

// DefaultMaxBody bounds a JSON request body of these endpoints: an employee
// record is well under 2 KiB, so 64 KiB leaves room for every field at its
// limit (and for a 10 kB field to be refused by name, not by size).
const DefaultMaxBody = 64 << 10

// IdempotencyKeyHeader names the header a client sets so a retried request
// is recognised as the same command.
const IdempotencyKeyHeader = "Idempotency-Key"

// maxKey bounds an idempotency key.
const maxKey = 255

// Deps are the API's collaborators.
type Deps struct {
	// Runner runs the commands (its Store is also read, to tell a new
	// record from an update).
	Runner commands.Runner
	// Auth authenticates the client: apiauth.(*Authenticator).Middleware().
	Auth gin.HandlerFunc
	// AllowedDomains are the official e-mail domains (default
	// commands.DefaultAllowedDomain); subdomains are allowed.
	AllowedDomains []string
	// SpecFragments are OpenAPI fragments of endpoints mounted by other
	// packages, merged into /api/v1/openapi.json (see Spec).
	SpecFragments [][]byte
	// MaxBody bounds a request body (default DefaultMaxBody).
	MaxBody int64
	Log     *slog.Logger
}

// Mount adds the API's routes to rg (the /api/v1 group):
//
//	GET    /openapi.json                   the OpenAPI 3 document (no token needed)
//	PUT    /employees/{ic}                 employees:write — record or update a staff record
//	POST   /employees/{ic}/left-service    employees:write — the person leaves service (on a date, possibly ahead)
//	DELETE /employees/{ic}/left-service    employees:write — cancel a leaving date still ahead
//
// It panics if the OpenAPI fragments do not merge (a programming error the
// package's tests catch) or Auth is nil.
func Mount(rg *gin.RouterGroup, deps Deps) {
	if deps.Auth == nil {
		panic("api: Mount without Auth middleware")
	}
	spec, err := Spec(deps.SpecFragments...)
	if err != nil {
		panic(err)
	}
	h := newHandlers(deps)
	rg.GET("/openapi.json", func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=300")
		// Anyone's cache may keep this answer: a cookie the middleware set
		// on the way (clearing a timed-out session) would go to everyone
		// it is served to.
		c.Writer.Header().Del("Set-Cookie")
		c.Data(http.StatusOK, "application/json; charset=utf-8", spec)
	})
	emp := rg.Group("/employees", deps.Auth, apiauth.RequireScope(apiclient.ScopeEmployeesWrite), httpx.BodyLimit(h.maxBody))
	emp.PUT("/:ic", h.putEmployee)
	emp.POST("/:ic/left-service", h.leftService)
	emp.DELETE("/:ic/left-service", h.cancelLeaving)
}

// Mounter adapts Mount to server.Deps.API.
func Mounter(deps Deps) func(*gin.RouterGroup) {
	return func(rg *gin.RouterGroup) { Mount(rg, deps) }
}

type handlers struct {
	put     commands.Handler[commands.PutStaff]
	left    commands.Handler[commands.StaffLeftService]
	cancel  commands.Handler[commands.CancelLeaving]
	store   commands.EventStore
	reg     *eventlog.Registry
	domains []string
	maxBody int64
	resp    *httpx.Responder
	log     *slog.Logger
}

func newHandlers(deps Deps) *handlers {
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if len(deps.AllowedDomains) == 0 {
		deps.AllowedDomains = []string{commands.DefaultAllowedDomain}
	}
	if deps.MaxBody <= 0 {
		deps.MaxBody = DefaultMaxBody
	}
	return &handlers{
		put:     commands.PutStaffHandler{Runner: deps.Runner},
		left:    commands.StaffLeftServiceHandler{Runner: deps.Runner},
		cancel:  commands.CancelLeavingHandler{Runner: deps.Runner},
		store:   deps.Runner.Store,
		reg:     deps.Runner.Registry,
		domains: deps.AllowedDomains,
		maxBody: deps.MaxBody,
		// The API's own responder: its answers do not depend on the
		// server's error tables, and every error is JSON.
		resp: &httpx.Responder{Map: httpx.NewErrorMap(employeeRules), IsAPI: func(*http.Request) bool { return true }, Log: deps.Log},
		log:  deps.Log,
	}
}

// FieldProblem is one bad input field in an error answer.
type FieldProblem struct {
	Field  string `json:"field"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code     string         `json:"code"`
	Message  string         `json:"message"`
	Field    string         `json:"field,omitempty"`
	Incident string         `json:"incident,omitempty"`
	Fields   []FieldProblem `json:"fields,omitempty"`
}

var msgInvalid = i18n.Text{
	MS: "Data tidak sah; lihat senarai medan (fields) untuk sebabnya.",
	EN: "The data is not valid; see the fields list for the reasons.",
}

// invalid answers 422 naming every bad field.
func (h *handlers) invalid(c *gin.Context, fields []FieldProblem) {
	h.log.DebugContext(c.Request.Context(), "api: invalid input", "request_id", httpx.RequestIDOf(c), "route", httpx.Route(c), "field", fields[0].Field)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusUnprocessableEntity, errorBody{Error: errorDetail{
		Code: "invalid", Message: msgInvalid.In(i18n.From(c)), Field: fields[0].Field, Fields: fields,
	}})
	c.Abort()
}

// problem answers with a fixed problem.
func (h *handlers) problem(c *gin.Context, status int, code, field string, msg i18n.Text) {
	c.Header("Cache-Control", "no-store")
	c.JSON(status, errorBody{Error: errorDetail{Code: code, Message: msg.In(i18n.From(c)), Field: field}})
	c.Abort()
}

// fail maps any other error through httpx (400 malformed JSON, 413 too
// large, 500 with an incident ID …).
func (h *handlers) fail(c *gin.Context, err error) {
	h.resp.Respond(c, err)
	c.Abort()
}

// employeeFields turns the domain's field errors into the answer's list.
func employeeFields(err error) ([]FieldProblem, bool) {
	var fes employee.FieldErrors
	if errors.As(err, &fes) && len(fes) > 0 {
		out := make([]FieldProblem, len(fes))
		for i, fe := range fes {
			out[i] = FieldProblem{Field: fe.Field, Code: fe.Code, Reason: fe.Reason}
		}
		return out, true
	}
	var fe *employee.FieldError
	if errors.As(err, &fe) {
		return []FieldProblem{{Field: fe.Field, Code: fe.Code, Reason: fe.Reason}}, true
	}
	return nil, false
}

// plainBody refuses a body sent with a content coding (gzip, deflate …):
// bodies are read as they come, so a compressed one was taken for text: a
// 400 malformed_json at best, and a compressed batch answered as thousands
// of malformed "lines" cut wherever the compressed bytes held a newline.
func plainBody(c *gin.Context) bool {
	enc := strings.TrimSpace(c.GetHeader("Content-Encoding"))
	if enc == "" || strings.EqualFold(enc, "identity") {
		return true
	}
	writeProblem(c, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Encoding", i18n.Text{
		MS: "Kandungan permintaan yang dimampatkan (Content-Encoding) tidak disokong; hantar tanpa pemampatan.",
		EN: "A compressed request body (Content-Encoding) is not supported; send it uncompressed.",
	})
	return false
}

// utf8Charset refuses a JSON body declared in another charset than UTF-8,
// as a batch is: JSON is UTF-8 (RFC 8259 §8.1) and is read as such, so a
// Latin-1 body whose bytes happen to be valid UTF-8 ("Ã©") was stored as
// other text ("é"), and one that was not was answered as malformed JSON
// without saying why.
func utf8Charset(c *gin.Context) bool {
	_, params, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil {
		return true // no Content-Type, or one the media type check judges
	}
	switch cs := strings.ToLower(params["charset"]); cs {
	case "", "utf-8", "utf8", "us-ascii":
		return true
	default:
		writeProblem(c, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type", i18n.Text{
			MS: "Kandungan JSON mesti dalam UTF-8 (charset=utf-8), bukan " + textfield.Clip(cs) + ".",
			EN: "A JSON body must be UTF-8 (charset=utf-8), not " + textfield.Clip(cs) + ".",
		})
		return false
	}
}

// jsonBody refuses a body declared as something other than JSON.
func (h *handlers) jsonBody(c *gin.Context) bool {
	if !plainBody(c) {
		return false
	}
	ct := c.GetHeader("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	if mt == "application/json" || strings.HasSuffix(mt, "+json") {
		return utf8Charset(c)
	}
	h.problem(c, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type", i18n.Text{
		MS: "Kandungan permintaan mesti JSON (Content-Type: application/json).",
		EN: "The request body must be JSON (Content-Type: application/json).",
	})
	return false
}

// commandMeta builds the command's metadata: the client as actor, the
// request ID as correlation ID, and a command ID from the idempotency key
// when the client sent one. op scopes the key to this operation on this
// record. The body is left out on purpose, as for payments: the same key
// with another body is the same command, which the staff record refuses as
// a reused key (422 idempotency_key_reused) instead of running it as a new
// change.
func (h *handlers) commandMeta(c *gin.Context, op string) (meta commands.Meta, keyed, ok bool) {
	actor := apiauth.Actor(c)
	key := c.GetHeader(IdempotencyKeyHeader)
	if key == "" {
		// The caller's own X-Request-ID, if RequestID kept it, is the key.
		if rid := c.GetHeader(httpx.RequestIDHeader); rid != "" && rid == httpx.RequestIDOf(c) {
			key = rid
		}
	} else if !validKey(key) {
		h.problem(c, http.StatusBadRequest, "invalid_idempotency_key", IdempotencyKeyHeader, i18n.Text{
			MS: "Idempotency-Key mesti 1 hingga 255 aksara ASCII yang boleh dicetak.",
			EN: "Idempotency-Key must be 1 to 255 printable ASCII characters.",
		})
		return commands.Meta{}, false, false
	}
	id := uuid.New()
	if key != "" {
		id = commands.ClientCommandID(actor.ID, op+"\n"+key)
	}
	return commands.Meta{
		CommandID: id,
		// Without a key the ID is new: no repeat of it can come, so a
		// request that changes nothing records nothing.
		FreshID:       key == "",
		CorrelationID: httpx.RequestIDOf(c),
		Actor:         actor,
		SourceIP:      c.ClientIP(),
		UserAgent:     httpx.UserAgent(c),
	}, key != "", true
}

// keyReused answers a command refused because its Idempotency-Key already
// named another change to the record, as the payments endpoints do.
func (h *handlers) keyReused(c *gin.Context) {
	h.problem(c, http.StatusUnprocessableEntity, "idempotency_key_reused", IdempotencyKeyHeader, i18n.Text{
		MS: "Idempotency-Key ini telah digunakan untuk permintaan lain; tiada apa-apa diubah. Gunakan kunci baharu untuk perubahan baharu.",
		EN: "this Idempotency-Key was already used for a different request; nothing was changed (use a new key for a new change)",
	})
}

func validKey(k string) bool {
	if len(k) == 0 || len(k) > maxKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// original returns the first event command cmd appended to stream, if it
// did: a repeat of a stored command answers as the command did (created,
// updated), not as "unchanged". Employee streams are short. The event is
// found by its causation (the command ID), not by commands.EventID: events
// stored before the stream was part of the event ID have IDs of the old
// derivation.
func (h *handlers) original(ctx context.Context, stream string, cmd uuid.UUID) (eventlog.Record, bool) {
	id := cmd.String()
	var found eventlog.Record
	err := h.scan(ctx, stream, func(rec eventlog.Record) (bool, error) {
		if rec.Metadata.CausationID == id {
			found = rec
			return true, nil
		}
		return false, nil
	})
	return found, err == nil && found.Position > 0
}

// scan calls fn with stream's events in order until fn says stop or
// returns an error. Employee streams are short: a page or two.
func (h *handlers) scan(ctx context.Context, stream string, fn func(eventlog.Record) (stop bool, err error)) error {
	const page = 256
	var from uint64 = 1
	for {
		recs, err := h.store.ReadStream(ctx, stream, from, eventlog.Forwards, page)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			if stop, err := fn(rec); stop || err != nil {
				return err
			}
			from = rec.Version + 1
		}
		if len(recs) < page {
			return nil
		}
	}
}

// eventAt returns the type of the event at version v of stream ("" if it
// cannot be read).
func (h *handlers) eventAt(ctx context.Context, stream string, v uint64) string {
	rec, _ := h.recordAt(ctx, stream, v)
	return rec.Type
}

// recordAt returns the event at version v of stream, if it can be read.
func (h *handlers) recordAt(ctx context.Context, stream string, v uint64) (eventlog.Record, bool) {
	recs, err := h.store.ReadStream(ctx, stream, v, eventlog.Forwards, 1)
	if err != nil || len(recs) == 0 {
		return eventlog.Record{}, false
	}
	return recs[0], true
}
