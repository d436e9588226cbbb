package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/demo"
	"github.com/melaka-gov/ispeks/projections"
)

// TestLiveProjectionEqualsRebuild: what the projectors write while events
// arrive (handed the commands' own event values from the store's memory,
// eventlog.Record.Decoded) is what they write when rebuilt from the file
// (every event decoded from its stored JSON). The demo data (staff,
// payments in every status, statements of every type) and accounts that
// register, activate, log in and fail to log in until locked cover every
// projector.
func TestLiveProjectionEqualsRebuild(t *testing.T) {
	c := quietCLI(t)
	ctx := context.Background()
	rig, err := c.startBenchRig(ctx, t.TempDir(), rigOptions{Logs: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer rig.Close()
	a := rig.app
	if _, err := demo.Load(ctx, demo.Deps{Runner: a.runner, Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	users, err := benchAccounts(ctx, a, 3)
	if err != nil {
		t.Fatal(err)
	}
	locked := users[2].ic
	for range c.cfg.LockThreshold {
		who := eventlog.Actor{Kind: eventlog.ActorUser, ID: locked}
		if _, _, err := a.accounts.LogIn.LogIn(ctx, commands.LogIn{Meta: benchMeta(who), UserID: locked, Password: "Salah-kata-laluan-1"}); err == nil {
			t.Fatal("a wrong password logged in")
		}
	}
	if err := rig.catchUp(ctx); err != nil {
		t.Fatal(err)
	}

	live := snapshotViews(ctx, t, a)
	for _, p := range a.projectors() {
		if _, err := a.engine.Rebuild(ctx, p.Name(), nil); err != nil {
			t.Fatalf("rebuild %s: %v", p.Name(), err)
		}
	}
	rebuilt := snapshotViews(ctx, t, a)

	docs := 0
	for coll, want := range rebuilt {
		got := live[coll]
		docs += len(want)
		if len(got) != len(want) {
			t.Errorf("%s: %d documents live, %d rebuilt", coll, len(got), len(want))
			continue
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.ID != w.ID || g.Version != w.Version || !bytes.Equal(g.Body, w.Body) || !reflect.DeepEqual(g.Fields, w.Fields) {
				t.Errorf("%s: document %s differs\n live    v%d %v %s\n rebuilt v%d %v %s", coll, w.ID, g.Version, g.Fields, g.Body, w.Version, w.Fields, w.Body)
			}
		}
	}
	if len(live) != len(rebuilt) {
		t.Errorf("%d collections live, %d rebuilt", len(live), len(rebuilt))
	}
	if docs < 500 {
		t.Fatalf("only %d documents compared: the data did not reach the projectors", docs)
	}
}

// snapshotViews reads every document of every projector's collections, in
// ID order.
func snapshotViews(ctx context.Context, t *testing.T, a *app) map[string][]projections.Doc {
	t.Helper()
	out := map[string][]projections.Doc{}
	for _, p := range a.projectors() {
		for _, spec := range p.Collections() {
			var docs []projections.Doc
			for after := ""; ; {
				page, err := a.views.Find(ctx, projections.Query{Collection: spec.Name, Limit: 500, After: after})
				if err != nil {
					t.Fatalf("%s: %v", spec.Name, err)
				}
				docs = append(docs, page.Docs...)
				if page.Next == "" {
					break
				}
				after = page.Next
			}
			key := fmt.Sprintf("%s/%s", p.Name(), spec.Name)
			out[key] = docs
		}
	}
	return out
}
