package sqlite_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
)

// TestReadOnlyReadsAsTheStoreDoes: the audit's reads of a copy (a stream
// forwards and backwards, the log's last position) give what the store
// that wrote the file gives, and a store's mistakes are refused alike.
func TestReadOnlyReadsAsTheStoreDoes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	st := open(t, path)
	for _, stream := range []string{"account-a", "account-b"} {
		if _, err := st.Append(ctx, stream, eventlog.NoStream(), proposed(3)); err != nil {
			t.Fatal(err)
		}
	}
	type read struct {
		stream string
		from   uint64
		dir    eventlog.Direction
		limit  int
	}
	reads := []read{
		{"account-a", 1, eventlog.Forwards, 10},
		{"account-b", 2, eventlog.Forwards, 1},
		{"account-b", 0, eventlog.Backwards, 2},
		{"account-a", 2, eventlog.Backwards, 10},
		{"account-none", 1, eventlog.Forwards, 10},
	}
	want := make([][]eventlog.Record, len(reads))
	for i, r := range reads {
		recs, err := st.ReadStream(ctx, r.stream, r.from, r.dir, r.limit)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = recs
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	ro, err := sqlite.OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	for i, r := range reads {
		got, err := ro.ReadStream(ctx, r.stream, r.from, r.dir, r.limit)
		if err != nil {
			t.Fatalf("read %+v: %v", r, err)
		}
		if len(got) != len(want[i]) || (len(got) > 0 && !reflect.DeepEqual(got, want[i])) {
			t.Errorf("read %+v: %d records %v, the store read %d %v", r, len(got), got, len(want[i]), want[i])
		}
	}
	if last, err := ro.LastPosition(ctx); err != nil || last != 6 {
		t.Errorf("last position: %d, %v, want 6", last, err)
	}
	if _, err := ro.ReadStream(ctx, "", 1, eventlog.Forwards, 10); err == nil {
		t.Error("an empty stream name was read")
	}
	if _, err := ro.ReadStream(ctx, "account-a", 1, eventlog.Forwards, 0); err == nil {
		t.Error("a read of 0 events was accepted")
	}
	ro.Close()
	if _, err := ro.ReadStream(ctx, "account-a", 1, eventlog.Forwards, 10); !errors.Is(err, sqlite.ErrClosed) {
		t.Errorf("read after close: %v, want ErrClosed", err)
	}
}

// TestReadOnlyWritesNoReadOnlyShm: a copy taken with the -wal and the
// -shm, its files marked read-only, is read and its -shm is left as it
// was, also by root, whom the permissions do not stop from writing the
// readers' locks into it.
func TestReadOnlyWritesNoReadOnlyShm(t *testing.T) {
	ctx := context.Background()
	live := t.TempDir()
	st := open(t, filepath.Join(live, "events.db"))
	if _, err := st.Append(ctx, "account-a", eventlog.NoStream(), proposed(3)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range []string{"events.db", "events.db-wal", "events.db-shm"} {
		b, err := os.ReadFile(filepath.Join(live, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o400); err != nil {
			t.Fatal(err)
		}
	}
	shm := filepath.Join(dir, "events.db-shm")
	old := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(shm, old, old); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(shm)
	if err != nil {
		t.Fatal(err)
	}

	ro, err := sqlite.OpenReadOnly(ctx, filepath.Join(dir, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := ro.ReadStream(ctx, "account-a", 1, eventlog.Forwards, 10)
	if err != nil || len(recs) != 3 {
		t.Fatalf("read the copy: %d events, %v, want 3", len(recs), err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(shm)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(shm)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().Equal(old) || !bytes.Equal(after, before) {
		t.Errorf("the copy's read-only -shm was written (modified %v)", fi.ModTime())
	}
}
