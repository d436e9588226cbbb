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

// Clip shortens an input value echoed in an error or a report to 40
// characters, so a hostile 10 kB value never fills a page or a screen,
// nor is cut inside a character; control characters (line and paragraph
// separators too) become '?' and invalid UTF-8 '\uFFFD', so an echoed
// value cannot send escape sequences to the terminal that shows it.
func Clip(s string) string {
	const max = 40
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return '?'
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max]) + "…"
}
