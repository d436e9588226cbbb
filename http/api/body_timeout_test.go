package api_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// stalledBody is a body whose server read deadline (httpx.BodyLimit)
// passed after start.
func stalledBody(start string) failingBody {
	return failingBody{strings.NewReader(start), os.ErrDeadlineExceeded}
}

// A write whose body does not arrive within its time is answered 408
// body_timeout in JSON, and the OpenAPI document lists that answer for
// every operation that takes a body (checked by f.do's and r.do's
// conformance check). Before, no operation listed 408.
func TestBodyTimeoutIsDocumented(t *testing.T) {
	f := newFin(t, finOptions{})
	send := func(method, path, token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, stalledBody(`{"payment_id":"PAY-0`))
		r.RemoteAddr = "192.0.2.44:5000"
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		f.srv.ServeHTTP(w, r)
		f.conforms(r, w)
		return w
	}
	head := f.head()
	for _, op := range []struct{ method, path, token string }{
		{"POST", "/api/v1/payments", f.payOnly},
		{"PUT", "/api/v1/payments/PAY-000123", f.payOnly},
		{"PATCH", "/api/v1/payments/PAY-000123", f.payOnly},
		{"POST", "/api/v1/payments/PAY-000123/status", f.payOnly},
		{"POST", "/api/v1/statements", f.stmtOnly},
		{"POST", "/api/v1/statements/SG-1/corrections", f.stmtOnly},
	} {
		wantErr(t, op.method+" "+op.path, send(op.method, op.path, op.token), http.StatusRequestTimeout, "body_timeout", "")
	}
	if f.head() != head {
		t.Fatal("something was written")
	}

	r := newRig(t)
	for _, op := range []struct{ method, path string }{{"PUT", sitiPath}, {"POST", sitiPath + "/left-service"}, {"DELETE", sitiPath + "/left-service"}} {
		req := httptest.NewRequest(op.method, op.path, stalledBody(`{"name":"Siti`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+r.writer)
		w := httptest.NewRecorder()
		r.router.ServeHTTP(w, req)
		r.conforms(req, "", w)
		wantError(t, w, http.StatusRequestTimeout, "body_timeout", "")
	}
}
