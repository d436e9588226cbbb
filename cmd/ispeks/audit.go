package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/melaka-gov/ispeks/domain/backup"
	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/mykad"
	"github.com/melaka-gov/ispeks/infra/eventstore"
	"github.com/melaka-gov/ispeks/infra/security"
	"github.com/melaka-gov/ispeks/projections/audit"
)

func (c *cli) auditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Auditor tools: verify the log's integrity, replay a person's login history, an account's state as of a time, list the backups taken",
		Long: `Auditor tools: verify the log's integrity, replay a person's login history, an account's state as
of a time, list the backups taken.

They read the event log only (never the read models in views.db) and write nothing: a copy of the
log on read-only media or with read-only permissions (events.db alone, or with its -wal and -shm
files) is read as it is, and nothing is made beside it; root may run them in the portal's data
directory, as it may not the commands that write. history and state also need the install's master
key (--key-file), which names a person's attempts made before registering; a key file that group or
others can read, which the portal refuses, is read with a warning, since a copy on read-only media
cannot be made private.`}
	var expectHead string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Re-hash every event and check each stream's chain and the log's positions; reports every broken link and prints the head",
		Long: `Re-hash every event and check each stream's chain; on the embedded SQLite log also that
positions run 1, 2, 3 … without a gap, so an event removed from the log (even the last of its
stream) is reported with the missing positions. Verification reads on past a broken link: every
break is reported (the first 100 listed, all counted), each once, so one break does not hide another.

The chains are unkeyed SHA-256 and a position is not sealed: someone who can rewrite the database
file can change an event and re-seal its stream, put events of different streams in another order
(each stream's own order stays), or remove the log's last events, and the log still verifies.
What shows that is a head kept outside the database: verify prints the head (the last position, its event's hash
and a digest over every event up to it); record it elsewhere, and a later
'audit verify --head POSITION:DIGEST' checks that the log up to that position is unchanged. A
backup kept elsewhere serves as well.

verify only reads: a copy of the log on read-only media or with read-only permissions (events.db
alone, or with its -wal and -shm files) is verified as it is, and nothing is written beside it.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var expect *eventlog.LogHead
			if expectHead != "" {
				h, err := parseHead(expectHead)
				if err != nil {
					return err
				}
				expect = &h
			}
			store, err := c.openLogToRead(cmd.Context())
			if err != nil {
				return err
			}
			defer store.Close()
			head, err := verifyLog(cmd.Context(), store, expect, nil)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			positions := ""
			switch {
			case head.Events == 0:
			case contiguous(store):
				positions = fmt.Sprintf(", positions 1–%d without gaps", head.Position)
			default:
				positions = fmt.Sprintf(", positions up to %d (not contiguous in this store: only a recorded head shows a removed event)", head.Position)
			}
			fmt.Fprintf(out, "integrity verified: %d events, every stream's hash chain intact%s\n", head.Events, positions)
			if expect != nil {
				fmt.Fprintf(out, "the log up to position %d matches the recorded head\n", expect.Position)
			}
			writeHead(out, head)
			return nil
		},
		Annotations: readsOnly(),
	}
	verify.Flags().StringVar(&expectHead, "head", "", "a head recorded earlier, POSITION:DIGEST: check that the log up to it is unchanged")
	cmd.AddCommand(verify)
	var ic, at string
	var all, csv bool
	history := &cobra.Command{
		Use:   "history",
		Short: "Replay one person's login and lockout history from the event log, with each event's integrity verdict (exit status 1 if it does not verify)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := c.openLogToRead(cmd.Context())
			if err != nil {
				return err
			}
			defer store.Close()
			log, userID, err := c.auditLog(cmd.Context(), store, ic)
			if err != nil {
				return err
			}
			f := audit.Filter{LoginOnly: !all}
			if csv {
				in, err := log.ExportCSV(cmd.Context(), userID, f, cmd.OutOrStdout())
				if err != nil {
					return err
				}
				return brokenHistory(in)
			}
			tl, err := log.Timeline(cmd.Context(), userID, f)
			if err != nil {
				return err
			}
			if err := tl.WriteText(cmd.OutOrStdout()); err != nil {
				return err
			}
			// An empty history "integrity: ok" reads as a person who never
			// logged in; say when the log knows nothing of the IC at all.
			if !tl.Registered && tl.Matched == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "no account and no login attempt is recorded for %s (mistyped, or the person has not registered or tried to log in)\n", mykad.Mask(userID))
			}
			return brokenHistory(tl.Integrity)
		},
		Annotations: readsOnly(),
	}
	history.Flags().StringVar(&ic, "ic", "", "IC number (user ID)")
	history.Flags().BoolVar(&all, "all", false, "every event of the account, not only logins and lockouts")
	history.Flags().BoolVar(&csv, "csv", false, "CSV with each event's prev and hash")
	_ = history.MarkFlagRequired("ic")

	state := &cobra.Command{
		Use:   "state",
		Short: "The state of an account as of a moment (replays its events up to then; exit status 1 if they do not verify)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			when, err := audit.ParseAsOf(at)
			if err != nil {
				return fmt.Errorf("--at: %q is not YYYY-MM-DDTHH:MM (Malaysia time)", at)
			}
			store, err := c.openLogToRead(cmd.Context())
			if err != nil {
				return err
			}
			defer store.Close()
			log, userID, err := c.auditLog(cmd.Context(), store, ic)
			if err != nil {
				return err
			}
			st, err := log.AsOf(cmd.Context(), userID, when)
			if err != nil {
				return err
			}
			if err := st.WriteText(cmd.OutOrStdout()); err != nil {
				return err
			}
			return brokenHistory(st.Integrity)
		},
		Annotations: readsOnly(),
	}
	state.Flags().StringVar(&ic, "ic", "", "IC number (user ID)")
	state.Flags().StringVar(&at, "at", "", "moment, YYYY-MM-DDTHH:MM in Malaysia time (the whole minute: its events are in)")
	_ = state.MarkFlagRequired("ic")
	_ = state.MarkFlagRequired("at")
	backups := &cobra.Command{
		Use:   "backups",
		Short: "List the backups taken of the log (ispeks backup): when, by which operator, to where, and each copy's head",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := c.openLogToRead(cmd.Context())
			if err != nil {
				return err
			}
			defer store.Close()
			return listBackups(cmd.Context(), store, newRegistry(), cmd.OutOrStdout())
		},
		Annotations: readsOnly(),
	}
	cmd.AddCommand(history, state, backups)
	return cmd
}

// listBackups prints the backup records of the log, oldest first, with the
// integrity of their stream.
func listBackups(ctx context.Context, store audit.StreamReader, reg *eventlog.Registry, out io.Writer) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "POSITION\tTIME (MYT)\tOPERATOR\tEVENTS\tHEAD (audit verify --head)\tCOPY")
	chain := eventlog.NewChainVerifier()
	var broken *eventlog.BrokenLink
	n := 0
	for from := uint64(1); ; {
		recs, err := store.ReadStream(ctx, backup.Stream, from, eventlog.Forwards, 500)
		if errors.Is(err, eventlog.ErrStreamNotFound) {
			break
		}
		if err != nil {
			return err
		}
		for _, r := range recs {
			n++
			if broken == nil {
				broken = chain.Add(r)
			}
			env, err := reg.Decode(r)
			if err != nil {
				return fmt.Errorf("audit: backup record at position %d: %w", r.Position, err)
			}
			t, ok := env.Event.(backup.Taken)
			if !ok {
				return fmt.Errorf("audit: backup record at position %d: unexpected %s", r.Position, r.Type)
			}
			head := "-"
			if t.Events > 0 {
				head = fmt.Sprintf("%d:%s", t.LastPosition, t.HeadDigest)
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\t%s\n", r.Position, r.OccurredAt.In(calendar.Melaka).Format("2006-01-02 15:04:05"),
				r.Metadata.Actor.ID, t.Events, head, t.Path)
			from = r.Version + 1
		}
		if len(recs) < 500 {
			break
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	switch {
	case broken != nil:
		return broken
	case n == 0:
		fmt.Fprintln(out, "no backup is recorded in the log (backups taken before iSPEKS recorded them are not listed)")
	default:
		fmt.Fprintf(out, "%d backups recorded; their records' hash chain is intact ('ispeks audit verify' checks the whole log)\n", n)
	}
	return nil
}

// brokenHistory fails a replay whose streams do not verify: the history is
// printed as stored, and the exit status (1) tells a script, as 'audit
// verify' does, that it cannot be relied on.
func brokenHistory(in audit.Integrity) error {
	if b := in.FirstBroken(); b != nil {
		return fmt.Errorf("audit: the history printed was altered after it was written: %w", b)
	}
	return nil
}

// auditLog builds the auditor's view of the log; the probe key (from the
// master key) lets it include attempts made before the account existed.
func (c *cli) auditLog(ctx context.Context, store readLog, ic string) (*audit.Log, string, error) {
	userID, err := audit.ParseUserID(ic)
	if err != nil {
		// mykad's reason alone, as the admin commands give it.
		for _, reason := range []error{mykad.ErrEmpty, mykad.ErrFormat, mykad.ErrDate, mykad.ErrPlace} {
			if errors.Is(err, reason) {
				return nil, "", fmt.Errorf("--ic: %s", strings.TrimPrefix(reason.Error(), "mykad: "))
			}
		}
		return nil, "", fmt.Errorf("--ic: %w", err)
	}
	// An audit never creates the key: one made up here would match none
	// of the log's probe streams.
	master, err := loadMasterKey(ctx, c.cfg.KeyFile, store, true, c.log)
	if err != nil {
		return nil, "", err
	}
	keyed, err := security.NewKeyed(master)
	if err != nil {
		return nil, "", err
	}
	return audit.New(store, newRegistry(), keyed.ProbeKey), userID, nil
}

type logReader interface {
	ReadAll(ctx context.Context, after uint64, limit int) ([]eventlog.Record, error)
}

// readLog is the log the audit commands open (openLogToRead): they only
// read it.
type readLog interface {
	logReader
	audit.StreamReader
	LastPosition(ctx context.Context) (uint64, error)
	Close() error
}

// contiguous reports whether the log's positions have no gaps.
func contiguous(log logReader) bool {
	c, ok := log.(eventstore.ContiguousPositions)
	return ok && c.ContiguousPositions()
}

// verifyLog reads the whole log in order and checks every stream's chain
// without trusting the database: hashes are recomputed from the stored bytes.
// On a store whose positions have no gaps it also checks that none is
// missing. It reads on past a broken link and reports every one (a
// *brokenLog), so one real break does not hide the next. If expect is not
// nil (a head recorded by an earlier run), the log must hold its position
// with the same digest. It returns the log's head.
func verifyLog(ctx context.Context, log logReader, expect *eventlog.LogHead, seen func(eventlog.Record)) (eventlog.LogHead, error) {
	v := eventlog.NewLogVerifier(contiguous(log))
	var breaks brokenLog
	fail := func(err error) (eventlog.LogHead, error) {
		if breaks.count > 0 {
			err = errors.Join(&breaks, err)
		}
		return v.Head(), err
	}
	var after uint64
	for {
		recs, err := log.ReadAll(ctx, after, 5000)
		if err != nil {
			return fail(err)
		}
		for _, r := range recs {
			if expect != nil && r.Position > expect.Position && v.Head().Position < expect.Position {
				return fail(fmt.Errorf("audit: the log has no event at position %d of the recorded head (the next is %d): events were removed", expect.Position, r.Position))
			}
			breaks.add(v.AddPast(r))
			if seen != nil {
				seen(r)
			}
			if expect != nil && r.Position == expect.Position {
				if got := v.Head().Digest; got != expect.Digest {
					return fail(fmt.Errorf("audit: the log up to position %d does not match the recorded head (digest %s, recorded %s): events up to it were changed and their streams re-sealed, put in another order, or removed", expect.Position, got, expect.Digest))
				}
			}
			after = r.Position
		}
		if len(recs) == 0 {
			if expect != nil && v.Head().Position < expect.Position {
				return fail(fmt.Errorf("audit: the log ends at position %d, before the recorded head at %d: events were removed from its end", v.Head().Position, expect.Position))
			}
			if breaks.count > 0 {
				return v.Head(), &breaks
			}
			return v.Head(), nil
		}
	}
}

// maxListedBreaks bounds what a verification lists of a log broken all
// over (a whole table rewritten): the count still covers every break.
const maxListedBreaks = 100

// brokenLog is every broken link a whole-log verification found, in log
// order. errors.As finds the first as an *eventlog.BrokenLink.
type brokenLog struct {
	links []*eventlog.BrokenLink // the first maxListedBreaks
	count int
}

func (b *brokenLog) add(links []*eventlog.BrokenLink) {
	for _, l := range links {
		b.count++
		if len(b.links) < maxListedBreaks {
			b.links = append(b.links, l)
		}
	}
}

func (b *brokenLog) Error() string {
	if b.count == 1 {
		return b.links[0].Error()
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "eventlog: integrity broken at %d places", b.count)
	if b.count > len(b.links) {
		fmt.Fprintf(&sb, " (the first %d listed)", len(b.links))
	}
	sb.WriteByte(':')
	for _, l := range b.links {
		sb.WriteString("\n  ")
		sb.WriteString(l.Error())
	}
	return sb.String()
}

func (b *brokenLog) Unwrap() error { return b.links[0] }

// writeHead prints the head for the auditor to record outside the database.
func writeHead(w io.Writer, h eventlog.LogHead) {
	if h.Events == 0 {
		fmt.Fprintln(w, "head: the log is empty")
		return
	}
	fmt.Fprintf(w, "head: position %d, event hash %s\n", h.Position, h.Hash)
	fmt.Fprintf(w, "head digest: %d:%s\n", h.Position, h.Digest)
	fmt.Fprintln(w, "keep the head digest outside this database: 'ispeks audit verify --head POSITION:DIGEST' later shows whether the log up to it was changed and re-sealed, reordered or cut short")
}

// parseHead reads a head recorded as POSITION:DIGEST.
func parseHead(s string) (eventlog.LogHead, error) {
	pos, digest, ok := strings.Cut(strings.TrimSpace(s), ":")
	n, err := strconv.ParseUint(pos, 10, 64)
	if !ok || err != nil || n == 0 || len(digest) != 64 || strings.Trim(digest, "0123456789abcdef") != "" {
		return eventlog.LogHead{}, fmt.Errorf("--head: %q is not POSITION:DIGEST as 'audit verify' prints it (a position from 1 and 64 lower-case hex digits)", s)
	}
	return eventlog.LogHead{Position: n, Digest: digest}, nil
}
