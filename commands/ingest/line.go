package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/domain/textfield"
)

// Kind says what a line carries.
type Kind string

const (
	KindStatement           Kind = "statement"            // issue a statement: object "statement"
	KindStatementCorrection Kind = "statement_correction" // supersede one: object "correction"
	KindPayment             Kind = "payment"              // record a payment: object "payment"
	KindPaymentAmendment    Kind = "payment_amendment"    // amend one: object "amendment"
	KindPaymentStatus       Kind = "payment_status"       // move its status: object "change"
)

// Kinds lists every kind of line.
func Kinds() []Kind {
	return []Kind{KindStatement, KindStatementCorrection, KindPayment, KindPaymentAmendment, KindPaymentStatus}
}

// Scope is the API client scope a kind of line needs.
func (k Kind) Scope() string {
	switch k {
	case KindStatement, KindStatementCorrection:
		return "statements:write"
	default:
		return "payments:write"
	}
}

// object is the name of the member that carries a kind's body.
func (k Kind) object() string {
	switch k {
	case KindStatement:
		return "statement"
	case KindStatementCorrection:
		return "correction"
	case KindPayment:
		return "payment"
	case KindPaymentAmendment:
		return "amendment"
	case KindPaymentStatus:
		return "change"
	}
	return ""
}

// wire is one NDJSON line. Exactly the member named by Kind is present;
// decoding is strict (unknown members refused), so the pointers tell which
// member the client sent.
type wire struct {
	Kind       Kind             `json:"kind"`
	RequestID  string           `json:"request_id"`
	Statement  *statementInput  `json:"statement"`
	Correction *correctionInput `json:"correction"`
	Payment    *paymentInput    `json:"payment"`
	Amendment  *amendmentInput  `json:"amendment"`
	Change     *changeInput     `json:"change"`
}

type statementInput struct {
	StatementID string             `json:"statement_id"`
	Type        statement.Type     `json:"type"`
	Period      statement.Period   `json:"period"`
	Payee       statement.Payee    `json:"payee"`
	Employer    statement.Employer `json:"employer"`
	Earnings    []lineInput        `json:"earnings"`
	Deductions  []lineInput        `json:"deductions"`
	Totals      totalsInput        `json:"totals"`
	PayDate     string             `json:"pay_date"`
}

type correctionInput struct {
	statementInput
	Reason string `json:"reason"`
}

type lineInput struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	AmountSen sen    `json:"amount_sen"`
}

type totalsInput struct {
	EarningsSen   sen `json:"earnings_sen"`
	DeductionsSen sen `json:"deductions_sen"`
	NetSen        sen `json:"net_sen"`
}

type paymentInput struct {
	PaymentID    string         `json:"payment_id"`
	Module       payment.Module `json:"module"`
	Type         payment.Type   `json:"type"`
	VoucherNo    string         `json:"voucher_no"`
	VoucherDate  string         `json:"voucher_date"`
	Reference    string         `json:"reference"`
	Description  string         `json:"description"`
	AmountSen    sen            `json:"amount_sen"`
	PayeeIC      string         `json:"payee_ic"`
	ReceivedDate string         `json:"received_date"`
}

type amendmentInput struct {
	paymentInput
	Reason string `json:"reason"`
}

type changeInput struct {
	PaymentID string `json:"payment_id"`
	payment.Change
}

// sen is an amount of money in sen as it arrives: the JSON literal must be a
// whole number. UnmarshalJSON never fails, so that the error can name the
// field's full path (encoding/json does not annotate Unmarshaler errors).
type sen struct {
	v   int64
	set bool
	bad string
}

func (s *sen) UnmarshalJSON(b []byte) error {
	s.set = true
	if v, ok := smallWhole(b); ok {
		s.v = v
		return nil
	}
	switch {
	case len(b) == 0 || string(b) == "null":
		s.bad = "is required (a whole number of sen)"
	case b[0] == '"':
		s.bad = "must be a JSON number of sen, not a string"
	case bytes.ContainsAny(b, ".eE"):
		s.bad = "must be a whole number of sen, without a decimal point or exponent (RM 15.50 is 1550)"
	default:
		v, err := strconv.ParseInt(string(b), 10, 64)
		switch {
		case err != nil && errors.Is(err, strconv.ErrRange):
			s.bad = "is too large"
		case err != nil:
			s.bad = "must be a whole number of sen"
		case v < 0:
			s.bad = "must not be negative"
		default:
			s.v = v
		}
	}
	return nil
}

// smallWhole parses the common literal, up to 18 digits, without the
// allocation of strconv's string (ten or more amounts a line).
func smallWhole(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// get returns the amount, or the error naming path(), built only then.
func (s sen) get(path func() string) (int64, error) {
	if !s.set {
		return 0, &FieldError{Field: path(), Reason: "is required (a whole number of sen)"}
	}
	if s.bad != "" {
		return 0, &FieldError{Field: path(), Reason: s.bad}
	}
	return s.v, nil
}

// at is a constant path for sen.get.
func at(prefix, name string) func() string { return func() string { return prefix + name } }

// FieldError is a line's input error that is not the domain's: the JSON
// shape, the line envelope, money literals.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return "ingest: " + e.Reason
	}
	return "ingest: " + e.Field + ": " + e.Reason
}

// validRequestID: 1 to 128 of A-Z a-z 0-9 . _ : @ + = / - (a loop, not a
// regexp: it runs twice a line, and the regexp was ~2 % of ingestion's CPU).
func validRequestID(s string) bool {
	if len(s) < 1 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.' || c == '_' || c == ':' || c == '@' || c == '+' || c == '=' || c == '/' || c == '-':
		default:
			return false
		}
	}
	return true
}

// decodeLine decodes one line strictly: unknown or duplicate member names,
// member names in another case, invalid UTF-8 and anything after the
// object are refused (go-json-experiment/json, the encoding/json/v2
// candidate, with RejectUnknownMembers).
func decodeLine(b []byte) (wire, error) {
	var w wire
	if err := json.Unmarshal(b, &w, json.RejectUnknownMembers(true)); err != nil {
		return w, jsonError(err)
	}
	if w.Kind == "" {
		return w, &FieldError{Field: "kind", Reason: "is required; one of " + kindList()}
	}
	if w.Kind.object() == "" {
		return w, &FieldError{Field: "kind", Reason: fmt.Sprintf("unknown kind %q; one of %s", textfield.Clip(string(w.Kind)), kindList())}
	}
	if w.RequestID == "" {
		return w, &FieldError{Field: "request_id", Reason: "is required (the client's unique ID for this line, so a re-sent line is recognised)"}
	}
	if !validRequestID(w.RequestID) {
		return w, &FieldError{Field: "request_id", Reason: "must be 1 to 128 letters, digits or ._:@+=/-"}
	}
	present := [...]struct {
		name string
		ok   bool
	}{
		{"statement", w.Statement != nil}, {"correction", w.Correction != nil}, {"payment", w.Payment != nil},
		{"amendment", w.Amendment != nil}, {"change", w.Change != nil},
	}
	want := w.Kind.object()
	for _, p := range present {
		if p.name == want && !p.ok {
			return w, &FieldError{Field: want, Reason: fmt.Sprintf("is required for kind %s", w.Kind)}
		}
	}
	for _, p := range present {
		if name := p.name; name != want && p.ok {
			return w, &FieldError{Field: name, Reason: fmt.Sprintf("is not expected for kind %s (send it on its own line)", w.Kind)}
		}
	}
	return w, nil
}

func kindList() string {
	names := make([]string, 0, 5)
	for _, k := range Kinds() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

// jsonError turns the decoder's errors into field and reason.
func jsonError(err error) error {
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	switch {
	case errors.As(err, &syn):
		field := fieldPath(string(syn.JSONPointer))
		if errors.Is(syn.Err, jsontext.ErrDuplicateName) {
			return &FieldError{Field: field, Reason: "appears twice in one object"}
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return &FieldError{Reason: "malformed JSON: the line ends before the object does"}
		}
		msg := syn.Error()
		if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "jsontext:") {
			msg = msg[i+2:]
		}
		if strings.Contains(msg, "after top-level value") {
			return &FieldError{Reason: "malformed JSON: more than one value on the line (one JSON object per line)"}
		}
		return &FieldError{Reason: fmt.Sprintf("malformed JSON at byte %d: %s", syn.ByteOffset, msg)}
	case errors.As(err, &sem):
		field := fieldPath(string(sem.JSONPointer))
		if errors.Is(sem.Err, json.ErrUnknownName) {
			return &FieldError{Field: field, Reason: "unknown field (see docs/payments.md for the line format)"}
		}
		if field == "" {
			return &FieldError{Reason: "the line must be a JSON object"}
		}
		want := "value of another type"
		if sem.GoType != nil {
			want = jsonKind(sem.GoType.Kind().String())
		}
		got := "another type"
		switch sem.JSONKind {
		case '"':
			got = "a string"
		case '0':
			got = "a number"
			if want == "whole number" {
				return &FieldError{Field: field, Reason: "must be a whole number"}
			}
		case '{':
			got = "an object"
		case '[':
			got = "an array"
		case 't', 'f':
			got = "true/false"
		case 'n':
			got = "null"
		}
		return &FieldError{Field: field, Reason: fmt.Sprintf("must be a JSON %s, not %s", want, got)}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &FieldError{Reason: "malformed JSON: the line ends before the object does"}
	}
	return &FieldError{Reason: "malformed JSON"}
}

// fieldPath turns a JSON pointer into the dotted path errors name:
// "/statement/earnings/2/amount_sen" → "statement.earnings[2].amount_sen".
func fieldPath(ptr string) string {
	if ptr == "" {
		return ""
	}
	var b strings.Builder
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(textfield.Clip(tok))
	}
	return b.String()
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "int", "int64", "int32", "uint64":
		return "whole number"
	case "slice":
		return "array"
	case "struct", "map", "ptr":
		return "object"
	}
	return goKind
}

// content converts a statement body into the domain's content.
func (s statementInput) content(prefix string) (statement.Content, error) {
	c := statement.Content{
		Type: s.Type, Period: s.Period, Payee: s.Payee, Employer: s.Employer, PayDate: s.PayDate,
	}
	var err error
	if c.Earnings, err = convertLines(prefix+"earnings", s.Earnings); err != nil {
		return c, err
	}
	if c.Deductions, err = convertLines(prefix+"deductions", s.Deductions); err != nil {
		return c, err
	}
	if c.Totals.EarningsSen, err = s.Totals.EarningsSen.get(at(prefix, "totals.earnings_sen")); err != nil {
		return c, err
	}
	if c.Totals.DeductionsSen, err = s.Totals.DeductionsSen.get(at(prefix, "totals.deductions_sen")); err != nil {
		return c, err
	}
	if c.Totals.NetSen, err = s.Totals.NetSen.get(at(prefix, "totals.net_sen")); err != nil {
		return c, err
	}
	return c, nil
}

func convertLines(path string, in []lineInput) ([]statement.Line, error) {
	if len(in) > statement.MaxLines {
		return nil, &FieldError{Field: path, Reason: fmt.Sprintf("has %d lines (at most %d)", len(in), statement.MaxLines)}
	}
	out := make([]statement.Line, len(in))
	for i, l := range in {
		v, err := l.AmountSen.get(func() string { return fmt.Sprintf("%s[%d].amount_sen", path, i) })
		if err != nil {
			return nil, err
		}
		out[i] = statement.Line{Code: l.Code, Name: l.Name, AmountSen: v}
	}
	return out, nil
}

// patch converts a merge-patch amendment (line b, already decoded strictly
// into a) into the change it makes to the current details: only the
// members sent replace theirs (null clears one; a cleared received date
// keeps the current one, as a full amendment without one does).
func (a amendmentInput) patch(prefix string, b []byte) (func(payment.Details) payment.Details, error) {
	var members struct {
		Amendment map[string]jsontext.Value `json:"amendment"`
	}
	if err := json.Unmarshal(b, &members); err != nil {
		return nil, jsonError(err)
	}
	sent := func(name string) bool { _, ok := members.Amendment[name]; return ok }
	p := a.paymentInput
	var amount int64
	if sent("amount_sen") {
		var err error
		if amount, err = p.AmountSen.get(at(prefix, "amount_sen")); err != nil {
			return nil, err
		}
	}
	return func(d payment.Details) payment.Details {
		base := d.ReceivedDate
		set := func(name string, to *string, v string) {
			if sent(name) {
				*to = v
			}
		}
		set("voucher_no", &d.VoucherNo, p.VoucherNo)
		set("voucher_date", &d.VoucherDate, p.VoucherDate)
		set("reference", &d.Reference, p.Reference)
		set("description", &d.Description, p.Description)
		set("payee_ic", &d.PayeeIC, p.PayeeIC)
		set("received_date", &d.ReceivedDate, p.ReceivedDate)
		if sent("module") {
			d.Module = p.Module
		}
		if sent("type") {
			d.Type = p.Type
		}
		if sent("amount_sen") {
			d.AmountSen = amount
		}
		if d.ReceivedDate == "" {
			d.ReceivedDate = base
		}
		return d
	}, nil
}

func (p paymentInput) details(prefix string) (payment.Details, error) {
	d := payment.Details{
		Module: p.Module, Type: p.Type, VoucherNo: p.VoucherNo, VoucherDate: p.VoucherDate, Reference: p.Reference,
		Description: p.Description, PayeeIC: p.PayeeIC, ReceivedDate: p.ReceivedDate,
	}
	var err error
	d.AmountSen, err = p.AmountSen.get(at(prefix, "amount_sen"))
	return d, err
}
