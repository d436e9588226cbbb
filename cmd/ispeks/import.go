package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/melaka-gov/ispeks/infra/staffimport"
)

func (c *cli) importCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "import", Short: "Load data files: the employee master (CSV), statements and payment moves (NDJSON)"}
	cmd.AddCommand(&cobra.Command{
		Use:   "employees FILE.csv",
		Short: "Import the employee master: valid rows land, bad rows are listed (row, field, reason); re-importing appends nothing",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			a, err := c.openApp(cmd.Context(), prometheus.NewRegistry())
			if err != nil {
				return err
			}
			defer a.Close()
			progress, finish := staffimport.ProgressBar(cmd.ErrOrStderr())
			_, err = staffimport.Run(cmd.Context(), staffimport.Deps{
				Runner: a.runner,
				Config: staffimport.Config{AllowedDomains: c.cfg.EmailDomains, Logger: c.log},
			}, f, cmd.OutOrStdout(), progress)
			finish()
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
	return cmd
}
