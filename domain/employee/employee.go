// Package employee is the employee master: who may register for the portal.
// One aggregate per person, stream "employee-<IC>", fed by the CSV import, the
// admin upload and the finance API.
package employee

import (
	"errors"
	"fmt"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/mykad"
)

// Errors of the employee aggregate.
var (
	ErrInvalid         = errors.New("employee: invalid input")
	ErrNotRecorded     = errors.New("employee: no staff record for this IC number")
	ErrAlreadyRecorded = errors.New("employee: staff record already exists")
	ErrLeftService     = errors.New("employee: staff has left service")
	ErrWrongStream     = errors.New("employee: event belongs to another staff record")
)

// Stream is the event stream of the staff member with IC number ic (digits).
func Stream(ic mykad.IC) string { return "employee-" + ic.String() }

// Register adds the employee events to the registry.
func Register(reg *eventlog.Registry) {
	eventlog.Register[StaffRecorded](reg)
	eventlog.Register[StaffUpdated](reg)
	eventlog.Register[StaffLeftService](reg)
}

// StaffRecorded: a person entered the master (or re-entered it after leaving
// service). It carries the whole record.
type StaffRecorded struct {
	IC          string `json:"ic"`
	Name        string `json:"name"`
	Email       string `json:"email"`
	Department  string `json:"department"`
	Post        string `json:"post"`
	StaffNumber string `json:"staff_number"`
}

// StaffUpdated replaces the record's fields with new values (the whole
// record, so a reader never has to merge).
type StaffUpdated struct {
	IC          string `json:"ic"`
	Name        string `json:"name"`
	Email       string `json:"email"`
	Department  string `json:"department"`
	Post        string `json:"post"`
	StaffNumber string `json:"staff_number"`
}

// StaffLeftService: the person left government service on Date
// (YYYY-MM-DD). Their record stays; they can no longer register.
type StaffLeftService struct {
	IC     string `json:"ic"`
	Date   string `json:"date"`
	Reason string `json:"reason,omitempty"`
}

func (StaffRecorded) EventType() string    { return "employee.StaffRecorded.v1" }
func (StaffUpdated) EventType() string     { return "employee.StaffUpdated.v1" }
func (StaffLeftService) EventType() string { return "employee.StaffLeftService.v1" }

// Employee is the staff-record aggregate. The zero value is a person not (yet)
// in the master; rebuild it with Apply.
type Employee struct {
	eventlog.Changes

	ic       string
	details  Details
	recorded bool
	left     bool
	leftOn   string
}

// New returns an empty aggregate, for commands.Execute.
func New() *Employee { return &Employee{} }

// Recorded reports whether the person is in the master (even if they left).
func (e *Employee) Recorded() bool { return e.recorded }

// InService reports whether the person is in the master and has not left.
func (e *Employee) InService() bool { return e.recorded && !e.left }

// Details returns the current record (zero if not recorded).
func (e *Employee) Details() Details { return e.details }

// LeftOn returns the date the person left service ("" if in service).
func (e *Employee) LeftOn() string { return e.leftOn }

// Record enters a person into the master. A person who left service may be
// recorded again (they rejoined).
func (e *Employee) Record(d Details, now time.Time) error {
	d, err := d.Validate()
	if err != nil {
		return err
	}
	if e.InService() {
		return ErrAlreadyRecorded
	}
	if e.recorded && e.ic != d.IC {
		return ErrWrongStream
	}
	return e.record(StaffRecorded(d.event()))
}

// Update replaces the record of a person in service. Updating to the same
// values records nothing.
func (e *Employee) Update(d Details, now time.Time) error {
	d, err := d.Validate()
	if err != nil {
		return err
	}
	switch {
	case !e.recorded:
		return ErrNotRecorded
	case e.left:
		return ErrLeftService
	case e.ic != d.IC:
		return ErrWrongStream
	case e.details == d:
		return nil
	}
	return e.record(StaffUpdated(d.event()))
}

// Put records or updates, whichever is needed: the upsert the CSV import and
// the finance API use. It reports whether anything changed.
func (e *Employee) Put(d Details, now time.Time) (changed bool, err error) {
	before := len(e.Uncommitted())
	if e.InService() {
		err = e.Update(d, now)
	} else {
		err = e.Record(d, now)
	}
	return len(e.Uncommitted()) > before, err
}

// LeaveService records that the person left service on date (YYYY-MM-DD, not
// later than a year from now).
func (e *Employee) LeaveService(date, reason string, now time.Time) error {
	date, err := validDate("date", date, now)
	if err != nil {
		return err
	}
	reason, ferr := text("reason", reason, maxReason, false)
	if ferr != nil {
		return ferr
	}
	switch {
	case !e.recorded:
		return ErrNotRecorded
	case e.left:
		return ErrLeftService
	}
	return e.record(StaffLeftService{IC: e.ic, Date: date, Reason: reason})
}

func (e *Employee) record(ev eventlog.Event) error {
	if err := e.Apply(ev); err != nil {
		return err
	}
	e.Add(ev)
	return nil
}

// Apply rebuilds state from one event.
func (e *Employee) Apply(ev eventlog.Event) error {
	switch ev := ev.(type) {
	case StaffRecorded:
		if e.recorded && e.ic != ev.IC {
			return fmt.Errorf("%w: %s", ErrWrongStream, ev.EventType())
		}
		e.ic, e.recorded, e.left, e.leftOn = ev.IC, true, false, ""
		e.details = detailsOf(ev.IC, ev.Name, ev.Email, ev.Department, ev.Post, ev.StaffNumber)
	case StaffUpdated:
		if !e.recorded || e.ic != ev.IC {
			return fmt.Errorf("%w: %s before StaffRecorded or for another IC", ErrWrongStream, ev.EventType())
		}
		e.details = detailsOf(ev.IC, ev.Name, ev.Email, ev.Department, ev.Post, ev.StaffNumber)
	case StaffLeftService:
		if !e.recorded || e.ic != ev.IC {
			return fmt.Errorf("%w: %s before StaffRecorded or for another IC", ErrWrongStream, ev.EventType())
		}
		e.left, e.leftOn = true, ev.Date
	default:
		return fmt.Errorf("employee: cannot apply event %T (%s)", ev, ev.EventType())
	}
	return nil
}
