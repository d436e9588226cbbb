package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// Every operation's documented 401 names the code the portal answers an
// unauthenticated request with: auth.missing_token for the client
// endpoints, login_required for /me (a session cookie, not a token).
// Before, /me's 401 was described as a missing, wrong or revoked client
// token.
func TestUnauthorizedIsDescribedAsAnswered(t *testing.T) {
	f := newFin(t, finOptions{})
	ids := strings.NewReplacer("{id}", "X-1", "{ic}", "791117045672")
	checked := 0
	for path, item := range f.spec.Paths.Map() {
		for method, op := range item.Operations() {
			doc := op.Responses.Status(http.StatusUnauthorized)
			if doc == nil {
				continue
			}
			w := f.do(method, "/api/v1"+ids.Replace(path), "", "", "", nil, nil)
			e := finDecode[finErr](t, w)
			if w.Code != http.StatusUnauthorized {
				t.Errorf("%s %s without credentials: %d %s", method, path, w.Code, w.Body)
				continue
			}
			if !strings.Contains(*doc.Value.Description, e.Error.Code) {
				t.Errorf("%s %s answers 401 %s, but its document says %q", method, path, e.Error.Code, *doc.Value.Description)
			}
			checked++
		}
	}
	if checked < 15 {
		t.Fatalf("%d operations checked", checked)
	}
}
