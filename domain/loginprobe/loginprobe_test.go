package loginprobe

import (
	"errors"
	"reflect"
	"testing"
	"time"

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
	then(t, p, p.Fail(3, now), ErrRefused, AttemptFailed{Key: key, Consecutive: 1})
	p = given(t, AttemptFailed{Key: key, Consecutive: 1})
	then(t, p, p.Fail(3, now), ErrRefused, AttemptFailed{Key: key, Consecutive: 2})
}

func TestThirdAttemptLocks(t *testing.T) {
	p := given(t, AttemptFailed{Key: key, Consecutive: 1}, AttemptFailed{Key: key, Consecutive: 2})
	then(t, p, p.Fail(3, now), ErrLocked, AttemptFailed{Key: key, Consecutive: 3}, Locked{Key: key, FailedAttempts: 3})
	p = given(t, AttemptFailed{Key: key, Consecutive: 1}, AttemptFailed{Key: key, Consecutive: 2})
	then(t, p, p.Fail(0, now), ErrLocked, AttemptFailed{Key: key, Consecutive: 3}, Locked{Key: key, FailedAttempts: 3})
}

func TestLockedStaysLocked(t *testing.T) {
	p := given(t, AttemptFailed{Key: key, Consecutive: 3}, Locked{Key: key, FailedAttempts: 3})
	then(t, p, p.Fail(3, now), ErrLocked, AttemptFailed{Key: key, Consecutive: 3, WhileLocked: true})
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
