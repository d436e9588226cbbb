package sqlite

import (
	"encoding/json"
	"errors"
	"unicode/utf8"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// The metadata column holds eventlog.Metadata as JSON without prev and hash
// (those have columns of their own). Encoding and decoding it is on the hot
// path of every append and every read, so both are written out by hand for
// the shape this store writes, producing exactly the bytes encoding/json
// would and falling back to encoding/json for anything else (escapes, a
// hand-edited row).

// appendMeta appends m (Prev and Hash ignored) as encoding/json would
// marshal it.
func appendMeta(b []byte, m *eventlog.Metadata) []byte {
	b = append(b, '{')
	sep := false
	b, sep = appendField(b, sep, `"correlation_id":`, m.CorrelationID, true)
	b, sep = appendField(b, sep, `"causation_id":`, m.CausationID, true)
	if sep {
		b = append(b, ',')
	}
	b = append(b, `"actor":{`...)
	b, sep = appendField(b, false, `"kind":`, m.Actor.Kind, false)
	b, _ = appendField(b, sep, `"id":`, m.Actor.ID, true)
	b = append(b, '}')
	b, _ = appendField(b, true, `"source_ip":`, m.SourceIP, true)
	b, _ = appendField(b, true, `"user_agent":`, m.UserAgent, true)
	return append(b, '}')
}

// appendField appends one "key":value pair, preceded by a comma when sep;
// it reports whether the next field needs a comma.
func appendField(b []byte, sep bool, key, val string, omitEmpty bool) ([]byte, bool) {
	if omitEmpty && val == "" {
		return b, sep
	}
	if sep {
		b = append(b, ',')
	}
	b = append(b, key...)
	return appendJSONString(b, val), true
}

// appendJSONString quotes s. Strings that encoding/json would escape take
// the slow path through it, so the bytes always match its output.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= utf8.RuneSelf {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

var errSlowPath = errors.New("metadata needs the general decoder")

// decodeMeta reads the metadata column into m (Prev and Hash untouched).
func decodeMeta(b []byte, m *eventlog.Metadata) error {
	if err := decodeMetaFast(b, m); err == nil {
		return nil
	}
	var full eventlog.Metadata
	if err := json.Unmarshal(b, &full); err != nil {
		return err
	}
	full.Prev, full.Hash = m.Prev, m.Hash
	*m = full
	return nil
}

// decodeMetaFast parses exactly what appendMeta writes when no string needs
// escaping; anything else gives errSlowPath.
func decodeMetaFast(b []byte, m *eventlog.Metadata) error {
	var out eventlog.Metadata
	// One string for the whole column; the fields are slices of it.
	all := string(b)
	i := 0
	str := func() (string, bool) {
		if i >= len(all) || all[i] != '"' {
			return "", false
		}
		j := i + 1
		for j < len(all) && all[j] != '"' {
			if all[j] == '\\' || all[j] < 0x20 {
				return "", false
			}
			j++
		}
		if j >= len(all) {
			return "", false
		}
		s := all[i+1 : j]
		i = j + 1
		return s, true
	}
	expect := func(c byte) bool {
		if i < len(all) && all[i] == c {
			i++
			return true
		}
		return false
	}
	var object func(actor bool) bool
	object = func(actor bool) bool {
		if !expect('{') {
			return false
		}
		if expect('}') {
			return true
		}
		for {
			key, ok := str()
			if !ok || !expect(':') {
				return false
			}
			if !actor && key == "actor" {
				if !object(true) {
					return false
				}
			} else {
				val, ok := str()
				if !ok {
					return false
				}
				var dst *string
				switch {
				case actor && key == "kind":
					dst = &out.Actor.Kind
				case actor && key == "id":
					dst = &out.Actor.ID
				case !actor && key == "correlation_id":
					dst = &out.CorrelationID
				case !actor && key == "causation_id":
					dst = &out.CausationID
				case !actor && key == "source_ip":
					dst = &out.SourceIP
				case !actor && key == "user_agent":
					dst = &out.UserAgent
				default:
					return false
				}
				*dst = val
			}
			if expect('}') {
				return true
			}
			if !expect(',') {
				return false
			}
		}
	}
	if !object(false) || i != len(all) || !utf8.ValidString(all) {
		return errSlowPath
	}
	out.Prev, out.Hash = m.Prev, m.Hash
	*m = out
	return nil
}
