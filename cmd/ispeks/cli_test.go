package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConsoleCommands drives the console commands against real SQLite files
// in one data directory, as an operator would in sequence.
func TestConsoleCommands(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := func(args ...string) string {
		t.Helper()
		out, err := executeOut(ctx, append([]string{"--data", dir, "--log-level", "error"}, args...)...)
		if err != nil {
			t.Fatalf("ispeks %s: %v", strings.Join(args, " "), err)
		}
		return out
	}

	out := run("admin", "create", "--ic", "800101-14-1234", "--email", "pentadbir@melaka.gov.my",
		"--name", "Siti Pentadbir", "--department", "Jabatan Kewangan", "--post", "Pegawai Teknologi Maklumat", "--staff-number", "A0001")
	if !strings.Contains(out, "800101-14-****") || strings.Contains(out, "800101141234") {
		t.Fatalf("admin create printed %q: want the masked IC only", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if temp := lines[len(lines)-1]; len(temp) < 12 {
		t.Fatalf("no temporary password printed: %q", out)
	}
	// Running it again is harmless (idempotent) and prints no new password.
	if again := run("admin", "create", "--ic", "800101141234", "--email", "pentadbir@melaka.gov.my"); strings.Count(again, "\n") != 1 {
		t.Fatalf("second admin create printed %q", again)
	}

	token := strings.TrimSpace(run("clients", "add", "Sistem Gaji", "--scopes", "statements:write,events:read"))
	if !strings.HasPrefix(token, "isp_") {
		t.Fatalf("clients add printed %q, want a token", token)
	}
	clientID := strings.Split(token, "_")[1]
	list := run("clients", "list")
	if !strings.Contains(list, clientID) || !strings.Contains(list, "Sistem Gaji") || !strings.Contains(list, "active") {
		t.Fatalf("clients list:\n%s", list)
	}
	if strings.Contains(list, token) {
		t.Fatal("clients list shows the token")
	}
	run("clients", "revoke", clientID, "--reason", "system retired")
	if list := run("clients", "list"); !strings.Contains(list, "revoked: system retired") {
		t.Fatalf("clients list after revoke:\n%s", list)
	}

	status := run("projections", "status")
	for _, name := range []string{"accounts", "login_attempts", "apiclients", "LAYOUT"} {
		if !strings.Contains(status, name) {
			t.Fatalf("projections status lacks %s:\n%s", name, status)
		}
	}
	if out := run("projections", "rebuild", "accounts"); !strings.Contains(out, "rebuilt accounts") {
		t.Fatalf("projections rebuild: %q", out)
	}
	if _, err := executeOut(ctx, "--data", dir, "--log-level", "error", "projections", "rebuild", "nosuch"); err == nil {
		t.Fatal("rebuild of an unknown projector succeeded")
	}
	if out := run("audit", "verify"); !strings.Contains(out, "integrity verified") {
		t.Fatalf("audit verify: %q", out)
	}
	// A backup while nothing else runs: the copy verifies on its own, and
	// a second backup never overwrites it.
	backup := filepath.Join(t.TempDir(), "backup")
	if out := run("backup", backup); !strings.Contains(out, "every stream's hash chain intact") || !strings.Contains(out, "master.key") {
		t.Fatalf("backup: %q", out)
	}
	if out := run("audit", "verify", "--event-store", "sqlite:"+filepath.Join(backup, "events.db")); !strings.Contains(out, "integrity verified") {
		t.Fatalf("audit verify of the backup: %q", out)
	}
	if _, err := executeOut(ctx, "--data", dir, "--log-level", "error", "backup", backup); err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Fatalf("second backup into %s: %v", backup, err)
	}
	if _, err := executeOut(ctx, "--data", dir, "--log-level", "error", "--event-store", "esdb://admin:changeit@127.0.0.1:1", "backup", backup+"-kurrent"); err == nil || !strings.Contains(err.Error(), "KurrentDB's own tools") || strings.Contains(err.Error(), "changeit") {
		t.Fatalf("backup of a KurrentDB store: %v", err)
	}
	if _, err := executeOut(ctx, "--data", dir, "admin", "role", "--ic", "800101141234", "--role", "superuser"); err == nil || !strings.Contains(err.Error(), "--role") {
		t.Fatalf("bad role accepted: %v", err)
	}
	hist := run("audit", "history", "--ic", "800101-14-1234", "--all")
	if !strings.Contains(hist, "RoleGranted") && !strings.Contains(hist, "role") {
		t.Fatalf("audit history lacks the role grant:\n%s", hist)
	}
	if _, err := executeOut(ctx, "--data", dir, "audit", "state", "--ic", "800101141234", "--at", "yesterday"); err == nil || !strings.Contains(err.Error(), "--at") {
		t.Fatalf("bad --at accepted: %v", err)
	}

	// An auditor does not trust the database: change one stored event with
	// plain SQL and the verification names the broken link.
	db, err := sql.Open("sqlite", filepath.Join(dir, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Exec(`UPDATE events SET data = CAST(replace(CAST(data AS TEXT), 'Siti Pentadbir', 'Siti Penyamar') AS BLOB)
		WHERE position = (SELECT min(position) FROM events WHERE CAST(data AS TEXT) LIKE '%Siti Pentadbir%')`)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("tampered %d rows, want 1", n)
	}
	db.Close()
	_, err = executeOut(ctx, "--data", dir, "--log-level", "error", "audit", "verify")
	if err == nil || !strings.Contains(err.Error(), "integrity broken") {
		t.Fatalf("tampered log verified: %v", err)
	}
}

// TestAuditStateAtTheWholeMinute: `audit state --at` typed to the minute
// includes that minute's events, as the web's Keadaan Akaun page does
// (audit.ParseAsOf): an event at 07:37:51 is "at 07:37".
func TestAuditStateAtTheWholeMinute(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	createFirstAdmin(ctx, t, dir)
	hist, err := executeOut(ctx, "--data", dir, "--log-level", "error", "audit", "history", "--ic", "800101141234", "--all", "--csv")
	if err != nil {
		t.Fatal(err)
	}
	// The last event's time, Malaysia time, typed to the minute.
	rows := strings.Split(strings.TrimSpace(hist), "\n")
	last := strings.Split(rows[len(rows)-1], ",")
	minute := strings.Replace(last[5][:16], " ", "T", 1)
	out, err := executeOut(ctx, "--data", dir, "--log-level", "error", "audit", "state", "--ic", "800101141234", "--at", minute)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "not registered") || !strings.Contains(out, "events applied:  3") || !strings.Contains(out, "roles:           admin") {
		t.Fatalf("state as of %s, the minute of the events (%s):\n%s", minute, last[5], out)
	}
	// With seconds, the moment is that second exactly.
	before := strings.Replace(last[5], " ", "T", 1)[:16] + ":00"
	if out, _ := executeOut(ctx, "--data", dir, "--log-level", "error", "audit", "state", "--ic", "800101141234", "--at", before); !strings.Contains(out, "not registered") {
		t.Fatalf("state as of %s, before the events:\n%s", before, out)
	}
}
