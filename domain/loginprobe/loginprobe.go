// Package loginprobe records login attempts on user IDs that have no
// account, in streams "loginprobe-<key>", where key is a keyed hash of the
// ID (infra/security), so the IDs people try are kept for auditors without
// the log holding them in clear.
//
// A probe counts and locks exactly like an account, so that from outside an
// unknown ID cannot be told from a real one: the same messages, the lock
// after the same number of attempts, and from then on the lock notice.
//
// A real account's run of failures also ends when its owner logs in, which
// an unknown ID never does: two wrong passwords, a day's wait and a third
// then told real IDs in use (401) from unknown ones (423, locked). So a
// probe has an imagined owner drawn from its key (a secret keyed hash, so
// nobody outside can foresee it), as varied as the real ones: about three
// in ten never log in (as registered staff who seldom or never do), the
// rest every 1 to 45 days, on a working day (Monday to Friday) in office
// hours in Melaka. A login of that owner between two attempts ends the
// run, as the real owner's would; a locked probe stays locked, as a locked
// account does until an administrator unlocks it.
package loginprobe

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/melaka-gov/ispeks/domain/calendar"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// Errors of a probe. The login handler maps them to the account's
// ErrWrongPassword and ErrLocked, so callers see one vocabulary.
var (
	ErrRefused = errors.New("loginprobe: attempt refused")
	ErrLocked  = errors.New("loginprobe: locked")
	ErrKey     = errors.New("loginprobe: key must be 16 to 64 lower-case hex digits")
)

var keyPattern = regexp.MustCompile(`^[0-9a-f]{16,64}$`)

// Stream is the event stream of the probe with key (a hex keyed hash of the
// tried user ID).
func Stream(key string) (string, error) {
	if !keyPattern.MatchString(key) {
		return "", ErrKey
	}
	return "loginprobe-" + key, nil
}

// Register adds the probe events to the registry.
func Register(reg *eventlog.Registry) {
	eventlog.Register[AttemptFailed](reg)
	eventlog.Register[Locked](reg)
}

// AttemptFailed: a login on an unknown ID. Consecutive is the count after it
// (unchanged once locked). WhileLocked marks attempts after the lock.
//
// Every probe event carries the probe's whole state (the count, and whether
// it is locked), so its last event alone rebuilds it: the login handler
// reads only that one, and a probe tried a thousand times loads as fast as
// a new one (a real account's login reads its cached tail).
type AttemptFailed struct {
	Key         string `json:"key"`
	Consecutive int    `json:"consecutive"`
	WhileLocked bool   `json:"while_locked,omitempty"`
	// At is when the attempt was decided: the next attempt asks whether
	// the imagined owner logged in since (absent in events stored before
	// it was kept: the run then goes on, as it did).
	At time.Time `json:"at,omitzero"`
}

// Locked: the probe reached the threshold; every later attempt gets the lock
// notice, as a real account would.
type Locked struct {
	Key            string `json:"key"`
	FailedAttempts int    `json:"failed_attempts"`
}

func (AttemptFailed) EventType() string { return "loginprobe.AttemptFailed.v1" }
func (Locked) EventType() string        { return "loginprobe.Locked.v1" }

// DefaultLockThreshold matches the account's default.
const DefaultLockThreshold = 3

// Probe is the aggregate of one unknown user ID.
type Probe struct {
	eventlog.Changes

	key    string
	failed int
	locked bool
	lastAt time.Time // of the last failed attempt (zero: unknown)
}

// New returns an empty probe for key, for commands.Execute.
func New(key string) *Probe { return &Probe{key: key} }

// Failed is the consecutive count; IsLocked says whether it is locked.
func (p *Probe) Failed() int    { return p.failed }
func (p *Probe) IsLocked() bool { return p.locked }

// Fail records an attempt. It returns ErrRefused, or ErrLocked when the
// attempt reached the threshold (threshold <= 0: DefaultLockThreshold) or the
// probe was locked already.
func (p *Probe) Fail(threshold int, now time.Time) error {
	if _, err := Stream(p.key); err != nil {
		return err
	}
	if threshold <= 0 {
		threshold = DefaultLockThreshold
	}
	if p.locked {
		if err := p.record(AttemptFailed{Key: p.key, Consecutive: p.failed, WhileLocked: true, At: now}); err != nil {
			return err
		}
		return ErrLocked
	}
	n := p.failed + 1
	if p.failed > 0 && !p.lastAt.IsZero() && OwnerLogsIn(p.key, p.lastAt, now) {
		n = 1 // the imagined owner logged in since: the run ended
	}
	if err := p.record(AttemptFailed{Key: p.key, Consecutive: n, At: now}); err != nil {
		return err
	}
	if n < threshold {
		return ErrRefused
	}
	if err := p.record(Locked{Key: p.key, FailedAttempts: n}); err != nil {
		return err
	}
	return ErrLocked
}

// OwnerLogsIn reports whether the imagined owner of the probe with key logs
// in after from and no later than to. The owner is drawn from the key:
// about three in ten never log in; the others every 1 to 45 days (as staff
// look at their payments daily or monthly), on those days at one moment
// between 08:00 and 17:00 in Melaka, unless the day falls on a Saturday or
// a Sunday. A key that is not hex has no owner.
func OwnerLogsIn(key string, from, to time.Time) bool {
	if !to.After(from) {
		return false
	}
	b, err := hex.DecodeString(key)
	if err != nil || len(b) < 9 {
		return false
	}
	if b[8]%10 < 3 {
		return false // an owner who never logs in
	}
	h1, h2 := binary.BigEndian.Uint32(b[:4]), binary.BigEndian.Uint32(b[4:8])
	interval := int64(1 + h1%45)                                     // days between the owner's logins
	phase := int64(h2 % uint32(interval))                            // which day of the interval
	inDay := time.Duration(h2/45%(9*3600))*time.Second + 8*time.Hour // 08:00–17:00
	from, to = from.In(calendar.Melaka), to.In(calendar.Melaka)
	day := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, calendar.Melaka)
	// Every interval is a whole number of days, so after 7 intervals the
	// scheduled days repeat their weekdays: one of them is a working day
	// unless every one falls at the weekend, and that owner never logs in.
	for end := day.AddDate(0, 0, int(7*interval)+1); !day.After(to) && day.Before(end); day = day.AddDate(0, 0, 1) {
		n := day.Unix()/86400 + 1 // days since 1 January 1970 in Melaka (UTC+8, no DST)
		if n%interval != phase || day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
			continue
		}
		if at := day.Add(inDay); at.After(from) && !at.After(to) {
			return true
		}
	}
	return false
}

func (p *Probe) record(ev eventlog.Event) error {
	if err := p.Apply(ev); err != nil {
		return err
	}
	p.Add(ev)
	return nil
}

// Apply rebuilds state from one event.
func (p *Probe) Apply(ev eventlog.Event) error {
	switch ev := ev.(type) {
	case AttemptFailed:
		if ev.Key != p.key {
			return fmt.Errorf("loginprobe: event for key %q in probe %q", ev.Key, p.key)
		}
		p.failed = ev.Consecutive
		p.locked = p.locked || ev.WhileLocked
		p.lastAt = ev.At
	case Locked:
		if ev.Key != p.key {
			return fmt.Errorf("loginprobe: event for key %q in probe %q", ev.Key, p.key)
		}
		p.locked, p.failed = true, ev.FailedAttempts
	default:
		return fmt.Errorf("loginprobe: cannot apply event %T (%s)", ev, ev.EventType())
	}
	return nil
}
