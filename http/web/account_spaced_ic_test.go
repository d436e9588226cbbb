package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// spaced writes a 12-digit IC the way it is often copied off the card,
// with spaces where the dashes go: "791117 04 5671".
func spaced(ic string) string { return ic[:6] + " " + ic[6:8] + " " + ic[8:] }

// TestICTypedWithSpaces: an IC typed with spaces for dashes is read as the
// same number everywhere a person types one (Pendaftaran, the login's user
// ID, Lupa Kata Laluan), rather than refused as "mesti 12 digit" when 12
// digits were typed; and an unknown ID typed so gets the same decoy image
// and phrase as typed without spaces.
func TestICTypedWithSpaces(t *testing.T) {
	w := newWorld(t)
	siti := master[0]

	b := w.browser()
	r := b.post("/pendaftaran", "/pendaftaran", url.Values{"ic": {spaced(siti.IC)}, "email": {siti.Email}})
	if r.Code != http.StatusOK || !strings.Contains(r.body, "Pendaftaran berjaya") {
		t.Fatalf("register with spaces: %d %s", r.Code, r.body)
	}
	temp := w.mailFor(b, siti.IC, "Pendaftaran iSPEKS", 0)
	b.enterID(spaced(siti.IC))
	if r := b.enterPassword(temp); r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/pengaktifan" {
		t.Fatalf("login with a spaced user ID: %d %s", r.Code, r.Header().Get("Location"))
	}
	if got := w.accountView(siti.IC); got.UserID != siti.IC {
		t.Fatalf("account stored as %q, want %q", got.UserID, siti.IC)
	}

	w.activeUser(master[1])
	if !w.forgotIssues(spaced(master[1].IC)) {
		t.Fatal("Lupa Kata Laluan with a spaced IC issued nothing")
	}

	img := regexp.MustCompile(`src="(/static/security/[a-z-]+\.svg)\?v=[0-9a-f]+"`)
	phrase := regexp.MustCompile(`Frasa Rahsia: <strong>([^<]+)</strong>`)
	plain, withSpaces := w.browser().enterID(unknownIC), w.browser().enterID(spaced(unknownIC))
	if normal(plain.body) != normal(withSpaces.body) {
		t.Fatalf("unknown ID: decoy %v %v typed plain, %v %v with spaces",
			img.FindStringSubmatch(plain.body), phrase.FindStringSubmatch(plain.body),
			img.FindStringSubmatch(withSpaces.body), phrase.FindStringSubmatch(withSpaces.body))
	}
}
