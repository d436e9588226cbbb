package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/eventstore"
	"github.com/melaka-gov/ispeks/infra/eventstore/eventstoretest"
	"github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
)

// tamper rewrites one stored event's data with plain SQL, as someone with
// access to the file could.
func tamper(path string) func(context.Context, eventlog.Record) error {
	return func(ctx context.Context, rec eventlog.Record) error {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
		if err != nil {
			return err
		}
		defer db.Close()
		res, err := db.ExecContext(ctx, `UPDATE events SET data = CAST('{"tampered":true}' AS BLOB) WHERE position = ?`, rec.Position)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("tamper changed %d rows", n)
		}
		return nil
	}
}

var quiet = slog.New(slog.DiscardHandler)

func TestContract(t *testing.T) {
	eventstoretest.Run(t, eventstoretest.Harness{
		New: func(t *testing.T) eventstoretest.Backend {
			path := filepath.Join(t.TempDir(), "events.db")
			return eventstoretest.Backend{
				Open: func(ctx context.Context) (eventstore.Store, error) {
					return sqlite.Open(ctx, path, sqlite.Options{Logger: quiet})
				},
				Tamper: tamper(path),
			}
		},
		GapFreePositions: true,
	})
}

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path, sqlite.Options{Logger: quiet})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func proposed(n int) []eventlog.Proposed {
	out := make([]eventlog.Proposed, n)
	for i := range out {
		out[i] = eventlog.Proposed{
			ID:         uuid.New(),
			Type:       "test.Happened.v1",
			OccurredAt: time.Now().UTC(),
			Data:       json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
			Metadata:   eventlog.Metadata{Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "test"}},
		}
	}
	return out
}

func TestOpenRefusesFilesThatAreNotEventStores(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("Tuntutan perjalanan bulan Mac\n"), 0o600)

	// Another application's SQLite database: must not be touched (no WAL
	// switch, no tables added).
	other := filepath.Join(dir, "other.db")
	db, err := sql.Open("sqlite", other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE payroll (ic TEXT, salary INTEGER)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	wrongFormat := filepath.Join(dir, "wrongformat.db")
	db, _ = sql.Open("sqlite", wrongFormat)
	db.Exec(`CREATE TABLE ispeks_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`)
	db.Exec(`INSERT INTO ispeks_meta VALUES ('format', 'ispeks-readmodels'), ('schema_version', '1')`)
	db.Close()

	for _, path := range []string{text, other, wrongFormat} {
		before, _ := os.ReadFile(path)
		_, err := sqlite.Open(ctx, path, sqlite.Options{Logger: quiet})
		if !errors.Is(err, eventlog.ErrNotEventStore) {
			t.Errorf("open %s: %v, want eventlog.ErrNotEventStore", filepath.Base(path), err)
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name the file", err)
		}
		after, _ := os.ReadFile(path)
		if !bytes.Equal(before, after) {
			t.Errorf("open of %s changed the file", filepath.Base(path))
		}
		if _, err := os.Stat(path + "-wal"); err == nil {
			t.Errorf("open of %s left a WAL file", filepath.Base(path))
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	st := open(t, path)
	st.Close()
	db, _ := sql.Open("sqlite", path)
	if _, err := db.Exec(`UPDATE ispeks_meta SET value = '99' WHERE key = 'schema_version'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err := sqlite.Open(context.Background(), path, sqlite.Options{Logger: quiet})
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("open of a store with schema version 99: %v, want an error saying it is newer", err)
	}
}

func TestOpenEmptyFileBecomesStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	st := open(t, path)
	if _, err := st.Append(context.Background(), "test-1", eventlog.NoStream(), proposed(1)); err != nil {
		t.Fatal(err)
	}
}

func TestOpenBadLocations(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "plain")
	os.WriteFile(file, []byte("x"), 0o600)
	os.Mkdir(filepath.Join(dir, "adir.db"), 0o700)
	for _, tc := range []struct {
		path, want string
	}{
		{filepath.Join(dir, "missing", "events.db"), "does not exist"},
		{filepath.Join(file, "events.db"), "not a directory"},
		{filepath.Join(dir, "adir.db"), "is a directory"},
		{"", "path is empty"},
	} {
		_, err := sqlite.Open(ctx, tc.path, sqlite.Options{Logger: quiet})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("open %q: %v, want an error saying %q", tc.path, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Error("open created the missing data directory")
	}
}

func TestOpenUnreadableDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: directory permissions are not enforced, so an unreadable directory cannot be made; run the tests as an ordinary user to check this")
	}
	dir := filepath.Join(t.TempDir(), "locked")
	os.Mkdir(dir, 0o700)
	path := filepath.Join(dir, "events.db")
	st := open(t, path)
	st.Close()
	if err := os.Chmod(dir, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	_, err := sqlite.Open(context.Background(), path, sqlite.Options{Logger: quiet})
	if err == nil || !strings.Contains(err.Error(), "not accessible") && !strings.Contains(err.Error(), "not readable") {
		t.Fatalf("open in an unreadable directory: %v, want a clear error", err)
	}
	os.Chmod(dir, 0o500) // readable, not writable
	_, err = sqlite.Open(context.Background(), path, sqlite.Options{Logger: quiet})
	if err == nil || !strings.Contains(err.Error(), "not writable") {
		t.Fatalf("open in a read-only directory: %v, want an error saying it is not writable", err)
	}
}

// Two stores on one file stand in for two processes: each has its own
// connections, so SQLite's locking and the in-transaction version checks
// are what keeps them apart.
func TestTwoProcessesOnOneFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	a, b := open(t, path), open(t, path)

	// b's subscription must see a's commits: no in-process signal connects
	// them, only the poll.
	got := make(chan eventlog.Record, 100)
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	subDone := make(chan error, 1)
	go func() {
		subDone <- b.Subscribe(subCtx, 0, func(_ context.Context, r eventlog.Record) error {
			got <- r
			return nil
		})
	}()

	const writers, each = 8, 10
	var wg sync.WaitGroup
	errc := make(chan error, 2*writers)
	for i := 0; i < writers; i++ {
		for _, st := range []*sqlite.Store{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; k < each; k++ {
					for {
						recs, err := st.ReadStream(ctx, "shared-1", 0, eventlog.Backwards, 1)
						if err != nil {
							errc <- err
							return
						}
						var v uint64
						if len(recs) > 0 {
							v = recs[0].Version
						}
						_, err = st.Append(ctx, "shared-1", eventlog.Exactly(v), proposed(1))
						var wev *eventlog.WrongExpectedVersionError
						if errors.As(err, &wev) {
							continue
						}
						if err != nil {
							errc <- err
							return
						}
						break
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	total := 2 * writers * each
	all, err := a.ReadAll(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != total {
		t.Fatalf("log has %d events, want %d", len(all), total)
	}
	for i, r := range all {
		if r.Position != uint64(i+1) || r.Version != uint64(i+1) {
			t.Fatalf("record %d: position %d version %d", i, r.Position, r.Version)
		}
	}
	if br := eventlog.VerifyStream(all); br != nil {
		t.Fatalf("chain across two writers: %v", br)
	}
	// The one from a alone, appended after b's subscription caught up.
	res, err := a.Append(ctx, "solo-1", eventlog.NoStream(), proposed(1))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for seen := 0; ; {
		select {
		case r := <-got:
			seen++
			if r.Position != uint64(seen) {
				t.Fatalf("subscription delivered position %d as number %d", r.Position, seen)
			}
			if r.Position == res.LastPosition {
				return
			}
		case err := <-subDone:
			t.Fatalf("subscription ended: %v", err)
		case <-deadline:
			t.Fatalf("subscription on b never saw position %d written through a", res.LastPosition)
		}
	}
}

// One bad request in a group must not take the others down with it, nor
// leave any of its own rows behind.
func TestFailingRequestDoesNotPoisonGroup(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "events.db"))
	taken := proposed(1)
	if _, err := st.Append(ctx, "owner-1", eventlog.NoStream(), taken); err != nil {
		t.Fatal(err)
	}
	const n = 64
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			evs := proposed(3)
			if i%4 == 0 {
				evs[2].ID = taken[0].ID // already stored in owner-1
			}
			_, errs[i] = st.Append(ctx, fmt.Sprintf("group-%d", i), eventlog.NoStream(), evs)
		}()
	}
	wg.Wait()
	good := 0
	for i, err := range errs {
		if i%4 == 0 {
			if !errors.Is(err, eventlog.ErrInvalidEvent) || !strings.Contains(err.Error(), "owner-1") {
				t.Errorf("append %d with a taken event ID: %v, want ErrInvalidEvent naming owner-1", i, err)
			}
			recs, _ := st.ReadStream(ctx, fmt.Sprintf("group-%d", i), 1, eventlog.Forwards, 10)
			if len(recs) != 0 {
				t.Errorf("failed append %d left %d events", i, len(recs))
			}
			continue
		}
		if err != nil {
			t.Errorf("append %d: %v", i, err)
		}
		good++
	}
	all, err := st.ReadAll(ctx, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1+3*good {
		t.Fatalf("log has %d events, want %d", len(all), 1+3*good)
	}
	for i, r := range all {
		if r.Position != uint64(i+1) {
			t.Fatalf("gap: record %d has position %d", i, r.Position)
		}
	}
}

func TestRetryOfDifferentShapeReturnsOriginalResult(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "events.db"))
	st.Append(ctx, "noise-1", eventlog.NoStream(), proposed(2))
	evs := proposed(3)
	orig, err := st.Append(ctx, "cmd-1", eventlog.NoStream(), evs)
	if err != nil {
		t.Fatal(err)
	}
	st.Append(ctx, "noise-1", eventlog.Exactly(2), proposed(2))
	st.Append(ctx, "cmd-1", eventlog.Exactly(3), proposed(1))
	// A command that decided differently the second time: same first ID,
	// one event fewer. The original append's extent is what counts.
	got, err := st.Append(ctx, "cmd-1", eventlog.Exactly(4), evs[:2])
	if want := withReplayed(orig); err != nil || got != want {
		t.Fatalf("retry: %+v, %v; want %+v", got, err, want)
	}
	if _, err := st.Append(ctx, "other-1", eventlog.NoStream(), evs); !errors.Is(err, eventlog.ErrInvalidEvent) {
		t.Fatalf("append of stored IDs to another stream: %v, want ErrInvalidEvent", err)
	}
}

func TestCloseWithAppendsInFlight(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := map[string]bool{}
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				s := fmt.Sprintf("inflight-%d", i)
				_, err := st.Append(ctx, s, eventlog.Exactly(uint64(k)), proposed(1))
				if errors.Is(err, sqlite.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("append: %v", err)
					return
				}
				mu.Lock()
				ok[fmt.Sprintf("%s/%d", s, k+1)] = true
				mu.Unlock()
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	st2 := open(t, path)
	all, err := st2.ReadAll(ctx, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(ok) {
		t.Fatalf("after close the log has %d events, %d appends reported success", len(all), len(ok))
	}
	for _, r := range all {
		if !ok[fmt.Sprintf("%s/%d", r.Stream, r.Version)] {
			t.Errorf("%s version %d stored but its append did not report success", r.Stream, r.Version)
		}
	}
}

// Large ReadAll pages are read as two halves on two connections; the result
// must be the same as reading in small pages, also when a row has been
// deleted behind the store's back.
func TestReadAllLargePagesMatchSmallPages(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	st := open(t, path)
	for i := 0; i < 26; i++ {
		if _, err := st.Append(ctx, fmt.Sprintf("page-%d", i%5), eventlog.Any(), proposed(100)); err != nil {
			t.Fatal(err)
		}
	}
	readAll := func(limit int) []eventlog.Record {
		var out []eventlog.Record
		var pos uint64
		for {
			recs, err := st.ReadAll(ctx, pos, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) == 0 {
				return out
			}
			out = append(out, recs...)
			pos = recs[len(recs)-1].Position
		}
	}
	same := func(a, b []eventlog.Record) {
		t.Helper()
		if len(a) != len(b) {
			t.Fatalf("%d records against %d", len(a), len(b))
		}
		for i := range a {
			if a[i].Position != b[i].Position || a[i].ID != b[i].ID || a[i].Metadata != b[i].Metadata {
				t.Fatalf("record %d differs: position %d vs %d", i, a[i].Position, b[i].Position)
			}
		}
	}
	small := readAll(7)
	if len(small) != 2600 {
		t.Fatalf("read %d events, want 2600", len(small))
	}
	same(readAll(1000), small)
	same(readAll(513), small)

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM events WHERE position IN (300, 1200)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	holed := readAll(1000)
	if len(holed) != 2598 {
		t.Fatalf("read %d events after deleting 2, want 2598", len(holed))
	}
	for i := 1; i < len(holed); i++ {
		if holed[i].Position <= holed[i-1].Position {
			t.Fatalf("positions out of order at %d", i)
		}
	}
	same(holed, readAll(9))
}

// Close ends every goroutine the store started (writer, checkpointer,
// subscription poller, split readers).
func TestCloseLeavesNoGoroutines(t *testing.T) {
	ctx := context.Background()
	before := runtime.NumGoroutine()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "events.db"), sqlite.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := st.Append(ctx, "leak-1", eventlog.Any(), proposed(500)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.ReadAll(ctx, 0, 1000); err != nil {
		t.Fatal(err)
	}
	subDone := make(chan error, 1)
	seen := make(chan struct{}, 2000)
	go func() {
		subDone <- st.Subscribe(ctx, 0, func(context.Context, eventlog.Record) error {
			seen <- struct{}{}
			return nil
		})
	}()
	for i := 0; i < 1500; i++ {
		<-seen
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-subDone; !errors.Is(err, sqlite.ErrClosed) {
		t.Errorf("subscription ended with %v, want ErrClosed", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// Another process holding the write lock longer than BusyTimeout fails the
// appends waiting for it with a clear error and leaves nothing behind; once
// the lock is free the store carries on where the file stands.
func TestWriteLockHeldElsewhere(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{Logger: quiet, BusyTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Append(ctx, "lock-1", eventlog.NoStream(), proposed(2)); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	_, err = st.Append(ctx, "lock-1", eventlog.Exactly(2), proposed(1))
	if err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("append while another process holds the write lock: %v, want a lock error", err)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	res, err := st.Append(ctx, "lock-1", eventlog.Exactly(2), proposed(1))
	if err != nil || res.LastVersion != 3 || res.LastPosition != 3 {
		t.Fatalf("append after the lock was released: %+v, %v", res, err)
	}
	recs, _ := st.ReadStream(ctx, "lock-1", 1, eventlog.Forwards, 10)
	if br := eventlog.VerifyStream(recs); br != nil || len(recs) != 3 {
		t.Fatalf("stream after the failed append: %d events, %v", len(recs), br)
	}
}

func TestAppendWithEndedContext(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "events.db"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := st.Append(ctx, "ctx-1", eventlog.NoStream(), proposed(1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("append with a cancelled context: %v", err)
	}
	if last, _ := st.LastPosition(context.Background()); last != 0 {
		t.Errorf("cancelled append stored something: last position %d", last)
	}
	_, err := st.Append(context.Background(), "ctx-1", eventlog.NoStream(), []eventlog.Proposed{{
		ID: uuid.New(), Type: "test.Happened.v1", OccurredAt: time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), Data: json.RawMessage(`{}`),
	}})
	if !errors.Is(err, eventlog.ErrInvalidEvent) || !strings.Contains(err.Error(), "1500") {
		t.Errorf("event from the year 1500: %v, want ErrInvalidEvent naming the time", err)
	}
}

// withReplayed is res as a retry of its append answers it.
func withReplayed(res eventlog.AppendResult) eventlog.AppendResult {
	res.Replayed = true
	return res
}
