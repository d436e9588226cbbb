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
	for at := from.Add(time.Minute); at.Before(from.AddDate(0, 0, 32)); at = at.Add(time.Minute) {
		if OwnerLogsIn(k, from, at) {
			return at
		}
	}
	t.Fatalf("no owner login within 32 days of %s", from)
	return time.Time{}
}

// Given two wrong passwords on an unknown ID, a third before its imagined
// owner's next login locks it, as on a real account whose owner has not
// logged in; a third after that login is the first of a new run, as on a
// real account whose owner has (before, a day's wait told the two apart:
// real IDs in use answered 401, unknown ones 423).
func TestTheImaginedOwnersLoginEndsTheRun(t *testing.T) {
	login := nextOwnerLogin(t, key, now)
	two := []eventlog.Event{AttemptFailed{Key: key, Consecutive: 1, At: now}, AttemptFailed{Key: key, Consecutive: 2, At: now}}
	before := login.Add(-time.Minute)
	p := given(t, two...)
	then(t, p, p.Fail(3, before), ErrLocked, AttemptFailed{Key: key, Consecutive: 3, At: before}, Locked{Key: key, FailedAttempts: 3})
	after := login.Add(time.Minute)
	p = given(t, two...)
	then(t, p, p.Fail(3, after), ErrRefused, AttemptFailed{Key: key, Consecutive: 1, At: after})
	// Events stored before the time was kept: the run goes on.
	p = given(t, AttemptFailed{Key: key, Consecutive: 1}, AttemptFailed{Key: key, Consecutive: 2})
	then(t, p, p.Fail(3, after), ErrLocked, AttemptFailed{Key: key, Consecutive: 3, At: after}, Locked{Key: key, FailedAttempts: 3})
}

// The imagined owners log in as staff do: each at least once in any 31
// days, on one day in office hours (08:00–17:00 in Melaka), some daily and
// most less often; keys that are not hex have none.
func TestOwnerSchedules(t *testing.T) {
	daily, monthly := 0, 0
	for i := range 300 {
		k := fmt.Sprintf("%08x%08x%016x", uint32(i)*2654435761, uint32(i)*40503, i)
		from := now.Add(time.Duration(i) * 7 * time.Hour)
		if !OwnerLogsIn(k, from, from.AddDate(0, 0, 31)) {
			t.Fatalf("key %s: no login in 31 days", k)
		}
		at := nextOwnerLogin(t, k, from)
		if h := at.In(calendar.Melaka).Hour(); h < 8 || h >= 17 {
			t.Errorf("key %s: owner logs in at %s Melaka time", k, at.In(calendar.Melaka).Format("15:04"))
		}
		switch d := at.Sub(from); {
		case d <= 24*time.Hour:
			daily++
		case d > 7*24*time.Hour:
			monthly++
		}
	}
	if daily == 0 || monthly < 100 {
		t.Errorf("of 300 imagined owners, %d log in within a day and %d not within a week", daily, monthly)
	}
	if OwnerLogsIn("zz", now, now.AddDate(1, 0, 0)) || OwnerLogsIn(key, now, now) {
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
