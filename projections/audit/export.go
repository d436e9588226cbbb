package audit

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/melaka-gov/ispeks/domain/calendar"
)

// CSVHeader is the first row of an export.
var CSVHeader = []string{
	"position", "stream", "version", "event_id", "occurred_at_utc", "occurred_at_myt", "type", "kind",
	"detail", "note", "consecutive", "actor_kind", "actor_id", "source_ip", "user_agent",
	"status_after", "locked_after", "failed_after", "prev", "hash", "integrity",
}

// CSVRow is one entry as export cells. Cells a spreadsheet would read as a
// formula (starting with = + - @ or a control character) are prefixed with
// an apostrophe: notes and user agents are typed by people.
func CSVRow(e Entry) []string {
	row := []string{
		strconv.FormatUint(e.Position, 10), e.Stream, strconv.FormatUint(e.Version, 10), e.EventID,
		e.At.UTC().Format(time.RFC3339Nano), e.At.In(calendar.Melaka).Format("2006-01-02 15:04:05"), e.Type, string(e.Kind),
		e.Detail, e.Note, strconv.Itoa(e.Consecutive), e.Actor.Kind, e.Actor.ID, e.SourceIP, e.UserAgent,
		e.After.Status, strconv.FormatBool(e.After.Locked), strconv.Itoa(e.After.Failed), e.Prev, e.Hash, string(e.Link),
	}
	for i, c := range row {
		row[i] = defuse(c)
	}
	return row
}

func defuse(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r', '\n':
		return "'" + cell
	}
	return cell
}

// ExportCSV writes userID's entries that f matches (all of them: f.Limit
// is ignored) as CSV to w, oldest first, with a header row. Each row
// carries the event's prev and hash and the verdict on its link, so the
// export can be checked against the log later; the returned integrity
// covers every event of the streams, matched or not.
func (l *Log) ExportCSV(ctx context.Context, userID string, f Filter, w io.Writer) (Integrity, error) {
	id, err := ParseUserID(userID)
	if err != nil {
		return Integrity{}, err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return Integrity{}, err
	}
	in, err := l.Each(ctx, id, f, func(e Entry) error { return cw.Write(CSVRow(e)) })
	if err != nil {
		return in, err
	}
	cw.Flush()
	return in, cw.Error()
}

// Summary is one line: "ok, 12 events in 2 streams" or the first broken
// link.
func (in Integrity) Summary() string {
	if b := in.FirstBroken(); b != nil {
		return fmt.Sprintf("broken in %s at version %d (position %d, event %s): %s", b.Stream, b.Version, b.Position, b.EventID, b.Reason)
	}
	return fmt.Sprintf("ok, %d events in %d streams", in.Events(), len(in.Streams))
}

// WriteText writes a timeline for a terminal (`ispeks audit history`): one
// line per entry, then the integrity.
func (t Timeline) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POSITION\tTIME (MYT)\tEVENT\tDETAIL\tCOUNT\tACTOR\tSOURCE IP\tLOCKED AFTER\tFAILED AFTER")
	for _, e := range t.Entries {
		detail := e.Detail
		if e.Note != "" {
			detail = strings.TrimSpace(detail + " " + strconv.Quote(e.Note))
		}
		if e.Link == LinkBroken {
			detail = strings.TrimSpace(detail + " [INTEGRITY BROKEN HERE]")
		}
		actor := e.Actor.Kind
		if e.Actor.ID != "" {
			actor += ":" + e.Actor.ID
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%t\t%d\n", e.Position, e.At.In(calendar.Melaka).Format("2006-01-02 15:04:05"),
			e.Kind, oneLine(detail), e.Consecutive, actor, e.SourceIP, e.After.Locked, e.After.Failed)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if t.Truncated() {
		fmt.Fprintf(w, "(showing the latest %d of %d entries)\n", len(t.Entries), t.Matched)
	}
	_, err := fmt.Fprintf(w, "integrity: %s\n", t.Integrity.Summary())
	return err
}

// oneLine keeps a typed note from breaking the table.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
}

// WriteText writes a state for a terminal (`ispeks audit state`).
func (st State) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "State as of %s (MYT)\n", st.At.In(calendar.Melaka).Format("2006-01-02 15:04:05"))
	if !st.Registered {
		fmt.Fprintln(&b, "  account:         not registered")
	} else {
		fmt.Fprintf(&b, "  account status:  %s\n  locked:          %t\n  failed attempts: %d\n  roles:           %s\n  TOTP:            %t\n",
			st.Status, st.Locked, st.FailedAttempts, strings.Join(st.Roles, ", "), st.TOTP)
		if !st.LastLogin.IsZero() {
			fmt.Fprintf(&b, "  last login:      %s\n", st.LastLogin.In(calendar.Melaka).Format("2006-01-02 15:04:05"))
		}
		fmt.Fprintf(&b, "  events applied:  %d\n", st.Events)
		if st.Last != nil {
			fmt.Fprintf(&b, "  last event:      %s at %s (position %d)\n", st.Last.Kind, st.Last.At.In(calendar.Melaka).Format("2006-01-02 15:04:05"), st.Last.Position)
		}
	}
	if st.ProbeEvents > 0 {
		fmt.Fprintf(&b, "  attempts before registration: %d events, %d consecutive failures, locked %t\n", st.ProbeEvents, st.ProbeFailed, st.ProbeLocked)
	}
	if st.Unfit > 0 {
		fmt.Fprintf(&b, "  unreadable events: %d\n", st.Unfit)
	}
	fmt.Fprintf(&b, "  integrity:       %s\n", st.Integrity.Summary())
	_, err := io.WriteString(w, b.String())
	return err
}
