package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/infra/mail"
	"github.com/melaka-gov/ispeks/infra/redact"
)

// mailCmd is the operator's side of the mail the mailer parked (a recipient
// refused it for longer than the mailer waits, or for good, or it could not
// be composed): list it, and send it again once the cause is fixed. See
// mail.Resender for why the console sends it itself, and why that is safe
// while the portal runs.
func (c *cli) mailCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "mail", Short: "Mail the mailer parked: list it, send it again once the cause is fixed"}
	cmd.AddCommand(&cobra.Command{
		Use:   "parked",
		Short: "List the parked mails: position, kind, person (masked), when and why parked",
		Args:  noArgs,
		RunE: c.withExistingApp(func(cmd *cobra.Command, _ []string, a *app) error {
			rs, _, err := a.resender()
			if err != nil {
				return err
			}
			list, err := rs.Parked(cmd.Context())
			if err != nil {
				return err
			}
			return printParked(cmd.OutOrStdout(), list)
		}),
	})
	var all, toOutbox bool
	resend := &cobra.Command{
		Use:   "resend POSITION… | --all",
		Short: "Send parked mails again through the configured transport (--smtp, or the outbox); each resend is recorded with you as actor",
		Long: `Send parked mails again, by their position in "ispeks mail parked", through the mailer's own
composer and the transport configured here (--smtp / ISPEKS_SMTP_URL, or the outbox when none is set):
give this command the portal's configuration. Each resend is recorded in the account's history with the
console operator as actor before the mail goes out. A sent mail's dead letter is cleared; a mail refused
again is parked again at its resend's position. A temporary password that has expired or was replaced
since is not sent (its dead letter is cleared): issue a new one with "ispeks admin temporary-password".
Without --smtp it refuses, unless --to-outbox says the portal itself writes its mail to the outbox: a
console that merely lacks the portal's SMTP settings would otherwise write the mail to a file, clear the
dead letter and leave the person without it.`,
		// Checked before anything is opened.
		Args: func(_ *cobra.Command, args []string) error {
			if _, err := resendPositions(args, all); err != nil {
				return err
			}
			if err := checkMailBaseURL(&c.cfg); err != nil {
				return err
			}
			_, err := parseMailAddresses(&c.cfg)
			return err
		},
		RunE: c.withExistingApp(func(cmd *cobra.Command, args []string, a *app) error {
			positions, err := resendPositions(args, all)
			if err != nil {
				return err
			}
			if a.cli.cfg.SMTPURL == "" && !toOutbox {
				return errors.New("no --smtp or ISPEKS_SMTP_URL here: give this command the portal's SMTP settings (a mail written to the outbox is not delivered, and its dead letter would be cleared), or --to-outbox if the portal itself writes its mail to the outbox")
			}
			rs, via, err := a.resender()
			if err != nil {
				return err
			}
			if all {
				list, err := rs.Parked(cmd.Context())
				if err != nil {
					return err
				}
				for _, p := range list {
					positions = append(positions, p.Position)
				}
				if len(positions) == 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "no parked mail")
					return nil
				}
			}
			return resendAll(cmd.Context(), cmd.OutOrStdout(), rs, via, positions)
		}),
	}
	resend.Flags().BoolVar(&all, "all", false, "send every parked mail again, in log order")
	resend.Flags().BoolVar(&toOutbox, "to-outbox", false, "with no --smtp: write the mails to the outbox, as a portal without SMTP does (otherwise refused)")
	cmd.AddCommand(resend)
	return cmd
}

func resendPositions(args []string, all bool) ([]uint64, error) {
	switch {
	case all && len(args) > 0:
		return nil, errors.New("give positions or --all, not both")
	case !all && len(args) == 0:
		return nil, errors.New("give the positions of the mails to send again (ispeks mail parked lists them), or --all")
	}
	var out []uint64
	for _, a := range args {
		p, err := strconv.ParseUint(a, 10, 64)
		if err != nil || p == 0 {
			return nil, fmt.Errorf("POSITION %q: want a positive number (ispeks mail parked lists them)", a)
		}
		out = append(out, p)
	}
	return out, nil
}

// resendAll resends each position and prints what became of it; the
// positions whose mail was not sent for a reason that is still there
// (refused again, unknown position, an error) are its error. A no-op
// (already resent, under way) and a mail no longer worth sending are not
// failures.
func resendAll(ctx context.Context, out io.Writer, rs *mail.Resender, via string, positions []uint64) error {
	fmt.Fprintf(out, "sending through %s\n", via)
	var failed []error
	for _, pos := range positions {
		res, err := rs.Resend(ctx, pos)
		if err != nil {
			if errors.Is(err, mail.ErrNotParked) {
				err = fmt.Errorf("%w (ispeks mail parked lists them)", err)
			}
			failed = append(failed, fmt.Errorf("position %d: %w", pos, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		what := res.Kind + " mail"
		if res.To != "" {
			what += " to " + res.To
		}
		switch res.Outcome {
		case mail.Sent:
			fmt.Fprintf(out, "position %d: %s sent again (resend recorded at position %d); dead letter cleared\n", pos, what, res.Resend)
		case mail.AlreadyResent:
			fmt.Fprintf(out, "position %d: nothing to do: %s already %s\n", pos, what, res.Detail)
		case mail.UnderWay:
			fmt.Fprintf(out, "position %d: nothing to do: %s\n", pos, res.Detail)
		case mail.NotWorthSending:
			fmt.Fprintf(out, "position %d: %s not sent: %s; dead letter cleared\n", pos, what, res.Detail)
		case mail.RefusedAgain:
			failed = append(failed, fmt.Errorf("position %d: %s refused again: %s; parked again at position %d", pos, what, res.Detail, res.ParkedAt))
		}
	}
	switch {
	case len(failed) == 1 && len(positions) == 1:
		return failed[0]
	case len(failed) > 0:
		return fmt.Errorf("%d of %d parked mails not sent:\n%w", len(failed), len(positions), errors.Join(failed...))
	}
	return nil
}

func printParked(out io.Writer, list []mail.ParkedMail) error {
	if len(list) == 0 {
		fmt.Fprintln(out, "no parked mail")
		return nil
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "POSITION\tKIND\tUSER ID\tTO\tPARKED AT\tNOTE\tREASON")
	for _, p := range list {
		kind, to, note := p.Kind, p.To, ""
		if kind == "" {
			kind = "?"
		}
		if to == "" {
			to = "-"
		}
		if p.ResendOf != 0 {
			note = fmt.Sprintf("resend of %d", p.ResendOf)
		}
		if p.WillNotSend != nil {
			note = joinNote(note, willNotSendNote(p.WillNotSend))
		}
		if note == "" {
			note = "-"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Position, kind, orDash(p.UserID), to,
			p.ParkedAt.In(calendar.Melaka).Format("2006-01-02 15:04 MST"), note, p.Reason)
	}
	return w.Flush()
}

// willNotSendNote says briefly why `mail resend` would send nothing (see
// mail.ParkedMail.WillNotSend).
func willNotSendNote(err error) string {
	switch {
	case errors.Is(err, account.ErrMailExpired):
		return "password expired: will not be sent"
	case errors.Is(err, account.ErrMailSuperseded):
		return "password replaced or used: will not be sent"
	case errors.Is(err, account.ErrMailAddressLeft):
		return "address no longer the account's: will not be sent"
	}
	return strings.TrimPrefix(err.Error(), "account: ") + ": will not be sent"
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// resender builds the mailer as serve does and a resender over it, and
// names the transport it sends through (never the SMTP password).
func (a *app) resender() (*mail.Resender, string, error) {
	cfg := &a.cli.cfg
	// A resent mail's link is the one the portal's own mail carries:
	// serve derives it from the address it listens on when --base-url is
	// not set.
	if cfg.BaseURL == "" {
		addr, err := net.ResolveTCPAddr("tcp", cfg.Listen)
		if err != nil || addr.Port == 0 {
			return nil, "", fmt.Errorf("--base-url: not set, and --listen %s names no fixed address to derive the portal's URL from: give the URL the portal's mails carry", cfg.Listen)
		}
		cfg.BaseURL = baseURLOf(addr)
	}
	mailer, err := a.newMailer()
	if err != nil {
		return nil, "", err
	}
	via := "the SMTP server " + redact.URL(cfg.SMTPURL)
	if cfg.SMTPURL == "" {
		via = "the outbox " + a.outboxDir() + " (no --smtp or ISPEKS_SMTP_URL here: the mail is written as a file, not delivered)"
	}
	return &mail.Resender{
		Mailer:      mailer,
		Events:      a.events,
		Registry:    a.registry,
		DeadLetters: a.engine,
		Record: func(ctx context.Context, userID string, r account.MailResend) (uint64, error) {
			res, err := a.accounts.RequestMailResend.Handle(ctx, commands.RequestMailResend{Meta: cliMeta(), UserID: userID, Resend: r})
			return res.Position, err
		},
		Log: a.cli.log,
	}, via, nil
}
