// Package audit is the auditor's view of one user ID: its login and lockout
// timeline, the state of its account as of any moment, and the integrity of
// its streams. Unlike every other query of the read side it reads the event
// log itself, on purpose (DESIGN.md "Read side"): an auditor must not have
// to trust a read model, and the integrity chain can only be checked on the
// stored events.
//
// A user ID (the IC number) has up to two streams: "account-<IC>" once it
// registered, and "loginprobe-<key>" for attempts made while no account
// existed (key is a keyed hash of the ID, so the log never holds tried IDs in
// clear). Both are read and merged in log order.
//
// Nothing secret is ever shown: entries carry reasons, counts, roles and
// actors, never password hashes, sealed values or recovery-code hashes.
package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/loginprobe"
	"github.com/melaka-gov/ispeks/domain/mykad"
)

// StreamReader is the slice of the event store the audit reads need.
type StreamReader interface {
	ReadStream(ctx context.Context, stream string, from uint64, dir eventlog.Direction, limit int) ([]eventlog.Record, error)
}

// ErrAsOf: a typed moment is neither YYYY-MM-DDTHH:MM nor with seconds.
var ErrAsOf = errors.New("audit: not YYYY-MM-DDTHH:MM (Malaysia time)")

// AsOfLayouts are the accepted forms of a typed moment, Malaysia time: to
// the minute (what a datetime-local input sends), or with seconds.
var AsOfLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05"}

// ParseAsOf reads the moment of a state-as-of query (AsOf), typed in
// Malaysia time. A moment typed to the minute means the whole minute, as
// an auditor reads it: an event at 07:37:51 is "at 07:37", so it is in the
// state as of 07:37. The web page and `ispeks audit state --at` both read
// the moment here, so they agree.
func ParseAsOf(s string) (time.Time, error) {
	for i, layout := range AsOfLayouts {
		if len(s) != len(layout) {
			continue
		}
		at, err := time.ParseInLocation(layout, s, calendar.Melaka)
		if err != nil {
			continue
		}
		if i == 0 {
			at = at.Add(time.Minute - time.Nanosecond)
		}
		return at, nil
	}
	return time.Time{}, fmt.Errorf("%w: %q", ErrAsOf, s)
}

// ErrUserID: the user ID is not a valid IC number. It wraps the mykad
// error, which says what is wrong.
var ErrUserID = errors.New("audit: user ID is not a valid IC number")

// Log reads the audit views from the event log.
type Log struct {
	Streams  StreamReader
	Registry *eventlog.Registry
	// ProbeKey names the login-probe stream of a user ID (infra/security
	// Keyed.ProbeKey). Nil: attempts made before registration are not read.
	ProbeKey func(userID string) string
	// PageSize is how many events one read fetches (default 512).
	PageSize int
}

// New returns a Log over the event store.
func New(streams StreamReader, reg *eventlog.Registry, probeKey func(userID string) string) *Log {
	return &Log{Streams: streams, Registry: reg, ProbeKey: probeKey}
}

// ParseUserID checks a typed user ID (dashes allowed) and returns it as
// digits.
func ParseUserID(s string) (string, error) {
	ic, err := mykad.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrUserID, err)
	}
	return ic.String(), nil
}

// streams lists the streams of userID, account first.
func (l *Log) streams(userID string) ([]string, error) {
	ic, err := mykad.Parse(userID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUserID, err)
	}
	out := []string{account.Stream(ic)}
	if l.ProbeKey != nil {
		probe, err := loginprobe.Stream(l.ProbeKey(ic.String()))
		if err != nil {
			return nil, fmt.Errorf("audit: probe stream: %w", err)
		}
		out = append(out, probe)
	}
	return out, nil
}

// StreamCheck is the integrity of one stream, as far as it was read.
type StreamCheck struct {
	Stream string
	// Events read and checked.
	Events int
	// LastHash is the hash of the last event that passed (the head of the
	// chain when the whole stream was read).
	LastHash string
	// Broken is the first link that fails, or nil.
	Broken *eventlog.BrokenLink
}

// Integrity is the chain check of the streams of one user ID.
type Integrity struct {
	Streams []StreamCheck
}

// OK reports whether every link read holds.
func (in Integrity) OK() bool {
	for _, s := range in.Streams {
		if s.Broken != nil {
			return false
		}
	}
	return true
}

// Events is the number of events checked across the streams.
func (in Integrity) Events() int {
	n := 0
	for _, s := range in.Streams {
		n += s.Events
	}
	return n
}

// FirstBroken returns the first broken link (in stream order), or nil.
func (in Integrity) FirstBroken() *eventlog.BrokenLink {
	for _, s := range in.Streams {
		if s.Broken != nil {
			return s.Broken
		}
	}
	return nil
}

// cursor reads one stream forwards a page at a time and checks its chain.
type cursor struct {
	l       *Log
	stream  string
	buf     []eventlog.Record
	next    uint64 // version to read next
	done    bool
	chain   *eventlog.ChainVerifier
	check   *StreamCheck
	account bool
}

func (c *cursor) peek(ctx context.Context) (*eventlog.Record, error) {
	if len(c.buf) == 0 && !c.done {
		size := c.l.PageSize
		if size <= 0 {
			size = 512
		}
		recs, err := c.l.Streams.ReadStream(ctx, c.stream, c.next, eventlog.Forwards, size)
		if err != nil {
			return nil, fmt.Errorf("audit: read stream: %w", err)
		}
		c.buf = recs
		if len(recs) < size {
			c.done = true
		}
		if len(recs) > 0 {
			c.next = recs[len(recs)-1].Version + 1
		}
	}
	if len(c.buf) == 0 {
		return nil, nil
	}
	return &c.buf[0], nil
}

// take removes the peeked record and checks its link. After the first
// broken link the rest of the stream is still read (an auditor wants to see
// it) but no further link is judged: one break makes every later hash
// meaningless to compare.
func (c *cursor) take() (eventlog.Record, Link) {
	rec := c.buf[0]
	c.buf = c.buf[1:]
	c.check.Events++
	if c.check.Broken != nil {
		return rec, LinkUnchecked
	}
	if b := c.chain.Add(rec); b != nil {
		c.check.Broken = b
		return rec, LinkBroken
	}
	c.check.LastHash = rec.Metadata.Hash
	return rec, LinkOK
}

// Link is the integrity verdict on one event.
type Link string

const (
	LinkOK        Link = "ok"        // its hash and prev hold
	LinkBroken    Link = "broken"    // the first link of its stream that fails
	LinkUnchecked Link = "unchecked" // after a broken link: nothing to compare with
)

// walk reads the streams of userID merged in log order and calls fn with
// each record, the cursor it came from and the verdict on its link. It stops before the first record stop (optional) accepts,
// which is then neither checked nor counted. The integrity covers what fn
// was given.
func (l *Log) walk(ctx context.Context, userID string, stop func(eventlog.Record) bool, fn func(rec eventlog.Record, c *cursor, link Link) error) (Integrity, error) {
	names, err := l.streams(userID)
	if err != nil {
		return Integrity{}, err
	}
	in := Integrity{Streams: make([]StreamCheck, len(names))}
	curs := make([]*cursor, len(names))
	for i, n := range names {
		in.Streams[i].Stream = n
		curs[i] = &cursor{l: l, stream: n, next: 1, chain: eventlog.NewChainVerifier(), check: &in.Streams[i], account: i == 0}
	}
	for {
		if err := ctx.Err(); err != nil {
			return in, err
		}
		var pick *cursor
		var pickPos uint64
		for _, c := range curs {
			rec, err := c.peek(ctx)
			if err != nil {
				return in, err
			}
			if rec != nil && (pick == nil || rec.Position < pickPos) {
				pick, pickPos = c, rec.Position
			}
		}
		if pick == nil || (stop != nil && stop(pick.buf[0])) {
			return in, nil
		}
		rec, link := pick.take()
		if err := fn(rec, pick, link); err != nil {
			return in, err
		}
	}
}

// Verify reads every event of userID's streams and checks their chains:
// each hash recomputed from the stored bytes, each prev equal to the hash
// before it, versions without gaps.
func (l *Log) Verify(ctx context.Context, userID string) (Integrity, error) {
	return l.walk(ctx, userID, nil, func(eventlog.Record, *cursor, Link) error { return nil })
}
