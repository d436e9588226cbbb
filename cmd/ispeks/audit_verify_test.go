package main

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	esqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	"github.com/melaka-gov/ispeks/infra/security"
)

// verifyFixture writes a small log to DIR/events.db: account-a has 3 events
// (positions 1–3), account-b 1 (position 4), account-c 1 (position 5).
func verifyFixture(t *testing.T) (dir string) {
	t.Helper()
	ctx := context.Background()
	dir = t.TempDir()
	st, err := esqlite.Open(ctx, filepath.Join(dir, "events.db"), esqlite.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ev := func(i int) eventlog.Proposed {
		return eventlog.Proposed{ID: uuid.New(), Type: "account.LoginFailed.v1", OccurredAt: time.Date(2025, 1, 1, 0, 0, i, 0, time.UTC),
			Data: []byte(fmt.Sprintf(`{"n":%d}`, i)), Metadata: eventlog.Metadata{Actor: eventlog.Actor{Kind: eventlog.ActorUser, ID: "u"}}}
	}
	evs := []eventlog.Proposed{ev(1), ev(2), ev(3)}
	if _, err := st.Append(ctx, "account-a", eventlog.NoStream(), evs); err != nil {
		t.Fatal(err)
	}
	for i, stream := range []string{"account-b", "account-c"} {
		if _, err := st.Append(ctx, stream, eventlog.NoStream(), []eventlog.Proposed{ev(4 + i)}); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func tamper(t *testing.T, dir, query string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatal(err)
	}
}

func auditVerify(dir string, args ...string) (string, error) {
	return executeOut(context.Background(), append([]string{"--data", dir, "--log-level", "error", "audit", "verify"}, args...)...)
}

var headDigest = regexp.MustCompile(`head digest: (\d+:[0-9a-f]{64})`)

// The embedded log's positions have no gaps, so an event removed from it is
// reported, also the last of its stream, which the stream's chain alone
// cannot show.
func TestAuditVerifyReportsARemovedEvent(t *testing.T) {
	for _, tc := range []struct {
		name      string
		positions string // removed
		want      string
	}{
		{"middle of a stream", "2", "position 2 is missing"},
		{"last of a stream", "3", "position 3 is missing"},
		{"a run", "2, 3, 4", "positions 2–4 are missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := verifyFixture(t)
			tamper(t, dir, "DELETE FROM events WHERE position IN ("+tc.positions+")")
			_, err := auditVerify(dir)
			if err == nil || !strings.Contains(err.Error(), "integrity broken") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("audit verify with positions %s removed: %v, want %q", tc.positions, err, tc.want)
			}
		})
	}
}

// An intact log passes and prints its head; the head, recorded, passes again
// as the log grows, and shows what the chains cannot: the log's last events
// removed, or an event changed and its stream re-sealed.
func TestAuditVerifyPrintsAndChecksTheHead(t *testing.T) {
	dir := verifyFixture(t)
	out, err := auditVerify(dir)
	if err != nil {
		t.Fatalf("intact log: %v", err)
	}
	if !strings.Contains(out, "integrity verified: 5 events") || !strings.Contains(out, "positions 1–5 without gaps") || !strings.Contains(out, "head: position 5, event hash ") {
		t.Fatalf("audit verify printed %q", out)
	}
	m := headDigest.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no head digest in %q", out)
	}
	head := m[1]
	if out, err := auditVerify(dir, "--head", head); err != nil || !strings.Contains(out, "matches the recorded head") {
		t.Fatalf("verify against its own head: %q, %v", out, err)
	}
	if _, err := auditVerify(dir, "--head", "5:nothex"); err == nil || !strings.Contains(err.Error(), "POSITION:DIGEST") {
		t.Fatalf("bad --head accepted: %v", err)
	}

	t.Run("log's last event removed", func(t *testing.T) {
		dir := verifyFixture(t)
		out, _ := auditVerify(dir)
		head := headDigest.FindStringSubmatch(out)[1]
		tamper(t, dir, "DELETE FROM events WHERE position = 5")
		if _, err := auditVerify(dir); err != nil {
			t.Fatalf("without a head the cut log verifies (nothing shows it): %v", err)
		}
		if _, err := auditVerify(dir, "--head", head); err == nil || !strings.Contains(err.Error(), "ends at position 4") {
			t.Fatalf("cut log against the recorded head: %v", err)
		}
	})

	t.Run("event changed and re-sealed", func(t *testing.T) {
		dir := verifyFixture(t)
		out, _ := auditVerify(dir)
		head := headDigest.FindStringSubmatch(out)[1]
		// Rewrite account-a's second event and re-seal it and the one after
		// it, as anyone who can write the file can: the chain is unkeyed.
		ctx := context.Background()
		st, err := esqlite.Open(ctx, filepath.Join(dir, "events.db"), esqlite.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		recs, err := st.ReadStream(ctx, "account-a", 1, eventlog.Forwards, 10)
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		recs[1].Data = []byte(`{"n":9}`)
		eventlog.Chain(recs[0].Metadata.Hash, recs[1:])
		for _, r := range recs[1:] {
			prev, _ := hex.DecodeString(r.Metadata.Prev)
			h, _ := hex.DecodeString(r.Metadata.Hash)
			tamper(t, dir, "UPDATE events SET data = ?, chain = ? WHERE position = ?", []byte(r.Data), append(prev, h...), r.Position)
		}
		if _, err := auditVerify(dir); err != nil {
			t.Fatalf("without a head the re-sealed log verifies (the documented limit): %v", err)
		}
		if _, err := auditVerify(dir, "--head", head); err == nil || !strings.Contains(err.Error(), "does not match the recorded head") {
			t.Fatalf("re-sealed log against the recorded head: %v", err)
		}
	})

	t.Run("events of two streams put in another order", func(t *testing.T) {
		// A position is not sealed: swapping account-b's event (4) with
		// account-c's (5) keeps every chain and every position, and needs
		// no re-seal. Only the recorded head shows it, and says so.
		dir := verifyFixture(t)
		out, _ := auditVerify(dir)
		head := headDigest.FindStringSubmatch(out)[1]
		tamper(t, dir, "UPDATE events SET position = 100 WHERE position = 4")
		tamper(t, dir, "UPDATE events SET position = 4 WHERE position = 5")
		tamper(t, dir, "UPDATE events SET position = 5 WHERE position = 100")
		if _, err := auditVerify(dir); err != nil {
			t.Fatalf("without a head the reordered log verifies (the documented limit): %v", err)
		}
		if _, err := auditVerify(dir, "--head", head); err == nil || !strings.Contains(err.Error(), "put in another order") {
			t.Fatalf("reordered log against the recorded head: %v", err)
		}
		if help, _ := executeOut(context.Background(), "audit", "verify", "--help"); !strings.Contains(strings.Join(strings.Fields(help), " "), "put events of different streams in another order") {
			t.Errorf("audit verify --help does not name the reordering it cannot see:\n%s", help)
		}
	})
}

// backup checks its copy as audit verify does: a gap in the log fails it.
func TestBackupRefusesALogWithAGap(t *testing.T) {
	dir := verifyFixture(t)
	tamper(t, dir, "DELETE FROM events WHERE position = 3")
	_, err := executeOut(context.Background(), "--data", dir, "--log-level", "error", "backup", filepath.Join(t.TempDir(), "b"))
	if err == nil || !strings.Contains(err.Error(), "failed verification") || !strings.Contains(err.Error(), "position 3 is missing") {
		t.Fatalf("backup of a log with position 3 removed: %v", err)
	}
}

// TestBackupIsRecordedWithTheOperator: a copy of the whole log (everyone's
// personal data) leaves a trace auditors can list: when, which operator,
// where to, and the copy's head. The record follows the copy (the copy
// ends where it was made) and the log still verifies.
func TestBackupIsRecordedWithTheOperator(t *testing.T) {
	t.Setenv("SUDO_USER", "")
	t.Setenv("USER", "aminah")
	ctx := context.Background()
	dir := verifyFixture(t)
	run := func(args ...string) string {
		t.Helper()
		out, err := executeOut(ctx, append([]string{"--data", dir, "--log-level", "error"}, args...)...)
		if err != nil {
			t.Fatalf("ispeks %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	if out := run("audit", "backups"); !strings.Contains(out, "no backup is recorded in the log") {
		t.Fatalf("before any backup: %s", out)
	}
	target := filepath.Join(t.TempDir(), "2026-11-27")
	out := run("backup", target)
	head := headDigest.FindStringSubmatch(out)
	if head == nil || head[1][:2] != "5:" || !strings.Contains(out, "recorded in the log at position 6 with cli:aminah as the operator") {
		t.Fatalf("backup: %s", out)
	}
	list := run("audit", "backups")
	if !regexp.MustCompile(`(?m)^6 +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +cli:aminah +5 +`+head[1]+` +`+regexp.QuoteMeta(filepath.Join(target, "events.db"))+`$`).MatchString(list) ||
		!strings.Contains(list, "1 backups recorded; their records' hash chain is intact") {
		t.Fatalf("audit backups:\n%s", list)
	}
	// The live log, record included, verifies and still matches the
	// copy's head; the copy holds the log as it was copied.
	if out := run("audit", "verify", "--head", head[1]); !strings.Contains(out, "integrity verified: 6 events") {
		t.Fatalf("audit verify: %s", out)
	}
	if out := run("audit", "verify", "--event-store", "sqlite:"+filepath.Join(target, "events.db")); !strings.Contains(out, "integrity verified: 5 events") {
		t.Fatalf("the copy: %s", out)
	}
	// A changed record is caught.
	tamper(t, dir, `UPDATE events SET data = CAST(replace(CAST(data AS TEXT), '2026-11-27', '2026-11-28') AS BLOB) WHERE position = 6`)
	if out, err := executeOut(ctx, "--data", dir, "--log-level", "error", "audit", "backups"); err == nil || !strings.Contains(err.Error(), "hash does not match") {
		t.Fatalf("a changed record: %v\n%s", err, out)
	}
}

// TestAuditReplayOfAlteredHistoryFails: 'audit history' and 'audit state'
// still print what is stored, with the broken link, but exit 1, as 'audit
// verify' does, so a script that keeps the replay does not take it for a
// sound one.
func TestAuditReplayOfAlteredHistoryFails(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	run := func(args ...string) (string, error) {
		return executeOut(ctx, append([]string{"--data", dir, "--log-level", "error"}, args...)...)
	}
	if _, err := run("admin", "create", "--ic", "800101-14-1234", "--email", "pentadbir@melaka.gov.my",
		"--name", "Siti Pentadbir", "--department", "Jabatan Kewangan", "--post", "Pegawai", "--staff-number", "A0001"); err != nil {
		t.Fatal(err)
	}
	replays := [][]string{
		{"audit", "history", "--ic", "800101141234", "--all"},
		{"audit", "history", "--ic", "800101141234", "--all", "--csv"},
		{"audit", "state", "--ic", "800101141234", "--at", "2099-01-01T00:00"},
	}
	for _, args := range replays {
		if _, err := run(args...); err != nil {
			t.Fatalf("ispeks %s on an intact log: %v", strings.Join(args, " "), err)
		}
	}
	tamper(t, dir, `UPDATE events SET data = CAST(replace(CAST(data AS TEXT), 'Siti', 'Sita') AS BLOB) WHERE stream = 'account-800101141234' AND version = 1`)
	for _, args := range replays {
		out, err := run(args...)
		if err == nil || !strings.Contains(err.Error(), "altered after it was written") || !strings.Contains(err.Error(), "at version 1") {
			t.Errorf("ispeks %s on an altered history: %v", strings.Join(args, " "), err)
		}
		if !strings.Contains(out, "role_granted") || !strings.Contains(out, "broken") {
			t.Errorf("ispeks %s printed no replay with its verdict:\n%s", strings.Join(args, " "), out)
		}
	}
}

// TestFailedBackupLeavesNoCopy: a copy that fails verification is removed
// (and the DIR the backup made for it): an unverified, unrecorded copy
// would be taken for a backup, and running the backup again into the same
// DIR would be refused.
func TestFailedBackupLeavesNoCopy(t *testing.T) {
	dir := verifyFixture(t)
	tamper(t, dir, "DELETE FROM events WHERE position = 3")
	made := filepath.Join(t.TempDir(), "b")
	given := t.TempDir()
	for _, dest := range []string{made, given} {
		_, err := executeOut(context.Background(), "--data", dir, "--log-level", "error", "backup", dest)
		if err == nil || !strings.Contains(err.Error(), "failed verification") {
			t.Fatalf("backup of a log with a gap into %s: %v", dest, err)
		}
		if _, err := os.Stat(filepath.Join(dest, "events.db")); err == nil {
			t.Errorf("the copy that failed verification was left in %s", dest)
		}
	}
	if _, err := os.Stat(made); err == nil {
		t.Errorf("the directory the failed backup made was left: %s", made)
	}
	if _, err := os.Stat(given); err != nil {
		t.Errorf("the directory given was removed: %v", err)
	}
}

// TestVerifyingACopyElsewhereMakesNoDataDirectory: audit verify of a log
// named by --event-store sqlite:PATH (a backup copy) opens that file only:
// it makes no --data directory (by default ./data, where the auditor
// stands), and so does not fail for want of one it may write.
func TestVerifyingACopyElsewhereMakesNoDataDirectory(t *testing.T) {
	copyDir := verifyFixture(t)
	data := filepath.Join(t.TempDir(), "data")
	out, err := executeOut(context.Background(), "--data", data, "--event-store", "sqlite:"+filepath.Join(copyDir, "events.db"), "--log-level", "error", "audit", "verify")
	if err != nil || !strings.Contains(out, "integrity verified: 5 events") {
		t.Fatalf("audit verify of a copy: %v\n%s", err, out)
	}
	if _, err := os.Stat(data); err == nil {
		t.Errorf("audit verify of a copy elsewhere made the data directory %s", data)
	}
}

// dirState is what a directory holds: each entry's name, size, mode and
// modification time, and the directory's own.
func dirState(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, ". %v %v\n", fi.Mode(), fi.ModTime().UnixNano())
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %d %v %v\n", e.Name(), fi.Size(), fi.Mode(), fi.ModTime().UnixNano())
	}
	return b.String()
}

// readOnlyCopy copies the named files of the log in src into a new
// directory and makes the files and the directory read-only, as a copy
// handed to an auditor on read-only media is.
func readOnlyCopy(t *testing.T, src string, files ...string) (dir string) {
	t.Helper()
	dir = t.TempDir()
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o400); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	return dir
}

// An auditor given a copy of the log on read-only media (or with the files
// and directory read-only) verifies it: the copy is read as it stands and
// nothing is made or changed beside it (no -wal, no -shm). The tests run as
// root, whom permissions do not stop, so the check is that nothing in the
// directory changed.
func TestAuditVerifyReadsAReadOnlyCopy(t *testing.T) {
	dir := readOnlyCopy(t, verifyFixture(t), "events.db")
	before := dirState(t, dir)
	out, err := auditVerify(dir)
	if err != nil || !strings.Contains(out, "integrity verified: 5 events") || !strings.Contains(out, "positions 1–5 without gaps") {
		t.Fatalf("audit verify of a read-only copy: %v\n%s", err, out)
	}
	if after := dirState(t, dir); after != before {
		t.Fatalf("audit verify changed the read-only copy's directory:\nbefore:\n%safter:\n%s", before, after)
	}
}

// The live log, its last events still in the -wal file, is verified with
// them, as is a copy taken with the -wal and SQLite's -shm; a copy with
// the -wal but not the -shm is refused, saying why: reading the WAL would
// need a -shm made beside the copy, and the log alone would verify short of
// its last events. A copy cut short is refused too.
func TestAuditVerifyOfAnIncompleteCopySaysSo(t *testing.T) {
	ctx := context.Background()
	live := verifyFixture(t)
	st, err := esqlite.Open(ctx, filepath.Join(live, "events.db"), esqlite.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range 3 {
		if _, err := st.Append(ctx, fmt.Sprintf("account-%d", i+10), eventlog.NoStream(), []eventlog.Proposed{{ID: uuid.New(), Type: "account.LoginFailed.v1",
			OccurredAt: time.Date(2025, 1, 2, 0, 0, i, 0, time.UTC), Data: []byte(`{}`), Metadata: eventlog.Metadata{Actor: eventlog.Actor{Kind: eventlog.ActorUser, ID: "u"}}}}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("the live log", func(t *testing.T) {
		out, err := auditVerify(live)
		if err != nil || !strings.Contains(out, "integrity verified: 8 events") {
			t.Fatalf("audit verify of the log a store has open: %v\n%s", err, out)
		}
	})
	t.Run("with its WAL and -shm", func(t *testing.T) {
		dir := readOnlyCopy(t, live, "events.db", "events.db-wal", "events.db-shm")
		out, err := auditVerify(dir)
		if err != nil || !strings.Contains(out, "integrity verified: 8 events") {
			t.Fatalf("audit verify of a copy with its WAL: %v\n%s", err, out)
		}
	})
	t.Run("with its WAL, without -shm", func(t *testing.T) {
		dir := readOnlyCopy(t, live, "events.db", "events.db-wal")
		before := dirState(t, dir)
		out, err := auditVerify(dir)
		if err == nil || !strings.Contains(err.Error(), "events.db-wal") || !strings.Contains(err.Error(), "events.db-shm") {
			t.Fatalf("audit verify of a copy with its WAL and no -shm: %v\n%s", err, out)
		}
		if after := dirState(t, dir); after != before {
			t.Fatalf("audit verify changed the read-only copy's directory:\nbefore:\n%safter:\n%s", before, after)
		}
	})
	t.Run("cut short", func(t *testing.T) {
		src := verifyFixture(t)
		path := filepath.Join(src, "events.db")
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, fi.Size()-2048); err != nil {
			t.Fatal(err)
		}
		dir := readOnlyCopy(t, src, "events.db")
		out, err := auditVerify(dir)
		if err == nil || !strings.Contains(err.Error(), "incomplete") {
			t.Fatalf("audit verify of a copy cut short: %v\n%s", err, out)
		}
	})
}

// TestBackupWithAWrongKeyRecordsNoKey: a backup names the master key in its
// record only once the log confirms it (an earlier record, a sealed
// value). Recorded unconfirmed, a wrong --key-file given to one backup of a
// log that held no sealed value yet became the key every later command
// demanded, and the install's own key was refused for good.
func TestBackupWithAWrongKeyRecordsNoKey(t *testing.T) {
	ctx := context.Background()
	dir := verifyFixture(t) // five events, none sealed
	own, wrong := filepath.Join(dir, "master.key"), filepath.Join(t.TempDir(), "wrong.key")
	for _, k := range []string{own, wrong} {
		if _, err := security.LoadOrCreateMasterKey(k); err != nil {
			t.Fatal(err)
		}
	}
	backupWith := func(key string) (string, error) {
		return executeOut(ctx, "--data", dir, "--key-file", key, "--log-level", "error", "backup", filepath.Join(t.TempDir(), "b"))
	}
	if out, err := backupWith(wrong); err != nil {
		t.Fatalf("a backup with another key, the log naming none: %v\n%s", err, out)
	}
	if out, err := backupWith(own); err != nil || !strings.Contains(out, "every stream's hash chain intact") {
		t.Fatalf("the install's own key after a backup given another: %v\n%s", err, out)
	}
}

// Verification reads on past a broken link: two events tampered with in two
// streams, and one removed between them, are all reported, each once, and nothing else
// (before, the first hid the rest). The events after each break verify
// against it, so they are not reported.
func TestAuditVerifyReportsEveryBreak(t *testing.T) {
	dir := verifyFixture(t)
	tamper(t, dir, `UPDATE events SET data = '{"n":99}' WHERE position = 1`)
	tamper(t, dir, `DELETE FROM events WHERE position = 3`)
	tamper(t, dir, `UPDATE events SET data = '{"n":98}' WHERE position = 5`)
	out, err := auditVerify(dir)
	if err == nil {
		t.Fatalf("a tampered log verified:\n%s", out)
	}
	msg := err.Error()
	for _, want := range []string{"integrity broken at 3 places",
		`stream "account-a" at version 1 (position 1`, "position 3 is missing", `stream "account-c" at version 1 (position 5`} {
		if !strings.Contains(msg, want) {
			t.Errorf("report lacks %q:\n%s", want, msg)
		}
	}
	if n := strings.Count(msg, "integrity broken in stream"); n != 3 {
		t.Errorf("%d breaks listed, want 3 (events after a break verify against it):\n%s", n, msg)
	}
	var first *eventlog.BrokenLink
	if !errors.As(err, &first) || first.Position != 1 {
		t.Errorf("errors.As finds %+v, want the first break (position 1)", first)
	}
}

// An event removed from the middle of its stream is one break (its
// missing position), not two (the position and its stream's version gap).
func TestAuditVerifyCountsARemovalOnce(t *testing.T) {
	dir := verifyFixture(t)
	tamper(t, dir, `DELETE FROM events WHERE position = 2`)
	_, err := auditVerify(dir)
	if err == nil || !strings.Contains(err.Error(), "position 2 is missing") || strings.Contains(err.Error(), "places") ||
		strings.Contains(err.Error(), "version 3 follows") {
		t.Fatalf("one removal: %v", err)
	}
}

// A log broken all over lists the first 100 breaks and counts them all.
func TestAuditVerifyListsAtMostAHundredBreaks(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := esqlite.Open(ctx, filepath.Join(dir, "events.db"), esqlite.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 150 {
		ev := eventlog.Proposed{ID: uuid.New(), Type: "account.LoginFailed.v1", OccurredAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
			Data: []byte(fmt.Sprintf(`{"n":%d}`, i)), Metadata: eventlog.Metadata{Actor: eventlog.Actor{Kind: eventlog.ActorUser, ID: "u"}}}
		if _, err := st.Append(ctx, fmt.Sprintf("account-%d", i), eventlog.NoStream(), []eventlog.Proposed{ev}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	tamper(t, dir, `UPDATE events SET data = '{"n":-1}'`)
	_, err = auditVerify(dir)
	if err == nil || !strings.Contains(err.Error(), "integrity broken at 150 places (the first 100 listed)") ||
		strings.Count(err.Error(), "integrity broken in stream") != 100 {
		t.Fatalf("150 breaks: %v", err)
	}
}
