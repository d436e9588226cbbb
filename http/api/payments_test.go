package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/http/api"
)

// Recording a payment: 201, the client as actor, a repeat is a duplicate
// (with or without a key), different details under the same ID a conflict.
func TestRecordPayment(t *testing.T) {
	f := newFin(t, finOptions{})
	w := f.do("POST", "/api/v1/payments", f.payOnly, "", payBody, map[string]string{"X-Request-ID": "req-pay-000123"}, nil)
	res := wantResult(t, "record", w, http.StatusCreated, "accepted")
	if res.PaymentID != "PAY-000123" || res.Position != f.head() {
		t.Fatalf("result %+v (head %d)", res, f.head())
	}
	recs, err := f.events.ReadStream(context.Background(), payment.Stream("PAY-000123"), 1, eventlog.Forwards, 10)
	if err != nil || len(recs) != 1 || recs[0].Type != "payment.Recorded.v1" {
		t.Fatalf("stream: %v %+v", err, recs)
	}
	if m := recs[0].Metadata; m.Actor != (eventlog.Actor{Kind: eventlog.ActorClient, ID: "payments-system"}) || m.CorrelationID != "req-pay-000123" {
		t.Fatalf("metadata %+v", m)
	}
	head := f.head()
	wantResult(t, "same details, no key", f.post("/api/v1/payments", f.payOnly, payBody), http.StatusOK, "duplicate")
	key := map[string]string{api.IdempotencyKeyHeader: "pay-000123-v1"}
	wantResult(t, "same details, a key", f.do("POST", "/api/v1/payments", f.payOnly, "", payBody, key, nil), http.StatusOK, "duplicate")
	if f.head() != head {
		t.Fatalf("a repeat appended: %d → %d", head, f.head())
	}
	other := strings.Replace(payBody, "45050", "45150", 1)
	wantErr(t, "other details, same ID", f.post("/api/v1/payments", f.payOnly, other), http.StatusConflict, "conflict", "payment_id")
	if f.head() != head {
		t.Fatal("a conflict appended")
	}
}

// Every bad input is a clear JSON error naming the field, and nothing is
// written.
func TestPaymentBadInput(t *testing.T) {
	f := newFin(t, finOptions{})
	head := f.head()
	set := func(field, value string) string {
		// replaces one member's value in payBody
		i := strings.Index(payBody, `"`+field+`":`)
		j := i + len(field) + 3
		k := j
		if payBody[j] == '"' {
			k = j + 1 + strings.IndexByte(payBody[j+1:], '"') + 1
		} else {
			for payBody[k] != ',' && payBody[k] != '}' {
				k++
			}
		}
		return payBody[:j] + value + payBody[k:]
	}
	cases := []struct {
		name, token, ctype, body string
		status                   int
		code, field              string
	}{
		{"malformed JSON", f.payOnly, "", `{"payment_id":"P-1",`, 400, "malformed_json", ""},
		{"not an object", f.payOnly, "", `[1,2]`, 400, "malformed_json", ""},
		{"trailing data", f.payOnly, "", payBody + `{}`, 400, "malformed_json", ""},
		{"empty body", f.payOnly, "application/json", " ", 400, "bad_request", ""},
		{"member twice", f.payOnly, "", strings.Replace(payBody, `{"payment_id"`, `{"amount_sen":1,"payment_id"`, 1), 400, "malformed_json", "amount_sen"},
		{"unknown field", f.payOnly, "", strings.Replace(payBody, `{`, `{"colour":"red",`, 1), 400, "unknown_field", "colour"},
		{"wrong case", f.payOnly, "", strings.Replace(payBody, `"voucher_no"`, `"Voucher_No"`, 1), 400, "unknown_field", "Voucher_No"},
		{"negative amount", f.payOnly, "", set("amount_sen", "-100"), 422, "invalid", "amount_sen"},
		{"float amount", f.payOnly, "", set("amount_sen", "450.50"), 422, "invalid", "amount_sen"},
		{"exponent amount", f.payOnly, "", set("amount_sen", "4.505e4"), 422, "invalid", "amount_sen"},
		{"amount as a string", f.payOnly, "", set("amount_sen", `"45050"`), 400, "invalid_type", "amount_sen"},
		{"amount too large", f.payOnly, "", set("amount_sen", "99999999999999999999"), 422, "invalid", "amount_sen"},
		{"no amount", f.payOnly, "", strings.Replace(payBody, `"amount_sen":45050,`, ``, 1), 422, "invalid", "amount_sen"},
		{"description as a number", f.payOnly, "", set("description", "12"), 400, "invalid_type", "description"},
		{"unknown payee", f.payOnly, "", set("payee_ic", `"`+finNoOne+`"`), 422, "unknown_payee", "payee_ic"},
		{"bad IC", f.payOnly, "", set("payee_ic", `"791317-04-5672"`), 422, "invalid", "payee_ic"},
		{"type of another module", f.payOnly, "", set("type", `"pendahuluan-diri"`), 422, "invalid", "type"},
		{"unknown module", f.payOnly, "", set("module", `"gaji"`), 422, "invalid", "module"},
		{"bad date", f.payOnly, "", set("voucher_date", `"2026-02-30"`), 422, "invalid", "voucher_date"},
		{"bad payment ID", f.payOnly, "", set("payment_id", `"../etc"`), 422, "invalid", "payment_id"},
		{"10 MB body", f.payOnly, "", set("description", `"`+strings.Repeat("x", 10<<20)+`"`), 413, "too_large", ""},
		{"XML", f.payOnly, "application/xml", `<payment/>`, 415, "unsupported_media_type", "Content-Type"},
		{"wrong scope", f.stmtOnly, "", payBody, 403, "auth.insufficient_scope", ""},
		{"events:read only", f.feeder, "", payBody, 403, "auth.insufficient_scope", ""},
		{"no token", "", "", payBody, 401, "auth.missing_token", ""},
		{"forged token", "isp_payroll_" + strings.Repeat("A", 43), "", payBody, 401, "auth.invalid_token", ""},
	}
	for _, c := range cases {
		w := f.do("POST", "/api/v1/payments", c.token, c.ctype, c.body, nil, nil)
		e := wantErr(t, c.name, w, c.status, c.code, c.field)
		if c.status == 422 && (len(e.Error.Fields) == 0 || e.Error.Fields[0].Reason == "") {
			t.Errorf("%s: no reason: %s", c.name, w.Body)
		}
		if strings.Contains(w.Body.String(), "xxxxxxxxxx") {
			t.Errorf("%s: the input is echoed back", c.name)
		}
	}
	if f.head() != head {
		t.Fatalf("bad input appended events: %d → %d", head, f.head())
	}
	// English on request.
	w := f.do("POST", "/api/v1/payments", f.payOnly, "", set("amount_sen", "-1"), map[string]string{"Accept-Language": "en"}, nil)
	if e := finDecode[finErr](t, w); !strings.Contains(e.Error.Message, "must not be negative") || strings.Contains(e.Error.Message, "tidak sah") {
		t.Errorf("english: %s", w.Body)
	}
}

// Status moves: each legal one is accepted; an illegal one is 409 naming
// the current status and the allowed moves; a keyed retry is a duplicate.
func TestPaymentStatusMoves(t *testing.T) {
	f := newFin(t, finOptions{})
	// Received before its first move's date (a move may not precede it).
	received := strings.Replace(payBody, `"amount_sen"`, `"received_date":"2026-03-01","amount_sen"`, 1)
	wantResult(t, "record", f.post("/api/v1/payments", f.payOnly, received), http.StatusCreated, "accepted")
	move := func(body, key string) *httptestRecorder {
		h := map[string]string{}
		if key != "" {
			h[api.IdempotencyKeyHeader] = key
		}
		return f.do("POST", "/api/v1/payments/PAY-000123/status", f.payOnly, "", body, h, nil)
	}
	res := wantResult(t, "dalam-proses", move(`{"status":"dalam-proses","date":"2026-03-02"}`, "m1"), http.StatusOK, "accepted")
	if res.Status != "dalam-proses" || res.PaymentID != "PAY-000123" {
		t.Fatalf("result %+v", res)
	}
	head := f.head()
	wantResult(t, "keyed retry", move(`{"status":"dalam-proses","date":"2026-03-02"}`, "m1"), http.StatusOK, "duplicate")
	if f.head() != head {
		t.Fatal("retry appended")
	}
	e := wantErr(t, "retry without a key", move(`{"status":"dalam-proses","date":"2026-03-02"}`, ""), http.StatusConflict, "illegal_move", "status")
	if e.Error.CurrentStatus != "dalam-proses" || strings.Join(e.Error.Allowed, ",") != "diluluskan,dibatalkan" {
		t.Fatalf("illegal move: %+v", e.Error)
	}
	e = wantErr(t, "skip to paid", move(`{"status":"diterima-oleh-bank","eft_no":"EFT1","payment_date":"2026-03-03"}`, ""), http.StatusConflict, "illegal_move", "status")
	if e.Error.CurrentStatus != "dalam-proses" || !strings.Contains(e.Error.Message, "Dalam Proses") || !strings.Contains(e.Error.Message, "Diluluskan, Dibatalkan") {
		t.Fatalf("message: %+v", e.Error)
	}
	wantResult(t, "diluluskan", move(`{"status":"diluluskan"}`, ""), http.StatusOK, "accepted")
	wantResult(t, "dihantar-ke-bank", move(`{"status":"dihantar-ke-bank"}`, ""), http.StatusOK, "accepted")
	wantErr(t, "paid without EFT", move(`{"status":"diterima-oleh-bank","payment_date":"2026-03-05"}`, ""), http.StatusUnprocessableEntity, "invalid", "eft_no")
	wantErr(t, "reason on a paid move", move(`{"status":"diterima-oleh-bank","eft_no":"E","payment_date":"2026-03-05","reason":"x"}`, ""), http.StatusUnprocessableEntity, "invalid", "reason")
	wantErr(t, "unknown status", move(`{"status":"dibayar"}`, ""), http.StatusUnprocessableEntity, "invalid", "status")
	wantErr(t, "another payment ID in the body", move(`{"payment_id":"PAY-9","status":"dibatalkan","reason":"x"}`, ""), http.StatusUnprocessableEntity, "invalid", "payment_id")
	wantResult(t, "paid", move(`{"status":"diterima-oleh-bank","eft_no":"EFT20260305-1","payment_date":"2026-03-05"}`, ""), http.StatusOK, "accepted")
	e = wantErr(t, "cancel a paid payment", move(`{"status":"dibatalkan","reason":"silap"}`, ""), http.StatusConflict, "illegal_move", "status")
	if e.Error.CurrentStatus != "diterima-oleh-bank" || e.Error.Allowed == nil || len(e.Error.Allowed) != 0 {
		t.Fatalf("final status: %+v (allowed must be [] not null)", e.Error)
	}
	w := f.do("POST", "/api/v1/payments/PAY-000123/status", f.payOnly, "", `{"status":"dibatalkan","reason":"silap"}`, map[string]string{"Accept-Language": "en"}, nil)
	if e := finDecode[finErr](t, w); !strings.Contains(e.Error.Message, "Current status: Diterima oleh Bank; allowed moves: none") {
		t.Errorf("english: %s", w.Body)
	}
	wantErr(t, "no such payment", f.post("/api/v1/payments/PAY-404/status", f.payOnly, `{"status":"dalam-proses"}`), http.StatusNotFound, "not_found", "payment_id")

	// The history as the payee sees it.
	f.caughtUp()
	cookies := f.login(finSiti, "Siti Aminah binti Omar", "")
	d := finDecode[api.MePaymentDetail](t, f.do("GET", "/api/v1/me/payments/PAY-000123", "", "", "", nil, cookies))
	var got []string
	for _, h := range d.History {
		got = append(got, string(h.Status))
	}
	if strings.Join(got, ",") != "diterima,dalam-proses,diluluskan,dihantar-ke-bank,diterima-oleh-bank" || d.EFTNo != "EFT20260305-1" {
		t.Fatalf("history %v, detail %+v", got, d)
	}
}

// Amending: PUT replaces the details; PATCH merges into them; both refused
// once the payment has left for the bank.
func TestAmendPayment(t *testing.T) {
	f := newFin(t, finOptions{})
	wantResult(t, "record", f.post("/api/v1/payments", f.payOnly, payBody), http.StatusCreated, "accepted")
	put := strings.Replace(strings.Replace(payBody, `"payment_id":"PAY-000123",`, ``, 1), `"amount_sen":45050`, `"amount_sen":47000,"reason":"Kadar dibetulkan"`, 1)
	wantResult(t, "put", f.do("PUT", "/api/v1/payments/PAY-000123", f.payOnly, "", put, nil, nil), http.StatusOK, "accepted")
	wantResult(t, "put again", f.do("PUT", "/api/v1/payments/PAY-000123", f.payOnly, "", put, nil, nil), http.StatusOK, "duplicate")
	patch := func(body, ctype string) *httptestRecorder {
		return f.do("PATCH", "/api/v1/payments/PAY-000123", f.payOnly, ctype, body, nil, nil)
	}
	wantResult(t, "patch amount", patch(`{"amount_sen":48000,"reason":"Tambah tol"}`, "application/merge-patch+json"), http.StatusOK, "accepted")
	wantResult(t, "patch reference away", patch(`{"reference":null}`, ""), http.StatusOK, "accepted")
	head := f.head()
	wantErr(t, "patch unknown field", patch(`{"amaun":1}`, ""), http.StatusBadRequest, "unknown_field", "amaun")
	wantErr(t, "patch float", patch(`{"amount_sen":480.5}`, ""), http.StatusUnprocessableEntity, "invalid", "amount_sen")
	wantErr(t, "patch the payee", patch(`{"payee_ic":"`+finNurul+`"}`, ""), http.StatusUnprocessableEntity, "invalid", "payee_ic")
	wantErr(t, "patch a required field away", patch(`{"description":null}`, ""), http.StatusUnprocessableEntity, "invalid", "description")
	wantErr(t, "patch as text", patch(`amount_sen=1`, "text/plain"), http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type")
	wantErr(t, "patch nobody", f.do("PATCH", "/api/v1/payments/PAY-404", f.payOnly, "", `{"amount_sen":1}`, nil, nil), http.StatusNotFound, "not_found", "payment_id")
	wantErr(t, "put nobody", f.do("PUT", "/api/v1/payments/PAY-404", f.payOnly, "", put, nil, nil), http.StatusNotFound, "not_found", "payment_id")
	if f.head() != head {
		t.Fatal("refused amendments appended")
	}
	f.caughtUp()
	cookies := f.login(finSiti, "Siti Aminah binti Omar", "")
	d := finDecode[api.MePaymentDetail](t, f.do("GET", "/api/v1/me/payments/PAY-000123", "", "", "", nil, cookies))
	if d.AmountSen != 48000 || d.Reference != "" || d.Amended != 3 || d.Description != "Tuntutan perjalanan ke Kuala Lumpur" {
		t.Fatalf("after amendments: %+v", d)
	}
	for _, s := range []string{"dalam-proses", "diluluskan", "dihantar-ke-bank"} {
		wantResult(t, s, f.post("/api/v1/payments/PAY-000123/status", f.payOnly, `{"status":"`+s+`"}`), http.StatusOK, "accepted")
	}
	wantErr(t, "patch at the bank", patch(`{"amount_sen":1000}`, ""), http.StatusConflict, "conflict", "payment_id")
}

// A payment's statuses are all reachable through the API and every
// illegal move from each is refused (the domain's table, end to end).
func TestEveryIllegalMoveIsRefused(t *testing.T) {
	f := newFin(t, finOptions{})
	// A path to each status from Diterima.
	paths := map[payment.Status][]string{
		payment.Diterima:          nil,
		payment.DalamProses:       {`{"status":"dalam-proses"}`},
		payment.Diluluskan:        {`{"status":"dalam-proses"}`, `{"status":"diluluskan"}`},
		payment.DihantarKeBank:    {`{"status":"dalam-proses"}`, `{"status":"diluluskan"}`, `{"status":"dihantar-ke-bank"}`},
		payment.GagalDiprosesBank: {`{"status":"dalam-proses"}`, `{"status":"diluluskan"}`, `{"status":"dihantar-ke-bank"}`, `{"status":"gagal-diproses-bank","reason":"akaun ditutup"}`},
		payment.DiterimaOlehBank:  {`{"status":"dalam-proses"}`, `{"status":"diluluskan"}`, `{"status":"dihantar-ke-bank"}`, `{"status":"diterima-oleh-bank","eft_no":"E1","payment_date":"2026-03-05"}`},
		payment.Dikeluarkan:       {`{"status":"dalam-proses"}`, `{"status":"diluluskan"}`, `{"status":"dikeluarkan","cheque_no":"C1","payment_date":"2026-03-05"}`},
		payment.Dibatalkan:        {`{"status":"dibatalkan","reason":"tidak layak"}`},
	}
	body := func(to payment.Status) string {
		switch to {
		case payment.DiterimaOlehBank:
			return `{"status":"diterima-oleh-bank","eft_no":"E9","payment_date":"2026-03-06"}`
		case payment.Dikeluarkan:
			return `{"status":"dikeluarkan","cheque_no":"C9","payment_date":"2026-03-06"}`
		case payment.GagalDiprosesBank, payment.Dibatalkan:
			return `{"status":"` + string(to) + `","reason":"sebab"}`
		}
		return `{"status":"` + string(to) + `"}`
	}
	n := 0
	for from, steps := range paths {
		for _, to := range payment.Statuses() {
			n++
			id := "PAY-M" + string(rune('A'+n/26)) + string(rune('A'+n%26))
			rec := strings.Replace(payBody, "PAY-000123", id, 1)
			wantResult(t, "record "+id, f.post("/api/v1/payments", f.payOnly, rec), http.StatusCreated, "accepted")
			for _, s := range steps {
				wantResult(t, id+" to "+string(from), f.post("/api/v1/payments/"+id+"/status", f.payOnly, s), http.StatusOK, "accepted")
			}
			w := f.post("/api/v1/payments/"+id+"/status", f.payOnly, body(to))
			legal := false
			for _, a := range from.Next() {
				legal = legal || a == to
			}
			if legal {
				wantResult(t, string(from)+"→"+string(to), w, http.StatusOK, "accepted")
				continue
			}
			e := wantErr(t, string(from)+"→"+string(to), w, http.StatusConflict, "illegal_move", "status")
			want := make([]string, 0)
			for _, a := range from.Next() {
				want = append(want, string(a))
			}
			if e.Error.CurrentStatus != string(from) || strings.Join(e.Error.Allowed, ",") != strings.Join(want, ",") {
				t.Errorf("%s→%s: %+v", from, to, e.Error)
			}
		}
	}
}

// Every route MountPayments and MountMe add is in the OpenAPI document,
// saying what it needs: a client scope, or the portal session.
func TestPaymentRoutesDocumented(t *testing.T) {
	f := newFin(t, finOptions{})
	n := 0
	for _, rt := range f.srv.Engine.Routes() {
		p := strings.TrimPrefix(rt.Path, "/api/v1")
		if p == rt.Path || p == "/openapi.json" || strings.HasPrefix(p, "/employees/") {
			continue
		}
		n++
		tmpl := strings.ReplaceAll(p, ":id", "{id}")
		item := f.spec.Paths.Find(tmpl)
		if item == nil || item.GetOperation(rt.Method) == nil {
			t.Errorf("%s %s is not in the OpenAPI document", rt.Method, rt.Path)
			continue
		}
		op := item.GetOperation(rt.Method)
		session := op.Security != nil && len(*op.Security) == 1 && (*op.Security)[0]["session"] != nil
		if op.Extensions["x-required-scope"] == nil && !session {
			t.Errorf("%s %s does not say what it needs", rt.Method, tmpl)
		}
		if strings.HasPrefix(p, "/me/") != session {
			t.Errorf("%s %s: /me is the session's, the rest the clients'", rt.Method, tmpl)
		}
	}
	if n != 14 { // with the event feed
		t.Errorf("%d routes checked, want 14", n)
	}
}
