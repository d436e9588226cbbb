package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// noArgs is cobra.NoArgs for a command that is not a group: cobra's "unknown
// command "2025:ab…" for "ispeks audit verify"" would send the operator
// looking for a subcommand when a flag's name was left out.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q: %s takes none (usage: %s)", args[0], cmd.CommandPath(), cmd.UseLine())
	}
	return nil
}

// exactArgs is cobra.ExactArgs naming the arguments the command wants
// ("missing NAME"), where cobra counts them ("accepts 1 arg(s), received 0").
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < len(names):
			return fmt.Errorf("missing %s (usage: %s)", strings.Join(names[len(args):], " "), cmd.UseLine())
		case len(args) > len(names):
			return fmt.Errorf("unexpected argument %q: %s takes %s only (usage: %s)", args[len(names)], cmd.CommandPath(), strings.Join(names, " "), cmd.UseLine())
		}
		// An empty one ("$DIR" unset in a script) is missing too, not a
		// path or a name to look for.
		for i, a := range args {
			if strings.TrimSpace(a) == "" {
				return fmt.Errorf("%s: is required, and was given empty (usage: %s)", names[i], cmd.UseLine())
			}
		}
		return nil
	}
}
