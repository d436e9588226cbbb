// Package backup records the copies operators take of the event log
// (`ispeks backup`). The log holds every person's personal data, so who
// copied it, when, to where and as of which head is a question auditors
// ask; the answer is in the log itself, in the stream "backup-eventlog".
package backup

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// Stream holds every backup record: one event per copy, a few a day at most.
const Stream = "backup-eventlog"

// MaxPath bounds the recorded path of a copy.
const MaxPath = 1024

// ErrInvalid: a record that does not describe a copy.
var ErrInvalid = errors.New("backup: invalid record")

// Register adds the backup events to the registry.
func Register(reg *eventlog.Registry) {
	eventlog.Register[Taken](reg)
}

// Taken: an operator copied the log and the copy verified. Path is the
// copy's absolute path on the machine that made it; LastPosition and
// HeadDigest are the head of the copy (`audit verify --head
// LAST_POSITION:HEAD_DIGEST` checks a log against it).
type Taken struct {
	Path         string `json:"path"`
	Events       uint64 `json:"events"`
	LastPosition uint64 `json:"last_position"`
	HeadDigest   string `json:"head_digest,omitempty"` // empty for an empty log
	Bytes        int64  `json:"bytes"`
	// KeyID names the master key the log's secrets are sealed with (the
	// sealer's key ID, which every sealed value already shows): a log
	// restored beside another key is refused by it. Empty in records
	// made before it was kept.
	KeyID string `json:"key_id,omitempty"`
}

func (Taken) EventType() string { return "backup.Taken.v1" }

// Log is the record of backups: how many were taken.
type Log struct {
	taken       int
	uncommitted []eventlog.Event
}

// New returns the record of a log no backup was taken of.
func New() *Log { return &Log{} }

// Taken is how many backups are recorded.
func (l *Log) Taken() int { return l.taken }

// Record records a verified copy. now is when: the envelope carries it.
func (l *Log) Record(t Taken, now time.Time) error {
	if now.IsZero() {
		return fmt.Errorf("%w: no time", ErrInvalid)
	}
	if err := t.validate(); err != nil {
		return err
	}
	l.uncommitted = append(l.uncommitted, t)
	l.taken++
	return nil
}

func (t Taken) validate() error {
	switch {
	case t.Path == "" || !filepath.IsAbs(t.Path):
		return fmt.Errorf("%w: path %q is not absolute", ErrInvalid, t.Path)
	case len(t.Path) > MaxPath || !utf8.ValidString(t.Path) || strings.ContainsFunc(t.Path, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("%w: path is longer than %d bytes or holds control characters", ErrInvalid, MaxPath)
	case t.LastPosition < t.Events:
		return fmt.Errorf("%w: %d events cannot end at position %d", ErrInvalid, t.Events, t.LastPosition)
	case (t.Events == 0) != (t.HeadDigest == ""):
		return fmt.Errorf("%w: a head digest goes with a log that holds events, and only then", ErrInvalid)
	case t.HeadDigest != "" && (len(t.HeadDigest) != 64 || strings.Trim(t.HeadDigest, "0123456789abcdef") != ""):
		return fmt.Errorf("%w: head digest is not 64 lower-case hex digits", ErrInvalid)
	case t.KeyID != "" && (len(t.KeyID) != 8 || strings.Trim(t.KeyID, "0123456789abcdef") != ""):
		return fmt.Errorf("%w: key ID is not 8 lower-case hex digits", ErrInvalid)
	case t.Bytes <= 0:
		return fmt.Errorf("%w: a copy of %d bytes", ErrInvalid, t.Bytes)
	}
	return nil
}

// Apply rebuilds the record from a stored event.
func (l *Log) Apply(e eventlog.Event) error {
	switch e.(type) {
	case Taken:
		l.taken++
	default:
		return fmt.Errorf("backup: unknown event %T", e)
	}
	return nil
}

// Uncommitted returns the events raised since the record was loaded.
func (l *Log) Uncommitted() []eventlog.Event { return l.uncommitted }
