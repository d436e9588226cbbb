package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/projections"
)

// Errors as a domain package would declare them.
var (
	errLocked     = errors.New("account: locked")
	errBadDomain  = errors.New("account: e-mail domain not allowed")
	errNoEmployee = errors.New("account: not in the employee master")
)

type domainFieldErr struct {
	field string
	err   error
}

func (e domainFieldErr) Error() string { return e.field + ": " + e.err.Error() }
func (e domainFieldErr) Field() string { return e.field }
func (e domainFieldErr) Unwrap() error { return e.err }

func testMap() *ErrorMap {
	return NewErrorMap([]Rule{
		{Err: errLocked, Status: http.StatusLocked, Code: "account.locked", Key: "err.locked"},
		{Err: errBadDomain, Status: http.StatusUnprocessableEntity, Code: "account.email_domain",
			Text: i18n.Text{MS: "Domain emel tidak dibenarkan", EN: "E-mail domain not allowed"}},
		{Err: errNoEmployee, Status: http.StatusUnprocessableEntity, Code: "account.not_registrable", Key: "err.register_failed"},
	})
}

func TestMapDomainErrors(t *testing.T) {
	m := testMap()
	p := m.Map(fmt.Errorf("login: %w", errLocked))
	if p.Status != 423 || p.Code != "account.locked" || p.Internal || p.Incident != "" {
		t.Fatalf("wrapped sentinel: %+v", p)
	}
	if p.Message.MS != i18n.T(i18n.MS, "err.locked") {
		t.Fatalf("message %q", p.Message.MS)
	}
	p = m.Map(errNoEmployee)
	if p.Message.MS != "Pengguna Tidak Dapat Didaftarkan, Sila Hubungi Pentadbir Sistem" || p.Field != "" {
		t.Fatalf("registration failure: %+v", p)
	}
}

func TestMapFieldErrors(t *testing.T) {
	m := testMap()
	// A domain type with Field() and a registered cause: that rule's text, that field.
	p := m.Map(domainFieldErr{"email", errBadDomain})
	if p.Status != 422 || p.Field != "email" || p.Code != "account.email_domain" || p.Message.EN != "E-mail domain not allowed" {
		t.Fatalf("domain field error: %+v", p)
	}
	// httpx.FieldError wrapping an unregistered cause: still the user's, never 500.
	p = m.Map(&FieldError{Name: "phone", Err: errors.New("phone: too short")})
	if p.Status != 422 || p.Field != "phone" || p.Code != "invalid" || p.Internal {
		t.Fatalf("unregistered field error: %+v", p)
	}
}

// A rule may name the field a sentinel is about; an error that names its
// own field wins.
func TestRuleNamesTheField(t *testing.T) {
	errGone := errors.New("employee: no staff record")
	m := NewErrorMap([]Rule{{Err: errGone, Status: http.StatusNotFound, Code: "employee.not_found", Field: "ic",
		Text: i18n.Text{MS: "Tiada rekod", EN: "No record"}}})
	if p := m.Map(fmt.Errorf("put: %w", errGone)); p.Status != 404 || p.Field != "ic" {
		t.Fatalf("sentinel: %+v", p)
	}
	if p := m.Map(domainFieldErr{"staff_ic", errGone}); p.Field != "staff_ic" {
		t.Fatalf("error with its own field: %+v", p)
	}
}

func TestMapBuiltins(t *testing.T) {
	m := testMap()
	cases := []struct {
		err    error
		status int
		code   string
	}{
		{ErrNotFound, 404, "not_found"},
		{ErrCSRF, 403, "csrf"},
		{ErrLoginRequired, 401, "login_required"},
		{ErrTOTPRequired, 403, "totp_required"},
		{ErrMethodNotAllowed, 405, "method_not_allowed"},
		{&http.MaxBytesError{Limit: 10}, 413, "too_large"},
		{fmt.Errorf("decode: %w", json.Unmarshal([]byte(`{"a":1,}`), &struct{}{})), 400, "malformed_json"},
		{json.Unmarshal([]byte(`{"a":"x"}`), &struct{ A int }{}), 400, "malformed_json"},
		{json.NewDecoder(strings.NewReader(`{"a":`)).Decode(&struct{}{}), 400, "malformed_json"},
		{context.DeadlineExceeded, 503, "unavailable"},
		{fmt.Errorf("readstore/mongo: get x/1: %w: %w", projections.ErrUnavailable, io.EOF), 503, "unavailable"},
		{ErrReport, 500, "report_failed"},
		{errors.New("sql: connection refused"), 500, "internal"},
	}
	for _, c := range cases {
		p := m.Map(c.err)
		if p.Status != c.status || p.Code != c.code {
			t.Errorf("%v: got %d %s, want %d %s", c.err, p.Status, p.Code, c.status, c.code)
		}
		if p.Internal != (c.status >= 500) {
			t.Errorf("%v: internal = %v", c.err, p.Internal)
		}
		if p.Message.IsZero() {
			t.Errorf("%v: no message", c.err)
		}
	}
	if p := m.Map(ErrReport); p.Message.MS != "Laporan tidak dapat dipaparkan" {
		t.Errorf("report message %q", p.Message.MS)
	}
	if p := m.Map(errors.New("boom")); p.Message.MS != "Sistem tidak dapat diakses" {
		t.Errorf("internal message %q", p.Message.MS)
	}
}

func TestMapTooMany(t *testing.T) {
	p := testMap().Map(fmt.Errorf("login: %w", &TooManyError{RetryAfter: 150 * time.Second}))
	if p.Status != 429 || p.RetryAfter != 150*time.Second {
		t.Fatalf("%+v", p)
	}
	if !strings.Contains(p.Message.MS, "3 minit") || !strings.Contains(p.Message.EN, "3 minutes") {
		t.Fatalf("message %+v", p.Message)
	}
}

func TestRuleOrderFlowsFirst(t *testing.T) {
	m := NewErrorMap([]Rule{{Err: ErrNotFound, Status: 410, Code: "gone", Key: "err.not_found"}})
	if p := m.Map(ErrNotFound); p.Status != 410 {
		t.Fatalf("flow rule did not take precedence: %+v", p)
	}
	m.Add(Rule{Err: errLocked, Status: 423, Code: "locked", Key: "err.locked"})
	if p := m.Map(errLocked); p.Status != 423 {
		t.Fatalf("added rule: %+v", p)
	}
	if p := m.Map(ErrCSRF); p.Status != 403 {
		t.Fatalf("builtins lost after Add: %+v", p)
	}
}

func TestBadRulePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a rule with a 2xx status was accepted")
		}
	}()
	NewErrorMap([]Rule{{Err: errLocked, Status: 200, Code: "x"}})
}

func TestIncidentID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewIncidentID()
		if len(id) != 9 || id[4] != '-' || strings.ContainsAny(id, "ILOU") {
			t.Fatalf("bad incident ID %q", id)
		}
		seen[id] = true
	}
	if len(seen) < 990 {
		t.Fatalf("only %d distinct IDs in 1000", len(seen))
	}
}

// A domain validation error shaped like account.FieldError: field and code
// as data, several joined in a slice type.
type shapedFieldError struct{ F, Code, Reason string }

func (e *shapedFieldError) Error() string        { return "account: " + e.F + ": " + e.Reason }
func (e *shapedFieldError) Is(target error) bool { return target == errInvalid }

type shapedFieldErrors []*shapedFieldError

func (fe shapedFieldErrors) Error() string { return "account: several" }
func (fe shapedFieldErrors) Unwrap() []error {
	out := make([]error, len(fe))
	for i, e := range fe {
		out[i] = e
	}
	return out
}

var errInvalid = errors.New("account: invalid input")

func TestFieldRules(t *testing.T) {
	m := NewErrorMap([]Rule{{Err: errInvalid, Status: 400, Code: "account.invalid", Key: "err.invalid"}})
	m.AddFieldRules(FieldRule{
		Extract: func(err error) (string, string, bool) {
			fe, ok := err.(*shapedFieldError)
			if !ok {
				return "", "", false
			}
			return fe.F, fe.Code, true
		},
		Messages:   map[string]i18n.Text{"too_short": {MS: "Terlalu pendek", EN: "Too short"}},
		CodePrefix: "account.",
	})
	err := fmt.Errorf("activate: %w", shapedFieldErrors{
		{F: "password", Code: "too_short", Reason: "at least 8 characters"},
		{F: "phrase", Code: "weird", Reason: "?"},
		{F: "password", Code: "common", Reason: "too common"},
	})
	p := m.Map(err)
	if p.Status != 422 || p.Field != "password" || p.Code != "account.too_short" || p.Message.EN != "Too short" {
		t.Fatalf("Map: %+v", p)
	}
	all := m.FieldProblems(errors.Join(err, &FieldError{Name: "email", Err: errBadDomain}))
	if len(all) != 3 {
		t.Fatalf("FieldProblems: %+v", all)
	}
	if all[1].Field != "phrase" || all[1].Code != "account.weird" || all[1].Message.MS != "Nilai tidak sah" {
		t.Fatalf("unknown code: %+v", all[1])
	}
	if all[2].Field != "email" || all[2].Status != 422 {
		t.Fatalf("Field() error in the same tree: %+v", all[2])
	}
	if got := m.FieldProblems(errLocked); len(got) != 0 {
		t.Fatalf("no field in a plain sentinel: %+v", got)
	}
}
