package employee

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// The tests' now is 2 March 2026, 17:00 in Melaka; the leaving date below
// is three days ahead.
const leavingDate = "2026-03-05"

var (
	// leavingStarts is the first moment of leavingDate in Melaka.
	leavingStarts = time.Date(2026, 3, 4, 16, 0, 0, 0, time.UTC)
	leaving       = StaffLeftService{IC: ic, Date: leavingDate, Reason: "bersara"}
)

// Given a leaving date ahead, the person is in service until that date
// begins in Melaka (not in UTC, and not from the moment it was reported),
// and a leaver from then on.
func TestInServiceUntilTheLeavingDateInMelaka(t *testing.T) {
	e := New()
	for _, ev := range []eventlog.Event{recorded(), leaving} {
		if err := e.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	for at, want := range map[time.Time]bool{
		now:                              true,
		leavingStarts.Add(-time.Minute):  true,  // 23:59 on 4 March in Melaka
		leavingStarts:                    false, // 00:00 on 5 March in Melaka, still 4 March in UTC
		leavingStarts.Add(8 * time.Hour): false,
		leavingStarts.AddDate(0, 2, 0):   false,
		time.Date(2026, 3, 4, 15, 0, 0, 0, time.UTC): true,
	} {
		if got := e.InService(at); got != want {
			t.Errorf("InService(%s) = %v, want %v", at.In(calendar.Melaka).Format(time.DateTime), got, want)
		}
	}
	if !e.ServiceEnds().Equal(leavingStarts) || e.LeftOn() != leavingDate {
		t.Errorf("ServiceEnds %s, LeftOn %q", e.ServiceEnds(), e.LeftOn())
	}
	if !New().ServiceEnds().IsZero() {
		t.Error("ServiceEnds of a record without a leaving date is not zero")
	}
	if HasLeft("", now) {
		t.Error("no leaving date counts as left")
	}
}

// Given a leaving date ahead, when the finance system puts the record with a
// new post, then the record is updated (the person is still in service) and
// the leaving date stands: the nightly import does not cancel a retirement
// reported in advance. An identical put records nothing.
func TestPutBeforeTheLeavingDateUpdatesAndKeepsTheDate(t *testing.T) {
	d := details()
	d.Post = "Penolong Akauntan"
	want := updated()
	want.Post = "Penolong Akauntan"
	scenario(t, []eventlog.Event{recorded(), leaving}, func(e *Employee) error {
		changed, err := e.Put(uuid.Nil, d, now)
		if !changed {
			t.Error("Put reported no change")
		}
		if !e.InService(now) || e.InService(leavingStarts) || e.LeftOn() != leavingDate {
			t.Errorf("after Put: in service now %v, at the date %v, left on %q", e.InService(now), e.InService(leavingStarts), e.LeftOn())
		}
		return err
	}, []eventlog.Event{want}, nil)
	scenario(t, []eventlog.Event{recorded(), leaving}, func(e *Employee) error {
		_, err := e.Put(uuid.Nil, details(), now)
		return err
	}, nil, nil)
	scenario(t, []eventlog.Event{recorded(), leaving},
		func(e *Employee) error { return e.Update(uuid.Nil, d, now) }, []eventlog.Event{want}, nil)
	scenario(t, []eventlog.Event{recorded(), leaving},
		func(e *Employee) error { return e.Record(uuid.Nil, details(), now) }, nil, ErrAlreadyRecorded)
}

// Given a leaving date that has come, a put records the person again (they
// rejoined) and an update is refused, as for any leaver.
func TestPutOnTheLeavingDateRejoins(t *testing.T) {
	scenario(t, []eventlog.Event{recorded(), leaving}, func(e *Employee) error {
		_, err := e.Put(uuid.Nil, details(), leavingStarts)
		if !e.InService(leavingStarts) || e.LeftOn() != "" {
			t.Errorf("rejoined: in service %v, left on %q", e.InService(leavingStarts), e.LeftOn())
		}
		return err
	}, []eventlog.Event{recorded()}, nil)
	scenario(t, []eventlog.Event{recorded(), leaving},
		func(e *Employee) error { return e.Update(uuid.Nil, details(), leavingStarts) }, nil, ErrLeftService)
}

// Given a leaving date ahead, another date replaces it (a retirement moved);
// the same date again has nothing new to record; once the date has come the
// person has left and the date no longer moves.
func TestLeaveServiceMovesADateStillAhead(t *testing.T) {
	scenario(t, []eventlog.Event{recorded(), leaving},
		func(e *Employee) error { return e.LeaveService(uuid.Nil, "2026-04-30", "bersara", now) },
		[]eventlog.Event{StaffLeftService{IC: ic, Date: "2026-04-30", Reason: "bersara"}}, nil)
	scenario(t, []eventlog.Event{recorded(), leaving},
		func(e *Employee) error { return e.LeaveService(uuid.Nil, "2026-03-03", "", now) },
		[]eventlog.Event{StaffLeftService{IC: ic, Date: "2026-03-03"}}, nil)
	scenario(t, []eventlog.Event{recorded(), leaving},
		func(e *Employee) error { return e.LeaveService(uuid.Nil, leavingDate, "bersara", now) }, nil, ErrLeftService)
	scenario(t, []eventlog.Event{recorded(), leaving},
		func(e *Employee) error { return e.LeaveService(uuid.Nil, "2026-04-30", "", leavingStarts) }, nil, ErrLeftService)
}
