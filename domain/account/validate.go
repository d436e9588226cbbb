package account

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/textfield"
)

// FieldError names the input field that is wrong, a stable Code the web layer
// translates (required, too_short, too_long, invalid, control_character,
// mismatch, common, contains_user_id, domain_not_allowed, unknown_choice)
// and a Reason in English.
type FieldError struct {
	Field  string
	Code   string
	Reason string
}

func (e *FieldError) Error() string { return "account: " + e.Field + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

func fieldErr(field, code, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Code: code, Reason: fmt.Sprintf(format, args...)}
}

// FieldErrors is every field error of one form, so the page can mark them
// all at once. errors.As finds the first *FieldError; errors.Is(err,
// ErrInvalid) holds.
type FieldErrors []*FieldError

func (fe FieldErrors) Error() string {
	parts := make([]string, len(fe))
	for i, e := range fe {
		parts[i] = e.Field + ": " + e.Reason
	}
	return "account: " + strings.Join(parts, "; ")
}

// Unwrap exposes each field error to errors.Is and errors.As.
func (fe FieldErrors) Unwrap() []error {
	out := make([]error, len(fe))
	for i, e := range fe {
		out[i] = e
	}
	return out
}

// Field returns the error of one field, if any.
func (fe FieldErrors) Field(name string) (*FieldError, bool) {
	for _, e := range fe {
		if e.Field == name {
			return e, true
		}
	}
	return nil, false
}

// errs collects field errors; err() is nil (untyped) when there are none.
type errs FieldErrors

func (e *errs) add(fe *FieldError) {
	if fe != nil {
		*e = append(*e, fe)
	}
}

func (e errs) err() error {
	if len(e) == 0 {
		return nil
	}
	return FieldErrors(e)
}

// text trims v, collapses inner whitespace, and checks it is valid UTF-8
// without control characters, within min..max characters (min only when
// present) and present when required.
func text(field, v string, min, max int, required bool) (string, *FieldError) {
	return checkText(field, v, min, max, required, false)
}

// secretText is text for a secret answer: never shown, so only control
// characters and line breaks are refused (textfield.Control), as when
// answers were first set.
func secretText(field, v string, min, max int, required bool) (string, *FieldError) {
	return checkText(field, v, min, max, required, true)
}

func checkText(field, v string, min, max int, required, secret bool) (string, *FieldError) {
	if len(v) > 4*max+64 {
		return "", fieldErr(field, "too_long", "is longer than %d characters", max)
	}
	if !utf8.ValidString(v) {
		return "", fieldErr(field, "invalid", "is not valid UTF-8")
	}
	refused := textfield.Hidden
	if secret {
		refused = textfield.Control
	}
	if strings.IndexFunc(v, refused) >= 0 {
		return "", fieldErr(field, "control_character", "contains a control character or line break")
	}
	v = strings.Join(strings.Fields(v), " ")
	if v == "" {
		if required {
			return "", fieldErr(field, "required", "is required")
		}
		return "", nil
	}
	if !secret && !textfield.Visible(v) {
		return "", fieldErr(field, "control_character", "shows nothing: only invisible characters")
	}
	n := utf8.RuneCountInString(v)
	if n > max {
		return "", fieldErr(field, "too_long", "is %d characters long (at most %d)", n, max)
	}
	if n < min {
		return "", fieldErr(field, "too_short", "is %d characters long (at least %d)", n, min)
	}
	return v, nil
}

// hasControl: a password holds a control character or line break (what a
// secret may not hold: textfield.Control).
func hasControl(v string) bool { return strings.IndexFunc(v, textfield.Control) >= 0 }

// Limits of the account's own fields, in characters.
const (
	MinPassword      = 8
	MinAdminPassword = 12
	MaxPassword      = 128
	MinAnswer        = 2
	MaxAnswer        = 100
	MinPhrase        = 4
	MaxPhrase        = 60
	MaxPhone         = 20
	MaxOffice        = 200
	MaxReason        = 500
)

// NormalizePassword is applied to every password before it is checked,
// hashed or verified (NIST SP 800-63B: NFKC), so the same password typed on
// a phone and a desktop matches.
func NormalizePassword(pw string) string { return norm.NFKC.String(pw) }

// CheckPassword applies the password policy to a new password and its
// confirmation: minLen..128 characters (8, or 12 for admins and auditors),
// no composition rules, not a common password, not containing the user's
// IC number. It returns FieldErrors on fields "password" and
// "confirm_password".
func CheckPassword(pw, confirm, userID string, minLen int) error {
	var e errs
	e.add(checkPassword(pw, userID, minLen))
	if len(e) == 0 && pw != confirm {
		e.add(fieldErr("confirm_password", "mismatch", "does not match the new password"))
	}
	return e.err()
}

func checkPassword(pw, userID string, minLen int) *FieldError {
	if pw == "" {
		return fieldErr("password", "required", "is required")
	}
	if len(pw) > 4*MaxPassword {
		return fieldErr("password", "too_long", "is longer than %d characters", MaxPassword)
	}
	if !utf8.ValidString(pw) {
		return fieldErr("password", "invalid", "is not valid UTF-8")
	}
	if hasControl(pw) {
		return fieldErr("password", "control_character", "contains a control character or line break")
	}
	pw = NormalizePassword(pw)
	n := utf8.RuneCountInString(pw)
	if n < minLen {
		return fieldErr("password", "too_short", "is %d characters long (at least %d)", n, minLen)
	}
	if n > MaxPassword {
		return fieldErr("password", "too_long", "is %d characters long (at most %d)", n, MaxPassword)
	}
	if containsUserID(pw, userID) {
		return fieldErr("password", "contains_user_id", "must not contain your IC number / user ID")
	}
	if IsCommonPassword(pw) {
		return fieldErr("password", "common", "is too common or easily guessed")
	}
	return nil
}

func containsUserID(pw, userID string) bool {
	if len(userID) < 6 {
		return false
	}
	var digits strings.Builder
	for _, r := range pw {
		if r >= '0' && r <= '9' {
			digits.WriteRune(r)
		}
	}
	return strings.Contains(digits.String(), userID)
}

// NormalizeAnswer makes a secret answer comparable however it is typed at the
// helpdesk: NFKC, lower case, inner spaces collapsed.
func NormalizeAnswer(a string) string {
	return strings.ToLower(strings.Join(strings.Fields(norm.NFKC.String(a)), " "))
}

// ActivationForm is what the person types on the activation ("Aktif") page.
type ActivationForm struct {
	Password        string
	ConfirmPassword string
	QuestionID      string
	Answer          string
	ImageID         string
	Phrase          string
}

// CheckActivation validates the activation form for userID (minLen 12 when
// the account holds an admin or auditor role) and returns it with the
// phrase tidied. Fields: password, confirm_password, question, answer,
// image, phrase.
func CheckActivation(f ActivationForm, userID string, minLen int) (ActivationForm, error) {
	var e errs
	if err := CheckPassword(f.Password, f.ConfirmPassword, userID, minLen); err != nil {
		e = append(e, err.(FieldErrors)...)
	}
	if f.QuestionID == "" {
		e.add(fieldErr("question", "required", "choose a secret question"))
	} else if _, ok := SecretQuestionByID(f.QuestionID); !ok {
		e.add(fieldErr("question", "unknown_choice", "is not one of the offered questions"))
	}
	var fe *FieldError
	// Digits only, as for the password: "791117-04-5671" is the IC too.
	if _, fe = secretText("answer", f.Answer, MinAnswer, MaxAnswer, true); fe == nil && containsUserID(NormalizeAnswer(f.Answer), userID) {
		fe = fieldErr("answer", "contains_user_id", "must not be your IC number")
	}
	e.add(fe)
	if f.ImageID == "" {
		e.add(fieldErr("image", "required", "choose a security image"))
	} else if !ValidSecurityImage(f.ImageID) {
		e.add(fieldErr("image", "unknown_choice", "is not one of the gallery's images"))
	}
	f.Phrase, fe = text("phrase", f.Phrase, MinPhrase, MaxPhrase, true)
	if fe == nil && !ValidPhrase(f.Phrase) {
		fe = fieldErr("phrase", "unknown_choice", "is not one of the phrases offered")
	}
	e.add(fe)
	return f, e.err()
}

// Profile is what "Kemaskini Maklumat Pengguna" edits.
type Profile struct {
	Phone  string `json:"phone"`
	Office string `json:"office"`
	Email  string `json:"email"`
}

var phonePattern = regexp.MustCompile(`^\+?[0-9][0-9 -]*[0-9]$`)

// CheckProfile validates a profile: phone (optional; digits, spaces, dashes,
// a leading +; 7 to 15 digits), office (optional, at most 200 characters),
// e-mail (required, in one of the allowed domains). It returns the profile
// normalised.
func CheckProfile(p Profile, allowedDomains []string) (Profile, error) {
	var e errs
	var fe *FieldError
	if p.Phone, fe = text("phone", p.Phone, 0, MaxPhone, false); fe == nil && p.Phone != "" {
		digits := 0
		for _, r := range p.Phone {
			if r >= '0' && r <= '9' {
				digits++
			}
		}
		if !phonePattern.MatchString(p.Phone) || digits < 7 || digits > 15 {
			fe = fieldErr("phone", "invalid", "must be a telephone number: 7 to 15 digits, spaces or dashes, optionally starting with +")
		}
	}
	e.add(fe)
	p.Office, fe = text("office", p.Office, 0, MaxOffice, false)
	e.add(fe)
	p.Email, fe = CheckEmail("email", p.Email, allowedDomains)
	e.add(fe)
	return p, e.err()
}

// CheckEmail checks an official e-mail address: well formed and in one of
// the allowed domains (or a subdomain of one). It returns it in lower case.
func CheckEmail(field, email string, allowedDomains []string) (string, *FieldError) {
	email, fe := employee.NormalizeEmail(field, email)
	if fe != nil {
		return "", &FieldError{Field: fe.Field, Code: fe.Code, Reason: fe.Reason}
	}
	if !employee.DomainAllowed(email, allowedDomains) {
		return "", fieldErr(field, "domain_not_allowed", "must be an official address (@%s)", strings.Join(allowedDomains, ", @"))
	}
	return email, nil
}

// CheckReason validates the reason an administrator gives (required, at
// most 500 characters).
func CheckReason(reason string) (string, error) {
	r, fe := text("reason", reason, 1, MaxReason, true)
	if fe != nil {
		return "", fe
	}
	return r, nil
}
