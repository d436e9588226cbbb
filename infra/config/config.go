// Package config reads iSPEKS configuration from flags and ISPEKS_*
// environment variables. A flag given on the command line wins over the
// environment, which wins over the default. The mode (embedded or servers)
// is chosen only by URLs here, never by code edits.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/infra/redact"
)

// Helpdesk is one helpdesk contact shown on error pages.
type Helpdesk struct {
	Name  string
	Phone string
}

// Config is the whole configuration of the binary.
type Config struct {
	DataDir         string
	Listen          string
	BaseURL         string
	EventStoreURL   string // "sqlite:" (data/events.db), "sqlite:/path.db" or "esdb://…"
	ReadStoreURL    string // "sqlite:" (data/views.db), "sqlite:/path.db" or "mongodb://…"
	MongoDatabase   string
	SMTPURL         string // "" → .eml files in data/outbox
	MailFrom        string
	MailBounce      string // "" → bounces go to MailFrom
	MailReplyTo     string // "" → no Reply-To header
	NATSURL         string // "" → no JetStream publishing
	KeyFile         string // AES-GCM/HMAC master key; created on first start
	LockThreshold   int
	EmailDomains    []string
	Helpdesk        []Helpdesk
	SecureCookies   bool
	LogLevel        string
	LogFormat       string
	ReadYourWrites  time.Duration
	ShutdownGrace   time.Duration
	LoginPerIPEvery time.Duration // one more login attempt per IP is earned this often
	LoginPerIPBurst int
	// LoginFailEvery and LoginFailBurst size the per-IP limit of wrong
	// passwords (and attempts on locked accounts): the lockout of three
	// takes only three of the attempts above, so that limit alone let one
	// address lock hundreds of accounts an hour.
	LoginFailEvery time.Duration
	LoginFailBurst int
	TrustedProxies []string
	MetricsFrom    []string // clients that may read /metrics (empty: loopback, server.DefaultMetricsFrom)
	APIRateBurst   int
	APIRateEvery   time.Duration
	APIFailBurst   int           // failed API token authentications a client IP may make at once
	APIFailEvery   time.Duration // one more is allowed this often
	EventStreams   int           // event-feed streams one API client may hold open at once
	// SlipMonths and AnnualYears are the display windows of statements:
	// slips, bonus and special aid of the last SlipMonths months (the
	// current one included), annual statements of the last AnnualYears
	// years (projections/statements Windows).
	SlipMonths  int
	AnnualYears int
	// GCPercent is the GOGC a process gets once it hashes passwords (0:
	// leave Go's, i.e. the GOGC environment variable or 100).
	GCPercent int
	// ViewCacheMB is the memory for people's payment and statement lists
	// kept between their changes (projections/viewcache); 0 keeps none.
	ViewCacheMB int
	Demo        bool

	envErrs []error // malformed ISPEKS_* values, reported by Resolve
}

// The largest display windows accepted: 50 years, as months and as years.
const (
	MaxSlipMonths  = 600
	MaxAnnualYears = 50
)

// MaxEventStreams bounds --event-streams: each stream holds a subscription
// to the log and goroutines, and a finance system needs one or two.
const MaxEventStreams = 1000

// MaxViewCacheMB bounds --view-cache-mb (64 GiB): a mistyped size should
// not promise memory no machine has.
const MaxViewCacheMB = 64 << 10

// DefaultHelpdesk is the manual's list of Pentadbir Sistem contacts.
var DefaultHelpdesk = []Helpdesk{
	{"En. Mohd Fadzlezam Bin Sulaiman", "06-2307290"},
	{"Pn. Noorazlinda binti Jumaat", "06-2307353"},
	{"Pn. Norasikin binti Salam", "06-2307594"},
	{"En. Amirudin bin Zainal", "06-2307353"},
}

// Bind declares the flags of cfg on fs with their environment variables.
// Call Resolve after the flags are parsed.
func Bind(fs *pflag.FlagSet, cfg *Config) {
	fs.StringVar(&cfg.DataDir, "data", env("ISPEKS_DATA_DIR", "data"), "data directory (event store, read models, outbox, key file) [ISPEKS_DATA_DIR]")
	fs.StringVar(&cfg.Listen, "listen", env("ISPEKS_LISTEN", "127.0.0.1:8080"), "HTTP listen address [ISPEKS_LISTEN]")
	fs.StringVar(&cfg.BaseURL, "base-url", env("ISPEKS_BASE_URL", ""), "public URL of the portal, used in e-mails and PDF verification links (default: http:// and the address serve listens on) [ISPEKS_BASE_URL]")
	fs.StringVar(&cfg.EventStoreURL, "event-store", env("ISPEKS_EVENT_STORE", "sqlite:"), "event store: sqlite: (data/events.db), sqlite:PATH or esdb://… [ISPEKS_EVENT_STORE]")
	fs.StringVar(&cfg.ReadStoreURL, "read-store", env("ISPEKS_READ_STORE", "sqlite:"), "read models: sqlite: (data/views.db), sqlite:PATH or mongodb://… [ISPEKS_READ_STORE]")
	fs.StringVar(&cfg.MongoDatabase, "mongo-database", env("ISPEKS_MONGO_DATABASE", "ispeks"), "MongoDB database name [ISPEKS_MONGO_DATABASE]")
	fs.StringVar(&cfg.SMTPURL, "smtp", env("ISPEKS_SMTP_URL", ""), "smtp://user:pass@host:587 or smtps://…:465; empty writes .eml files to data/outbox [ISPEKS_SMTP_URL]")
	fs.StringVar(&cfg.MailFrom, "mail-from", env("ISPEKS_MAIL_FROM", "iSPEKS <no-reply@ispeks.melaka.gov.my>"), "From address of e-mails [ISPEKS_MAIL_FROM]")
	fs.StringVar(&cfg.MailBounce, "mail-bounce", env("ISPEKS_MAIL_BOUNCE", ""), "envelope sender (SMTP MAIL FROM) of e-mails: the mailbox undeliverable mail is reported to (default: the --mail-from address) [ISPEKS_MAIL_BOUNCE]")
	fs.StringVar(&cfg.MailReplyTo, "mail-reply-to", env("ISPEKS_MAIL_REPLY_TO", ""), "Reply-To address of e-mails: the mailbox a reply goes to, e.g. the helpdesk's (default: none: no Reply-To header, and mail from a no-reply --mail-from says not to reply to it) [ISPEKS_MAIL_REPLY_TO]")
	fs.StringVar(&cfg.NATSURL, "nats", env("ISPEKS_NATS_URL", ""), "nats://host:4222 to publish events to NATS JetStream; empty: off [ISPEKS_NATS_URL]")
	fs.StringVar(&cfg.KeyFile, "key-file", env("ISPEKS_KEY_FILE", ""), "master key file (default data/master.key, created 0600 on a new install's first start; never made anew for a log that holds events) [ISPEKS_KEY_FILE]")
	fs.IntVar(&cfg.LockThreshold, "lock-after", envInt(cfg, "ISPEKS_LOCK_AFTER", 3), "consecutive wrong passwords that lock an account [ISPEKS_LOCK_AFTER]")
	fs.StringSliceVar(&cfg.EmailDomains, "email-domains", envList("ISPEKS_EMAIL_DOMAINS", []string{"melaka.gov.my"}), "official e-mail domains allowed [ISPEKS_EMAIL_DOMAINS]")
	fs.BoolVar(&cfg.SecureCookies, "secure-cookies", envBool(cfg, "ISPEKS_SECURE_COOKIES", false), "mark cookies Secure (set behind TLS) [ISPEKS_SECURE_COOKIES]")
	fs.StringVar(&cfg.LogLevel, "log-level", env("ISPEKS_LOG_LEVEL", "info"), "debug, info, warn or error; console commands (all but serve and projectors) log at warn unless this is given [ISPEKS_LOG_LEVEL]")
	fs.StringVar(&cfg.LogFormat, "log-format", env("ISPEKS_LOG_FORMAT", "text"), "text or json [ISPEKS_LOG_FORMAT]")
	fs.DurationVar(&cfg.ReadYourWrites, "read-your-writes", envDuration(cfg, "ISPEKS_READ_YOUR_WRITES", 2*time.Second), "how long a page waits for projections to reach the user's own action [ISPEKS_READ_YOUR_WRITES]")
	fs.DurationVar(&cfg.ShutdownGrace, "shutdown-grace", envDuration(cfg, "ISPEKS_SHUTDOWN_GRACE", 10*time.Second), "time to finish requests on SIGTERM [ISPEKS_SHUTDOWN_GRACE]")
	fs.DurationVar(&cfg.LoginPerIPEvery, "login-every", envDuration(cfg, "ISPEKS_LOGIN_EVERY", 3*time.Second), "per client IP, one more login attempt is allowed this often [ISPEKS_LOGIN_EVERY]")
	fs.IntVar(&cfg.LoginPerIPBurst, "login-burst", envInt(cfg, "ISPEKS_LOGIN_BURST", 20), "login attempts a client IP may make at once (a department may share one address) [ISPEKS_LOGIN_BURST]")
	fs.DurationVar(&cfg.LoginFailEvery, "login-fail-every", envDuration(cfg, "ISPEKS_LOGIN_FAIL_EVERY", time.Minute), "per client IP, one more wrong password is allowed this often, so one address cannot lock a department [ISPEKS_LOGIN_FAIL_EVERY]")
	fs.IntVar(&cfg.LoginFailBurst, "login-fail-burst", envInt(cfg, "ISPEKS_LOGIN_FAIL_BURST", 30), "wrong passwords a client IP may give at once; a password step in progress holds one until it succeeds [ISPEKS_LOGIN_FAIL_BURST]")
	fs.StringSliceVar(&cfg.TrustedProxies, "trusted-proxies", envList("ISPEKS_TRUSTED_PROXIES", nil), "reverse proxies (addresses or CIDRs) whose X-Forwarded-For/-Proto are believed [ISPEKS_TRUSTED_PROXIES]")
	fs.StringSliceVar(&cfg.MetricsFrom, "metrics-from", envList("ISPEKS_METRICS_FROM", nil), "addresses or CIDRs that may read /metrics, connecting directly (a request through a proxy is refused); others get 404; none given: loopback (127.0.0.0/8, ::1) [ISPEKS_METRICS_FROM]")
	fs.IntVar(&cfg.APIRateBurst, "api-burst", envInt(cfg, "ISPEKS_API_BURST", 200), "requests an API client may make at once [ISPEKS_API_BURST]")
	fs.IntVar(&cfg.GCPercent, "gc-percent", envInt(cfg, "ISPEKS_GC_PERCENT", 400), "GOGC of the process once it hashes passwords (higher trades memory for fewer collections); 0 leaves Go's [ISPEKS_GC_PERCENT]")
	fs.IntVar(&cfg.ViewCacheMB, "view-cache-mb", envInt(cfg, "ISPEKS_VIEW_CACHE_MB", 128), "MiB of memory for people's payment and statement lists, kept until the next change to them (128 holds about 30,000 people's); 0 reads every list from the read store [ISPEKS_VIEW_CACHE_MB]")
	fs.IntVar(&cfg.SlipMonths, "slip-months", envInt(cfg, "ISPEKS_SLIP_MONTHS", 18), "months of pay slips (monthly, weekly, part-time), bonus and special aid statements shown, the current month included [ISPEKS_SLIP_MONTHS]")
	fs.IntVar(&cfg.AnnualYears, "annual-years", envInt(cfg, "ISPEKS_ANNUAL_YEARS", 7), "years of annual statements (Borang EC) shown before the current year [ISPEKS_ANNUAL_YEARS]")
	fs.DurationVar(&cfg.APIRateEvery, "api-every", envDuration(cfg, "ISPEKS_API_EVERY", 5*time.Millisecond), "an API client earns one more request this often [ISPEKS_API_EVERY]")
	fs.IntVar(&cfg.EventStreams, "event-streams", envInt(cfg, "ISPEKS_EVENT_STREAMS", 4), "event-feed streams (/api/v1/events) one API client may hold open at once; one more gets 429 [ISPEKS_EVENT_STREAMS]")
	fs.IntVar(&cfg.APIFailBurst, "api-fail-burst", envInt(cfg, "ISPEKS_API_FAIL_BURST", 20), "failed API token authentications (bad, unknown or revoked token) a client IP may make at once; past them its requests get 429 without the token being looked up [ISPEKS_API_FAIL_BURST]")
	fs.DurationVar(&cfg.APIFailEvery, "api-fail-every", envDuration(cfg, "ISPEKS_API_FAIL_EVERY", 3*time.Second), "per client IP, one more failed API token authentication is allowed this often [ISPEKS_API_FAIL_EVERY]")
}

// Resolve fills derived values and checks the configuration. Every error
// names the flag and the reason.
func (c *Config) Resolve() error {
	errs := append([]error(nil), c.envErrs...)
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data: must not be empty"))
	}
	if c.KeyFile == "" {
		c.KeyFile = filepath.Join(c.DataDir, "master.key")
	}
	if _, _, err := c.EventStore(); err != nil {
		errs = append(errs, err)
	}
	if _, _, err := c.ReadStore(); err != nil {
		errs = append(errs, err)
	}
	for _, l := range []struct {
		flag string
		list []string
	}{{"--trusted-proxies", c.TrustedProxies}, {"--metrics-from", c.MetricsFrom}} {
		for i, v := range l.list {
			// Trimmed in place: Gin, which reads the trusted proxies too,
			// refuses " 10.0.0.2" from "--trusted-proxies '10.0.0.1, 10.0.0.2'".
			l.list[i] = strings.TrimSpace(v)
			if !addressOrCIDR(l.list[i]) {
				errs = append(errs, fmt.Errorf("%s: %q is not an IP address or CIDR", l.flag, v))
			}
		}
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(c.LogLevel)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level: %q is not debug, info, warn or error", c.LogLevel))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format: %q is not text or json", c.LogFormat))
	}
	if c.BaseURL != "" {
		// It is put in e-mails and PDF verification links: a relative or
		// non-web address would send staff nowhere.
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			errs = append(errs, fmt.Errorf("--base-url: %q is not http(s)://host[:port][/path]", redact.URL(c.BaseURL)))
		}
	}
	// Zero would cut off every request in flight at shutdown (and the
	// engine reads a zero wait as its own default): both must be positive.
	if c.ShutdownGrace <= 0 {
		errs = append(errs, fmt.Errorf("--shutdown-grace: %s must be positive", c.ShutdownGrace))
	}
	if c.ReadYourWrites <= 0 {
		errs = append(errs, fmt.Errorf("--read-your-writes: %s must be positive", c.ReadYourWrites))
	}
	if c.SMTPURL != "" {
		u, err := url.Parse(c.SMTPURL)
		if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--smtp: %q is not smtp://host:port or smtps://host:port", redact.URL(c.SMTPURL)))
		}
	}
	if c.NATSURL != "" {
		u, err := url.Parse(c.NATSURL)
		if err != nil || u.Scheme != "nats" || u.Host == "" {
			errs = append(errs, fmt.Errorf("--nats: %q is not nats://host:port", redact.URL(c.NATSURL)))
		}
	}
	if c.LockThreshold < 1 || c.LockThreshold > 20 {
		errs = append(errs, fmt.Errorf("--lock-after: %d is outside 1..20", c.LockThreshold))
	}
	if len(c.EmailDomains) == 0 {
		errs = append(errs, errors.New("--email-domains: at least one domain is needed"))
	}
	for i, d := range c.EmailDomains {
		c.EmailDomains[i] = strings.ToLower(strings.TrimSpace(d))
		// "@melaka.gov.my", ".melaka.gov.my" or an empty entry (a
		// trailing comma) would match no address: every registration
		// refused.
		if !employee.ValidDomain(c.EmailDomains[i]) {
			errs = append(errs, fmt.Errorf("--email-domains: %q is not a domain such as melaka.gov.my (no @, no leading or trailing dot, no empty entry)", d))
		}
	}
	if c.LoginPerIPEvery <= 0 || c.LoginPerIPBurst < 1 {
		errs = append(errs, errors.New("--login-every and --login-burst: must be positive"))
	}
	if c.LoginFailEvery <= 0 || c.LoginFailBurst < 1 {
		errs = append(errs, errors.New("--login-fail-every and --login-fail-burst: must be positive"))
	}
	if c.GCPercent < 0 || (c.GCPercent > 0 && c.GCPercent < 25) || c.GCPercent > 10000 {
		errs = append(errs, fmt.Errorf("--gc-percent: %d is outside 25..10000 (or 0)", c.GCPercent))
	}
	if c.APIRateEvery <= 0 || c.APIRateBurst < 1 {
		errs = append(errs, errors.New("--api-every and --api-burst: must be positive"))
	}
	if c.EventStreams < 1 || c.EventStreams > MaxEventStreams {
		errs = append(errs, fmt.Errorf("--event-streams: %d is outside 1..%d", c.EventStreams, MaxEventStreams))
	}
	if c.APIFailEvery <= 0 || c.APIFailBurst < 1 {
		errs = append(errs, errors.New("--api-fail-every and --api-fail-burst: must be positive"))
	}
	// A window of 0 would hide every document; the upper bounds catch a
	// unit mistake (days or years typed as months) and keep the window's
	// first date a real one.
	if c.ViewCacheMB < 0 || c.ViewCacheMB > MaxViewCacheMB {
		errs = append(errs, fmt.Errorf("--view-cache-mb: %d is outside 0..%d", c.ViewCacheMB, MaxViewCacheMB))
	}
	if c.SlipMonths < 1 || c.SlipMonths > MaxSlipMonths {
		errs = append(errs, fmt.Errorf("--slip-months: %d is outside 1..%d", c.SlipMonths, MaxSlipMonths))
	}
	if c.AnnualYears < 1 || c.AnnualYears > MaxAnnualYears {
		errs = append(errs, fmt.Errorf("--annual-years: %d is outside 1..%d", c.AnnualYears, MaxAnnualYears))
	}
	if len(c.Helpdesk) == 0 {
		c.Helpdesk = DefaultHelpdesk
		if v := os.Getenv("ISPEKS_HELPDESK"); v != "" {
			hd, err := ParseHelpdesk(v)
			if err != nil {
				errs = append(errs, err)
			} else {
				c.Helpdesk = hd
			}
		}
	}
	return errors.Join(errs...)
}

// Store kinds returned by EventStore and ReadStore.
const (
	KindSQLite  = "sqlite"
	KindKurrent = "esdb"
	KindMongo   = "mongodb"
)

// EventStore returns the kind and the path or URL of the event store.
func (c *Config) EventStore() (kind, target string, err error) {
	return storeURL("--event-store", c.EventStoreURL, filepath.Join(c.DataDir, "events.db"), KindKurrent)
}

// ReadStore returns the kind and the path or URL of the read store.
func (c *Config) ReadStore() (kind, target string, err error) {
	return storeURL("--read-store", c.ReadStoreURL, filepath.Join(c.DataDir, "views.db"), KindMongo)
}

func storeURL(flag, raw, defaultPath, serverKind string) (string, string, error) {
	switch {
	case raw == "sqlite:" || raw == "":
		return KindSQLite, defaultPath, nil
	case strings.HasPrefix(raw, "sqlite:"):
		return KindSQLite, strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite:"), "//"), nil
	case strings.HasPrefix(raw, serverKind+"://") || (serverKind == KindKurrent && strings.HasPrefix(raw, "esdb+discover://")) ||
		(serverKind == KindMongo && strings.HasPrefix(raw, "mongodb+srv://")):
		if _, err := url.Parse(raw); err != nil {
			// Not url.Parse's reason: it quotes the part it refused, which
			// is often the password ("invalid port \":hunter2\"").
			return "", "", fmt.Errorf("%s: %q is not a valid URL (a %% or a character such as ':', '/', '#', '@' or a space in the user name or password must be percent-encoded)", flag, redact.URL(raw))
		}
		return serverKind, raw, nil
	default:
		return "", "", fmt.Errorf("%s: %q: want sqlite:, sqlite:PATH or %s://…", flag, redact.URL(raw), serverKind)
	}
}

// ParseHelpdesk reads "Name=06-1234567;Name 2=06-7654321".
func ParseHelpdesk(s string) ([]Helpdesk, error) {
	var out []Helpdesk
	for _, part := range strings.Split(s, ";") {
		name, phone, ok := strings.Cut(part, "=")
		name, phone = strings.TrimSpace(name), strings.TrimSpace(phone)
		if !ok || name == "" || phone == "" {
			return nil, fmt.Errorf("ISPEKS_HELPDESK: %q is not Name=phone", part)
		}
		out = append(out, Helpdesk{Name: name, Phone: phone})
	}
	return out, nil
}

func addressOrCIDR(s string) bool {
	if strings.Contains(s, "/") {
		_, err := netip.ParsePrefix(s)
		return err == nil
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

func envInt(c *Config, key string, def int) int {
	return parseEnv(c, key, def, "int", strconv.Atoi)
}

func envBool(c *Config, key string, def bool) bool {
	return parseEnv(c, key, def, "bool", strconv.ParseBool)
}

func envDuration(c *Config, key string, def time.Duration) time.Duration {
	return parseEnv(c, key, def, "duration", time.ParseDuration)
}

// ValueKind says in words what a value of a flag type (pflag's Value.Type:
// "int", "bool", "duration") must be, for an error that names the value
// and not the parser ("strconv.Atoi: parsing …"); "" for another type.
func ValueKind(flagType string) string {
	switch flagType {
	case "int":
		return "a whole number"
	case "bool":
		return "true or false"
	case "duration":
		return "a duration such as 500ms, 2s or 1m30s"
	}
	return ""
}

// parseEnv reads a typed variable; a malformed value is an error, not a
// silent fall-back to the default.
func parseEnv[T any](c *Config, key string, def T, kind string, parse func(string) (T, error)) T {
	raw, ok := os.LookupEnv(key)
	if !ok || raw == "" {
		return def
	}
	v, err := parse(raw)
	if err != nil {
		c.envErrs = append(c.envErrs, fmt.Errorf("%s: %q is not %s", key, raw, ValueKind(kind)))
		return def
	}
	return v
}

func envList(key string, def []string) []string {
	if v := os.Getenv(key); v != "" {
		parts := strings.Split(v, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i]) // "a, b" as a person writes it
		}
		return parts
	}
	return def
}
