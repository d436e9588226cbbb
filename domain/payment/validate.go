package payment

import (
	"strings"
	"time"

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
		return "", fieldErr(field, "must be a date written YYYY-MM-DD, got %q", clip(v))
	}
	if t.Year() < earliestYear {
		return "", fieldErr(field, "is before %d", earliestYear)
	}
	if t.After(yearAhead(now)) {
		return "", fieldErr(field, "is more than a year in the future")
	}
	return v, nil
}

// yearAhead is the latest date accepted at now: today's date in Melaka a
// year on, as a date (midnight UTC, how time.Parse reads one). Comparing
// the parsed date with the instant instead made the answer depend on the
// hour: a date refused at 04:00 was accepted at 10:00 the same day.
func yearAhead(now time.Time) time.Time {
	y, m, d := now.In(Zone).Date()
	return time.Date(y+1, m, d, 0, 0, 0, 0, time.UTC)
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

// clip shortens an echoed input value so an error never carries a huge one.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	r := []rune(s)
	if len(r) > 40 {
		r = r[:40]
	}
	return string(r) + "…"
}
