package main

import (
	"context"
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
	store, err := esqlite.Open(ctx, filepath.Join(dir, "events.db"), esqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := eventlog.NewRegistry()
	apiclient.Register(reg)
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
