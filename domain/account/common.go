package account

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
)

//go:embed common_passwords.txt
var commonPasswordsFile string

// The set is built on first use rather than in init(), and only once.
var commonOnce = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 1200)
	for _, line := range strings.Split(commonPasswordsFile, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		set[strings.ToLower(line)] = struct{}{}
	}
	return set
})

// CommonPasswordCount is the size of the shipped list (for tests and docs).
func CommonPasswordCount() int { return len(commonOnce()) }

// IsCommonPassword reports whether pw is on the common-password list,
// case-insensitively, also once leading and trailing digits and symbols are
// stripped ("Password2024!" is "password"), or is one character repeated or
// a plain run like "12345678" or "abcdefgh".
func IsCommonPassword(pw string) bool {
	set := commonOnce()
	lower := strings.ToLower(pw)
	if _, ok := set[lower]; ok {
		return true
	}
	if _, ok := set[strings.ReplaceAll(lower, " ", "")]; ok {
		return true
	}
	base := strings.TrimFunc(lower, func(r rune) bool { return !unicode.IsLetter(r) })
	if len(base) >= 4 && base != lower {
		if _, ok := set[base]; ok {
			return true
		}
	}
	return monotone(lower)
}

// monotone: the same character throughout, or each character one more (or
// one less) than the one before.
func monotone(s string) bool {
	r := []rune(s)
	if len(r) < 2 {
		return true
	}
	same, up, down := true, true, true
	for i := 1; i < len(r); i++ {
		same = same && r[i] == r[0]
		up = up && r[i] == r[i-1]+1
		down = down && r[i] == r[i-1]-1
	}
	return same || up || down
}
