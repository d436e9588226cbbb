package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	esqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
)

// auditFixture writes an install to a new data directory through the real
// commands: the staff member ic tried to log in before registering (the
// login-probe stream, which only the master key names), registered, logged
// in with the temporary password and activated, then gave wrong passwords
// until the account locked; a backup was then taken and recorded in the
// log.
func auditFixture(t *testing.T) (dir, ic string) {
	t.Helper()
	ctx := context.Background()
	c := quietCLI(t)
	a, err := c.openApp(ctx, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close() // again at a failure above
	ic = benchIC(0)
	wrong := func() {
		t.Helper()
		who := eventlog.Actor{Kind: eventlog.ActorUser, ID: ic}
		if _, _, err := a.accounts.LogIn.LogIn(ctx, commands.LogIn{Meta: benchMeta(who), UserID: ic, Password: "Salah-kata-laluan-1"}); err == nil {
			t.Fatal("a wrong password logged in")
		}
	}
	wrong()
	if _, err := benchAccounts(ctx, a, 1); err != nil {
		t.Fatal(err)
	}
	for range c.cfg.LockThreshold {
		wrong()
	}
	a.Close() // the backup below opens the log as a command of its own
	dir = c.cfg.DataDir
	if out, err := executeOut(ctx, "--data", dir, "--log-level", "error", "backup", filepath.Join(t.TempDir(), "backup")); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	return dir, ic
}

// TestAuditReadsAReadOnlyCopy: an auditor given a copy of the log and its
// master key on read-only media (or with the files and directory
// read-only) replays a person's logins and lockout, an account's state and
// the backups taken from it, as audit verify verifies it: the copy is read
// as it stands and nothing is made or changed beside it. The tests run as
// root, whom permissions do not stop, so the check is that nothing in the
// directory changed.
func TestAuditReadsAReadOnlyCopy(t *testing.T) {
	src, ic := auditFixture(t)
	dir := readOnlyCopy(t, src, "events.db", "master.key")
	before := dirState(t, dir)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"audit", "history", "--ic", ic}, []string{`unknown_id_attempt_failed`, `(?m)^10 .* login_failed +wrong_password +3 `, `(?m)^11 .* locked +3 .* true`, `integrity: ok, 11 events in 2 streams`}},
		{[]string{"audit", "history", "--ic", ic, "--all", "--csv"}, []string{`loginprobe\.AttemptFailed\.v1`, `account\.Activated\.v1`, `account\.AccountLocked\.v1,locked,.*,ok\n`}},
		{[]string{"audit", "state", "--ic", ic, "--at", "2099-01-01T00:00"}, []string{`account status: +active`, `locked: +true`, `failed attempts: +3`, `integrity: +ok`}},
		{[]string{"audit", "backups"}, []string{`(?m)^13 .* cli:\S+ +12 +12:[0-9a-f]{64} `, `1 backups recorded; their records' hash chain is intact`}},
		{[]string{"audit", "verify"}, []string{`integrity verified: 13 events, every stream's hash chain intact, positions 1–13 without gaps`}},
	} {
		out, err := executeOut(context.Background(), append([]string{"--data", dir, "--log-level", "error"}, tc.args...)...)
		if err != nil {
			t.Errorf("ispeks %s on a read-only copy: %v\n%s", strings.Join(tc.args, " "), err, out)
			continue
		}
		for _, w := range tc.want {
			if !regexp.MustCompile(w).MatchString(out) {
				t.Errorf("ispeks %s on a read-only copy printed no %q:\n%s", strings.Join(tc.args, " "), w, out)
			}
		}
		if after := dirState(t, dir); after != before {
			t.Errorf("ispeks %s changed the read-only copy's directory:\nbefore:\n%safter:\n%s", strings.Join(tc.args, " "), before, after)
			before = after
		}
	}
}

// TestAuditOfAnIncompleteCopySaysSo: a copy the audit commands cannot read
// whole is refused, naming what is missing, and nothing is made beside it:
// the log's -wal without SQLite's -shm (reading it would make a -shm, and
// the file alone lacks the last events), or the master key without which
// a person's attempts before registering cannot be found (audit backups
// does not need it). A copy taken with the -wal and the -shm is read
// whole.
func TestAuditOfAnIncompleteCopySaysSo(t *testing.T) {
	ctx := context.Background()
	src, ic := auditFixture(t)
	// A store left open keeps its last commit in the -wal.
	st, err := esqlite.Open(ctx, filepath.Join(src, "events.db"), esqlite.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Append(ctx, "test-wal", eventlog.NoStream(), []eventlog.Proposed{{ID: uuid.New(), Type: "test.Happened.v1",
		OccurredAt: time.Now().UTC(), Data: []byte(`{}`), Metadata: eventlog.Metadata{Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "test"}}}}); err != nil {
		t.Fatal(err)
	}
	audits := [][]string{
		{"audit", "history", "--ic", ic},
		{"audit", "state", "--ic", ic, "--at", "2099-01-01T00:00"},
		{"audit", "backups"},
	}
	run := func(dir string, args []string) (string, error) {
		return executeOut(ctx, append([]string{"--data", dir, "--log-level", "error"}, args...)...)
	}

	t.Run("with its WAL and -shm", func(t *testing.T) {
		dir := readOnlyCopy(t, src, "events.db", "events.db-wal", "events.db-shm", "master.key")
		before := dirState(t, dir)
		defer func() {
			if after := dirState(t, dir); after != before {
				t.Errorf("the audit changed the read-only copy's directory:\nbefore:\n%safter:\n%s", before, after)
			}
		}()
		for _, args := range audits {
			if out, err := run(dir, args); err != nil {
				t.Errorf("ispeks %s of a copy with its WAL: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		if out, err := run(dir, []string{"audit", "verify"}); err != nil || !strings.Contains(out, "integrity verified: 14 events") {
			t.Errorf("audit verify of a copy with its WAL: %v\n%s", err, out)
		}
	})
	t.Run("with its WAL, without -shm", func(t *testing.T) {
		dir := readOnlyCopy(t, src, "events.db", "events.db-wal", "master.key")
		before := dirState(t, dir)
		for _, args := range audits {
			out, err := run(dir, args)
			if err == nil || !strings.Contains(err.Error(), "the copy is incomplete") || !strings.Contains(err.Error(), "events.db-wal") || !strings.Contains(err.Error(), "events.db-shm") {
				t.Errorf("ispeks %s of a copy with its WAL and no -shm: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		if after := dirState(t, dir); after != before {
			t.Errorf("the audit changed the read-only copy's directory:\nbefore:\n%safter:\n%s", before, after)
		}
	})
	t.Run("without the master key", func(t *testing.T) {
		st.Close() // the copy is then the log alone
		dir := readOnlyCopy(t, src, "events.db")
		before := dirState(t, dir)
		for _, args := range audits[:2] {
			out, err := run(dir, args)
			if err == nil || !strings.Contains(err.Error(), "--key-file: "+filepath.Join(dir, "master.key")+" does not exist") {
				t.Errorf("ispeks %s of a copy without the master key: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		if out, err := run(dir, []string{"audit", "backups"}); err != nil || !strings.Contains(out, "1 backups recorded") {
			t.Errorf("audit backups of a copy without the master key: %v\n%s", err, out)
		}
		if after := dirState(t, dir); after != before {
			t.Errorf("the audit changed the read-only copy's directory:\nbefore:\n%safter:\n%s", before, after)
		}
	})
}

// TestAuditLoadsAnExposedKeyWithAWarning: a copy whose master key group
// and others can read (as files on a CD or a USB stick often are, where
// the auditor cannot chmod them) is audited, with a warning on stderr that
// names the key file and its mode but not the key; a command that writes
// still refuses the same key, as the portal does.
func TestAuditLoadsAnExposedKeyWithAWarning(t *testing.T) {
	ctx := context.Background()
	src, ic := auditFixture(t)
	dir := readOnlyCopy(t, src, "events.db", "master.key")
	keyFile := filepath.Join(dir, "master.key")
	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	before := dirState(t, dir)
	var out string
	logged := stderrOf(t, func() {
		out, err = executeOut(ctx, "--data", dir, "--log-level", "warn", "audit", "history", "--ic", ic)
	})
	if err != nil || !strings.Contains(out, "integrity: ok, 11 events in 2 streams") {
		t.Fatalf("audit history with a 0644 key: %v\n%s", err, out)
	}
	if !strings.Contains(logged, "level=WARN") || !strings.Contains(logged, "path="+keyFile) || !strings.Contains(logged, "mode=0644") {
		t.Errorf("audit history with a 0644 key logged:\n%s\nwant a warning naming the key file and its mode", logged)
	}
	if strings.Contains(logged, strings.TrimSpace(string(key))) {
		t.Errorf("the warning carries the key:\n%s", logged)
	}
	if after := dirState(t, dir); after != before {
		t.Errorf("the audit changed the copy's directory:\nbefore:\n%safter:\n%s", before, after)
	}

	if err := os.Chmod(filepath.Join(src, "master.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = executeOut(ctx, "--data", src, "--log-level", "error", "admin", "create", "--ic", "800101-14-1234", "--email", "pentadbir@melaka.gov.my",
		"--name", "Siti Pentadbir", "--department", "Jabatan Kewangan", "--post", "Pegawai", "--staff-number", "A0001")
	if err == nil || !strings.Contains(err.Error(), "readable by others (mode 0644); run chmod 600") {
		t.Errorf("admin create with a 0644 key: %v, want it refused", err)
	}
}

// stderrOf runs run with os.Stderr, where the commands' log goes, sent to a
// file, and returns what was written there.
func stderrOf(t *testing.T, run func()) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved := os.Stderr
	os.Stderr = f
	defer func() { os.Stderr = saved }()
	run()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
