package api_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/http/api"
)

func (f *fin) count(stream string) int {
	f.t.Helper()
	recs, err := f.events.ReadStream(context.Background(), stream, 1, eventlog.Forwards, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	return len(recs)
}

// An Idempotency-Key names one request: the same key with the same body is
// a duplicate; with another body it is 422 idempotency_key_reused and
// nothing is written (before, a key with another body ran as a new command,
// and a reused request ID on the same record was answered duplicate).
func TestIdempotencyKeyUsedAgainForAnotherBody(t *testing.T) {
	f := newFin(t, finOptions{})
	keyed := func(method, path, token, key, body string) *httptestRecorder {
		return f.do(method, path, token, "", body, map[string]string{api.IdempotencyKeyHeader: key}, nil)
	}
	wantResult(t, "record", keyed("POST", "/api/v1/payments", f.payOnly, "pay-1", payBody), http.StatusCreated, "accepted")
	wantErr(t, "the key on the same payment with another amount", keyed("POST", "/api/v1/payments", f.payOnly, "pay-1", strings.Replace(payBody, `"amount_sen":45050`, `"amount_sen":45060`, 1)),
		http.StatusUnprocessableEntity, "idempotency_key_reused", api.IdempotencyKeyHeader)
	wantResult(t, "the record again", keyed("POST", "/api/v1/payments", f.payOnly, "pay-1", payBody), http.StatusOK, "duplicate")

	const status = "/api/v1/payments/PAY-000123/status"
	wantResult(t, "move", keyed("POST", status, f.payOnly, "move-1", `{"status":"dalam-proses"}`), http.StatusOK, "accepted")
	e := wantErr(t, "cancel under the move's key", keyed("POST", status, f.payOnly, "move-1", `{"status":"dibatalkan","reason":"silap"}`),
		http.StatusUnprocessableEntity, "idempotency_key_reused", api.IdempotencyKeyHeader)
	if !strings.Contains(e.Error.Message, "Idempotency-Key") {
		t.Errorf("message %q", e.Error.Message)
	}
	wantResult(t, "the move again", keyed("POST", status, f.payOnly, "move-1", `{"status":"dalam-proses"}`), http.StatusOK, "duplicate")

	put := strings.Replace(strings.Replace(payBody, `"payment_id":"PAY-000123",`, ``, 1), `"amount_sen":45050`, `"amount_sen":47000`, 1)
	wantResult(t, "put", keyed("PUT", "/api/v1/payments/PAY-000123", f.payOnly, "put-1", put), http.StatusOK, "accepted")
	wantErr(t, "put other details under its key", keyed("PUT", "/api/v1/payments/PAY-000123", f.payOnly, "put-1", strings.Replace(put, "47000", "47500", 1)),
		http.StatusUnprocessableEntity, "idempotency_key_reused", api.IdempotencyKeyHeader)
	if n := f.count(payment.Stream("PAY-000123")); n != 3 {
		t.Errorf("payment stream has %d events, want record, move, amendment", n)
	}

	wantResult(t, "issue", f.post("/api/v1/statements", f.stmtOnly, slipBody("SG-1", 1)), http.StatusCreated, "accepted")
	corr := strings.Replace(slipBody("SG-1", 1), `"statement_id":"SG-1",`, `"reason":"Gred dibetulkan",`, 1)
	corr = strings.Replace(corr, `"grade":"WA41"`, `"grade":"WA44"`, 1)
	if !strings.Contains(corr, "WA44") || !strings.Contains(corr, "Gred dibetulkan") {
		t.Fatalf("test body not built: %s", corr)
	}
	const corrections = "/api/v1/statements/SG-1/corrections"
	wantResult(t, "correct", keyed("POST", corrections, f.stmtOnly, "corr-1", corr), http.StatusOK, "accepted")
	wantErr(t, "another reason under its key", keyed("POST", corrections, f.stmtOnly, "corr-1", strings.Replace(corr, "Gred dibetulkan", "Lain", 1)),
		http.StatusUnprocessableEntity, "idempotency_key_reused", api.IdempotencyKeyHeader)
	wantResult(t, "the correction again", keyed("POST", corrections, f.stmtOnly, "corr-1", corr), http.StatusOK, "duplicate")
	if n := f.count(statement.Stream("SG-1")); n != 2 {
		t.Errorf("statement stream has %d events, want issue and one correction", n)
	}
}

// An Idempotency-Key names one request on one record: the key used again
// to create another payment or statement is another request, which lands
// with event IDs of its own (the same event ID in two streams would be
// stored twice by KurrentDB, idempotent per stream, and dropped by the NATS
// publisher, which dedupes by event ID).
func TestIdempotencyKeyOnAnotherRecordIsAnotherRequest(t *testing.T) {
	f := newFin(t, finOptions{})
	keyed := func(path, token, key, body string) *httptestRecorder {
		return f.do("POST", path, token, "", body, map[string]string{api.IdempotencyKeyHeader: key}, nil)
	}
	other := strings.Replace(strings.Replace(payBody, "PAY-000123", "PAY-000124", 1), "BV-2026-000123", "BV-2026-000124", 1)
	wantResult(t, "record", keyed("/api/v1/payments", f.payOnly, "k-1", payBody), http.StatusCreated, "accepted")
	wantResult(t, "the key on another payment", keyed("/api/v1/payments", f.payOnly, "k-1", other), http.StatusCreated, "accepted")
	wantResult(t, "the other payment again", keyed("/api/v1/payments", f.payOnly, "k-1", other), http.StatusOK, "duplicate")
	wantResult(t, "issue", keyed("/api/v1/statements", f.stmtOnly, "k-1", slipBody("SG-1", 1)), http.StatusCreated, "accepted")
	wantResult(t, "the key on another statement", keyed("/api/v1/statements", f.stmtOnly, "k-1", slipBody("SG-2", 1)), http.StatusCreated, "accepted")

	ids := map[uuid.UUID]string{}
	for _, stream := range []string{payment.Stream("PAY-000123"), payment.Stream("PAY-000124"), statement.Stream("SG-1"), statement.Stream("SG-2")} {
		recs, err := f.events.ReadStream(context.Background(), stream, 1, eventlog.Forwards, 100)
		if err != nil || len(recs) != 1 {
			t.Fatalf("%s: %d events (%v), want 1", stream, len(recs), err)
		}
		if s, dup := ids[recs[0].ID]; dup {
			t.Errorf("event ID %s in %s and %s", recs[0].ID, s, stream)
		}
		ids[recs[0].ID] = stream
	}
}

// stepIn is the event store with a write slipped in once, right after the
// first read of stream: between a command's read and its append.
type stepIn struct {
	commands.EventStore
	stream string
	once   sync.Once
	write  func()
}

func (s *stepIn) ReadStream(ctx context.Context, stream string, from uint64, d eventlog.Direction, limit int) ([]eventlog.Record, error) {
	recs, err := s.EventStore.ReadStream(ctx, stream, from, d, limit)
	if stream == s.stream && s.write != nil {
		s.once.Do(s.write)
	}
	return recs, err
}

// A PATCH merges into the details as they are when its amendment is
// written: an amendment that lands between its read and its write is kept,
// not silently reverted by a merge onto the details read before it.
func TestPatchKeepsAnAmendmentMadeMeanwhile(t *testing.T) {
	step := &stepIn{stream: payment.Stream("PAY-000123")}
	f := newFin(t, finOptions{writeStore: func(s commands.EventStore) commands.EventStore { step.EventStore = s; return step }})
	wantResult(t, "record", f.post("/api/v1/payments", f.payOnly, payBody), http.StatusCreated, "accepted")
	amended := f.count(payment.Stream("PAY-000123"))
	step.write = func() {
		d := payment.Details{Module: payment.Tuntutan, Type: payment.TuntutanPerjalanan, VoucherNo: "BV-2026-000123", VoucherDate: "2026-03-01",
			Reference: "TP/2026/77", Description: "Dibetulkan oleh sistem lain", AmountSen: 45050, PayeeIC: finSiti}
		meta := commands.Meta{CommandID: uuid.New(), Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "other"}}
		if _, err := (commands.AmendPaymentHandler{Runner: f.runner}).Handle(context.Background(), commands.AmendPayment{Meta: meta, PaymentID: "PAY-000123", Details: d}); err != nil {
			t.Error(err)
		}
		amended++
	}
	patch := map[string]string{api.IdempotencyKeyHeader: "patch-1"}
	wantResult(t, "patch", f.do("PATCH", "/api/v1/payments/PAY-000123", f.payOnly, "application/merge-patch+json", `{"amount_sen":48000}`, patch, nil), http.StatusOK, "accepted")
	if amended != 2 {
		t.Fatal("the other amendment never ran")
	}
	got := f.details("PAY-000123")
	if got.Description != "Dibetulkan oleh sistem lain" || got.AmountSen != 48000 {
		t.Fatalf("details %+v: the amendment made meanwhile was reverted or the patch lost", got)
	}

	// The PATCH again after yet another amendment is still its repeat; the
	// key with another patch is not.
	put := strings.Replace(strings.Replace(payBody, `"payment_id":"PAY-000123",`, ``, 1), `"amount_sen":45050`, `"amount_sen":48000`, 1)
	wantResult(t, "put", f.do("PUT", "/api/v1/payments/PAY-000123", f.payOnly, "", strings.Replace(put, "Tuntutan perjalanan ke Kuala Lumpur", "Dipinda lagi", 1), nil, nil), http.StatusOK, "accepted")
	wantResult(t, "patch again", f.do("PATCH", "/api/v1/payments/PAY-000123", f.payOnly, "", `{"amount_sen":48000}`, patch, nil), http.StatusOK, "duplicate")
	wantErr(t, "another patch under the key", f.do("PATCH", "/api/v1/payments/PAY-000123", f.payOnly, "", `{"amount_sen":1}`, patch, nil),
		http.StatusUnprocessableEntity, "idempotency_key_reused", api.IdempotencyKeyHeader)
	if got := f.details("PAY-000123"); got.Description != "Dipinda lagi" || got.AmountSen != 48000 {
		t.Fatalf("details %+v", got)
	}
}

// details replays the payment's stream.
func (f *fin) details(id string) payment.Details {
	f.t.Helper()
	recs, err := f.events.ReadStream(context.Background(), payment.Stream(id), 1, eventlog.Forwards, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	p := payment.New()
	for _, rec := range recs {
		env, err := f.reg.Decode(rec)
		if err != nil {
			f.t.Fatal(err)
		}
		if err := p.Apply(env.Event); err != nil {
			f.t.Fatal(err)
		}
	}
	return p.Details()
}

// A PUT that changes nothing is answered duplicate, keyed or not. Under an
// Idempotency-Key it records that it ran (payment.AmendmentUnchanged), so
// the same request sent again after another amendment is still a
// duplicate and does not undo it; without a key its request ID was made for
// it alone and can never come again, so nothing is appended.
func TestUnchangedPutIsRecordedOnlyUnderAKey(t *testing.T) {
	f := newFin(t, finOptions{})
	const path = "/api/v1/payments/PAY-000123"
	wantResult(t, "record", f.post("/api/v1/payments", f.payOnly, payBody), http.StatusCreated, "accepted")
	same := strings.Replace(payBody, `"payment_id":"PAY-000123",`, ``, 1)
	wantResult(t, "unchanged, no key", f.do("PUT", path, f.payOnly, "", same, nil, nil), http.StatusOK, "duplicate")
	if n := f.count(payment.Stream("PAY-000123")); n != 1 {
		t.Fatalf("unchanged without a key: %d events, want the record only", n)
	}
	keyed := func(key, body string) *httptestRecorder {
		return f.do("PUT", path, f.payOnly, "", body, map[string]string{api.IdempotencyKeyHeader: key}, nil)
	}
	wantResult(t, "unchanged, keyed", keyed("put-1", same), http.StatusOK, "duplicate")
	wantResult(t, "a change", keyed("put-2", strings.Replace(same, `"amount_sen":45050`, `"amount_sen":47000`, 1)), http.StatusOK, "accepted")
	wantResult(t, "the unchanged one again", keyed("put-1", same), http.StatusOK, "duplicate")
	if n := f.count(payment.Stream("PAY-000123")); n != 3 {
		t.Errorf("payment stream has %d events, want record, unchanged, amendment", n)
	}
}
