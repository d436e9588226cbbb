package config

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func parse(t *testing.T, args ...string) (*Config, error) {
	t.Helper()
	var cfg Config
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	Bind(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return &cfg, cfg.Resolve()
}

func TestDefaultsAreEmbedded(t *testing.T) {
	cfg, err := parse(t)
	if err != nil {
		t.Fatal(err)
	}
	kind, path, _ := cfg.EventStore()
	if kind != KindSQLite || path != "data/events.db" {
		t.Fatalf("event store = %s %s", kind, path)
	}
	kind, path, _ = cfg.ReadStore()
	if kind != KindSQLite || path != "data/views.db" {
		t.Fatalf("read store = %s %s", kind, path)
	}
	if cfg.KeyFile != "data/master.key" || cfg.LockThreshold != 3 || len(cfg.Helpdesk) != 4 || cfg.GCPercent != 400 {
		t.Fatalf("defaults: %+v", cfg)
	}
}

func TestServerURLs(t *testing.T) {
	cfg, err := parse(t, "--event-store", "esdb://localhost:2113?tls=false", "--read-store", "mongodb://127.0.0.1:27017/")
	if err != nil {
		t.Fatal(err)
	}
	if k, _, _ := cfg.EventStore(); k != KindKurrent {
		t.Fatalf("kind %s", k)
	}
	if k, _, _ := cfg.ReadStore(); k != KindMongo {
		t.Fatalf("kind %s", k)
	}
}

func TestBadValuesNameTheFlag(t *testing.T) {
	cases := map[string][]string{
		"--event-store": {"--event-store", "postgres://x"},
		"--read-store":  {"--read-store", "esdb://x"},
		"--smtp":        {"--smtp", "http://mail"},
		"--lock-after":  {"--lock-after", "0"},
		"--nats":        {"--nats", "tcp://x"},
		"--gc-percent":  {"--gc-percent", "10"},
	}
	for flag, args := range cases {
		_, err := parse(t, args...)
		if err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%v: error %v does not name %s", args, err, flag)
		}
	}
}

func TestMalformedEnvironmentIsAnError(t *testing.T) {
	t.Setenv("ISPEKS_LOCK_AFTER", "three")
	_, err := parse(t)
	if err == nil || !strings.Contains(err.Error(), "ISPEKS_LOCK_AFTER") {
		t.Fatalf("error %v", err)
	}
}

func TestSMTPPasswordNeverShown(t *testing.T) {
	_, err := parse(t, "--smtp", "ftp://user:hunter2@mail:25")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v", err)
	}
}

func TestHelpdeskFromEnvironment(t *testing.T) {
	t.Setenv("ISPEKS_HELPDESK", "Cik Aina=06-1111111;En. Badrul=06-2222222")
	cfg, err := parse(t)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Helpdesk) != 2 || cfg.Helpdesk[1].Phone != "06-2222222" {
		t.Fatalf("helpdesk %+v", cfg.Helpdesk)
	}
	t.Setenv("ISPEKS_HELPDESK", "nobody")
	if _, err := parse(t); err == nil {
		t.Fatal("malformed helpdesk accepted")
	}
}
