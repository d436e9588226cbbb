package main

import (
	"context"
	"os"
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
	for _, name := range []string{"accounts", "login_attempts", "apiclients"} {
		if !strings.Contains(status, name) {
			t.Fatalf("projections status lacks %s:\n%s", name, status)
		}
	}
	if out := run("audit", "verify"); !strings.Contains(out, "integrity verified") {
		t.Fatalf("audit verify: %q", out)
	}
	if _, err := executeOut(ctx, "--data", dir, "admin", "role", "--ic", "800101141234", "--role", "superuser"); err == nil || !strings.Contains(err.Error(), "--role") {
		t.Fatalf("bad role accepted: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "events.db")); err != nil {
		t.Fatal(err)
	}
}
