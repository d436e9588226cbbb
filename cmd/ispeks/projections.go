package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/melaka-gov/ispeks/projections/engine"
)

func (c *cli) projectorsCmd() *cobra.Command {
	return &cobra.Command{
		Use:         "projectors",
		Short:       "Run only the projectors (the read side), e.g. in their own process against KurrentDB and MongoDB",
		Args:        cobra.NoArgs,
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
		Short: "Each projector's checkpoint, the log head, the lag, and dead letters",
		Args:  cobra.NoArgs,
		RunE: c.withExistingApp(func(cmd *cobra.Command, _ []string, app *app) error {
			return printStatus(cmd.Context(), app.engine, cmd.OutOrStdout())
		}),
	})
	cmd.AddCommand(&cobra.Command{
		Use:    "rebuild NAME",
		PreRun: func(*cobra.Command, []string) { c.rebuildGCPercent = 200 },
		Short:  "Rebuild one projector's read model into shadow collections and swap it in (the portal keeps serving the old one meanwhile)",
		Args:   cobra.ExactArgs(1),
		RunE: c.withExistingApp(func(cmd *cobra.Command, args []string, app *app) error {
			res, err := app.engine.Rebuild(cmd.Context(), args[0], os.Stderr)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rebuilt %s: %+v\n", args[0], res)
			return nil
		}),
	})
	return cmd
}

func printStatus(ctx context.Context, e *engine.Engine, out io.Writer) error {
	st, err := e.Status(ctx, 20)
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
	for _, s := range st {
		for _, d := range s.DeadLetters {
			fmt.Fprintf(out, "dead letter %s: %+v\n", s.Name, d)
		}
	}
	return nil
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
