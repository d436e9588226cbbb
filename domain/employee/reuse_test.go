package employee

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/eventlog/eventlogtest"
)

var cmdA = uuid.MustParse("6f1c1d64-0a43-4c53-9a43-3c1f6f1f0a01")

func recordedBy(cmd uuid.UUID) StaffRecorded {
	ev := recorded()
	ev.CommandID = cmd.String()
	return ev
}

func TestPutKeepsItsCommandID(t *testing.T) {
	scenario(t, nil, func(e *Employee) error { _, err := e.Put(cmdA, details(), now); return err },
		[]eventlog.Event{recordedBy(cmdA)}, nil)
}

func TestPutRepeatedAfterALaterChangeRecordsNothing(t *testing.T) {
	// Given the record put by cmdA, then changed by another command, when
	// cmdA arrives again (a late retry), it is a repeat: the later change
	// stands.
	later := updated()
	later.Post = "Penolong Akauntan"
	scenario(t, []eventlog.Event{recordedBy(cmdA), later},
		func(e *Employee) error { _, err := e.Put(cmdA, details(), now); return err }, nil, nil)
}

func TestPutWithReusedCommandIDRefused(t *testing.T) {
	d := details()
	d.Post = "Akauntan"
	scenario(t, []eventlog.Event{recordedBy(cmdA)},
		func(e *Employee) error { _, err := e.Put(cmdA, d, now); return err }, nil, ErrCommandReused)
}

func TestLeaveServiceRepeatedRecordsNothing(t *testing.T) {
	left := StaffLeftService{IC: ic, Date: "2026-02-28", Reason: "bersara", CommandID: cmdA.String()}
	scenario(t, []eventlog.Event{recorded(), left},
		func(e *Employee) error { return e.LeaveService(cmdA, " 2026-02-28", "bersara ", now) }, nil, nil)
}

func TestLeaveServiceWithReusedCommandIDRefused(t *testing.T) {
	left := StaffLeftService{IC: ic, Date: "2026-02-28", CommandID: cmdA.String()}
	scenario(t, []eventlog.Event{recorded(), left},
		func(e *Employee) error { return e.LeaveService(cmdA, "2026-01-31", "", now) }, nil, ErrCommandReused)
	scenario(t, []eventlog.Event{recordedBy(cmdA)},
		func(e *Employee) error { return e.LeaveService(cmdA, "2026-01-31", "", now) }, nil, ErrCommandReused)
}

func TestEventWithoutCommandIDStillReplays(t *testing.T) {
	// Events stored before the command ID was kept carry none: they replay,
	// and a command never matches them, so a change is recorded under its
	// own ID rather than refused as a reuse.
	d := details()
	d.Post = "Akauntan"
	want := updated()
	want.Post, want.CommandID = "Akauntan", cmdA.String()
	scenario(t, []eventlog.Event{recorded()},
		func(e *Employee) error { _, err := e.Put(cmdA, d, now); return err }, []eventlog.Event{want}, nil)
}

// Given a put that changed nothing when it came (the master already had
// that record) and a later put that changed the record, when the first is
// sent again (a finance system re-sending a keyed PUT), then it is answered
// as a repeat: nothing recorded, the later record stays. Before, the first
// recorded nothing under its ID, so the resend was applied as a new update
// and undid the later one.
func TestUnchangedPutSentAgainAfterAChange(t *testing.T) {
	cmdB := uuid.MustParse("6f1c1d64-0a43-4c53-9a43-3c1f6f1f0a02")
	e := New()
	if err := e.Apply(recorded()); err != nil {
		t.Fatal(err)
	}
	changed, err := e.Put(cmdA, details(), now)
	if err != nil || changed {
		t.Fatalf("unchanged put: changed %v, %v", changed, err)
	}
	ev := e.Uncommitted()
	if len(ev) != 1 {
		t.Fatalf("unchanged put: %d events, want its StaffUnchanged", len(ev))
	}
	if u, ok := ev[0].(StaffUnchanged); !ok || u.CommandID != cmdA.String() || u.Post != "Pegawai Kewangan" || u.IC != ic {
		t.Fatalf("unchanged put recorded %#v", ev[0])
	}
	later := details()
	later.Post = "Akauntan"
	if changed, err := e.Put(cmdB, later, now); err != nil || !changed {
		t.Fatalf("later put: changed %v, %v", changed, err)
	}

	// The state rebuilt from the stream (through the registry) knows the
	// first command too.
	reg := eventlog.NewRegistry()
	Register(reg)
	replayed := New()
	for _, ev := range append([]eventlog.Event{recorded()}, e.Uncommitted()...) {
		typ, env := eventlogtest.RoundTrip(t, reg, ev)
		if _, marker := ev.(StaffUnchanged); marker && typ != "employee.StaffUnchanged.v1" {
			t.Fatalf("event type %q", typ)
		}
		if err := replayed.Apply(env.Event); err != nil {
			t.Fatal(err)
		}
	}
	for name, agg := range map[string]*Employee{"in memory": e, "replayed": replayed} {
		n := len(agg.Uncommitted())
		if changed, err := agg.Put(cmdA, details(), now); err != nil || changed {
			t.Fatalf("%s: resent: changed %v, %v", name, changed, err)
		}
		if len(agg.Uncommitted()) != n || agg.Details().Post != "Akauntan" {
			t.Fatalf("%s: resent: %d → %d events, post %q, want the later put kept", name, n, len(agg.Uncommitted()), agg.Details().Post)
		}
		// Another record under its ID is still a reused ID.
		other := details()
		other.Department = "Jabatan Lain"
		if _, err := agg.Put(cmdA, other, now); !errors.Is(err, ErrCommandReused) {
			t.Fatalf("%s: another record under the unchanged put's ID: %v", name, err)
		}
	}
}

func TestUnchangedPutWithoutCommandIDRecordsNothing(t *testing.T) {
	scenario(t, []eventlog.Event{recorded()},
		func(e *Employee) error { _, err := e.Put(uuid.Nil, details(), now); return err }, nil, nil)
}
