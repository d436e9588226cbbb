package web_test

import (
	"regexp"
	"testing"
)

// currentLinkRe finds the menu links marked as the page being shown.
var currentLinkRe = regexp.MustCompile(`<a [^>]*href="([^"]+)"[^>]*aria-current="page"`)

// TestMenuMarksOnlyThePageShown: a page whose path lies below another menu
// item's (Muat Naik Data Kakitangan under Cari Akaun, Semakan Integriti
// under Sejarah Log Masuk) is the one item marked current, in the phone
// menu and in the bar alike; the parent item is not marked as well.
func TestMenuMarksOnlyThePageShown(t *testing.T) {
	p := newAdminPortal(t)
	for _, c := range []struct {
		who  *admBrowser
		page string
		want string
	}{
		{p.admin(), "/pentadbir/import", "/pentadbir/import"},
		{p.admin(), "/pentadbir", "/pentadbir"},
		{p.admin(), admAccountURL(admSitiIC), "/pentadbir"},
		{p.auditor(), "/audit/integriti", "/audit/integriti"},
		{p.auditor(), "/audit", "/audit"},
	} {
		r := c.who.get(c.page)
		if r.code != 200 {
			t.Fatalf("%s: %d", c.page, r.code)
		}
		got := currentLinkRe.FindAllStringSubmatch(r.body, -1)
		if len(got) != 2 {
			t.Errorf("%s: %d links marked current, want 2 (phone menu and bar): %v", c.page, len(got), got)
		}
		for _, m := range got {
			if m[1] != c.want {
				t.Errorf("%s: %s marked current, want only %s", c.page, m[1], c.want)
			}
		}
	}
}
