package commands

import (
	"strings"

	"github.com/melaka-gov/ispeks/domain/account"
)

// A code typed with the wrong number of characters is a typo, not a guess:
// refused as a field error before anything is recorded, it does not count
// towards the lock (three typos at the second step locked the account, and
// an administrator had to unlock it). A code of the right shape that is
// wrong still counts.

// checkTOTPShape wants the 6 digits of an authenticator app (spaces
// aside, as apps show "123 456").
func checkTOTPShape(code string) error {
	code = strings.Join(strings.Fields(code), "")
	if code == "" {
		return &account.FieldError{Field: "code", Code: "required", Reason: "is required"}
	}
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return &account.FieldError{Field: "code", Code: "totp_format", Reason: "must be the 6 digits the authenticator app shows"}
	}
	return nil
}

// checkRecoveryShape wants the 10 letters and digits of a recovery code
// (written XXXXX-XXXXX; spaces and dashes aside). Which letters the
// alphabet holds is the keyed hash's business: a code of the right length
// with a letter it never uses is a wrong code.
func checkRecoveryShape(code string) error {
	wrong := &account.FieldError{Field: "code", Code: "code_format", Reason: "must be 6 digits from the authenticator app or a 10-character recovery code"}
	n := 0
	for _, r := range code {
		switch {
		case r == ' ' || r == '-' || r == '\t':
		case r >= '0' && r <= '9', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
			n++
		default:
			return wrong
		}
	}
	switch n {
	case 0:
		return &account.FieldError{Field: "code", Code: "required", Reason: "is required"}
	case 10:
		return nil
	}
	return wrong
}
