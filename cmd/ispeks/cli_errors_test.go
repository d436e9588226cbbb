package main

import (
	"context"
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
