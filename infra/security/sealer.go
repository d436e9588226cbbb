package security

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrUnseal reports a sealed value that does not open: wrong key, wrong
// associated data, or tampered.
var ErrUnseal = errors.New("security: sealed value does not open")

// Sealer encrypts secrets that must be recoverable (AES-256-GCM, random
// 96-bit nonce). A sealed value reads "v1.<key id>.<base64url(nonce|ct)>";
// the key ID lets a rotated key still open old values.
//
// The associated data binds a value to its place (account and purpose; see
// account.TempPasswordAAD and friends): the same AAD must be given to Open.
type Sealer struct {
	primary sealKey
	byID    map[string]sealKey
}

type sealKey struct {
	id   string
	aead cipher.AEAD
}

// NewSealer derives the sealing key from master; previous master keys (after
// a rotation) still open what they sealed.
func NewSealer(master []byte, previous ...[]byte) (*Sealer, error) {
	s := &Sealer{byID: map[string]sealKey{}}
	for i, m := range append([][]byte{master}, previous...) {
		k, err := newSealKey(m)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			s.primary = k
		}
		s.byID[k.id] = k
	}
	return s, nil
}

func newSealKey(master []byte) (sealKey, error) {
	sub, err := derive(master, "seal/aes-256-gcm/v1")
	if err != nil {
		return sealKey{}, err
	}
	block, err := aes.NewCipher(sub)
	if err != nil {
		return sealKey{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return sealKey{}, err
	}
	sum := sha256.Sum256(append([]byte("ispeks/seal/key-id/"), sub...))
	return sealKey{id: hex.EncodeToString(sum[:4]), aead: aead}, nil
}

// KeyID names the key new values are sealed with.
func (s *Sealer) KeyID() string { return s.primary.id }

// Seal encrypts plaintext bound to aad.
func (s *Sealer) Seal(plaintext, aad []byte) (string, error) {
	nonce := make([]byte, s.primary.aead.NonceSize(), s.primary.aead.NonceSize()+len(plaintext)+s.primary.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("security: nonce: %w", err)
	}
	out := s.primary.aead.Seal(nonce, nonce, plaintext, aad)
	return "v1." + s.primary.id + "." + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts a sealed value with the same aad it was sealed with.
func (s *Sealer) Open(sealed string, aad []byte) ([]byte, error) {
	parts := strings.Split(sealed, ".")
	if len(parts) != 3 || parts[0] != "v1" {
		return nil, fmt.Errorf("%w: not a v1 sealed value", ErrUnseal)
	}
	k, ok := s.byID[parts[1]]
	if !ok {
		return nil, fmt.Errorf("%w: sealed with unknown key %s", ErrUnseal, parts[1])
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(raw) < k.aead.NonceSize()+k.aead.Overhead() {
		return nil, fmt.Errorf("%w: malformed", ErrUnseal)
	}
	n := k.aead.NonceSize()
	pt, err := k.aead.Open(nil, raw[:n], raw[n:], aad)
	if err != nil {
		return nil, ErrUnseal
	}
	return pt, nil
}
