package api_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/http/api"
)

// The OpenAPI document and the router agree both ways, over the routes
// serve mounts under /api/v1 (employees, payments, statements, batch, /me
// and the event feed): every route is documented, and every documented
// operation is a route (a documented one that is not would be a 404 for a
// client generated from the document). Every operation that needs a client
// token lists the answers the token middleware gives (401, 403, 429, 503).
func TestOpenAPIDocumentMatchesTheRouter(t *testing.T) {
	f := newFin(t, finOptions{})
	param := strings.NewReplacer("{id}", ":id", "{ic}", ":ic")
	routes := map[string]bool{}
	for _, rt := range f.srv.Engine.Routes() {
		if strings.HasPrefix(rt.Path, "/api/v1/") {
			routes[rt.Method+" "+rt.Path] = true
		}
	}
	documented := map[string]bool{}
	for path, item := range f.spec.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " /api/v1" + param.Replace(path)
			documented[key] = true
			if !routes[key] {
				t.Errorf("%s %s is documented but no such route is mounted", method, path)
			}
			if op.Extensions["x-required-scope"] == nil {
				continue
			}
			for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests, http.StatusServiceUnavailable} {
				if op.Responses.Status(status) == nil {
					t.Errorf("%s %s needs a client token but does not list %d", method, path, status)
				}
			}
		}
	}
	var missing []string
	for key := range routes {
		if !documented[key] {
			missing = append(missing, key)
		}
	}
	slices.Sort(missing)
	for _, key := range missing {
		t.Errorf("route %s is not in the OpenAPI document", key)
	}
	if len(routes) < 18 {
		t.Errorf("%d routes under /api/v1, want the 18 serve mounts", len(routes))
	}
}

// The token middleware answers 503 unavailable when it cannot read the
// clients (the read store is down); the OpenAPI document did not list 503
// for any operation, so a client generated from it had no case for it.
func TestTokenCheckUnavailableIsDocumented(t *testing.T) {
	r := newRig(t)
	if err := r.views.Close(); err != nil {
		t.Fatal(err)
	}
	w := r.do("PUT", sitiPath, r.writer, sitiBody, nil) // r.do checks the answer against the document
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"code":"unavailable"`) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if strings.Contains(strings.ToLower(w.Body.String()), "sql") {
		t.Fatalf("the answer tells of the store: %s", w.Body)
	}
}

// A client that compresses its bodies (Content-Encoding: gzip) is told so:
// 415 on Content-Encoding, nothing written. Before, a compressed batch was
// read as text and answered 200 with a "malformed" line for every stretch
// of compressed bytes between two newline bytes, and a compressed JSON
// write was a 400 malformed_json that did not say why.
func TestCompressedBodiesAreRefused(t *testing.T) {
	f := newFin(t, finOptions{})
	var batch strings.Builder
	for i := range 200 {
		id := fmt.Sprintf("SG-GZ-%03d", i)
		batch.WriteString(line("statement", "gz-"+id, "statement", slipBody(id, 1)))
	}
	gz := func(s string) string {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write([]byte(s))
		_ = zw.Close()
		return b.String()
	}
	head := f.head()
	enc := map[string]string{"Content-Encoding": "gzip"}
	wantErr(t, "gzip batch", f.do("POST", "/api/v1/ingest", f.both, api.NDJSONType, gz(batch.String()), enc, nil),
		http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Encoding")
	wantErr(t, "gzip payment", f.do("POST", "/api/v1/payments", f.payOnly, "", gz(payBody), enc, nil),
		http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Encoding")
	if f.head() != head {
		t.Fatal("something was written")
	}
	// identity is no coding at all.
	wantResult(t, "identity", f.do("POST", "/api/v1/payments", f.payOnly, "", payBody, map[string]string{"Content-Encoding": "identity"}, nil),
		http.StatusCreated, "accepted")

	r := newRig(t)
	w := r.do("PUT", sitiPath, r.writer, gz(sitiBody), enc)
	if w.Code != http.StatusUnsupportedMediaType || !strings.Contains(w.Body.String(), `"field":"Content-Encoding"`) {
		t.Fatalf("gzip employee: %d %s", w.Code, w.Body)
	}
}

// A batch that is not UTF-8 is refused as a whole with 415, nothing
// written: a UTF-16 file (its byte-order mark) and a batch declared in
// another charset. Before, the UTF-16 batch was answered 200 with every
// line rejected malformed, and a declared charset was ignored.
func TestBatchMustBeUTF8(t *testing.T) {
	f := newFin(t, finOptions{})
	text := line("statement", "u16-1", "statement", slipBody("SG-U16-1", 1))
	utf16 := []byte{0xFF, 0xFE}
	for _, c := range text {
		utf16 = append(utf16, byte(c), 0)
	}
	head := f.head()
	e := wantErr(t, "UTF-16 batch", f.do("POST", "/api/v1/ingest", f.both, api.NDJSONType, string(utf16), nil, nil),
		http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type")
	if !strings.Contains(e.Error.Message, "UTF-16") {
		t.Errorf("message %q", e.Error.Message)
	}
	wantErr(t, "latin-1 batch", f.do("POST", "/api/v1/ingest", f.both, api.NDJSONType+"; charset=iso-8859-1", text, nil, nil),
		http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type")
	if f.head() != head {
		t.Fatal("something was written")
	}
	w := f.do("POST", "/api/v1/ingest", f.both, api.NDJSONType+"; charset=UTF-8", text, nil, nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"result":"accepted"`) {
		t.Fatalf("UTF-8 batch: %d %s", w.Code, w.Body)
	}
}
