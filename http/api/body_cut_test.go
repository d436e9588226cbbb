package api_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// failingBody yields the start of a body (r), then err where the rest
// should be: a connection that broke off, or a read deadline passed.
type failingBody struct {
	r   io.Reader
	err error
}

func (b failingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		return n, b.err
	}
	return n, err
}

// cutBody is a body whose connection was reset after start.
func cutBody(start string) failingBody {
	return failingBody{strings.NewReader(start), errors.New("read tcp 10.0.0.5:8080->192.0.2.44:5000: connection reset by peer")}
}

// A payment write whose body breaks off (the client's connection reset) is
// the client's failure: 400 bad_request, no incident and no ERROR in the
// log, as DecodeJSON answers on the employee writes. Before, the read
// error was unknown to the error map: a 500 "internal" with an incident
// logged as the server's fault.
func TestPaymentBodyCutOffIsNoServerFault(t *testing.T) {
	f := newFin(t, finOptions{})
	head := f.head()
	for _, path := range []string{"/api/v1/payments", "/api/v1/payments/PAY-000123/status"} {
		r := httptest.NewRequest("POST", path, cutBody(payBody[:40]))
		r.RemoteAddr = "192.0.2.44:5000"
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+f.payOnly)
		w := httptest.NewRecorder()
		f.srv.ServeHTTP(w, r)
		e := finDecode[finErr](t, w)
		if w.Code != http.StatusBadRequest || e.Error.Code != "bad_request" || e.Error.Incident != "" {
			t.Errorf("%s: %d %s, want 400 bad_request", path, w.Code, w.Body)
		}
	}
	if strings.Contains(f.logs.String(), "level=ERROR") {
		t.Errorf("a client's broken body was logged as the server's fault:\n%s", f.logs)
	}
	if f.head() != head {
		t.Fatal("something was written")
	}
}
