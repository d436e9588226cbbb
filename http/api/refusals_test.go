package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/http/api"
)

// A keyed status move refused as illegal (Diterima → Diluluskan), re-sent
// after the payment moved to Dalam Proses (from where the move is legal),
// gets the first answer again, byte for byte: 409 illegal_move from
// Diterima, nothing appended. Before, the resend approved the payment. An
// unkeyed refusal records nothing.
func TestRefusedKeyedMoveIsRefusedAgainAfterThePaymentMovedOn(t *testing.T) {
	f := newFin(t, finOptions{})
	keyed := func(key, body string) *httptestRecorder {
		return f.do("POST", "/api/v1/payments/PAY-000123/status", f.payOnly, "", body, map[string]string{api.IdempotencyKeyHeader: key}, nil)
	}
	wantResult(t, "record", f.do("POST", "/api/v1/payments", f.payOnly, "", payBody, map[string]string{api.IdempotencyKeyHeader: "pay-1"}, nil), http.StatusCreated, "accepted")
	first := keyed("early", `{"status":"diluluskan"}`)
	wantErr(t, "approve from Diterima", first, http.StatusConflict, "illegal_move", "status")
	stream := payment.Stream("PAY-000123")
	if n := f.count(stream); n != 2 {
		t.Fatalf("after the refusal: %d events, want the record and the refusal", n)
	}
	wantResult(t, "move", keyed("move-1", `{"status":"dalam-proses"}`), http.StatusOK, "accepted")

	again := keyed("early", `{"status":"diluluskan"}`)
	if again.Code != first.Code || again.Body.String() != first.Body.String() {
		t.Fatalf("resent: %d %s\nwant the first answer: %d %s", again.Code, again.Body, first.Code, first.Body)
	}
	if n := f.count(stream); n != 3 {
		t.Fatalf("after the resend: %d events, want the record, the refusal and the move", n)
	}
	wantErr(t, "another move under the refused one's key", keyed("early", `{"status":"dibatalkan","reason":"silap"}`),
		http.StatusUnprocessableEntity, "idempotency_key_reused", api.IdempotencyKeyHeader)

	unkeyed := f.do("POST", "/api/v1/payments/PAY-000123/status", f.payOnly, "", `{"status":"dihantar-ke-bank"}`, nil, nil)
	wantErr(t, "unkeyed illegal move", unkeyed, http.StatusConflict, "illegal_move", "status")
	if n := f.count(stream); n != 3 {
		t.Fatalf("after an unkeyed refusal: %d events, want nothing appended", n)
	}
}

// A keyed cancellation refused for want of a leaving date, re-sent after a
// date was reported, gets the first answer again (409
// employee.no_leaving_date) and the date stands; a keyed report of another
// date refused for a leaver, re-sent after they rejoined, gets the first
// answer again (409 employee.left_service naming the date they had left
// on) and they stay in service. Before, the resends cancelled the date and
// made the rejoiner a leaver.
func TestRefusedKeyedLeavingRequestsAreRefusedAgainAfterAChange(t *testing.T) {
	r := newRig(t)
	path := sitiPath + "/left-service"
	today := time.Now().In(calendar.Melaka)
	ahead := today.AddDate(0, 1, 0).Format(time.DateOnly)
	yesterday := today.AddDate(0, 0, -1).Format(time.DateOnly)
	key := func(k string) map[string]string { return map[string]string{api.IdempotencyKeyHeader: k} }
	if w := r.do("PUT", sitiPath, r.writer, sitiBody, nil); w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}

	first := r.do("DELETE", path, r.writer, "", key("cancel-early"))
	wantError(t, first, http.StatusConflict, "employee.no_leaving_date", "")
	if w := r.do("POST", path, r.writer, `{"date":"`+ahead+`"}`, key("leave-1")); w.Code != http.StatusOK {
		t.Fatalf("report: %d %s", w.Code, w.Body)
	}
	n := len(r.stream(sitiIC))
	again := r.do("DELETE", path, r.writer, "", key("cancel-early"))
	if again.Code != first.Code || again.Body.String() != first.Body.String() {
		t.Fatalf("cancellation resent: %d %s\nwant the first answer: %d %s", again.Code, again.Body, first.Code, first.Body)
	}
	if recs := r.stream(sitiIC); len(recs) != n || recs[n-1].Type != "employee.StaffLeftService.v1" {
		t.Fatalf("cancellation resent: %d → %d events, last %s: want the date to stand", n, len(recs), recs[len(recs)-1].Type)
	}

	if w := r.do("POST", path, r.writer, `{"date":"`+yesterday+`"}`, key("leave-2")); w.Code != http.StatusOK {
		t.Fatalf("report of a date that has come: %d %s", w.Code, w.Body)
	}
	first = r.do("POST", path, r.writer, `{"date":"`+ahead+`","reason":"Bersara"}`, key("late"))
	if e := wantError(t, first, http.StatusConflict, "employee.left_service", "date"); !strings.Contains(e.Error.Message, yesterday) {
		t.Fatalf("refusal %q does not name the date left on (%s)", e.Error.Message, yesterday)
	}
	if w := r.do("PUT", sitiPath, r.writer, sitiBody, key("rejoin")); w.Code != http.StatusOK || decode[api.EmployeeResult](t, w).Result != api.ResultRejoined {
		t.Fatalf("rejoin: %d %s", w.Code, w.Body)
	}
	n = len(r.stream(sitiIC))
	again = r.do("POST", path, r.writer, `{"date":"`+ahead+`","reason":"Bersara"}`, key("late"))
	if again.Code != first.Code || again.Body.String() != first.Body.String() {
		t.Fatalf("report resent: %d %s\nwant the first answer: %d %s", again.Code, again.Body, first.Code, first.Body)
	}
	if recs := r.stream(sitiIC); len(recs) != n || recs[n-1].Type != "employee.StaffRecorded.v1" {
		t.Fatalf("report resent: %d → %d events, last %s: want the rejoin to stand", n, len(recs), recs[len(recs)-1].Type)
	}
	// The same reason and date with spaces around them is the same
	// request; another reason or date under the refused requests' keys is
	// a reused key, and nothing is appended.
	if w := r.do("POST", path, r.writer, `{"date":" `+ahead+` ","reason":" Bersara "}`, key("late")); w.Code != first.Code || w.Body.String() != first.Body.String() {
		t.Fatalf("report resent with spaces: %d %s", w.Code, w.Body)
	}
	wantError(t, r.do("POST", path, r.writer, `{"date":"`+ahead+`","reason":"Berhenti"}`, key("late")), http.StatusUnprocessableEntity, "idempotency_key_reused", api.IdempotencyKeyHeader)
	wantError(t, r.do("DELETE", path, r.writer, `{"reason":"Lain"}`, key("cancel-early")), http.StatusUnprocessableEntity, "idempotency_key_reused", api.IdempotencyKeyHeader)
	if recs := r.stream(sitiIC); len(recs) != n {
		t.Fatalf("reused keys: %d → %d events", n, len(recs))
	}
}

// A keyed amendment refused because the payment went to the bank (PUT and
// PATCH), re-sent a day later after the payment was paid, gets the first
// answer byte for byte and appends nothing; the key with another body is
// still 422 idempotency_key_reused. A keyed illegal move whose date is
// padded with spaces, re-sent once the move is legal, is refused again
// (before, the padding kept it from being recorded and the resend applied).
func TestRefusedKeyedAmendmentsAndPaddedMovesAreRefusedAgain(t *testing.T) {
	f := newFin(t, finOptions{})
	send := func(method, path, ctype, key, body string) *httptestRecorder {
		return f.do(method, path, f.payOnly, ctype, body, map[string]string{api.IdempotencyKeyHeader: key}, nil)
	}
	const pay = "/api/v1/payments/PAY-000123"
	stream := payment.Stream("PAY-000123")
	wantResult(t, "record", send("POST", "/api/v1/payments", "", "pay-1", payBody), http.StatusCreated, "accepted")

	padded := `{"status":"diluluskan","date":"` + strings.Repeat(" ", 64) + `2026-03-10"}`
	firstMove := send("POST", pay+"/status", "", "padded", padded)
	wantErr(t, "padded approval from Diterima", firstMove, http.StatusConflict, "illegal_move", "status")
	for i, to := range []string{"dalam-proses"} {
		wantResult(t, "move", send("POST", pay+"/status", "", "move-"+strconv.Itoa(i), `{"status":"`+to+`"}`), http.StatusOK, "accepted")
	}
	n := f.count(stream)
	if again := send("POST", pay+"/status", "", "padded", padded); again.Code != firstMove.Code || again.Body.String() != firstMove.Body.String() {
		t.Fatalf("padded move resent: %d %s\nwant the first answer: %d %s", again.Code, again.Body, firstMove.Code, firstMove.Body)
	}
	if got := f.count(stream); got != n {
		t.Fatalf("padded move resent: %d → %d events", n, got)
	}

	for i, to := range []string{"diluluskan", "dihantar-ke-bank"} {
		wantResult(t, "move", send("POST", pay+"/status", "", "on-"+strconv.Itoa(i), `{"status":"`+to+`"}`), http.StatusOK, "accepted")
	}
	put := strings.Replace(strings.Replace(payBody, `"payment_id":"PAY-000123",`, ``, 1), `"amount_sen":45050`, `"amount_sen":47000`, 1)
	const patchType = "application/merge-patch+json"
	firstPut := send("PUT", pay, "", "put-late", put)
	wantErr(t, "amendment at the bank", firstPut, http.StatusConflict, "conflict", "payment_id")
	firstPatch := send("PATCH", pay, patchType, "patch-late", `{"amount_sen":48000}`)
	wantErr(t, "patch at the bank", firstPatch, http.StatusConflict, "conflict", "payment_id")

	wantResult(t, "paid", send("POST", pay+"/status", "", "paid", `{"status":"diterima-oleh-bank","eft_no":"EFT1","payment_date":"2026-03-10"}`), http.StatusOK, "accepted")
	f.mu.Lock()
	f.now = f.now.Add(24 * time.Hour)
	f.mu.Unlock()
	n = f.count(stream)
	if again := send("PUT", pay, "", "put-late", put); again.Code != firstPut.Code || again.Body.String() != firstPut.Body.String() {
		t.Fatalf("amendment resent: %d %s\nwant the first answer: %d %s", again.Code, again.Body, firstPut.Code, firstPut.Body)
	}
	if again := send("PATCH", pay, patchType, "patch-late", `{"amount_sen":48000}`); again.Code != firstPatch.Code || again.Body.String() != firstPatch.Body.String() {
		t.Fatalf("patch resent: %d %s\nwant the first answer: %d %s", again.Code, again.Body, firstPatch.Code, firstPatch.Body)
	}
	if got := f.count(stream); got != n {
		t.Fatalf("amendments resent: %d → %d events", n, got)
	}
	wantErr(t, "another amendment under the refused one's key", send("PUT", pay, "", "put-late", strings.Replace(put, "47000", "47500", 1)),
		http.StatusUnprocessableEntity, "idempotency_key_reused", api.IdempotencyKeyHeader)
	wantErr(t, "another patch under the refused one's key", send("PATCH", pay, patchType, "patch-late", `{"amount_sen":1}`),
		http.StatusUnprocessableEntity, "idempotency_key_reused", api.IdempotencyKeyHeader)
}
