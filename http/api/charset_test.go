package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// A JSON write declared in another charset than UTF-8 is refused with 415
// on Content-Type, nothing written, as a batch is. Before, the charset was
// ignored and the bytes read as UTF-8: a Latin-1 body whose bytes happen to
// be valid UTF-8 ("Ã©", 0xC3 0xA9) was stored as other text ("é"), and one
// that was not was answered as malformed JSON without saying why.
func TestJSONWritesMustBeUTF8(t *testing.T) {
	f := newFin(t, finOptions{})
	latin1 := strings.Replace(payBody, "Tuntutan perjalanan", "Tuntutan perjalanan \xc3\xa9", 1)
	head := f.head()
	for _, ct := range []string{"application/json; charset=iso-8859-1", "application/json;charset=windows-1252", "application/json; charset=\"UTF-16\""} {
		wantErr(t, ct, f.do("POST", "/api/v1/payments", f.payOnly, ct, latin1, nil, nil),
			http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type")
	}
	wantErr(t, "status", f.do("POST", "/api/v1/payments/PAY-000123/status", f.payOnly, "application/json; charset=latin1", `{"status":"dalam-proses"}`, nil, nil),
		http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type")
	wantErr(t, "patch", f.do("PATCH", "/api/v1/payments/PAY-000123", f.payOnly, "application/merge-patch+json; charset=iso-8859-1", `{"amount_sen":100}`, nil, nil),
		http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type")
	if f.head() != head {
		t.Fatal("something was written")
	}
	// UTF-8 (in any spelling) and US-ASCII are JSON's own.
	wantResult(t, "utf-8", f.do("POST", "/api/v1/payments", f.payOnly, "application/json; charset=UTF-8", payBody, nil, nil),
		http.StatusCreated, "accepted")
	wantResult(t, "us-ascii", f.do("POST", "/api/v1/payments/PAY-000123/status", f.payOnly, "application/json; charset=us-ascii", `{"status":"dalam-proses"}`, nil, nil),
		http.StatusOK, "accepted")

	r := newRig(t)
	w := r.do("PUT", sitiPath, r.writer, sitiBody, map[string]string{"Content-Type": "application/json; charset=iso-8859-1"})
	if w.Code != http.StatusUnsupportedMediaType || !strings.Contains(w.Body.String(), `"field":"Content-Type"`) {
		t.Fatalf("employee in Latin-1: %d %s", w.Code, w.Body)
	}
	if w := r.do("PUT", sitiPath, r.writer, sitiBody, map[string]string{"Content-Type": "application/json; charset=utf-8"}); w.Code != http.StatusCreated {
		t.Fatalf("employee in UTF-8: %d %s", w.Code, w.Body)
	}
}
