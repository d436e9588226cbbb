package commands

import (
	"context"
	"strings"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/mykad"
)

// EnrolTOTP starts TOTP enrolment for the logged-in person, who proves it
// is them with the current password.
type EnrolTOTP struct {
	Meta            Meta
	UserID          string
	CurrentPassword string
}

// TOTPEnrolment is what the enrolment page shows: the otpauth:// URL as a
// QR code and the secret for typing by hand. It is shown once and never
// stored in clear (the event holds it sealed).
type TOTPEnrolment struct {
	Secret string
	URL    string
}

// EnrolTOTPHandler generates a secret and records
// account.TOTPEnrolmentStarted; it is in force only after ConfirmTOTP.
// Errors: account.FieldErrors on "current_password" (required, too_long),
// account.ErrWrongPassword / ErrLocked for a wrong current password (it
// counts as a failed attempt), account.ErrTOTPAlreadyEnabled,
// account.ErrNotActivated, account.ErrLocked.
type EnrolTOTPHandler struct {
	Runner   Runner
	Security AccountSecurity
	Policy   AccountPolicy
}

var _ Handler[EnrolTOTP] = EnrolTOTPHandler{}

// Handle runs the command.
func (h EnrolTOTPHandler) Handle(ctx context.Context, cmd EnrolTOTP) (Result, error) {
	_, res, err := h.Enrol(ctx, cmd)
	return res, err
}

// Enrol runs the command and returns the secret to show.
func (h EnrolTOTPHandler) Enrol(ctx context.Context, cmd EnrolTOTP) (TOTPEnrolment, Result, error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return TOTPEnrolment{}, Result{}, err
	}
	switch {
	case cmd.CurrentPassword == "":
		return TOTPEnrolment{}, Result{}, account.FieldErrors{{Field: "current_password", Code: "required", Reason: "is required to enable two-factor"}}
	case len(cmd.CurrentPassword) > 4*account.MaxPassword:
		return TOTPEnrolment{}, Result{}, account.FieldErrors{{Field: "current_password", Code: "too_long", Reason: "is longer than any password can be"}}
	}
	// The authenticator app lists the account under the masked IC: enough
	// for its owner, nothing for someone who sees the phone.
	secret, url, err := h.Security.TOTP.Generate(mykad.Mask(ic.String()))
	if err != nil {
		return TOTPEnrolment{}, Result{}, err
	}
	sealed, err := h.Security.Sealer.Seal([]byte(secret), account.TOTPSecretAAD(ic.String()))
	if err != nil {
		return TOTPEnrolment{}, Result{}, err
	}
	check := newSecretCheck(ctx, h.Security.Hasher, account.NormalizePassword(cmd.CurrentPassword))
	res, err := Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error {
			return a.StartTOTPEnrolment(sealed, check.Verify, h.Policy.threshold(), now)
		})
	if err != nil {
		return TOTPEnrolment{}, res, err
	}
	return TOTPEnrolment{Secret: secret, URL: url}, res, nil
}

// totpCheck is the account.CodeCheck of a typed code: it opens the sealed
// secret of userID and matches the code at now.
func (s AccountSecurity) totpCheck(userID, code string, now time.Time) account.CodeCheck {
	// Typed as authenticators show it ("123 456"): the right code, on every
	// form that takes one, not a wrong one counted towards the lock.
	code = strings.Join(strings.Fields(code), "")
	return func(sealed string) (uint64, bool, error) {
		secret, err := s.Sealer.Open(sealed, account.TOTPSecretAAD(userID))
		if err != nil {
			return 0, false, err
		}
		return s.TOTP.Match(string(secret), code, now)
	}
}
