// Package staffimport loads the employee master from a CSV file: the logic
// of `ispeks import employees FILE.csv` and of the administrator's upload
// page, independent of both.
//
// The file has a header row naming the columns (Malay or English names:
// "No. Pengenalan" or "ic", "Nama" or "name", "E-mel Rasmi" or "email",
// "Jabatan" or "department", "Jawatan" or "post", "No. Gaji" or
// "staff_number"; see Columns and headerNames) and one row per person.
// Import reads the whole file first and checks every row (the IC number
// with domain/mykad, the fields with domain/employee, the e-mail domain
// against the allow-list, the same IC twice in the file), then lands the
// valid rows through commands.PutStaff with bounded concurrency, so the
// event store's group commit shares its fsyncs among them.
//
// Each row is one command on one stream, so a row lands whole or not at all;
// a file that cannot be read (no header, a missing column, too big) lands
// nothing. Re-importing the same file appends nothing: an unchanged record
// is no change, and command IDs are derived from the file's content, the
// row, and the version of the person's stream the import saw.
package staffimport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/mykad"
	"github.com/melaka-gov/ispeks/domain/textfield"
)

// Defaults of Config.
const (
	DefaultConcurrency       = 32
	DefaultMaxBytes    int64 = 32 << 20 // a Melaka-sized master (30,000 staff) is about 5 MB
	DefaultMaxRows           = 200_000
	// A row being saved when the import is stopped is given this long to
	// finish, so its outcome is known; a save takes one group commit.
	DefaultStopGrace = 10 * time.Second
)

// Config tunes an Importer. The zero value is the production setting.
type Config struct {
	// AllowedDomains are the official e-mail domains (subdomains allowed);
	// default commands.DefaultAllowedDomain.
	AllowedDomains []string
	// Concurrency is how many rows are in flight at once (default 32).
	Concurrency int
	// MaxBytes and MaxRows bound the file (defaults 32 MiB, 200,000 rows).
	MaxBytes int64
	MaxRows  int
	// StopGrace is how long rows being saved when the import is stopped
	// may finish (default 10 s).
	StopGrace time.Duration
	Logger    *slog.Logger
}

// Streams reads an employee stream: its head for the command ID, and the
// event a row appended to tell a new record from an update.
type Streams interface {
	ReadStream(ctx context.Context, stream string, from uint64, dir eventlog.Direction, limit int) ([]eventlog.Record, error)
}

// Importer imports employee-master CSV files.
type Importer struct {
	Put     commands.Handler[commands.PutStaff]
	Streams Streams
	Config  Config
}

// New returns an Importer over the real PutStaff handler.
func New(runner commands.Runner, cfg Config) *Importer {
	return &Importer{Put: commands.PutStaffHandler{Runner: runner}, Streams: runner.Store, Config: cfg}
}

// Source is who imports the file: the CLI (a system actor) or an
// administrator on the upload page.
type Source struct {
	Actor         eventlog.Actor
	CorrelationID string // default "import-" + the first 16 hex digits of the file's SHA-256
	SourceIP      string
	UserAgent     string
}

// Outcome of one row.
type Outcome string

const (
	Created   Outcome = "created"   // the person entered the master
	Rejoined  Outcome = "rejoined"  // the person had left service and is in the master again: reported apart, so a stale file that brings a leaver back is noticed
	Updated   Outcome = "updated"   // the record changed
	Unchanged Outcome = "unchanged" // the master already says this: nothing appended
	Rejected  Outcome = "rejected"  // the row is wrong: fix it and import again
	Failed    Outcome = "failed"    // the row could not be saved: import the file again
)

// Problem is one thing wrong with a row.
type Problem struct {
	Field  string `json:"field,omitempty"`  // canonical column (ic, name, email, …); "" for the whole row
	Column string `json:"column,omitempty"` // the column's header as the file wrote it
	Code   string `json:"code"`             // required, too_long, invalid, invalid_date, invalid_place_code, control_character, domain_not_allowed, duplicate_ic, field_count, malformed, forbidden, internal, stopped, maybe_saved
	Reason string `json:"reason"`
}

// RowResult is what happened to one row. Row is the row a spreadsheet
// shows it on (the header is row 1); Line is the line of the file where it
// starts, which is further down when cells above it span lines or under
// Excel's "sep=;" line (which Excel reads and does not show as a row).
type RowResult struct {
	Row      int       `json:"row"`
	Line     int       `json:"line"`
	IC       string    `json:"ic,omitempty"` // masked (YYMMDD-PB-****): reports may be pasted anywhere
	Outcome  Outcome   `json:"result"`
	Problems []Problem `json:"problems,omitempty"`
	Position uint64    `json:"position,omitempty"`
}

// Report is the outcome of one file.
type Report struct {
	Digest         string      `json:"sha256"`
	Rows           int         `json:"rows"`
	Created        int         `json:"created"`
	Rejoined       int         `json:"rejoined"`
	Updated        int         `json:"updated"`
	Unchanged      int         `json:"unchanged"`
	Rejected       int         `json:"rejected"`
	Failed         int         `json:"failed"`
	LastPosition   uint64      `json:"last_position"` // highest position appended: wait for projections to reach it
	IgnoredColumns []string    `json:"ignored_columns,omitempty"`
	Results        []RowResult `json:"results"` // every data row, in file order
}

// NotImported returns the rejected and failed rows, in file order.
func (r Report) NotImported() []RowResult {
	var out []RowResult
	for _, res := range r.Results {
		if res.Outcome == Rejected || res.Outcome == Failed {
			out = append(out, res)
		}
	}
	return out
}

// Complete reports whether every row is in the master.
func (r Report) Complete() bool { return r.Rejected == 0 && r.Failed == 0 }

// Progress is how far an import is: Done of Total data rows have an
// outcome. Rows refused by the checks are done at once; rows an
// interrupted import never reached are not done.
type Progress struct {
	Done  int
	Total int
}

// valid is a row that passed every check, waiting to land.
type valid struct {
	at      int // index in Report.Results
	line    int // names the row in its command ID
	row     int
	details employee.Details
}

// File is an employee-master CSV file read and checked as a whole (Read):
// its size, encoding, header and rows, before any row is checked or lands.
// Reading it needs no store, so the console refuses a file before it opens
// (or makes) the data directory.
type File struct {
	sum     [sha256.Size]byte
	header  header
	records []record
}

// Read reads r to the end (at most cfg.MaxBytes) and checks the file as a
// whole. The error is a *FileError (errors.Is ErrFile) when the file is
// refused, with the File as far as it was read (its digest, the columns
// not read) for the report; r's error, and a nil File, when r cannot be
// read.
func Read(r io.Reader, cfg Config) (*File, error) {
	cfg = (&Importer{Config: cfg}).config()
	data, err := io.ReadAll(io.LimitReader(r, cfg.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("staffimport: read file: %w", err)
	}
	f := &File{sum: sha256.Sum256(data)}
	if int64(len(data)) > cfg.MaxBytes {
		fe := fileErr("too_large", 0, "the file is larger than %d bytes; split it", cfg.MaxBytes)
		fe.Limit = cfg.MaxBytes
		return f, fe
	}
	if data, err = stripBOM(data); err != nil {
		return f, err
	}
	if bytes.IndexByte(data, '\n') < 0 {
		// Excel for Mac's "CSV (Macintosh)" ends lines with a carriage
		// return alone, which encoding/csv does not take for a line end.
		data = bytes.ReplaceAll(data, []byte{'\r'}, []byte{'\n'})
	}
	f.header, f.records, err = readRecords(data, cfg.MaxRows)
	return f, err
}

// report is the report of f before any row is checked.
func (f *File) report() Report {
	return Report{Digest: hex.EncodeToString(f.sum[:]), IgnoredColumns: f.header.ignored}
}

// Import reads r to the end, checks every row, lands the valid ones and
// returns the report (Read, then ImportFile).
//
// The error is a *FileError (errors.Is ErrFile) when the file was refused
// as a whole (nothing landed); ctx's error when the import was stopped (the
// rows not yet landed are Failed); an error wrapping commands.ErrForbidden
// when src may not change the master (nothing landed).
func (im *Importer) Import(ctx context.Context, r io.Reader, src Source, progress func(Progress)) (Report, error) {
	f, err := Read(r, im.Config)
	switch {
	case f == nil:
		return Report{}, err
	case err != nil:
		return f.report(), err
	}
	return im.ImportFile(ctx, f, src, progress)
}

// ImportFile checks every row of a file Read accepted, lands the valid
// ones and returns the report. progress (optional) is called from one
// goroutine at a time, after the checks and after each row lands. The
// error is as Import's, a refused file aside.
func (im *Importer) ImportFile(ctx context.Context, f *File, src Source, progress func(Progress)) (Report, error) {
	cfg := im.config()
	sum, h, records := f.sum, f.header, f.records
	rep := f.report()

	rep.Rows = len(records)
	rep.Results = make([]RowResult, len(records))
	var todo []valid
	byIC := map[string][]int{} // IC → indexes of the rows naming it
	for i, rec := range records {
		res, d, ok := im.check(h, rec, cfg.AllowedDomains)
		rep.Results[i] = res
		if d.IC != "" {
			byIC[d.IC] = append(byIC[d.IC], i)
		}
		if ok {
			todo = append(todo, valid{at: i, line: rec.line, row: rec.row, details: d})
		}
	}
	dups := markDuplicates(rep.Results, byIC, h.column(ColIC))
	if dups > 0 {
		kept := todo[:0]
		for _, v := range todo {
			if rep.Results[v.at].Outcome != Rejected {
				kept = append(kept, v)
			}
		}
		todo = kept
	}

	if src.CorrelationID == "" {
		src.CorrelationID = "import-" + rep.Digest[:16]
	}
	var mu sync.Mutex // orders progress calls and result writes
	done := len(records) - len(todo)
	report := func() {
		if progress != nil {
			progress(Progress{Done: done, Total: len(records)})
		}
	}
	report()

	fatal := im.land(ctx, cfg, src, sum, todo, func(v valid, res RowResult) {
		mu.Lock()
		defer mu.Unlock()
		rep.Results[v.at] = res
		if res.wasStopped() {
			return // not done: the bar stays where the import stopped
		}
		done++
		report()
	})
	for _, res := range rep.Results {
		rep.count(res)
	}
	if fatal != nil {
		return rep, fatal
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	return rep, nil
}

func (rep *Report) count(res RowResult) {
	switch res.Outcome {
	case Created:
		rep.Created++
	case Rejoined:
		rep.Rejoined++
	case Updated:
		rep.Updated++
	case Unchanged:
		rep.Unchanged++
	case Rejected:
		rep.Rejected++
	default:
		rep.Failed++
	}
	rep.LastPosition = max(rep.LastPosition, res.Position)
}

func (im *Importer) config() Config {
	cfg := im.Config
	if len(cfg.AllowedDomains) == 0 {
		cfg.AllowedDomains = []string{commands.DefaultAllowedDomain}
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxRows <= 0 {
		cfg.MaxRows = DefaultMaxRows
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = DefaultStopGrace
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}

// check validates one row. d.IC is set whenever the IC number is valid,
// even if another field is not, so duplicates are found among every row.
func (im *Importer) check(h header, rec record, domains []string) (RowResult, employee.Details, bool) {
	res := RowResult{Row: rec.row, Line: rec.line, Outcome: Rejected}
	if rec.err != nil {
		res.Problems = []Problem{*rec.err}
		return res, employee.Details{}, false
	}
	cell := func(col string) string {
		if i := h.index[col]; i < len(rec.cells) {
			return rec.cells[i]
		}
		return ""
	}
	raw := employee.Details{
		IC: cell(ColIC), Name: cell(ColName), Email: cell(ColEmail),
		Department: cell(ColDepartment), Post: cell(ColPost), StaffNumber: cell(ColStaffNumber),
	}
	var d employee.Details
	if ic, err := mykad.Parse(raw.IC); err == nil {
		d.IC = ic.String()
		res.IC = ic.Masked()
	} else if v := strings.TrimSpace(raw.IC); v != "" {
		res.IC = mykad.Mask(v) // a wrong number, masked all the same
	}
	if len(rec.cells) != h.width {
		res.Problems = []Problem{{Code: "field_count", Reason: fmt.Sprintf(
			"has %d cells but the header has %d (%s inside a value must be in double quotes)", len(rec.cells), h.width, delimiterName(h.comma))}}
		return res, d, false
	}
	norm, err := raw.Validate()
	var fes employee.FieldErrors
	switch {
	case errors.As(err, &fes):
		for _, fe := range fes {
			reason := fe.Reason
			if fe.Field == ColIC {
				reason += spreadsheetNumberHint(raw.IC)
			}
			if i, ok := h.index[fe.Field]; ok && i < len(rec.cells) && !utf8.ValidString(rec.cells[i]) {
				reason += codePageHint
			}
			res.Problems = append(res.Problems, Problem{Field: fe.Field, Column: h.column(fe.Field), Code: fe.Code, Reason: reason})
		}
	case err != nil:
		res.Problems = append(res.Problems, Problem{Code: "invalid", Reason: err.Error()})
	}
	if err == nil || !hasField(res.Problems, ColEmail) {
		if email, ferr := employee.NormalizeEmail(ColEmail, raw.Email); ferr == nil && !employee.DomainAllowed(email, domains) {
			res.Problems = append(res.Problems, Problem{Field: ColEmail, Column: h.column(ColEmail), Code: "domain_not_allowed",
				Reason: fmt.Sprintf("%s is not an official e-mail domain (allowed: %s)", textfield.Clip(employee.EmailDomain(email)), strings.Join(domains, ", "))})
		}
	}
	if len(res.Problems) > 0 {
		return res, d, false
	}
	res.Outcome = ""
	return res, norm, true
}

// delimiterName names the file's delimiter in a row's message: a file
// Excel saved with "sep=;" (or a tab-separated one) has no comma to blame.
func delimiterName(comma rune) string {
	switch comma {
	case ';':
		return "a semicolon"
	case '\t':
		return "a tab"
	}
	return "a comma"
}

// codePageHint explains a cell that is not UTF-8: Excel's "CSV (Comma
// delimited)" writes the Windows code page, so an accent or the apostrophe
// its autocorrect types (D’Cruz) is not UTF-8. The file is not decoded as
// that code page: a file from a Chinese Windows would then land its names
// garbled rather than refused.
const codePageHint = ` (the file is not UTF-8 text: Excel's "CSV (Comma delimited)" writes the Windows code page; save it as "CSV UTF-8 (Comma delimited)" and import it again)`

// sciNumber is a number as a spreadsheet writes a large one it took for a
// number (8.80101E+11).
var sciNumber = regexp.MustCompile(`^[0-9](\.[0-9]+)?[eE]\+?[0-9]+$`)

// spreadsheetNumberHint explains an IC number a spreadsheet mangled by
// taking the column for numbers: it drops the leading zero of everyone born
// 2000–2009 and writes long numbers in scientific notation (rounded). The
// cell looks right in the spreadsheet, so "must be 12 digits" alone puzzles.
func spreadsheetNumberHint(raw string) string {
	v := strings.TrimSpace(raw)
	const fix = `; format the column as Text and type the IC numbers again (or write them with dashes)`
	switch {
	case sciNumber.MatchString(v):
		return " (a spreadsheet wrote it in scientific notation and rounded it" + fix + ")"
	case len(v) == 11 && strings.Trim(v, "0123456789") == "":
		if _, err := mykad.Parse("0" + v); err == nil {
			return " (it has 11 digits: a spreadsheet took it for a number and dropped its leading zero" + fix + ")"
		}
	}
	return ""
}

func hasField(ps []Problem, field string) bool {
	for _, p := range ps {
		if p.Field == field {
			return true
		}
	}
	return false
}

// markDuplicates rejects every row of an IC number the file names more
// than once: the file is ambiguous about that person, and picking one row
// would land something the administrator may not have meant.
func markDuplicates(results []RowResult, byIC map[string][]int, column string) int {
	n := 0
	for _, idx := range byIC {
		if len(idx) < 2 {
			continue
		}
		rows := make([]string, len(idx))
		for k, i := range idx {
			rows[k] = strconv.Itoa(results[i].Row)
		}
		for _, i := range idx {
			res := &results[i]
			res.Outcome = Rejected
			res.Problems = append(res.Problems, Problem{Field: ColIC, Column: column, Code: "duplicate_ic",
				Reason: "the same IC number is in rows " + strings.Join(rows, ", ") + "; a person must appear once"})
			n++
		}
	}
	return n
}

// importIDs is the UUID namespace of import command IDs.
var importIDs = uuid.MustParse("0d5b8a52-7c1e-4f0b-9a38-2e6d4c1f7b90")

// commandID names the command that lands one row. The stream version the
// import saw is part of it: without it, importing file A, then file B
// (which changes the person), then A again would propose A's first event
// IDs again, and the store would take them for a retry and append nothing.
// An ID repeats only when the stream has not moved since the attempt that
// used it, i.e. when that attempt appended nothing.
func commandID(digest [32]byte, line int, version uint64) uuid.UUID {
	name := make([]byte, 0, 64)
	name = append(name, digest[:]...)
	name = strconv.AppendInt(append(name, "/row/"...), int64(line), 10)
	name = strconv.AppendUint(append(name, "/version/"...), version, 10)
	return uuid.NewSHA1(importIDs, name)
}

// land runs the valid rows through PutStaff, cfg.Concurrency at a time, and
// hands each outcome to done. It returns an error that stops the whole
// import (the actor may not change the master).
func (im *Importer) land(ctx context.Context, cfg Config, src Source, digest [32]byte, todo []valid, done func(valid, RowResult)) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// Rows are saved on a context of their own: cut off by a stop, a row
	// would be reported not saved although it landed. A stop starts no
	// new row and lets the rows being saved finish, for a bounded time.
	runCtx, release := commands.WithStopGrace(ctx, cfg.StopGrace)
	defer release()
	jobs := make(chan valid)
	var wg sync.WaitGroup
	for range min(cfg.Concurrency, max(len(todo), 1)) {
		wg.Go(func() {
			for v := range jobs {
				res, fatal := im.one(ctx, runCtx, cfg, src, digest, v)
				if fatal != nil {
					cancel(fatal)
				}
				done(v, res)
			}
		})
	}
	for _, v := range todo {
		if ctx.Err() == nil {
			select {
			case jobs <- v:
				continue
			case <-ctx.Done():
			}
		}
		done(v, stopped(v, context.Cause(ctx)))
	}
	close(jobs)
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil && errors.Is(cause, commands.ErrForbidden) {
		return cause
	}
	return nil
}

// codeStopped is the problem of a row the import was stopped before.
const codeStopped = "stopped"

// wasStopped reports whether the import was stopped before res's row landed.
func (res RowResult) wasStopped() bool {
	return res.Outcome == Failed && len(res.Problems) == 1 && res.Problems[0].Code == codeStopped
}

func stopped(v valid, cause error) RowResult {
	res := RowResult{Row: v.row, Line: v.line, IC: mykad.IC(v.details.IC).Masked(), Outcome: Failed}
	if errors.Is(cause, commands.ErrForbidden) {
		res.Problems = []Problem{{Code: "forbidden", Reason: "not saved: the importer may not change the employee master"}}
	} else {
		res.Problems = []Problem{{Code: codeStopped, Reason: "not saved: the import was stopped; import the file again"}}
	}
	return res
}

// one lands one row: it reads on ctx and, unless ctx has ended by then,
// saves on runCtx.
func (im *Importer) one(ctx, runCtx context.Context, cfg Config, src Source, digest [32]byte, v valid) (RowResult, error) {
	ic := mykad.IC(v.details.IC)
	res := RowResult{Row: v.row, Line: v.line, IC: ic.Masked()}
	fail := func(code, reason string, err error) (RowResult, error) {
		res.Outcome = Failed
		res.Problems = []Problem{{Code: code, Reason: reason}}
		if err != nil && runCtx.Err() == nil {
			// The IC never goes to the log; the row number finds it.
			cfg.Logger.ErrorContext(ctx, "staffimport: row not saved", "row", v.row, "correlation_id", src.CorrelationID, "err", redact(err, v.details.IC))
		}
		return res, nil
	}
	stream := employee.Stream(ic)
	head, err := im.Streams.ReadStream(ctx, stream, 0, eventlog.Backwards, 1)
	if err != nil {
		if ctx.Err() != nil {
			return stopped(v, context.Cause(ctx)), nil
		}
		return fail("internal", "not saved: the event store could not be read; import the file again", err)
	}
	var version uint64
	if len(head) > 0 {
		version = head[0].Version
	}
	if ctx.Err() != nil {
		return stopped(v, context.Cause(ctx)), nil
	}
	out, err := im.Put.Handle(runCtx, commands.PutStaff{
		Meta: commands.Meta{
			CommandID: commandID(digest, v.line, version),
			// The ID is the server's, and names the stream version seen: a
			// row unchanged now records nothing (no employee.StaffUnchanged),
			// so the stream stays put and the same file imported again
			// proposes the same ID and finds the row unchanged again. A
			// marker would move the stream, so every re-import of the file
			// would record one per row.
			FreshID:       true,
			CorrelationID: src.CorrelationID,
			Actor:         src.Actor,
			SourceIP:      src.SourceIP,
			UserAgent:     src.UserAgent,
		},
		Details: v.details,
	})
	var fes employee.FieldErrors
	switch {
	case errors.Is(err, commands.ErrForbidden):
		res.Outcome = Failed
		res.Problems = []Problem{{Code: "forbidden", Reason: "not saved: the importer may not change the employee master"}}
		return res, fmt.Errorf("staffimport: %w", err)
	case errors.As(err, &fes):
		// Checked before landing; kept so a rule added to the domain is
		// still reported per field.
		res.Outcome = Rejected
		for _, fe := range fes {
			res.Problems = append(res.Problems, Problem{Field: fe.Field, Code: fe.Code, Reason: fe.Reason})
		}
		return res, nil
	case err != nil && runCtx.Err() != nil:
		// Still saving when the stop's grace ran out: the append may
		// commit after this gave up on it.
		res.Outcome = Failed
		res.Problems = []Problem{{Code: "maybe_saved", Reason: "the import was stopped while this row was being saved and it did not finish in time; it may have been saved: import the file again (it is then unchanged if it was)"}}
		return res, nil
	case err != nil:
		return fail("internal", "not saved: the event store refused or failed the write; import the file again", err)
	}
	res.Position = out.Position
	if out.Appended == 0 || out.NoChange {
		res.Outcome = Unchanged
		return res, nil
	}
	// The event this row appended says whether the person is new, or back
	// after leaving service (recorded again on a stream that had events).
	// The row has landed, so a stop signal now does not blur its label.
	recs, err := im.Streams.ReadStream(context.WithoutCancel(ctx), stream, out.Version, eventlog.Forwards, 1)
	if err != nil || len(recs) == 0 {
		res.Outcome = Updated // it landed; only the label is unsure
		return res, nil
	}
	switch {
	case recs[0].Type != (employee.StaffRecorded{}).EventType():
		res.Outcome = Updated
	case recs[0].Version > 1:
		res.Outcome = Rejoined
	default:
		res.Outcome = Created
	}
	return res, nil
}

// Rejoins returns the rows of people who had left service and are in the
// master again, in file order: the operator should check each was meant.
func (r Report) Rejoins() []RowResult {
	var out []RowResult
	for _, res := range r.Results {
		if res.Outcome == Rejoined {
			out = append(out, res)
		}
	}
	return out
}

// redact keeps the row's IC number out of an error bound for the log.
func redact(err error, ic string) string {
	s := err.Error()
	if ic != "" {
		s = strings.ReplaceAll(s, ic, "[IC]")
	}
	return s
}
