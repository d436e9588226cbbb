package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
