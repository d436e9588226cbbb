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
		if Hidden(r) {
			return "", "contains a control or invisible character"
		}
	}
	return v, ""
}

// Hidden reports a character that changes or hides what a text shows
// without being seen itself: a control character, the line and paragraph
// separators (U+2028, U+2029), and every format character (Unicode Cf:
// direction marks, embeddings, overrides and isolates; zero-width spaces;
// the byte-order mark; the soft hyphen), except the zero-width non-joiner
// and joiner (U+200C, U+200D), which some scripts need inside words. A
// name, post or office made of them shows as blank or as another, and an
// override turns the rest of a line around on a page, in a mail or on a
// terminal.
func Hidden(r rune) bool {
	switch {
	case r == '\u200c' || r == '\u200d':
		return false
	case unicode.IsControl(r), r == '\u2028', r == '\u2029':
		return true
	}
	return unicode.Is(unicode.Cf, r)
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
