package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/mykad"
	"github.com/melaka-gov/ispeks/infra/mail"
	"github.com/melaka-gov/ispeks/projections/engine"
)

func (c *cli) projectorsCmd() *cobra.Command {
	return &cobra.Command{
		Use:         "projectors",
		Short:       "Run only the projectors (the read side), e.g. in their own process against KurrentDB and MongoDB",
		Args:        noArgs,
		Annotations: map[string]string{untilStopped: "yes"},
		RunE: c.withApp(func(cmd *cobra.Command, _ []string, app *app) error {
			c.log.Info("projectors running", "projectors", app.engine.Projectors())
			return app.engine.Run(cmd.Context())
		}),
	}
}

func (c *cli) projectionsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "projections", Short: "Inspect and rebuild read models"}
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "Each projector's and consumer's (mailer, e-mail and name followers, NATS publisher) checkpoint, the log head, the lag, dead letters and read-model layout",
		Long: `Each projector's and consumer's (mailer, e-mail and name followers, NATS publisher) checkpoint,
the log head, the lag, dead letters and read-model layout.

Exit status: 0 when no projector has dead letters; 3 when one has (the
table is printed first, then a line on stderr with how many and what to
run); 1 when the command failed (a bad flag, a store that cannot be read).
A consumer's dead letters (parked mails: 'ispeks mail parked') are listed
but leave the status 0.`,
		Args: noArgs,
		RunE: c.withExistingApp(func(cmd *cobra.Command, _ []string, app *app) error {
			return printStatus(cmd.Context(), app.engine, cmd.OutOrStdout())
		}),
	})
	names := projectorNames()
	cmd.AddCommand(&cobra.Command{
		Use:    "rebuild NAME",
		PreRun: func(*cobra.Command, []string) { c.rebuildGCPercent = 200 },
		Short:  "Rebuild one projector's read model into shadow collections and swap it in (the portal keeps serving the old one meanwhile)",
		Long: `Rebuild one projector's read model into shadow collections and swap it in; the portal keeps
serving the old one meanwhile, and its projector follows the swap. NAME is one of
` + strings.Join(names, ", ") + ` ('ispeks projections status' lists them).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := exactArgs("NAME")(cmd, args); err != nil {
				return fmt.Errorf("%w; NAME is one of %s", err, strings.Join(names, ", "))
			}
			if !slices.Contains(names, args[0]) {
				return fmt.Errorf("NAME %q: no such projector; one of %s", args[0], strings.Join(names, ", "))
			}
			return nil
		},
		RunE: c.withExistingApp(func(cmd *cobra.Command, args []string, app *app) error {
			progress := &lineWriter{w: cmd.ErrOrStderr()}
			// A bar only on a terminal, as the imports: in a log it is a
			// carriage-return redraw every 200 ms. The result line says
			// what was done either way.
			var bar io.Writer
			if isTerminal(cmd.ErrOrStderr()) {
				bar = progress
			}
			res, err := app.engine.Rebuild(cmd.Context(), args[0], bar)
			if err != nil {
				progress.endLine() // the error on a line of its own, not after the bar
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rebuilt %s: %d events read, swapped in at position %d, %d dead letters, %d old ones cleared, in %s\n",
				res.Projector, res.Events, res.Checkpoint, res.DeadLetters, res.Pruned, res.Duration.Round(time.Millisecond))
			return nil
		}),
	})
	return cmd
}

// projectorNames lists the projectors by name, for the rebuild's help and
// its check of NAME before anything is opened.
func projectorNames() []string {
	var names []string
	for _, p := range (&app{}).projectors() {
		names = append(names, p.Name())
	}
	return names
}

// deadLettersShown is how many dead letters of each projector or consumer
// status lists (the count column has them all).
const deadLettersShown = 20

func printStatus(ctx context.Context, e *engine.Engine, out io.Writer) error {
	st, err := e.Status(ctx, 0)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PROJECTOR\tCHECKPOINT\tHEAD\tLAG\tDEAD LETTERS\tLAYOUT")
	for _, s := range st {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%s\n", s.Name, s.Checkpoint, s.Head, s.Lag, len(s.DeadLetters), layoutColumn(s))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := printDeadLetters(out, st); err != nil {
		return err
	}
	return projectorDeadLetters(st)
}

// projectorDeadLetters is the failure `projections status` ends with when a
// projector has dead letters (exit status 3, exitDeadLetters): events its
// read model lacks, so pages show less than the log holds until it is
// rebuilt. A consumer's (a parked mail, an event too large for NATS) do not
// change the status: the mailer's are sent again with 'mail resend', and
// they leave no read model short.
func projectorDeadLetters(st []engine.Status) error {
	total := 0
	var counts, names []string
	for _, s := range st {
		if s.Kind != "projector" || len(s.DeadLetters) == 0 {
			continue
		}
		total += len(s.DeadLetters)
		counts = append(counts, fmt.Sprintf("%s %d", s.Name, len(s.DeadLetters)))
		names = append(names, s.Name)
	}
	if total == 0 {
		return nil
	}
	noun := "dead letters"
	if total == 1 {
		noun = "dead letter"
	}
	rebuild := "'ispeks projections rebuild " + names[0] + "'"
	if len(names) > 1 {
		rebuild = "'ispeks projections rebuild NAME' for each of " + strings.Join(names, ", ")
	}
	return &exitError{status: exitDeadLetters, err: fmt.Errorf(
		"projectors have %d %s (%s): events their read models lack; 'ispeks projections status' lists them (the oldest %d of each), and once the cause is fixed %s projects them again",
		total, noun, strings.Join(counts, ", "), deadLettersShown, rebuild)}
}

// printDeadLetters lists the oldest dead letters of each projector and
// consumer. Streams and errors are shown with IC numbers and e-mail
// addresses masked: a stream is named after its person
// ("account-800101141234") and an error may quote a document's ID.
func printDeadLetters(out io.Writer, st []engine.Status) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	header, mailer := false, false
	var projectors []string // projectors with dead letters
	for _, s := range st {
		for i, d := range s.DeadLetters {
			if !header {
				fmt.Fprintln(w, "\nDEAD LETTER OF\tPOSITION\tEVENT\tSTREAM\tRECORDED\tERROR")
				header = true
			}
			if i == deadLettersShown {
				fmt.Fprintf(w, "%s\t… %d more\t\t\t\t\n", s.Name, len(s.DeadLetters)-i)
				break
			}
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", s.Name, d.Position, d.Type, maskPersonal(d.Stream),
				d.RecordedAt.In(calendar.Melaka).Format("2006-01-02 15:04 MST"), oneLine(maskPersonal(d.Error)))
		}
		mailer = mailer || (s.Name == mail.ConsumerName && len(s.DeadLetters) > 0)
		if s.Kind == "projector" && len(s.DeadLetters) > 0 {
			projectors = append(projectors, s.Name)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if mailer {
		fmt.Fprintln(out, "the mailer's dead letters are parked mails: 'ispeks mail parked' lists them, 'ispeks mail resend' sends them again")
	}
	for _, name := range projectors {
		fmt.Fprintf(out, "%s's dead letters are events its read model lacks: once the cause is fixed (a new release), 'ispeks projections rebuild %s' projects them again and clears those it projects\n", name, name)
	}
	return nil
}

// icLike and emailLike find what maskPersonal hides.
var (
	icLike    = regexp.MustCompile(`\b\d{6}-?\d{2}-?\d{4}\b`)
	emailLike = regexp.MustCompile(`[^\s<>@"',;:()\[\]]+@[^\s<>"',;:()\[\]]+`)
)

// maskPersonal masks IC numbers (mykad.Mask, as the console shows them
// elsewhere) and e-mail addresses (mail.MaskEmail) in text.
func maskPersonal(s string) string {
	s = icLike.ReplaceAllStringFunc(s, mykad.Mask)
	return emailLike.ReplaceAllStringFunc(s, mail.MaskEmail)
}

// oneLine keeps a stored text on its table row.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// layoutColumn shows a projector's stored layout, and the one its next start
// rebuilds it to when they differ; a consumer has none.
func layoutColumn(s engine.Status) string {
	switch {
	case s.Kind != "projector":
		return "-"
	case s.Layout != s.WantLayout:
		return fmt.Sprintf("%d (rebuilds to %d at next start)", s.Layout, s.WantLayout)
	default:
		return fmt.Sprint(s.Layout)
	}
}

// lineWriter passes writes on and remembers whether they left a line open
// (a progress bar redraws its line with \r and ends it only when it
// finishes), so what is printed next can start on a line of its own.
type lineWriter struct {
	w    io.Writer
	open bool
}

func (l *lineWriter) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	if n > 0 {
		l.open = p[n-1] != '\n'
	}
	return n, err
}

// endLine ends a line left open.
func (l *lineWriter) endLine() {
	if l.open {
		fmt.Fprintln(l.w)
		l.open = false
	}
}
