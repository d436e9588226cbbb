// Package ingest turns an NDJSON batch from a finance system (a payroll run,
// a day's payment-status changes) into commands, independent of HTTP: the
// API endpoint and `ispeks import` both call Ingester.Run.
//
// A batch streams: lines are read one at a time (each at most MaxLineBytes;
// a longer one is refused and reading goes on at the next line), run
// concurrently so the event store's group commit can put many lines behind
// one fsync, and answered in input order as soon as each is done. Memory
// stays bounded whatever the batch size: at most Concurrency lines and
// MaxBytesInFlight bytes of them are between reading and answering.
package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/semaphore"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/mykad"
	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/domain/statement"
)

// Defaults of an Ingester.
const (
	// A commit costs an fsync whatever it holds, so throughput grows with
	// the lines that can share one: measured on 2 cores, 64 lines in
	// flight gave 2,800 slips/s and 1,024 gave 5,300 (session 2); with
	// today's store, 180,000 slips with the projectors running took
	// 68–72 µs of CPU a slip at 1,024 and 63–70 µs at 4,096 (25,300–26,200
	// against 25,800–29,300 slips/s, alternating runs): while a group's
	// fsync runs, the lines behind it are already being prepared, and the
	// next group is larger. 8,192 added little. MaxBytesInFlight still
	// bounds the memory (16 MiB of lines, a few KiB each).
	DefaultConcurrency      = 4096
	DefaultMaxLineBytes     = 1 << 20
	DefaultMaxBytesInFlight = 16 << 20
	// A line already running when its batch is stopped is given this long
	// to finish: its answer then says whether it was stored. An append
	// takes one group commit, milliseconds; this bounds a stuck store.
	DefaultStopGrace = 10 * time.Second
)

// Ingester runs NDJSON batches through the command handlers.
type Ingester struct {
	Statements  commands.Handler[commands.IssueStatement]
	Corrections commands.Handler[commands.CorrectStatement]
	Payments    commands.Handler[commands.RecordPayment]
	Amendments  commands.Handler[commands.AmendPayment]
	Statuses    commands.Handler[commands.ChangePaymentStatus]

	Concurrency      int           // lines in flight; default 4096
	MaxLineBytes     int           // default 1 MiB
	MaxBytesInFlight int           // bytes of the lines in flight; default 16 MiB, at least MaxLineBytes
	StopGrace        time.Duration // how long running lines may finish after a stop; default 10 s
	Logger           *slog.Logger
}

// New wires an Ingester to the real handlers over runner, checking payees
// with payees (wrap it in a commands.PayeeCache for big batches).
func New(runner commands.Runner, payees commands.PayeeDirectory) *Ingester {
	return &Ingester{
		Statements:  commands.IssueStatementHandler{Runner: runner, Payees: payees},
		Corrections: commands.CorrectStatementHandler{Runner: runner},
		Payments:    commands.RecordPaymentHandler{Runner: runner, Payees: payees},
		Amendments:  commands.AmendPaymentHandler{Runner: runner},
		Statuses:    commands.ChangePaymentStatusHandler{Runner: runner},
	}
}

// Source is who sends a batch. Actor.ID is also the namespace of the batch's
// request IDs (unless Namespace is set): the same request ID from the same
// actor on the same record is the same command; on another record it is
// another request (commands.ClientCommandID).
type Source struct {
	Actor eventlog.Actor
	// Namespace, when set, replaces Actor.ID as the namespace of request
	// IDs. The console sets one fixed namespace so a file re-sent by another
	// operator is the same commands (duplicates), while Actor still records
	// who ran it.
	Namespace     string
	CorrelationID string
	SourceIP      string
	UserAgent     string
	// FreshRequestIDs: the request IDs were made by the server for this one
	// request (an API write without Idempotency-Key), not chosen by the
	// client, so none can come again (commands.Meta.FreshID).
	FreshRequestIDs bool
	// Allowed says whether the sender may send a kind of line (its scopes;
	// see Kind.Scope). nil allows every kind.
	Allowed func(Kind) bool
	// AmendmentIsPatch makes a payment_amendment line's amendment a JSON
	// merge patch (RFC 7396) of the current details: the members sent
	// replace the current ones, null clears one, the rest stay. It is
	// merged on the state the command decides on (PATCH /payments/{id}).
	AmendmentIsPatch bool
}

func (s Source) namespace() string {
	if s.Namespace != "" {
		return s.Namespace
	}
	return s.Actor.ID
}

// Outcome of one line.
type Outcome string

const (
	Accepted  Outcome = "accepted"  // new events appended
	Duplicate Outcome = "duplicate" // already done, or nothing to change: nothing changed
	Rejected  Outcome = "rejected"  // bad line: fix it before sending again
	Failed    Outcome = "failed"    // the server could not run it: send it again
)

// Codes of rejected and failed lines.
const (
	CodeMalformed    = "malformed"     // not one JSON object
	CodeTooLong      = "line_too_long" // longer than MaxLineBytes
	CodeInvalid      = "invalid"       // a field is wrong (Field, Reason)
	CodeForbidden    = "forbidden"     // the sender lacks the kind's scope
	CodeUnknownPayee = "unknown_payee" // IC not in the employee master
	CodeIllegalMove  = "illegal_move"  // status move not allowed (CurrentStatus, Allowed)
	CodeNotFound     = "not_found"     // no such payment / statement
	CodeConflict     = "conflict"      // exists with different content, or not amendable
	CodeInternal     = "internal"      // Failed: retry
	CodeBusy         = "busy"          // Failed: the record kept changing under the line (other requests at once); retry
	CodeMaybeStored  = "maybe_stored"  // Failed: the batch stopped while the line was being stored and it did not answer in time; a re-send is safe (duplicate if it was stored)
)

// Result answers one line.
type Result struct {
	Line          int      `json:"line"`
	RequestID     string   `json:"request_id,omitempty"`
	Kind          Kind     `json:"kind,omitempty"`
	Outcome       Outcome  `json:"result"`
	Position      uint64   `json:"position,omitempty"`
	Code          string   `json:"code,omitempty"`
	Field         string   `json:"field,omitempty"`
	Reason        string   `json:"reason,omitempty"`
	CurrentStatus string   `json:"current_status,omitempty"`
	Allowed       []string `json:"allowed,omitzero"` // on an illegal move only: empty (kept) from a final status
	// Incident is the ID a failed/internal line was logged under (also in
	// Reason), for an answer that has a field of its own for it.
	Incident string `json:"-"`
}

// Summary counts a batch's outcomes.
type Summary struct {
	Lines        int    `json:"lines"`
	Accepted     int    `json:"accepted"`
	Duplicates   int    `json:"duplicates"`
	Rejected     int    `json:"rejected"`
	Failed       int    `json:"failed"`
	LastPosition uint64 `json:"last_position"` // highest position an accepted line appended (wait for projections to reach it; a refusal recorded changes no view)
	// Unanswered counts the lines above whose answer could not be written
	// (emit failed: the client went away, the output closed). Lines
	// already running then still finish, and may be stored: they are
	// counted all the same, so the summary says what the batch did.
	Unanswered int `json:"unanswered,omitempty"`
}

func (s *Summary) add(r Result) {
	s.Lines++
	switch r.Outcome {
	case Accepted:
		s.Accepted++
		s.LastPosition = max(s.LastPosition, r.Position)
	case Duplicate:
		s.Duplicates++
	case Rejected:
		s.Rejected++
	default:
		s.Failed++
	}
}

// slot is one line on its way through a batch: decoded by a worker, given
// its turn by the dispatcher (after the previous line for the same record),
// run, and answered by the emitter in input order.
type slot struct {
	no      int
	line    []byte
	size    int64 // bytes of the line, counted in flight until answered
	res     Result
	key     string                 // the record's stream; "" when the line never reaches a command
	decoded chan struct{}          // closed when key is known
	ready   chan (<-chan struct{}) // the dispatcher sends the predecessor's done (nil: none)
	done    chan struct{}
}

// Run reads r line by line and calls emit with each line's result, in
// input order, as soon as it and every line before it are done. Lines about
// the same payment or statement run one after another in input order (a
// status change waits for the record before it); others run concurrently.
// Blank lines are skipped (they still count in line numbers). Run returns
// when r is exhausted, when ctx ends, or when emit or reading r fails; lines
// already running finish (for up to StopGrace) and are answered with what
// happened to them, the others are answered failed without having run.
// Once emit has failed no more answers are emitted, but the summary still
// counts every line taken in (Summary.Unanswered of them unanswered).
func (in *Ingester) Run(ctx context.Context, r io.Reader, src Source, emit func(Result) error) (Summary, error) {
	n := in.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	maxLine := in.MaxLineBytes
	if maxLine <= 0 {
		maxLine = DefaultMaxLineBytes
	}
	budget := in.MaxBytesInFlight
	if budget <= 0 {
		budget = DefaultMaxBytesInFlight
	}
	inFlight := semaphore.NewWeighted(int64(max(budget, maxLine)))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Lines run on a context of their own: cut off with the batch, a
	// line would be answered failed although it was stored. A stop lets
	// the running lines answer, for a bounded time.
	grace := in.StopGrace
	if grace <= 0 {
		grace = DefaultStopGrace
	}
	runCtx, release := commands.WithStopGrace(ctx, grace)
	defer release()

	jobs := make(chan *slot)
	seq := make(chan *slot, n)   // to the dispatcher, in input order
	order := make(chan *slot, n) // to the emitter, in input order
	var workers sync.WaitGroup
	for range n {
		workers.Go(func() {
			for s := range jobs {
				in.work(ctx, runCtx, src, s)
			}
		})
	}
	dispatched := make(chan struct{})
	go func() {
		defer close(dispatched)
		dispatch(seq, n)
	}()

	var sum Summary
	emitted := make(chan error, 1)
	go func() {
		var err error
		for s := range order {
			<-s.done
			inFlight.Release(s.size)
			sum.add(s.res)
			if err != nil {
				sum.Unanswered++
				continue
			}
			if err = emit(s.res); err != nil {
				sum.Unanswered++
				cancel()
			}
		}
		emitted <- err
	}()

	readErr := readLines(ctx, r, maxLine, func(no int, line []byte, tooLong bool) bool {
		s := &slot{no: no, line: line, size: int64(len(line)), decoded: make(chan struct{}), ready: make(chan (<-chan struct{}), 1), done: make(chan struct{})}
		// The decoded command is about as big as its line: the line's bytes
		// stay counted until it is answered.
		if err := inFlight.Acquire(ctx, s.size); err != nil {
			return false
		}
		select {
		case order <- s:
		case <-ctx.Done():
			inFlight.Release(s.size)
			return false
		}
		if tooLong {
			s.res = Result{Line: no, Outcome: Rejected, Code: CodeTooLong,
				Reason: "the line is longer than " + sizeText(maxLine) + "; it was skipped and reading went on at the next line"}
			close(s.done)
			return true
		}
		seq <- s // never blocks for long: the dispatcher only waits on decoding
		select {
		case jobs <- s:
			return true
		case <-ctx.Done():
			s.res = Result{Line: no, Outcome: Failed, Code: CodeInternal, Reason: reasonNotRun}
			close(s.decoded)
			<-s.ready
			close(s.done)
			return false
		}
	})
	close(jobs)
	workers.Wait()
	close(seq)
	<-dispatched
	close(order)
	emitErr := <-emitted
	switch {
	case emitErr != nil:
		return sum, emitErr
	case readErr != nil:
		return sum, readErr
	}
	return sum, ctx.Err()
}

// dispatch gives each line, in input order, the done channel of the last
// earlier line about the same record, so lines about one record run in
// order.
func dispatch(seq <-chan *slot, n int) {
	last := map[string]*slot{}
	for s := range seq {
		<-s.decoded
		if s.key == "" {
			s.ready <- nil
			continue
		}
		var prev <-chan struct{}
		if p, ok := last[s.key]; ok && !closed(p.done) {
			prev = p.done
		}
		s.ready <- prev
		last[s.key] = s
		if len(last) > 4*n+64 {
			// At most n+1 lines are unanswered: drop the finished ones.
			for k, p := range last {
				if closed(p.done) {
					delete(last, k)
				}
			}
		}
	}
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// reasonNotRun answers a line the batch was stopped before.
const reasonNotRun = "the batch was stopped before this line ran; nothing of it was stored, send it again"

// work decodes a line, waits for its turn, runs it on runCtx unless the batch
// (ctx) was stopped meanwhile, and closes its done.
func (in *Ingester) work(ctx, runCtx context.Context, src Source, s *slot) {
	run, res, prefix := in.prepare(ctx, src, s.no, s.line)
	s.line = nil
	if run != nil {
		s.key = res.key
	}
	close(s.decoded)
	if prev := <-s.ready; prev != nil {
		<-prev
	}
	if run != nil && ctx.Err() != nil {
		run = nil
		res.Outcome, res.Code = Failed, CodeInternal
		res.Reason = reasonNotRun
	}
	if run != nil {
		out, err := run(runCtx)
		switch {
		case err != nil:
			res.Result = in.fail(runCtx, res.Result, err, prefix)
		case out.Appended == 0, out.NoChange:
			// A line that changes nothing is answered duplicate, the first
			// time too (an amendment to the details the payment has): what
			// it records only makes it a repeat when it is sent again.
			res.Outcome = Duplicate
		default:
			res.Outcome, res.Position = Accepted, out.Position
		}
	}
	s.res = res.Result
	close(s.done)
}

func sizeText(n int) string {
	if n%(1<<20) == 0 {
		return strconv.Itoa(n>>20) + " MiB"
	}
	return strconv.Itoa(n) + " bytes"
}

// utf8BOM is the byte-order mark Windows tools (Excel's "CSV UTF-8",
// Notepad) write at the start of a UTF-8 file.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// ErrUTF16 refuses a batch that starts with a UTF-16 byte-order mark (what
// PowerShell 5's > and Out-File write): every line of it would be refused
// as malformed, each for a NUL byte, so the batch is refused as a whole
// before any line is read.
var ErrUTF16 = errors.New("ingest: the batch is UTF-16 (it starts with a UTF-16 byte-order mark); send it as UTF-8")

// CheckStart refuses a batch by its first bytes (at least 3 of them, or
// the whole batch when shorter), before any line is read: ErrUTF16 when
// it starts with a UTF-16 byte-order mark. Run checks this itself; the
// console checks it first too, before it opens the data directory, so a
// refused file leaves nothing behind.
func CheckStart(head []byte) error {
	if bytes.HasPrefix(head, utf8BOM) {
		return nil
	}
	if len(head) >= 2 && (head[0] == 0xFF && head[1] == 0xFE || head[0] == 0xFE && head[1] == 0xFF) {
		return ErrUTF16
	}
	return nil
}

// Blank reports whether r holds nothing but a byte-order mark, spaces and
// line breaks up to its end, looking no further than its buffer (a longer
// blank start is left to Run, which reports no lines). The console refuses
// such a file as empty before it opens the data directory; a blank API
// batch is a no-op and answered with an empty summary.
func Blank(r *bufio.Reader) bool {
	for n := 1; n <= r.Size(); n++ {
		b, err := r.Peek(n)
		if len(b) < n {
			return errors.Is(err, io.EOF)
		}
		c := b[n-1]
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' && !(n <= len(utf8BOM) && bytes.HasPrefix(utf8BOM, b)) {
			return false
		}
	}
	return false
}

// readLines calls fn for every non-blank line of r, with a copy of the line
// (without its line break) or with tooLong set when the line exceeds max
// bytes; the rest of a long line is skipped without being held in memory.
// A byte-order mark at the start of r is skipped: it is not part of the
// first line, which would otherwise be refused as malformed JSON.
func readLines(ctx context.Context, r io.Reader, max int, fn func(no int, line []byte, tooLong bool) bool) error {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(len(utf8BOM))
	if err := CheckStart(head); err != nil {
		return err
	}
	if bytes.Equal(head, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM))
	}
	var buf []byte
	for no := 1; ; no++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		buf = buf[:0]
		tooLong := false
		var err error
		for {
			var frag []byte
			frag, err = br.ReadSlice('\n')
			if !tooLong {
				content := len(buf) + len(bytes.TrimRight(frag, "\r\n"))
				if content > max {
					tooLong, buf = true, buf[:0]
				} else {
					buf = append(buf, frag...)
				}
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		switch {
		case tooLong:
			if !fn(no, nil, true) {
				return ctx.Err()
			}
		case len(bytes.TrimSpace(buf)) > 0:
			line := bytes.Clone(bytes.TrimRight(buf, "\r\n"))
			if !fn(no, line, false) {
				return ctx.Err()
			}
		}
		if err != nil { // io.EOF
			return nil
		}
	}
}

type prepared struct {
	Result
	key string
}

// prepare decodes a line and converts it into a command ready to run. A
// line that cannot run comes back with run nil and its result filled in.
func (in *Ingester) prepare(ctx context.Context, src Source, no int, b []byte) (run func(context.Context) (commands.Result, error), res prepared, prefix string) {
	res.Line = no
	w, err := decodeLine(b)
	if validRequestID(w.RequestID) {
		res.RequestID = w.RequestID
	}
	if w.Kind.object() != "" {
		res.Kind = w.Kind
	}
	if err != nil {
		res.Result = in.fail(ctx, res.Result, err, "")
		return nil, res, ""
	}
	if src.Allowed != nil && !src.Allowed(w.Kind) {
		res.Outcome, res.Code, res.Field = Rejected, CodeForbidden, "kind"
		res.Reason = "this client may not send " + string(w.Kind) + " lines (scope " + w.Kind.Scope() + " is needed)"
		return nil, res, ""
	}
	meta := commands.Meta{
		CommandID:     commands.ClientCommandID(src.namespace(), w.RequestID),
		FreshID:       src.FreshRequestIDs,
		CorrelationID: src.CorrelationID,
		Actor:         src.Actor,
		SourceIP:      src.SourceIP,
		UserAgent:     src.UserAgent,
	}
	prefix = w.Kind.object() + "."
	switch w.Kind {
	case KindStatement:
		c, cerr := w.Statement.content(prefix)
		err = cerr
		if err == nil {
			cmd := commands.IssueStatement{Meta: meta, StatementID: w.Statement.StatementID, Content: c}
			res.key = statement.Stream(cmd.StatementID)
			run = func(ctx context.Context) (commands.Result, error) { return in.Statements.Handle(ctx, cmd) }
		}
	case KindStatementCorrection:
		c, cerr := w.Correction.content(prefix)
		err = cerr
		if err == nil {
			cmd := commands.CorrectStatement{Meta: meta, StatementID: w.Correction.StatementID, Content: c, Reason: w.Correction.Reason}
			res.key = statement.Stream(cmd.StatementID)
			run = func(ctx context.Context) (commands.Result, error) { return in.Corrections.Handle(ctx, cmd) }
		}
	case KindPayment:
		d, cerr := w.Payment.details(prefix)
		err = cerr
		if err == nil {
			cmd := commands.RecordPayment{Meta: meta, PaymentID: w.Payment.PaymentID, Details: d}
			res.key = payment.Stream(cmd.PaymentID)
			run = func(ctx context.Context) (commands.Result, error) { return in.Payments.Handle(ctx, cmd) }
		}
	case KindPaymentAmendment:
		var d payment.Details
		var patch func(payment.Details) payment.Details
		if src.AmendmentIsPatch {
			patch, err = w.Amendment.patch(prefix, b)
		} else {
			d, err = w.Amendment.details(prefix)
		}
		if err == nil {
			cmd := commands.AmendPayment{Meta: meta, PaymentID: w.Amendment.PaymentID, Details: d, Reason: w.Amendment.Reason, Patch: patch}
			res.key = payment.Stream(cmd.PaymentID)
			run = func(ctx context.Context) (commands.Result, error) { return in.Amendments.Handle(ctx, cmd) }
		}
	case KindPaymentStatus:
		cmd := commands.ChangePaymentStatus{Meta: meta, PaymentID: w.Change.PaymentID, Change: w.Change.Change}
		res.key = payment.Stream(cmd.PaymentID)
		run = func(ctx context.Context) (commands.Result, error) { return in.Statuses.Handle(ctx, cmd) }
	}
	if err != nil {
		res.Result = in.fail(ctx, res.Result, err, prefix)
		return nil, res, prefix
	}
	return run, res, prefix
}

// fail turns a line's error into its result. Errors of the input are
// Rejected with field and reason; anything else is Failed, logged under an
// incident ID (without personal data) so the client can retry.
func (in *Ingester) fail(ctx context.Context, res Result, err error, prefix string) Result {
	res.Outcome, res.Code = Rejected, CodeInvalid
	var (
		fe   *FieldError
		pfe  *payment.FieldError
		sfe  *statement.FieldError
		up   *commands.UnknownPayeeError
		move *payment.IllegalMoveError
	)
	switch {
	case errors.As(err, &fe):
		res.Field, res.Reason = fe.Field, fe.Reason
		if fe.Field == "" {
			res.Code = CodeMalformed
		}
	case errors.As(err, &pfe):
		res.Field, res.Reason = prefix+pfe.Field, pfe.Reason
	case errors.As(err, &sfe):
		res.Field, res.Reason = prefix+sfe.Field, sfe.Reason
	case errors.As(err, &up):
		res.Code, res.Field = CodeUnknownPayee, prefix+up.Field
		res.Reason = "no employee with this IC number in the employee master (push the employee first)"
	case errors.As(err, &move):
		res.Code, res.Field = CodeIllegalMove, prefix+"status"
		res.Reason = strings.TrimPrefix(move.Error(), "payment: ")
		res.CurrentStatus = string(move.From)
		res.Allowed = make([]string, len(move.Allowed))
		for i, s := range move.Allowed {
			res.Allowed[i] = string(s)
		}
	case errors.Is(err, payment.ErrNotRecorded):
		res.Code, res.Field, res.Reason = CodeNotFound, prefix+"payment_id", "no payment with this ID (record it first)"
	case errors.Is(err, statement.ErrNotIssued):
		res.Code, res.Field, res.Reason = CodeNotFound, prefix+"statement_id", "no statement with this ID (issue it first)"
	case errors.Is(err, payment.ErrAlreadyRecorded):
		res.Code, res.Field, res.Reason = CodeConflict, prefix+"payment_id", "a payment with this ID is already recorded with different details (send a payment_amendment)"
	case errors.Is(err, payment.ErrNotAmendable):
		res.Code, res.Field, res.Reason = CodeConflict, prefix+"payment_id", strings.TrimPrefix(err.Error(), "payment: ")
	case errors.Is(err, statement.ErrAlreadyIssued):
		res.Code, res.Field, res.Reason = CodeConflict, prefix+"statement_id", "a statement with this ID is already issued with different content (send a statement_correction)"
	case errors.Is(err, eventlog.ErrCommandReused):
		res.Code, res.Field, res.Reason = CodeConflict, "request_id", "was already used for a different change to this record; nothing was changed (send a new request ID for a new change)"
	case errors.Is(err, eventlog.ErrEventTooLarge):
		res.Field, res.Reason = prefix[:len(prefix)-1], "is too large to store (at most 1 MiB)"
	case errors.Is(err, commands.ErrConflict):
		// Other requests kept changing the record while this one was
		// decided: nothing of this line was written, and the server is not
		// at fault, so no incident; the line is to be sent again.
		res.Outcome, res.Code, res.Field = Failed, CodeBusy, ""
		res.Reason = "the record was being changed by other requests at the same time; nothing was changed, send this line again"
	default:
		incident := uuid.NewString()
		res.Outcome, res.Code, res.Field, res.Incident = Failed, CodeInternal, "", incident
		res.Reason = "the server could not process this line (incident " + incident + "); send it again"
		if ctx.Err() != nil {
			// Only a line still running when the stop's grace ran out:
			// its append may have committed after it stopped waiting.
			res.Code, res.Incident = CodeMaybeStored, ""
			res.Reason = "the batch was stopped while this line was being stored; it may have been stored: send it again (it is then answered duplicate if it was)"
		} else {
			in.logger().ErrorContext(ctx, "ingest: line failed", "incident", incident, "line", res.Line, "kind", res.Kind, "error", mykad.Redact(err.Error())) // stream names carry IC numbers
		}
	}
	return res
}

func (in *Ingester) logger() *slog.Logger {
	if in.Logger != nil {
		return in.Logger
	}
	return slog.Default()
}

// WriteNDJSON returns an emit function that writes each result as one JSON
// line to w.
func WriteNDJSON(w io.Writer) func(Result) error {
	enc := json.NewEncoder(w)
	return func(r Result) error { return enc.Encode(r) }
}
