package employee

import (
	"fmt"
	netmail "net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/mykad"
	"github.com/melaka-gov/ispeks/domain/textfield"
)

// Field limits, in characters.
const (
	MaxName        = 150
	MaxDepartment  = 150
	MaxPost        = 150
	MaxStaffNumber = 30
	MaxEmail       = 254
	maxReason      = 500
)

// FieldError names the input field that is wrong, a stable Code for
// translation (required, too_long, invalid, control_character, …) and a
// Reason in English. Field names are the CSV/JSON column names.
type FieldError struct {
	Field  string
	Code   string
	Reason string
}

func (e *FieldError) Error() string { return "employee: " + e.Field + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

func fieldErr(field, code, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Code: code, Reason: fmt.Sprintf(format, args...)}
}

// FieldErrors is every field error of one input, so a form or a CSV report
// can show them all at once. errors.As finds the first *FieldError.
type FieldErrors []*FieldError

func (fe FieldErrors) Error() string {
	parts := make([]string, len(fe))
	for i, e := range fe {
		parts[i] = e.Field + ": " + e.Reason
	}
	return "employee: " + strings.Join(parts, "; ")
}

// Unwrap exposes each field error to errors.Is and errors.As.
func (fe FieldErrors) Unwrap() []error {
	out := make([]error, len(fe))
	for i, e := range fe {
		out[i] = e
	}
	return out
}

// Details is one staff record as the master holds it.
type Details struct {
	IC          string `json:"ic"`
	Name        string `json:"name"`
	Email       string `json:"email"`
	Department  string `json:"department"`
	Post        string `json:"post"`
	StaffNumber string `json:"staff_number"`
}

func detailsOf(ic, name, email, dept, post, staffNo string) Details {
	return Details{IC: ic, Name: name, Email: email, Department: dept, Post: post, StaffNumber: staffNo}
}

func (d Details) event() StaffRecorded {
	return StaffRecorded{IC: d.IC, Name: d.Name, Email: d.Email, Department: d.Department, Post: d.Post, StaffNumber: d.StaffNumber}
}

func (d Details) updated() StaffUpdated {
	return StaffUpdated{IC: d.IC, Name: d.Name, Email: d.Email, Department: d.Department, Post: d.Post, StaffNumber: d.StaffNumber}
}

var staffNumberPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9/._-]*$`)

// Validate checks every field and returns the record normalised: IC without
// dashes, e-mail in lower case, inner runs of spaces collapsed. The error is
// FieldErrors listing every bad field.
func (d Details) Validate() (Details, error) {
	var errs FieldErrors
	add := func(err *FieldError) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if ic, err := mykad.Parse(d.IC); err != nil {
		add(fieldErr("ic", icCode(err), "%s", strings.TrimPrefix(err.Error(), "mykad: ")))
	} else {
		d.IC = ic.String()
	}
	var err *FieldError
	d.Name, err = text("name", d.Name, MaxName, true)
	add(err)
	d.Email, err = NormalizeEmail("email", d.Email)
	add(err)
	d.Department, err = text("department", d.Department, MaxDepartment, true)
	add(err)
	d.Post, err = text("post", d.Post, MaxPost, true)
	add(err)
	if d.StaffNumber, err = text("staff_number", d.StaffNumber, MaxStaffNumber, true); err == nil && !staffNumberPattern.MatchString(d.StaffNumber) {
		err = fieldErr("staff_number", "invalid", "must be letters, digits and / . _ - only, starting with a letter or digit")
	}
	add(err)
	if len(errs) > 0 {
		return d, errs
	}
	return d, nil
}

func icCode(err error) string {
	switch err {
	case mykad.ErrEmpty:
		return "required"
	case mykad.ErrDate:
		return "invalid_date"
	case mykad.ErrPlace:
		return "invalid_place_code"
	default:
		return "invalid"
	}
}

// text trims v, collapses inner whitespace, and checks it is valid UTF-8
// without control characters, within max characters, and present when
// required.
func text(field, v string, max int, required bool) (string, *FieldError) {
	// A hostile 10 kB value is refused before any per-rune work.
	if len(v) > 4*max+64 {
		return "", fieldErr(field, "too_long", "is longer than %d characters", max)
	}
	if !utf8.ValidString(v) {
		return "", fieldErr(field, "invalid", "is not valid UTF-8")
	}
	for _, r := range v {
		if r != '\t' && r != '\n' && r != '\r' && textfield.Hidden(r) {
			return "", fieldErr(field, "control_character", "contains a control character")
		}
	}
	if strings.ContainsAny(v, "\t\n\r") {
		return "", fieldErr(field, "control_character", "contains a tab or line break")
	}
	v = strings.Join(strings.Fields(v), " ")
	if v == "" {
		if required {
			return "", fieldErr(field, "required", "is required")
		}
		return "", nil
	}
	if !textfield.Visible(v) {
		return "", fieldErr(field, "control_character", "shows nothing: only invisible characters")
	}
	if n := utf8.RuneCountInString(v); n > max {
		return "", fieldErr(field, "too_long", "is %d characters long (at most %d)", n, max)
	}
	return v, nil
}

// NormalizeName checks a person's name as Validate does (trimmed, inner
// whitespace collapsed, no control characters, at most MaxName
// characters) and returns it normalised. field names the input in the
// error.
func NormalizeName(field, v string) (string, *FieldError) {
	return text(field, v, MaxName, true)
}

var domainPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$`)

// NormalizeEmail checks a bare e-mail address (no display name, no quoting)
// and returns it in lower case. field names the input in the error.
func NormalizeEmail(field, v string) (string, *FieldError) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", fieldErr(field, "required", "is required")
	}
	if len(v) > MaxEmail {
		return "", fieldErr(field, "too_long", "is longer than %d characters", MaxEmail)
	}
	for _, r := range v {
		if r < 0x21 || r > 0x7e {
			return "", fieldErr(field, "invalid", "must be a plain e-mail address (ASCII, no spaces)")
		}
	}
	v = strings.ToLower(v)
	addr, err := netmail.ParseAddress(v)
	if err != nil || addr.Name != "" || addr.Address != v {
		return "", fieldErr(field, "invalid", "is not a valid e-mail address")
	}
	local, domain, ok := strings.Cut(v, "@")
	if !ok || local == "" || len(local) > 64 || strings.Contains(domain, "@") || strings.HasPrefix(local, "\"") {
		return "", fieldErr(field, "invalid", "is not a valid e-mail address")
	}
	// '%' and '!' route a mail on: a mail server rewrites
	// user%elsewhere@melaka.gov.my to user@elsewhere (Postfix's and
	// sendmail's default "percent hack"), and a bang path likewise, so the
	// domain allow-list would pass an address whose mail (temporary
	// passwords included) leaves the official mailboxes.
	if strings.ContainsAny(local, "%!") {
		return "", fieldErr(field, "invalid", "is not a valid e-mail address")
	}
	if !domainPattern.MatchString(domain) {
		return "", fieldErr(field, "invalid", "has an invalid domain")
	}
	return v, nil
}

// ValidDomain reports whether d is a domain as NormalizeEmail accepts one
// after the @ (lower-case ASCII labels, at least two, no leading or
// trailing dot): an allowed domain in configuration must be one, or it
// matches no address.
func ValidDomain(d string) bool { return domainPattern.MatchString(d) }

// EmailDomain returns the part after the @ of a normalised address.
func EmailDomain(email string) string {
	_, d, _ := strings.Cut(email, "@")
	return d
}

// DomainAllowed reports whether email's domain is one of allowed or a
// subdomain of one (allowed "melaka.gov.my" admits "x@jkr.melaka.gov.my").
func DomainAllowed(email string, allowed []string) bool {
	d := EmailDomain(email)
	if d == "" {
		return false
	}
	for _, a := range allowed {
		a = strings.ToLower(strings.TrimSpace(a))
		if a != "" && (d == a || strings.HasSuffix(d, "."+a)) {
			return true
		}
	}
	return false
}

func validDate(field, v string, now time.Time) (string, error) {
	date, reason := calendar.Check(v, now, 1950, true)
	switch {
	case reason == "":
		return date, nil
	case strings.TrimSpace(v) == "":
		return "", fieldErr(field, "required", "%s", reason)
	}
	return "", fieldErr(field, "invalid", "%s", reason)
}
