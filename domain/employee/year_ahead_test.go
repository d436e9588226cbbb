package employee

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// "More than a year in the future" is a question about calendar dates in
// Melaka: every hour of 10 March 2026 there (which starts on 9 March in
// UTC) accepts 10 March 2027 and refuses 11 March 2027.
func TestLeavingDateAYearAheadIsTheMelakaDate(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2026, 3, 9, 16, 0, 0, 0, time.UTC),   // 00:00 MYT
		time.Date(2026, 3, 9, 23, 59, 0, 0, time.UTC),  // 07:59 MYT
		time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC),   // 10:00 MYT
		time.Date(2026, 3, 10, 15, 59, 0, 0, time.UTC), // 23:59 MYT
	} {
		scenario(t, []eventlog.Event{recorded()}, func(e *Employee) error { return e.LeaveService(uuid.Nil, "2027-03-10", "", at) },
			[]eventlog.Event{StaffLeftService{IC: ic, Date: "2027-03-10"}}, nil)
		scenario(t, []eventlog.Event{recorded()}, func(e *Employee) error { return e.LeaveService(uuid.Nil, "2027-03-11", "", at) }, nil, ErrInvalid)
	}
}
