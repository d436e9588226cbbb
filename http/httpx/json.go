package httpx

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// Errors of DecodeJSON, wrapped in a *FieldError naming the field.
var (
	ErrUnknownField = errors.New("httpx: unknown JSON field")
	ErrJSONType     = errors.New("httpx: JSON value of the wrong type")
)

// jsonRules are the messages of DecodeJSON's errors; NewErrorMap includes
// them.
var jsonRules = []Rule{
	{Err: ErrUnknownField, Status: http.StatusBadRequest, Code: "unknown_field", Key: "err.unknown_field"},
	{Err: ErrJSONType, Status: http.StatusBadRequest, Code: "invalid_type", Key: "err.invalid_type"},
}

// DecodeJSON reads exactly one JSON object from the request body into v.
// Unknown fields, values of the wrong type, trailing data and an empty
// body are refused with an error the ErrorMap answers with 400 (naming the
// field where there is one); a body over the limit with 413. API handlers
// use it instead of c.ShouldBindJSON so every endpoint refuses bad input
// the same way.
func DecodeJSON(c *gin.Context, v any) error {
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var mb *http.MaxBytesError
		switch {
		case errors.As(err, &mb):
			return err
		case errors.Is(err, io.EOF):
			return errors.Join(ErrBadRequest, errors.New("empty body"))
		case errors.As(err, &te) && te.Field != "":
			return &FieldError{Name: te.Field, Err: ErrJSONType}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return &FieldError{Name: name, Err: ErrUnknownField}
		}
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.Join(ErrBadRequest, errors.New("data after the JSON object"))
	}
	return nil
}
