package commands_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/backup"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
)

func TestRecordBackup(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	reg := eventlog.NewRegistry()
	backup.Register(reg)
	now := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	r := commands.Runner{Store: store, Registry: reg, Now: func() time.Time { return now }}
	h := commands.RecordBackupHandler{Runner: r}
	ctx := context.Background()
	operator := func() commands.Meta {
		return commands.Meta{CommandID: uuid.New(), Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "cli:aminah"}}
	}
	copy1 := backup.Taken{Path: "/srv/backup/2026-11-27/events.db", Events: 428, LastPosition: 428, HeadDigest: strings.Repeat("ab", 32), Bytes: 708608}

	// given no backup, when one is recorded, then Taken is appended with
	// the operator as actor.
	res, err := h.Handle(ctx, commands.RecordBackup{Meta: operator(), Backup: copy1})
	if err != nil || res.Appended != 1 {
		t.Fatalf("record: %+v %v", res, err)
	}
	// given one, when another is recorded, then it follows in the stream.
	copy2 := copy1
	copy2.Path, copy2.Events, copy2.LastPosition = "/srv/backup/2026-11-28/events.db", 500, 500
	if _, err := h.Handle(ctx, commands.RecordBackup{Meta: operator(), Backup: copy2}); err != nil {
		t.Fatal(err)
	}
	recs, err := store.ReadStream(ctx, backup.Stream, 1, eventlog.Forwards, 10)
	if err != nil || len(recs) != 2 {
		t.Fatalf("stream: %d %v", len(recs), err)
	}
	for i, want := range []backup.Taken{copy1, copy2} {
		env, err := reg.Decode(recs[i])
		if err != nil || !reflect.DeepEqual(env.Event, want) || recs[i].Type != "backup.Taken.v1" ||
			recs[i].Metadata.Actor != (eventlog.Actor{Kind: eventlog.ActorSystem, ID: "cli:aminah"}) || !recs[i].OccurredAt.Equal(now) {
			t.Fatalf("event %d: %+v %+v %v", i, recs[i], env.Event, err)
		}
	}

	// when the record does not describe a verified copy, then ErrInvalid
	// and nothing is appended.
	for name, bad := range map[string]backup.Taken{
		"relative path":  {Path: "backup/events.db", Events: 1, LastPosition: 1, HeadDigest: copy1.HeadDigest, Bytes: 1},
		"control char":   {Path: "/srv/x\n/events.db", Events: 1, LastPosition: 1, HeadDigest: copy1.HeadDigest, Bytes: 1},
		"no digest":      {Path: "/srv/x/events.db", Events: 1, LastPosition: 1, Bytes: 1},
		"bad digest":     {Path: "/srv/x/events.db", Events: 1, LastPosition: 1, HeadDigest: "ABC", Bytes: 1},
		"more events":    {Path: "/srv/x/events.db", Events: 5, LastPosition: 4, HeadDigest: copy1.HeadDigest, Bytes: 1},
		"no bytes":       {Path: "/srv/x/events.db", Events: 1, LastPosition: 1, HeadDigest: copy1.HeadDigest},
		"empty w/digest": {Path: "/srv/x/events.db", HeadDigest: copy1.HeadDigest, Bytes: 1},
	} {
		if _, err := h.Handle(ctx, commands.RecordBackup{Meta: operator(), Backup: bad}); !errors.Is(err, backup.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// when anyone but the console records one, then ErrForbidden.
	for _, actor := range []eventlog.Actor{{Kind: eventlog.ActorAdmin, ID: "800101015555"}, {Kind: eventlog.ActorClient, ID: "payroll"}, {Kind: eventlog.ActorSystem}} {
		if _, err := h.Handle(ctx, commands.RecordBackup{Meta: commands.Meta{CommandID: uuid.New(), Actor: actor}, Backup: copy1}); !errors.Is(err, commands.ErrForbidden) {
			t.Errorf("actor %+v: %v", actor, err)
		}
	}
	if recs, _ := store.ReadStream(ctx, backup.Stream, 1, eventlog.Forwards, 10); len(recs) != 2 {
		t.Fatalf("%d events after refusals, want 2", len(recs))
	}
}
