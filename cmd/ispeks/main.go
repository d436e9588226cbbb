// Command ispeks is the one iSPEKS binary: the portal (serve), the read side
// on its own (projectors), projections status and rebuilds, imports,
// administration, API clients, audit and benchmarks.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/melaka-gov/ispeks/infra/config"
	"github.com/melaka-gov/ispeks/infra/redact"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ispeks:", err)
		os.Exit(exitStatus(err))
	}
}

// exitDeadLetters is the exit status of `projections status` when a
// projector has dead letters: a monitor running it tells that from a
// command that failed (1).
const exitDeadLetters = 3

// exitError is a failure that exits with a status of its own rather than 1.
type exitError struct {
	status int
	err    error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitStatus is the exit status for what run returned: 0 for nil, an
// exitError's own, 1 for any other error.
func exitStatus(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.status
	}
	return 1
}

func run() error {
	ctx, release := notifyStop(os.Stderr, os.Exit)
	defer release()
	return runRoot(ctx, newRootCmd())
}

// untilStopped marks the commands that run until SIGINT or SIGTERM (serve,
// projectors): for them the signal is the clean stop, exit status 0.
const untilStopped = "ispeks/runs-until-stopped"

// runRoot runs the command tree until ctx (the stop signals) ends. A signal
// ends serve and projectors cleanly; any other command it cuts short fails,
// so a script or cron job never takes a half-done import, backup or rebuild
// for a finished one.
func runRoot(ctx context.Context, root *cobra.Command) error {
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil || !errors.Is(err, context.Canceled) || ctx.Err() == nil {
		return err
	}
	if cmd.Annotations[untilStopped] != "" {
		return nil
	}
	return fmt.Errorf("%s: interrupted by a stop signal before it finished; run it again", strings.TrimPrefix(cmd.CommandPath(), root.Name()+" "))
}

// cli carries the configuration every subcommand shares.
type cli struct {
	cfg config.Config
	log *slog.Logger

	rebuildGCPercent int // set by `projections rebuild` only
}

// effectiveLogLevel is the level configured, except that a console
// command logs at warn unless a level was given (flag or ISPEKS_LOG_LEVEL):
// an operator's command prints its result, and the stores' and
// projectors' progress notes would bury it.
func effectiveLogLevel(cmd *cobra.Command, configured string) string {
	if consoleCommand(cmd) && !cmd.Flags().Changed("log-level") && os.Getenv("ISPEKS_LOG_LEVEL") == "" {
		return "warn"
	}
	return configured
}

// consoleCommand reports whether cmd is an operator's one-off command
// rather than a long-running process (serve, projectors), whose INFO log
// is its record of what it did.
func consoleCommand(cmd *cobra.Command) bool {
	for c := cmd; c != nil; c = c.Parent() {
		if c.Parent() != nil && c.Parent().Parent() == nil {
			return c.Name() != "serve" && c.Name() != "projectors"
		}
	}
	return false
}

// opensDataDir reports whether cmd works in the configured data directory:
// all but completion, help and bench (which makes a directory of its own).
func opensDataDir(cmd *cobra.Command) bool {
	for c := cmd; c != nil && c.Parent() != nil; c = c.Parent() {
		if c.Parent().Parent() == nil {
			return c.Name() != "completion" && c.Name() != "help" && c.Name() != "bench"
		}
	}
	return false
}

// writesNothingKey annotates a command that only reads the data directory
// (readsOnly): it leaves no file there for root to own, so notAsRoot lets
// root run it.
const writesNothingKey = "ispeks/writes-nothing"

// readsOnly is the annotation of a command that writes nothing: one that
// opens the log read-only and no other store.
func readsOnly() map[string]string { return map[string]string{writesNothingKey: "true"} }

func writesNothing(cmd *cobra.Command) bool { return cmd.Annotations[writesNothingKey] == "true" }

func newRootCmd() *cobra.Command {
	c := &cli{}
	root := &cobra.Command{
		Use:           "ispeks",
		Short:         "iSPEKS — staff self-service finance portal of the Melaka state government",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.HasSubCommands() {
				return nil // a group printing its help needs no configuration
			}
			if err := c.cfg.Resolve(); err != nil {
				return fmt.Errorf("configuration: %w", err)
			}
			if opensDataDir(cmd) && consoleCommand(cmd) && !writesNothing(cmd) {
				if err := notAsRoot(&c.cfg); err != nil {
					return err
				}
			}
			c.log = newLogger(effectiveLogLevel(cmd, c.cfg.LogLevel), c.cfg.LogFormat)
			slog.SetDefault(c.log)
			return nil
		},
	}
	config.Bind(root.PersistentFlags(), &c.cfg)
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(
		c.serveCmd(),
		c.projectorsCmd(),
		c.projectionsCmd(),
		c.benchCmd(),
		c.auditCmd(),
		c.clientsCmd(),
		c.adminCmd(),
		c.importCmd(),
		c.backupCmd(),
		c.mailCmd(),
	)
	// Added now rather than at Execute, so the walk below covers it too.
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	refuseUnknownHelpTopics(root)
	for _, sub := range root.Commands() {
		requireSubcommand(sub)
		markRequired(sub)
	}
	return root
}

// markRequired ends the help line of every required flag with
// "(required)": cobra enforces them but its help does not tell them from
// the optional ones.
func markRequired(cmd *cobra.Command) {
	cmd.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
		if req := f.Annotations[cobra.BashCompOneRequiredFlag]; len(req) > 0 && req[0] == "true" && !strings.HasSuffix(f.Usage, "(required)") {
			f.Usage += " (required)"
		}
	})
	for _, sub := range cmd.Commands() {
		markRequired(sub)
	}
}

// flagError is how a flag the command line got wrong is reported.
func flagError(cmd *cobra.Command, err error) error {
	// "ispeks admin unlok --ic …" stops at --ic, which the group does not
	// know: the mistake is the subcommand before it.
	if args := cmd.Flags().Args(); cmd.HasSubCommands() && len(args) > 0 {
		return fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	// pflag's own words name its parser ("strconv.ParseInt: parsing
	// "abc": invalid syntax"); say what the flag wants instead.
	var bad *pflag.InvalidValueError
	if errors.As(err, &bad) {
		if want := config.ValueKind(bad.GetFlag().Value.Type()); want != "" {
			return fmt.Errorf("--%s: %q is not %s", bad.GetFlag().Name, bad.GetValue(), want)
		}
	}
	return err
}

// requireSubcommand makes every command group (admin, audit, clients …)
// refuse an argument that is none of its subcommands. Cobra would print the
// group's help and exit 0 for "ispeks admin unlok", so a typo in a script
// or a runbook would pass as done. The group alone still prints its help.
func requireSubcommand(cmd *cobra.Command) {
	if !cmd.HasSubCommands() {
		return
	}
	if !cmd.Runnable() {
		cmd.Args = cobra.NoArgs // "unknown command "unlok" for "ispeks admin""
		cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	for _, sub := range cmd.Commands() {
		requireSubcommand(sub)
	}
}

// refuseUnknownHelpTopics makes "ispeks help nosuch" (or "help admin
// unlok") fail as "ispeks nosuch" does: cobra prints "Unknown help topic"
// and exits 0, so a runbook's typo would pass as done.
func refuseUnknownHelpTopics(root *cobra.Command) {
	help, _, err := root.Find([]string{"help"})
	if err != nil || help == root || help.Run == nil {
		return
	}
	show := help.Run
	help.Run = nil
	help.RunE = func(cmd *cobra.Command, args []string) error {
		topic, rest, err := cmd.Root().Find(args)
		if err != nil {
			return err // unknown command "nosuch" for "ispeks"
		}
		if topic.HasSubCommands() && len(rest) > 0 {
			return fmt.Errorf("unknown command %q for %q", rest[0], topic.CommandPath())
		}
		show(cmd, args)
		return nil
	}
}

func newLogger(level, format string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if format == "json" {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	// IC numbers and e-mail addresses never reach the log, whatever message
	// or error carries one (an adapter's error names the document, and many
	// IDs are ICs; a mail library's error names its recipients).
	return slog.New(redact.Handler(h))
}
