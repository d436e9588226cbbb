package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The OpenAPI document is cacheable by anyone for a while, so its answer
// must not set a cookie: a shared cache would hand the clearing of a
// timed-out session (or a ?lang= choice) to everyone who fetches the
// document after it, logging them all out.
func TestOpenAPIDocumentSetsNoCookie(t *testing.T) {
	f := newFin(t, finOptions{})
	cookies := f.login(finSiti, "Siti Aminah binti Omar", "")
	f.mu.Lock()
	f.now = f.now.Add(31 * time.Minute) // the session times out
	f.mu.Unlock()
	for _, p := range []string{"/api/v1/openapi.json", "/api/v1/openapi.json?lang=en"} {
		w := f.do("GET", p, "", "", "", nil, cookies)
		if w.Code != http.StatusOK || !strings.Contains(w.Header().Get("Cache-Control"), "public") {
			t.Fatalf("%s: %d %v", p, w.Code, w.Header())
		}
		if sc := w.Header().Values("Set-Cookie"); len(sc) > 0 {
			t.Errorf("%s: a public answer sets cookies: %q", p, sc)
		}
	}
}
