package employee

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// Given a leaving date ahead, when it is cancelled (a resignation
// withdrawn), then LeavingCancelled names the date, and the person is in
// service with no leaving date: past the old date too.
func TestCancelLeavingAhead(t *testing.T) {
	scenario(t, []eventlog.Event{recorded(), leaving}, func(e *Employee) error {
		err := e.CancelLeaving(cmdA, " tarik balik  peletakan jawatan ", now)
		if e.LeftOn() != "" || !e.ServiceEnds().IsZero() || !e.InService(leavingStarts) || !e.InService(leavingStarts.AddDate(1, 0, 0)) {
			t.Errorf("after the cancel: left on %q, service ends %s, in service at the old date %v", e.LeftOn(), e.ServiceEnds(), e.InService(leavingStarts))
		}
		return err
	}, []eventlog.Event{LeavingCancelled{IC: ic, Date: leavingDate, Reason: "tarik balik peletakan jawatan", CommandID: cmdA.String()}}, nil)
	// Without a reason, and up to the last moment before the date.
	scenario(t, []eventlog.Event{recorded(), leaving},
		func(e *Employee) error { return e.CancelLeaving(uuid.Nil, "", leavingStarts.Add(-1)) },
		[]eventlog.Event{LeavingCancelled{IC: ic, Date: leavingDate}}, nil)
}

// Given a date that has come, the person has left: nothing is cancelled
// (recording them again is a rejoin). Under a command ID the refusal is
// recorded (CancellationRefused), so the same request gets it again.
func TestCancelLeavingAfterTheDateRefused(t *testing.T) {
	scenario(t, []eventlog.Event{recorded(), leaving},
		func(e *Employee) error { return e.CancelLeaving(cmdA, "", leavingStarts) },
		[]eventlog.Event{CancellationRefused{IC: ic, Code: RefusedLeftService, LeftOn: leavingDate, CommandID: cmdA.String()}}, ErrLeftService)
	scenario(t, []eventlog.Event{recorded(), StaffLeftService{IC: ic, Date: "2025-12-31"}},
		func(e *Employee) error { return e.CancelLeaving(cmdA, "", now) },
		[]eventlog.Event{CancellationRefused{IC: ic, Code: RefusedLeftService, LeftOn: "2025-12-31", CommandID: cmdA.String()}}, ErrLeftService)
	scenario(t, []eventlog.Event{recorded(), leaving},
		func(e *Employee) error { return e.CancelLeaving(uuid.Nil, "", leavingStarts) }, nil, ErrLeftService)
}

// Given no leaving date — never recorded, already cancelled, or recorded
// again after leaving — there is nothing to cancel; given no record, there
// is no one.
func TestCancelLeavingWithNothingScheduled(t *testing.T) {
	cancelled := LeavingCancelled{IC: ic, Date: leavingDate}
	for name, given := range map[string][]eventlog.Event{
		"no date":   {recorded()},
		"cancelled": {recorded(), leaving, cancelled},
		"rejoined":  {recorded(), StaffLeftService{IC: ic, Date: "2025-12-31"}, recorded()},
	} {
		t.Run(name, func(t *testing.T) {
			scenario(t, given, func(e *Employee) error { return e.CancelLeaving(uuid.Nil, "", now) }, nil, ErrNoLeavingDate)
		})
	}
	scenario(t, nil, func(e *Employee) error { return e.CancelLeaving(uuid.Nil, "", now) }, nil, ErrNotRecorded)
}

// Given a cancellation by cmdA, cmdA again is a repeat (nothing recorded),
// also after a later date was recorded and after the old date came; cmdA
// with another reason, or cmdA of another change, reuses the ID.
func TestCancelLeavingRepeatAndReuse(t *testing.T) {
	cancelled := LeavingCancelled{IC: ic, Date: leavingDate, Reason: "ditangguhkan", CommandID: cmdA.String()}
	scenario(t, []eventlog.Event{recorded(), leaving, cancelled},
		func(e *Employee) error { return e.CancelLeaving(cmdA, "ditangguhkan ", now) }, nil, nil)
	scenario(t, []eventlog.Event{recorded(), leaving, cancelled, StaffLeftService{IC: ic, Date: "2026-04-30"}},
		func(e *Employee) error { return e.CancelLeaving(cmdA, "ditangguhkan", leavingStarts) }, nil, nil)
	scenario(t, []eventlog.Event{recorded(), leaving, cancelled},
		func(e *Employee) error { return e.CancelLeaving(cmdA, "lain", now) }, nil, ErrCommandReused)
	left := leaving
	left.CommandID = cmdA.String()
	scenario(t, []eventlog.Event{recorded(), left},
		func(e *Employee) error { return e.CancelLeaving(cmdA, "", now) }, nil, ErrCommandReused)
	// The cancellation's ID used again for a record or a leave.
	scenario(t, []eventlog.Event{recorded(), leaving, cancelled},
		func(e *Employee) error { return e.LeaveService(cmdA, "2026-04-30", "", now) }, nil, ErrCommandReused)
	scenario(t, []eventlog.Event{recorded(), leaving, cancelled},
		func(e *Employee) error { _, err := e.Put(cmdA, details(), now); return err }, nil, ErrCommandReused)
}

// After a cancellation a new leaving date may be recorded, and the record
// updates as for anyone in service.
func TestLeaveServiceAfterACancellation(t *testing.T) {
	given := []eventlog.Event{recorded(), leaving, LeavingCancelled{IC: ic, Date: leavingDate}}
	scenario(t, given,
		func(e *Employee) error { return e.LeaveService(uuid.Nil, leavingDate, "bersara", now) },
		[]eventlog.Event{leaving}, nil)
	scenario(t, given, func(e *Employee) error { _, err := e.Put(uuid.Nil, details(), leavingStarts); return err }, nil, nil)
}

func TestCancelLeavingChecksTheReason(t *testing.T) {
	var fe *FieldError
	e := New()
	for _, ev := range []eventlog.Event{recorded(), leaving} {
		if err := e.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []string{strings.Repeat("r", maxReason+1), "baris\nbaru"} {
		if err := e.CancelLeaving(uuid.Nil, bad, now); !errors.As(err, &fe) || fe.Field != "reason" {
			t.Fatalf("reason %.20q: %v", bad, err)
		}
	}
	if len(e.Uncommitted()) != 0 {
		t.Fatal("a refused cancellation recorded an event")
	}
}

// A LeavingCancelled of another stream or before the record does not apply.
func TestApplyLeavingCancelledChecksTheStream(t *testing.T) {
	for _, given := range [][]eventlog.Event{nil, {recorded()}} {
		e := New()
		for _, ev := range given {
			if err := e.Apply(ev); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Apply(LeavingCancelled{IC: "850203145432", Date: leavingDate}); !errors.Is(err, ErrWrongStream) {
			t.Fatalf("given %d events: %v", len(given), err)
		}
	}
}
