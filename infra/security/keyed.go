package security

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// Keyed computes keyed hashes (HMAC-SHA256 under a subkey of the master
// key). Without the key nobody can link a login-probe stream to an IC
// number, predict a decoy, or test guesses against recovery-code hashes.
type Keyed struct{ key []byte }

// NewKeyed derives the HMAC key from master.
func NewKeyed(master []byte) (*Keyed, error) {
	k, err := derive(master, "hmac/v1")
	if err != nil {
		return nil, err
	}
	return &Keyed{key: k}, nil
}

// Sum is the keyed hash of value for purpose, as 64 hex digits. Purposes
// separate uses so a hash made for one never equals a hash for another.
func (k *Keyed) Sum(purpose, value string) string {
	return hex.EncodeToString(k.sum(purpose, value))
}

func (k *Keyed) sum(purpose, value string) []byte {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return m.Sum(nil)
}

// ProbeKey names the login-probe stream of an unknown user ID: 32 hex
// digits (128 bits) of its keyed hash.
func (k *Keyed) ProbeKey(userID string) string {
	return k.Sum("loginprobe", userID)[:32]
}

// Pick chooses a number in [0, n) fixed by (purpose, id): the decoy image and
// phrase shown for an unknown user ID are the same every time it is typed.
func (k *Keyed) Pick(purpose, id string, n int) int {
	if n <= 0 {
		return 0
	}
	v := binary.BigEndian.Uint64(k.sum(purpose, id)[:8])
	return int(v % uint64(n)) // bias below 2^-50 for the list sizes used
}

// DecoyIndexes returns the decoy security image (of nImages) and phrase (of
// nPhrases) for a user ID that has no activated account.
func (k *Keyed) DecoyIndexes(userID string, nImages, nPhrases int) (image, phrase int) {
	return k.Pick("decoy/image", userID, nImages), k.Pick("decoy/phrase", userID, nPhrases)
}

// RecoveryCodeHash is the keyed hash a recovery code is stored and compared
// as (after NormalizeRecoveryCode). Recovery codes carry 50 random bits, so a
// keyed hash is enough and keeps their check cheap.
func (k *Keyed) RecoveryCodeHash(code string) string {
	return k.Sum("recovery-code", NormalizeRecoveryCode(code))
}

// NormalizeRecoveryCode upper-cases a typed code and drops spaces and
// dashes, and maps the letters people confuse onto the alphabet's digits.
// Only ASCII letters change case: a letter that upper-cases to one of the
// alphabet's (dotless ı, long ſ) stays itself and does not match.
func NormalizeRecoveryCode(code string) string {
	var b strings.Builder
	for _, r := range code {
		if r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		switch {
		case r == ' ' || r == '-' || r == '\t':
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		b.WriteRune(r)
	}
	return b.String()
}
