package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTPConfig is a parsed SMTP URL.
//
//	smtp://user:pass@host:587            STARTTLS, required because there are credentials
//	smtp://host:25                       STARTTLS when the server offers it
//	smtp://host:25?starttls=required     refuse a server without STARTTLS
//	smtps://user:pass@host:465           implicit TLS
//
// Query parameters: starttls=required|opportunistic|off (smtp:// only),
// auth=auto|plain|login (default auto: the strongest mechanism offered),
// timeout=DURATION (default DefaultSMTPTimeout: the whole exchange of one
// mail, dial to QUIT), helo=NAME.
type SMTPConfig struct {
	Host     string
	Port     int
	Implicit bool // smtps://
	StartTLS string
	Username string
	Password string
	Auth     string
	Timeout  time.Duration
	HELO     string
}

// ParseSMTPURL parses and checks an smtp:// or smtps:// URL. Errors name the
// part of the URL that is wrong and never echo the password.
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return SMTPConfig{}, errors.New("mail: smtp url: not a URL")
	}
	var c SMTPConfig
	switch u.Scheme {
	case "smtp":
		c.Port = gomail.DefaultPortTLS
	case "smtps":
		c.Implicit = true
		c.Port = gomail.DefaultPortSSL
	default:
		return SMTPConfig{}, fmt.Errorf("mail: smtp url: scheme %q: want smtp or smtps", u.Scheme)
	}
	c.Host = u.Hostname()
	if c.Host == "" {
		return SMTPConfig{}, errors.New("mail: smtp url: host missing")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return SMTPConfig{}, fmt.Errorf("mail: smtp url: port %q: want 1-65535", p)
		}
		c.Port = n
	}
	if u.Path != "" && u.Path != "/" {
		return SMTPConfig{}, errors.New("mail: smtp url: path not allowed")
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
		if c.Username == "" {
			return SMTPConfig{}, errors.New("mail: smtp url: user name empty")
		}
	}
	q := u.Query()
	var unknown []string
	for k := range q {
		switch k {
		case "starttls", "auth", "timeout", "helo":
		default:
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return SMTPConfig{}, fmt.Errorf("mail: smtp url: unknown parameter(s) %s", strings.Join(unknown, ", "))
	}
	c.StartTLS = q.Get("starttls")
	switch {
	case c.Implicit && c.StartTLS != "":
		return SMTPConfig{}, errors.New("mail: smtp url: starttls: not used with smtps (TLS from the start)")
	case c.Implicit:
	case c.StartTLS == "" && c.Username != "":
		// Credentials never travel in clear.
		c.StartTLS = "required"
	case c.StartTLS == "":
		c.StartTLS = "opportunistic"
	case c.StartTLS == "required", c.StartTLS == "opportunistic":
	case c.StartTLS == "off":
		if c.Username != "" {
			return SMTPConfig{}, errors.New("mail: smtp url: starttls=off with a user name would send the password in clear; use STARTTLS or smtps")
		}
	default:
		return SMTPConfig{}, fmt.Errorf("mail: smtp url: starttls %q: want required, opportunistic or off", c.StartTLS)
	}
	if c.StartTLS == "opportunistic" && c.Username != "" {
		return SMTPConfig{}, errors.New("mail: smtp url: starttls=opportunistic with a user name could send the password in clear; use required")
	}
	c.Auth = q.Get("auth")
	switch c.Auth {
	case "":
		c.Auth = "auto"
	case "auto", "plain", "login":
	default:
		return SMTPConfig{}, fmt.Errorf("mail: smtp url: auth %q: want auto, plain or login", c.Auth)
	}
	c.Timeout = DefaultSMTPTimeout
	if t := q.Get("timeout"); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 {
			return SMTPConfig{}, fmt.Errorf("mail: smtp url: timeout %q: want a positive duration such as 30s", t)
		}
		c.Timeout = d
	}
	c.HELO = q.Get("helo")
	return c, nil
}

// DefaultSMTPTimeout bounds one mail's whole exchange with the server. It
// is well below the mailer's lease (engine.Config.ConsumerLease, 30s): a
// send the server holds up is abandoned and retried by the process that
// holds the lease, instead of running on while another process may take
// the lease over and send the same mail again.
const DefaultSMTPTimeout = 15 * time.Second

// Redacted is the URL for logs: no password.
func (c SMTPConfig) Redacted() string {
	scheme := "smtp"
	if c.Implicit {
		scheme = "smtps"
	}
	user := ""
	if c.Username != "" {
		user = c.Username + ":xxxxx@"
	}
	return fmt.Sprintf("%s://%s%s:%d", scheme, user, c.Host, c.Port)
}

// SMTPSender sends through an SMTP server, one connection per message (the
// portal sends a few mails a minute; a fresh connection cannot go stale).
type SMTPSender struct {
	cfg SMTPConfig
	tls *tls.Config
}

// NewSMTPSender returns a sender for the URL. tlsConfig may be nil (system
// roots, server name from the URL); tests pass one trusting their own CA.
func NewSMTPSender(rawURL string, tlsConfig *tls.Config) (*SMTPSender, error) {
	cfg, err := ParseSMTPURL(rawURL)
	if err != nil {
		return nil, err
	}
	var tc *tls.Config
	if tlsConfig != nil {
		tc = tlsConfig.Clone()
	} else {
		tc = &tls.Config{}
	}
	if tc.ServerName == "" {
		tc.ServerName = cfg.Host
	}
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	return &SMTPSender{cfg: cfg, tls: tc}, nil
}

// Config returns the parsed configuration (for a redacted start-up log).
func (s *SMTPSender) Config() SMTPConfig { return s.cfg }

func (s *SMTPSender) client(dial gomail.DialContextFunc) (*gomail.Client, error) {
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		// Send bounds the whole exchange by the timeout; go-mail's own,
		// step by step, is only a backstop that must not end it first
		// (its error would not say the send was abandoned).
		gomail.WithTimeout(2 * s.cfg.Timeout),
		gomail.WithTLSConfig(s.tls),
		gomail.WithDialContextFunc(dial),
	}
	if s.cfg.Implicit {
		opts = append(opts, gomail.WithSSL())
	} else {
		switch s.cfg.StartTLS {
		case "required":
			opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
		case "opportunistic":
			opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
		default:
			opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		}
	}
	if s.cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(s.cfg.HELO))
	}
	if s.cfg.Username != "" {
		switch {
		case s.cfg.Auth == "plain":
			opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain))
		case s.cfg.Auth == "login":
			opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthLogin))
		case s.cfg.Implicit:
			// go-mail counts a connection as encrypted from the start only
			// when it dialled it itself; over the one dial hands it, its
			// auto discovery would leave out PLAIN and LOGIN. Its own order
			// for an encrypted connection:
			opts = append(opts, gomail.WithOpportunisticSMTPAuth(
				gomail.SMTPAuthSCRAMSHA256PLUS, gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1PLUS, gomail.SMTPAuthSCRAMSHA1,
				gomail.SMTPAuthNTLM, gomail.SMTPAuthCramMD5, gomail.SMTPAuthPlain, gomail.SMTPAuthLogin))
		default:
			opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover))
		}
		opts = append(opts, gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	return gomail.NewClient(s.cfg.Host, opts...)
}

// Send delivers m. A permanent refusal of the recipient or the content
// (5xx at RCPT or DATA) is wrapped in ErrRejected; a temporary refusal of
// them (4xx there: a full mailbox, greylisting) in ErrDeferred; anything
// else (server down, 421, TLS or auth trouble the operator can fix) is a
// server-wide failure, worth retrying as it is. Errors carry no e-mail
// address: go-mail's names the recipients, and servers often echo them.
//
// The whole exchange ends when ctx does (the mailer lost its lease, or the
// process stops) or after the configured timeout, whichever comes first:
// the connection is closed, the send fails and the mail is retried later,
// by whichever process then holds the lease. A send left running would
// deliver the mail a second time if the server answered it in the end.
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	g, err := build(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, s.cfg.Timeout,
		fmt.Errorf("%w: no end within timeout=%s", context.DeadlineExceeded, s.cfg.Timeout))
	defer cancel()
	conn := &sendConn{}
	defer conn.close()
	defer context.AfterFunc(ctx, conn.close)()
	c, err := s.client(conn.dial(s.tls, s.cfg.Implicit))
	if err != nil {
		return fmt.Errorf("mail: smtp client: %s", redactAddresses(err.Error()))
	}
	if err := c.DialAndSendWithContext(ctx, g); err != nil {
		if g.IsDelivered() {
			// The server accepted the DATA; only the goodbye (RSET/QUIT)
			// failed. Sending again would deliver twice.
			return nil
		}
		text := redactAddresses(err.Error())
		switch recipientRefusal(err) {
		case refusedForGood:
			return fmt.Errorf("%w: %s", ErrRejected, text)
		case refusedForNow:
			return fmt.Errorf("%w: %s", ErrDeferred, text)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("mail: smtp send to %s:%d: abandoned: %w (%s)", s.cfg.Host, s.cfg.Port, context.Cause(ctx), text)
		}
		return fmt.Errorf("mail: smtp send to %s:%d: %s", s.cfg.Host, s.cfg.Port, text)
	}
	return nil
}

// sendConn is the connection of one send. Closing it is the only way to
// stop go-mail mid-exchange: it heeds a context only while it dials, and
// its timeout only step by step; and it leaves the connection open when a
// step fails (its QUIT then fails too), for a late answer to the DATA to
// deliver the mail after all.
type sendConn struct {
	mu     sync.Mutex
	conn   net.Conn
	closed bool
}

// dial connects, and for smtps shakes hands TLS, unless the send has
// already ended.
func (sc *sendConn) dial(tlsConfig *tls.Config, implicit bool) gomail.DialContextFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		raw, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		sc.mu.Lock()
		closed := sc.closed
		if !closed {
			sc.conn = raw
		}
		sc.mu.Unlock()
		if closed {
			_ = raw.Close()
			return nil, net.ErrClosed
		}
		if !implicit {
			return raw, nil
		}
		tc := tls.Client(raw, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, err
		}
		return tc, nil
	}
}

func (sc *sendConn) close() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.closed {
		return
	}
	sc.closed = true
	if sc.conn != nil {
		_ = sc.conn.Close()
	}
}

type refusal int

const (
	notRefused refusal = iota
	refusedForGood
	refusedForNow
)

// recipientRefusal tells a refusal of this one mail (its recipient or its
// content) from a failure of the whole server. Only the answers to RCPT
// and DATA concern the mail; among them 421 (service closing) and 4.3.x
// (mail system full or down) are the server's own trouble and would fail
// every mail alike.
//
// A permanent refusal whose enhanced code is about the server rather than
// the address or the message (serverSideRefusal: "550 5.7.1 Relaying
// denied" once the relay no longer knows the portal) is taken as refused
// for now: parked at once, it would park every mail the portal sends until
// an operator resent them all; held, the mail goes out by itself once the
// relay is put right, and a mailbox that really refuses the portal is
// parked after the consumer's DeferFor, as a full one is.
func recipientRefusal(err error) refusal {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return notRefused
	}
	switch se.Reason {
	case gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
	default:
		return notRefused
	}
	code := se.ErrorCode()
	switch {
	case code >= 500 && code < 600 && !se.IsTemp() && serverSideRefusal(se.EnhancedStatusCode()):
		return refusedForNow
	case code >= 500 && code < 600 && !se.IsTemp():
		return refusedForGood
	case code == 421 || strings.HasPrefix(se.EnhancedStatusCode(), "4.3."):
		return notRefused
	case code >= 400 && code < 500:
		return refusedForNow
	}
	return notRefused
}

// serverSideRefusal reports whether an enhanced status code (RFC 3463)
// says the refusal comes from the server's policy or state, which every
// mail would meet alike, rather than from this address (5.1.x, 5.2.x) or
// this message (5.6.x, 5.3.4 too big): security or policy (5.7.x), mail
// system (5.3.x), protocol (5.5.x). Without an enhanced code nothing can
// be told, and the refusal stands.
func serverSideRefusal(enhanced string) bool {
	switch {
	case enhanced == "5.3.4":
		return false
	case strings.HasPrefix(enhanced, "5.7."), strings.HasPrefix(enhanced, "5.3."), strings.HasPrefix(enhanced, "5.5."):
		return true
	}
	return false
}

// addressLike matches anything shaped like an e-mail address (the
// recipient, also as a server echoes it in its answer).
var addressLike = regexp.MustCompile(`[^\s<>@"',;:()\[\]]+@[^\s<>"',;:()\[\]]+`)

// redactAddresses replaces e-mail addresses in an error text, so the text
// can go into logs and dead letters.
func redactAddresses(s string) string {
	return addressLike.ReplaceAllString(s, "[address]")
}
