package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/apiclient"
	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/projections/apiclients"
)

// cliMeta is a new command's metadata with the operator at the server's
// console as its actor (system, cli:<user>).
func cliMeta() commands.Meta {
	return commands.Meta{CommandID: uuid.New(), Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "cli:" + consoleOperator()}}
}

// consoleOperator names who runs the console command: the person who ran
// sudo (an administrator running it as the service account, sudo -u
// ispeks, is that administrator, not the account), else the login user,
// else the account the process runs as (cron and systemd may set no USER),
// else "console".
func consoleOperator() string {
	for _, v := range []string{"SUDO_USER", "USER"} {
		if name := os.Getenv(v); name != "" {
			return name
		}
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "console"
}

func (c *cli) clientsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "clients", Short: "API clients of finance systems: add, list, revoke"}
	var scopes []string
	var newClient commands.AddAPIClient // made and checked by PreRunE
	add := &cobra.Command{
		Use:   "add NAME --scopes SCOPE,…",
		Short: "Add a client and print its bearer token once (only its hash is stored); NAME must not be an active client's (case and surrounding spaces aside)",
		Args:  exactArgs("NAME"),
		// NAME and --scopes are checked (on a client of its own, nothing
		// recorded) before the stores are opened: on a new install a
		// mistyped one would otherwise leave the log and master key made.
		PreRunE: func(_ *cobra.Command, args []string) error {
			var err error
			if newClient, err = (commands.AddAPIClient{Meta: cliMeta(), Name: args[0], Scopes: scopes}).WithNewToken(); err != nil {
				return err
			}
			return clientError(newClient.ClientID, apiclient.New().Add(newClient.ClientID, newClient.Name, newClient.Scopes, apiclient.HashToken(newClient.Token), time.Now()))
		},
		RunE: c.withApp(func(cmd *cobra.Command, args []string, a *app) error {
			add := newClient
			// A name an active client has is refused. The handler's
			// claim holds under concurrency; the read model, caught up
			// first, knows the clients added before names were claimed.
			if err := a.catchUp(cmd.Context()); err != nil {
				return err
			}
			names := apiclients.Queries{Reader: a.views}
			if _, err := (commands.AddAPIClientHandler{Runner: a.runner, Names: names}).Handle(cmd.Context(), add); err != nil {
				return clientError(add.ClientID, err)
			}
			// The scopes as stored (checked above), not as typed.
			stored, _ := apiclient.NormalizeScopes(scopes)
			fmt.Fprintf(cmd.ErrOrStderr(), "client %s added with scopes %s; the token is shown once:\n", add.ClientID, strings.Join(stored, ","))
			fmt.Fprintln(cmd.OutOrStdout(), add.Token)
			return nil
		}),
	}
	add.Flags().StringSliceVar(&scopes, "scopes", nil, "what the client may do, comma-separated: employees:write, payments:write, statements:write, events:read")
	_ = add.MarkFlagRequired("scopes")

	list := &cobra.Command{
		Use:   "list",
		Short: "List clients with their scopes, the day they were added (Malaysia) and whether they are revoked",
		Args:  noArgs,
		RunE: c.withExistingApp(func(cmd *cobra.Command, _ []string, a *app) error {
			if err := a.catchUp(cmd.Context()); err != nil {
				return err
			}
			clients, err := apiclients.Queries{Reader: a.views}.List(cmd.Context())
			if err != nil {
				return err
			}
			// Clients added before names were claimed may share one: say
			// so, or an operator revoking "Sistem Gaji" by name may pick
			// the one in use.
			namesakes := map[string][]string{}
			for _, cl := range clients {
				if !cl.Revoked {
					k := apiclient.NameKey(cl.Name)
					namesakes[k] = append(namesakes[k], cl.ID)
				}
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tNAME\tSCOPES\tADDED\tSTATUS")
			shared := false
			for _, cl := range clients {
				status := "active"
				if cl.Revoked {
					status = "revoked: " + cl.RevokedReason
				} else if ids := namesakes[apiclient.NameKey(cl.Name)]; len(ids) > 1 {
					others := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == cl.ID })
					status = "active, name shared with " + strings.Join(others, ", ")
					shared = true
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", cl.ID, cl.Name, strings.Join(cl.Scopes, ","), cl.AddedAt.In(calendar.Melaka).Format("2006-01-02"), status)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			if shared {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning: active clients share a name (added before names were checked); find which one the finance system uses and 'ispeks clients revoke ID --reason …' the other")
			}
			return nil
		}),
	}
	var reason string
	revoke := &cobra.Command{
		Use:   "revoke ID --reason TEXT",
		Short: "Revoke a client's token",
		Args:  exactArgs("ID"),
		PreRunE: func(*cobra.Command, []string) error {
			if strings.TrimSpace(reason) == "" {
				return errors.New("--reason: must not be empty: say why the client is revoked (it is recorded)")
			}
			return nil
		},
		RunE: c.withExistingApp(func(cmd *cobra.Command, args []string, a *app) error {
			_, err := commands.RevokeAPIClientHandler{Runner: a.runner}.Handle(cmd.Context(),
				commands.RevokeAPIClient{Meta: cliMeta(), ClientID: args[0], Reason: reason})
			if err != nil {
				return clientError(args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "client %s revoked\n", args[0])
			return nil
		}),
	}
	revoke.Flags().StringVar(&reason, "reason", "", "why the client is revoked (recorded in the event)")
	_ = revoke.MarkFlagRequired("reason")
	cmd.AddCommand(add, list, revoke)
	return cmd
}

// clientArgs maps the fields the clients commands' errors name to the
// argument or flag the operator typed.
var clientArgs = map[string]string{"name": "NAME", "scopes": "--scopes", "client_id": "ID", "reason": "--reason"}

// clientError words a clients command's error by its arguments and flags
// ("--scopes: unknown scope …", not "apiclient: scopes: …"), and names
// the ID an unknown or revoked client was given as.
func clientError(id string, err error) error {
	var fe *apiclient.FieldError
	switch {
	case errors.As(err, &fe):
		if arg, ok := clientArgs[fe.Field]; ok {
			return fmt.Errorf("%s: %s", arg, fe.Reason)
		}
	case errors.Is(err, apiclient.ErrNotFound):
		return fmt.Errorf("ID %q: no such client ('ispeks clients list' lists them)", id)
	case errors.Is(err, apiclient.ErrRevoked):
		return fmt.Errorf("ID %q: revoked already; nothing recorded", id)
	}
	return err
}
