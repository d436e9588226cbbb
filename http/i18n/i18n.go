// Package i18n holds the portal's words in Malay (first) and English, and
// picks the language of a request. The Malay words are the user manual's, kept
// exactly; English is the toggle.
package i18n

import (
	"golang.org/x/text/language"

	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"
)

// Lang is a supported language.
type Lang string

const (
	MS Lang = "ms" // Bahasa Melayu, the default
	EN Lang = "en"
)

// Parse accepts "ms" or "en" (any case); anything else is not a language.
func Parse(s string) (Lang, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "ms", "bm", "my":
		return MS, true
	case "en":
		return EN, true
	}
	return "", false
}

// Other is the language the toggle switches to.
func (l Lang) Other() Lang {
	if l == EN {
		return MS
	}
	return EN
}

// Text is one message in both languages.
type Text struct {
	MS string
	EN string
}

// In returns the text in l, falling back to Malay.
func (t Text) In(l Lang) string {
	if l == EN && t.EN != "" {
		return t.EN
	}
	return t.MS
}

// IsZero reports whether the text is empty.
func (t Text) IsZero() bool { return t.MS == "" && t.EN == "" }

// Lookup returns the catalog text of key.
func Lookup(key string) (Text, bool) {
	t, ok := catalog[key]
	return t, ok
}

// Get returns the catalog text of key; a missing key yields the key itself
// in both languages so a typo shows on the page instead of a blank (the
// catalog test makes sure no template uses a missing key).
func Get(key string) Text {
	if t, ok := catalog[key]; ok {
		return t
	}
	return Text{MS: key, EN: key}
}

// T returns the text of key in l.
func T(l Lang, key string) string { return Get(key).In(l) }

// Tf formats the text of key in l with args (fmt verbs in the catalog).
func Tf(l Lang, key string, args ...any) string {
	return fmt.Sprintf(T(l, key), args...)
}

// Keys lists every catalog key, sorted.
func Keys() []string {
	keys := make([]string, 0, len(catalog))
	for k := range catalog {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// CookieName is the cookie that remembers the toggle.
const CookieName = "lang"

// QueryParam is the query parameter of the toggle link (?lang=en).
const QueryParam = "lang"

const ctxKey = "ispeks.lang"

// Negotiate picks the language of r: the ?lang= parameter, then the cookie,
// then, only when acceptHeader is true (the JSON API), the Accept-Language
// choice with the highest weight among Malay and English (a language
// weighted q=0 is refused, not chosen); otherwise Malay. Pages ignore
// Accept-Language on purpose: the portal is Malay first, whatever the
// browser's default.
func Negotiate(r *http.Request, acceptHeader bool) Lang {
	if l, ok := Parse(r.URL.Query().Get(QueryParam)); ok {
		return l
	}
	if c, err := r.Cookie(CookieName); err == nil {
		if l, ok := Parse(c.Value); ok {
			return l
		}
	}
	if acceptHeader {
		if l, ok := fromAcceptLanguage(r.Header.Get("Accept-Language")); ok {
			return l
		}
	}
	return MS
}

// fromAcceptLanguage is the first of Malay and English in header's order
// of preference (ParseAcceptLanguage sorts by weight, keeping the order of
// equal ones). A header that does not parse chooses nothing.
func fromAcceptLanguage(header string) (Lang, bool) {
	if header == "" {
		return "", false
	}
	tags, weights, err := language.ParseAcceptLanguage(header)
	if err != nil {
		return "", false
	}
	for i, t := range tags {
		if weights[i] <= 0 {
			continue
		}
		base, _ := t.Base()
		if l, ok := Parse(base.String()); ok {
			return l, true
		}
	}
	return "", false
}

// Middleware stores the request's language in the Gin context and, when the
// toggle link (?lang=) was followed, remembers the choice in a cookie for a
// year. The cookie is a display preference, not state: setting it on a GET
// is fine. isAPI says which requests may use Accept-Language.
func Middleware(isAPI func(*http.Request) bool, secure func(*http.Request) bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		api := isAPI != nil && isAPI(c.Request)
		l := Negotiate(c.Request, api)
		if q, ok := Parse(c.Query(QueryParam)); ok && !api {
			http.SetCookie(c.Writer, &http.Cookie{
				Name: CookieName, Value: string(q), Path: "/", MaxAge: 365 * 24 * 3600,
				HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure != nil && secure(c.Request),
			})
		}
		c.Set(ctxKey, l)
		c.Next()
	}
}

// From returns the language chosen by Middleware (Malay if none).
func From(c *gin.Context) Lang {
	if v, ok := c.Get(ctxKey); ok {
		if l, ok := v.(Lang); ok {
			return l
		}
	}
	return MS
}

// Getf is Get with fmt args applied in both languages.
func Getf(key string, args ...any) Text {
	t := Get(key)
	return Text{MS: fmt.Sprintf(t.MS, args...), EN: fmt.Sprintf(t.EN, args...)}
}
