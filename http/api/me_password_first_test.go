package api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/session"
)

// A session that must change its password first is refused on /me with
// 403 password_change_required, and the OpenAPI document lists that
// answer (f.do checks every answer against it). Before, the document gave
// the /me operations no 403, so a client generated from it had no case for
// the answer the portal gives a person whose password is below the policy.
func TestMePasswordChangeFirstIsDocumented(t *testing.T) {
	f := newFin(t, finOptions{})
	f.srv.Engine.GET("/test/login-must-change", func(c *gin.Context) {
		if err := f.srv.Sessions.Login(c, session.Identity{UserID: finSiti, Name: "Siti Aminah binti Omar",
			Department: "Jabatan Kewangan dan Perbendaharaan", MustChangePassword: true}); err != nil {
			httpx.Abort(c, err)
			return
		}
		c.String(http.StatusOK, "ok")
	})
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, httptest.NewRequest("GET", "/test/login-must-change", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("login: %d", w.Code)
	}
	cookies := w.Result().Cookies()
	for _, path := range []string{"/api/v1/me/payments", "/api/v1/me/payments/PAY-S-1", "/api/v1/me/payments/PAY-S-1/pdf",
		"/api/v1/me/statements", "/api/v1/me/statements/SG-S-01", "/api/v1/me/statements/SG-S-01/pdf"} {
		wantErr(t, path, f.do("GET", path, "", "", "", nil, cookies), http.StatusForbidden, "password_change_required", "")
	}
}
