package main

import (
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/melaka-gov/ispeks/infra/eventstore/storebench"
	"github.com/melaka-gov/ispeks/projections/engine/projbench"
)

// benchCmd groups the measurements the issues ask for. Each prints a table
// from one run on this machine; none of them is a test.
func (c *cli) benchCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Measure throughput and latency on this machine (prints a table)"}

	var es storebench.Config
	eventstore := &cobra.Command{
		Use:   "eventstore",
		Short: "SQLite event store: 64 concurrent single appends, batched appends, read-all, beside raw SQLite bulk inserts",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := storebench.Run(cmd.Context(), es, os.Stdout)
			return err
		},
	}
	eventstore.Flags().IntVar(&es.Writers, "writers", 64, "concurrent single-event writers")
	eventstore.Flags().IntVar(&es.SingleEvents, "single-events", 30000, "single-event appends in total")
	eventstore.Flags().IntVar(&es.BatchSize, "batch-size", 100, "events per batched append")
	eventstore.Flags().IntVar(&es.BatchEvents, "batch-events", 200000, "events appended in the batched phase")
	eventstore.Flags().StringVar(&es.Dir, "dir", "", "where the temporary files go (default the system temp dir)")

	var pb projbench.Config
	projectionsBench := &cobra.Command{
		Use:   "projections",
		Short: "Rebuild throughput into SQLite, projection lag p50/p99 under a steady append rate, peak RSS",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pb.Progress = os.Stderr
			pb.Logger = c.log
			_, err := projbench.Run(cmd.Context(), pb, os.Stdout)
			return err
		},
	}
	projectionsBench.Flags().IntVar(&pb.Events, "events", 1_000_000, "events in the log the rebuild replays")
	projectionsBench.Flags().IntVar(&pb.Rate, "rate", 1000, "appends per second during the lag phase")
	projectionsBench.Flags().DurationVar(&pb.Duration, "duration", 30*time.Second, "length of the lag phase")
	projectionsBench.Flags().StringVar(&pb.Dir, "dir", "", "keep the generated log here and reuse it on the next run (default a temporary dir)")

	cmd.AddCommand(eventstore, projectionsBench, c.benchLoginCmd(), c.benchQueriesCmd())
	return cmd
}
