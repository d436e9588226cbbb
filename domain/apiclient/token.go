package apiclient

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Tokens look like isp_<clientID>_<secret>: the client ID lets the server
// find the one hash to compare with, and the prefix lets secret scanners
// recognise a leaked token. The secret is 32 random bytes (256 bits),
// base64url without padding.
const (
	tokenPrefix = "isp_"
	secretBytes = 32
	secretChars = 43 // base64url of 32 bytes, unpadded
)

// ErrMalformedToken reports a bearer token that is not of our format.
var ErrMalformedToken = errors.New("apiclient: malformed token")

// NewToken makes a token for client id, reading 32 bytes from random
// (crypto/rand.Reader in production; the caller passes it in so the domain
// does no I/O of its own).
func NewToken(id string, random io.Reader) (string, error) {
	if err := ValidateID(id); err != nil {
		return "", err
	}
	secret := make([]byte, secretBytes)
	if _, err := io.ReadFull(random, secret); err != nil {
		return "", fmt.Errorf("apiclient: token randomness: %w", err)
	}
	return tokenPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(secret), nil
}

// ParseToken returns the client ID inside a token and checks its shape.
func ParseToken(token string) (string, error) {
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok {
		return "", ErrMalformedToken
	}
	// The ID has no underscore; the secret may contain one.
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || ValidateID(id) != nil || len(secret) != secretChars {
		return "", ErrMalformedToken
	}
	if _, err := base64.RawURLEncoding.DecodeString(secret); err != nil {
		return "", ErrMalformedToken
	}
	return id, nil
}

// HashToken is the stored form of a token: hex SHA-256. A fast hash is
// enough here, unlike for passwords: the token carries 256 random bits, so
// no dictionary or brute-force search can invert the hash, and a fast hash
// lets every API request be checked without an argon2 cost that would turn
// the API into a denial-of-service target.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// VerifyToken compares a presented token with a stored hash in constant
// time.
func VerifyToken(token, storedHash string) bool {
	want, err := hex.DecodeString(storedHash)
	if err != nil || len(want) != sha256.Size {
		return false
	}
	got := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(got[:], want) == 1
}

func validHash(h string) bool {
	b, err := hex.DecodeString(h)
	return err == nil && len(b) == sha256.Size && h == strings.ToLower(h)
}
