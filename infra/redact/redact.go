// Package redact keeps secrets and personal data out of messages and logs:
// URL hides the secrets of configured URLs (store, SMTP and NATS addresses)
// before they reach an error message or a log, the same way wherever one
// shows; Handler keeps IC numbers out of the process log.
package redact

import "strings"

// URL hides the user info of a URL (a password, or a token given as the
// user name, as nats://TOKEN@host allows): everything from the scheme to
// the last '@' becomes "xxxxx". It reads the text rather than url.Parse's
// result, because the passwords people type break URLs in ways that move
// the password out of url.URL.User: a space or a stray % (Parse fails, and
// its error repeats the URL), a '/' (read as port and path), a '#' (read as
// the fragment). Masking too much, where an '@' stands in a path or query,
// only shortens a message.
func URL(raw string) string {
	at := strings.LastIndexByte(raw, '@')
	if at < 0 {
		return raw
	}
	start := 0
	if i := strings.Index(raw[:at], "://"); i > 0 && isScheme(raw[:i]) {
		start = i + len("://")
	}
	return raw[:start] + "xxxxx" + raw[at:]
}

// isScheme: a letter, then letters, digits, '+', '-' or '.' (RFC 3986).
func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}
