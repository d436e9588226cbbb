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
	if cfg.KeyFile != "data/master.key" || cfg.LockThreshold != 3 || len(cfg.Helpdesk) != 4 || cfg.GCPercent != 400 || cfg.ViewCacheMB != 128 {
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
		"--event-store":      {"--event-store", "postgres://x"},
		"--read-store":       {"--read-store", "esdb://x"},
		"--smtp":             {"--smtp", "http://mail"},
		"--lock-after":       {"--lock-after", "0"},
		"--nats":             {"--nats", "tcp://x"},
		"--gc-percent":       {"--gc-percent", "10"},
		"--trusted-proxies":  {"--trusted-proxies", "10.0.0.1,proxy.local"},
		"--metrics-from":     {"--metrics-from", "10.0.0.0/33"},
		"--slip-months":      {"--slip-months", "0"},
		"--annual-years":     {"--annual-years", "-1"},
		"--log-level":        {"--log-level", "verbose"},
		"--log-format":       {"--log-format", "jsn"},
		"--base-url":         {"--base-url", "portal.melaka.gov.my"},
		"--shutdown-grace":   {"--shutdown-grace", "0s"},
		"--read-your-writes": {"--read-your-writes", "-1s"},
		"--view-cache-mb":    {"--view-cache-mb", "-1"},
	}
	for flag, args := range cases {
		_, err := parse(t, args...)
		if err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%v: error %v does not name %s", args, err, flag)
		}
	}
}

// TestEmailDomainsAreDomains: an allowed domain written as an address's
// end, with a leading or trailing dot, or an empty entry (a trailing comma)
// matches no address: every registration would be refused, its hint
// showing "@@melaka.gov.my". They are refused at start, naming the flag.
func TestEmailDomainsAreDomains(t *testing.T) {
	for _, domains := range []string{"@melaka.gov.my", ".melaka.gov.my", "melaka.gov.my,", "melaka.gov.my.", "melaka gov my", "m\u00e9laka.gov.my"} {
		_, err := parse(t, "--email-domains", domains)
		if err == nil || !strings.Contains(err.Error(), "--email-domains") {
			t.Errorf("%q: error %v does not name --email-domains", domains, err)
		}
	}
	cfg, err := parse(t, "--email-domains", " Melaka.gov.my, jkr.melaka.gov.my")
	if err != nil || strings.Join(cfg.EmailDomains, "|") != "melaka.gov.my|jkr.melaka.gov.my" {
		t.Errorf("email domains %q, %v", cfg.EmailDomains, err)
	}
}

// The display windows: 18 months and 7 years unless set; 0, negative and
// absurd values refused naming the flag; the environment read like the
// other settings.
func TestDisplayWindows(t *testing.T) {
	cfg, err := parse(t)
	if err != nil || cfg.SlipMonths != 18 || cfg.AnnualYears != 7 {
		t.Fatalf("defaults: %d months, %d years, %v", cfg.SlipMonths, cfg.AnnualYears, err)
	}
	if cfg, err = parse(t, "--slip-months", "600", "--annual-years", "1"); err != nil || cfg.SlipMonths != 600 || cfg.AnnualYears != 1 {
		t.Fatalf("bounds: %v", err)
	}
	for _, args := range [][]string{
		{"--slip-months", "0"}, {"--slip-months", "-3"}, {"--slip-months", "601"}, {"--slip-months", "1000000000000"},
		{"--annual-years", "0"}, {"--annual-years", "-7"}, {"--annual-years", "51"},
	} {
		_, err := parse(t, args...)
		if err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%v: error %v does not name %s", args, err, args[0])
		}
	}
	t.Setenv("ISPEKS_SLIP_MONTHS", "6")
	t.Setenv("ISPEKS_ANNUAL_YEARS", "3")
	if cfg, err = parse(t); err != nil || cfg.SlipMonths != 6 || cfg.AnnualYears != 3 {
		t.Fatalf("environment: %+v %v", cfg, err)
	}
	if cfg, err = parse(t, "--slip-months", "12"); err != nil || cfg.SlipMonths != 12 {
		t.Fatalf("the flag wins over the environment: %v", err)
	}
	t.Setenv("ISPEKS_SLIP_MONTHS", "18m")
	if _, err := parse(t); err == nil || !strings.Contains(err.Error(), "ISPEKS_SLIP_MONTHS") {
		t.Fatalf("malformed ISPEKS_SLIP_MONTHS: %v", err)
	}
	t.Setenv("ISPEKS_SLIP_MONTHS", "0")
	if _, err := parse(t); err == nil || !strings.Contains(err.Error(), "--slip-months") {
		t.Fatalf("ISPEKS_SLIP_MONTHS=0: %v", err)
	}
}

func TestMalformedEnvironmentIsAnError(t *testing.T) {
	t.Setenv("ISPEKS_LOCK_AFTER", "three")
	_, err := parse(t)
	if err == nil || !strings.Contains(err.Error(), "ISPEKS_LOCK_AFTER") {
		t.Fatalf("error %v", err)
	}
}

// A configured URL's password never shows in the error that refuses it,
// however the password breaks the URL: a wrong scheme, a space or a stray
// % (url.Parse fails and its error repeats the URL), a '/' (url.Parse reads
// the password as port and path).
func TestPasswordsNeverShownInErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--smtp", "ftp://user:hunter2@mail:25"},
		{"--smtp", "smtp://user:hun ter2@mail:25"},
		{"--read-store", "mongodb://user:hun ter2@db/ispeks"},
		{"--read-store", "mongodb://user:hunter2%zz@db/ispeks"},
		{"--event-store", "esdb://admin:hunter2%@kurrent:2113"},
		{"--event-store", "postgres://admin:hunter2@db"},
		{"--nats", "nats://user:hun ter2@nats:4222"},
		{"--nats", "tls://user:hunter2@nats:4222"},
		{"--nats", "tls://hunter2token@nats:4222"},
		// url.Parse's own reasons quote the password.
		{"--read-store", "mongodb://user:hunter2/x@db/ispeks"},
		{"--event-store", "esdb://admin:hunter2/x@kurrent:2113"},
		{"--read-store", "mongodb://user:hun%zzter2@db/ispeks"},
	} {
		_, err := parse(t, args...)
		if err == nil || strings.Contains(err.Error(), "hunter") || strings.Contains(err.Error(), "ter2") || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%v: error %v", args, err)
		}
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

// FuzzResolveHidesPasswords: whatever password a store, SMTP or NATS URL
// carries, an error refusing the configuration does not show it.
func FuzzResolveHidesPasswords(f *testing.F) {
	for _, pw := range []string{"hunter2", "hunter2/x", "hun%zzter2", "p@ss#w0rd", "hun ter2"} {
		f.Add(pw)
	}
	f.Fuzz(func(t *testing.T, pw string) {
		for _, c := range []struct{ flag, before, after string }{
			{"--read-store", "mongodb://user:", "@db.example:27017/ispeks"},
			{"--event-store", "esdb://admin:", "@kurrent.example:2113?tls=false"},
			{"--smtp", "smtp://user:", "@mail.example:587"},
			{"--nats", "nats://user:", "@nats.example:4222"},
		} {
			if len(pw) < 4 || strings.Contains(c.flag+c.before+"xxxxx"+c.after+" is not a valid URL", pw) || strings.ContainsAny(pw, "\x00,") {
				continue // too short to tell apart, or the flag parser's own separator
			}
			_, err := parse(t, c.flag, c.before+pw+c.after)
			if err != nil && strings.Contains(err.Error(), pw) {
				t.Fatalf("%s with password %q: %v", c.flag, pw, err)
			}
		}
	})
}

// A list in the environment may be written with spaces after the commas.
func TestEnvironmentListsAreTrimmed(t *testing.T) {
	t.Setenv("ISPEKS_TRUSTED_PROXIES", "10.0.0.1, 10.0.0.2 ,192.168.0.0/16")
	cfg, err := parse(t)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.TrustedProxies, "|"); got != "10.0.0.1|10.0.0.2|192.168.0.0/16" {
		t.Fatalf("trusted proxies %q", got)
	}
	// The same list typed as a flag, as a person writes it.
	t.Setenv("ISPEKS_TRUSTED_PROXIES", "")
	cfg, err = parse(t, "--trusted-proxies", "10.0.0.1, 10.0.0.2", "--metrics-from", "127.0.0.1, ::1")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(append(cfg.TrustedProxies, cfg.MetricsFrom...), "|"); got != "10.0.0.1|10.0.0.2|127.0.0.1|::1" {
		t.Fatalf("flag lists %q", got)
	}
}

// TestLoggingAndTimingValues: a mistyped log level or format, a base URL
// that is not a web address, or a zero grace are refused, not silently
// replaced; the forms people use are accepted.
func TestLoggingAndTimingValues(t *testing.T) {
	cfg, err := parse(t, "--log-level", "WARN", "--log-format", "json", "--base-url", "https://ispeks.melaka.gov.my/portal/",
		"--shutdown-grace", "30s", "--read-your-writes", "500ms")
	if err != nil || cfg.LogLevel != "WARN" || cfg.BaseURL != "https://ispeks.melaka.gov.my/portal/" {
		t.Fatalf("good values: %v %+v", err, cfg)
	}
	for _, bad := range []string{"ftp://host", "https://", "/portal", "https://u:pw@host", "https://host/?a=1"} {
		if _, err := parse(t, "--base-url", bad); err == nil || !strings.Contains(err.Error(), "--base-url") {
			t.Errorf("--base-url %s: %v", bad, err)
		} else if strings.Contains(err.Error(), "pw@") {
			t.Errorf("--base-url error shows the password: %v", err)
		}
	}
	t.Setenv("ISPEKS_LOG_FORMAT", "JSON ")
	if _, err := parse(t); err == nil || !strings.Contains(err.Error(), "--log-format") {
		t.Errorf("ISPEKS_LOG_FORMAT=JSON: %v", err)
	}
}
