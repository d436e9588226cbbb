package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/commands/ingest"
	"github.com/melaka-gov/ispeks/http/api"
)

// batchLine is one line of a batch's answer: a line's result, the summary
// or the incomplete-batch error.
type batchLine struct {
	ingest.Result
	Summary  *ingest.Summary `json:"summary"`
	Error    *finErrDetail   `json:"error"`
	Complete *bool           `json:"complete"`
}

type finErrDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// send posts a batch over real HTTP and reads the NDJSON answer.
func send(t *testing.T, url, token string, body io.Reader) (int, http.Header, []batchLine) {
	t.Helper()
	req, err := http.NewRequest("POST", url+"/api/v1/ingest", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", api.NDJSONType)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []batchLine
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l batchLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("answer line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, out
}

func line(kind, rid, member, body string) string {
	return `{"kind":"` + kind + `","request_id":"` + rid + `","` + member + `":` + body + "}\n"
}

// A mixed batch over real HTTP: each line answered in order with its
// outcome, field and reason; blank lines skipped; a 10 MB line refused and
// reading goes on; a re-sent batch appends nothing new.
func TestIngestBatch(t *testing.T) {
	f := newFin(t, finOptions{})
	ts := httptest.NewServer(f.srv)
	defer ts.Close()
	slip := slipBody("SG-2026-01-B", 1)
	bad := strings.Replace(slipBody("SG-2026-01-X", 1), `"net_sen":415543`, `"net_sen":415500`, 1)
	var b strings.Builder
	b.WriteString(line("payment", "b-1", "payment", payBody))                                                           // 1
	b.WriteString(line("payment_status", "b-2", "change", `{"payment_id":"PAY-000123","status":"dalam-proses"}`))       // 2
	b.WriteString(line("statement", "b-3", "statement", slip))                                                          // 3
	b.WriteString(line("statement", "b-4", "statement", bad))                                                           // 4
	b.WriteString(`{"kind":"payment","request_id":"b-5",` + "\n")                                                       // 5
	b.WriteString("\n")                                                                                                 // 6
	b.WriteString(`{"kind":"statement","request_id":"b-7","statement":{"x":"` + strings.Repeat("y", 10<<20) + "\"}}\n") // 7
	b.WriteString(line("payment_status", "b-8", "change", `{"payment_id":"PAY-000123","status":"diterima-oleh-bank","eft_no":"E","payment_date":"2026-03-05"}`))
	b.WriteString(line("statement", "b-9", "statement", strings.Replace(slipBody("SG-2026-01-Y", 1), finSiti, finNoOne, 1)))
	b.WriteString(line("payment", "b-10", "payment", strings.Replace(strings.Replace(payBody, "45050", "450.50", 1), "PAY-000123", "PAY-F", 1)))
	b.WriteString(line("payment", "b-11", "payment", strings.Replace(payBody, `"amount_sen"`, `"amaun_sen"`, 1)))
	batch := b.String()

	status, hdr, out := send(t, ts.URL, f.both, strings.NewReader(batch))
	if status != http.StatusOK || hdr.Get("Content-Type") != api.NDJSONType {
		t.Fatalf("status %d %s", status, hdr.Get("Content-Type"))
	}
	if len(out) != 11 {
		t.Fatalf("%d answer lines, want 10 results and the summary: %+v", len(out), out)
	}
	want := []struct {
		line          int
		outcome, code string
		field         string
	}{
		{1, "accepted", "", ""},
		{2, "accepted", "", ""},
		{3, "accepted", "", ""},
		{4, "rejected", "invalid", "statement.totals.net_sen"},
		{5, "rejected", "malformed", ""},
		{7, "rejected", "line_too_long", ""},
		{8, "rejected", "illegal_move", "change.status"},
		{9, "rejected", "unknown_payee", "statement.payee.ic"},
		{10, "rejected", "invalid", "payment.amount_sen"},
		{11, "rejected", "invalid", "payment.amaun_sen"},
	}
	for i, w := range want {
		r := out[i]
		if r.Line != w.line || string(r.Outcome) != w.outcome || r.Code != w.code || r.Field != w.field {
			t.Errorf("line %d: %+v, want %+v", w.line, r.Result, w)
		}
		if r.Outcome == ingest.Rejected && r.Reason == "" {
			t.Errorf("line %d: no reason", w.line)
		}
	}
	if out[6].CurrentStatus != "dalam-proses" || strings.Join(out[6].Allowed, ",") != "diluluskan,dibatalkan" {
		t.Errorf("illegal move: %+v", out[6].Result)
	}
	// The last position is the accepted lines' last; line 8's refusal,
	// recorded under its request ID (payment.MoveRefused), changes no view
	// and is not waited for, so the log's head may be one past it.
	sum := out[10].Summary
	last := max(out[0].Position, out[1].Position, out[2].Position)
	if sum == nil || sum.Lines != 10 || sum.Accepted != 3 || sum.Rejected != 7 || sum.LastPosition != last || f.head() != last+1 {
		t.Fatalf("summary %+v (head %d)", sum, f.head())
	}

	// Re-sent: nothing new.
	head := f.head()
	_, _, again := send(t, ts.URL, f.both, strings.NewReader(batch))
	if f.head() != head {
		t.Fatalf("a re-sent batch appended: %d → %d", head, f.head())
	}
	if s := again[len(again)-1].Summary; s == nil || s.Duplicates != 3 || s.Accepted != 0 || s.Rejected != 7 {
		t.Fatalf("re-sent summary %+v", s)
	}
	// Line 8's refusal is answered as the first time (its recorded
	// MoveRefused), field for field.
	if !reflect.DeepEqual(again[6].Result, out[6].Result) {
		t.Fatalf("re-sent illegal move: %+v\nwant the first answer %+v", again[6].Result, out[6].Result)
	}
	// No personal data in the log.
	if logs := f.logs.String(); strings.Contains(logs, finSiti) || strings.Contains(logs, "Siti Aminah") {
		t.Fatalf("personal data in the log")
	}
}

// One request_id on two statements and on two payments: a request ID is
// unique per record, so each line is its own request, accepted with event
// IDs of its own (before, the SQLite store refused whichever line committed
// second as a conflict on request_id, and KurrentDB stored one event ID in
// two streams). The batch sent again is all duplicates.
func TestIngestOneRequestIDOnTwoRecords(t *testing.T) {
	f := newFin(t, finOptions{})
	ts := httptest.NewServer(f.srv)
	defer ts.Close()
	var b strings.Builder
	b.WriteString(line("statement", "sama-1", "statement", slipBody("SG-2026-01-P", 1)))
	b.WriteString(line("statement", "sama-1", "statement", slipBody("SG-2026-01-Q", 1)))
	b.WriteString(line("payment", "sama-2", "payment", payBody))
	b.WriteString(line("payment", "sama-2", "payment", strings.Replace(payBody, "PAY-000123", "PAY-000124", 1)))
	batch := b.String()
	from := f.head()

	_, _, out := send(t, ts.URL, f.both, strings.NewReader(batch))
	if len(out) != 5 {
		t.Fatalf("%d answer lines, want 4 results and the summary: %+v", len(out), out)
	}
	for _, r := range out[:4] {
		if r.Outcome != ingest.Accepted {
			t.Errorf("line %d: %+v, want accepted", r.Line, r.Result)
		}
	}
	recs, err := f.events.ReadAll(context.Background(), from, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 {
		t.Fatalf("%d events appended, want 4", len(recs))
	}
	ids := map[string]bool{}
	for _, rec := range recs {
		ids[rec.ID.String()] = true
	}
	if len(ids) != 4 {
		t.Errorf("%d distinct event IDs among 4 events", len(ids))
	}

	head := f.head()
	_, _, again := send(t, ts.URL, f.both, strings.NewReader(batch))
	if f.head() != head {
		t.Fatalf("a re-sent batch appended: %d → %d", head, f.head())
	}
	if s := again[len(again)-1].Summary; s == nil || s.Duplicates != 4 {
		t.Fatalf("re-sent summary %+v, want 4 duplicates", s)
	}
}

// Scopes: each line needs its kind's scope; the request needs one of them.
func TestIngestScopesAndRefusals(t *testing.T) {
	f := newFin(t, finOptions{})
	ts := httptest.NewServer(f.srv)
	defer ts.Close()
	batch := line("payment", "s-1", "payment", payBody) + line("statement", "s-2", "statement", slipBody("SG-S-1", 1))
	_, _, out := send(t, ts.URL, f.stmtOnly, strings.NewReader(batch))
	if len(out) != 3 || out[0].Code != "forbidden" || out[0].Field != "kind" || out[1].Outcome != ingest.Accepted {
		t.Fatalf("statements-only client: %+v", out)
	}
	head := f.head()
	w := f.do("POST", "/api/v1/ingest", f.feeder, api.NDJSONType, batch, nil, nil)
	wantErr(t, "events:read only", w, http.StatusForbidden, "auth.insufficient_scope", "")
	w = f.do("POST", "/api/v1/ingest", "", api.NDJSONType, batch, nil, nil)
	wantErr(t, "no token", w, http.StatusUnauthorized, "auth.missing_token", "")
	w = f.do("POST", "/api/v1/ingest", f.both, "application/json", batch, nil, nil)
	wantErr(t, "JSON, not NDJSON", w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type")
	if f.head() != head {
		t.Fatal("refused batches appended")
	}
	// An empty batch is answered with an empty summary.
	_, _, out = send(t, ts.URL, f.both, strings.NewReader(""))
	if len(out) != 1 || out[0].Summary == nil || out[0].Summary.Lines != 0 {
		t.Fatalf("empty batch: %+v", out)
	}
}

// The batch streams: results come back while the client is still sending
// (HTTP/1.1 full duplex), and a whole batch lands.
func TestIngestStreams(t *testing.T) {
	f := newFin(t, finOptions{})
	ts := httptest.NewServer(f.srv)
	defer ts.Close()
	const n = 1200
	pr, pw := io.Pipe()
	firstSeen := make(chan struct{})
	wrote := make(chan error, 1)
	go func() {
		for i := range n {
			if i == n/2 {
				// Half the batch is sent: wait until results come back
				// before sending the rest.
				select {
				case <-firstSeen:
				case <-time.After(30 * time.Second):
					wrote <- fmt.Errorf("no result came back while the batch was still being sent")
					pw.CloseWithError(io.ErrUnexpectedEOF)
					return
				}
			}
			id := fmt.Sprintf("SG-ST-%05d", i)
			if _, err := io.WriteString(pw, line("statement", "st-"+id, "statement", slipBody(id, 1+i%2))); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- pw.Close()
	}()
	req, _ := http.NewRequest("POST", ts.URL+"/api/v1/ingest", pr)
	req.Header.Set("Content-Type", api.NDJSONType)
	req.Header.Set("Authorization", "Bearer "+f.stmtOnly)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	results, once := 0, false
	var last batchLine
	for sc.Scan() {
		if !once {
			close(firstSeen)
			once = true
		}
		last = batchLine{}
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatal(err)
		}
		if last.Summary == nil {
			results++
			if last.Outcome != ingest.Accepted || last.Line != results {
				t.Fatalf("result %+v", last.Result)
			}
		}
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if results != n || last.Summary == nil || last.Summary.Accepted != n {
		t.Fatalf("%d results, last %+v", results, last)
	}
}

// Over the batch limit: the lines read are answered and stand, then a last
// line says the batch is incomplete; a batch over the limit from its first
// line is a plain 413.
func TestIngestTooLarge(t *testing.T) {
	f := newFin(t, finOptions{maxBatch: 16 << 10})
	ts := httptest.NewServer(f.srv)
	defer ts.Close()
	var b bytes.Buffer
	for i := 0; b.Len() < 40<<10; i++ {
		id := fmt.Sprintf("SG-TL-%03d", i)
		b.WriteString(line("statement", "tl-"+id, "statement", slipBody(id, 1)))
	}
	status, _, out := send(t, ts.URL, f.both, bytes.NewReader(b.Bytes()))
	if status != http.StatusOK || len(out) < 2 {
		t.Fatalf("%d %+v", status, out)
	}
	end := out[len(out)-1]
	if end.Error == nil || end.Error.Code != "too_large" || end.Complete == nil || *end.Complete || end.Summary == nil {
		t.Fatalf("last line %+v", end)
	}
	if end.Summary.Accepted == 0 || end.Summary.Accepted != len(out)-1 {
		t.Fatalf("summary %+v for %d results", end.Summary, len(out)-1)
	}
	one := line("statement", "tl-big", "statement", strings.Replace(slipBody("SG-TL-BIG", 1), "Gaji Pokok", strings.Repeat("G", 20<<10), 1))
	w := f.do("POST", "/api/v1/ingest", f.both, api.NDJSONType, one, nil, nil)
	wantErr(t, "first line over the limit", w, http.StatusRequestEntityTooLarge, "too_large", "")
	// A JSON error, said to be JSON (it was labelled application/x-ndjson,
	// so a client reading the answer by its type took it for a batch).
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("413 answered as %q", ct)
	}
}

// A batch streams for as long as its client sends (a 256 MiB batch may take
// hours): revoking the client (a leaked token) stopped new requests but not
// a batch already open, which went on writing payments. Now the batch
// re-checks its client as the event feed does and stops within the
// re-check interval: the lines answered stand, a last line says
// auth.token_revoked, and lines sent after it are not run.
func TestIngestStopsWhenItsClientIsRevoked(t *testing.T) {
	f := newFin(t, finOptions{})
	ts := httptest.NewServer(f.srv)
	defer ts.Close()
	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequest("POST", ts.URL+"/api/v1/ingest", pr)
	req.Header.Set("Content-Type", api.NDJSONType)
	req.Header.Set("Authorization", "Bearer "+f.stmtOnly)
	type answer struct {
		resp *http.Response
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		got <- answer{resp, err}
	}()
	write := func(i int) error {
		id := fmt.Sprintf("SG-RV-%03d", i)
		_, err := io.WriteString(pw, line("statement", "rv-"+id, "statement", slipBody(id, 1)))
		return err
	}
	if err := write(0); err != nil {
		t.Fatal(err)
	}
	a := <-got
	if a.err != nil {
		t.Fatal(a.err)
	}
	defer a.resp.Body.Close()
	sc := bufio.NewScanner(a.resp.Body)
	if !sc.Scan() {
		t.Fatalf("no answer to the first line: %v", sc.Err())
	}
	var first batchLine
	if err := json.Unmarshal(sc.Bytes(), &first); err != nil || first.Outcome != ingest.Accepted {
		t.Fatalf("first line %s (%v)", sc.Bytes(), err)
	}

	res, err := commands.RevokeAPIClientHandler{Runner: f.runner}.Handle(context.Background(), commands.RevokeAPIClient{
		Meta: f.sys(), ClientID: "payroll-only", Reason: "token bocor"})
	f.wait(res, err)
	// Keep sending, as a client that does not know yet; the batch must end
	// by itself.
	go func() {
		defer pw.Close()
		for i := 1; i < 1000; i++ { // a second or more: many re-checks
			if write(i) != nil {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	var last batchLine
	for sc.Scan() {
		last = batchLine{}
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatal(err)
		}
	}
	if last.Error == nil || last.Error.Code != "auth.token_revoked" || last.Complete == nil || *last.Complete {
		t.Fatalf("last line %+v", last)
	}
	stored := f.head()
	time.Sleep(10 * finRecheck)
	if f.head() != stored {
		t.Fatal("lines were still written after the batch ended")
	}
}

// Each batch bounds its own memory (lines and workers in flight), but a
// client could stream any number of batches at once: 200 parallel uploads
// (the rate limit's burst) held 200 times that. A client streams at most
// api.DefaultMaxBatches; one more is 429 too_many_batches with
// Retry-After, other clients are not affected, and a batch that ends makes
// room.
func TestIngestBatchesAtOncePerClient(t *testing.T) {
	f := newFin(t, finOptions{})
	ts := httptest.NewServer(f.srv)
	defer ts.Close()
	type open struct {
		pw   *io.PipeWriter
		resp *http.Response
	}
	start := func(token string, i int) open {
		t.Helper()
		pr, pw := io.Pipe()
		req, _ := http.NewRequest("POST", ts.URL+"/api/v1/ingest", pr)
		req.Header.Set("Content-Type", api.NDJSONType)
		req.Header.Set("Authorization", "Bearer "+token)
		go func() {
			id := fmt.Sprintf("SG-PAR-%s-%d", token[:12], i)
			_, _ = io.WriteString(pw, line("statement", "par-"+id, "statement", slipBody(id, 1)))
		}()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return open{pw, resp}
	}
	var held []open
	defer func() {
		for _, o := range held {
			o.pw.Close()
			o.resp.Body.Close()
		}
	}()
	for i := range api.DefaultMaxBatches {
		o := start(f.stmtOnly, i)
		held = append(held, o)
		if o.resp.StatusCode != http.StatusOK {
			t.Fatalf("batch %d: %d", i, o.resp.StatusCode)
		}
	}
	w := f.do("POST", "/api/v1/ingest", f.stmtOnly, api.NDJSONType, line("statement", "par-x", "statement", slipBody("SG-PAR-X", 1)), nil, nil)
	wantErr(t, "one batch too many", w, http.StatusTooManyRequests, "too_many_batches", "")
	if w.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if w := f.do("POST", "/api/v1/ingest", f.both, api.NDJSONType, line("statement", "par-y", "statement", slipBody("SG-PAR-Y", 1)), nil, nil); w.Code != http.StatusOK {
		t.Fatalf("another client: %d %s", w.Code, w.Body)
	}
	// One batch ends: its answer ends with its summary, and there is room.
	held[0].pw.Close()
	if b, _ := io.ReadAll(held[0].resp.Body); !bytes.Contains(b, []byte(`"summary"`)) {
		t.Fatalf("first batch answered %s", b)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		w := f.do("POST", "/api/v1/ingest", f.stmtOnly, api.NDJSONType, line("statement", "par-z", "statement", slipBody("SG-PAR-Z", 1)), nil, nil)
		if w.Code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no room after a batch ended: %d %s", w.Code, w.Body)
		}
		time.Sleep(10 * time.Millisecond) // the handler returns just after the answer's last byte
	}
}
