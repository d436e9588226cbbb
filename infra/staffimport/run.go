package staffimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/textfield"
)

// ErrIncomplete: the file was read but some rows are not in the master
// (rejected or failed). The CLI exits non-zero on it after the report.
var ErrIncomplete = errors.New("staffimport: some rows were not imported")

// Deps is what Run needs from the composition root.
type Deps struct {
	Runner commands.Runner
	Config Config
	// Actor is who the events name; default the system actor "cli:import".
	Actor eventlog.Actor
}

// Run imports the CSV file r for `ispeks import employees FILE.csv`:
// it lands the valid rows, writes the report to out (counts, then every row
// not imported with its field and reason) and calls progress as rows land
// (see ProgressBar). The error is nil when every row is in the master,
// wraps ErrIncomplete when some rows are not, and is the file's or the
// store's error when nothing could be done.
func Run(ctx context.Context, deps Deps, r io.Reader, out io.Writer, progress func(Progress)) (Report, error) {
	f, err := Prepare(r, deps.Config, out)
	if err != nil {
		if f != nil {
			return f.report(), err
		}
		return Report{}, err
	}
	return RunFile(ctx, deps, f, out, progress)
}

// Prepare reads and checks the file r as Read does, and says on out why a
// refused file is refused. The console calls it before it opens the data
// directory, then RunFile: a refused file leaves nothing behind.
func Prepare(r io.Reader, cfg Config, out io.Writer) (*File, error) {
	f, err := Read(r, cfg)
	if err != nil && errors.Is(err, ErrFile) {
		fmt.Fprintf(out, "File refused, nothing imported: %s\n", strings.TrimPrefix(err.Error(), "staffimport: "))
	}
	return f, err
}

// RunFile is Run for a file Prepare accepted.
func RunFile(ctx context.Context, deps Deps, f *File, out io.Writer, progress func(Progress)) (Report, error) {
	actor := deps.Actor
	if actor.Kind == "" {
		actor = eventlog.Actor{Kind: eventlog.ActorSystem, ID: "cli:import"}
	}
	rep, err := New(deps.Runner, deps.Config).ImportFile(ctx, f, Source{Actor: actor}, progress)
	if err != nil && rep.Results == nil {
		return rep, err
	}
	if werr := rep.WriteText(out); werr != nil && err == nil {
		err = werr
	}
	if err == nil && !rep.Complete() {
		err = fmt.Errorf("%w: %d rejected, %d failed", ErrIncomplete, rep.Rejected, rep.Failed)
	}
	return rep, err
}

// WriteText writes the report for a terminal: the counts, then a table of
// the rows not imported (row, IC masked, column, reason). The rows an
// interrupted import (Ctrl-C) never reached are one line, not one each.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	notReached, firstNotReached := 0, 0
	for _, res := range r.Results {
		if res.wasStopped() {
			if notReached == 0 {
				firstNotReached = res.Row
			}
			notReached++
		}
	}
	if notReached > 0 {
		fmt.Fprintf(&b, "Employee master import stopped: %d of %d row(s) done (file SHA-256 %.16s…)\n", r.Rows-notReached, r.Rows, r.Digest)
	} else {
		fmt.Fprintf(&b, "Employee master import: %d row(s) read (file SHA-256 %.16s…)\n", r.Rows, r.Digest)
	}
	fmt.Fprintf(&b, "  new:       %d\n  rejoined:  %d\n  updated:   %d\n  unchanged: %d\n  rejected:  %d\n  failed:    %d\n",
		r.Created, r.Rejoined, r.Updated, r.Unchanged, r.Rejected, r.Failed-notReached)
	if notReached > 0 {
		fmt.Fprintf(&b, "Not read: the import was stopped before %d row(s), from row %d on; import the file again (rows already saved are not repeated).\n",
			notReached, firstNotReached)
	}
	if len(r.IgnoredColumns) > 0 {
		fmt.Fprintf(&b, "Columns not read: %s\n", strings.Join(r.IgnoredColumns, ", "))
	}
	if back := r.Rejoins(); len(back) > 0 {
		b.WriteString("Back in service (they had left; check each was meant — an old file brings leavers back):\n")
		for _, res := range back {
			fmt.Fprintf(&b, "  row %d  %s\n", res.Row, res.IC)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	var bad []RowResult
	for _, res := range r.NotImported() {
		if !res.wasStopped() {
			bad = append(bad, res)
		}
	}
	if len(bad) == 0 {
		if notReached > 0 {
			return nil
		}
		_, err := io.WriteString(w, "Every row is in the employee master.\n")
		return err
	}
	fmt.Fprintln(w, "Rows not imported (row as a spreadsheet shows it; fix them and import the file again —")
	fmt.Fprintln(w, "rows already imported are not repeated):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROW\tIC\tFIELD\tREASON")
	for _, res := range bad {
		for _, p := range res.Problems {
			field := p.Column
			if field == "" {
				field = p.Field
			}
			if field == "" {
				field = "(row)"
			}
			ic := res.IC
			if ic == "" {
				ic = "-"
			}
			row := strconv.Itoa(res.Row)
			if res.Line != res.Row {
				row += " (line " + strconv.Itoa(res.Line) + ")" // a cell above spans lines
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", row, ic, textfield.Clip(field), p.Reason)
		}
	}
	return tw.Flush()
}

// ProgressBar returns a progress callback drawing a bar on w (the CLI
// passes os.Stderr) and a finish function to call after Run. The bar is
// made on the first call, when the number of rows is known. An import
// stopped short of its last row leaves the bar where it stopped.
func ProgressBar(w io.Writer) (progress func(Progress), finish func()) {
	var bar *progressbar.ProgressBar
	var last Progress
	progress = func(p Progress) {
		last = p
		if bar == nil {
			bar = progressbar.NewOptions(p.Total,
				progressbar.OptionSetWriter(w),
				progressbar.OptionSetDescription("employees"),
				progressbar.OptionShowCount(),
				progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("rows"),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionFullWidth(),
			)
		}
		_ = bar.Set(p.Done)
	}
	finish = func() {
		if bar == nil {
			return
		}
		if last.Done < last.Total {
			_ = bar.Exit() // stopped: the bar stays where the import got to
		} else {
			_ = bar.Finish()
		}
		fmt.Fprintln(w)
	}
	return progress, finish
}
