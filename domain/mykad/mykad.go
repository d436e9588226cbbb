// Package mykad parses and validates Malaysian identity card numbers (MyKad),
// which are also the portal's user IDs.
//
// A number is 12 digits, YYMMDD-PB-###G: a date of birth, a place-of-birth
// code and a serial whose last digit encodes sex. There is no checksum, so
// validation is the date and the place-of-birth code from the national list.
// Numbers are accepted with or without the two dashes (or two spaces, as
// people copy them off the card) and stored without.
package mykad

import (
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"time"
)

// Errors of Parse. Each says what is wrong in words a form can show.
var (
	ErrEmpty  = errors.New("mykad: IC number is empty")
	ErrFormat = errors.New("mykad: IC number must be 12 digits, as YYMMDD-PB-###G or YYMMDDPB###G")
	ErrDate   = errors.New("mykad: IC number does not start with a valid date of birth (YYMMDD)")
	ErrPlace  = errors.New("mykad: IC number has an invalid place-of-birth code (digits 7-8)")
)

// IC is a validated IC number: 12 ASCII digits, no dashes. The zero value is
// not valid; get one from Parse.
//
// IC implements slog.LogValuer with the last four digits only, so an IC
// passed to a logger never appears in clear, nor its birth date and place.
type IC string

// maxInput bounds the work done on hostile input; a formatted number with
// surrounding blanks is far shorter.
const maxInput = 64

// Parse validates s and returns it without dashes. Leading and trailing
// spaces are ignored; separators (a dash or a space each) must be both
// present at the usual places or both absent.
func Parse(s string) (IC, error) {
	if len(s) > maxInput {
		return "", ErrFormat
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ErrEmpty
	}
	var digits string
	switch len(s) {
	case 12:
		digits = s
	case 14:
		if !separator(s[6]) || !separator(s[9]) {
			return "", ErrFormat
		}
		digits = s[:6] + s[7:9] + s[10:]
	default:
		return "", ErrFormat
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return "", ErrFormat
		}
	}
	if !validDate(digits[:6]) {
		return "", ErrDate
	}
	if !ValidPlaceCode(digits[6:8]) {
		return "", ErrPlace
	}
	return IC(digits), nil
}

func separator(c byte) bool { return c == '-' || c == ' ' }

// MustParse is Parse for constants in tests and demo data; it panics on an
// invalid number.
func MustParse(s string) IC {
	ic, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return ic
}

// Valid reports whether s is a valid IC number in either accepted form.
func Valid(s string) bool {
	_, err := Parse(s)
	return err == nil
}

// String returns the 12 digits without dashes (the stored form and user ID).
func (ic IC) String() string { return string(ic) }

// Formatted returns the number as YYMMDD-PB-###G.
func (ic IC) Formatted() string {
	if len(ic) != 12 {
		return string(ic)
	}
	return string(ic[:6]) + "-" + string(ic[6:8]) + "-" + string(ic[8:])
}

// Masked returns the number with its serial hidden (YYMMDD-PB-****), for
// pages and consoles of people who hold the record (the person, an
// administrator, the operator) that must not show the whole number. Logs
// get MaskPublic's form: birth date and place are personal data too.
func (ic IC) Masked() string { return Mask(string(ic)) }

// LogValue makes slog print the number as MaskPublic does.
func (ic IC) LogValue() slog.Value { return slog.StringValue(MaskPublic(string(ic))) }

// PlaceCode returns the two-digit place-of-birth code.
func (ic IC) PlaceCode() string {
	if len(ic) != 12 {
		return ""
	}
	return string(ic[6:8])
}

// BirthDate returns the date of birth. The two-digit year is taken as the
// latest year not after asOf's year (so "79" is 1979 and "05" is 2005 when
// asOf is in 2026), which is right for anyone alive and employed.
func (ic IC) BirthDate(asOf time.Time) time.Time {
	if len(ic) != 12 {
		return time.Time{}
	}
	yy := int(ic[0]-'0')*10 + int(ic[1]-'0')
	mm := int(ic[2]-'0')*10 + int(ic[3]-'0')
	dd := int(ic[4]-'0')*10 + int(ic[5]-'0')
	year := asOf.Year()/100*100 + yy
	if year > asOf.Year() {
		year -= 100
	}
	// 29 February of a two-digit year valid only in the other century
	// (e.g. "000229" resolved to 1900) is moved to the century that has it.
	if mm == 2 && dd == 29 && !leap(year) {
		year += 100
	}
	return time.Date(year, time.Month(mm), dd, 0, 0, 0, 0, time.UTC)
}

// Mask hides the serial of an IC number for display and logs:
// "791117-04-****". Anything that is not a 12-digit or dashed 14-character
// number is masked whole, so a malformed input never leaks either.
func Mask(s string) string {
	switch {
	case len(s) == 12 && allDigits(s):
		return s[:6] + "-" + s[6:8] + "-****"
	case len(s) == 14 && s[6] == '-' && s[9] == '-' && allDigits(s[:6]+s[7:9]+s[10:]):
		return s[:10] + "****"
	default:
		return "************"
	}
}

// MaskPublic shows only the last four digits, "******-**-5671": for what a
// third party sees (the public /sahkan check of a printed document). Mask's
// first eight digits are the birth date and the place of birth, which only
// the person, staff who hold the record or the operator may see.
func MaskPublic(s string) string {
	switch {
	case len(s) == 12 && allDigits(s):
		return "******-**-" + s[8:]
	case len(s) == 14 && s[6] == '-' && s[9] == '-' && allDigits(s[:6]+s[7:9]+s[10:]):
		return "******-**-" + s[10:]
	default:
		return "************"
	}
}

// shaped matches anything shaped like an IC number, with or without dashes
// or with the two spaces Parse accepts (valid or not: a malformed one is
// personal data too), and Mask's form (YYMMDD-PB-****), which still holds
// the birth date and place. Redact runs
// it anchored at each run of digits and checks the neighbours itself: RE2
// has no look-around, and \b would let an IC glued to a letter or '_'
// ("SLIP_791117045671", "ic791117045671") through.
var (
	shaped   = regexp.MustCompile(`\d{6}(?:-?\d{2}-?|[- ]\d{2}[- ])(?:\d{4}|\*{4})`)
	shapedAt = regexp.MustCompile(`^\d{6}(?:-?\d{2}-?|[- ]\d{2}[- ])(?:\d{4}|\*{4})`)
)

// Redact replaces everything shaped like an IC number in s by "[IC]": for
// text bound for a log, such as an error that names a stream or document.
// Whatever letters surround it, an IC is any such number not adjacent to
// another digit (a longer number is something else).
func Redact(s string) string {
	if !shaped.MatchString(s) {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) || i > 0 && isDigit(s[i-1]) {
			continue
		}
		m := shapedAt.FindStringIndex(s[i:])
		if m == nil {
			continue
		}
		end := i + m[1]
		if end < len(s) && isDigit(s[end]) && s[end-1] != '*' {
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString("[IC]")
		last, i = end, end-1
	}
	if b.Len() == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// validDate accepts YYMMDD if it is a calendar date in 19YY or 20YY.
func validDate(s string) bool {
	yy := int(s[0]-'0')*10 + int(s[1]-'0')
	mm := int(s[2]-'0')*10 + int(s[3]-'0')
	dd := int(s[4]-'0')*10 + int(s[5]-'0')
	if mm < 1 || mm > 12 || dd < 1 {
		return false
	}
	return dd <= daysIn(mm, 1900+yy) || dd <= daysIn(mm, 2000+yy)
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if leap(year) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	default:
		return 31
	}
}

func leap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// ValidPlaceCode reports whether a two-digit code is on the national
// place-of-birth list: 01–16 (states), 21–59 (states, later series),
// 60–68 and 71–72, 74–79, 82–93 (abroad and unknown), 98, 99.
// Invalid: 00, 17–20, 69, 70, 73, 80, 81, 94–97.
func ValidPlaceCode(code string) bool {
	if len(code) != 2 || !allDigits(code) {
		return false
	}
	n := int(code[0]-'0')*10 + int(code[1]-'0')
	switch {
	case n >= 1 && n <= 16,
		n >= 21 && n <= 59,
		n >= 60 && n <= 68,
		n == 71 || n == 72,
		n >= 74 && n <= 79,
		n >= 82 && n <= 93,
		n == 98 || n == 99:
		return true
	}
	return false
}
