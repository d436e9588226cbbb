package loginprobe

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/eventlog"
)

const key = "0123456789abcdef0123456789abcdef"

var now = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func given(t *testing.T, evs ...eventlog.Event) *Probe {
	t.Helper()
	return givenKey(t, key, evs...)
}

func givenKey(t *testing.T, key string, evs ...eventlog.Event) *Probe {
	t.Helper()
	p := New(key)
	for _, ev := range evs {
		if err := p.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func then(t *testing.T, p *Probe, err, wantErr error, want ...eventlog.Event) {
	t.Helper()
	if !errors.Is(err, wantErr) {
		t.Fatalf("error %v, want %v", err, wantErr)
	}
	if got := p.Uncommitted(); !reflect.DeepEqual(got, want) {
		t.Fatalf("events %+v, want %+v", got, want)
	}
}

func TestFirstAttemptsAreRefused(t *testing.T) {
	p := given(t)
	then(t, p, p.Fail(3, now), ErrRefused, AttemptFailed{Key: key, Consecutive: 1, At: now})
	p = given(t, AttemptFailed{Key: key, Consecutive: 1})
	then(t, p, p.Fail(3, now), ErrRefused, AttemptFailed{Key: key, Consecutive: 2, At: now})
}

func TestThirdAttemptLocks(t *testing.T) {
	p := given(t, AttemptFailed{Key: key, Consecutive: 1}, AttemptFailed{Key: key, Consecutive: 2})
	then(t, p, p.Fail(3, now), ErrLocked, AttemptFailed{Key: key, Consecutive: 3, At: now}, Locked{Key: key, FailedAttempts: 3})
	p = given(t, AttemptFailed{Key: key, Consecutive: 1}, AttemptFailed{Key: key, Consecutive: 2})
	then(t, p, p.Fail(0, now), ErrLocked, AttemptFailed{Key: key, Consecutive: 3, At: now}, Locked{Key: key, FailedAttempts: 3})
}

func TestLockedStaysLocked(t *testing.T) {
	p := given(t, AttemptFailed{Key: key, Consecutive: 3}, Locked{Key: key, FailedAttempts: 3})
	then(t, p, p.Fail(3, now), ErrLocked, AttemptFailed{Key: key, Consecutive: 3, WhileLocked: true, At: now})
	// A year on, with the imagined owner's logins in between, still locked.
	later := now.AddDate(1, 0, 0)
	then(t, p, p.Fail(3, later), ErrLocked, AttemptFailed{Key: key, Consecutive: 3, WhileLocked: true, At: now},
		AttemptFailed{Key: key, Consecutive: 3, WhileLocked: true, At: later})
}

// nextOwnerLogin is the first moment after from at which the imagined
// owner of k logs in (scanning by minutes).
func nextOwnerLogin(t *testing.T, k string, from time.Time) time.Time {
	t.Helper()
	for hour := from.Add(time.Hour); hour.Before(from.AddDate(1, 0, 0)); hour = hour.Add(time.Hour) {
		if !OwnerLogsIn(k, from, hour) {
			continue
		}
		for at := hour.Add(-time.Hour + time.Minute); ; at = at.Add(time.Minute) {
			if OwnerLogsIn(k, from, at) {
				return at
			}
		}
	}
	t.Fatalf("no owner login within a year of %s", from)
	return time.Time{}
}

// activeKey has an imagined owner who logs in (byte 8 is 0x89: not one of
// the three in ten who never do); key's (byte 8 0x01) never logs in.
const activeKey = "0123456789abcdef8923456789abcdef"

// Given two wrong passwords on an unknown ID, a third before its imagined
// owner's next login locks it, as on a real account whose owner has not
// logged in; a third after that login is the first of a new run, as on a
// real account whose owner has (before, a day's wait told the two apart:
// real IDs in use answered 401, unknown ones 423).
func TestTheImaginedOwnersLoginEndsTheRun(t *testing.T) {
	login := nextOwnerLogin(t, activeKey, now)
	two := []eventlog.Event{AttemptFailed{Key: activeKey, Consecutive: 1, At: now}, AttemptFailed{Key: activeKey, Consecutive: 2, At: now}}
	before := login.Add(-time.Minute)
	p := givenKey(t, activeKey, two...)
	then(t, p, p.Fail(3, before), ErrLocked, AttemptFailed{Key: activeKey, Consecutive: 3, At: before}, Locked{Key: activeKey, FailedAttempts: 3})
	after := login.Add(time.Minute)
	p = givenKey(t, activeKey, two...)
	then(t, p, p.Fail(3, after), ErrRefused, AttemptFailed{Key: activeKey, Consecutive: 1, At: after})
	// Events stored before the time was kept: the run goes on.
	p = givenKey(t, activeKey, AttemptFailed{Key: activeKey, Consecutive: 1}, AttemptFailed{Key: activeKey, Consecutive: 2})
	then(t, p, p.Fail(3, after), ErrLocked, AttemptFailed{Key: activeKey, Consecutive: 3, At: after}, Locked{Key: activeKey, FailedAttempts: 3})
	// An owner who never logs in: a year on, the run goes on, as on a real
	// account nobody uses (after 31 days, before, every unknown ID's run
	// had ended and only real ones locked).
	if OwnerLogsIn(key, now, now.AddDate(1, 0, 0)) {
		t.Fatal("key's owner logs in")
	}
	p = given(t, AttemptFailed{Key: key, Consecutive: 1, At: now}, AttemptFailed{Key: key, Consecutive: 2, At: now})
	later := now.AddDate(1, 0, 0)
	then(t, p, p.Fail(3, later), ErrLocked, AttemptFailed{Key: key, Consecutive: 3, At: later}, Locked{Key: key, FailedAttempts: 3})
}

// The imagined owners are as varied as staff: about three in ten never
// log in; the others do, each within 7 intervals of at most 45 days, on a
// working day in office hours (08:00–17:00 in Melaka), some within a day
// and many not within a week. Keys that are not hex have none.
func TestOwnerSchedules(t *testing.T) {
	daily, slow, never := 0, 0, 0
	for i := range 300 {
		k := fmt.Sprintf("%08x%08x%016x", uint32(i)*2654435761, uint32(i)*40503, uint64(i)*0x9e3779b97f4a7c15)
		from := now.Add(time.Duration(i) * 7 * time.Hour)
		if !OwnerLogsIn(k, from, from.AddDate(1, 0, 0)) {
			never++
			continue
		}
		at := nextOwnerLogin(t, k, from)
		m := at.In(calendar.Melaka)
		if h := m.Hour(); h < 8 || h >= 17 || m.Weekday() == time.Saturday || m.Weekday() == time.Sunday {
			t.Errorf("key %s: owner logs in on %s", k, m.Format("Monday 15:04"))
		}
		switch d := at.Sub(from); {
		case d <= 24*time.Hour:
			daily++
		case d > 7*24*time.Hour:
			slow++
		}
	}
	if daily == 0 || slow < 60 || never < 60 || never > 130 {
		t.Errorf("of 300 imagined owners, %d log in within a day, %d not within a week, %d never", daily, slow, never)
	}
	if OwnerLogsIn("zz", now, now.AddDate(1, 0, 0)) || OwnerLogsIn(activeKey, now, now) {
		t.Error("a login for a key that is not hex, or in an empty span")
	}
}

func TestKeyIsChecked(t *testing.T) {
	for _, bad := range []string{"", "short", "0123456789ABCDEF", "791117045671xxxx", "0123456789abcdef-"} {
		if _, err := Stream(bad); !errors.Is(err, ErrKey) {
			t.Errorf("Stream(%q): %v", bad, err)
		}
		p := New(bad)
		if err := p.Fail(3, now); !errors.Is(err, ErrKey) || len(p.Uncommitted()) != 0 {
			t.Errorf("Fail on key %q: %v", bad, err)
		}
	}
	s, err := Stream(key)
	if err != nil || s != "loginprobe-"+key || eventlog.ValidateStream(s) != nil {
		t.Fatalf("Stream = %q, %v", s, err)
	}
	if err := New(key).Apply(AttemptFailed{Key: "ffffffffffffffff"}); err == nil {
		t.Error("event of another probe applied")
	}
}

func TestRegistryRoundTrip(t *testing.T) {
	reg := eventlog.NewRegistry()
	Register(reg)
	for _, ev := range []eventlog.Event{AttemptFailed{Key: key, Consecutive: 2, WhileLocked: true}, Locked{Key: key, FailedAttempts: 3}} {
		typ, data, err := reg.Encode(ev)
		if err != nil {
			t.Fatal(err)
		}
		env, err := reg.Decode(eventlog.Record{Type: typ, Data: data})
		if err != nil || !reflect.DeepEqual(env.Event, ev) {
			t.Fatalf("%s: %+v, %v", typ, env.Event, err)
		}
	}
}

// The login handler loads a probe from its last event only: given any
// history a probe can record, the last event alone must rebuild what the
// whole replay does, and the next attempt must decide the same.
func TestLastEventRebuildsTheProbe(t *testing.T) {
	full := New(key)
	var history []eventlog.Event
	for attempt := 1; attempt <= 6; attempt++ {
		_ = full.Fail(3, now)
		history = append(history, full.Uncommitted()...)
		full = given(t, history...)
		last := given(t, history[len(history)-1])
		if last.Failed() != full.Failed() || last.IsLocked() != full.IsLocked() {
			t.Fatalf("after attempt %d: last event gives failed %d locked %v, the replay %d %v",
				attempt, last.Failed(), last.IsLocked(), full.Failed(), full.IsLocked())
		}
		nextFull, nextLast := given(t, history...), given(t, history[len(history)-1])
		errFull, errLast := nextFull.Fail(3, now), nextLast.Fail(3, now)
		if errFull != errLast || !reflect.DeepEqual(nextFull.Uncommitted(), nextLast.Uncommitted()) {
			t.Fatalf("after attempt %d: the next attempt decides %v %+v on the replay, %v %+v on the last event",
				attempt, errFull, nextFull.Uncommitted(), errLast, nextLast.Uncommitted())
		}
	}
	if !full.IsLocked() || full.Failed() != 3 {
		t.Fatalf("after six attempts: failed %d locked %v", full.Failed(), full.IsLocked())
	}
}
