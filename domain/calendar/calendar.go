// Package calendar is the portal's one idea of dates: Melaka time (UTC+8,
// no daylight saving) and the date fields the domain accepts. Every date the
// portal shows, defaults or compares is a calendar date in Melaka, not in
// UTC: a slip paid "today" at 07:00 in Melaka is still yesterday in UTC.
package calendar

import (
	"fmt"
	"strings"
	"time"

	"github.com/melaka-gov/ispeks/domain/textfield"
)

// Melaka is Malaysia time. Malaysia has had no daylight saving since 1982,
// so a fixed zone is exact and needs no tz database on the server.
var Melaka = time.FixedZone("MYT", 8*60*60)

// DateLayout is how dates are written in events, the API and files.
const DateLayout = "2006-01-02"

// Today is now's calendar date in Melaka, YYYY-MM-DD.
func Today(now time.Time) string { return now.In(Melaka).Format(DateLayout) }

// StartOf is the first moment of date (YYYY-MM-DD) in Melaka; zero for a
// malformed date.
func StartOf(date string) time.Time {
	t, err := time.ParseInLocation(DateLayout, date, Melaka)
	if err != nil {
		return time.Time{}
	}
	return t
}

// Check trims v and returns it, or a reason it is refused ("" when it is
// fine), as textfield.Check does for text: a calendar date written
// YYYY-MM-DD, from earliestYear to a year after today in Melaka. An empty
// value is refused only when required. The limit compares dates, not
// instants: comparing the date with now made the answer depend on the hour
// (a date a year on was refused in the first eight hours of a Melaka day,
// still the day before in UTC).
func Check(v string, now time.Time, earliestYear int, required bool) (string, string) {
	v = strings.TrimSpace(v)
	if v == "" {
		if required {
			return "", "is required (YYYY-MM-DD)"
		}
		return "", ""
	}
	t, err := time.Parse(DateLayout, v)
	switch {
	case err != nil || len(v) != len(DateLayout):
		return "", fmt.Sprintf("must be a date written YYYY-MM-DD, got %q", textfield.Clip(v))
	case t.Year() < earliestYear:
		return "", fmt.Sprintf("is before %d", earliestYear)
	case t.After(yearAhead(now)):
		return "", "is more than a year in the future"
	}
	return v, ""
}

// yearAhead is the latest date accepted at now: today's date in Melaka a
// year on, as time.Parse reads a date (midnight UTC).
func yearAhead(now time.Time) time.Time {
	y, m, d := now.In(Melaka).Date()
	return time.Date(y+1, m, d, 0, 0, 0, 0, time.UTC)
}
