package backup_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/backup"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/loginprobe"
)

func TestRecordGivenWhenThen(t *testing.T) {
	now := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	taken := backup.Taken{Path: "/srv/backup/events.db", Events: 3, LastPosition: 4, HeadDigest: strings.Repeat("0f", 32), Bytes: 4096}

	// given one backup recorded, when another is recorded, then one Taken
	// is raised and two are counted.
	l := backup.New()
	if err := l.Apply(taken); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(taken, now); err != nil {
		t.Fatal(err)
	}
	if got := l.Uncommitted(); len(got) != 1 || got[0] != taken || l.Taken() != 2 {
		t.Fatalf("uncommitted %v, taken %d", got, l.Taken())
	}
	// when the time is missing, then ErrInvalid and nothing raised.
	l = backup.New()
	if err := l.Record(taken, time.Time{}); !errors.Is(err, backup.ErrInvalid) || len(l.Uncommitted()) != 0 {
		t.Fatalf("no time: %v", err)
	}
	// an empty log's copy has no head digest.
	if err := l.Record(backup.Taken{Path: "/srv/b/events.db", Bytes: 8192}, now); err != nil {
		t.Fatalf("empty log: %v", err)
	}
	// the master key is named by its 8-hex-digit key ID, or not at all.
	named := taken
	named.KeyID = "0a1b2c3d"
	if err := l.Record(named, now); err != nil {
		t.Fatalf("key ID: %v", err)
	}
	named.KeyID = "not-a-key-id"
	if err := l.Record(named, now); !errors.Is(err, backup.ErrInvalid) {
		t.Fatalf("malformed key ID: %v", err)
	}
	// Apply refuses what is not a backup event.
	if err := backup.New().Apply(loginprobe.Locked{}); err == nil {
		t.Fatal("Apply accepted a foreign event")
	}
}

func TestTakenIsRegisteredByName(t *testing.T) {
	reg := eventlog.NewRegistry()
	backup.Register(reg)
	if got := strings.Join(reg.Types(), ","); got != "backup.Taken.v1" {
		t.Fatalf("registered %s", got)
	}
}
