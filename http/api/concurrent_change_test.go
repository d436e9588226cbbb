package api_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/http/api"
	"github.com/melaka-gov/ispeks/http/httpx"
)

// racer is the event store of a record that other requests keep changing:
// every read of stream is followed by another change landing on it, so the
// command's append never finds the version it read.
type racer struct {
	commands.EventStore
	stream string
	race   func()
	raced  atomic.Int32
}

func (r *racer) ReadStream(ctx context.Context, stream string, from uint64, d eventlog.Direction, limit int) ([]eventlog.Record, error) {
	recs, err := r.EventStore.ReadStream(ctx, stream, from, d, limit)
	if stream == r.stream && r.race != nil {
		r.raced.Add(1)
		r.race()
	}
	return recs, err
}

// A payment that other requests keep changing meanwhile: the runner gives
// up after its tries. Before, that was a 500 "internal" with an incident
// logged as a server fault (and, in a batch, a failed/internal line); now
// it is 409 concurrent_change with Retry-After, nothing written, and the
// same request sent again once the record is quiet lands.
func TestConcurrentChangesAreRetryableNotInternal(t *testing.T) {
	rc := &racer{stream: payment.Stream("PAY-000123")}
	f := newFin(t, finOptions{writeStore: func(s commands.EventStore) commands.EventStore { rc.EventStore = s; return rc }})
	wantResult(t, "record", f.post("/api/v1/payments", f.payOnly, payBody), http.StatusCreated, "accepted")
	n := 0
	rc.race = func() {
		n++
		d := payment.Details{Module: payment.Tuntutan, Type: payment.TuntutanPerjalanan, VoucherNo: "BV-2026-000123", VoucherDate: "2026-03-01",
			Description: fmt.Sprintf("Pindaan sistem lain %d", n), AmountSen: 45050, PayeeIC: finSiti}
		meta := commands.Meta{CommandID: uuid.New(), Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "other"}}
		if _, err := (commands.AmendPaymentHandler{Runner: f.runner}).Handle(context.Background(), commands.AmendPayment{Meta: meta, PaymentID: "PAY-000123", Details: d}); err != nil {
			t.Error(err)
		}
	}
	key := map[string]string{"Idempotency-Key": "move-1"}
	const move = `{"status":"dalam-proses"}`
	w := f.do("POST", "/api/v1/payments/PAY-000123/status", f.payOnly, "", move, key, nil)
	wantErr(t, "move while others change the payment", w, http.StatusConflict, "concurrent_change", "")
	if w.Header().Get("Retry-After") == "" {
		t.Errorf("no Retry-After: %v", w.Header())
	}
	if strings.Contains(f.logs.String(), "level=ERROR") {
		t.Errorf("logged as a server fault:\n%s", f.logs)
	}

	line := `{"kind":"payment_status","request_id":"move-2","change":{"payment_id":"PAY-000123","status":"dibatalkan","reason":"Silap"}}` + "\n"
	w = f.do("POST", "/api/v1/ingest", f.payOnly, "application/x-ndjson", line, nil, nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"result":"failed","code":"busy"`) || strings.Contains(w.Body.String(), "incident") {
		t.Fatalf("batch line: %d %s", w.Code, w.Body)
	}

	rc.race = nil // the record is quiet: the same request lands
	wantResult(t, "the move sent again", f.do("POST", "/api/v1/payments/PAY-000123/status", f.payOnly, "", move, key, nil), http.StatusOK, "accepted")
	if rc.raced.Load() < 2 {
		t.Fatal("the racer never ran")
	}
}

// The employee master's PUT: a record other requests keep changing was a
// 500 too; it is 409 concurrent_change, and the PUT sent again lands.
func TestConcurrentChangesToAStaffRecord(t *testing.T) {
	r := newRig(t)
	if w := r.do("PUT", sitiPath, r.writer, sitiBody, nil); w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	n := 0
	rc := &racer{EventStore: r.events, stream: "employee-" + sitiIC}
	rc.race = func() {
		n++
		d := employee.Details{IC: sitiIC, Name: "Siti Aminah binti Omar", Email: "siti.aminah@melaka.gov.my",
			Department: "Jabatan Kewangan dan Perbendaharaan", Post: fmt.Sprintf("Jawatan %d", n), StaffNumber: "JKPN-0042"}
		meta := commands.Meta{CommandID: uuid.New(), Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "other"}}
		if _, err := (commands.PutStaffHandler{Runner: r.runner}).Handle(context.Background(), commands.PutStaff{Meta: meta, Details: d}); err != nil {
			t.Error(err)
		}
	}
	racing := r.runner
	racing.Store = rc
	router := gin.New()
	router.Use(httpx.RequestID())
	api.Mount(router.Group("/api/v1"), api.Deps{Runner: racing, Auth: r.auth, Log: slog.New(slog.DiscardHandler), AllowedDomains: []string{"melaka.gov.my"}})
	put := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest("PUT", sitiPath, strings.NewReader(strings.Replace(sitiBody, "Pegawai Kewangan", "Penolong Akauntan", 1)))
		req.Header.Set("Authorization", "Bearer "+r.writer)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		router.ServeHTTP(w, req)
		return w
	}
	w := put()
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), `"code":"concurrent_change"`) {
		t.Fatalf("PUT while others change the record: %d %s", w.Code, w.Body)
	}
	if w.Header().Get("Retry-After") == "" {
		t.Errorf("no Retry-After: %v", w.Header())
	}
	r.conforms(httptest.NewRequest("PUT", sitiPath, nil), "", w)
	rc.race = nil
	if w := put(); w.Code != http.StatusOK {
		t.Fatalf("PUT sent again: %d %s", w.Code, w.Body)
	}
}

// failingAppends is an event store whose appends fail the way a broken
// disk makes SQLite fail.
type failingAppends struct{ commands.EventStore }

func (failingAppends) Append(context.Context, string, eventlog.ExpectedVersion, []eventlog.Proposed) (eventlog.AppendResult, error) {
	return eventlog.AppendResult{}, errors.New("sqlite: database disk image is malformed (SQLITE_CORRUPT): INSERT INTO events")
}

// A write the server could not store answers 500 internal with the
// incident in the error's incident field, as the API's document says of
// every server fault, and the log has it. Before, the field was empty and
// the ID sat inside a message about "this line" of a batch the client never
// sent.
func TestServerFaultOfAWriteGivesItsIncident(t *testing.T) {
	f := newFin(t, finOptions{writeStore: func(s commands.EventStore) commands.EventStore { return failingAppends{s} }})
	w := f.post("/api/v1/payments", f.payOnly, payBody)
	e := wantErr(t, "record on a broken disk", w, http.StatusInternalServerError, "internal", "")
	if e.Error.Incident == "" || !strings.Contains(f.logs.String(), e.Error.Incident) {
		t.Fatalf("incident %q, not in the answer or not in the log:\n%s\n%s", e.Error.Incident, w.Body, f.logs)
	}
	for _, leak := range []string{"sqlite", "SQLITE", "INSERT", "line", finSiti} {
		if strings.Contains(w.Body.String(), leak) {
			t.Errorf("the answer says %q: %s", leak, w.Body)
		}
	}
}

// The same Idempotency-Key sent twice at once with two different bodies
// (a client retrying a move it changed meanwhile, on a second connection):
// both decided on the same state, and the second append found its event
// IDs already stored by the first. The store answered that as an
// idempotent retry and the second request was told "accepted" for a move
// that was never recorded (the payment stayed dibatalkan while the client
// believed dalam-proses). Now it is decided again on the stored state:
// 422 idempotency_key_reused, and a true repeat is a duplicate.
func TestSameKeyAtOnceWithAnotherBody(t *testing.T) {
	rc := &racer{stream: payment.Stream("PAY-000123")}
	f := newFin(t, finOptions{writeStore: func(s commands.EventStore) commands.EventStore { rc.EventStore = s; return rc }})
	wantResult(t, "record", f.post("/api/v1/payments", f.payOnly, payBody), http.StatusCreated, "accepted")
	key := map[string]string{"Idempotency-Key": "move-1"}
	other := `{"status":"dibatalkan","reason":"Ditarik balik"}`
	rc.race = func() {
		rc.race = nil // once: the other connection lands between this one's read and append
		w := f.do("POST", "/api/v1/payments/PAY-000123/status", f.payOnly, "", other, key, nil)
		wantResult(t, "the other connection", w, http.StatusOK, "accepted")
	}
	w := f.do("POST", "/api/v1/payments/PAY-000123/status", f.payOnly, "", `{"status":"dalam-proses"}`, key, nil)
	wantErr(t, "this connection, another body", w, http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key")
	if got := f.count(payment.Stream("PAY-000123")); got != 2 {
		t.Fatalf("%d events, want the record and one move", got)
	}

	// The very same request at once is one move: accepted on one
	// connection, duplicate on the other (before, both said accepted).
	second := strings.Replace(payBody, "PAY-000123", "PAY-000124", 1)
	wantResult(t, "record another", f.post("/api/v1/payments", f.payOnly, second), http.StatusCreated, "accepted")
	rc.stream = payment.Stream("PAY-000124")
	key = map[string]string{"Idempotency-Key": "move-2"}
	rc.race = func() {
		rc.race = nil
		wantResult(t, "the other connection", f.do("POST", "/api/v1/payments/PAY-000124/status", f.payOnly, "", `{"status":"dalam-proses"}`, key, nil), http.StatusOK, "accepted")
	}
	wantResult(t, "this connection, the same body", f.do("POST", "/api/v1/payments/PAY-000124/status", f.payOnly, "", `{"status":"dalam-proses"}`, key, nil), http.StatusOK, "duplicate")
	if got := f.count(payment.Stream("PAY-000124")); got != 2 {
		t.Fatalf("%d events, want the record and one move", got)
	}
}

// A keyed move decided as illegal on a state that a concurrent legal move
// changes before the refusal is appended: the refusal's append finds the
// stream moved on, so the request is decided again on the new state, where
// it is legal, and applied (200 accepted). No refusal is recorded for the
// stale decision, and the request re-sent is a duplicate.
func TestKeyedRefusalRacingALegalMoveIsDecidedAgain(t *testing.T) {
	rc := &racer{stream: payment.Stream("PAY-000123")}
	f := newFin(t, finOptions{writeStore: func(s commands.EventStore) commands.EventStore { rc.EventStore = s; return rc }})
	wantResult(t, "record", f.post("/api/v1/payments", f.payOnly, payBody), http.StatusCreated, "accepted")
	rc.race = func() {
		rc.race = nil // once: the legal move lands between this request's read and its append
		w := f.do("POST", "/api/v1/payments/PAY-000123/status", f.payOnly, "", `{"status":"dalam-proses"}`, map[string]string{"Idempotency-Key": "move-1"}, nil)
		wantResult(t, "the concurrent move", w, http.StatusOK, "accepted")
	}
	key := map[string]string{"Idempotency-Key": "approve"}
	wantResult(t, "approval decided on Diterima, appended after Dalam Proses", f.do("POST", "/api/v1/payments/PAY-000123/status", f.payOnly, "", `{"status":"diluluskan"}`, key, nil), http.StatusOK, "accepted")
	recs, err := f.events.ReadStream(context.Background(), payment.Stream("PAY-000123"), 1, eventlog.Forwards, 10)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, r := range recs {
		types = append(types, r.Type)
	}
	if want := "payment.Recorded.v1 payment.StatusChanged.v1 payment.StatusChanged.v1"; strings.Join(types, " ") != want {
		t.Fatalf("stream %v, want %s", types, want)
	}
	wantResult(t, "the approval again", f.do("POST", "/api/v1/payments/PAY-000123/status", f.payOnly, "", `{"status":"diluluskan"}`, key, nil), http.StatusOK, "duplicate")
}
