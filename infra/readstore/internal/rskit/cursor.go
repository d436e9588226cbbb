package rskit

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/melaka-gov/ispeks/projections"
)

// Cursor is the position after the last document of a page: its sort key
// (nil, int64 or string) and its ID, plus the fingerprint of the query it
// belongs to. Encoded it is opaque to callers (URL-safe base64 of a small
// binary record).
type Cursor struct {
	Shape uint64
	Key   any
	ID    string
}

const cursorV1 = 1

const (
	kindNil byte = iota
	kindInt
	kindString
)

// Encode renders the cursor.
func (c Cursor) Encode() string {
	b := make([]byte, 0, 32+len(c.ID))
	b = append(b, cursorV1)
	b = binary.BigEndian.AppendUint64(b, c.Shape)
	switch k := c.Key.(type) {
	case int64:
		b = append(b, kindInt)
		b = binary.BigEndian.AppendUint64(b, uint64(k))
	case string:
		b = append(b, kindString)
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
	default:
		b = append(b, kindNil)
	}
	b = binary.AppendUvarint(b, uint64(len(c.ID)))
	b = append(b, c.ID...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func badCursor(why string) error {
	return fmt.Errorf("readstore: %s: %w", why, projections.ErrBadCursor)
}

// DecodeCursor parses an encoded cursor; anything malformed is ErrBadCursor.
func DecodeCursor(s string) (Cursor, error) {
	if len(s) > 4*(MaxIDBytes+MaxStringField+64)/3 {
		return Cursor{}, badCursor("cursor too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, badCursor("cursor is not base64url")
	}
	if len(b) < 10 || b[0] != cursorV1 {
		return Cursor{}, badCursor("cursor has an unknown format")
	}
	c := Cursor{Shape: binary.BigEndian.Uint64(b[1:9])}
	kind, b := b[9], b[10:]
	readString := func(max int) (string, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(max) || uint64(len(b)-k) < n {
			return "", false
		}
		v := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return v, utf8.ValidString(v)
	}
	switch kind {
	case kindNil:
	case kindInt:
		if len(b) < 8 {
			return Cursor{}, badCursor("cursor is truncated")
		}
		c.Key = int64(binary.BigEndian.Uint64(b))
		b = b[8:]
	case kindString:
		v, ok := readString(MaxStringField)
		if !ok {
			return Cursor{}, badCursor("cursor has a malformed sort key")
		}
		c.Key = v
	default:
		return Cursor{}, badCursor("cursor has an unknown key kind")
	}
	id, ok := readString(MaxIDBytes)
	if !ok || id == "" {
		return Cursor{}, badCursor("cursor has a malformed id")
	}
	if len(b) != 0 {
		return Cursor{}, badCursor("cursor has trailing bytes")
	}
	c.ID = id
	return c, nil
}
