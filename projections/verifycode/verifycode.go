// Package verifycode is the printed form of the verification codes on
// payment and statement reports (/sahkan/{code}): 16 base32 characters,
// printed in groups of four, typed back by a bank clerk in whatever case
// and spacing. The codes themselves are HMACs made by the payments and
// statements projections; this package only writes and reads them, and
// masks the name both checks show (MaskName).
package verifycode

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Len is the number of characters in a code (80 bits of base32).
const Len = 16

// maxTyped bounds what Normalize reads: a code with a dash or a space
// between every character is 31 long, so anything past this is not one.
const maxTyped = 64

// Format groups a code in fours for print: ABCD-EFGH-IJKL-MNOP.
func Format(code string) string {
	var b strings.Builder
	b.Grow(len(code) + len(code)/4)
	for i := 0; i < len(code); i++ {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(code[i])
	}
	return b.String()
}

// Normalize undoes Format and the ways people type a code (lower case,
// spaces, dashes anywhere); it returns "" for anything that cannot be a
// code. Only ASCII letters and digits count: a letter that upper-cases to
// one of the alphabet's (Turkish dotless ı, long ſ) is not taken for it.
// Any space or dash separates, as pasted from a word processor or a chat
// (en dash, no-break space, a line end).
func Normalize(s string) string {
	if len(s) > maxTyped {
		return ""
	}
	var out [Len]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' || c == ' ' || c == '\t' || c == '\r' || c == '\n':
			continue
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if !unicode.IsSpace(r) && !unicode.Is(unicode.Pd, r) && r != '\u2212' { // − (minus sign)
				return ""
			}
			i += size - 1
			continue
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case c >= 'A' && c <= 'Z', c >= '2' && c <= '7':
		default:
			return ""
		}
		if n == Len {
			return ""
		}
		out[n] = c
		n++
	}
	if n != Len {
		return ""
	}
	return string(out[:])
}

// MaskName is a name as the public check shows it: the initial of each
// word, "Siti Nurhaliza binti Ahmad" → "S*** N*** b*** A***". Anyone holding
// a code sees it, so it must confirm the paper's name without telling a
// stranger who the person is: a whole first name (the old form) was most of
// that. Connectors (bin, binti, a/l, a/p) are masked like any word: they
// would tell the person's sex and add nothing a clerk comparing with the
// paper needs.
func MaskName(name string) string {
	words := strings.Fields(name)
	for i, w := range words {
		r, _ := utf8.DecodeRuneInString(w)
		words[i] = string(r) + "***"
	}
	return strings.Join(words, " ")
}
