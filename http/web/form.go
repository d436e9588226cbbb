package web

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/domain/textfield"
	"github.com/melaka-gov/ispeks/http/i18n"
)

// Field declares one input of a form for ReadForm.
type Field struct {
	Name     string
	Label    string // catalog key of its label (used in the error summary)
	Required bool
	// Max is the longest value accepted, in characters (default 256).
	Max int
	// Secret fields (passwords, answers) are neither trimmed nor shown
	// back on the page.
	Secret bool
	// Multiline allows line breaks (a reason, an address).
	Multiline bool
	// RequiredKey is the catalog key of the message when a required field
	// is empty (default err.required, "Sila isi ruangan ini"): a choice
	// the person did not make says so ("Sila pilih satu imej").
	RequiredKey string
	// TooLongKey is the catalog key of the message when the value is over
	// Max (default err.too_long with Max): a field whose Max only stops
	// absurd input early names the policy's own limit instead.
	TooLongKey string
}

// DefaultMaxField is the default length limit of a field.
const DefaultMaxField = 256

// FieldProblem is one field's error, in form order.
type FieldProblem struct {
	Name    string
	Label   string // catalog key, may be empty
	Message i18n.Text
}

// Form holds a form's values and its per-field errors. Handlers read it
// with ReadForm, add errors with Fail (or through Site.Fail from a domain
// error), and hand it to the template in Page.Form; the "field" template
// shows each value with its label and its error beside it.
type Form struct {
	values map[string]string
	labels map[string]string
	secret map[string]bool
	errs   map[string]i18n.Text
	order  []string
	// Global is a form-level message (no single field at fault).
	Global *i18n.Text
}

// NewForm returns an empty form, optionally prefilled (e.g. the profile
// form from the read model).
func NewForm(values map[string]string) *Form {
	f := &Form{values: map[string]string{}, labels: map[string]string{}, secret: map[string]bool{}, errs: map[string]i18n.Text{}}
	for k, v := range values {
		f.values[k] = v
	}
	return f
}

// ReadForm reads the declared fields from the request's form body and
// checks what every field needs: valid UTF-8, no control characters, within
// its length, present if required. Values are trimmed unless secret. The
// handler then runs its own and the domain's checks.
func ReadForm(c *gin.Context, fields ...Field) *Form {
	f := NewForm(nil)
	for _, fd := range fields {
		raw := c.PostForm(fd.Name)
		f.labels[fd.Name] = fd.Label
		f.order = append(f.order, fd.Name)
		if fd.Secret {
			f.secret[fd.Name] = true
		} else {
			raw = strings.TrimSpace(raw)
		}
		max := fd.Max
		if max <= 0 {
			max = DefaultMaxField
		}
		switch {
		case !utf8.ValidString(raw) || hasControl(raw, fd.Multiline, fd.Secret):
			f.FailKey(fd.Name, "err.control_chars")
			raw = ""
		case utf8.RuneCountInString(raw) > max && fd.TooLongKey != "":
			f.FailKey(fd.Name, fd.TooLongKey)
			raw = truncate(raw, max)
		case utf8.RuneCountInString(raw) > max:
			f.Fail(fd.Name, i18n.Getf("err.too_long", max))
			raw = truncate(raw, max) // never echo 10 kB back into the page
		case raw == "" && fd.Required:
			key := fd.RequiredKey
			if key == "" {
				key = "err.required"
			}
			f.FailKey(fd.Name, key)
		}
		f.values[fd.Name] = raw
	}
	return f
}

// hasControl reports what a field may not hold. A shown value: what hides
// or turns text around (textfield.Hidden), or nothing visible at all. A
// secret (a password, a secret answer), never shown, only what it always
// refused: control characters, line and paragraph separators, direction
// embeddings, overrides and isolates; a password set with any other
// character must still be typed in.
func hasControl(s string, multiline, secret bool) bool {
	for _, r := range s {
		if multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if secret {
			if textfield.Control(r) || textfield.TurnsText(r) {
				return true
			}
			continue
		}
		if textfield.Hidden(r) {
			return true
		}
	}
	return !secret && strings.TrimSpace(s) != "" && !textfield.Visible(s)
}

func truncate(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// Get returns a field's value (secret ones too: the handler needs them).
func (f *Form) Get(name string) string { return f.values[name] }

// Set sets a field's value.
func (f *Form) Set(name, value string) { f.values[name] = value }

// Shown is the value to put back in the page: empty for secret fields.
func (f *Form) Shown(name string) string {
	if f == nil || f.secret[name] {
		return ""
	}
	return f.values[name]
}

// Fail records msg against field name (the first error of a field wins:
// it is usually the most basic one). An empty name makes it form-level.
func (f *Form) Fail(name string, msg i18n.Text) {
	if name == "" {
		if f.Global == nil {
			f.Global = &msg
		}
		return
	}
	if _, ok := f.errs[name]; ok {
		return
	}
	f.errs[name] = msg
	if !containsString(f.order, name) {
		f.order = append(f.order, name)
	}
}

// FailKey is Fail with a catalog key (and fmt args).
func (f *Form) FailKey(name, key string, args ...any) {
	if len(args) > 0 {
		f.Fail(name, i18n.Getf(key, args...))
		return
	}
	f.Fail(name, i18n.Get(key))
}

// Error returns the error of field name.
func (f *Form) Error(name string) (i18n.Text, bool) {
	if f == nil {
		return i18n.Text{}, false
	}
	t, ok := f.errs[name]
	return t, ok
}

// Valid reports whether no error was recorded.
func (f *Form) Valid() bool { return f == nil || (len(f.errs) == 0 && f.Global == nil) }

// Problems lists the field errors in form order (for the summary at the top
// of the form, whose links lead to each field).
func (f *Form) Problems() []FieldProblem {
	if f == nil {
		return nil
	}
	var out []FieldProblem
	for _, name := range f.order {
		if msg, ok := f.errs[name]; ok {
			out = append(out, FieldProblem{Name: name, Label: f.labels[name], Message: msg})
		}
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// String is for debugging in tests.
func (f *Form) String() string { return fmt.Sprintf("form%v errors%v", f.order, f.errs) }
