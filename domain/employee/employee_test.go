package employee

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/eventlog/eventlogtest"
)

var now = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const ic = "791117045671"

func details() Details {
	return Details{IC: "791117-04-5671", Name: "  Siti  Aminah binti Omar ", Email: "Siti.Aminah@Melaka.gov.my", Department: "Jabatan Kewangan dan Perbendaharaan", Post: "Pegawai Kewangan", StaffNumber: "JKPN-0042"}
}

func recorded() StaffRecorded {
	return StaffRecorded{IC: ic, Name: "Siti Aminah binti Omar", Email: "siti.aminah@melaka.gov.my", Department: "Jabatan Kewangan dan Perbendaharaan", Post: "Pegawai Kewangan", StaffNumber: "JKPN-0042"}
}

// updated is recorded() as an update: the same record, nothing changed yet.
func updated() StaffUpdated {
	r := recorded()
	return StaffUpdated{IC: r.IC, Name: r.Name, Email: r.Email, Department: r.Department, Post: r.Post, StaffNumber: r.StaffNumber}
}

// scenario: given events, when a command, then the recorded events or error.
func scenario(t *testing.T, given []eventlog.Event, when func(*Employee) error, then []eventlog.Event, wantErr error) {
	t.Helper()
	e := New()
	for _, ev := range given {
		if err := e.Apply(ev); err != nil {
			t.Fatalf("given %s: %v", ev.EventType(), err)
		}
	}
	err := when(e)
	if wantErr == nil && err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if wantErr != nil && !errors.Is(err, wantErr) {
		t.Fatalf("error = %v, want %v", err, wantErr)
	}
	got := e.Uncommitted()
	if len(got) == 0 && len(then) == 0 {
		return
	}
	if !reflect.DeepEqual(got, then) {
		t.Fatalf("events:\n got  %#v\n want %#v", got, then)
	}
}

func TestRecordNormalises(t *testing.T) {
	scenario(t, nil, func(e *Employee) error { return e.Record(uuid.Nil, details(), now) },
		[]eventlog.Event{recorded()}, nil)
}

func TestRecordTwiceRefused(t *testing.T) {
	scenario(t, []eventlog.Event{recorded()}, func(e *Employee) error { return e.Record(uuid.Nil, details(), now) }, nil, ErrAlreadyRecorded)
}

func TestRecordAfterLeavingRejoins(t *testing.T) {
	given := []eventlog.Event{recorded(), StaffLeftService{IC: ic, Date: "2025-12-31"}}
	scenario(t, given, func(e *Employee) error {
		if err := e.Record(uuid.Nil, details(), now); err != nil {
			return err
		}
		if !e.InService(now) {
			t.Fatal("rejoined staff not in service")
		}
		return nil
	}, []eventlog.Event{recorded()}, nil)
}

func TestUpdate(t *testing.T) {
	d := details()
	d.Post = "Penolong Akauntan"
	want := updated()
	want.Post = "Penolong Akauntan"
	scenario(t, []eventlog.Event{recorded()}, func(e *Employee) error { return e.Update(uuid.Nil, d, now) }, []eventlog.Event{want}, nil)
}

// Given a record, when the master moves the person to another official
// mailbox, then the update names the address it changed from (the portal
// account follows it from there); an update that keeps the address names
// none.
func TestUpdateOfTheEmailNamesThePreviousOne(t *testing.T) {
	d := details()
	d.Email, d.Department = "Kewangan.Ayer-Keroh@Melaka.gov.my", "Pejabat Daerah Melaka Tengah"
	want := updated()
	want.Email, want.Department, want.PreviousEmail = "kewangan.ayer-keroh@melaka.gov.my", "Pejabat Daerah Melaka Tengah", "siti.aminah@melaka.gov.my"
	scenario(t, []eventlog.Event{recorded()}, func(e *Employee) error { return e.Update(uuid.Nil, d, now) }, []eventlog.Event{want}, nil)
	// Through Put as well (the import's and the API's upsert).
	scenario(t, []eventlog.Event{recorded()}, func(e *Employee) error { _, err := e.Put(uuid.Nil, d, now); return err }, []eventlog.Event{want}, nil)
	// The same address in other letters is not a change.
	d = details()
	d.Email, d.Post = "SITI.AMINAH@melaka.gov.my", "Penolong Akauntan"
	want = updated()
	want.Post = "Penolong Akauntan"
	scenario(t, []eventlog.Event{recorded()}, func(e *Employee) error { return e.Update(uuid.Nil, d, now) }, []eventlog.Event{want}, nil)
}

// Given a record, when HR corrects the person's name, then the update
// names the name it changed from (the portal account's name follows it);
// so does a rejoin under another name. An update that keeps the name names
// none (TestUpdate).
func TestUpdateOfTheNameNamesThePreviousOne(t *testing.T) {
	d := details()
	d.Name = "Siti Aminah  binti Omar Baki"
	want := updated()
	want.Name, want.PreviousName = "Siti Aminah binti Omar Baki", recorded().Name
	scenario(t, []eventlog.Event{recorded()}, func(e *Employee) error { return e.Update(uuid.Nil, d, now) }, []eventlog.Event{want}, nil)
	scenario(t, []eventlog.Event{recorded()}, func(e *Employee) error { _, err := e.Put(uuid.Nil, d, now); return err }, []eventlog.Event{want}, nil)
	back := recorded()
	back.Name, back.PreviousName = "Siti Aminah binti Omar Baki", recorded().Name
	scenario(t, []eventlog.Event{recorded(), StaffLeftService{IC: ic, Date: "2025-12-31"}},
		func(e *Employee) error { return e.Record(uuid.Nil, d, now) }, []eventlog.Event{back}, nil)
}

func TestUpdateUnchangedRecordsNothing(t *testing.T) {
	scenario(t, []eventlog.Event{recorded()}, func(e *Employee) error { return e.Update(uuid.Nil, details(), now) }, nil, nil)
}

func TestUpdateRefusals(t *testing.T) {
	scenario(t, nil, func(e *Employee) error { return e.Update(uuid.Nil, details(), now) }, nil, ErrNotRecorded)
	scenario(t, []eventlog.Event{recorded(), StaffLeftService{IC: ic, Date: "2025-12-31"}},
		func(e *Employee) error { return e.Update(uuid.Nil, details(), now) }, nil, ErrLeftService)
	other := details()
	other.IC = "800101-14-1234"
	scenario(t, []eventlog.Event{recorded()}, func(e *Employee) error { return e.Update(uuid.Nil, other, now) }, nil, ErrWrongStream)
}

func TestPutIsAnUpsert(t *testing.T) {
	scenario(t, nil, func(e *Employee) error {
		changed, err := e.Put(uuid.Nil, details(), now)
		if !changed {
			t.Error("first Put reported no change")
		}
		return err
	}, []eventlog.Event{recorded()}, nil)
	scenario(t, []eventlog.Event{recorded()}, func(e *Employee) error {
		changed, err := e.Put(uuid.Nil, details(), now)
		if changed {
			t.Error("identical Put reported a change")
		}
		return err
	}, nil, nil)
}

func TestLeaveService(t *testing.T) {
	scenario(t, []eventlog.Event{recorded()}, func(e *Employee) error { return e.LeaveService(uuid.Nil, "2026-02-28", " bersara ", now) },
		[]eventlog.Event{StaffLeftService{IC: ic, Date: "2026-02-28", Reason: "bersara"}}, nil)
	scenario(t, nil, func(e *Employee) error { return e.LeaveService(uuid.Nil, "2026-02-28", "", now) }, nil, ErrNotRecorded)
	scenario(t, []eventlog.Event{recorded(), StaffLeftService{IC: ic, Date: "2025-12-31"}},
		func(e *Employee) error { return e.LeaveService(uuid.Nil, "2026-02-28", "", now) }, nil, ErrLeftService)
	for _, bad := range []string{"", "28/02/2026", "2026-02-30", "2028-01-01", "1900-01-01"} {
		scenario(t, []eventlog.Event{recorded()}, func(e *Employee) error { return e.LeaveService(uuid.Nil, bad, "", now) }, nil, ErrInvalid)
	}
}

// A name, department or post from the CSV, the upload or the API with a
// direction override or a zero-width space is refused, as the web forms
// refuse them: it becomes the account's name on the admin pages, in mails
// and on slips (the reviewer's API PUT of "A\u202eB" was created).
func TestValidationRefusesInvisibleCharacters(t *testing.T) {
	for _, name := range []string{"Siti\u202eAminah", "A\u200bB", "\ufeffSiti Aminah", "Siti\u2066Aminah", "\u200d\u200c", "\u3164", "\u2800", "\ufe0f"} {
		d := Details{IC: "791117-04-5671", Name: name, Email: "siti.aminah@melaka.gov.my", Department: "Jabatan Kewangan\u202e", Post: "Pegawai", StaffNumber: "JKPN-0042"}
		_, err := d.Validate()
		var fes FieldErrors
		if !errors.As(err, &fes) || len(fes) != 2 || fes[0].Field != "name" || fes[0].Code != "control_character" || fes[1].Field != "department" {
			t.Errorf("name %q: %v", name, err)
		}
	}
	// Jawi with the Arabic letter mark and a right-to-left mark, as HR
	// exports and word processors write it, is a name.
	jawi := Details{IC: "791117-04-5671", Name: "\u0633\u064a\u062a\u064a \u0639\u0627\u0645\u0646\u0629\u061c\u200f", Email: "siti.aminah@melaka.gov.my", Department: "Jabatan Kewangan", Post: "Pegawai", StaffNumber: "JKPN-0042"}
	if _, err := jawi.Validate(); err != nil {
		t.Errorf("a Jawi name: %v", err)
	}
}

func TestValidationNamesEveryBadField(t *testing.T) {
	d := Details{IC: "791317-04-5671", Name: strings.Repeat("x", 10*1024), Email: "siti@", Department: "Kewangan\x00", Post: "", StaffNumber: "#1"}
	_, err := d.Validate()
	var fes FieldErrors
	if !errors.As(err, &fes) {
		t.Fatalf("error %v is not FieldErrors", err)
	}
	want := map[string]string{"ic": "invalid_date", "name": "too_long", "email": "invalid", "department": "control_character", "post": "required", "staff_number": "invalid"}
	if len(fes) != len(want) {
		t.Fatalf("got %d field errors, want %d: %v", len(fes), len(want), err)
	}
	for _, fe := range fes {
		if want[fe.Field] != fe.Code {
			t.Errorf("field %s: code %s, want %s (%s)", fe.Field, fe.Code, want[fe.Field], fe.Reason)
		}
	}
	if !errors.Is(err, ErrInvalid) {
		t.Error("FieldErrors is not ErrInvalid")
	}
	var one *FieldError
	if !errors.As(err, &one) || one.Field != "ic" {
		t.Errorf("errors.As first field error = %v", one)
	}
	if strings.Contains(err.Error(), strings.Repeat("x", 100)) {
		t.Error("error echoes the huge input")
	}
	// Nothing recorded for an invalid record.
	e := New()
	if err := e.Record(uuid.Nil, d, now); !errors.Is(err, ErrInvalid) || len(e.Uncommitted()) != 0 {
		t.Fatalf("Record of bad details: %v, %d events", err, len(e.Uncommitted()))
	}
}

func TestNormalizeEmail(t *testing.T) {
	good := map[string]string{"Ali@Melaka.gov.my": "ali@melaka.gov.my", " a.b+c@jkr.melaka.gov.my ": "a.b+c@jkr.melaka.gov.my"}
	for in, want := range good {
		got, err := NormalizeEmail("email", in)
		if err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "ali", "ali@", "@melaka.gov.my", "Ali <ali@melaka.gov.my>", "ali@melaka", "ali@@melaka.gov.my", "ali@melaka..gov.my", "a li@melaka.gov.my", "ali@mélaka.gov.my", "\"a\"@melaka.gov.my",
		// Routed on by the mail server to another domain: the percent
		// hack and a UUCP bang path.
		"ali%evil.example@melaka.gov.my", "evil.example!ali@melaka.gov.my", strings.Repeat("a", 300) + "@melaka.gov.my"} {
		if _, err := NormalizeEmail("email", bad); err == nil {
			t.Errorf("NormalizeEmail(%q) accepted", bad)
		}
	}
}

func TestDomainAllowed(t *testing.T) {
	allowed := []string{"melaka.gov.my"}
	for email, want := range map[string]bool{"a@melaka.gov.my": true, "a@jkr.melaka.gov.my": true, "a@evilmelaka.gov.my": false, "a@gmail.com": false, "a@melaka.gov.my.evil.com": false} {
		if got := DomainAllowed(email, allowed); got != want {
			t.Errorf("DomainAllowed(%s) = %v", email, got)
		}
	}
}

func TestApplyRefusesUnknownAndOutOfOrderEvents(t *testing.T) {
	e := New()
	if err := e.Apply(updated()); err == nil {
		t.Error("StaffUpdated before StaffRecorded applied")
	}
	type alien struct{ eventlog.Event }
	if err := e.Apply(alien{StaffRecorded{}}); err == nil {
		t.Error("unknown event applied")
	}
}

func TestRegisterRoundTrip(t *testing.T) {
	reg := eventlog.NewRegistry()
	Register(reg)
	moved := updated()
	moved.Email, moved.PreviousEmail = "kewangan@melaka.gov.my", "siti.aminah@melaka.gov.my"
	moved.Name, moved.PreviousName = "Siti Aminah binti Omar Baki", moved.Name
	for _, ev := range []eventlog.Event{recorded(), updated(), moved, StaffLeftService{IC: ic, Date: "2026-01-01"}} {
		typ, env := eventlogtest.RoundTrip(t, reg, ev)
		if !reflect.DeepEqual(env.Event, ev) {
			t.Errorf("%s round trip: %#v", typ, env.Event)
		}
	}
}
