package session

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/domain/mykad"
)

// returnCookie remembers the page a browser asked for when it had to log
// in first (its session had timed out, or it followed a link), so that the
// login, however many steps it takes, ends on that page instead of the
// home page. A cookie rather than a form field: the login's pages are
// drawn once for everyone (cachedPieces) and its steps change sessions.
const returnCookie = "ispeks_kembali"

// maxReturn bounds what is remembered; a longer address goes home.
const maxReturn = 1024

// rememberReturn keeps the request's page for the login to go back to. A
// page of a session that timed out is tied to its user (a keyed hash, not
// the ID): on a shared computer the next person to log in goes home, not
// to the page of someone else's document.
func (m *Manager) rememberReturn(c *gin.Context, userID string) {
	r := c.Request
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return // a form post cannot be replayed by a redirect
	}
	page := r.URL.RequestURI()
	if len(page) > maxReturn || !strings.HasPrefix(page, "/") || strings.HasPrefix(page, "//") {
		return
	}
	if unescaped, err := url.PathUnescape(page); err != nil || mykad.Redact(unescaped) != unescaped {
		// An administrator's page of an account (/pentadbir/akaun/<IC>):
		// an IC number is not kept in a cookie, which proxies may log.
		return
	}
	// QueryEscape escapes '|', so the page never holds the separator of
	// its tie.
	v := url.QueryEscape(page)
	if userID != "" {
		v += "|" + m.returnMAC(userID)
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: returnCookie, Value: v, Path: "/", MaxAge: int(m.cfg.PendingTimeout.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: m.cfg.Secure(r),
	})
}

// TakeReturn returns the page remembered for this browser when it was sent
// to log in ("" if none, or if it was remembered for another user than
// userID) and forgets it. The caller must still check that the page is a
// local path before redirecting to it.
func (m *Manager) TakeReturn(c *gin.Context, userID string) string {
	ck, err := c.Request.Cookie(returnCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: returnCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: m.cfg.Secure(c.Request),
	})
	v, mac, tied := strings.Cut(ck.Value, "|")
	if tied && !hmac.Equal([]byte(mac), []byte(m.returnMAC(userID))) {
		return ""
	}
	page, err := url.QueryUnescape(v)
	if err != nil || len(page) > maxReturn {
		return ""
	}
	return page
}

func (m *Manager) returnMAC(userID string) string {
	mac := hmac.New(sha256.New, m.cfg.CSRFKey)
	mac.Write([]byte("ispeks return v1\x00"))
	mac.Write([]byte(userID))
	return hex.EncodeToString(mac.Sum(nil)[:12])
}
