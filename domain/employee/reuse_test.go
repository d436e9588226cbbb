package employee

import (
	"testing"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
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
