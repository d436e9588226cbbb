package web_test

import (
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestAdminScreenshots draws the admin and auditor pages with headless
// Chromium for a person to look at. It runs only when
// ISPEKS_SCREENSHOTS names an output directory (and chromium is
// installed); it asserts that each picture was written.
func TestAdminScreenshots(t *testing.T) {
	dir := os.Getenv("ISPEKS_SCREENSHOTS")
	if dir == "" {
		t.Skip("set ISPEKS_SCREENSHOTS=DIR to draw the admin pages")
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no chromium")
	}
	p := newAdminPortal(t)
	lockedAt, _ := auditStory(t, p)
	p.lock(admNurulIC)
	ts := httptest.NewServer(p.srv)
	defer ts.Close()
	shots := []struct{ name, user, roles, page string }{
		{"admin-account", admAdminIC, "admin", admAccountURL(admSitiIC)},
		{"admin-locked-account", admAdminIC, "admin", admAccountURL(admNurulIC)},
		{"admin-search", admAdminIC, "admin", "/pentadbir?q=" + url.QueryEscape("huda")},
		{"admin-search-bad", admAdminIC, "admin", "/pentadbir?q=" + url.QueryEscape("791317-04-5671")},
		{"admin-import", admAdminIC, "admin", "/pentadbir/import"},
		{"audit-history", admAuditorIC, "auditor", "/audit?ic=" + admSitiIC},
		{"audit-state", admAuditorIC, "auditor", "/audit/keadaan?ic=" + admSitiIC + "&pada=" + url.QueryEscape(lockedAt.Add(time.Hour).In(time.FixedZone("MYT", 8*3600)).Format("2006-01-02T15:04"))},
		{"audit-integrity", admAuditorIC, "auditor", "/audit/integriti?ic=" + admSitiIC},
		{"audit-history-phone", admAuditorIC, "auditor", "/audit?ic=" + admSitiIC},
	}
	for _, s := range shots {
		q := url.Values{"user": {s.user}, "roles": {s.roles}, "totp": {"1"}, "name": {"Mohd Fadzlezam bin Sulaiman"}, "next": {s.page}}
		out := filepath.Join(dir, s.name+".png")
		size := "1280,1800"
		if s.name == "audit-history-phone" {
			size = "390,1600"
		}
		cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
			"--window-size="+size, "--screenshot="+out, ts.URL+"/test/login?"+q.Encode())
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", s.name, err, b)
		}
		if st, err := os.Stat(out); err != nil || st.Size() < 10_000 {
			t.Fatalf("%s: no picture (%v)", s.name, err)
		}
	}
}
