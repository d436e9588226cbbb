// Package textfield checks free-text fields of outside input the same way in
// every domain package: trimmed, valid UTF-8, bounded in characters, no
// control characters. Each package wraps the reason in its own field error.
package textfield

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Check trims v and returns it, or a reason it is refused ("" when it is
// fine). An empty value is refused only when required.
func Check(v string, max int, required bool) (string, string) {
	v = strings.TrimSpace(v)
	if v == "" {
		if required {
			return "", "is required"
		}
		return "", ""
	}
	if !utf8.ValidString(v) {
		return "", "is not valid UTF-8"
	}
	if n := utf8.RuneCountInString(v); n > max {
		return "", fmt.Sprintf("is %d characters long (at most %d)", n, max)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return "", "contains a control character"
		}
	}
	return v, ""
}

// Clip shortens an input value echoed in an error to 40 characters, so an
// error never carries a huge one, nor half a character.
func Clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	r := []rune(s)
	if len(r) > 40 {
		r = r[:40]
	}
	return string(r) + "…"
}
