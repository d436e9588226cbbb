package web

import (
	"bytes"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/http/session"
)

// TestLoginPagesCachedAsTemplate: the landing, password and home pages'
// content drawn from the cache is the template's output for the same
// request (but for the indentation it drops), request after request: the
// second person's page shows the second person's CSRF token, name,
// department, user ID and phrase, never the first one's.
func TestLoginPagesCachedAsTemplate(t *testing.T) {
	s, pg := cachedContentSite(t)
	img := account.SecurityImages()[3].ID
	people := []struct {
		csrf, name, dept, id, phrase string
	}{
		{"tok-A_1", "Siti Aminah binti Omar", "Jabatan Kewangan", "880101-04-5678", "bunga raya <di> taman & \"kolam\""},
		{"tok-B_2", "Tan Mei Ling", "Jabatan Kerja Raya & Awam", "900202-05-1234", "kucing 'oren' tidur"},
	}
	for _, l := range []i18n.Lang{i18n.MS, i18n.EN} {
		for _, name := range []string{"landing", "home", "account_password"} {
			h := htmlPage{t: pg.sets[name], p: pg, name: name}
			for _, who := range people {
				v := &View{Lang: l, CSRF: who.csrf, site: s}
				switch name {
				case "landing":
					v.Page = Page{Title: "title.landing", Form: NewForm(nil), Data: staticContent("landing")}
				case "home":
					v.Page = Page{Title: "title.home", Form: NewForm(nil), Data: staticContent("home")}
					v.User = &session.Session{UserID: who.id, Name: who.name, Department: who.dept, State: session.StateActive}
				case "account_password":
					v.Page = Page{Title: "acct.title.password", Form: NewForm(nil), Data: &acctPasswordData{
						UserID: who.id, ImageID: img, Phrase: who.phrase, Threshold: 3}}
				}
				var plain, cached bytes.Buffer
				if err := h.t.ExecuteTemplate(&plain, "content", v); err != nil {
					t.Fatal(err)
				}
				if err := h.content(&cached, v); err != nil {
					t.Fatal(err)
				}
				if cached.String() != squeezeSpace(plain.String()) {
					t.Fatalf("%s %s for %s: cached content differs:\n%s\n---\n%s", l, name, who.name, cached.String(), plain.String())
				}
				if strings.Contains(cached.String(), "@@ispeks-") {
					t.Fatalf("%s %s: a marker was left in the page", l, name)
				}
				for _, other := range people {
					if other != who && (strings.Contains(cached.String(), other.csrf) || strings.Contains(cached.String(), other.id)) {
						t.Fatalf("%s %s for %s shows %s's values", l, name, who.name, other.name)
					}
				}
			}
		}
	}
}
