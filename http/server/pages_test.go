package server_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/xml"
	"io"
	"io/fs"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"golang.org/x/net/html"

	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/http/server"
	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/http/web"
)

// TestSecurityImages: at least 12 original images, each served with long
// caching, each a well-formed SVG without script or inline style, all
// different.
func TestSecurityImages(t *testing.T) {
	imgs := web.SecurityImages()
	if len(imgs) < 12 {
		t.Fatalf("%d security images, want at least 12", len(imgs))
	}
	h := newHarness(t, nil)
	b := h.browser()
	ids, names, sums := map[string]bool{}, map[string]bool{}, map[[32]byte]string{}
	for _, img := range imgs {
		if ids[img.ID] || names[img.Name.MS] || img.Name.EN == "" {
			t.Errorf("%s: duplicate or unnamed", img.ID)
		}
		ids[img.ID], names[img.Name.MS] = true, true
		r := b.get("/static/" + img.URLPath())
		if r.Code != 200 {
			t.Errorf("%s: %d", img.ID, r.Code)
			continue
		}
		if ct := r.Header().Get("Content-Type"); ct != "image/svg+xml" {
			t.Errorf("%s: content type %q", img.ID, ct)
		}
		if cc := r.Header().Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") || !strings.Contains(cc, "immutable") {
			t.Errorf("%s: cache %q", img.ID, cc)
		}
		checkSVG(t, img.ID, r.body)
		sum := sha256.Sum256([]byte(r.body))
		if prev, dup := sums[sum]; dup {
			t.Errorf("%s is the same file as %s", img.ID, prev)
		}
		sums[sum] = img.ID
		if _, ok := web.SecurityImageByID(img.ID); !ok {
			t.Errorf("%s: not found by ID", img.ID)
		}
	}
	if got := web.SecurityImageIDs(); len(got) != len(imgs) || got[0] != imgs[0].ID {
		t.Fatalf("IDs %v", got)
	}
	// The activation gallery: one radio per image, each with a label and a picture.
	page := b.get("/demo/borang").body
	if n := strings.Count(page, `type="radio" name="image"`); n != len(imgs) {
		t.Fatalf("gallery has %d radios, want %d", n, len(imgs))
	}
	for _, img := range imgs {
		mustContain(t, "gallery", page, `for="f-image-`+img.ID+`"`, img.Name.MS)
	}
}

func checkSVG(t *testing.T, id, doc string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(doc))
	root := ""
	elems := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Errorf("%s: not well-formed XML: %v", id, err)
			return
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		elems++
		if root == "" {
			root = se.Name.Local
			if se.Name.Space != "http://www.w3.org/2000/svg" {
				t.Errorf("%s: root namespace %q", id, se.Name.Space)
			}
		}
		switch se.Name.Local {
		case "script", "foreignObject", "style", "image", "use":
			t.Errorf("%s: <%s> not allowed", id, se.Name.Local)
		}
		for _, a := range se.Attr {
			n := strings.ToLower(a.Name.Local)
			if strings.HasPrefix(n, "on") || n == "style" || n == "href" {
				t.Errorf("%s: attribute %s not allowed", id, n)
			}
		}
	}
	if root != "svg" || elems < 5 {
		t.Errorf("%s: root %q with %d elements", id, root, elems)
	}
	if !strings.Contains(doc, "<title") {
		t.Errorf("%s: no <title>", id)
	}
}

// TestPagesAccessible renders every page and checks the basics: a language,
// a skip link to main, one h1, every visible control labelled, every image
// with an alt, every button with text.
func TestPagesAccessible(t *testing.T) {
	h := newHarness(t, nil)
	anon := h.browser()
	staff := h.browser()
	staff.login("u1", "admin,auditor", true)
	form := url.Values{"csrf_token": {anon.csrf("/demo/borang")}, "ic": {"x"}}
	pages := map[string]result{
		"landing":        anon.get("/"),
		"landing en":     anon.get("/?lang=en"),
		"demo":           anon.get("/demo/borang"),
		"demo errors":    anon.do("POST", "/demo/borang", form),
		"404":            anon.get("/nope"),
		"500":            anon.get("/test/panic"),
		"home":           staff.get("/utama"),
		"coming":         staff.get("/penyata-gaji"),
		"admin (coming)": staff.get("/pentadbir"),
	}
	anon.get("/?lang=ms")
	for name, r := range pages {
		checkAccessible(t, name, r.body)
	}
}

func checkAccessible(t *testing.T, name, page string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var (
		h1s      int
		labels   = map[string]bool{}
		controls []string
		ids      = map[string]int{}
		hasMain  bool
		skip     bool
		lang     string
	)
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attr := map[string]string{}
			for _, a := range n.Attr {
				attr[a.Key] = a.Val
			}
			if id, ok := attr["id"]; ok {
				ids[id]++
			}
			switch n.Data {
			case "html":
				lang = attr["lang"]
			case "h1":
				h1s++
			case "main":
				hasMain = attr["id"] == "main"
			case "a":
				if attr["href"] == "#main" && attr["class"] == "skip-link" {
					skip = true
				}
			case "label":
				labels[attr["for"]] = true
			case "input", "select", "textarea":
				if attr["type"] != "hidden" {
					controls = append(controls, attr["id"])
				}
			case "img":
				if _, ok := attr["alt"]; !ok {
					t.Errorf("%s: image %s without alt", name, attr["src"])
				}
			case "button":
				if strings.TrimSpace(textOf(n)) == "" {
					t.Errorf("%s: button without text", name)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if lang != "ms" && lang != "en" {
		t.Errorf("%s: html lang %q", name, lang)
	}
	if h1s != 1 {
		t.Errorf("%s: %d h1", name, h1s)
	}
	if !hasMain || !skip {
		t.Errorf("%s: main=%v skip link=%v", name, hasMain, skip)
	}
	for _, id := range controls {
		if id == "" || !labels[id] {
			t.Errorf("%s: control %q has no label", name, id)
		}
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("%s: id %q used %d times", name, id, n)
		}
	}
}

func textOf(n *html.Node) string {
	var b bytes.Buffer
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// TestManualMessagesOnPages: the manual's error messages reach the page
// word for word, with the helpdesk lines from configuration.
func TestManualMessagesOnPages(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	for _, want := range []string{"Sistem tidak dapat diakses", "En. Amirudin bin Zainal (<a href=\"tel:06-2307353\">06-2307353</a>)"} {
		mustContain(t, "500 page", b.get("/test/panic").body, want)
	}
	custom := newHarness(t, func(c *server.Config, _ *server.Deps) {
		c.Web.Helpdesk = []web.Contact{{Name: "Unit Komputer", Phone: "06-1234567"}}
	})
	page := custom.browser().get("/nope").body
	mustContain(t, "configured helpdesk", page, "Unit Komputer", "06-1234567")
	mustNotContain(t, "configured helpdesk", page, "Fadzlezam")
}

var tplKeyRe = regexp.MustCompile(`\.T "([a-z0-9_.]+)"|\.(?:Field|Select) "[a-z_]+" "([a-z0-9_.]+)"|hint=([a-z0-9_.]+)|\|([a-z0-9_.]+)"`)

// TestTemplatesUseCatalogKeys: every key a template asks for exists, so no
// page shows a raw key.
func TestTemplatesUseCatalogKeys(t *testing.T) {
	found := 0
	err := fsWalk(func(name string, data []byte) {
		for _, m := range tplKeyRe.FindAllStringSubmatch(string(data), -1) {
			for _, k := range m[1:] {
				if k == "" {
					continue
				}
				found++
				if !catalogHas(k) {
					t.Errorf("%s: catalog has no %q", name, k)
				}
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 50 {
		t.Fatalf("only %d keys found: the pattern is broken", found)
	}
}

func fsWalk(fn func(name string, data []byte)) error {
	return fs.WalkDir(web.FS(), "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(web.FS(), p)
		if err != nil {
			return err
		}
		fn(p, b)
		return nil
	})
}

func catalogHas(k string) bool {
	_, ok := i18n.Lookup(k)
	return ok
}

// TestLayoutCacheIsPerUser: the cached layout never shows one person's name
// to another, escapes what it fills in, and leaves no marker behind.
func TestLayoutCacheIsPerUser(t *testing.T) {
	h := newHarness(t, nil)
	h.srv.Engine.GET("/test/login-as", func(c *gin.Context) {
		_ = h.srv.Sessions.Login(c, session.Identity{UserID: c.Query("user"), Name: c.Query("name"), Department: c.Query("dept")})
		c.String(200, "ok")
	})
	a, b := h.browser(), h.browser()
	a.get("/test/login-as?user=1&name=" + url.QueryEscape("Ahmad <b>bin</b> Ali") + "&dept=JKN")
	b.get("/test/login-as?user=2&name=" + url.QueryEscape("Mei Ling & co") + "&dept=" + url.QueryEscape(`"PTJ"`))
	pa, pb := a.get("/utama").body, b.get("/utama").body
	mustContain(t, "user A", pa, "Ahmad &lt;b&gt;bin&lt;/b&gt; Ali", ">JKN<")
	mustNotContain(t, "user A", pa, "Mei Ling", "<b>bin</b>", "@@ispeks")
	mustContain(t, "user B", pb, "Mei Ling &amp; co", "&#34;PTJ&#34;")
	mustNotContain(t, "user B", pb, "Ahmad", "@@ispeks")
	// Each page's logout form carries its own session's token.
	ta, tb := csrfRe.FindStringSubmatch(pa)[1], csrfRe.FindStringSubmatch(pb)[1]
	if ta == tb {
		t.Fatal("two sessions got the same CSRF token from the cached layout")
	}
	// The language link follows the page, query included and escaped.
	p := a.get(`/utama?x=1&y="2"`).body
	mustContain(t, "lang link", p, `href="/utama?lang=en&amp;x=1&amp;y=%222%22"`)
}
