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
	if !Visible(v) {
		return "", "shows nothing: only invisible characters"
	}
	return v, ""
}

// Hidden reports a character that changes or hides what a text shows
// without being seen itself: a control character, the line and paragraph
// separators (U+2028, U+2029), the direction embeddings, overrides and
// isolates (U+202A–U+202E, U+2066–U+2069: they turn the rest of a line
// around on a page, in a mail or on a terminal), the zero-width and
// invisible spaces and operators (U+200B, U+2060–U+2064, U+FEFF, U+180E),
// the fillers that show as blank (Hangul U+115F, U+1160, U+3164, U+FFA0;
// the blank braille pattern U+2800), and the annotation, tag and musical
// formatting characters. The joiners (U+200C, U+200D), the direction marks
// (U+200E, U+200F, U+061C: right in Jawi text, and pasted from word
// processors) and the soft hyphen stay: they hide nothing. Visible says
// whether a value shows anything at all.
func Hidden(r rune) bool {
	switch {
	case Control(r), TurnsText(r):
	case r == '\u200b', r >= '\u2060' && r <= '\u2064', r == '\ufeff', r == '\u180e':
	case r == '\u115f', r == '\u1160', r == '\u3164', r == '\uffa0', r == '\u2800':
	case r >= '\ufff9' && r <= '\ufffb', r >= 0xe0000 && r <= 0xe007f, r >= 0x1d173 && r <= 0x1d17a:
	default:
		return false
	}
	return true
}

// Visible reports whether s shows anything: a letter, digit, punctuation
// mark or symbol. A value of only spaces, joiners, marks or direction
// marks shows as blank, and a name made of them passes for nobody (or, on
// a page, for anyone).
func Visible(s string) bool {
	for _, r := range s {
		if !Hidden(r) && (unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsPunct(r) || unicode.IsSymbol(r)) {
			return true
		}
	}
	return false
}

// Control reports what a secret (a password, a secret answer) may not
// hold: a control character or a line or paragraph separator. Nothing
// else is refused in a secret by the domain: it is never shown, and a
// password set with any other character must still be typed in.
func Control(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }

// TurnsText reports a direction embedding, override or isolate
// (U+202A–U+202E, U+2066–U+2069): it turns the rest of a line around.
func TurnsText(r rune) bool { return r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069' }

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
		if Control(r) {
			return '?'
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max]) + "…"
}
