package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
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
