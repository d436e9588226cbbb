// Package employee is the employee master: who may register for the portal.
// One aggregate per person, stream "employee-<IC>", fed by the CSV import, the
// admin upload and the finance API.
package employee

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

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
	// ErrNoLeavingDate: a cancellation found no leaving date to cancel.
	ErrNoLeavingDate = errors.New("employee: no leaving date to cancel")
	// ErrCommandReused: the command ID (a finance system's Idempotency-Key)
	// already recorded a different change to this record
	// (eventlog.ErrCommandReused).
	ErrCommandReused = eventlog.CommandReused("employee")
)

// LeftServiceError is ErrLeftService naming the date the person left, which
// the refusal of a leaving date tells the client.
type LeftServiceError struct{ On string }

func (e *LeftServiceError) Error() string { return ErrLeftService.Error() + " (on " + e.On + ")" }

// Is makes errors.Is(err, ErrLeftService) true.
func (e *LeftServiceError) Is(target error) bool { return target == ErrLeftService }

// Refusal codes a refusal event carries: the kind of refusal, as the
// client was told it.
const (
	RefusedLeftService   = "left_service"
	RefusedNoLeavingDate = "no_leaving_date"
)

// Stream is the event stream of the staff member with IC number ic (digits).
func Stream(ic mykad.IC) string { return "employee-" + ic.String() }

// Register adds the employee events to the registry.
func Register(reg *eventlog.Registry) {
	eventlog.Register[StaffRecorded](reg)
	eventlog.Register[StaffUpdated](reg)
	eventlog.Register[StaffUnchanged](reg)
	eventlog.Register[StaffLeftService](reg)
	eventlog.Register[LeavingDateUnchanged](reg)
	eventlog.Register[LeavingCancelled](reg)
	eventlog.Register[LeavingDateRefused](reg)
	eventlog.Register[CancellationRefused](reg)
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
	// CommandID is the command that recorded it, so a repeat can be told
	// from the same ID reused for another change (absent in events stored
	// before it was kept, and when the command had no ID).
	CommandID string `json:"command_id,omitempty"`
	// PreviousEmail is set on a rejoin (recorded again after leaving
	// service) whose official e-mail differs from the one the record had:
	// the portal account follows it as it follows an update's.
	PreviousEmail string `json:"previous_email,omitempty"`
	// PreviousName is set on a rejoin whose name differs from the one the
	// record had: the portal account's name follows it
	// (commands.NameFollower).
	PreviousName string `json:"previous_name,omitempty"`
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
	// CommandID is the command that recorded it, so a repeat can be told
	// from the same ID reused for another change (absent in events stored
	// before it was kept, and when the command had no ID).
	CommandID string `json:"command_id,omitempty"`
	// PreviousEmail is the official e-mail the record had before, set only
	// when this update changed it: the portal account's address follows
	// the master from it (commands.EmailFollower). Events stored before it
	// was kept have none, and are not followed.
	PreviousEmail string `json:"previous_email,omitempty"`
	// PreviousName is the name the record had before, set only when this
	// update changed it (HR corrected it): the portal account's name, which
	// every mail greets the person by, follows it (commands.NameFollower).
	// Events stored before it was kept have none, and are not followed.
	PreviousName string `json:"previous_name,omitempty"`
}

// StaffUnchanged: an update asked for the record the master already had,
// so nothing changed. It is recorded under the update's command ID so that
// the same request sent again later (a finance system's keyed PUT re-sent
// after another update) is answered as a repeat, not applied then and made
// to undo that update. It carries the record asked for: without it a repeat
// could not be told from the ID reused for another change
// (ErrCommandReused). Views and followers ignore it (eventlog.NoChange).
type StaffUnchanged struct {
	Details
	CommandID string `json:"command_id"`
}

// NoChange marks the event as changing nothing (eventlog.NoChange).
func (StaffUnchanged) NoChange() {}

func (d Details) unchanged(cmd uuid.UUID) StaffUnchanged {
	return StaffUnchanged{Details: d, CommandID: cmd.String()}
}

// StaffLeftService: the person leaves government service on Date
// (YYYY-MM-DD, a calendar date in Melaka). Finance systems report a
// retirement or resignation ahead of time, so Date may be later than the
// event: until Date the person is still in service (InService), from Date
// on they are a leaver. Their record stays; a leaver can no longer
// register. A later StaffLeftService while the date is still ahead moves
// it.
type StaffLeftService struct {
	IC     string `json:"ic"`
	Date   string `json:"date"`
	Reason string `json:"reason,omitempty"`
	// CommandID: as in StaffRecorded.
	CommandID string `json:"command_id,omitempty"`
}

// LeavingDateUnchanged: a leaving date was reported that the record
// already had, so nothing changed. Like StaffUnchanged it is recorded under
// the command's ID so that the same report sent again later (a keyed POST
// re-sent after another report moved the date, or after a cancellation or
// a rejoin) is answered as a repeat, not applied then and made to undo that
// change. It carries the date and reason asked for, so a repeat is told
// from the ID reused for another report (ErrCommandReused). Views and
// followers ignore it (eventlog.NoChange).
type LeavingDateUnchanged struct {
	IC        string `json:"ic"`
	Date      string `json:"date"`
	Reason    string `json:"reason,omitempty"`
	CommandID string `json:"command_id"`
}

// NoChange marks the event as changing nothing (eventlog.NoChange).
func (LeavingDateUnchanged) NoChange() {}

// LeavingCancelled: the leaving date recorded for the person (Date, still
// ahead when it was cancelled) no longer stands: a resignation withdrawn,
// a retirement put off with no new date. They stay in service with no
// leaving date; a later StaffLeftService records a new one.
type LeavingCancelled struct {
	IC     string `json:"ic"`
	Date   string `json:"date"`
	Reason string `json:"reason,omitempty"`
	// CommandID: as in StaffRecorded.
	CommandID string `json:"command_id,omitempty"`
}

// LeavingDateRefused: a leaving date reported under a command ID was
// refused because the person had already left on another date
// (ErrLeftService). It is recorded so that the same report sent again
// later (after a rejoin, when it would apply) gets the same refusal
// instead of being decided anew and making the rejoiner a leaver long
// after its sender was told no. It carries the date and reason asked for
// (to tell a repeat from the ID reused) and the date the person had left
// on, which the refusal names. It changes nothing (eventlog.NoChange):
// views, followers and sessions ignore it, and a command with a
// server-made ID appends none.
type LeavingDateRefused struct {
	IC        string `json:"ic"`
	Date      string `json:"date"`
	Reason    string `json:"reason,omitempty"`
	Code      string `json:"code"`
	LeftOn    string `json:"left_on"`
	CommandID string `json:"command_id"`
}

// NoChange marks the event as changing nothing (eventlog.NoChange).
func (LeavingDateRefused) NoChange() {}

func (r LeavingDateRefused) err() error { return &LeftServiceError{On: r.LeftOn} }

// CancellationRefused: a cancellation of the leaving date under a command
// ID was refused, with Code RefusedNoLeavingDate (no date to cancel) or
// RefusedLeftService (the date had come; LeftOn names it). Recorded, like
// LeavingDateRefused, so that the same cancellation sent again after a
// date was reported gets the same refusal instead of cancelling that date.
// It carries the reason asked for, to tell a repeat from the ID reused.
type CancellationRefused struct {
	IC        string `json:"ic"`
	Reason    string `json:"reason,omitempty"`
	Code      string `json:"code"`
	LeftOn    string `json:"left_on,omitempty"`
	CommandID string `json:"command_id"`
}

// NoChange marks the event as changing nothing (eventlog.NoChange).
func (CancellationRefused) NoChange() {}

func (r CancellationRefused) err() error {
	if r.Code == RefusedLeftService {
		return &LeftServiceError{On: r.LeftOn}
	}
	return ErrNoLeavingDate
}

func (StaffRecorded) EventType() string        { return "employee.StaffRecorded.v1" }
func (StaffUpdated) EventType() string         { return "employee.StaffUpdated.v1" }
func (StaffUnchanged) EventType() string       { return "employee.StaffUnchanged.v1" }
func (StaffLeftService) EventType() string     { return "employee.StaffLeftService.v1" }
func (LeavingDateUnchanged) EventType() string { return "employee.LeavingDateUnchanged.v1" }
func (LeavingCancelled) EventType() string     { return "employee.LeavingCancelled.v1" }
func (LeavingDateRefused) EventType() string   { return "employee.LeavingDateRefused.v1" }
func (CancellationRefused) EventType() string  { return "employee.CancellationRefused.v1" }

// Employee is the staff-record aggregate. The zero value is a person not (yet)
// in the master; rebuild it with Apply.
type Employee struct {
	eventlog.Changes

	ic       string
	details  Details
	recorded bool
	left     bool
	leftOn   string
	term     int
	// commands holds, per command ID, the event it recorded: a command
	// with a known ID is a repeat only if it asks for that same change.
	commands map[string]eventlog.Event
}

// New returns an empty aggregate, for commands.Execute.
func New() *Employee { return &Employee{} }

// Recorded reports whether the person is in the master (even if they left).
func (e *Employee) Recorded() bool { return e.recorded }

// Term is the person's term of service in the master: 1 from their first
// record, one more each time they are recorded again after leaving (a
// rejoin); 0 if never recorded. A portal role is held for the term it was
// granted in (account.RoleGranted.Term): one who left and came back, by
// any feed of the master, does not get their old post's powers back
// without an administrator granting them again.
func (e *Employee) Term() int { return e.term }

// InService reports whether the person is in the master at now and has not
// left by then: a leaving date still ahead (in Melaka) leaves them in
// service, with the powers of their post, until that date begins.
func (e *Employee) InService(now time.Time) bool {
	return e.recorded && !(e.left && HasLeft(e.leftOn, now))
}

// Details returns the current record (zero if not recorded).
func (e *Employee) Details() Details { return e.details }

// LeftOn returns the recorded leaving date ("" if none), which may still be
// ahead: InService says whether it has come.
func (e *Employee) LeftOn() string { return e.leftOn }

// ServiceEnds returns the moment a recorded leaving date begins in Melaka
// (midnight there), the end of the person's service; zero if no leaving
// date is recorded.
func (e *Employee) ServiceEnds() time.Time {
	if !e.left {
		return time.Time{}
	}
	return ServiceEndsAt(e.leftOn)
}

// Record enters a person into the master. A person who left service may be
// recorded again (they rejoined). A repeat of command cmd changes nothing;
// cmd reused for another change is ErrCommandReused.
func (e *Employee) Record(cmd uuid.UUID, d Details, now time.Time) error {
	d, err := d.Validate()
	if err != nil {
		return err
	}
	if prev, ok := e.known(cmd); ok {
		return repeatDetails(prev, d)
	}
	if e.InService(now) {
		return ErrAlreadyRecorded
	}
	if e.recorded && e.ic != d.IC {
		return ErrWrongStream
	}
	ev := d.event()
	ev.CommandID = commandID(cmd)
	if e.recorded && d.Email != e.details.Email {
		ev.PreviousEmail = e.details.Email // a rejoin at another address
	}
	if e.recorded && d.Name != e.details.Name {
		ev.PreviousName = e.details.Name // a rejoin under another name
	}
	return e.record(ev)
}

// Update replaces the record of a person in service at now (a leaving date
// still ahead keeps them in service, and keeps that date). Updating to the
// same values records StaffUnchanged under cmd, so that cmd stays a repeat
// once later updates have changed the record (nothing without a command
// ID: no repeat of it can be told). A repeat of command cmd changes
// nothing; cmd reused for another change is ErrCommandReused.
func (e *Employee) Update(cmd uuid.UUID, d Details, now time.Time) error {
	d, err := d.Validate()
	if err != nil {
		return err
	}
	if prev, ok := e.known(cmd); ok {
		return repeatDetails(prev, d)
	}
	switch {
	case !e.recorded:
		return ErrNotRecorded
	case !e.InService(now):
		return ErrLeftService
	case e.ic != d.IC:
		return ErrWrongStream
	case e.details == d && cmd == uuid.Nil:
		return nil
	case e.details == d:
		return e.record(d.unchanged(cmd))
	}
	ev := d.updated()
	ev.CommandID = commandID(cmd)
	if d.Email != e.details.Email {
		ev.PreviousEmail = e.details.Email
	}
	if d.Name != e.details.Name {
		ev.PreviousName = e.details.Name
	}
	return e.record(ev)
}

// Put records or updates, whichever is needed: the upsert the CSV import and
// the finance API use. It reports whether anything changed. A person whose
// leaving date is still ahead is in service: Put updates their record and
// the date stands (the master still lists them until they go, and a nightly
// import must not cancel a retirement reported in advance). From the date
// on, Put records them again: they rejoined. StaffUnchanged (an update to
// the same record) is no change.
func (e *Employee) Put(cmd uuid.UUID, d Details, now time.Time) (changed bool, err error) {
	before := len(e.Uncommitted())
	if e.InService(now) {
		err = e.Update(cmd, d, now)
	} else {
		err = e.Record(cmd, d, now)
	}
	for _, ev := range e.Uncommitted()[before:] {
		if _, same := ev.(eventlog.NoChange); !same {
			changed = true
		}
	}
	return changed, err
}

// LeaveService records that the person leaves service on date (YYYY-MM-DD,
// not later than a year from now in Melaka). While a recorded date is still
// ahead, another date replaces it; once it has come the person has left
// (ErrLeftService). The date the record already has, ahead or come,
// changes nothing: it records LeavingDateUnchanged under cmd, so that cmd
// stays a repeat once a later report, a cancellation or a rejoin has
// changed the record (without a command ID, where no repeat can be told,
// it is ErrLeftService, as for someone who already left). A repeat of
// command cmd changes nothing; cmd reused for another change is
// ErrCommandReused.
func (e *Employee) LeaveService(cmd uuid.UUID, date, reason string, now time.Time) error {
	date, err := validDate("date", date, now)
	if err != nil {
		return err
	}
	reason, ferr := text("reason", reason, maxReason, false)
	if ferr != nil {
		return ferr
	}
	if prev, ok := e.known(cmd); ok {
		switch p := prev.(type) {
		case StaffLeftService:
			if p.Date == date && p.Reason == reason {
				return nil
			}
		case LeavingDateUnchanged:
			if p.Date == date && p.Reason == reason {
				return nil
			}
		case LeavingDateRefused:
			// The same report: the same refusal, not a new decision.
			if p.Date == date && p.Reason == reason {
				return p.err()
			}
		}
		return ErrCommandReused
	}
	switch {
	case !e.recorded:
		return ErrNotRecorded
	case e.left && e.leftOn == date && cmd != uuid.Nil:
		return e.record(LeavingDateUnchanged{IC: e.ic, Date: date, Reason: reason, CommandID: cmd.String()})
	case !e.InService(now) && cmd != uuid.Nil:
		// Recorded under the command ID (and still refused), so the same
		// report sent again after a rejoin gets this answer again.
		refused := LeavingDateRefused{IC: e.ic, Date: date, Reason: reason, Code: RefusedLeftService, LeftOn: e.leftOn, CommandID: cmd.String()}
		if err := e.record(refused); err != nil {
			return err
		}
		return refused.err()
	case !e.InService(now):
		return &LeftServiceError{On: e.leftOn}
	case e.left && e.leftOn == date:
		return ErrLeftService
	}
	return e.record(StaffLeftService{IC: e.ic, Date: date, Reason: reason, CommandID: commandID(cmd)})
}

// CancelLeaving cancels a leaving date that is still ahead at now: the
// person stays in service with no leaving date. Once the date has come
// they have left (ErrLeftService: recording them again is a rejoin, not a
// cancellation); with no date recorded there is nothing to cancel
// (ErrNoLeavingDate). A repeat of command cmd changes nothing; cmd reused
// for another change is ErrCommandReused.
func (e *Employee) CancelLeaving(cmd uuid.UUID, reason string, now time.Time) error {
	reason, ferr := text("reason", reason, maxReason, false)
	if ferr != nil {
		return ferr
	}
	if prev, ok := e.known(cmd); ok {
		switch p := prev.(type) {
		case LeavingCancelled:
			if p.Reason == reason {
				return nil
			}
		case CancellationRefused:
			// The same cancellation: the same refusal, not a new
			// decision.
			if p.Reason == reason {
				return p.err()
			}
		}
		return ErrCommandReused
	}
	var refused CancellationRefused
	switch {
	case !e.recorded:
		return ErrNotRecorded
	case !e.InService(now):
		refused = CancellationRefused{Code: RefusedLeftService, LeftOn: e.leftOn}
	case !e.left:
		refused = CancellationRefused{Code: RefusedNoLeavingDate}
	default:
		return e.record(LeavingCancelled{IC: e.ic, Date: e.leftOn, Reason: reason, CommandID: commandID(cmd)})
	}
	if cmd != uuid.Nil {
		// Recorded under the command ID (and still refused), so the same
		// cancellation sent again after a date was reported gets this
		// answer again instead of cancelling that date.
		refused.IC, refused.Reason, refused.CommandID = e.ic, reason, cmd.String()
		if err := e.record(refused); err != nil {
			return err
		}
	}
	return refused.err()
}

// known returns the event command cmd recorded, if it recorded one here.
func (e *Employee) known(cmd uuid.UUID) (eventlog.Event, bool) {
	if cmd == uuid.Nil {
		return nil, false
	}
	prev, ok := e.commands[cmd.String()]
	return prev, ok
}

// repeatDetails answers a record or update whose command already recorded
// prev: the same record again is a repeat (nothing to record), anything
// else reuses the ID.
func repeatDetails(prev eventlog.Event, d Details) error {
	var got Details
	switch p := prev.(type) {
	case StaffRecorded:
		got = detailsOf(p.IC, p.Name, p.Email, p.Department, p.Post, p.StaffNumber)
	case StaffUpdated:
		got = detailsOf(p.IC, p.Name, p.Email, p.Department, p.Post, p.StaffNumber)
	case StaffUnchanged:
		got = p.Details
	default:
		return ErrCommandReused
	}
	if got != d {
		return ErrCommandReused
	}
	return nil
}

func commandID(cmd uuid.UUID) string {
	if cmd == uuid.Nil {
		return ""
	}
	return cmd.String()
}

func (e *Employee) remember(cmd string, ev eventlog.Event) {
	if cmd == "" {
		return
	}
	if e.commands == nil {
		e.commands = map[string]eventlog.Event{}
	}
	e.commands[cmd] = ev
}

func (e *Employee) record(ev eventlog.Event) error {
	if err := e.Apply(ev); err != nil {
		return err
	}
	e.Add(ev)
	return nil
}

// ofThisRecord refuses an event (other than StaffRecorded) that comes before
// the record or names another IC.
func (e *Employee) ofThisRecord(ic string, ev eventlog.Event) error {
	if !e.recorded || e.ic != ic {
		return fmt.Errorf("%w: %s before StaffRecorded or for another IC", ErrWrongStream, ev.EventType())
	}
	return nil
}

// unchanging is an event that records a request and changes nothing.
type unchanging interface{ ids() (ic, command string) }

func (u StaffUnchanged) ids() (string, string)       { return u.IC, u.CommandID }
func (u LeavingDateUnchanged) ids() (string, string) { return u.IC, u.CommandID }
func (r LeavingDateRefused) ids() (string, string)   { return r.IC, r.CommandID }
func (r CancellationRefused) ids() (string, string)  { return r.IC, r.CommandID }

// Apply rebuilds state from one event.
func (e *Employee) Apply(ev eventlog.Event) error {
	switch ev := ev.(type) {
	case StaffRecorded:
		if e.recorded && e.ic != ev.IC {
			return fmt.Errorf("%w: %s", ErrWrongStream, ev.EventType())
		}
		e.ic, e.recorded, e.left, e.leftOn = ev.IC, true, false, ""
		e.term++
		e.details = detailsOf(ev.IC, ev.Name, ev.Email, ev.Department, ev.Post, ev.StaffNumber)
		e.remember(ev.CommandID, ev)
	case StaffUpdated:
		if err := e.ofThisRecord(ev.IC, ev); err != nil {
			return err
		}
		e.details = detailsOf(ev.IC, ev.Name, ev.Email, ev.Department, ev.Post, ev.StaffNumber)
		e.remember(ev.CommandID, ev)
	case StaffLeftService:
		if err := e.ofThisRecord(ev.IC, ev); err != nil {
			return err
		}
		e.left, e.leftOn = true, ev.Date
		e.remember(ev.CommandID, ev)
	case LeavingCancelled:
		if err := e.ofThisRecord(ev.IC, ev); err != nil {
			return err
		}
		e.left, e.leftOn = false, ""
		e.remember(ev.CommandID, ev)
	case StaffUnchanged, LeavingDateUnchanged, LeavingDateRefused, CancellationRefused:
		// They change nothing: only their command ID is kept, so that the
		// same request sent again gets the same answer.
		ic, cmd := ev.(unchanging).ids()
		if err := e.ofThisRecord(ic, ev); err != nil {
			return err
		}
		e.remember(cmd, ev)
	default:
		return fmt.Errorf("employee: cannot apply event %T (%s)", ev, ev.EventType())
	}
	return nil
}
