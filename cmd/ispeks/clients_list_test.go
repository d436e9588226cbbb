package main

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/apiclient"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	esqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
)

// TestClientsListShowsTheDayInMalaysia: 'clients list' dates a client by
// the day it was added in Malaysia, as the console shows every time,
// whatever zone the server runs in, and never shows a token or its hash.
// Before, the date was the UTC one: a client added between midnight and
// 08:00 in Melaka was listed under the day before.
func TestClientsListShowsTheDayInMalaysia(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	base := []string{"--data", dir, "--log-level", "error"}
	token, err := executeOut(ctx, append(base, "clients", "add", "Sistem Gaji", "--scopes", "statements:write")...)
	if err != nil {
		t.Fatal(err)
	}
	// A client added at 01:30 on 2 March in Melaka (17:30 UTC on 1 March).
	store, reg := openClientLog(ctx, t, dir)
	at := time.Date(2026, 3, 1, 17, 30, 0, 0, time.UTC)
	runner := commands.Runner{Store: store, Registry: reg, Now: func() time.Time { return at }}
	cmd, err := commands.AddAPIClient{Meta: commands.Meta{CommandID: uuid.New(), Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "cli:test"}},
		ClientID: "sistem-bayaran", Name: "Sistem Bayaran", Scopes: []string{"payments:write"}}.WithNewToken()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (commands.AddAPIClientHandler{Runner: runner}).Handle(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	out, err := executeOut(ctx, append(base, "clients", "list")...)
	if err != nil {
		t.Fatal(err)
	}
	var row string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "sistem-bayaran ") {
			row = l
		}
	}
	if !strings.Contains(row, " 2026-03-02 ") {
		t.Errorf("clients list:\n%s\nwant sistem-bayaran added on 2026-03-02 (Malaysia)", out)
	}
	for _, secret := range []string{strings.TrimSpace(token), cmd.Token, apiclient.HashToken(cmd.Token), apiclient.HashToken(strings.TrimSpace(token))} {
		if strings.Contains(out, secret) || strings.Contains(out, secret[len(secret)-20:]) {
			t.Errorf("clients list shows a token or its hash:\n%s", out)
		}
	}
}

// TestClientsListFlagsActiveClientsSharingAName: an install from before
// names were claimed may hold two active clients under one name (compared
// as apiclient.NameKey compares them); 'clients list' marks both rows and
// says which to look at, so an operator can revoke the one not in use. A
// revoked namesake is no conflict.
func TestClientsListFlagsActiveClientsSharingAName(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	base := []string{"--data", dir, "--log-level", "error"}
	if _, err := executeOut(ctx, append(base, "clients", "add", "Sistem Lain", "--scopes", "statements:write")...); err != nil {
		t.Fatal(err)
	}
	addUnclaimedClients(ctx, t, dir, [2]string{"gaji-lama", "Sistem Gaji"}, [2]string{"gaji-baru", " sistem gaji "}, [2]string{"gaji-batal", "Sistem Gaji"})
	if _, err := executeOut(ctx, append(base, "clients", "revoke", "gaji-batal", "--reason", "ujian")...); err != nil {
		t.Fatal(err)
	}

	out, warning, err := executeOutErr(ctx, append(base, "clients", "list")...)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			rows[f[0]] = l
		}
	}
	for _, id := range []string{"gaji-lama", "gaji-baru"} {
		if !strings.Contains(rows[id], "active, name shared with gaji-") {
			t.Errorf("row of %s: %q, want it marked as sharing its name with the other\n%s", id, rows[id], out)
		}
	}
	if !strings.Contains(rows["gaji-lama"], "gaji-baru") || !strings.Contains(rows["gaji-baru"], "gaji-lama") {
		t.Errorf("each row should name the other client:\n%s", out)
	}
	if strings.Contains(rows["gaji-batal"], "shared") {
		t.Errorf("a revoked namesake is marked: %q", rows["gaji-batal"])
	}
	var other string
	for _, row := range rows {
		if strings.Contains(row, "Sistem Lain") {
			other = row
		}
	}
	if f := strings.Fields(other); len(f) == 0 || f[len(f)-1] != "active" {
		t.Errorf("row of the unique name: %q, want it plainly active\n%s", other, out)
	}
	if !strings.Contains(warning, "ispeks clients revoke") {
		t.Errorf("no advice on what to do about the shared name on stderr: %q", warning)
	}
}

// addUnclaimedClients adds clients ({ID, name}) to the log of the data
// directory dir as they were added before names were claimed: each one's
// Added event, and no claim on its name.
func addUnclaimedClients(ctx context.Context, t *testing.T, dir string, clients ...[2]string) {
	t.Helper()
	store, reg := openClientLog(ctx, t, dir)
	runner := commands.Runner{Store: store, Registry: reg, Now: time.Now}
	for _, c := range clients {
		tok, err := apiclient.NewToken(c[0], rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := commands.Execute(ctx, runner, apiclient.Stream(c[0]), apiclient.New,
			commands.Meta{CommandID: uuid.New(), Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "cli:test"}},
			func(cl *apiclient.Client, now time.Time) error {
				return cl.Add(c[0], c[1], []string{"statements:write"}, apiclient.HashToken(tok), now)
			}); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
}

// openClientLog opens the event log of the data directory dir beside the
// console (a second process), with the API clients' events registered.
func openClientLog(ctx context.Context, t *testing.T, dir string) (*esqlite.Store, *eventlog.Registry) {
	t.Helper()
	store, err := esqlite.Open(ctx, filepath.Join(dir, "events.db"), esqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := eventlog.NewRegistry()
	apiclient.Register(reg)
	return store, reg
}
