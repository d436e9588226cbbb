package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/mykad"
)

// adminCmd is the console side of the Pentadbir Sistem: bootstrap the first
// administrator, unlock, issue a temporary password, reset two-factor
// (the way back in for a sole administrator who lost phone and recovery
// codes: nobody resets their own on the portal), grant and remove roles.
// The console operator is recorded as the actor (system, cli:<user>).
func (c *cli) adminCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Administration from the server console (bootstrap, unlock, temporary password, two-factor reset, roles)"}

	var staff employee.Details
	create := &cobra.Command{
		Use:   "create",
		Short: "Bootstrap an administrator: records the staff member if needed, registers the account, grants the admin role and prints the temporary password once",
		Args:  noArgs,
		// The IC number and e-mail are checked before the stores are
		// opened: on a new install a mistyped one would otherwise leave
		// the log, read store and master key made behind.
		PreRunE: func(*cobra.Command, []string) error {
			if _, err := mykad.Parse(staff.IC); err != nil {
				return fmt.Errorf("--ic: %s", strings.TrimPrefix(err.Error(), "mykad: "))
			}
			if _, fe := account.CheckEmail("email", staff.Email, c.cfg.EmailDomains); fe != nil {
				return createFlagError(fe)
			}
			// So are the staff details on a new install: its employee
			// master is empty, so the person is recorded from them and
			// the handler would refuse them (with this same message) only
			// after the open made the log, read store and master key.
			// With a log there the person may be in the master already.
			if newInstall(&c.cfg) {
				if _, err := staff.Validate(); err != nil {
					return createFlagError(err)
				}
			}
			return nil
		},
		RunE: c.withApp(func(cmd *cobra.Command, _ []string, a *app) error {
			out, _, err := a.accounts.CreateAdministrator.Create(cmd.Context(), commands.CreateAdministrator{Meta: cliMeta(), Staff: staff})
			if errors.Is(err, account.ErrNotRegistrable) {
				// The master's record of this IC disagrees (another
				// e-mail, left service): name the IC the operator gave.
				return fmt.Errorf("--ic %s: %s", mykad.Mask(staff.IC), strings.TrimPrefix(err.Error(), "account: "))
			}
			if err != nil {
				return createFlagError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "administrator %s ready (admin role granted)\n", mykad.Mask(out.UserID))
			if out.TemporaryPassword != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "temporary password (also e-mailed; valid until %s; shown once):\n", out.ExpiresAt.In(calendar.Melaka).Format("2006-01-02 15:04 MST"))
				fmt.Fprintln(cmd.OutOrStdout(), out.TemporaryPassword)
				fmt.Fprintln(cmd.ErrOrStderr(), "log in with it, activate with a password of at least 12 characters, then enrol two-factor authentication")
			}
			return nil
		}),
	}
	create.Flags().StringVar(&staff.IC, "ic", "", "IC number (the user ID)")
	create.Flags().StringVar(&staff.Email, "email", "", "official e-mail")
	create.Flags().StringVar(&staff.Name, "name", "", "full name (needed if the person is not in the employee master)")
	create.Flags().StringVar(&staff.Department, "department", "", "department (needed if not in the employee master)")
	create.Flags().StringVar(&staff.Post, "post", "", "post (needed if not in the employee master)")
	create.Flags().StringVar(&staff.StaffNumber, "staff-number", "", "staff/pay number (needed if not in the employee master)")
	_ = create.MarkFlagRequired("ic")
	_ = create.MarkFlagRequired("email")

	var ic, reason string
	unlock := &cobra.Command{
		Use:   "unlock",
		Short: "Unlock a locked account (reason required)",
		Args:  noArgs,
		RunE: c.withExistingApp(func(cmd *cobra.Command, _ []string, a *app) error {
			if _, err := a.accounts.UnlockAccount.Handle(cmd.Context(), commands.UnlockAccount{Meta: cliMeta(), UserID: ic, Reason: reason}); err != nil {
				return accountError(ic, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "account %s unlocked\n", mykad.Mask(ic))
			return nil
		}),
	}
	unlock.Flags().StringVar(&ic, "ic", "", "IC number of the account")
	unlock.Flags().StringVar(&reason, "reason", "", "why it is unlocked (recorded)")
	_ = unlock.MarkFlagRequired("ic")
	_ = unlock.MarkFlagRequired("reason")

	tempPassword := &cobra.Command{
		Use:   "temporary-password",
		Short: "Issue a new temporary password; it is e-mailed to the account's address, never shown here",
		Args:  noArgs,
		RunE: c.withExistingApp(func(cmd *cobra.Command, _ []string, a *app) error {
			locked, _, err := a.accounts.IssueTemporaryPassword.Issue(cmd.Context(), commands.IssueTemporaryPassword{Meta: cliMeta(), UserID: ic})
			if err != nil {
				return accountError(ic, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "temporary password issued to %s; the portal's mailer sends it\n", mykad.Mask(ic))
			if locked {
				// Issuing does not unlock (Lupa Kata Laluan must not either):
				// without this the person is mailed a password that meets
				// the lock notice.
				fmt.Fprintf(cmd.OutOrStdout(), "the account is still locked: the person can log in with it only once it is unlocked ('ispeks admin unlock --ic %s --reason …')\n", mykad.Mask(ic))
			}
			return nil
		}),
	}
	tempPassword.Flags().StringVar(&ic, "ic", "", "IC number of the account")
	_ = tempPassword.MarkFlagRequired("ic")

	totpReset := &cobra.Command{
		Use:   "totp-reset",
		Short: "Switch off an account's two-factor authentication after a lost phone (reason required; its sessions end, an admin or auditor enrols again at the next login)",
		Args:  noArgs,
		RunE: c.withExistingApp(func(cmd *cobra.Command, _ []string, a *app) error {
			if _, err := a.accounts.ResetTOTP.Handle(cmd.Context(), commands.ResetTOTP{Meta: cliMeta(), UserID: ic, Reason: reason}); err != nil {
				return accountError(ic, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "two-factor authentication of %s switched off; its sessions have ended\n", mykad.Mask(ic))
			return nil
		}),
	}
	totpReset.Flags().StringVar(&ic, "ic", "", "IC number of the account")
	totpReset.Flags().StringVar(&reason, "reason", "", "why it is reset, e.g. how the caller was verified (recorded)")
	_ = totpReset.MarkFlagRequired("ic")
	_ = totpReset.MarkFlagRequired("reason")

	var role string
	var remove bool
	roleCmd := &cobra.Command{
		Use:   "role",
		Short: "Grant (or with --remove, remove) the admin or auditor role",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r := account.Role(role)
			if r != account.RoleAdmin && r != account.RoleAuditor {
				return fmt.Errorf("--role: %q is not admin or auditor", role)
			}
			if err := requireLog(&c.cfg); err != nil {
				return err
			}
			a, err := c.openApp(cmd.Context(), prometheus.NewRegistry())
			if err != nil {
				return err
			}
			defer a.Close()
			var res commands.Result
			if remove {
				res, err = a.accounts.RevokeRole.Handle(cmd.Context(), commands.RevokeRole{Meta: cliMeta(), UserID: ic, Role: r})
			} else {
				res, err = a.accounts.GrantRole.Handle(cmd.Context(), commands.GrantRole{Meta: cliMeta(), UserID: ic, Role: r})
			}
			if err != nil {
				return accountError(ic, err)
			}
			switch {
			case res.Appended == 0 && remove:
				fmt.Fprintf(cmd.OutOrStdout(), "role %s: %s does not hold it; nothing recorded\n", role, mykad.Mask(ic))
			case res.Appended == 0:
				fmt.Fprintf(cmd.OutOrStdout(), "role %s: %s holds it already; nothing recorded\n", role, mykad.Mask(ic))
			default:
				fmt.Fprintf(cmd.OutOrStdout(), "role %s %s for %s\n", role, map[bool]string{false: "granted", true: "removed"}[remove], mykad.Mask(ic))
			}
			return nil
		},
	}
	roleCmd.Flags().StringVar(&ic, "ic", "", "IC number of the account")
	roleCmd.Flags().StringVar(&role, "role", "", "admin or auditor")
	roleCmd.Flags().BoolVar(&remove, "remove", false, "remove the role instead of granting it")
	_ = roleCmd.MarkFlagRequired("ic")
	_ = roleCmd.MarkFlagRequired("role")

	cmd.AddCommand(create, unlock, tempPassword, totpReset, roleCmd)
	return cmd
}

// accountError names the account (masked) an administration command could
// not act on; "account: not found" alone leaves the operator to guess
// whether the IC number was mistyped or the person never registered.
func accountError(ic string, err error) error {
	if errors.Is(err, account.ErrNotFound) {
		return fmt.Errorf("--ic %s: %w: no account has this IC number (mistyped, or the person has not registered yet)", mykad.Mask(ic), err)
	}
	if errors.Is(err, account.ErrNotLocked) {
		return fmt.Errorf("--ic %s: %w: nothing to unlock", mykad.Mask(ic), err)
	}
	if errors.Is(err, account.ErrTOTPNotEnabled) {
		return fmt.Errorf("--ic %s: %w: nothing to reset", mykad.Mask(ic), err)
	}
	// The handlers name their fields (user_id, reason); the operator typed
	// flags.
	var fe *account.FieldError
	if errors.As(err, &fe) {
		if flag, ok := adminFlags[fe.Field]; ok {
			return fmt.Errorf("%s: %s", flag, fe.Reason)
		}
	}
	return err
}

var adminFlags = map[string]string{"user_id": "--ic", "reason": "--reason", "role": "--role"}

// createFlags maps the fields admin create's errors name to its flags.
var createFlags = map[string]string{
	"ic": "--ic", "user_id": "--ic", "email": "--email", "name": "--name",
	"department": "--department", "post": "--post", "staff_number": "--staff-number",
}

// createFlagError words admin create's field errors by its flags
// ("--staff-number: is required", not "employee: staff_number: …"), and
// says why the staff details are wanted when they are missing.
func createFlagError(err error) error {
	var fields, codes, reasons []string
	var fe employee.FieldErrors
	var one *account.FieldError
	var oneStaff *employee.FieldError
	switch {
	case errors.As(err, &fe):
		for _, f := range fe {
			fields, codes, reasons = append(fields, f.Field), append(codes, f.Code), append(reasons, f.Reason)
		}
	case errors.As(err, &oneStaff):
		fields, codes, reasons = []string{oneStaff.Field}, []string{oneStaff.Code}, []string{oneStaff.Reason}
	case errors.As(err, &one):
		fields, codes, reasons = []string{one.Field}, []string{one.Code}, []string{one.Reason}
	default:
		return err
	}
	parts := make([]string, len(fields))
	missingStaff := false
	for i, f := range fields {
		flag, ok := createFlags[f]
		if !ok {
			return err
		}
		parts[i] = flag + ": " + reasons[i]
		missingStaff = missingStaff || (codes[i] == "required" && f != "ic" && f != "email" && f != "user_id")
	}
	msg := strings.Join(parts, "; ")
	if missingStaff {
		msg += " (a person not yet in the employee master is recorded from --name, --department, --post and --staff-number)"
	}
	return errors.New(msg)
}
