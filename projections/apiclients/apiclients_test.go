package apiclients_test

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/apiclient"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	evsqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	rssqlite "github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/apiclients"
	"github.com/melaka-gov/ispeks/projections/engine"
)

func TestProjectionLiveTwiceAndRebuild(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	events, err := evsqlite.Open(ctx, filepath.Join(dir, "events.db"), evsqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	views, err := rssqlite.Open(ctx, filepath.Join(dir, "views.db"), rssqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer views.Close()
	reg := eventlog.NewRegistry()
	apiclient.Register(reg)
	eng, err := engine.New(engine.Config{Log: events, Store: views, Registry: reg, Projectors: []projections.Projector{apiclients.Projector{}}})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- eng.Run(runCtx) }()
	defer func() { stop(); <-done }()

	now := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	runner := commands.Runner{Store: events, Registry: reg, Now: func() time.Time { return now }}
	admin := eventlog.Actor{Kind: eventlog.ActorAdmin, ID: "cli"}
	add := func(id string, scopes ...string) (commands.AddAPIClient, commands.Result) {
		cmd, err := commands.AddAPIClient{Meta: commands.Meta{CommandID: uuid.New(), Actor: admin}, ClientID: id, Name: "Sistem " + id, Scopes: scopes}.WithNewToken()
		if err != nil {
			t.Fatal(err)
		}
		res, err := commands.AddAPIClientHandler{Runner: runner}.Handle(ctx, cmd)
		if err != nil {
			t.Fatal(err)
		}
		return cmd, res
	}
	payroll, _ := add("payroll", "statements:write", "events:read")
	_, _ = add("payments", "payments:write")
	res, err := commands.RevokeAPIClientHandler{Runner: runner}.Handle(ctx, commands.RevokeAPIClient{Meta: commands.Meta{CommandID: uuid.New(), Actor: admin}, ClientID: "payments", Reason: "replaced"})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.WaitFor(ctx, res.Position, "apiclients"); err != nil {
		t.Fatal(err)
	}

	q := apiclients.Queries{Reader: views}
	got, ok, err := q.Get(ctx, "payroll")
	if err != nil || !ok {
		t.Fatalf("get: %v %v", ok, err)
	}
	if got.TokenHash != apiclient.HashToken(payroll.Token) || !reflect.DeepEqual(got.Scopes, []string{"events:read", "statements:write"}) || got.Revoked || got.AddedBy != admin || !got.AddedAt.Equal(now) {
		t.Fatalf("payroll: %+v", got)
	}
	if !got.HasScope("events:read") || got.HasScope("payments:write") {
		t.Fatal("HasScope")
	}
	pay, _, _ := q.Get(ctx, "payments")
	if !pay.Revoked || pay.RevokedReason != "replaced" || pay.RevokedAt == nil || !pay.RevokedAt.Equal(now) {
		t.Fatalf("payments: %+v", pay)
	}
	if _, ok, _ := q.Get(ctx, "nobody"); ok {
		t.Fatal("unknown client found")
	}
	live, err := q.List(ctx)
	if err != nil || len(live) != 2 || live[0].ID != "payments" || live[1].ID != "payroll" {
		t.Fatalf("list: %+v %v", live, err)
	}

	// Every event delivered twice changes nothing.
	recs, err := events.ReadAll(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if !slices.Contains(apiclients.Projector{}.Handles(), rec.Type) {
			continue // the name claims: the engine passes over them too
		}
		env, err := reg.Decode(rec)
		if err != nil {
			t.Fatal(err)
		}
		cp, _ := views.Checkpoint(ctx, "apiclients_twice")
		if err := views.Write(ctx, "apiclients_twice", cp, func(b projections.Batch) error {
			return apiclients.Projector{}.Project(ctx, b, env)
		}); err != nil {
			t.Fatal(err)
		}
	}
	again, _ := q.List(ctx)
	if !reflect.DeepEqual(again, live) {
		t.Fatalf("redelivery changed the model:\n%+v\n%+v", again, live)
	}

	// A rebuild equals live.
	if _, err := eng.Rebuild(ctx, "apiclients", nil); err != nil {
		t.Fatal(err)
	}
	rebuilt, _ := q.List(ctx)
	if !reflect.DeepEqual(rebuilt, live) {
		t.Fatalf("rebuild differs:\n%+v\n%+v", rebuilt, live)
	}
}
