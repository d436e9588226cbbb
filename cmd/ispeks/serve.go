package main

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/config"
	"github.com/melaka-gov/ispeks/infra/demo"
)

func (c *cli) serveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:         "serve",
		Short:       "Run the portal: web pages, JSON API, projectors and e-mail",
		Args:        noArgs,
		Annotations: map[string]string{untilStopped: "yes"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.serve(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&c.cfg.Demo, "demo", false, "load demo staff, payments and statements, and show the demo mailbox at /demo/mailbox (in a data directory of its own: a log a real install wrote is refused)")
	return cmd
}

func (c *cli) serve(ctx context.Context) error {
	// The demo's staff are made up but their addresses are at the state's
	// real domain, and anyone who opens the demo may register them: their
	// mail belongs in the outbox /demo/mailbox shows, never on a relay.
	if c.cfg.Demo && c.cfg.SMTPURL != "" {
		return errors.New("--demo: its mail goes to the outbox that /demo/mailbox shows; --smtp (or ISPEKS_SMTP_URL) would send the demo staff's temporary passwords to real @melaka.gov.my mailboxes: unset it for the demo")
	}
	if err := checkMailBaseURL(&c.cfg); err != nil {
		return err
	}
	if err := checkProxiedBaseURL(&c.cfg); err != nil {
		return err
	}
	if _, err := parseMailAddresses(&c.cfg); err != nil {
		return err
	}
	if err := checkSMTPURL(&c.cfg); err != nil {
		return err
	}
	// The address is tried before the stores are opened: a port in use (a
	// portal already running) or a mistyped --listen must not first make a
	// new install, or load the demo into one, and then fail.
	if err := checkListen(c.cfg.Listen); err != nil {
		return err
	}
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a, err := c.openApp(ctx, metrics)
	if err != nil {
		return err
	}
	defer a.Close()
	// Tuned for password hashing from the first request, not from the
	// first login: the pages then behave the same before and after it.
	a.hasher.ApplyTuning()
	if c.cfg.Demo {
		if err := demoLogOnly(ctx, a.events); err != nil {
			return err
		}
		// Load logs what it loaded; a second start appends nothing.
		if _, err := demo.Load(ctx, demo.Deps{Runner: a.runner, Logger: c.log}); err != nil {
			return fmt.Errorf("--demo: %w", err)
		}
	}

	ln, err := listen(c.cfg.Listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	if c.cfg.BaseURL == "" {
		c.cfg.BaseURL = baseURLOf(ln.Addr())
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(runCtx)
	// Built on the group's context: when a projector or a consumer fails,
	// the open event streams end with the server's shutdown, rather than
	// hold it for its whole grace.
	handler, err := a.httpHandler(gctx)
	if err != nil {
		return err
	}
	c.log.Info("iSPEKS portal listening", "addr", "http://"+ln.Addr().String(), "demo", c.cfg.Demo)

	g.Go(func() error { return a.engine.Run(gctx) })
	if err := a.runSessionEnder(gctx, g, handler); err != nil {
		cancel()
		_ = g.Wait()
		return err
	}
	if err := a.runConsumers(gctx, g); err != nil {
		cancel()
		_ = g.Wait()
		return err
	}
	serveHTTP(gctx, g, ln, handler, c.cfg.ShutdownGrace)
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	c.log.Info("iSPEKS portal stopped")
	return err
}

// demoLogOnly refuses --demo on a log that a real install wrote: one whose
// first event is not the demo's. Demo staff, payments and statements would
// join its records for good (the log is append-only), and /demo/mailbox
// would show anyone the mail in its outbox, temporary passwords included.
// An empty log, or one the demo started, is fine (a restart loads nothing
// new).
func demoLogOnly(ctx context.Context, events interface {
	ReadAll(ctx context.Context, after uint64, limit int) ([]eventlog.Record, error)
}) error {
	first, err := events.ReadAll(ctx, 0, 1)
	if err != nil {
		return fmt.Errorf("--demo: %w", err)
	}
	if len(first) > 0 && first[0].Metadata.Actor != demo.Actor {
		return errors.New("--demo: this data directory's event log holds an install's own records (its first event is not the demo's): demo data would join them for good and /demo/mailbox would show its mail; give the demo a data directory of its own")
	}
	return nil
}

// checkProxiedBaseURL refuses a portal behind proxies (--trusted-proxies)
// without --base-url: the address it listens on is then not where anyone
// reaches it, and every PDF would print a verification link to it (and
// every mail link to it, SMTP or outbox).
func checkProxiedBaseURL(cfg *config.Config) error {
	if len(cfg.TrustedProxies) == 0 || cfg.BaseURL != "" {
		return nil
	}
	return fmt.Errorf("--base-url: not set, and behind the proxies --trusted-proxies names the listen address %s is not where staff reach the portal: the verification link printed on every PDF, and the links in mails, would lead there; give the portal's public URL (--base-url or ISPEKS_BASE_URL)", cfg.Listen)
}

// baseURLOf is the portal's address when --base-url is not given: the one it
// really listens on (port 0 picks a free port), with "localhost" for a
// wildcard host, which no browser can open.
func baseURLOf(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// listen opens the portal's listener, its error naming --listen.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--listen %s: %w", addr, err)
	}
	return ln, nil
}

// checkListen tries the address serve will listen on and lets it go again
// (held from the start, it would take connections that wait unanswered
// while the read models are rebuilt).
func checkListen(addr string) error {
	ln, err := listen(addr)
	if err != nil {
		return err
	}
	return ln.Close()
}
