package payment

import (
	"strings"
	"time"

	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/textfield"
)

// text trims v and checks it is printable, within max characters, and present
// when required.
func text(field, v string, max int, required bool) (string, error) {
	v, reason := textfield.Check(v, max, required)
	if reason != "" {
		return "", fieldErr(field, "%s", reason)
	}
	return v, nil
}

// date checks a calendar date written YYYY-MM-DD, from 1990 to a year ahead
// in Melaka.
func date(field, v string, now time.Time, required bool) (string, error) {
	v, reason := calendar.Check(v, now, earliestYear, required)
	if reason != "" {
		return "", fieldErr(field, "%s", reason)
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

// icReason turns a mykad parse error into the reason a FieldError shows.
func icReason(err error) string { return strings.TrimPrefix(err.Error(), "mykad: ") }
