package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/http/api"
)

// A keyed PUT that changed nothing when it came, re-sent after another PUT
// changed the record, is a repeat: answered unchanged, nothing appended,
// the later change stands. Before, it recorded nothing under its key, so
// the resend ran as a new update and undid the later one. Without a key
// (the command ID is the server's, no repeat can come) an unchanged PUT
// still appends nothing.
func TestUnchangedKeyedPutSentAgainAfterAChange(t *testing.T) {
	r := newRig(t)
	if w := r.do("PUT", sitiPath, r.writer, sitiBody, nil); w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	head := r.head()
	w := r.do("PUT", sitiPath, r.writer, sitiBody, nil)
	if res := decode[api.EmployeeResult](t, w); w.Code != http.StatusOK || res.Result != api.ResultUnchanged || r.head() != head {
		t.Fatalf("unchanged without a key: %d %s, head %d→%d", w.Code, w.Body, head, r.head())
	}

	keyed := func(key, body string) *api.EmployeeResult {
		t.Helper()
		w := r.do("PUT", sitiPath, r.writer, body, map[string]string{api.IdempotencyKeyHeader: key})
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", key, w.Code, w.Body)
		}
		res := decode[api.EmployeeResult](t, w)
		return &res
	}
	if res := keyed("sync-1", sitiBody); res.Result != api.ResultUnchanged || res.Position != 0 {
		t.Fatalf("unchanged, keyed: %+v", res)
	}
	if recs := r.stream(sitiIC); len(recs) != 2 || recs[1].Type != "employee.StaffUnchanged.v1" {
		t.Fatalf("unchanged, keyed: stream %+v, want the record and its StaffUnchanged", recs)
	}
	later := strings.Replace(sitiBody, "Pegawai Kewangan", "Akauntan", 1)
	if res := keyed("sync-2", later); res.Result != api.ResultUpdated {
		t.Fatalf("later change: %+v", res)
	}
	head = r.head()
	if res := keyed("sync-1", sitiBody); res.Result != api.ResultUnchanged || res.Position != 0 || res.Employee.Post != "Pegawai Kewangan" {
		t.Fatalf("the unchanged one again: %+v", res)
	}
	recs := r.stream(sitiIC)
	if r.head() != head || len(recs) != 3 || recs[2].Type != "employee.StaffUpdated.v1" {
		t.Fatalf("the unchanged one again: head %d→%d, %d events, last %s: want the later change to stand", head, r.head(), len(recs), recs[len(recs)-1].Type)
	}
	// Its key on another record is still a reused key.
	w = r.do("PUT", sitiPath, r.writer, strings.Replace(sitiBody, "JKPN-0042", "JKPN-0043", 1), map[string]string{api.IdempotencyKeyHeader: "sync-1"})
	wantError(t, w, http.StatusUnprocessableEntity, "idempotency_key_reused", api.IdempotencyKeyHeader)
}
