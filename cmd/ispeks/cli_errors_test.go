package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/melaka-gov/ispeks/domain/calendar"
	esqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
)

// TestUnknownSubcommandFails: a mistyped subcommand of a group is an error
// naming it, not the group's help with exit status 0 (a runbook's
// "ispeks admin unlok …" would pass as done). The group alone still prints
// its help.
func TestUnknownSubcommandFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"admin", "unlok", "--ic", "800101141234", "--reason", "x"},
		{"audit", "verfy"},
		{"clients", "remove", "c1"},
		{"projections", "statuss"},
		{"mail", "list"},
		{"import", "employee", "staff.csv"},
		{"bench", "nosuch"},
		{"completion", "tcsh"},
	} {
		_, err := executeOut(ctx, append([]string{"--data", dir, "--log-level", "error"}, args...)...)
		if err == nil || !strings.Contains(err.Error(), `unknown command "`+args[1]+`"`) {
			t.Errorf("ispeks %s: %v, want an unknown-command error", strings.Join(args, " "), err)
		}
	}
	out, err := executeOut(ctx, "--data", dir, "admin")
	if err != nil || !strings.Contains(out, "Available Commands") {
		t.Fatalf("ispeks admin: %v\n%s", err, out)
	}
}

// TestReadingCommandsRefuseAMissingStore: a command that reads or changes
// what is there refuses a data directory without an event store instead of
// creating an empty one and reporting on it — "integrity verified: 0
// events" or "no parked mail" from a mistyped --data reads as all clear.
// The commands that start a new install still may.
func TestReadingCommandsRefuseAMissingStore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "mistyped")
	for _, args := range [][]string{
		{"audit", "verify"},
		{"audit", "history", "--ic", "800101141234"},
		{"audit", "state", "--ic", "800101141234", "--at", "2025-01-01T10:00"},
		{"projections", "status"},
		{"projections", "rebuild", "accounts"},
		{"clients", "list"},
		{"clients", "revoke", "c0123456789abcdef", "--reason", "retired"},
		{"mail", "parked"},
		{"mail", "resend", "--all"},
		{"admin", "unlock", "--ic", "800101141234", "--reason", "identity checked"},
		{"admin", "temporary-password", "--ic", "800101141234"},
		{"admin", "role", "--ic", "800101141234", "--role", "auditor"},
		{"backup", filepath.Join(t.TempDir(), "backup")},
	} {
		out, err := executeOut(ctx, append([]string{"--data", dir, "--log-level", "error"}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "no event store at "+filepath.Join(dir, "events.db")) || !strings.Contains(err.Error(), "--data") {
			t.Errorf("ispeks %s: %v\n%s\nwant the missing event store named", strings.Join(args, " "), err, out)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("ispeks %s created %s", strings.Join(args, " "), dir)
		}
	}
	if _, err := executeOut(ctx, "--data", dir, "--log-level", "error", "clients", "add", "Sistem Gaji", "--scopes", "events:read"); err != nil {
		t.Fatalf("clients add on a new install: %v", err)
	}
	if out, err := executeOut(ctx, "--data", dir, "--log-level", "error", "clients", "list"); err != nil || !strings.Contains(out, "Sistem Gaji") {
		t.Fatalf("clients list: %v\n%s", err, out)
	}
}

// TestNoNewMasterKeyForALogThatHasEvents: a log restored without its master
// key (or a mistyped --key-file) is refused, naming the key file, and no new
// key is made: one would leave the log's sealed secrets unreadable and seal
// new ones the right key cannot open. The audit never makes one. With the
// install's key the restored log works.
func TestNoNewMasterKeyForALogThatHasEvents(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	orig := t.TempDir()
	createFirstAdmin(ctx, t, orig)
	backup := filepath.Join(t.TempDir(), "backup")
	if _, err := executeOut(ctx, "--data", orig, "--log-level", "error", "backup", backup); err != nil {
		t.Fatal(err)
	}
	restored := t.TempDir()
	copyFile(t, filepath.Join(backup, "events.db"), filepath.Join(restored, "events.db"))
	key := filepath.Join(restored, "master.key")
	for _, args := range [][]string{
		{"admin", "temporary-password", "--ic", "800101141234"},
		{"audit", "history", "--ic", "800101141234"},
		{"audit", "state", "--ic", "800101141234", "--at", "2099-01-01T00:00"},
		{"projections", "status"},
	} {
		_, err := executeOut(ctx, append([]string{"--data", restored, "--log-level", "error"}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "--key-file: "+key+" does not exist") {
			t.Errorf("ispeks %s without the master key: %v", strings.Join(args, " "), err)
		}
		if _, err := os.Stat(key); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("ispeks %s made a new master key", strings.Join(args, " "))
		}
	}
	withKey := []string{"--data", restored, "--log-level", "error", "--key-file", filepath.Join(orig, "master.key")}
	if out, err := executeOut(ctx, append(withKey, "admin", "temporary-password", "--ic", "800101141234")...); err != nil || !strings.Contains(out, "temporary password issued") {
		t.Fatalf("with the install's key: %v\n%s", err, out)
	}
	if out, err := executeOut(ctx, append(withKey, "audit", "history", "--ic", "800101141234", "--all")...); err != nil || !strings.Contains(out, "integrity: ok") {
		t.Fatalf("audit history with the install's key: %v\n%s", err, out)
	}
}

// TestAnotherMasterKeyForARestoredLogIsRefused: a log restored beside a key
// that is not the install's (a new machine's portal started once before
// the restore and made one) is refused, naming the key file, when the log
// holds a backup record, which names the key the log's secrets were sealed
// with, or else by the key its first sealed value names: that key would
// not open them, and would seal new ones the install's key cannot open.
// With the install's key the log works.
func TestAnotherMasterKeyForARestoredLogIsRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	orig := t.TempDir()
	createFirstAdmin(ctx, t, orig)
	// The second copy holds the first's record.
	root := t.TempDir()
	for _, name := range []string{"monday", "tuesday"} {
		if _, err := executeOut(ctx, "--data", orig, "--log-level", "error", "backup", filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	// The new machine: its portal made a key of its own on an empty log.
	restored := t.TempDir()
	addEventsClient(ctx, t, restored)
	for _, f := range []string{"events.db", "events.db-wal", "events.db-shm", "views.db", "views.db-wal", "views.db-shm"} {
		os.Remove(filepath.Join(restored, f))
	}
	copyFile(t, filepath.Join(root, "tuesday", "events.db"), filepath.Join(restored, "events.db"))
	key := filepath.Join(restored, "master.key")
	for _, args := range [][]string{
		{"admin", "temporary-password", "--ic", "800101141234"},
		{"audit", "history", "--ic", "800101141234"},
		{"projections", "status"},
		{"backup", filepath.Join(root, "wednesday")},
	} {
		_, err := executeOut(ctx, append([]string{"--data", restored, "--log-level", "error"}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "--key-file: "+key+" is not the master key this event log was sealed with") {
			t.Errorf("ispeks %s with another master key: %v", strings.Join(args, " "), err)
		}
	}
	copyFile(t, filepath.Join(orig, "master.key"), key)
	if out, err := executeOut(ctx, "--data", restored, "--log-level", "error", "admin", "temporary-password", "--ic", "800101141234"); err != nil || !strings.Contains(out, "temporary password issued") {
		t.Fatalf("with the install's key: %v\n%s", err, out)
	}

	// The first copy ends before its own record, so it holds none: the
	// key its first sealed value (the administrator's temporary password)
	// names is checked instead.
	first := t.TempDir()
	addEventsClient(ctx, t, first)
	for _, f := range []string{"events.db", "events.db-wal", "events.db-shm", "views.db", "views.db-wal", "views.db-shm"} {
		os.Remove(filepath.Join(first, f))
	}
	copyFile(t, filepath.Join(root, "monday", "events.db"), filepath.Join(first, "events.db"))
	_, err := executeOut(ctx, "--data", first, "--log-level", "error", "projections", "status")
	if err == nil || !strings.Contains(err.Error(), "is not the master key this event log was sealed with") || !strings.Contains(err.Error(), "the value sealed at position") {
		t.Errorf("a first backup restored with another master key: %v", err)
	}
	copyFile(t, filepath.Join(orig, "master.key"), filepath.Join(first, "master.key"))
	if _, err := executeOut(ctx, "--data", first, "--log-level", "error", "projections", "status"); err != nil {
		t.Fatalf("a first backup with the install's key: %v", err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestStopSignalFailsABatchCommand: SIGINT or SIGTERM (the context runRoot
// is given ends) is the clean stop of serve and projectors, exit status 0,
// but an import, a backup or a rebuild it cuts short fails: cron must not
// take a half-ingested payroll run for a finished one.
func TestStopSignalFailsABatchCommand(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	addEventsClient(ctx, t, dir)
	file := filepath.Join(dir, "run.ndjson")
	if err := os.WriteFile(file, []byte(`{"kind":"payment","request_id":"r1","payment":{}}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The employee import reads and checks its file before it opens
	// anything (a refused file is refused as such): a valid one, so that
	// the stop is what it meets.
	staff := filepath.Join(dir, "staff.csv")
	if err := os.WriteFile(staff, []byte(oneStaffCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	stopped, stop := context.WithCancel(ctx)
	stop() // the signal
	run := func(args ...string) error {
		root := newRootCmd()
		root.SetArgs(append([]string{"--data", dir, "--log-level", "error"}, args...))
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		return runRoot(stopped, root)
	}
	for _, args := range [][]string{
		{"import", "statements", file},
		{"import", "employees", staff},
		{"backup", filepath.Join(t.TempDir(), "backup")},
		{"projections", "rebuild", "accounts"},
		{"audit", "verify"},
	} {
		if err := run(args...); err == nil || !strings.HasPrefix(err.Error(), strings.Join(args[:len(args)-1], " ")) || !strings.Contains(err.Error(), "interrupted") {
			t.Errorf("ispeks %s stopped by a signal: %v, want an error saying it was interrupted", strings.Join(args, " "), err)
		}
	}
	for _, args := range [][]string{{"projectors"}, {"serve", "--listen", "127.0.0.1:0"}} {
		if err := run(args...); err != nil {
			t.Errorf("ispeks %s stopped by a signal: %v, want a clean stop", strings.Join(args, " "), err)
		}
	}
}

// TestRebuildNamesItsProjectors: an unknown NAME is refused before anything
// is opened, with the projectors one may name; a rebuild reports in words,
// not as a Go struct.
func TestRebuildNamesItsProjectors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	_, err := executeOut(ctx, "--data", filepath.Join(dir, "none"), "--log-level", "error", "projections", "rebuild", "mailer")
	if err == nil || err.Error() != `NAME "mailer": no such projector; one of accounts, login_attempts, apiclients, payments, statements` {
		t.Fatalf("rebuild mailer: %v", err)
	}
	addEventsClient(ctx, t, dir) // its name's claim, then the client
	out, err := executeOut(ctx, "--data", dir, "--log-level", "error", "projections", "rebuild", "apiclients")
	if err != nil || !regexp.MustCompile(`^rebuilt apiclients: 2 events read, swapped in at position 2, 0 dead letters, 0 old ones cleared, in \S+\n$`).MatchString(out) {
		t.Fatalf("rebuild apiclients: %v\n%q", err, out)
	}
}

// TestArgumentErrorsNameTheArgument: a missing or extra argument is one
// line naming it and the usage, checked before any store is opened (so a
// wrong command line never creates a data directory).
func TestArgumentErrorsNameTheArgument(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "data")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"clients", "add", "--scopes", "events:read"}, "missing NAME (usage: ispeks clients add NAME --scopes SCOPE,… [flags])"},
		{[]string{"clients", "revoke", "--reason", "retired"}, "missing ID (usage: ispeks clients revoke ID --reason TEXT [flags])"},
		{[]string{"import", "employees"}, "missing FILE.csv (usage: ispeks import employees FILE.csv [flags])"},
		{[]string{"import", "statements", "a.ndjson", "b.ndjson"}, `unexpected argument "b.ndjson": ispeks import statements takes FILE.ndjson only`},
		{[]string{"backup"}, "missing DIR (usage: ispeks backup DIR [flags])"},
		{[]string{"audit", "verify", "12:ab"}, `unexpected argument "12:ab": ispeks audit verify takes none`},
		{[]string{"mail", "resend"}, "give the positions of the mails to send again"},
		{[]string{"mail", "resend", "x"}, `POSITION "x": want a positive number`},
		{[]string{"mail", "resend", "--all", "7"}, "give positions or --all, not both"},
		{[]string{"backup", ""}, "DIR: is required, and was given empty (usage: ispeks backup DIR [flags])"},
		{[]string{"import", "statements", " "}, "FILE.ndjson: is required, and was given empty"},
		{[]string{"clients", "revoke", "", "--reason", "retired"}, "ID: is required, and was given empty"},
	} {
		_, err := executeOut(ctx, append([]string{"--data", dir, "--log-level", "error"}, tc.args...)...)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ispeks %s: %v, want one line starting %q", strings.Join(tc.args, " "), err, tc.want)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("ispeks %s created %s", strings.Join(tc.args, " "), dir)
		}
	}
}

// TestBadFlagValuesSayWhatIsWanted: a malformed number, switch or
// duration, as a flag or as its ISPEKS_* variable, is named with what it
// must be, not with the Go parser that refused it.
func TestBadFlagValuesSayWhatIsWanted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--lock-after", "abc"}, `--lock-after: "abc" is not a whole number`},
		{[]string{"--read-your-writes", "5"}, `--read-your-writes: "5" is not a duration such as 500ms, 2s or 1m30s`},
		{[]string{"--secure-cookies=maybe"}, `--secure-cookies: "maybe" is not true or false`},
	} {
		_, err := executeOut(ctx, append(append([]string{"--data", dir}, tc.args...), "projections", "status")...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("ispeks %s: %v, want %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
	t.Setenv("ISPEKS_LOGIN_BURST", "twenty")
	_, err := executeOut(ctx, "--data", dir, "projections", "status")
	if err == nil || err.Error() != `configuration: ISPEKS_LOGIN_BURST: "twenty" is not a whole number` {
		t.Errorf("ISPEKS_LOGIN_BURST=twenty: %v", err)
	}
}

// executeOutErr is executeOut returning stderr as well.
func executeOutErr(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	root := newRootCmd()
	root.SetArgs(args)
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	err = root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

// TestAdminCreateSaysWhenThePasswordExpiresInMalaysiaTime: the temporary
// password's expiry is Malaysia time, named so, as everywhere else on the
// console, whatever zone the server runs in (UTC on most).
func TestAdminCreateSaysWhenThePasswordExpiresInMalaysiaTime(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, stderr, err := executeOutErr(ctx, "--data", t.TempDir(), "--log-level", "error", "admin", "create", "--ic", "800101-14-1234", "--email", "pentadbir@melaka.gov.my",
		"--name", "Siti Pentadbir", "--department", "Jabatan Kewangan", "--post", "Pegawai", "--staff-number", "A0001")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`valid until (\d{4}-\d\d-\d\d \d\d:\d\d) MYT;`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("admin create:\n%s\nwant the expiry in Malaysia time, named MYT", stderr)
	}
	until, err := time.ParseInLocation("2006-01-02 15:04", m[1], calendar.Melaka)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(until); d < 23*time.Hour || d > 25*time.Hour {
		t.Fatalf("the password expires %s from now (%s), want about a day", d, m[1])
	}
}

// TestAdministrationSaysWhatHappened: a blank --reason for a revocation is
// refused (the flag is required because the reason is the record's), an
// unknown account is named (masked) with why it may be unknown, and a
// role held already (or not held) is reported as nothing done.
func TestAdministrationSaysWhatHappened(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	run := func(args ...string) (string, error) {
		return executeOut(ctx, append([]string{"--data", dir, "--log-level", "error"}, args...)...)
	}
	token, err := run("clients", "add", "Sistem Gaji", "--scopes", "events:read")
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Split(token, "_")[1]
	if _, err := run("clients", "revoke", id, "--reason", "  "); err == nil || !strings.HasPrefix(err.Error(), "--reason: must not be empty") {
		t.Fatalf("revoke with a blank reason: %v", err)
	}
	if list, _ := run("clients", "list"); !strings.Contains(list, "active") {
		t.Fatalf("the client was revoked without a reason:\n%s", list)
	}

	for _, args := range [][]string{
		{"admin", "unlock", "--ic", "791117045672", "--reason", "identity checked"},
		{"admin", "temporary-password", "--ic", "791117045672"},
		{"admin", "totp-reset", "--ic", "791117045672", "--reason", "phone lost; caller verified"},
		{"admin", "role", "--ic", "791117045672", "--role", "auditor"},
	} {
		_, err := run(args...)
		if err == nil || !strings.HasPrefix(err.Error(), "--ic 791117-04-****: account: not found: no account has this IC number") || strings.Contains(err.Error(), "791117045672") {
			t.Errorf("ispeks %s: %v, want the masked IC named with the reason", strings.Join(args, " "), err)
		}
	}

	if _, err := run("admin", "create", "--ic", "800101-14-1234", "--email", "pentadbir@melaka.gov.my",
		"--name", "Siti Pentadbir", "--department", "Jabatan Kewangan", "--post", "Pegawai", "--staff-number", "A0001"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("admin", "unlock", "--ic", "800101141234", "--reason", "identity checked"); err == nil || err.Error() != "--ic 800101-14-****: account: not locked: nothing to unlock" {
		t.Errorf("unlock of an account not locked: %v", err)
	}
	if _, err := run("admin", "totp-reset", "--ic", "800101141234", "--reason", "phone lost; caller verified"); err == nil || !strings.HasPrefix(err.Error(), "--ic 800101-14-****: account: ") || !strings.HasSuffix(err.Error(), ": nothing to reset") {
		t.Errorf("totp-reset of an account without two-factor: %v", err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--role", "auditor"}, "role auditor granted for 800101-14-****\n"},
		{[]string{"--role", "auditor"}, "role auditor: 800101-14-**** holds it already; nothing recorded\n"},
		{[]string{"--role", "auditor", "--remove"}, "role auditor removed for 800101-14-****\n"},
		{[]string{"--role", "auditor", "--remove"}, "role auditor: 800101-14-**** does not hold it; nothing recorded\n"},
	} {
		out, err := run(append([]string{"admin", "role", "--ic", "800101141234"}, tc.args...)...)
		if err != nil || out != tc.want {
			t.Errorf("admin role %s: %v, %q, want %q", strings.Join(tc.args, " "), err, out, tc.want)
		}
	}
}

// TestAdminCreateErrorsNameItsFlags: admin create's refusals name the flag
// to fix ("--staff-number: is required"), not the domain's field names.
func TestAdminCreateErrorsNameItsFlags(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--ic", "800101141234", "--email", "siti@gmail.com"}, "--email: must be an official address (@melaka.gov.my)"},
		{[]string{"--ic", "8001011412", "--email", "siti@melaka.gov.my"}, "--ic: IC number must be 12 digits"},
		{[]string{"--ic", "800101141234", "--email", "siti@melaka.gov.my", "--name", "Siti", "--department", "JKR", "--post", "Kerani"},
			"--staff-number: is required (a person not yet in the employee master is recorded from --name, --department, --post and --staff-number)"},
	} {
		_, err := executeOut(ctx, append([]string{"--data", dir, "--log-level", "error", "admin", "create"}, tc.args...)...)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("admin create %s: %v, want %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
	// The master's record of the IC disagrees with --email: the IC is named.
	if _, err := executeOut(ctx, "--data", dir, "--log-level", "error", "admin", "create", "--ic", "800101141234", "--email", "siti@melaka.gov.my",
		"--name", "Siti", "--department", "JKR", "--post", "Kerani", "--staff-number", "A1"); err != nil {
		t.Fatal(err)
	}
	_, err := executeOut(ctx, "--data", dir, "--log-level", "error", "admin", "create", "--ic", "800101141234", "--email", "siti.a@melaka.gov.my")
	if want := "--ic 800101-14-****: not registrable: the employee master has another e-mail for this IC number"; err == nil || err.Error() != want {
		t.Errorf("admin create with another e-mail: %v, want %q", err, want)
	}
}

// TestConsoleFieldErrorsNameTheFlag: a bad --ic or a blank --reason is
// named by the flag the operator typed, not by the handler's field name
// ("account: user_id: …") or a chain of packages ("audit: … mykad: …").
func TestConsoleFieldErrorsNameTheFlag(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	createFirstAdmin(ctx, t, dir)
	const badIC = "--ic: IC number must be 12 digits, as YYMMDD-PB-###G or YYMMDDPB###G"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"admin", "unlock", "--ic", "8001", "--reason", "identity checked"}, badIC},
		{[]string{"admin", "temporary-password", "--ic", "8001"}, badIC},
		{[]string{"admin", "role", "--ic", "8001", "--role", "admin"}, badIC},
		{[]string{"audit", "history", "--ic", "8001"}, badIC},
		{[]string{"audit", "state", "--ic", "991399141234", "--at", "2025-01-01T00:00"}, "--ic: IC number does not start with a valid date of birth (YYMMDD)"},
		{[]string{"admin", "unlock", "--ic", "800101141234", "--reason", " "}, "--reason: is required"},
	} {
		_, err := executeOut(ctx, append([]string{"--data", dir, "--log-level", "error"}, tc.args...)...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("ispeks %s: %v, want %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}

// TestHelpMarksRequiredFlags: every flag a command requires says so in its
// --help, so the operator can tell them from the optional ones.
func TestHelpMarksRequiredFlags(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	seen := 0
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		cmd.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
			if req := f.Annotations[cobra.BashCompOneRequiredFlag]; len(req) == 0 || req[0] != "true" {
				return
			}
			seen++
			path := strings.Fields(cmd.CommandPath())[1:]
			help, err := executeOut(ctx, append(path, "--help")...)
			if err != nil {
				t.Fatal(err)
			}
			line := regexp.MustCompile(`(?m)^\s+--` + f.Name + `\s.*$`).FindString(help)
			if !strings.HasSuffix(line, "(required)") {
				t.Errorf("ispeks %s --help: the line of --%s is %q, want it marked (required)", strings.Join(path, " "), f.Name, line)
			}
		})
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
	if seen < 10 {
		t.Fatalf("only %d required flags found", seen)
	}
}

// TestBackupIntoAnUsedDirectoryIsRefusedPlainly: a DIR that holds an
// events.db already (an earlier backup, the data directory itself) is
// refused in one line naming it, before the store is opened.
func TestBackupIntoAnUsedDirectoryIsRefusedPlainly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	addEventsClient(ctx, t, dir)
	used := t.TempDir()
	if err := os.WriteFile(filepath.Join(used, "events.db"), []byte("an earlier backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{used, dir} {
		_, err := executeOut(ctx, "--data", dir, "--log-level", "error", "backup", target)
		if err == nil || err.Error() != "DIR "+target+": it holds an events.db already (an earlier backup, or the log itself), which is never overwritten: give a new directory" {
			t.Errorf("backup %s: %v", target, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(used, "events.db")); string(b) != "an earlier backup" {
		t.Fatal("the earlier backup was changed")
	}
}

// TestConsoleActorIsThePersonAtTheConsole: an administrator who runs the
// console as the service account (sudo -u ispeks …) is recorded, not the
// account; with no USER set (cron, a systemd unit) the account the process
// runs as is, not an anonymous "console".
func TestConsoleActorIsThePersonAtTheConsole(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	me, err := user.Current()
	if err != nil || me.Username == "" {
		t.Skip("no user name for this process")
	}
	for _, tc := range []struct{ sudoUser, user, want string }{
		{"alice", "ispeks", "cli:alice"},
		{"", "", "cli:" + me.Username},
	} {
		t.Setenv("SUDO_USER", tc.sudoUser)
		t.Setenv("USER", tc.user)
		dir := t.TempDir()
		addEventsClient(ctx, t, dir)
		store, err := esqlite.Open(ctx, filepath.Join(dir, "events.db"), esqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		recs, err := store.ReadAll(ctx, 0, 10)
		store.Close()
		if err != nil || len(recs) != 2 { // the name's claim, then the client
			t.Fatalf("log: %v, %d events", err, len(recs))
		}
		for _, rec := range recs {
			if got := rec.Metadata.Actor.ID; got != tc.want {
				t.Errorf("SUDO_USER=%q USER=%q: the actor of %s is %q, want %q", tc.sudoUser, tc.user, rec.Type, got, tc.want)
			}
		}
	}
}

// TestDemoRefusesARealInstallsLog: serve --demo on a data directory whose
// log a real install wrote stops before it appends anything: the demo's
// made-up staff, payments and statements would join the records for good,
// and /demo/mailbox would show anyone the install's mail. A directory the
// demo started is served again.
func TestDemoRefusesARealInstallsLog(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	real := t.TempDir()
	createFirstAdmin(ctx, t, real)
	before, err := executeOut(ctx, "--data", real, "--log-level", "error", "audit", "verify")
	if err != nil {
		t.Fatal(err)
	}
	// Refused at once; without the check it would serve until this ends.
	sctx, scancel := context.WithTimeout(ctx, 20*time.Second)
	err = execute(sctx, "serve", "--demo", "--data", real, "--listen", "127.0.0.1:0", "--log-level", "error")
	scancel()
	if err == nil || !strings.HasPrefix(err.Error(), "--demo: this data directory's event log holds an install's own records") {
		t.Fatalf("serve --demo on a real install's log: %v", err)
	}
	if after, err := executeOut(ctx, "--data", real, "--log-level", "error", "audit", "verify"); err != nil || after != before {
		t.Fatalf("the log changed:\n%s\n%s", before, after)
	}

	demoDir := t.TempDir()
	serveInBackground(t, ctx, demoDir, "--demo")()
	serveInBackground(t, ctx, demoDir, "--demo")() // a restart of the demo
}

// TestConsoleCommandsLogAtWarnUnlessToldOtherwise: serve and projectors
// keep the configured level (their INFO log is their record); every other
// command logs at warn unless --log-level or ISPEKS_LOG_LEVEL is given, so
// its result is not buried under the stores' progress notes.
func TestConsoleCommandsLogAtWarnUnlessToldOtherwise(t *testing.T) {
	t.Setenv("ISPEKS_LOG_LEVEL", "") // as when it is not set
	root := newRootCmd()
	find := func(path ...string) *cobra.Command {
		t.Helper()
		cmd, _, err := root.Find(path)
		if err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	for _, c := range []struct {
		path []string
		want string
	}{
		{[]string{"serve"}, "info"},
		{[]string{"projectors"}, "info"},
		{[]string{"clients", "list"}, "warn"},
		{[]string{"mail", "resend"}, "warn"},
		{[]string{"import", "employees"}, "warn"},
		{[]string{"bench", "queries"}, "warn"},
	} {
		if got := effectiveLogLevel(find(c.path...), "info"); got != c.want {
			t.Errorf("%v: level %s, want %s", c.path, got, c.want)
		}
	}
	list := find("clients", "list")
	if err := list.Flags().Set("log-level", "info"); err != nil {
		t.Fatal(err)
	}
	if got := effectiveLogLevel(list, "info"); got != "info" {
		t.Errorf("clients list --log-level info: level %s", got)
	}
	t.Setenv("ISPEKS_LOG_LEVEL", "debug")
	if got := effectiveLogLevel(find("audit", "verify"), "debug"); got != "debug" {
		t.Errorf("audit verify with ISPEKS_LOG_LEVEL=debug: level %s", got)
	}
}

// TestBackupToAMistypedPathIsRefused: DIR is made when missing, but not
// its parents: a mistyped path fails, naming the missing parent, rather
// than the backup landing in a tree nobody looks in. A DIR that is a file
// is refused too. Nothing is made either way.
func TestBackupToAMistypedPathIsRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	addEventsClient(ctx, t, dir)
	root := t.TempDir()
	missing := filepath.Join(root, "bakups")
	target := filepath.Join(missing, "2026-11-27")
	_, err := executeOut(ctx, "--data", dir, "--log-level", "error", "backup", target)
	if err == nil || err.Error() != "DIR "+target+": its parent directory "+missing+" does not exist (or is not a directory): check the path, or make the parent first" {
		t.Errorf("backup %s: %v", target, err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the mistyped parent %s was made", missing)
	}
	file := filepath.Join(root, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := executeOut(ctx, "--data", dir, "--log-level", "error", "backup", file); err == nil || err.Error() != "DIR "+file+": it is a file, not a directory" {
		t.Errorf("backup to a file: %v", err)
	}
	// A new DIR under an existing parent is made.
	fresh := filepath.Join(root, "2026-11-27")
	if out, err := executeOut(ctx, "--data", dir, "--log-level", "error", "backup", fresh); err != nil || !strings.Contains(out, "every stream's hash chain intact") {
		t.Fatalf("backup to a new directory: %v\n%s", err, out)
	}
}

// TestRestoredLogWithKeptReadModelsIsRefused: the log restored from a
// backup but views.db kept (a restore step skipped). The read models were
// built from the longer log: they list API clients the log no longer
// holds, and the events appended next take positions the projectors have
// already passed, so they would never be projected nor their mail sent.
// Every command stops and says what to delete; once it is deleted the read
// models are rebuilt from the restored log.
func TestRestoredLogWithKeptReadModelsIsRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	run := func(args ...string) (string, error) {
		return executeOut(ctx, append([]string{"--data", dir, "--log-level", "error"}, args...)...)
	}
	if _, err := run("clients", "add", "Sistem Gaji", "--scopes", "events:read"); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "backup")
	if _, err := run("backup", backup); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Sistem Bayaran", "Sistem Lama"} {
		if _, err := run("clients", "add", name, "--scopes", "events:read"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := run("projections", "rebuild", "apiclients"); err != nil {
		t.Fatal(err)
	}
	if out, err := run("clients", "list"); err != nil || !strings.Contains(out, "Sistem Lama") {
		t.Fatalf("before the restore: %v\n%s", err, out)
	}

	// The restore, views.db kept.
	copyFile(t, filepath.Join(backup, "events.db"), filepath.Join(dir, "events.db"))
	for _, f := range []string{"events.db-wal", "events.db-shm"} {
		_ = os.Remove(filepath.Join(dir, f))
	}
	views := filepath.Join(dir, "views.db")
	// backup too: it opens only the log, and each backup it recorded would
	// move the log's end towards the stale checkpoints until this check
	// no longer saw them.
	for _, args := range [][]string{{"clients", "list"}, {"projections", "status"}, {"clients", "add", "Sistem Baru", "--scopes", "events:read"}, {"backup", filepath.Join(t.TempDir(), "again")}} {
		out, err := run(args...)
		if err == nil || !strings.Contains(err.Error(), "the read store is ahead of the event log: ") || !strings.Contains(err.Error(), "has processed up to position 7, the log ends at 2") ||
			!strings.Contains(err.Error(), "delete "+views+" (with its -wal and -shm)") {
			t.Errorf("ispeks %s on a restored log with the read models kept: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for _, f := range []string{"views.db", "views.db-wal", "views.db-shm"} {
		_ = os.Remove(filepath.Join(dir, f))
	}
	if _, err := run("projections", "rebuild", "apiclients"); err != nil {
		t.Fatal(err)
	}
	out, err := run("clients", "list")
	if err != nil || !strings.Contains(out, "Sistem Gaji") || strings.Contains(out, "Sistem Lama") || strings.Contains(out, "Sistem Baru") {
		t.Fatalf("after deleting views.db: %v\n%s", err, out)
	}
}

// TestClientsErrorsNameTheArgument: a bad NAME, --scopes, ID or --reason of
// the clients commands is named as the operator typed it, not by the
// aggregate's field ("apiclient: client_id: …"), and an unknown or revoked
// ID says which and what to do; clients add reports the scopes it stored.
func TestClientsErrorsNameTheArgument(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	base := []string{"--data", dir, "--log-level", "error"}
	token, stderr, err := executeOutErr(ctx, append(base, "clients", "add", "Sistem Gaji", "--scopes", "events:read,events:read")...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "with scopes events:read;") {
		t.Errorf("clients add reported %q, want the scopes stored (events:read once)", stderr)
	}
	id := strings.Split(strings.TrimSpace(token), "_")[1]
	if _, err := executeOut(ctx, append(base, "clients", "revoke", id, "--reason", "retired")...); err != nil {
		t.Fatal(err)
	}
	active, err := executeOut(ctx, append(base, "clients", "add", "Sistem Bayaran", "--scopes", "payments:write")...)
	if err != nil {
		t.Fatal(err)
	}
	activeID := strings.Split(strings.TrimSpace(active), "_")[1]
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"clients", "add", " ", "--scopes", "events:read"}, "NAME: is required"},
		{[]string{"clients", "add", "Sistem", "--scopes", "events:raed"}, `--scopes: unknown scope "events:raed"; one of employees:write, payments:write, statements:write, events:read`},
		{[]string{"clients", "add", "Sistem", "--scopes", ""}, "--scopes: at least one is required; one of employees:write, payments:write, statements:write, events:read"},
		{[]string{"clients", "revoke", "X", "--reason", "retired"}, "ID: must be 3 to 40 lower-case letters, digits or dashes, starting with a letter or digit"},
		{[]string{"clients", "revoke", "c0000000000000000", "--reason", "retired"}, `ID "c0000000000000000": no such client ('ispeks clients list' lists them)`},
		{[]string{"clients", "revoke", id, "--reason", "retired"}, `ID "` + id + `": revoked already; nothing recorded`},
		{[]string{"clients", "revoke", activeID, "--reason", strings.Repeat("x", 501)}, "--reason: is longer than 500 characters"},
		// Bytes that are not UTF-8 (a name typed in a Latin-1 terminal)
		// were stored as U+FFFD: the listed name was not the one given.
		{[]string{"clients", "add", "Sistem Caf\xe9", "--scopes", "events:read"}, "NAME: is not valid UTF-8"},
		{[]string{"clients", "revoke", activeID, "--reason", "ditamatkan \xab lama"}, "--reason: is not valid UTF-8"},
	} {
		_, err := executeOut(ctx, append(base, tc.args...)...)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("ispeks %s: %v, want %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}

// TestAuditHistoryOfAnUnknownICSaysSo: the history of an IC number the log
// knows nothing of says so (a mistyped IC is not "a person who never logged
// in"), while a registered account's history carries no such note.
func TestAuditHistoryOfAnUnknownICSaysSo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	base := []string{"--data", dir, "--log-level", "error"}
	createFirstAdmin(ctx, t, dir)
	const note = "no account and no login attempt is recorded for 800102-14-****"
	_, stderr, err := executeOutErr(ctx, append(base, "audit", "history", "--ic", "800102141234")...)
	if err != nil || !strings.Contains(stderr, note) {
		t.Errorf("audit history of an unknown IC: %v, stderr %q, want %q", err, stderr, note)
	}
	_, stderr, err = executeOutErr(ctx, append(base, "audit", "history", "--ic", "800101141234")...)
	if err != nil || strings.Contains(stderr, "no account") {
		t.Errorf("audit history of a registered account: %v, stderr %q", err, stderr)
	}
}

// TestRootIsRefusedInTheServiceAccountsDataDirectory: a console command run
// as root (plain sudo) against a data directory the portal's service account
// owns is refused before it opens anything: the log's -wal and -shm, a new
// views.db or master.key it made would be root's, and the portal running as
// that account could no longer open them. The audit commands, which write
// nothing, run.
func TestRootIsRefusedInTheServiceAccountsDataDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to hand a directory to another user")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const service = 65534 // nobody
	chownAll := func(dir string) {
		t.Helper()
		if err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Chown(p, service, service)
		}); err != nil {
			t.Fatal(err)
		}
	}
	listing := func(dir string) []string {
		t.Helper()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}
	fresh := t.TempDir()
	chownAll(fresh)
	installed := t.TempDir()
	addEventsClient(ctx, t, installed)
	chownAll(installed)
	for _, tc := range []struct {
		dir  string
		args []string
	}{
		{fresh, []string{"admin", "create", "--ic", "800101141234", "--email", "pentadbir@melaka.gov.my"}},
		{installed, []string{"clients", "list"}},
		{installed, []string{"projections", "status"}},
	} {
		before := listing(tc.dir)
		_, err := executeOut(ctx, append([]string{"--data", tc.dir, "--log-level", "error"}, tc.args...)...)
		if err == nil || !strings.HasPrefix(err.Error(), "--data: ") || !strings.Contains(err.Error(), "runs as root") || !strings.Contains(err.Error(), "sudo -u") {
			t.Errorf("ispeks %s as root in another user's directory: %v, want a refusal naming --data and sudo -u", strings.Join(tc.args, " "), err)
		}
		if after := listing(tc.dir); strings.Join(after, ",") != strings.Join(before, ",") {
			t.Errorf("ispeks %s changed the directory: %v, was %v", strings.Join(tc.args, " "), after, before)
		}
	}
	// What does not touch the data directory still runs.
	if _, err := executeOut(ctx, "--data", installed, "help", "admin"); err != nil {
		t.Errorf("help admin: %v", err)
	}
	// So do the audit commands, which write nothing (the log is opened
	// read-only): no file is left for root to own.
	audited, ic := auditFixture(t)
	chownAll(audited)
	before := dirState(t, audited)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"audit", "verify"}, "integrity verified: 13 events"},
		{[]string{"audit", "history", "--ic", ic}, "integrity: ok, 11 events in 2 streams"},
		{[]string{"audit", "state", "--ic", ic, "--at", "2099-01-01T00:00"}, "failed attempts: 3"},
		{[]string{"audit", "backups"}, "1 backups recorded"},
	} {
		out, err := executeOut(ctx, append([]string{"--data", audited, "--log-level", "error"}, tc.args...)...)
		if err != nil || !strings.Contains(out, tc.want) {
			t.Errorf("ispeks %s as root in another user's directory: %v, want %q in\n%s", strings.Join(tc.args, " "), err, tc.want, out)
		}
	}
	if after := dirState(t, audited); after != before {
		t.Errorf("the audit as root changed the directory:\nbefore:\n%safter:\n%s", before, after)
	}
}

// TestBootstrapCommandsCheckTheirInputFirst: admin create and clients add,
// which may start a new install, refuse a malformed IC number, e-mail,
// NAME or scope before any store is opened: a typo leaves no half-made
// install (log, read store, master key) behind.
func TestBootstrapCommandsCheckTheirInputFirst(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	data := filepath.Join(t.TempDir(), "data")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"admin", "create", "--ic", "80010114123", "--email", "pentadbir@melaka.gov.my"}, "--ic: IC number must be 12 digits, as YYMMDD-PB-###G or YYMMDDPB###G"},
		{[]string{"admin", "create", "--ic", "800101141234", "--email", "pentadbir@gmail.com"}, "--email: must be an official address (@melaka.gov.my)"},
		{[]string{"admin", "create", "--ic", "800101141234", "--email", "pentadbir"}, "--email: is not a valid e-mail address"},
		{[]string{"clients", "add", "Sistem Gaji", "--scopes", "events:raed"}, `--scopes: unknown scope "events:raed"`},
		{[]string{"clients", "add", " ", "--scopes", "events:read"}, "NAME: is required"},
	} {
		refusedBeforeOpening(ctx, t, data, tc.want, tc.args...)
	}
}

// refusedBeforeOpening runs args against the data directory data, which
// does not exist, and fails t unless the command is refused with an error
// starting with want and leaves no data directory made.
func refusedBeforeOpening(ctx context.Context, t *testing.T, data, want string, args ...string) {
	t.Helper()
	_, err := executeOut(ctx, append([]string{"--data", data, "--log-level", "error"}, args...)...)
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("ispeks %s: %v, want %q", strings.Join(args, " "), err, want)
	}
	if _, err := os.Stat(data); err == nil {
		t.Fatalf("ispeks %s made the data directory", strings.Join(args, " "))
	}
}

// TestInterruptedRebuildEndsItsBarLine: a rebuild cut short leaves its
// progress bar's line ended, so the error ("ispeks: projections rebuild:
// interrupted …") is a line of its own rather than glued to the bar.
func TestInterruptedRebuildEndsItsBarLine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	addEventsClient(ctx, t, dir)
	stderr, err := runStoppedAtFirstWrite(ctx, false, "--data", dir, "--log-level", "error", "projections", "rebuild", "apiclients")
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("rebuild stopped by a signal: %v (stderr %q)", err, stderr)
	}
	if stderr == "" || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("the rebuild's bar line was left open: %q", stderr)
	}
}

// runStoppedAtFirstWrite runs args as main does and sends the stop signal
// at the first write to stdout (or, onStdout false, stderr: a progress
// bar), i.e. while the command works. It returns what went to stderr.
func runStoppedAtFirstWrite(ctx context.Context, onStdout bool, args ...string) (string, error) {
	stopped, stop := context.WithCancel(ctx)
	defer stop()
	var stderr strings.Builder
	root := newRootCmd()
	root.SetArgs(args)
	if onStdout {
		root.SetOut(stopOnWrite{w: io.Discard, stop: stop})
		root.SetErr(&stderr)
	} else {
		root.SetOut(io.Discard)
		root.SetErr(stopOnWrite{w: &stderr, stop: stop, terminal: true}) // as a terminal, where a bar is drawn
	}
	err := runRoot(stopped, root)
	return stderr.String(), err
}

// stopOnWrite writes to w and calls stop at every write; terminal: it
// stands for a terminal (isTerminal).
type stopOnWrite struct {
	w        io.Writer
	stop     func()
	terminal bool
}

func (s stopOnWrite) IsTerminal() bool { return s.terminal }

func (s stopOnWrite) Write(p []byte) (int, error) {
	s.stop()
	return s.w.Write(p)
}

// TestHelpOfAnUnknownTopicFails: "ispeks help nosuch" is the same mistake
// as "ispeks nosuch" and fails the same way, not "Unknown help topic" with
// exit status 0; a known topic still prints its help.
func TestHelpOfAnUnknownTopicFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for args, want := range map[string]string{
		"help nosuch":      `unknown command "nosuch" for "ispeks"`,
		"help admin unlok": `unknown command "unlok" for "ispeks admin"`,
	} {
		_, err := executeOut(ctx, strings.Fields(args)...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ispeks %s: %v, want %s", args, err, want)
		}
	}
	for _, args := range []string{"help", "help admin", "help admin unlock"} {
		out, err := executeOut(ctx, strings.Fields(args)...)
		if err != nil || !strings.Contains(out, "Usage:") {
			t.Errorf("ispeks %s: %v\n%s", args, err, out)
		}
	}
}

// TestBackupInsideTheDataDirectoryIsRefused: a copy made inside the data
// directory (or beside the master key, or the log) sits next to the key
// that opens its secrets and is lost with the disk it should outlive, so
// it is no backup: refused before anything is made, naming the reason.
func TestBackupInsideTheDataDirectoryIsRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	addEventsClient(ctx, t, dir)
	keyDir := t.TempDir()
	if err := os.Rename(filepath.Join(dir, "master.key"), filepath.Join(keyDir, "master.key")); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(keyDir, "master.key")
	// A symbolic link to the data directory is the data directory.
	link := filepath.Join(t.TempDir(), "data-link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{
		filepath.Join(dir, "backups"),
		filepath.Join(dir, "outbox"),
		filepath.Join(link, "backups"),
		filepath.Join(keyDir, "backups"),
		keyDir,
	} {
		_, err := executeOut(ctx, "--data", dir, "--key-file", key, "--log-level", "error", "backup", target)
		if err == nil || !strings.Contains(err.Error(), "DIR "+target+": it is inside ") || !strings.Contains(err.Error(), "keep backups on another disk") {
			t.Errorf("backup %s: %v", target, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "backups")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a backup directory was made inside the data directory")
	}
	if _, err := os.Stat(filepath.Join(dir, "outbox", "events.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a copy was made in the outbox")
	}
	// Beside the data directory, not in it, is fine.
	beside := filepath.Join(filepath.Dir(dir), filepath.Base(dir)+"-backup")
	t.Cleanup(func() { os.RemoveAll(beside) })
	if out, err := executeOut(ctx, "--data", dir, "--key-file", key, "--log-level", "error", "backup", beside); err != nil || !strings.Contains(out, "every stream's hash chain intact") {
		t.Fatalf("backup beside the data directory: %v\n%s", err, out)
	}
}

// addEventsClient adds an API client with events:read to the data directory
// dir: a log with events in it, made through the console.
func addEventsClient(ctx context.Context, t *testing.T, dir string) {
	t.Helper()
	if _, err := executeOut(ctx, "--data", dir, "--log-level", "error", "clients", "add", "Sistem Gaji", "--scopes", "events:read"); err != nil {
		t.Fatal(err)
	}
}

// createFirstAdmin bootstraps the first administrator (Siti Pentadbir,
// 800101-14-1234) in the data directory dir through the console.
func createFirstAdmin(ctx context.Context, t *testing.T, dir string) {
	t.Helper()
	if _, err := executeOut(ctx, "--data", dir, "--log-level", "error", "admin", "create", "--ic", "800101-14-1234", "--email", "pentadbir@melaka.gov.my",
		"--name", "Siti Pentadbir", "--department", "Jabatan Kewangan", "--post", "Pegawai", "--staff-number", "A0001"); err != nil {
		t.Fatal(err)
	}
}

// TestAnEmptyLogBesideReadModelsIsNotCalledARestore: a mistyped --data
// beside a read store set elsewhere (ISPEKS_READ_STORE) starts an empty
// log. That is no restore: the message says to check the log's place
// rather than to delete the read store, which would lose the mailer's
// position and its unsent mail.
func TestAnEmptyLogBesideReadModelsIsNotCalledARestore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	views := filepath.Join(dir, "views.db")
	if _, err := executeOut(ctx, "--data", dir, "--log-level", "error", "clients", "add", "Sistem Gaji", "--scopes", "events:read"); err != nil {
		t.Fatal(err)
	}
	if _, err := executeOut(ctx, "--data", dir, "--log-level", "error", "projections", "rebuild", "apiclients"); err != nil {
		t.Fatal(err)
	}
	// The mistyped directory does not exist: refused, it is not made, nor
	// an events.db or a master.key in it (they were, before the refusal).
	typo := filepath.Join(t.TempDir(), "dta")
	for _, cmd := range [][]string{{"clients", "add", "Sistem Bayaran", "--scopes", "events:read"}, {"serve", "--listen", "127.0.0.1:0"}} {
		out, err := executeOut(ctx, append([]string{"--data", typo, "--read-store", "sqlite:" + views, "--log-level", "error"}, cmd...)...)
		if err == nil || !strings.Contains(err.Error(), "the event log is empty") || !strings.Contains(err.Error(), "holds no event") ||
			!strings.Contains(err.Error(), "check --data and --event-store") || strings.Contains(err.Error(), "restored from a backup") {
			t.Fatalf("%s: an empty log beside read models: %v\n%s", cmd[0], err, out)
		}
		if _, err := os.Stat(typo); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s: the mistyped --data %s was made (%v)", cmd[0], typo, err)
		}
	}
}
