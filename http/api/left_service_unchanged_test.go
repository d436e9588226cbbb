package api_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/http/api"
)

// A keyed report of the leaving date the record already had (answered
// unchanged), re-sent after another report moved the date, is a repeat:
// answered unchanged, nothing appended, the later date stands. Before, it
// recorded nothing under its key, so the resend ran as a new report and
// moved the date back. After a cancellation it does not bring the date
// back either. Without a key (no repeat can come) the same date appends
// nothing.
func TestUnchangedKeyedLeftServiceSentAgainAfterAChange(t *testing.T) {
	r := newRig(t)
	path := sitiPath + "/left-service"
	today := time.Now().In(calendar.Melaka)
	ahead := today.AddDate(0, 1, 0).Format(time.DateOnly)
	later := today.AddDate(0, 2, 0).Format(time.DateOnly)
	if w := r.do("PUT", sitiPath, r.writer, sitiBody, nil); w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	report := func(key, date string) api.LeftServiceResult {
		t.Helper()
		var h map[string]string
		if key != "" {
			h = map[string]string{api.IdempotencyKeyHeader: key}
		}
		w := r.do("POST", path, r.writer, `{"date":"`+date+`","reason":"Bersara"}`, h)
		if w.Code != http.StatusOK {
			t.Fatalf("%s %s: %d %s", key, date, w.Code, w.Body)
		}
		return decode[api.LeftServiceResult](t, w)
	}
	// The date recorded in the last event, which must be a report.
	leftOn := func() (string, int) {
		t.Helper()
		recs := r.stream(sitiIC)
		last := recs[len(recs)-1]
		var ev struct{ Date string }
		if err := json.Unmarshal(last.Data, &ev); err != nil || last.Type != "employee.StaffLeftService.v1" {
			t.Fatalf("last event %s %s, %v", last.Type, last.Data, err)
		}
		return ev.Date, len(recs)
	}

	if res := report("", ahead); res.Result != api.ResultLeftService {
		t.Fatalf("left: %+v", res)
	}
	head := r.head()
	if res := report("", ahead); res.Result != api.ResultUnchanged || res.Position != 0 || res.Date != ahead || r.head() != head {
		t.Fatalf("same date without a key: %+v, head %d→%d", res, head, r.head())
	}

	if res := report("leave-1", ahead); res.Result != api.ResultUnchanged || res.Position != 0 || res.Date != ahead {
		t.Fatalf("same date, keyed: %+v", res)
	}
	if recs := r.stream(sitiIC); len(recs) != 3 || recs[2].Type != "employee.LeavingDateUnchanged.v1" {
		t.Fatalf("same date, keyed: %d events, last %s: want the record, the report and its LeavingDateUnchanged", len(recs), recs[len(recs)-1].Type)
	}
	if res := report("leave-2", later); res.Result != api.ResultLeftService || res.Date != later {
		t.Fatalf("date moved: %+v", res)
	}
	head = r.head()
	if res := report("leave-1", ahead); res.Result != api.ResultUnchanged || res.Position != 0 || res.Date != ahead {
		t.Fatalf("the unchanged one again: %+v", res)
	}
	if on, n := leftOn(); on != later || n != 4 || r.head() != head {
		t.Fatalf("the unchanged one again: leaving date %s, %d events, head %d→%d: want the later date to stand", on, n, head, r.head())
	}
	// Its key with another date is still a reused key.
	w := r.do("POST", path, r.writer, `{"date":"`+later+`","reason":"Bersara"}`, map[string]string{api.IdempotencyKeyHeader: "leave-1"})
	wantError(t, w, http.StatusUnprocessableEntity, "idempotency_key_reused", api.IdempotencyKeyHeader)

	// A cancellation stands too: the resend schedules nothing, so there is
	// nothing left to cancel.
	if w := r.do("DELETE", path, r.writer, "", map[string]string{api.IdempotencyKeyHeader: "cancel-1"}); w.Code != http.StatusOK {
		t.Fatalf("cancel: %d %s", w.Code, w.Body)
	}
	head = r.head()
	if res := report("leave-1", ahead); res.Result != api.ResultUnchanged || r.head() != head {
		t.Fatalf("the unchanged one after the cancellation: %+v, head %d→%d", res, head, r.head())
	}
	wantError(t, r.do("DELETE", path, r.writer, "", nil), http.StatusConflict, "employee.no_leaving_date", "")
}
