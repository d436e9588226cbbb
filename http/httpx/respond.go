package httpx

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"runtime/debug"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/domain/mykad"
	"github.com/melaka-gov/ispeks/http/i18n"
)

// ErrorPages draws an HTML error page for a Problem (package web implements
// it). It must set the status itself (p.Status).
type ErrorPages interface {
	RenderProblem(c *gin.Context, p Problem)
}

// Responder writes every error response: JSON for the API, an HTML page
// otherwise. Handlers do not call it directly; they call Abort and the
// Errors middleware answers once the chain has returned.
type Responder struct {
	Map   *ErrorMap
	Pages ErrorPages               // nil: plain text pages (tests, tools)
	IsAPI func(*http.Request) bool // JSON answers for these requests
	Log   *slog.Logger
}

// Abort records err for the Errors middleware and stops the chain. It is
// how every handler and middleware reports a failure.
func Abort(c *gin.Context, err error) {
	_ = c.Error(err)
	c.Abort()
}

// Respond maps err and writes the answer (nothing if a response was already
// started; the error is still logged).
func (r *Responder) Respond(c *gin.Context, err error) {
	p := r.Map.Map(err)
	if p.Internal {
		p.Incident = NewIncidentID()
		r.logger().LogAttrs(c.Request.Context(), slog.LevelError, "request failed",
			slog.String("incident", p.Incident),
			slog.String("request_id", RequestIDOf(c)),
			slog.String("route", Route(c)),
			slog.String("code", p.Code),
			slog.String("err", mykad.Redact(err.Error())))
	} else {
		r.logger().LogAttrs(c.Request.Context(), slog.LevelDebug, "request refused",
			slog.String("request_id", RequestIDOf(c)),
			slog.String("route", Route(c)),
			slog.String("code", p.Code),
			slog.String("field", p.Field))
	}
	r.Write(c, p)
}

// Write sends p as JSON (API) or as an error page.
func (r *Responder) Write(c *gin.Context, p Problem) {
	if c.Writer.Written() {
		return
	}
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-store")
	if p.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(p.RetryAfter.Seconds()))))
	}
	switch {
	case r.IsAPI != nil && r.IsAPI(c.Request):
		WriteJSONProblem(c, p)
	case r.Pages != nil:
		r.Pages.RenderProblem(c, p)
	default:
		c.String(p.Status, "%s (%s)\n", p.Message.In(i18n.From(c)), p.Code)
	}
}

// JSONError is the body of every API error:
// {"error":{"code":"…","message":"…","field":"…"}}.
type JSONError struct {
	Error JSONErrorBody `json:"error"`
}

// JSONErrorBody is the inside of JSONError.
type JSONErrorBody struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	Field    string `json:"field,omitempty"`
	Incident string `json:"incident,omitempty"`
}

// WriteJSONProblem writes p in the API's error shape, in the request's
// language.
func WriteJSONProblem(c *gin.Context, p Problem) {
	c.JSON(p.Status, JSONError{Error: JSONErrorBody{
		Code: p.Code, Message: p.Message.In(i18n.From(c)), Field: p.Field, Incident: p.Incident,
	}})
}

// Errors answers the error a handler passed to Abort, once the chain has
// returned. Install it early (after Recoverer).
func (r *Responder) Errors() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if len(c.Errors) == 0 {
			return
		}
		err := c.Errors.Last().Err
		if c.Writer.Written() {
			// Typically a template or encoder failure after the header
			// went out: nothing left to tell the user, but ops must know.
			r.logger().LogAttrs(c.Request.Context(), slog.LevelError, "error after response started",
				slog.String("request_id", RequestIDOf(c)), slog.String("route", Route(c)),
				slog.String("err", mykad.Redact(err.Error())))
			return
		}
		r.Respond(c, err)
	}
}

// Recoverer turns a panic into the "Sistem tidak dapat diakses" page (or
// JSON error) with an incident ID. The stack goes to the log, never to the
// user.
func (r *Responder) Recoverer() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
				panic(rec) // net/http's way to abort a response silently
			}
			p := Problem{Status: http.StatusInternalServerError, Code: "internal",
				Message: i18n.Get("err.system"), Internal: true, Incident: NewIncidentID()}
			r.logger().LogAttrs(c.Request.Context(), slog.LevelError, "panic",
				slog.String("incident", p.Incident),
				slog.String("request_id", RequestIDOf(c)),
				slog.String("route", Route(c)),
				slog.String("panic", mykad.Redact(fmt.Sprint(rec))),
				slog.String("stack", mykad.Redact(string(debug.Stack()))))
			c.Abort()
			r.Write(c, p)
		}()
		c.Next()
	}
}

func (r *Responder) logger() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

// incidentAlphabet is Crockford's base32: no I, L, O or U, so an ID read
// out over the phone is not misheard.
const incidentAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewIncidentID returns an ID like "K7QM-29XD" (40 random bits).
func NewIncidentID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	out := make([]byte, 0, 9)
	for i, v := range b {
		if i == 4 {
			out = append(out, '-')
		}
		out = append(out, incidentAlphabet[v&31])
	}
	return string(out)
}
