package employee

import (
	"testing"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/eventlog/eventlogtest"
)

var cmdB = uuid.MustParse("6f1c1d64-0a43-4c53-9a43-3c1f6f1f0a02")

// unchangedBy is the LeavingDateUnchanged cmdA records for leaving again.
func unchangedBy(cmd uuid.UUID) LeavingDateUnchanged {
	return LeavingDateUnchanged{IC: ic, Date: leaving.Date, Reason: leaving.Reason, CommandID: cmd.String()}
}

// Given a leaving date ahead, when the same date is reported under a
// command ID, then nothing changes but LeavingDateUnchanged is recorded
// under that ID (before: ErrLeftService, nothing recorded). So is the date
// of someone who has already left. Without a command ID no repeat could
// be told: still ErrLeftService.
func TestSameLeavingDateIsRecordedUnderItsCommandID(t *testing.T) {
	scenario(t, []eventlog.Event{recorded(), leaving},
		func(e *Employee) error { return e.LeaveService(cmdA, " "+leavingDate, "bersara", now) },
		[]eventlog.Event{unchangedBy(cmdA)}, nil)
	scenario(t, []eventlog.Event{recorded(), leaving},
		func(e *Employee) error { return e.LeaveService(cmdA, leavingDate, "", leavingStarts) },
		[]eventlog.Event{LeavingDateUnchanged{IC: ic, Date: leavingDate, CommandID: cmdA.String()}}, nil)
	scenario(t, []eventlog.Event{recorded(), leaving},
		func(e *Employee) error { return e.LeaveService(uuid.Nil, leavingDate, "bersara", now) }, nil, ErrLeftService)
	// Another date for someone who has left is still refused; the
	// refusal is recorded under the ID (LeavingDateRefused).
	scenario(t, []eventlog.Event{recorded(), leaving},
		func(e *Employee) error { return e.LeaveService(cmdA, "2026-04-30", "", leavingStarts) },
		[]eventlog.Event{LeavingDateRefused{IC: ic, Date: "2026-04-30", Code: RefusedLeftService, LeftOn: leavingDate, CommandID: cmdA.String()}}, ErrLeftService)
}

// Given a report of the date the record had (cmdA), then a change — the
// date moved by cmdB, the date cancelled, or, once the date had come, the
// person recorded again (rejoined) — when cmdA is sent again (a finance
// system re-sending a keyed POST), then it is a repeat: nothing recorded,
// the change stands. Before, cmdA was unknown and the resend moved the date
// back, scheduled the cancelled one again or made the rejoiner a leaver.
// cmdA with another date or reason reuses the ID.
func TestSameLeavingDateSentAgainAfterAChange(t *testing.T) {
	moved := StaffLeftService{IC: ic, Date: "2026-04-30", Reason: "bersara", CommandID: cmdB.String()}
	for name, tc := range map[string]struct {
		given  []eventlog.Event
		leftOn string
	}{
		"moved":     {given: []eventlog.Event{recorded(), leaving, unchangedBy(cmdA), moved}, leftOn: "2026-04-30"},
		"cancelled": {given: []eventlog.Event{recorded(), leaving, unchangedBy(cmdA), LeavingCancelled{IC: ic, Date: leavingDate, CommandID: cmdB.String()}}},
		"rejoined":  {given: []eventlog.Event{recorded(), leaving, unchangedBy(cmdA), recordedBy(cmdB)}},
	} {
		t.Run(name, func(t *testing.T) {
			given := replayed(t, tc.given)
			scenario(t, given, func(e *Employee) error {
				err := e.LeaveService(cmdA, leavingDate, "bersara", leavingStarts)
				if e.LeftOn() != tc.leftOn {
					t.Errorf("leaving date %q after the resend, want %q", e.LeftOn(), tc.leftOn)
				}
				return err
			}, nil, nil)
			scenario(t, given,
				func(e *Employee) error { return e.LeaveService(cmdA, "2026-04-29", "bersara", now) }, nil, ErrCommandReused)
			scenario(t, given,
				func(e *Employee) error { return e.LeaveService(cmdA, leavingDate, "", now) }, nil, ErrCommandReused)
			scenario(t, given,
				func(e *Employee) error { return e.CancelLeaving(cmdA, "bersara", now) }, nil, ErrCommandReused)
		})
	}
}

// replayed passes events through the registry, as the store returns them:
// the event type is registered and the command ID survives.
func replayed(t *testing.T, events []eventlog.Event) []eventlog.Event {
	t.Helper()
	reg := eventlog.NewRegistry()
	Register(reg)
	out := make([]eventlog.Event, 0, len(events))
	for _, ev := range events {
		typ, env := eventlogtest.RoundTrip(t, reg, ev)
		if _, marker := ev.(LeavingDateUnchanged); marker && (typ != "employee.LeavingDateUnchanged.v1" || env.Event != ev) {
			t.Fatalf("%s replayed as %#v", typ, env.Event)
		}
		out = append(out, env.Event)
	}
	return out
}
