package web_test

import (
	"regexp"
	"strings"
	"testing"
)

var titleRe = regexp.MustCompile(`<title>([^<]*)</title>`)

func pageTitle(t *testing.T, what, body string) string {
	t.Helper()
	m := titleRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("%s: no <title>", what)
	}
	return m[1]
}

// TestTitleSaysError: a page drawn again because of an error says so in
// its <title>, the first thing a screen reader reads on the new page (WCAG
// 2.4.2): a refused form, a form-level refusal, a wrong password, the
// error page (which also names the error). The same page without an
// error does not, even after an error was shown (the layout is cached).
func TestTitleSaysError(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	want := func(what, body, prefix string) {
		t.Helper()
		if got := pageTitle(t, what, body); !strings.HasPrefix(got, prefix) {
			t.Errorf("%s: title %q, want it to start with %q", what, got, prefix)
		}
	}
	want("login refused", b.post("/", "/login", vals("user_id", "12345")).body, "Ralat: Log Masuk — ")
	want("login page", b.get("/").body, "Log Masuk — ")
	want("login refused (English)", b.post("/?lang=en", "/login?lang=en", vals("user_id", "12345")).body, "Error: Log In — ")
	want("login page (English)", b.get("/").body, "Log In — ")
	b.get("/?lang=ms")
	want("registration refused", b.post("/pendaftaran", "/pendaftaran", vals("ic", "x", "email", "y")).body, "Ralat: Pendaftaran — ")
	want("not registrable", b.post("/pendaftaran", "/pendaftaran", vals("ic", unknownIC, "email", "someone@melaka.gov.my")).body, "Ralat: Pendaftaran — ")
	want("registration page", b.get("/pendaftaran").body, "Pendaftaran — ")
	w.register(b, master[0])
	want("already registered", b.post("/pendaftaran", "/pendaftaran", vals("ic", sitiIC, "email", "siti.aminah@melaka.gov.my")).body, "Ralat: Pendaftaran — ")
	want("password step", b.enterID(sitiIC).body, "Log Masuk — ")
	want("wrong password", b.enterPassword("bukan kata laluan").body, "Ralat: Log Masuk — ")
	want("not found", b.get("/tiada-halaman").body, "Ralat: Halaman tidak dijumpai — ")
}
