package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"

	"golang.org/x/sync/errgroup"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/http/server"
	"github.com/melaka-gov/ispeks/http/web"
	"github.com/melaka-gov/ispeks/infra/config"
	"github.com/melaka-gov/ispeks/infra/downstream"
	"github.com/melaka-gov/ispeks/infra/mail"
	"github.com/melaka-gov/ispeks/infra/redact"
)

func (a *app) outboxDir() string { return filepath.Join(a.cli.cfg.DataDir, "outbox") }

// runConsumers runs the side-effect consumers (e-mail, the e-mail and name
// followers, and NATS publishing when configured) until ctx ends. Each
// resumes from its own checkpoint, so a rebuild sends nothing again. The
// mailer's (and the followers') first position is recorded when the data directory is set up
// (openApp), so mail of a command run before the first serve goes out; NATS
// publishing starts at the log head on its first run (subscribers read older
// events from the HTTP feed).
func (a *app) runConsumers(ctx context.Context, g *errgroup.Group) error {
	cfg := &a.cli.cfg
	mailer, err := a.newMailer()
	if err != nil {
		return err
	}
	g.Go(func() error { return a.engine.RunConsumer(ctx, mail.ConsumerName, mailer.Handle, mailer.Handles()...) })
	// An account's e-mail follows the employee master's (the Lupa Kata
	// Laluan mail must reach the mailbox HR now names): a durable consumer
	// like the mailer, so a change imported while no portal ran is
	// followed at the next start.
	follower := commands.EmailFollower{Follow: a.accounts.FollowMasterEmail, FollowName: &a.accounts.FollowMasterName, Log: a.cli.log}
	g.Go(func() error {
		return a.engine.RunConsumer(ctx, commands.EmailFollowerName, follower.Handle, follower.Handles()...)
	})
	// Its name likewise: every mail greets the person by the account's
	// copy of the master's name, which must follow HR's corrections.
	names := commands.NameFollower{Follow: a.accounts.FollowMasterName, Log: a.cli.log}
	g.Go(func() error {
		return a.engine.RunConsumer(ctx, commands.NameFollowerName, names.Handle, names.Handles()...)
	})

	if cfg.NATSURL != "" {
		pub, err := downstream.NewNATS(ctx, downstream.NATSConfig{URL: cfg.NATSURL})
		if err != nil {
			return fmt.Errorf("--nats %s: %w", redact.URL(cfg.NATSURL), err)
		}
		a.closers = append(a.closers, pub.Close)
		g.Go(func() error { return a.engine.RunRawConsumer(ctx, downstream.ConsumerName, pub.Handle) })
	}
	return nil
}

// checkMailBaseURL refuses to send mail through --smtp when the link in it
// would be derived (no --base-url) from a loopback or wildcard listen
// address: behind a proxy that is http://127.0.0.1:… or http://localhost:…,
// which only the server itself opens, in every mail to every staff member.
func checkMailBaseURL(cfg *config.Config) error {
	if cfg.SMTPURL == "" || cfg.BaseURL != "" {
		return nil
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil // --listen's own check names it
	}
	ip := net.ParseIP(host)
	if host == "" || host == "localhost" || ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		return fmt.Errorf("--base-url: not set, so the mails --smtp sends would link staff to the listen address %s, which only this machine opens: give the portal's public URL (--base-url or ISPEKS_BASE_URL)", cfg.Listen)
	}
	return nil
}

// mailAddresses are the addresses the portal's mail carries.
type mailAddresses struct {
	From, ReplyTo, Bounce mail.Address
}

// parseMailAddresses parses the mail addresses of the configuration, each
// error naming its flag. serve checks them before it opens the stores: a
// start that fails after them leaves a new install made (and may leave a
// projector's layout claim that holds up the next start).
func parseMailAddresses(cfg *config.Config) (mailAddresses, error) {
	var a mailAddresses
	var err error
	if a.From, err = mail.ParseAddress(cfg.MailFrom); err != nil {
		return mailAddresses{}, fmt.Errorf("--mail-from: %w", err)
	}
	// A reply to a no-reply From is lost; with a Reply-To (the helpdesk's
	// mailbox) a reader alarmed by a security notice reaches someone.
	if cfg.MailReplyTo != "" {
		if a.ReplyTo, err = mail.ParseAddress(cfg.MailReplyTo); err != nil {
			return mailAddresses{}, fmt.Errorf("--mail-reply-to: %w", err)
		}
	}
	// Undeliverable mail is reported to the envelope sender; left to
	// --mail-from, usually a no-reply mailbox, nobody would read it.
	if cfg.MailBounce != "" {
		if a.Bounce, err = mail.ParseAddress(cfg.MailBounce); err != nil {
			return mailAddresses{}, fmt.Errorf("--mail-bounce: %w", err)
		}
	}
	return a, nil
}

// checkSMTPURL parses --smtp as the mailer will: serve checks it before it
// opens the stores, so a mistyped relay does not first make a new install
// and log "listening", then fail.
func checkSMTPURL(cfg *config.Config) error {
	if cfg.SMTPURL == "" {
		return nil
	}
	if _, err := mail.ParseSMTPURL(cfg.SMTPURL); err != nil {
		return fmt.Errorf("--smtp %s: %w", redact.URL(cfg.SMTPURL), err)
	}
	return nil
}

// newMailer builds the mailer from the configuration: the transport (SMTP,
// or the outbox), the composer and the sealer that opens temporary
// passwords. `ispeks mail resend` builds the same one, so a parked mail is
// sent again exactly as the portal would have sent it.
func (a *app) newMailer() (*mail.Consumer, error) {
	cfg := &a.cli.cfg
	sender, err := mail.NewSender(cfg.SMTPURL, a.outboxDir(), nil)
	if err != nil {
		return nil, fmt.Errorf("--smtp %s: %w", redact.URL(cfg.SMTPURL), err)
	}
	addrs, err := parseMailAddresses(cfg)
	if err != nil {
		return nil, err
	}
	helpdesk := make([]mail.Contact, len(cfg.Helpdesk))
	for i, h := range cfg.Helpdesk {
		helpdesk[i] = mail.Contact{Name: h.Name, Phone: h.Phone}
	}
	return &mail.Consumer{
		Sender:   sender,
		Composer: mail.Composer{From: addrs.From, ReplyTo: addrs.ReplyTo, Bounce: addrs.Bounce.Email, PortalURL: cfg.BaseURL, Helpdesk: helpdesk},
		Open:     a.sealer.Open,
		Log:      a.cli.log,
		// A temporary password that expired, was replaced or whose
		// address the account left while the mail waited is not sent,
		// as `ispeks mail resend` refuses it.
		TempPasswordWorks: a.accounts.TempPasswordMail.Check,
	}, nil
}

// runSessionEnder ends this process's sessions that an account event ended,
// whichever process recorded it (the console's `admin role --remove`, the
// unlock and reset commands, another portal instance). A follower, not a
// consumer: the sessions are in this process's memory, so each serving
// process must see every event from its own start, with no checkpoint
// shared through the read store.
// It starts at the log head as it is before the portal serves a request, so
// no session can miss an event recorded after it began.
func (a *app) runSessionEnder(ctx context.Context, g *errgroup.Group, srv *server.Server) error {
	head, err := a.events.LastPosition(ctx)
	if err != nil {
		return fmt.Errorf("session follower: %w", err)
	}
	ender := web.SessionEnder{Sessions: srv.Sessions}
	g.Go(func() error {
		return a.engine.RunFollower(ctx, web.SessionEnderName, head, ender.Handle, ender.Handles()...)
	})
	return nil
}
