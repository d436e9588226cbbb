// Package httpx is the portal's shared HTTP plumbing on Gin: the one place
// where errors become HTTP statuses, the middleware every request passes
// (request ID, access log, metrics, recoverer, security headers, body
// limits), health and readiness, per-IP throttling and graceful serving.
// It knows nothing of pages: HTML error pages are drawn by an ErrorPages
// implementation passed in (package web).
package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"

	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/projections"
)

// Errors the HTTP layer itself raises. Handlers and middleware pass them to
// Abort; the ErrorMap turns them into responses.
var (
	ErrNotFound         = errors.New("httpx: not found")
	ErrMethodNotAllowed = errors.New("httpx: method not allowed")
	ErrForbidden        = errors.New("httpx: forbidden")
	ErrCSRF             = errors.New("httpx: missing or invalid CSRF token")
	ErrLoginRequired    = errors.New("httpx: login required")
	ErrTOTPRequired     = errors.New("httpx: two-factor verification required")
	// ErrPasswordChangeRequired: the session must change its password first.
	ErrPasswordChangeRequired = errors.New("httpx: password change required")
	ErrBadRequest             = errors.New("httpx: bad request")
	ErrTooManyAttempts        = errors.New("httpx: too many attempts")
	ErrUnavailable            = errors.New("httpx: service unavailable")
	// ErrReport is for a report (PDF) that could not be produced: the user
	// sees the manual's "Laporan tidak dapat dipaparkan" with an incident ID.
	ErrReport = errors.New("httpx: report could not be produced")
)

// TooManyError carries how long the client should wait. It matches
// ErrTooManyAttempts with errors.Is.
type TooManyError struct{ RetryAfter time.Duration }

func (e *TooManyError) Error() string {
	return fmt.Sprintf("httpx: too many attempts, retry after %s", e.RetryAfter)
}
func (e *TooManyError) Is(target error) bool { return target == ErrTooManyAttempts }

// FieldError is a validation error on one input field. Domain packages may
// declare their own type: anything with a Field() string method is read as
// naming the field, and its unwrapped error is looked up in the rule table
// for the message.
type FieldError struct {
	Name string
	Err  error
}

func (e *FieldError) Error() string { return e.Name + ": " + e.Err.Error() }
func (e *FieldError) Field() string { return e.Name }
func (e *FieldError) Unwrap() error { return e.Err }

// Problem is what a user (or API client) is told about an error.
type Problem struct {
	Status  int
	Code    string    // stable, machine-readable: "account.locked", "not_found"
	Message i18n.Text // for people, in both languages
	Field   string    // the input field at fault, if any
	// Incident is set for server faults (5xx): a short ID the user quotes
	// to the helpdesk, logged beside the error.
	Incident   string
	RetryAfter time.Duration
	// Internal is true when the fault is ours, not the user's: the page
	// says "Sistem tidak dapat diakses" and the error is logged.
	Internal bool
}

// UserError reports whether the problem is the user's to fix (4xx).
func (p Problem) UserError() bool { return p.Status >= 400 && p.Status < 500 }

// Rule maps an error to a Problem. Err is matched with errors.Is; Match, if
// set, is used instead (for error types). Message comes from the catalog
// key Key, or Text when Key is empty. Field names the input at fault when
// the error cannot (a sentinel about the record a path names); an error
// with a Field() method names its own.
type Rule struct {
	Err    error
	Match  func(error) bool
	Status int
	Code   string
	Key    string
	Text   i18n.Text
	Field  string
}

// ErrorMap is the one place where errors become HTTP statuses. Domain
// packages' sentinel errors are registered as rules by the flows that call
// them; the map adds the HTTP layer's own errors and decoding failures.
// Anything unknown is a 500 "Sistem tidak dapat diakses": a user mistake
// must therefore always have a rule (tests check each flow's errors).
type ErrorMap struct {
	rules  []Rule
	fields []FieldRule
}

// FieldRule maps validation errors that carry a field name and a stable
// code as data (as the domain packages' FieldError structs do) to messages.
// Extract recognises one error (not a tree: the map walks joined errors
// itself).
type FieldRule struct {
	Extract func(err error) (field, code string, ok bool)
	// Messages by code; a code not listed shows "Nilai tidak sah".
	Messages map[string]i18n.Text
	// Status defaults to 422.
	Status int
	// CodePrefix makes the stable API code: prefix + code
	// ("account." + "too_short").
	CodePrefix string
}

// AddFieldRules registers field rules. Not safe while serving.
func (m *ErrorMap) AddFieldRules(rules ...FieldRule) {
	for _, r := range rules {
		if r.Extract == nil {
			panic("httpx: field rule without Extract")
		}
		if r.Status == 0 {
			r.Status = http.StatusUnprocessableEntity
		}
		m.fields = append(m.fields, r)
	}
}

// NewErrorMap builds the map from the rule tables of every flow. Earlier
// rules win, so flow rules take precedence over the built-in ones.
func NewErrorMap(tables ...[]Rule) *ErrorMap {
	m := &ErrorMap{}
	for _, t := range tables {
		for _, r := range t {
			if r.Err == nil && r.Match == nil {
				panic("httpx: rule " + r.Code + " matches nothing")
			}
			if r.Status < 400 || r.Status > 599 || r.Code == "" {
				panic("httpx: rule " + r.Code + " needs an error status and a code")
			}
			m.rules = append(m.rules, r)
		}
	}
	m.rules = append(m.rules, builtinRules...)
	return m
}

// Add appends more rules (a flow registering its table at mount time).
// Not safe for use while requests are being served.
func (m *ErrorMap) Add(rules ...Rule) {
	n := len(m.rules) - len(builtinRules)
	merged := append(append(append([]Rule{}, m.rules[:n]...), rules...), builtinRules...)
	m.rules = merged
}

var builtinRules = append(append([]Rule{}, jsonRules...), []Rule{
	// Before ErrBadRequest: a form parser joins the two.
	{Err: ErrBodyTimeout, Status: http.StatusRequestTimeout, Code: "body_timeout", Key: "err.body_timeout"},
	{Err: ErrNotFound, Status: http.StatusNotFound, Code: "not_found", Key: "err.not_found"},
	{Err: ErrMethodNotAllowed, Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Key: "err.method"},
	{Err: ErrForbidden, Status: http.StatusForbidden, Code: "forbidden", Key: "err.forbidden"},
	{Err: ErrCSRF, Status: http.StatusForbidden, Code: "csrf", Key: "err.csrf"},
	{Err: ErrLoginRequired, Status: http.StatusUnauthorized, Code: "login_required", Key: "err.login_required"},
	{Err: ErrTOTPRequired, Status: http.StatusForbidden, Code: "totp_required", Key: "err.totp_required"},
	{Err: ErrPasswordChangeRequired, Status: http.StatusForbidden, Code: "password_change_required", Key: "acct.password.must_change"},
	{Err: ErrTooManyAttempts, Status: http.StatusTooManyRequests, Code: "too_many_attempts", Key: "err.too_many"},
	{Err: ErrBadRequest, Status: http.StatusBadRequest, Code: "bad_request", Key: "err.bad_request"},
	{Err: ErrUnavailable, Status: http.StatusServiceUnavailable, Code: "unavailable", Key: "err.unavailable"},
	// The read store's server did not answer: try again, not a bug.
	{Err: projections.ErrUnavailable, Status: http.StatusServiceUnavailable, Code: "unavailable", Key: "err.unavailable"},
	{Err: ErrReport, Status: http.StatusInternalServerError, Code: "report_failed", Key: "err.report"},
	{Match: isTooLarge, Status: http.StatusRequestEntityTooLarge, Code: "too_large", Key: "err.too_large"},
	{Match: isMalformedJSON, Status: http.StatusBadRequest, Code: "malformed_json", Key: "err.malformed_json"},
	{Err: context.DeadlineExceeded, Status: http.StatusServiceUnavailable, Code: "unavailable", Key: "err.unavailable"},
	// The client went away; nobody reads this answer, but it is not ours
	// to log as a fault. 499 is nginx's "client closed request".
	{Err: context.Canceled, Status: 499, Code: "client_closed", Key: "err.bad_request"},
}...)

func isTooLarge(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}

func isMalformedJSON(err error) bool {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	return errors.As(err, &se) || errors.As(err, &te) || errors.Is(err, io.ErrUnexpectedEOF)
}

// Map turns err into the Problem to show. It never fails: an error nobody
// registered is an internal fault (500).
func (m *ErrorMap) Map(err error) Problem {
	// Field rules first: a domain FieldError is more specific than any
	// sentinel it also matches (e.g. account.ErrInvalid).
	if fp, ok := m.firstField(err); ok {
		return fp
	}
	var p Problem
	matched := false
	for _, r := range m.rules {
		if (r.Match != nil && r.Match(err)) || (r.Match == nil && errors.Is(err, r.Err)) {
			p = Problem{Status: r.Status, Code: r.Code, Message: r.Text, Field: r.Field}
			if r.Key != "" {
				p.Message = i18n.Get(r.Key)
			}
			matched = true
			break
		}
	}
	var fe interface{ Field() string }
	hasField := errors.As(err, &fe) && fe.Field() != ""
	switch {
	case matched:
	case hasField:
		// A validation error nobody wrote a message for: still the user's
		// to fix, never a 500.
		p = Problem{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: i18n.Get("err.invalid")}
	default:
		p = Problem{Status: http.StatusInternalServerError, Code: "internal", Message: i18n.Get("err.system")}
	}
	if hasField && p.UserError() {
		p.Field = fe.Field()
	}
	if p.Status == http.StatusTooManyRequests {
		p.RetryAfter = time.Minute
		var tm *TooManyError
		if errors.As(err, &tm) {
			p.RetryAfter = tm.RetryAfter
		}
		if p.Code == "too_many_attempts" {
			mins := max(int(math.Ceil(p.RetryAfter.Minutes())), 1)
			p.Message = i18n.Getf("err.too_many", mins)
		}
	}
	p.Internal = p.Status >= 500
	return p
}

// fieldOf reads the field of one error (not its chain): a Field() method or
// a registered FieldRule.
func (m *ErrorMap) fieldOf(err error) (Problem, bool) {
	for _, r := range m.fields {
		if field, code, ok := r.Extract(err); ok {
			msg, known := r.Messages[code]
			if !known {
				msg = i18n.Get("err.invalid")
			}
			return Problem{Status: r.Status, Code: r.CodePrefix + code, Message: msg, Field: field}, true
		}
	}
	return Problem{}, false
}

// firstField finds the first error in err's tree that a FieldRule
// recognises.
func (m *ErrorMap) firstField(err error) (Problem, bool) {
	if len(m.fields) == 0 {
		return Problem{}, false
	}
	var found Problem
	ok := false
	walkErrors(err, func(e error) bool {
		found, ok = m.fieldOf(e)
		return !ok
	})
	return found, ok
}

// FieldProblems lists every field error in err's tree (errors.Join, a
// domain's FieldErrors slice, wrapped errors), first per field, in order:
// a form shows them all at once. Errors with a Field() method use the rule
// table for their message, like Map.
func (m *ErrorMap) FieldProblems(err error) []Problem {
	var out []Problem
	seen := map[string]bool{}
	walkErrors(err, func(e error) bool {
		p, ok := m.fieldOf(e)
		if !ok {
			if fe, isField := e.(interface{ Field() string }); isField && fe.Field() != "" {
				p, ok = m.Map(e), true
				p.Field = fe.Field()
			}
		}
		if ok && p.UserError() && !seen[p.Field] {
			seen[p.Field] = true
			out = append(out, p)
		}
		return true
	})
	return out
}

// walkErrors visits err and everything it wraps, depth first, until visit
// returns false.
func walkErrors(err error, visit func(error) bool) bool {
	if err == nil {
		return true
	}
	if !visit(err) {
		return false
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if !walkErrors(e, visit) {
				return false
			}
		}
	case interface{ Unwrap() error }:
		return walkErrors(u.Unwrap(), visit)
	}
	return true
}
