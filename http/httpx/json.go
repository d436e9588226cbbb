package httpx

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Errors of DecodeJSON, wrapped in a *FieldError naming the field.
var (
	ErrUnknownField   = errors.New("httpx: unknown JSON field")
	ErrJSONType       = errors.New("httpx: JSON value of the wrong type")
	ErrDuplicateField = errors.New("httpx: JSON member appears twice")
)

// ErrMalformedJSON is DecodeJSON's answer to a body that is not one JSON
// object.
var ErrMalformedJSON = errors.New("httpx: malformed JSON")

// ErrInvalidUTF8 is DecodeJSON's answer to a body that is not UTF-8 (JSON
// text must be): encoding/json would turn the bad bytes into U+FFFD and
// the domain's own UTF-8 checks would never see them.
var ErrInvalidUTF8 = errors.New("httpx: JSON text is not valid UTF-8")

// jsonRules are the messages of DecodeJSON's errors; NewErrorMap includes
// them.
var jsonRules = []Rule{
	{Err: ErrUnknownField, Status: http.StatusBadRequest, Code: "unknown_field", Key: "err.unknown_field"},
	{Err: ErrJSONType, Status: http.StatusBadRequest, Code: "invalid_type", Key: "err.invalid_type"},
	// malformed_json, as the payment writes and batch lines answer it.
	{Err: ErrDuplicateField, Status: http.StatusBadRequest, Code: "malformed_json", Key: "err.duplicate_field"},
	{Err: ErrMalformedJSON, Status: http.StatusBadRequest, Code: "malformed_json", Key: "err.malformed_json"},
	{Err: ErrInvalidUTF8, Status: http.StatusBadRequest, Code: "malformed_json", Key: "err.malformed_json"},
}

// DecodeJSON reads exactly one JSON object from the request body into v.
// Unknown fields, a member twice, member names in another case, values of
// the wrong type, trailing data, bytes that are not UTF-8 and an empty body
// are refused with an error the ErrorMap answers with 400 (naming the field
// where there is one); a body over the limit with 413. It decodes as the
// payment writes and batch lines do (go-json-experiment/json): with
// encoding/json, {"name":"A","name":"B"} stored B and "NAME" was taken for
// "name". API handlers use it instead of c.ShouldBindJSON so every endpoint
// refuses bad input the same way. The body is read whole (it is bounded by
// BodyLimit) to check its encoding before anything is decoded.
func DecodeJSON(c *gin.Context, v any) error {
	body, err := io.ReadAll(c.Request.Body)
	if mb := (*http.MaxBytesError)(nil); errors.As(err, &mb) {
		return err // 413
	}
	if errors.Is(err, ErrBodyTimeout) {
		return err // 408, as for a form
	}
	if err != nil {
		// The client stopped sending: not the server's failure (a 500 in
		// the log), and the answer may never arrive.
		return errors.Join(ErrBadRequest, errors.New("body not received whole"))
	}
	if !utf8.Valid(body) || hasLoneSurrogate(body) {
		return ErrInvalidUTF8
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return errors.Join(ErrBadRequest, errors.New("empty body"))
	}
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	if err := json.UnmarshalDecode(dec, v, json.RejectUnknownMembers(true)); err != nil {
		return decodeError(err)
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return errors.Join(ErrBadRequest, errors.New("data after the JSON object"))
	}
	return nil
}

// decodeError names the member a decoding error is about, where there is
// one. The decoder's own text stays out of the answer.
func decodeError(err error) error {
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	switch {
	case errors.As(err, &syn) && errors.Is(syn.Err, jsontext.ErrDuplicateName):
		return &FieldError{Name: memberPath(syn.JSONPointer), Err: ErrDuplicateField}
	case errors.As(err, &sem) && errors.Is(sem.Err, json.ErrUnknownName):
		return &FieldError{Name: memberPath(sem.JSONPointer), Err: ErrUnknownField}
	case errors.As(err, &sem) && memberPath(sem.JSONPointer) != "":
		return &FieldError{Name: memberPath(sem.JSONPointer), Err: ErrJSONType}
	}
	return errors.Join(ErrMalformedJSON, err) // syntax, or not an object at all
}

// memberPath turns "/earnings/2/amount_sen" into "earnings.2.amount_sen".
func memberPath(p jsontext.Pointer) string {
	var toks []string
	for tok := range p.Tokens() {
		toks = append(toks, tok)
	}
	return strings.Join(toks, ".")
}

// hasLoneSurrogate reports a \uD800–\uDFFF escape that is not half of a
// pair (a high one followed at once by an escaped low one): the text is
// valid UTF-8, yet encoding/json turns the escape into U+FFFD, as it does
// bad bytes. Escapes stand only inside strings; an escaped backslash is
// skipped whole, so "\\ud800" is no escape.
func hasLoneSurrogate(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if i+1 >= len(b) || b[i+1] != 'u' {
			i++ // a two-byte escape, or the end
			continue
		}
		r, ok := hex4(b, i+2)
		if !ok {
			i++ // malformed: the decoder says so
			continue
		}
		i += 5
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return true // a low half first
		case r >= 0xD800 && r <= 0xDBFF:
			if i+6 >= len(b) || b[i+1] != '\\' || b[i+2] != 'u' {
				return true
			}
			lo, ok := hex4(b, i+3)
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 6
		}
	}
	return false
}

// hex4 reads four hex digits at b[at:].
func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
