package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/http/api"
)

// TestCancelLeaving: a finance system reports a resignation a month ahead,
// then withdraws it with DELETE …/left-service. Every answer is checked
// against the OpenAPI document (rig.do).
func TestCancelLeaving(t *testing.T) {
	r := newRig(t)
	path := sitiPath + "/left-service"
	reason := `{"reason":"Peletakan jawatan ditarik balik"}`

	w := r.do("DELETE", path, r.writer, reason, nil)
	wantError(t, w, http.StatusNotFound, "employee.not_found", "ic")
	if w := r.do("PUT", sitiPath, r.writer, sitiBody, nil); w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	w = r.do("DELETE", path, r.writer, reason, nil)
	wantError(t, w, http.StatusConflict, "employee.no_leaving_date", "")

	ahead := time.Now().In(calendar.Melaka).AddDate(0, 1, 0).Format(time.DateOnly)
	if w := r.do("POST", path, r.writer, `{"date":"`+ahead+`","reason":"Meletak jawatan"}`, nil); w.Code != http.StatusOK {
		t.Fatalf("left: %d %s", w.Code, w.Body)
	}

	// Refusals change nothing.
	head := r.head()
	wantError(t, r.do("DELETE", path, "", reason, nil), http.StatusUnauthorized, "auth.missing_token", "")
	wantError(t, r.do("DELETE", path, r.reader, reason, nil), http.StatusForbidden, "auth.insufficient_scope", "")
	wantError(t, r.do("DELETE", "/api/v1/employees/791117175671/left-service", r.writer, reason, nil), http.StatusUnprocessableEntity, "invalid", "ic")
	e := wantError(t, r.do("DELETE", path, r.writer, `{"reason":"`+strings.Repeat("r", 600)+`"}`, nil), http.StatusUnprocessableEntity, "invalid", "reason")
	if e.Error.Fields[0].Code != "too_long" {
		t.Fatalf("long reason: %+v", e.Error.Fields)
	}
	wantError(t, r.do("DELETE", path, r.writer, `{"reason":"x","date":"`+ahead+`"}`, nil), http.StatusBadRequest, "unknown_field", "date")
	wantError(t, r.do("DELETE", path, r.writer, reason, map[string]string{"Content-Type": "text/plain"}), http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type")
	if r.head() != head {
		t.Fatalf("a refused request wrote: head %d→%d", head, r.head())
	}

	key := map[string]string{api.IdempotencyKeyHeader: "cancel-1"}
	w = r.do("DELETE", path, r.writer, reason, key)
	first := decode[api.LeavingCancelledResult](t, w)
	if w.Code != http.StatusOK || first != (api.LeavingCancelledResult{Result: api.ResultLeavingCancelled, Position: r.head(), Version: 3, IC: sitiIC, Date: ahead}) {
		t.Fatalf("cancel: %d %s", w.Code, w.Body)
	}
	recs := r.stream(sitiIC)
	last := recs[len(recs)-1]
	if last.Type != "employee.LeavingCancelled.v1" || last.Metadata.Actor != (eventlog.Actor{Kind: eventlog.ActorClient, ID: r.writeID}) {
		t.Fatalf("event %s by %+v", last.Type, last.Metadata.Actor)
	}
	// The retry with the same key answers as the first did and appends
	// nothing; the same key with another reason is a reused key.
	head = r.head()
	w = r.do("DELETE", path, r.writer, reason, key)
	if res := decode[api.LeavingCancelledResult](t, w); w.Code != http.StatusOK || res != first || r.head() != head {
		t.Fatalf("retry: %d %s", w.Code, w.Body)
	}
	w = r.do("DELETE", path, r.writer, `{"reason":"Lain"}`, key)
	wantError(t, w, http.StatusUnprocessableEntity, "idempotency_key_reused", api.IdempotencyKeyHeader)
	// Without the key it is a new request, and nothing is scheduled now.
	wantError(t, r.do("DELETE", path, r.writer, reason, nil), http.StatusConflict, "employee.no_leaving_date", "")
	if r.head() != head {
		t.Fatal("a refused request wrote")
	}

	// A new date, cancelled by a DELETE without a body.
	if w := r.do("POST", path, r.writer, `{"date":"`+ahead+`"}`, nil); w.Code != http.StatusOK || decode[api.LeftServiceResult](t, w).Result != api.ResultLeftService {
		t.Fatalf("left again: %d %s", w.Code, w.Body)
	}
	w = r.do("DELETE", path, r.writer, "", nil)
	if res := decode[api.LeavingCancelledResult](t, w); w.Code != http.StatusOK || res.Date != ahead || res.Version != 5 {
		t.Fatalf("cancel without a body: %d %s", w.Code, w.Body)
	}

	// A date that has come is not cancelled: she left.
	if w := r.do("POST", path, r.writer, `{"date":"2025-12-31"}`, nil); w.Code != http.StatusOK {
		t.Fatalf("left: %d %s", w.Code, w.Body)
	}
	head = r.head()
	e = wantError(t, r.do("DELETE", path, r.writer, reason, map[string]string{"Accept-Language": "en"}), http.StatusConflict, "employee.left_service", "")
	if !strings.Contains(e.Error.Message, "PUT") {
		t.Fatalf("the answer does not say how to rejoin: %q", e.Error.Message)
	}
	if r.head() != head {
		t.Fatal("a refused cancel wrote")
	}
}
