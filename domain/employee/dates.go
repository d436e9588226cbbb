package employee

import (
	"time"

	"github.com/melaka-gov/ispeks/domain/calendar"
)

// HasLeft reports whether the leaving date leftOn (YYYY-MM-DD, "" for none)
// has come at now: a person is a leaver from the first moment of that date
// in Melaka, and in service, with the powers of their post, before it. The
// read side decides with it too, on the date it stores, so "in service" is
// always a question about now, never a flag set when the event arrived.
// Dates of one fixed width compare as text.
func HasLeft(leftOn string, now time.Time) bool {
	return leftOn != "" && calendar.Today(now) >= leftOn
}

// ServiceEndsAt is the moment leftOn begins in Melaka (midnight there): the
// first moment the person is a leaver. Zero for "" or a malformed date.
func ServiceEndsAt(leftOn string) time.Time { return calendar.StartOf(leftOn) }
