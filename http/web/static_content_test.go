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
		csrf, name, dept, id, phrase, previous, failed string
	}{
		{"tok-A_1", "Siti Aminah binti Omar", "Jabatan Kewangan", "880101-04-5678", "bunga raya <di> taman & \"kolam\"", "25/11/2026 08:15", "2"},
		{"tok-B_2", "Tan Mei Ling", "Jabatan Kerja Raya & Awam", "900202-05-1234", "kucing 'oren' tidur", "01/11/2026 17:40", "17"},
	}
	for _, l := range []i18n.Lang{i18n.MS, i18n.EN} {
		for _, name := range []string{"landing", "home-first", "home-none", "home-previous", "home-failed", "account_password"} {
			page := strings.SplitN(name, "-", 2)[0]
			h := htmlPage{t: pg.sets[page], p: pg, name: page}
			for _, who := range people {
				v := &View{Lang: l, CSRF: who.csrf, site: s}
				switch name {
				case "landing":
					v.Page = Page{Title: "title.landing", Form: NewForm(nil), Data: staticContent("landing")}
				case "home-first", "home-none", "home-previous", "home-failed":
					d := &homeData{First: name == "home-first"}
					if name == "home-previous" || name == "home-failed" {
						d.Previous = who.previous
					}
					if name == "home-failed" {
						d.Failed = who.failed
					}
					v.Page = Page{Title: "title.home", Form: NewForm(nil), Data: d}
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
				var want, notWant []string
				switch name {
				case "home-first":
					want, notWant = []string{i18n.T(l, "home.first_login")}, []string{i18n.T(l, "home.previous_login")}
				case "home-none":
					notWant = []string{i18n.T(l, "home.first_login"), i18n.T(l, "home.previous_login")}
				case "home-previous":
					want, notWant = []string{i18n.T(l, "home.previous_login"), who.previous}, []string{i18n.T(l, "home.not_you")}
				case "home-failed":
					want = []string{who.previous, i18n.Tf(l, "home.failed_before", who.failed), i18n.T(l, "home.not_you")}
				}
				for _, w := range want {
					if !strings.Contains(cached.String(), w) {
						t.Fatalf("%s %s for %s: no %q in\n%s", l, name, who.name, w, cached.String())
					}
				}
				for _, w := range notWant {
					if strings.Contains(cached.String(), w) {
						t.Fatalf("%s %s for %s: %q in\n%s", l, name, who.name, w, cached.String())
					}
				}
				if strings.Contains(cached.String(), "@@ispeks-") {
					t.Fatalf("%s %s: a marker was left in the page", l, name)
				}
				for _, other := range people {
					if other != who && (strings.Contains(cached.String(), other.csrf) || strings.Contains(cached.String(), other.id) || strings.Contains(cached.String(), other.previous)) {
						t.Fatalf("%s %s for %s shows %s's values", l, name, who.name, other.name)
					}
				}
			}
		}
	}
}
