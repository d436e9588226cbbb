package main

import (
	"context"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/melaka-gov/ispeks/infra/config"
)

// quietCLI is the CLI with the default configuration, logging warnings
// only, its data in a temporary directory.
func quietCLI(t testing.TB) *cli {
	t.Helper()
	var cfg config.Config
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	config.Bind(fs, &cfg)
	if err := fs.Parse([]string{"--data", t.TempDir(), "--log-level", "warn"}); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Resolve(); err != nil {
		t.Fatal(err)
	}
	return &cli{cfg: cfg, log: newLogger("warn", "text")}
}

// TestReadinessWaitsForLayouts: /readyz's projectors check fails while a
// projector's read model is not of the layout it declares (a new store, or
// one written by an older build, before the engine's rebuild) and passes
// once the engine has run.
func TestReadinessWaitsForLayouts(t *testing.T) {
	c := quietCLI(t)
	ctx := context.Background()
	rig, err := c.startBenchRig(ctx, t.TempDir(), rigOptions{DeferEngine: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rig.Close()
	_, err = rig.app.readyLag(ctx)
	if err == nil || !strings.Contains(err.Error(), "rebuilding to") {
		t.Fatalf("before the engine ran: %v, want a projector named as rebuilding", err)
	}
	if err := rig.catchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if lag, err := rig.app.readyLag(ctx); err != nil || lag != 0 {
		t.Fatalf("after the engine ran: lag %d, %v", lag, err)
	}
}
