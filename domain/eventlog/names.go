package eventlog

// The name rules are checked byte by byte rather than with regexp: every
// append checks its stream and event types, and a payroll run appends tens
// of thousands of events a second (the regexps were ~2 % of its CPU). The
// fuzz tests hold each rule against a second, independent reading of it.

// IsEntityID reports whether s can be the ID of an entity that names a
// stream (a statement's or payment's document number): an ASCII letter or
// digit, then letters, digits and ._:@+=- only. The caller checks the
// length.
func IsEntityID(s string) bool {
	return s != "" && isAlnum(s[0]) && isIDText(s)
}

// isIDText: letters, digits and ._:@+=- only, the ID part of a stream.
func isIDText(s string) bool {
	for i := 0; i < len(s); i++ {
		if !idByte[s[i]] {
			return false
		}
	}
	return true
}

var idByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = isAlnum(byte(c))
	}
	for _, c := range []byte("._:@+=-") {
		t[c] = true
	}
	return t
}()

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool { return isLower(c) || isUpper(c) || isDigit(c) }

// validStream: a category of lower-case letters and digits starting with a
// letter, a dash, then an ID part of at least one byte (isIDText). The
// category holds no dash, so the first dash ends it.
func validStream(s string) bool {
	if s == "" || !isLower(s[0]) {
		return false
	}
	i := 1
	for i < len(s) && (isLower(s[i]) || isDigit(s[i])) {
		i++
	}
	if i == len(s) || s[i] != '-' || i+1 == len(s) {
		return false
	}
	return isIDText(s[i+1:])
}

// validType: "<context>.<Name>.v<N>": context lower-case letters and digits
// starting with a letter, Name letters and digits starting with a capital,
// N a decimal number without leading zeros, from 1.
func validType(s string) bool {
	i := 0
	word := func(first, rest func(byte) bool) bool {
		if i >= len(s) || !first(s[i]) {
			return false
		}
		i++
		for i < len(s) && rest(s[i]) {
			i++
		}
		return true
	}
	dot := func() bool {
		if i < len(s) && s[i] == '.' {
			i++
			return true
		}
		return false
	}
	lowerOrDigit := func(c byte) bool { return isLower(c) || isDigit(c) }
	nonZero := func(c byte) bool { return c >= '1' && c <= '9' }
	if !word(isLower, lowerOrDigit) || !dot() || !word(isUpper, isAlnum) || !dot() {
		return false
	}
	if i >= len(s) || s[i] != 'v' {
		return false
	}
	i++
	return word(nonZero, isDigit) && i == len(s)
}
