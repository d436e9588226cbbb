package security

import (
	"crypto/rand"
	"errors"
	"math/big"
	"strings"
)

// tempAlphabet leaves out characters people misread in a mail: 0 O o, 1 I l.
const tempAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"

// TemporaryPasswordLength gives about 81 bits with tempAlphabet.
const TemporaryPasswordLength = 14

// recoveryAlphabet is Crockford's base32 (no I, L, O, U).
const recoveryAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Generator makes random secrets from crypto/rand.
type Generator struct{}

func randomString(alphabet string, n int) (string, error) {
	max := big.NewInt(int64(len(alphabet)))
	var b strings.Builder
	b.Grow(n)
	for i := 0; i < n; i++ {
		x, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		b.WriteByte(alphabet[x.Int64()])
	}
	return b.String(), nil
}

// TemporaryPassword returns a 14-character random password without
// ambiguous characters.
func (Generator) TemporaryPassword() (string, error) {
	return randomString(tempAlphabet, TemporaryPasswordLength)
}

// RecoveryCodes returns n codes written "XXXXX-XXXXX" (50 random bits each).
func (Generator) RecoveryCodes(n int) ([]string, error) {
	if n <= 0 || n > 100 {
		return nil, errors.New("security: recovery codes: n must be 1..100")
	}
	out := make([]string, n)
	seen := map[string]bool{}
	for i := 0; i < n; {
		s, err := randomString(recoveryAlphabet, 10)
		if err != nil {
			return nil, err
		}
		if seen[s] {
			continue
		}
		seen[s] = true
		out[i] = s[:5] + "-" + s[5:]
		i++
	}
	return out, nil
}
