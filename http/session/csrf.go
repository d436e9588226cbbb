package session

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/http/httpx"
)

// CSRFField is the hidden form field that carries the token; CSRFHeader
// carries it for non-form requests.
const (
	CSRFField  = "csrf_token"
	CSRFHeader = "X-CSRF-Token"
)

// maxMultipartMemory is what a multipart form may hold in memory before
// spilling to disk; the body limit bounds the total.
const maxMultipartMemory = 8 << 20

// CSRFToken is the token to put in the request's forms. With a session it
// is the session's own token; before there is one (login, registration,
// forgot-password forms) it is an HMAC of a random nonce held in the
// ispeks_csrf cookie, which this call sets when missing.
func (m *Manager) CSRFToken(c *gin.Context) string {
	l := state(c)
	if l.ok {
		return l.s.CSRF
	}
	if l.csrf != "" {
		return l.csrf
	}
	nonce := ""
	if ck, err := c.Request.Cookie(m.cfg.CSRFCookieName); err == nil && validToken(ck.Value) {
		nonce = ck.Value
	} else {
		nonce = newToken()
		http.SetCookie(c.Writer, &http.Cookie{
			Name: m.cfg.CSRFCookieName, Value: nonce, Path: "/",
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: m.cfg.Secure(c.Request),
		})
	}
	l.csrf = m.preSessionToken(nonce)
	return l.csrf
}

func (m *Manager) preSessionToken(nonce string) string {
	mac := hmac.New(sha256.New, m.cfg.CSRFKey)
	mac.Write([]byte("ispeks csrf v1\x00"))
	mac.Write([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func equal(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// CSRF refuses every state-changing request (anything but GET, HEAD,
// OPTIONS) that does not carry the right token, with 403 and a clear
// message. It also refuses requests a browser marks as coming from another
// site. Install it on every group of pages that has forms; the bearer-token
// API does not use cookies and does not need it.
func (m *Manager) CSRF() gin.HandlerFunc {
	return func(c *gin.Context) {
		switch c.Request.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			c.Next()
			return
		}
		switch c.GetHeader("Sec-Fetch-Site") {
		case "", "same-origin", "none":
		default: // cross-site or same-site (another *.gov.my host)
			httpx.Abort(c, httpx.ErrCSRF)
			return
		}
		// A multipart body past maxMultipartMemory is spooled to temporary
		// files, parsed here or by the handler. net/http removes them only
		// for the request it made, not for the copy the middleware passes
		// on (with a request ID in its context): they go when the chain is
		// done, or every large upload would leave a copy in the temporary
		// directory.
		defer func() { removeMultipart(c.Request) }()
		token := c.GetHeader(CSRFHeader)
		if token == "" {
			if err := parseForm(c.Request); err != nil {
				httpx.Abort(c, err)
				return
			}
			token = c.Request.PostForm.Get(CSRFField)
		}
		l := state(c)
		var ok bool
		if l.ok {
			ok = equal(token, l.s.CSRF)
		} else if ck, err := c.Request.Cookie(m.cfg.CSRFCookieName); err == nil && validToken(ck.Value) {
			ok = equal(token, m.preSessionToken(ck.Value))
		}
		if !ok {
			if f, former := l.formerOf(token); former && m.takesFormerForms(c.Request) {
				l.former = &f
				c.Next()
				return
			}
			if !l.ok && l.replaced == nil && m.cfg.LogoutPath != "" && c.Request.URL.Path == m.cfg.LogoutPath {
				// Log Keluar from a page drawn before the session ended
				// (Log Keluar in another tab, a timeout): the browser has
				// no session, so the logout can end nothing and answers as
				// one, not with the expired form's 403, which reads as if
				// the logout had failed. A session replaced by a new login
				// (l.replaced) may live on under the new token: refused.
				c.Next()
				return
			}
			if (l.expired || l.replaced != nil) && !m.cfg.IsAPI(c.Request) {
				// The form was fine; the session behind it ran out (or
				// moved on under a new token).
				m.redirectToLogin(c)
				return
			}
			httpx.Abort(c, httpx.ErrCSRF)
			return
		}
		c.Next()
	}
}

// removeMultipart removes the temporary files of r's multipart form, if
// it has one.
func removeMultipart(r *http.Request) {
	if r.MultipartForm != nil {
		_ = r.MultipartForm.RemoveAll()
	}
}

// parseForm reads the body once, honouring the body limit. A body over the
// limit is a 413 (the error wraps *http.MaxBytesError); other garbage is a
// 400.
func parseForm(r *http.Request) error {
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(maxMultipartMemory)
	} else {
		err = r.ParseForm()
	}
	if err == nil {
		return nil
	}
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return err
	}
	return errors.Join(httpx.ErrBadRequest, err)
}
