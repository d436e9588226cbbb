package employee

import (
	"errors"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/eventlog/eventlogtest"
)

// rebuilt rebuilds an employee from events passed through the registry,
// as the store gives them back.
func rebuilt(t *testing.T, events []eventlog.Event) *Employee {
	t.Helper()
	reg := eventlog.NewRegistry()
	Register(reg)
	e := New()
	for _, ev := range events {
		_, env := eventlogtest.RoundTrip(t, reg, ev)
		if err := e.Apply(env.Event); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// Given a record with no leaving date, when a cancellation comes under
// cmdA, then it is refused (ErrNoLeavingDate) and CancellationRefused is
// recorded; when a date has since been reported (cmdB) and cmdA comes
// again, then it gets the same refusal and the date stands. Before, the
// resend was decided anew and cancelled the date reported after it.
func TestRefusedCancellationSentAgainAfterADateWasReported(t *testing.T) {
	e := New()
	if err := e.Apply(recorded()); err != nil {
		t.Fatal(err)
	}
	if err := e.CancelLeaving(cmdA, "batal", now); !errors.Is(err, ErrNoLeavingDate) {
		t.Fatalf("cancel with no date: %v", err)
	}
	want := CancellationRefused{IC: ic, Reason: "batal", Code: RefusedNoLeavingDate, CommandID: cmdA.String()}
	if got := e.Uncommitted(); len(got) != 1 || got[0] != want {
		t.Fatalf("refused cancellation recorded %#v, want %#v", got, want)
	}
	if err := e.LeaveService(cmdB, leavingDate, "bersara", now); err != nil {
		t.Fatal(err)
	}
	events := append([]eventlog.Event{recorded()}, e.Uncommitted()...)
	for name, agg := range map[string]*Employee{"in memory": e, "replayed": rebuilt(t, events)} {
		n := len(agg.Uncommitted())
		if err := agg.CancelLeaving(cmdA, "batal", now.Add(time.Hour)); !errors.Is(err, ErrNoLeavingDate) {
			t.Fatalf("%s: resent: %v, want the first refusal", name, err)
		}
		if len(agg.Uncommitted()) != n || agg.LeftOn() != leavingDate {
			t.Fatalf("%s: resent: %d → %d events, left on %q", name, n, len(agg.Uncommitted()), agg.LeftOn())
		}
		if err := agg.CancelLeaving(cmdA, "sebab lain", now); !errors.Is(err, ErrCommandReused) {
			t.Fatalf("%s: another cancellation under the refused one's ID: %v", name, err)
		}
	}
}

// Given a person who left on 31 December, when another leaving date is
// reported under cmdA, then it is refused (naming 31 December) and
// LeavingDateRefused is recorded; when they have since rejoined (cmdB) and
// cmdA comes again, then it gets the same refusal and they stay in
// service. Before, the resend made the rejoiner a leaver again.
func TestRefusedLeavingDateSentAgainAfterARejoin(t *testing.T) {
	left := StaffLeftService{IC: ic, Date: "2025-12-31"}
	e := New()
	for _, ev := range []eventlog.Event{recorded(), left} {
		if err := e.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	var lse *LeftServiceError
	if err := e.LeaveService(cmdA, "2026-04-30", "", now); !errors.As(err, &lse) || lse.On != "2025-12-31" || !errors.Is(err, ErrLeftService) {
		t.Fatalf("another date after leaving: %v", err)
	}
	want := LeavingDateRefused{IC: ic, Date: "2026-04-30", Code: RefusedLeftService, LeftOn: "2025-12-31", CommandID: cmdA.String()}
	if got := e.Uncommitted(); len(got) != 1 || got[0] != want {
		t.Fatalf("refused report recorded %#v, want %#v", got, want)
	}
	if err := e.Record(cmdB, details(), now); err != nil {
		t.Fatal(err)
	}
	events := append([]eventlog.Event{recorded(), left}, e.Uncommitted()...)
	for name, agg := range map[string]*Employee{"in memory": e, "replayed": rebuilt(t, events)} {
		n := len(agg.Uncommitted())
		err := agg.LeaveService(cmdA, "2026-04-30", "", now.Add(time.Hour))
		if !errors.As(err, &lse) || lse.On != "2025-12-31" {
			t.Fatalf("%s: resent: %v, want the first refusal", name, err)
		}
		if len(agg.Uncommitted()) != n || !agg.InService(now.AddDate(0, 6, 0)) || agg.LeftOn() != "" {
			t.Fatalf("%s: resent: %d → %d events, left on %q", name, n, len(agg.Uncommitted()), agg.LeftOn())
		}
		if err := agg.LeaveService(cmdA, "2026-05-01", "", now); !errors.Is(err, ErrCommandReused) {
			t.Fatalf("%s: another date under the refused report's ID: %v", name, err)
		}
	}
}
