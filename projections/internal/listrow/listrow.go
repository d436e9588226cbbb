// Package listrow is the compact form of the list documents of the
// payments and statements views: a JSON array of strings and whole numbers
// in a fixed order, led by the layout's version. A list page decodes a
// few dozen of them per request, so they are read by this small scanner
// instead of by reflection; the body stays valid JSON for every read
// store.
package listrow

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// ErrLayout: the body is not a row of the expected layout (a store written
// by another version of the projector: rebuild it).
var ErrLayout = errors.New("listrow: not a list row of this layout (rebuild the projection)")

// Writer builds a row.
type Writer struct{ b []byte }

// NewWriter starts a row of layout version v.
func NewWriter(v int64, size int) *Writer {
	w := &Writer{b: make([]byte, 0, size)}
	w.b = append(w.b, '[')
	w.b = strconv.AppendInt(w.b, v, 10)
	return w
}

// Str appends a string.
func (w *Writer) Str(s string) *Writer {
	w.b = append(w.b, ',')
	w.b = appendString(w.b, s)
	return w
}

// Int appends a whole number.
func (w *Writer) Int(n int64) *Writer {
	w.b = append(w.b, ',')
	w.b = strconv.AppendInt(w.b, n, 10)
	return w
}

// Bytes ends the row and returns it.
func (w *Writer) Bytes() []byte { return append(w.b, ']') }

const hex = "0123456789abcdef"

// appendString writes s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Reader reads a row back, field by field in the order written. The first
// error sticks: check Err once at the end.
type Reader struct {
	s   string // the whole body, once: every field is a substring of it
	i   int
	err error
}

// NewReader opens body as a row and checks its layout version. The
// strings read share body's memory rather than copying it (a list page's
// bodies were a tenth of its allocation): body must not change afterwards,
// which holds for a body the read store returned, the caller's own copy.
func NewReader(body []byte, v int64) Reader {
	r := Reader{s: unsafe.String(unsafe.SliceData(body), len(body))}
	r.ws()
	if r.i >= len(r.s) || r.s[r.i] != '[' {
		r.err = ErrLayout
		return r
	}
	r.i++
	r.ws()
	if got := r.num(); r.err == nil && got != v {
		r.err = ErrLayout
	}
	return r
}

func (r *Reader) ws() {
	for r.i < len(r.s) {
		switch r.s[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// next moves past the separator before a field.
func (r *Reader) next() bool {
	if r.err != nil {
		return false
	}
	r.ws()
	if r.i >= len(r.s) || r.s[r.i] != ',' {
		r.err = ErrLayout
		return false
	}
	r.i++
	r.ws()
	return true
}

// Str reads a string field.
func (r *Reader) Str() string {
	if !r.next() {
		return ""
	}
	if r.i >= len(r.s) || r.s[r.i] != '"' {
		r.err = ErrLayout
		return ""
	}
	start, escaped := r.i, false
	for j := r.i + 1; j < len(r.s); j++ {
		switch r.s[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			r.i = j + 1
			if !escaped {
				return r.s[start+1 : j]
			}
			var out string // rare: let encoding/json undo the escapes
			if err := json.Unmarshal([]byte(r.s[start:j+1]), &out); err != nil {
				r.err = ErrLayout
			}
			return out
		}
	}
	r.err = ErrLayout
	return ""
}

// Int reads a whole-number field.
func (r *Reader) Int() int64 {
	if !r.next() {
		return 0
	}
	return r.num()
}

func (r *Reader) num() int64 {
	start := r.i
	if r.i < len(r.s) && r.s[r.i] == '-' {
		r.i++
	}
	digits := r.i
	var n int64
	for r.i < len(r.s) && r.s[r.i] >= '0' && r.s[r.i] <= '9' {
		n = n*10 + int64(r.s[r.i]-'0')
		r.i++
	}
	// Up to 18 digits cannot overflow: the common case needs no parse.
	if d := r.i - digits; d > 0 && d <= 18 {
		if start != digits {
			n = -n
		}
		return n
	}
	n, err := strconv.ParseInt(r.s[start:r.i], 10, 64)
	if err != nil {
		r.err = ErrLayout
	}
	return n
}

// Err ends the row: the first error met, or a row with fields left over.
func (r *Reader) Err() error {
	if r.err != nil {
		return r.err
	}
	r.ws()
	if r.i >= len(r.s) || r.s[r.i] != ']' {
		return ErrLayout
	}
	r.i++
	r.ws()
	if r.i != len(r.s) {
		return ErrLayout
	}
	return nil
}
