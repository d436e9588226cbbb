package web_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
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

// langOf is the language of n: its own lang attribute or its nearest
// ancestor's.
func langOf(n *html.Node) string {
	for ; n != nil; n = n.Parent {
		for _, a := range n.Attr {
			if a.Key == "lang" {
				return a.Val
			}
		}
	}
	return ""
}

func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	if n.Type == html.ElementNode && match(n) {
		out = append(out, n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		out = append(out, findAll(c, match)...)
	}
	return out
}

func attrOf(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func hasClass(n *html.Node, class string) bool {
	v, _ := attrOf(n, "class")
	return slices.Contains(strings.Fields(v), class)
}

func parsePage(t *testing.T, what, body string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return doc
}

// TestLanguageToggleSpeaksBothLanguages: the toggle's name ("Tukar bahasa
// kepada English") is in the page's language, so it must not sit on an
// element marked as the other language (a screen reader would read the
// Malay words with an English voice); the visible word of the other
// language ("English") is marked as such (WCAG 3.1.2).
func TestLanguageToggleSpeaksBothLanguages(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	for _, c := range []struct{ path, page, other, name, word string }{
		{"/?lang=ms", "ms", "en", "Tukar bahasa kepada English", "English"},
		{"/?lang=en", "en", "ms", "Switch language to Bahasa Melayu", "Bahasa Melayu"},
	} {
		doc := parsePage(t, c.path, b.get(c.path).body)
		toggles := findAll(doc, func(n *html.Node) bool { return n.Data == "a" && hasClass(n, "official-bar__lang") })
		if len(toggles) != 1 {
			t.Fatalf("%s: %d language toggles", c.path, len(toggles))
		}
		a := toggles[0]
		if label, _ := attrOf(a, "aria-label"); label != c.name {
			t.Errorf("%s: toggle named %q, want %q", c.path, label, c.name)
		}
		if got := langOf(a); got != c.page {
			t.Errorf("%s: the toggle's name %q is read as lang %q, want %q", c.path, c.name, got, c.page)
		}
		words := findAll(a, func(n *html.Node) bool { return n.FirstChild != nil && n.FirstChild.Data == c.word })
		if len(words) != 1 || langOf(words[0]) != c.other {
			t.Errorf("%s: the visible %q is not marked lang=%q", c.path, c.word, c.other)
		}
	}
}
