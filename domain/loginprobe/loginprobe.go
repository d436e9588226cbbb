// Package loginprobe records login attempts on user IDs that have no
// account, in streams "loginprobe-<key>", where key is a keyed hash of the
// ID (infra/security), so the IDs people try are kept for auditors without
// the log holding them in clear.
//
// A probe counts and locks exactly like an account, so that from outside an
// unknown ID cannot be told from a real one: the same messages, the lock
// after the same number of attempts, and from then on the lock notice.
package loginprobe

import (
	"errors"
	"fmt"
	"regexp"
	"time"

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
		if err := p.record(AttemptFailed{Key: p.key, Consecutive: p.failed, WhileLocked: true}); err != nil {
			return err
		}
		return ErrLocked
	}
	n := p.failed + 1
	if err := p.record(AttemptFailed{Key: p.key, Consecutive: n}); err != nil {
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
