package security

import (
	"crypto/subtle"
	"errors"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// TOTP is RFC 6238 with the usual authenticator settings: SHA-1, 6 digits,
// 30-second steps, one step of skew either way.
type TOTP struct {
	Issuer string // shown in the authenticator app; default "iSPEKS"
}

const (
	totpPeriod = 30
	totpSkew   = 1
)

func (t TOTP) issuer() string {
	if t.Issuer == "" {
		return "iSPEKS"
	}
	return t.Issuer
}

// Generate makes a new secret (base32, 160 bits) and its otpauth:// URL for a
// QR code. accountName is what the app lists under the issuer.
func (t TOTP) Generate(accountName string) (secret, url string, err error) {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: t.issuer(), AccountName: accountName, Period: totpPeriod,
		SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return "", "", err
	}
	return key.Secret(), key.URL(), nil
}

// Step is the RFC 6238 time step of now.
func Step(now time.Time) uint64 { return uint64(now.Unix()) / totpPeriod }

// Match checks a typed code against secret at now, allowing one step either
// side, and returns the time step the code belongs to. The caller records
// that step and refuses codes of it or earlier steps afterwards, which is
// what makes a code work only once. A code that is not 6 digits is simply
// no match.
func (t TOTP) Match(secret, code string, now time.Time) (uint64, bool, error) {
	if len(code) != 6 {
		return 0, false, nil
	}
	for i := 0; i < 6; i++ {
		if code[i] < '0' || code[i] > '9' {
			return 0, false, nil
		}
	}
	cur := Step(now)
	var matched uint64
	ok := false
	for s := cur - totpSkew; s <= cur+totpSkew; s++ {
		want, err := hotp.GenerateCodeCustom(secret, s, hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false, errors.Join(errors.New("security: TOTP secret"), err)
		}
		// The latest matching step wins, so a replay inside the window is
		// seen as reused.
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			matched, ok = s, true
		}
	}
	return matched, ok, nil
}

// Code returns the code of secret at now (for tests and the CLI's own checks).
func (t TOTP) Code(secret string, now time.Time) (string, error) {
	return hotp.GenerateCodeCustom(secret, Step(now), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}
