package payment

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// text trims v and checks it is printable, within max characters, and present
// when required.
func text(field, v string, max int, required bool) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		if required {
			return "", fieldErr(field, "is required")
		}
		return "", nil
	}
	if !utf8.ValidString(v) {
		return "", fieldErr(field, "is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(v); n > max {
		return "", fieldErr(field, "is %d characters long (at most %d)", n, max)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return "", fieldErr(field, "contains a control character")
		}
	}
	return v, nil
}

// date checks a calendar date written YYYY-MM-DD, from 1990 to a year ahead.
func date(field, v string, now time.Time, required bool) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		if required {
			return "", fieldErr(field, "is required (YYYY-MM-DD)")
		}
		return "", nil
	}
	t, err := time.Parse(dateLayout, v)
	if err != nil {
		return "", fieldErr(field, "must be a date written YYYY-MM-DD, got %q", v)
	}
	if t.Year() < earliestYear {
		return "", fieldErr(field, "is before %d", earliestYear)
	}
	if limit := now.In(Zone).AddDate(1, 0, 0); t.After(limit) {
		return "", fieldErr(field, "is more than a year in the future")
	}
	return v, nil
}

func amount(field string, v int64) error {
	switch {
	case v < 0:
		return fieldErr(field, "must not be negative")
	case v == 0:
		return fieldErr(field, "must be greater than zero")
	case v > MaxAmountSen:
		return fieldErr(field, "is larger than %d sen", MaxAmountSen)
	}
	return nil
}

// NormalizeIC checks a MyKad number, written with or without dashes
// (YYMMDD-PB-###G), and returns it as 12 digits. MyKad has no checksum: the
// birth date must exist and the place-of-birth code must be on the national
// list.
func NormalizeIC(ic string) (string, error) {
	raw := strings.TrimSpace(ic)
	if raw == "" {
		return "", errors.New("is required")
	}
	digits := raw
	if strings.Contains(raw, "-") {
		if len(raw) != 14 || raw[6] != '-' || raw[9] != '-' {
			return "", errors.New("must be 12 digits, or written YYMMDD-PB-###G")
		}
		digits = raw[:6] + raw[7:9] + raw[10:]
	}
	if len(digits) != 12 {
		return "", errors.New("must be 12 digits, or written YYMMDD-PB-###G")
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return "", errors.New("must contain digits only (dashes allowed as YYMMDD-PB-###G)")
		}
	}
	yy, mm, dd := atoi2(digits[0:2]), atoi2(digits[2:4]), atoi2(digits[4:6])
	if mm < 1 || mm > 12 || dd < 1 || dd > daysIn(yy, mm) {
		return "", fmt.Errorf("does not start with a valid birth date (YYMMDD)")
	}
	if !validBirthPlace(atoi2(digits[6:8])) {
		return "", fmt.Errorf("has an invalid place-of-birth code %s", digits[6:8])
	}
	return digits, nil
}

func atoi2(s string) int { return int(s[0]-'0')*10 + int(s[1]-'0') }

// daysIn gives the days of month mm of a two-digit year; 29 February is
// accepted when the year is a leap year in either century.
func daysIn(yy, mm int) int {
	if mm == 2 {
		for _, century := range []int{1900, 2000} {
			if y := century + yy; y%4 == 0 && (y%100 != 0 || y%400 == 0) {
				return 29
			}
		}
		return 28
	}
	return time.Date(2001, time.Month(mm)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// validBirthPlace is the national list of place-of-birth codes.
func validBirthPlace(pb int) bool {
	switch {
	case pb >= 1 && pb <= 16, pb >= 21 && pb <= 59, pb >= 60 && pb <= 68,
		pb == 71, pb == 72, pb >= 74 && pb <= 79, pb >= 82 && pb <= 93, pb == 98, pb == 99:
		return true
	}
	return false
}
