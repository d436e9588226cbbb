package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/melaka-gov/ispeks/commands/ingest"
	"github.com/melaka-gov/ispeks/infra/staffimport"
)

// cliRequestNamespace is the namespace of request IDs in files imported from
// the console (commands.ClientCommandID). It has a colon, which no API
// client ID has, so a client's requests never share it.
const cliRequestNamespace = ":cli"

func (c *cli) importCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "import", Short: "Load data files: the employee master (CSV), statements and payment moves (NDJSON)"}
	cmd.AddCommand(&cobra.Command{
		Use:   "employees FILE.csv",
		Short: "Import the employee master: valid rows land, bad rows are listed (row, field, reason); re-importing appends nothing",
		Args:  exactArgs("FILE.csv"),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, _, err := openInput("FILE.csv", args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			cfg := staffimport.Config{AllowedDomains: c.cfg.EmailDomains, Logger: c.log}
			// The file is read and checked as a whole before the data
			// directory is opened: a refused file (empty, UTF-16, without
			// its columns) leaves no new install behind.
			file, err := staffimport.Prepare(f, cfg, cmd.OutOrStdout())
			if err != nil {
				return fmt.Errorf("FILE.csv %s: %w", args[0], err)
			}
			a, err := c.openApp(cmd.Context(), prometheus.NewRegistry())
			if err != nil {
				return err
			}
			defer a.Close()
			// A bar only on a terminal: in a log (CI, cron, 2>file) it is
			// a carriage-return redraw every 100 ms.
			var progress func(staffimport.Progress)
			finish := func() {}
			if isTerminal(cmd.ErrOrStderr()) {
				progress, finish = staffimport.ProgressBar(cmd.ErrOrStderr())
			}
			// The report waits for the bar to end its line: on a terminal
			// its first line would otherwise follow the bar on the same one.
			var report bytes.Buffer
			// The operator is the actor, as of every console command
			// (the rows' IDs come from the file, not from who sends it).
			_, err = staffimport.RunFile(cmd.Context(), staffimport.Deps{
				Runner: a.runner,
				Config: cfg,
				Actor:  cliMeta().Actor,
			}, file, &report, progress)
			finish()
			if _, werr := report.WriteTo(cmd.OutOrStdout()); werr != nil && err == nil {
				err = werr
			}
			if err != nil && !errors.Is(err, staffimport.ErrIncomplete) {
				return err
			}
			// The read models (search by name, login page) reflect the
			// import before the command returns.
			if cerr := a.catchUp(cmd.Context()); cerr != nil {
				return cerr
			}
			if err != nil {
				return fmt.Errorf("%w (the rows listed above were not imported; fix them and import the file again)", err)
			}
			return nil
		},
	})
	var quiet bool
	statementsCmd := &cobra.Command{
		Use:   "statements FILE.ndjson",
		Short: "Ingest a payroll run or payment moves: one JSON object a line; prints one NDJSON result a line (accepted, duplicate, rejected with field and reason); re-sending appends nothing",
		Args:  exactArgs("FILE.ndjson"),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, info, err := openInput("FILE.ndjson", args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			// A batch refused by its first bytes (UTF-16) is refused
			// before the data directory is opened: it leaves nothing
			// behind.
			in := bufio.NewReader(f)
			head, err := in.Peek(3)
			if err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("FILE.ndjson %s: %w", args[0], err)
			}
			if err := ingest.CheckStart(head); err != nil {
				return fmt.Errorf("FILE.ndjson %s: %w", args[0], err)
			}
			// An empty file is a failed export or the wrong path, not a
			// batch of nothing: refused (as an empty employee file is)
			// without making a data directory for it.
			if ingest.Blank(in) {
				return fmt.Errorf("FILE.ndjson %s: the file is empty; it needs one JSON object a line (nothing imported)", args[0])
			}
			a, err := c.openApp(cmd.Context(), prometheus.NewRegistry())
			if err != nil {
				return err
			}
			defer a.Close()
			// A pipe (/dev/stdin, <(…)) has no size: the bar then counts
			// bytes without a total (with 0 as its total it would refuse
			// the first bytes and fail the import).
			size := info.Size()
			if !info.Mode().IsRegular() || size <= 0 {
				size = -1
			}
			// A bar only on a terminal: in a log (CI, cron, 2>file) it is
			// a carriage-return redraw every 100 ms. The count below is
			// printed either way.
			barOut := io.Discard
			if isTerminal(cmd.ErrOrStderr()) {
				barOut = cmd.ErrOrStderr()
			}
			bar := progressbar.NewOptions64(size,
				progressbar.OptionSetWriter(barOut), progressbar.OptionShowBytes(true),
				progressbar.OptionSetDescription("ingest"), progressbar.OptionThrottle(100*time.Millisecond))
			emit := ingest.WriteNDJSON(cmd.OutOrStdout())
			if quiet {
				write := emit
				emit = func(r ingest.Result) error {
					if r.Outcome == ingest.Rejected || r.Outcome == ingest.Failed {
						return write(r)
					}
					return nil
				}
			}
			// Request IDs are scoped to the console as a whole, not to
			// the operator: the same file sent again by someone else (or
			// by cron, with USER unset) is the same commands.
			sum, err := ingest.New(a.runner, a.payees).Run(cmd.Context(), io.TeeReader(in, bar), ingest.Source{
				Actor: cliMeta().Actor, Namespace: cliRequestNamespace,
			}, emit)
			if err != nil {
				// Stopped (a signal, a store error): the bar stays where
				// the ingest got to rather than drawing a full one, and
				// the count says how far that was.
				_ = bar.Exit()
			} else {
				_ = bar.Finish()
			}
			fmt.Fprintln(barOut) // the bar leaves its line open
			fmt.Fprintf(cmd.ErrOrStderr(), "%d lines: %d accepted, %d duplicate, %d rejected, %d failed\n",
				sum.Lines, sum.Accepted, sum.Duplicates, sum.Rejected, sum.Failed)
			if sum.Unanswered > 0 {
				// The lines running when the output broke still finished:
				// the counts above include them, their results are not printed.
				fmt.Fprintf(cmd.ErrOrStderr(), "%d of these lines have no result printed (the output could not be written); send the file again to see them (lines already stored answer duplicate)\n",
					sum.Unanswered)
			}
			if err != nil {
				return err
			}
			if err := a.catchUp(cmd.Context()); err != nil {
				return err
			}
			if sum.Rejected+sum.Failed > 0 {
				return fmt.Errorf("%d lines were not ingested (listed above); fix them and send the file again", sum.Rejected+sum.Failed)
			}
			return nil
		},
	}
	statementsCmd.Flags().BoolVar(&quiet, "only-problems", false, "print only rejected and failed lines")
	cmd.AddCommand(statementsCmd)
	return cmd
}

// openInput opens the file an import reads before any store is opened, so
// a mistyped path or a directory is named as the argument it was given as
// and leaves the data directory as it was (no new install is made for a
// file that cannot be read).
func openInput(arg, path string) (*os.File, fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is named once, below
		}
		return nil, nil, fmt.Errorf("%s %s: %w", arg, path, err)
	}
	info, err := f.Stat()
	switch {
	case err != nil:
		err = fmt.Errorf("%s %s: %w", arg, path, err)
	case info.IsDir():
		err = fmt.Errorf("%s %s: is a directory, not a file", arg, path)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

// isTerminal reports whether w is a terminal, where a progress bar can
// redraw its line: a terminal file, or a writer that says it stands for
// one (terminalWriter: a test's stand-in for a terminal).
func isTerminal(w io.Writer) bool {
	if t, ok := w.(terminalWriter); ok {
		return t.IsTerminal()
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

type terminalWriter interface{ IsTerminal() bool }
