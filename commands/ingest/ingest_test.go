package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/commands/ingest"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
)

var testNow = time.Date(2025, 3, 10, 2, 0, 0, 0, time.UTC)

type rig struct {
	store  *sqlite.Store
	runner commands.Runner
	in     *ingest.Ingester
	src    ingest.Source
}

func newRig(tb testing.TB) *rig {
	tb.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "events.db"), sqlite.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	reg := eventlog.NewRegistry()
	payment.Register(reg)
	statement.Register(reg)
	runner := commands.Runner{Store: store, Registry: reg, Now: func() time.Time { return testNow }}
	return &rig{
		store:  store,
		runner: runner,
		in:     ingest.New(runner, &commands.PayeeCache{Next: commands.EmployeeStreams{Store: store}}),
		src:    ingest.Source{Actor: eventlog.Actor{Kind: eventlog.ActorClient, ID: "payroll"}, CorrelationID: "batch-1"},
	}
}

// testIC gives a distinct valid IC number for every i.
func testIC(i int) string {
	d := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/10000)
	return fmt.Sprintf("%s01%04d", d.Format("060102"), i%10000)
}

// employees puts the first n test ICs into the employee master.
func (r *rig) employees(tb testing.TB, n int) {
	tb.Helper()
	// Concurrent appends share the store's group commits: seeding a
	// Melaka-sized master takes seconds, not minutes.
	var wg sync.WaitGroup
	next := make(chan int)
	for range 64 {
		wg.Go(func() {
			for i := range next {
				r.employee(tb, i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

func (r *rig) employee(tb testing.TB, i int) {
	{
		ic := testIC(i)
		data, _ := json.Marshal(employee.StaffRecorded{IC: ic, Name: "Staf " + ic, Email: "staf@melaka.gov.my", Department: "JKPNM", Post: "Pegawai", StaffNumber: "S" + ic})
		_, err := r.store.Append(context.Background(), "employee-"+ic, eventlog.NoStream(), []eventlog.Proposed{{
			ID: uuid.New(), Type: employee.StaffRecorded{}.EventType(), OccurredAt: testNow, Data: data,
			Metadata: eventlog.Metadata{Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "test"}},
		}})
		if err != nil {
			tb.Error(err)
		}
	}
}

func (r *rig) run(tb testing.TB, input string) ([]ingest.Result, ingest.Summary) {
	tb.Helper()
	var out []ingest.Result
	sum, err := r.in.Run(context.Background(), strings.NewReader(input), r.src, func(res ingest.Result) error {
		out = append(out, res)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out, sum
}

func slipLine(req, id, ic string, month int) string {
	return fmt.Sprintf(`{"kind":"statement","request_id":%q,"statement":{"statement_id":%q,"type":"slip-gaji-bulanan",`+
		`"period":{"year":2025,"month":%d},"payee":{"ic":%q,"name":"Nurul Aina binti Hassan","staff_no":"MLK0042",`+
		`"department":"Jabatan Kewangan dan Perbendaharaan Negeri Melaka","post":"Pembantu Tadbir","grade":"N19"},`+
		`"employer":{"name":"Kerajaan Negeri Melaka"},"earnings":[{"code":"0001","name":"Gaji Pokok","amount_sen":250000},`+
		`{"name":"ITKA","amount_sen":30000},{"name":"COLA","amount_sen":35000}],"deductions":[{"name":"PCB","amount_sen":1000},`+
		`{"name":"KWSP","amount_sen":27500},{"name":"PERKESO","amount_sen":1475}],`+
		`"totals":{"earnings_sen":315000,"deductions_sen":29975,"net_sen":285025}}}`, req, id, month, ic)
}

// receivedLine is paymentLine received on 1 March 2025 (a status move may
// not be dated before it; paymentLine's defaults to the test's today).
func receivedLine(req, id, ic string) string {
	return strings.Replace(paymentLine(req, id, ic), `"amount_sen"`, `"received_date":"2025-03-01","amount_sen"`, 1)
}

func paymentLine(req, id, ic string) string {
	return fmt.Sprintf(`{"kind":"payment","request_id":%q,"payment":{"payment_id":%q,"module":"tuntutan","type":"tuntutan-perjalanan",`+
		`"voucher_no":"BV-%s","voucher_date":"2025-03-01","description":"Tuntutan perjalanan","amount_sen":45000,"payee_ic":%q}}`, req, id, id, ic)
}

func changeLine(req, id, body string) string {
	return fmt.Sprintf(`{"kind":"payment_status","request_id":%q,"change":{"payment_id":%q,%s}}`, req, id, body)
}

func TestBatchAnswersEveryLineInOrder(t *testing.T) {
	r := newRig(t)
	r.employees(t, 3)
	ic0, ic1 := testIC(0), testIC(1)
	lines := []string{
		/* 1 */ slipLine("r1", "S1", ic0, 1),
		/* 2 */ slipLine("r2", "S2", ic1, 1),
		/* 3 */ paymentLine("r3", "P1", ic0),
		/* 4 */ changeLine("r4", "P1", `"status":"dalam-proses"`),
		/* 5 */ changeLine("r5", "P1", `"status":"dihantar-ke-bank"`), // illegal
		/* 6 */ `{"kind":"statement","request_id":"r6","statement":{`, // malformed
		/* 7 */ strings.Replace(slipLine("r7", "S7", ic0, 2), `"grade":"N19"`, `"grade":"N19","salary_scale":"P1T1"`, 1),
		/* 8 */ strings.Replace(slipLine("r8", "S8", ic0, 3), `"amount_sen":250000`, `"amount_sen":2500.00`, 1),
		/* 9 */ strings.Replace(slipLine("r9", "S9", ic0, 4), `"amount_sen":1000}`, `"amount_sen":-1000}`, 1),
		/* 10 */ strings.Replace(slipLine("r10", "S10", ic0, 5), `"net_sen":285025`, `"net_sen":285000`, 1),
		/* 11 */ slipLine("r11", "S11", testIC(99), 1), // unknown payee
		/* 12 */ "",
		/* 13 */ `{"request_id":"r13"}`,
		/* 14 */ slipLine("r1", "S1", ic0, 1), // repeat of line 1
		/* 15 */ strings.Replace(paymentLine("r15", "P2", ic1), `"amount_sen":45000`, `"amount_sen":"450.00"`, 1),
		/* 16 */ `{"kind":"payment","request_id":"r16","payment":{"payment_id":"P3"},"change":{"payment_id":"P3"}}`,
		/* 17 */ `[1,2,3]`,
		/* 18 */ changeLine("r18", "P404", `"status":"dalam-proses"`),
		/* 19 */ `{"kind":"statement","request_id":"r 19","statement":{}}`,
		/* 20 */ slipLine("r20", "S20", ic1, 2) + " {}",
		/* 21 */ strings.Replace(slipLine("r21", "S21", ic1, 3), `"kind":"statement",`, `"kind":"statement","kind":"payment",`, 1),
		/* 22 */ strings.Replace(slipLine("r22", "S22", ic1, 4), `"kind":`, `"Kind":`, 1),
		/* 23 */ strings.Replace(slipLine("r23", "S23", ic1, 5), `"year":2025`, `"year":"2025"`, 1),
		/* 24 */ strings.Replace(slipLine("r24", "S24", ic1, 6), `"month":6`, `"month":6.5`, 1),
		/* 25 */ strings.Replace(slipLine("r25", "S25", ic1, 7), `"earnings":[`, `"earnings":[{"name":"Elaun","amount_sen":1e2},`, 1),
	}
	results, sum := r.run(t, strings.Join(lines, "\n")+"\n")

	type want struct {
		line    int
		outcome ingest.Outcome
		code    string
		field   string
		reason  string // substring
	}
	wants := []want{
		{1, ingest.Accepted, "", "", ""},
		{2, ingest.Accepted, "", "", ""},
		{3, ingest.Accepted, "", "", ""},
		{4, ingest.Accepted, "", "", ""},
		{5, ingest.Rejected, ingest.CodeIllegalMove, "change.status", "Dalam Proses"},
		{6, ingest.Rejected, ingest.CodeMalformed, "", "malformed JSON"},
		{7, ingest.Rejected, ingest.CodeInvalid, "statement.payee.salary_scale", "unknown field"},
		{8, ingest.Rejected, ingest.CodeInvalid, "statement.earnings[0].amount_sen", "whole number of sen"},
		{9, ingest.Rejected, ingest.CodeInvalid, "statement.deductions[0].amount_sen", "negative"},
		{10, ingest.Rejected, ingest.CodeInvalid, "statement.totals.net_sen", "285025"},
		{11, ingest.Rejected, ingest.CodeUnknownPayee, "statement.payee.ic", "employee master"},
		{13, ingest.Rejected, ingest.CodeInvalid, "kind", "required"},
		{14, ingest.Duplicate, "", "", ""},
		{15, ingest.Rejected, ingest.CodeInvalid, "payment.amount_sen", "not a string"},
		{16, ingest.Rejected, ingest.CodeInvalid, "change", "not expected"},
		{17, ingest.Rejected, ingest.CodeMalformed, "", "JSON object"},
		{18, ingest.Rejected, ingest.CodeNotFound, "change.payment_id", "no payment"},
		{19, ingest.Rejected, ingest.CodeInvalid, "request_id", "letters"},
		{20, ingest.Rejected, ingest.CodeMalformed, "", "one JSON object per line"},
		{21, ingest.Rejected, ingest.CodeInvalid, "kind", "twice"},
		{22, ingest.Rejected, ingest.CodeInvalid, "Kind", "unknown field"},
		{23, ingest.Rejected, ingest.CodeInvalid, "statement.period.year", "not a string"},
		{24, ingest.Rejected, ingest.CodeInvalid, "statement.period.month", "whole number"},
		{25, ingest.Rejected, ingest.CodeInvalid, "statement.earnings[0].amount_sen", "exponent"},
	}
	if len(results) != len(wants) {
		t.Fatalf("%d results, want %d: %+v", len(results), len(wants), results)
	}
	for i, w := range wants {
		got := results[i]
		if got.Line != w.line || got.Outcome != w.outcome || got.Code != w.code || got.Field != w.field || !strings.Contains(got.Reason, w.reason) {
			t.Errorf("line %d: got %+v, want %+v", w.line, got, w)
		}
	}
	if results[4].CurrentStatus != "dalam-proses" || strings.Join(results[4].Allowed, ",") != "diluluskan,dibatalkan" {
		t.Errorf("illegal move detail: %+v", results[4])
	}
	if results[0].RequestID != "r1" || results[0].Kind != ingest.KindStatement || results[0].Position == 0 {
		t.Errorf("%+v", results[0])
	}
	if sum.Lines != 24 || sum.Accepted != 4 || sum.Duplicates != 1 || sum.Rejected != 19 || sum.Failed != 0 || sum.LastPosition != maxPosition(results) {
		t.Errorf("summary %+v", sum)
	}
	// Nothing half-written: the rejected lines left no stream behind.
	for _, s := range []string{"statement-S7", "statement-S8", "statement-S9", "statement-S10", "statement-S11", "statement-S20", "payment-P2", "payment-P404"} {
		if recs, _ := r.store.ReadStream(context.Background(), s, 1, eventlog.Forwards, 10); len(recs) != 0 {
			t.Errorf("%s has %d events", s, len(recs))
		}
	}
	// Its record, its move, and line 5's refusal, recorded under r5 so
	// that the line re-sent gets the same answer.
	if recs, _ := r.store.ReadStream(context.Background(), "payment-P1", 1, eventlog.Forwards, 10); len(recs) != 3 || recs[2].Type != "payment.MoveRefused.v1" {
		t.Errorf("payment-P1 has %d events", len(recs))
	}
	if recs, _ := r.store.ReadStream(context.Background(), "statement-S1", 1, eventlog.Forwards, 10); len(recs) != 1 || recs[0].Metadata.Actor.ID != "payroll" || recs[0].Metadata.CorrelationID != "batch-1" {
		t.Errorf("statement-S1: %+v", recs)
	}
}

func TestResubmittedBatchAppendsNothing(t *testing.T) {
	r := newRig(t)
	r.employees(t, 20)
	var b strings.Builder
	for i := range 200 {
		fmt.Fprintln(&b, slipLine(fmt.Sprintf("run-2025-01-%04d", i), fmt.Sprintf("SG-2025-01-%04d", i), testIC(i%20), 1+i/20))
	}
	fmt.Fprintln(&b, receivedLine("p1", "P1", testIC(0)))
	fmt.Fprintln(&b, changeLine("p2", "P1", `"status":"dalam-proses","date":"2025-03-02"`))
	fmt.Fprintln(&b, changeLine("p3", "P1", `"status":"dibatalkan","reason":"Permohonan ditarik balik"`))
	fmt.Fprintln(&b, `{"kind":"statement_correction","request_id":"c1","correction":`+
		strings.TrimSuffix(strings.SplitN(strings.Replace(strings.Replace(slipLine("x", "SG-2025-01-0000", testIC(0), 1), `"N19"`, `"N22"`, 1), `"net_sen":285025}`, `"net_sen":285025},"reason":"Gred dibetulkan"`, 1), `"statement":`, 2)[1], "}")+"}")
	input := b.String()

	first, sum1 := r.run(t, input)
	if sum1.Accepted != 204 || sum1.Rejected != 0 {
		t.Fatalf("first run %+v; %+v", sum1, first[len(first)-1])
	}
	before, _ := r.store.LastPosition(context.Background())
	second, sum2 := r.run(t, input)
	after, _ := r.store.LastPosition(context.Background())
	if sum2.Duplicates != 204 || sum2.Accepted != 0 || before != after {
		t.Fatalf("second run %+v; log %d → %d", sum2, before, after)
	}
	for i, res := range second {
		if res.Line != i+1 || res.Outcome != ingest.Duplicate {
			t.Fatalf("%+v", res)
		}
	}
}

func TestCorrectionLine(t *testing.T) {
	r := newRig(t)
	r.employees(t, 1)
	slip := slipLine("i1", "S1", testIC(0), 1)
	corrected := strings.Replace(slip, `"kind":"statement","request_id":"i1","statement":`, `"kind":"statement_correction","request_id":"c1","correction":`, 1)
	corrected = strings.Replace(corrected, `"grade":"N19"`, `"grade":"N22"`, 1)
	noReason := corrected
	corrected = strings.Replace(corrected, `"net_sen":285025}`, `"net_sen":285025},"reason":"Gred dinaikkan"`, 1)
	res, _ := r.run(t, slip+"\n"+noReason+"\n"+corrected+"\n")
	if res[0].Outcome != ingest.Accepted || res[1].Field != "correction.reason" || res[2].Outcome != ingest.Accepted {
		t.Fatalf("%+v", res)
	}
	recs, _ := r.store.ReadStream(context.Background(), "statement-S1", 1, eventlog.Forwards, 10)
	if len(recs) != 2 || recs[1].Type != "statement.Corrected.v1" {
		t.Fatalf("%+v", recs)
	}
}

func TestScopes(t *testing.T) {
	r := newRig(t)
	r.employees(t, 1)
	r.src.Allowed = func(k ingest.Kind) bool { return k.Scope() == "payments:write" }
	res, _ := r.run(t, slipLine("r1", "S1", testIC(0), 1)+"\n"+paymentLine("r2", "P1", testIC(0))+"\n")
	if res[0].Code != ingest.CodeForbidden || !strings.Contains(res[0].Reason, "statements:write") || res[1].Outcome != ingest.Accepted {
		t.Fatalf("%+v", res)
	}
}

// repeatReader yields n copies of b without holding them.
type repeatReader struct {
	b   byte
	n   int
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	k := min(len(p), r.n-r.off)
	for i := range k {
		p[i] = r.b
	}
	r.off += k
	return k, nil
}

func TestTenMegabyteLineIsRefusedAndReadingGoesOn(t *testing.T) {
	r := newRig(t)
	r.employees(t, 1)
	input := io.MultiReader(
		strings.NewReader(slipLine("r1", "S1", testIC(0), 1)+"\n"+`{"kind":"statement","request_id":"big","statement":{"payee":{"name":"`),
		&repeatReader{b: 'a', n: 10 << 20},
		strings.NewReader(`"}}}`+"\r\n"+slipLine("r3", "S3", testIC(0), 2)+"\r\n"+slipLine("r4", "S4", testIC(0), 3)), // no final newline
	)
	var res []ingest.Result
	sum, err := r.in.Run(context.Background(), input, r.src, func(x ingest.Result) error { res = append(res, x); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 || res[1].Code != ingest.CodeTooLong || res[1].Line != 2 || !strings.Contains(res[1].Reason, "1 MiB") ||
		res[0].Outcome != ingest.Accepted || res[2].Outcome != ingest.Accepted || res[3].Outcome != ingest.Accepted || res[3].Line != 4 {
		t.Fatalf("%+v", res)
	}
	if sum.Rejected != 1 || sum.Accepted != 3 {
		t.Fatalf("%+v", sum)
	}
}

func TestEmitErrorStopsTheBatch(t *testing.T) {
	r := newRig(t)
	r.employees(t, 1)
	var b strings.Builder
	for i := range 500 {
		fmt.Fprintln(&b, slipLine(fmt.Sprint("r", i), fmt.Sprint("S", i), testIC(0), 1+i%12))
	}
	stop := errors.New("client went away")
	n := 0
	_, err := r.in.Run(context.Background(), strings.NewReader(b.String()), r.src, func(ingest.Result) error {
		n++
		if n == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 10 {
		t.Fatalf("%v after %d results", err, n)
	}
}

func TestResultsAreNDJSON(t *testing.T) {
	r := newRig(t)
	var out bytes.Buffer
	_, err := r.in.Run(context.Background(), strings.NewReader("{\n"), r.src, ingest.WriteNDJSON(&out))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || got["result"] != "rejected" || got["code"] != "malformed" || got["line"] != float64(1) {
		t.Fatalf("%s %v", out.String(), err)
	}
}

func maxPosition(rs []ingest.Result) uint64 {
	var m uint64
	for _, r := range rs {
		m = max(m, r.Position)
	}
	return m
}

// concurrencyProbe wraps the real statement handler and records how many
// lines run at once.
type concurrencyProbe struct {
	next      commands.Handler[commands.IssueStatement]
	mu        sync.Mutex
	now, most int
}

func (p *concurrencyProbe) Handle(ctx context.Context, cmd commands.IssueStatement) (commands.Result, error) {
	p.mu.Lock()
	p.now++
	p.most = max(p.most, p.now)
	p.mu.Unlock()
	time.Sleep(time.Millisecond) // long enough for the reader to offer more lines
	defer func() { p.mu.Lock(); p.now--; p.mu.Unlock() }()
	return p.next.Handle(ctx, cmd)
}

func TestBytesInFlightBoundTheLinesRunningAtOnce(t *testing.T) {
	r := newRig(t)
	r.employees(t, 10)
	probe := &concurrencyProbe{next: r.in.Statements}
	r.in.Statements = probe
	var b strings.Builder
	longest := 0
	for i := range 40 {
		line := slipLine(fmt.Sprintf("b-%d", i), fmt.Sprintf("SG-B-%d", i), testIC(i%10), 1+i%12)
		longest = max(longest, len(line))
		fmt.Fprintln(&b, line)
	}
	// Room for two lines, however many workers there are.
	r.in.Concurrency, r.in.MaxLineBytes, r.in.MaxBytesInFlight = 64, longest+1, 2*longest+1

	_, sum := r.run(t, b.String())
	if sum.Accepted != 40 {
		t.Fatalf("summary %+v, want every line accepted", sum)
	}
	if probe.most > 2 || probe.most < 1 {
		t.Errorf("%d lines ran at once, want at most 2 (the bytes in flight allow two)", probe.most)
	}
}

// A request ID is one change: sent again with the same line it is a
// duplicate; sent with another change to the same record it is refused on
// request_id, and nothing is written (the client must not believe that the
// cancellation or correction happened).
func TestRequestIDUsedAgainForAnotherChange(t *testing.T) {
	r := newRig(t)
	r.employees(t, 1)
	slip := slipLine("i1", "S1", testIC(0), 1)
	correction := strings.Replace(slip, `"kind":"statement","request_id":"i1","statement":`, `"kind":"statement_correction","request_id":"i1","correction":`, 1)
	correction = strings.Replace(correction, `"grade":"N19"`, `"grade":"N22"`, 1)
	correction = strings.Replace(correction, `"net_sen":285025}`, `"net_sen":285025},"reason":"Gred dinaikkan"`, 1)
	in := strings.Join([]string{
		paymentLine("p1", "P1", testIC(0)),
		changeLine("s1", "P1", `"status":"dalam-proses"`),
		changeLine("s1", "P1", `"status":"dibatalkan","reason":"Permohonan ditarik balik"`),
		changeLine("s1", "P1", `"status":"dalam-proses"`),
		strings.Replace(paymentLine("p1", "P1", testIC(0)), "45000", "46000", 1),
		slip,
		correction,
		slip,
	}, "\n") + "\n"
	res, _ := r.run(t, in)
	want := []ingest.Outcome{ingest.Accepted, ingest.Accepted, ingest.Rejected, ingest.Duplicate, ingest.Rejected, ingest.Accepted, ingest.Rejected, ingest.Duplicate}
	for i, w := range want {
		got := res[i]
		if got.Outcome != w {
			t.Errorf("line %d: %+v, want %s", i+1, got, w)
			continue
		}
		if w == ingest.Rejected && (got.Code != ingest.CodeConflict || got.Field != "request_id" || !strings.Contains(got.Reason, "already used for a different change")) {
			t.Errorf("line %d: %+v, want a conflict on request_id", i+1, got)
		}
	}
	for stream, n := range map[string]int{"payment-P1": 2, "statement-S1": 1} {
		recs, err := r.store.ReadStream(context.Background(), stream, 1, eventlog.Forwards, 10)
		if err != nil || len(recs) != n {
			t.Errorf("%s: %d events (%v), want %d", stream, len(recs), err, n)
		}
	}
}

// A batch saved by a Windows tool starts with a UTF-8 byte-order mark:
// before, its first line was refused as malformed JSON ("invalid character
// '\ufeff'") and the slip was missing from the run.
func TestByteOrderMarkBeforeTheFirstLine(t *testing.T) {
	r := newRig(t)
	r.employees(t, 1)
	res, sum := r.run(t, "\ufeff"+slipLine("r1", "S1", testIC(0), 1)+"\r\n\r\n"+slipLine("r2", "S2", testIC(0), 2)+"\r\n")
	if len(res) != 2 || res[0].Outcome != ingest.Accepted || res[0].Line != 1 || res[1].Outcome != ingest.Accepted || res[1].Line != 3 {
		t.Fatalf("%+v", res)
	}
	if sum.Accepted != 2 {
		t.Fatalf("%+v", sum)
	}
	// Only at the start: a mark inside the batch is a malformed line.
	res, _ = r.run(t, slipLine("r3", "S3", testIC(0), 3)+"\n\ufeff"+slipLine("r4", "S4", testIC(0), 4))
	if len(res) != 2 || res[1].Code != ingest.CodeMalformed {
		t.Fatalf("%+v", res)
	}
}

// PowerShell 5's > writes UTF-16LE with a byte-order mark: every line was
// answered malformed (a NUL after each character), a run of rejections
// that never said why. The batch is refused as a whole, before any line.
func TestUTF16BatchIsRefusedAsAWhole(t *testing.T) {
	r := newRig(t)
	r.employees(t, 1)
	text := slipLine("r1", "S1", testIC(0), 1) + "\r\n"
	utf16 := []byte{0xFF, 0xFE}
	for _, c := range text {
		utf16 = append(utf16, byte(c), 0)
	}
	var got []ingest.Result
	sum, err := r.in.Run(context.Background(), bytes.NewReader(utf16), r.src, func(x ingest.Result) error { got = append(got, x); return nil })
	if !errors.Is(err, ingest.ErrUTF16) || len(got) != 0 || sum.Lines != 0 {
		t.Fatalf("err %v, %d results, %+v", err, len(got), sum)
	}
}

// A move refused from a final status answers "allowed": [] (no move is
// allowed), not an answer without the member: a client reads the allowed
// moves from it, as from a refusal with some.
func TestIllegalMoveFromAFinalStatusAnswersNoAllowedMoves(t *testing.T) {
	r := newRig(t)
	r.employees(t, 1)
	lines := []string{
		paymentLine("r1", "P1", testIC(0)),
		changeLine("r2", "P1", `"status":"dibatalkan","reason":"Dibatalkan oleh pemohon"`),
		changeLine("r3", "P1", `"status":"dalam-proses"`),
		paymentLine("r4", "P2", testIC(0)),
	}
	var out bytes.Buffer
	if _, err := r.in.Run(context.Background(), strings.NewReader(strings.Join(lines, "\n")), r.src, ingest.WriteNDJSON(&out)); err != nil {
		t.Fatal(err)
	}
	answers := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(answers) != 4 {
		t.Fatalf("%d answers: %s", len(answers), out.String())
	}
	var refused map[string]any
	if err := json.Unmarshal([]byte(answers[2]), &refused); err != nil {
		t.Fatal(err)
	}
	allowed, ok := refused["allowed"].([]any)
	if refused["code"] != ingest.CodeIllegalMove || refused["current_status"] != "dibatalkan" || !ok || len(allowed) != 0 {
		t.Fatalf("refusal from a final status: %s", answers[2])
	}
	// Other answers still leave it out.
	if strings.Contains(answers[0], `"allowed"`) || strings.Contains(answers[3], `"allowed"`) {
		t.Fatalf("allowed on an answer that is no move's: %s", out.String())
	}
}
