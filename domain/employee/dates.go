package employee

import "time"

// Zone is Malaysia time (UTC+8, no daylight saving): a leaving date is a
// calendar date in Melaka, as the payment and statement dates are
// (payment.Zone), not a date in UTC.
var Zone = time.FixedZone("MYT", 8*60*60)

// Today is now's calendar date in Melaka, YYYY-MM-DD.
func Today(now time.Time) string { return now.In(Zone).Format(dateLayout) }

// HasLeft reports whether the leaving date leftOn (YYYY-MM-DD, "" for none)
// has come at now: a person is a leaver from the first moment of that date
// in Melaka, and in service, with the powers of their post, before it. The
// read side decides with it too, on the date it stores, so "in service" is
// always a question about now, never a flag set when the event arrived.
// Dates of one fixed width compare as text.
func HasLeft(leftOn string, now time.Time) bool {
	return leftOn != "" && Today(now) >= leftOn
}

// ServiceEndsAt is the moment leftOn begins in Melaka (midnight there): the
// first moment the person is a leaver. Zero for "" or a malformed date.
func ServiceEndsAt(leftOn string) time.Time {
	t, err := time.ParseInLocation(dateLayout, leftOn, Zone)
	if err != nil {
		return time.Time{}
	}
	return t
}
