package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestClientsAddRefusesTheNameOfAnActiveClient: 'clients add' refuses a
// name an active client has (case and surrounding spaces aside), naming
// NAME and the client, and records nothing; so it does for a client added
// before names were claimed (only the read model knows its name); a
// revoked client's name is free. Before, two clients could share a name.
func TestClientsAddRefusesTheNameOfAnActiveClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	run := func(args ...string) (string, error) {
		return executeOut(ctx, append([]string{"--data", dir, "--log-level", "error"}, args...)...)
	}
	if _, err := run("clients", "add", "Sistem Gaji", "--scopes", "statements:write"); err != nil {
		t.Fatal(err)
	}
	list, err := run("clients", "list")
	if err != nil {
		t.Fatal(err)
	}
	holder := strings.Fields(strings.Split(strings.TrimSpace(list), "\n")[1])[0]
	_, err = run("clients", "add", "  sistem GAJI ", "--scopes", "events:read")
	if err == nil || !strings.HasPrefix(err.Error(), "NAME: ") || !strings.Contains(err.Error(), holder) || !strings.Contains(err.Error(), `"Sistem Gaji"`) {
		t.Fatalf("the same name again: %v, want NAME: … naming client %s", err, holder)
	}
	if after, _ := run("clients", "list"); strings.Count(after, "\n") != strings.Count(list, "\n") {
		t.Fatalf("a refused add listed a client:\n%s", after)
	}

	// A client of before names were claimed: its Added without a claim.
	addUnclaimedClients(ctx, t, dir, [2]string{"legacy", "Sistem Lama"})
	if _, err := run("clients", "add", "SISTEM LAMA", "--scopes", "events:read"); err == nil || !strings.HasPrefix(err.Error(), "NAME: ") || !strings.Contains(err.Error(), "legacy") {
		t.Fatalf("the name of a client added before claims: %v", err)
	}
	if _, err := run("clients", "revoke", "legacy", "--reason", "diganti"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("clients", "add", "SISTEM LAMA", "--scopes", "events:read"); err != nil {
		t.Fatalf("the name of a revoked client: %v", err)
	}
}
