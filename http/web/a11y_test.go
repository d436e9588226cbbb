package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/melaka-gov/ispeks/http/web"
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

// checkTables: every table has a name (a caption, or aria-label /
// aria-labelledby naming elements of the page) and every header cell says
// whether it heads a column or a row (WCAG 1.3.1).
func checkTables(t *testing.T, what, body string) {
	t.Helper()
	doc := parsePage(t, what, body)
	ids := map[string]bool{}
	for _, n := range findAll(doc, func(n *html.Node) bool { _, ok := attrOf(n, "id"); return ok }) {
		id, _ := attrOf(n, "id")
		ids[id] = true
	}
	tables := findAll(doc, func(n *html.Node) bool { return n.Data == "table" })
	if len(tables) == 0 {
		t.Errorf("%s: no table to check", what)
	}
	for i, tb := range tables {
		named := false
		if caps := findAll(tb, func(n *html.Node) bool { return n.Data == "caption" }); len(caps) > 0 && strings.TrimSpace(textOf(caps[0])) != "" {
			named = true
		}
		if l, ok := attrOf(tb, "aria-label"); ok && strings.TrimSpace(l) != "" {
			named = true
		}
		if ref, ok := attrOf(tb, "aria-labelledby"); ok {
			named = len(strings.Fields(ref)) > 0
			for _, id := range strings.Fields(ref) {
				named = named && ids[id]
			}
		}
		if !named {
			t.Errorf("%s: table %d has no name (caption or aria-labelledby)", what, i+1)
		}
		for _, th := range findAll(tb, func(n *html.Node) bool { return n.Data == "th" }) {
			if s, _ := attrOf(th, "scope"); s != "col" && s != "row" {
				t.Errorf("%s: table %d: header %q without scope", what, i+1, strings.TrimSpace(textOf(th)))
			}
		}
	}
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for _, d := range findAll(n, func(*html.Node) bool { return true }) {
		for c := d.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.TextNode {
				b.WriteString(c.Data)
			}
		}
	}
	return b.String()
}

// TestTablesNamed: the tables of the staff's, the administrators' and the
// auditors' pages are named and their headers scoped, so a screen reader
// user moving between tables knows which one they are in.
func TestTablesNamed(t *testing.T) {
	w := newWorld(t)
	anon := w.browser()
	w.register(anon, master[0])
	pages := map[string]string{}
	pages["registered"] = anon.post("/pendaftaran", "/pendaftaran", vals("ic", nurulIC, "email", "pentadbiran.jkr@melaka.gov.my")).body
	mailbox := anon.get("/demo/mailbox").body
	pages["mailbox"] = mailbox
	if m := regexp.MustCompile(`href="(/demo/mailbox/[^"]+)"`).FindStringSubmatch(mailbox); m != nil {
		pages["mail"] = anon.get(m[1]).body
	}
	b := w.browser()
	w.activate(b, master[1], w.mailFor(anon, nurulIC, "Pendaftaran iSPEKS", 0), "sampan", "Sungai Tenang")
	pages["profile"] = b.get("/tetapan-akaun/kemaskini-maklumat").body
	pages["activity"] = b.get("/tetapan-akaun/aktiviti-log-masuk").body

	p := newAdminPortal(t)
	auditStory(t, p)
	p.lock(admSitiIC)
	admin := p.admin()
	pages["admin search"] = admin.get("/pentadbir?q=siti").body
	pages["admin locked"] = admin.get("/pentadbir/akaun-dikunci").body
	pages["admin account"] = admin.get(admAccountURL(admSitiIC)).body
	tok := admCSRFRe.FindStringSubmatch(admin.get("/pentadbir/import").body)[1]
	pages["admin import"] = admin.upload("/pentadbir/import", url.Values{"csrf_token": {tok}}, "induk.csv", []byte(
		"No. Pengenalan,Nama,E-mel Rasmi,Jabatan,Jawatan,No. Gaji\r\n"+
			"880808-08-5577,Amin bin Yusof,amin.yusof@melaka.gov.my,Jabatan Pertanian,Pegawai Pertanian,JPN-0101\r\n"+
			"920101-04-5012,Aishah binti Karim,aishah@gmail.com,Jabatan Pertanian,Kerani,JPN-0103\r\n")).body
	auditor := p.auditor()
	pages["audit history"] = auditor.get("/audit?ic=" + admSitiIC).body
	pages["audit state"] = auditor.get("/audit/keadaan?ic=" + admSitiIC + "&pada=" + p.clock().Format("2006-01-02T15:04")).body
	pages["audit integrity"] = auditor.get("/audit/integriti?ic=" + admSitiIC).body

	pp := newPayPortal(t, payOptions{})
	pp.fixtures()
	staff := pp.as(paySitiIC, "Siti Aminah binti Omar", "")
	pages["payment list"] = staff.get(web.PathStatusBayaran + "?modul=tuntutan").body
	pages["payment detail"] = staff.get("/permohonan/status-bayaran/PAY-S-001").body
	pages["statement list"] = staff.get("/penyata-gaji?urusniaga=slip-gaji-bulanan&tahun=").body
	pages["statement"] = staff.get("/penyata-gaji/SG-2026-02-S").body

	for name, body := range pages {
		checkTables(t, name, body)
	}
}

// checkRefs: every in-page link (the error summary's, the skip link) and
// every label, aria-describedby and aria-labelledby leads to an element of
// the page, and each error summary link leads to a control or a group of
// controls (WCAG 3.3.1, 1.3.1).
func checkRefs(t *testing.T, what, body string) {
	t.Helper()
	doc := parsePage(t, what, body)
	byID := map[string]*html.Node{}
	for _, n := range findAll(doc, func(n *html.Node) bool { _, ok := attrOf(n, "id"); return ok }) {
		id, _ := attrOf(n, "id")
		byID[id] = n
	}
	for _, n := range findAll(doc, func(*html.Node) bool { return true }) {
		if href, ok := attrOf(n, "href"); ok && n.Data == "a" && strings.HasPrefix(href, "#") {
			target := byID[href[1:]]
			switch {
			case target == nil:
				t.Errorf("%s: link %q (%s) leads nowhere", what, href, strings.TrimSpace(textOf(n)))
			case href != "#main" && !slices.Contains([]string{"input", "select", "textarea", "fieldset"}, target.Data):
				t.Errorf("%s: link %q leads to a <%s>, not to the field", what, href, target.Data)
			case target.Data == "fieldset":
				// A refused group of radio buttons: each one is refused
				// and read out with the error, as a single control is.
				for _, in := range findAll(target, func(n *html.Node) bool { return n.Data == "input" }) {
					d, _ := attrOf(in, "aria-describedby")
					if inv, _ := attrOf(in, "aria-invalid"); inv != "true" || !strings.Contains(d, href[1:]+"-error") {
						id, _ := attrOf(in, "id")
						t.Errorf("%s: %s in the refused group %s is not marked invalid and described by its error", what, id, href)
					}
				}
			}
		}
		for _, key := range []string{"for", "aria-describedby", "aria-labelledby"} {
			if v, ok := attrOf(n, key); ok {
				for _, id := range strings.Fields(v) {
					if byID[id] == nil {
						t.Errorf("%s: %s=%q names no element", what, key, id)
					}
				}
			}
		}
		// An error beside its field starts with "Ralat:" for a screen
		// reader, as the red colour does for the eye.
		if hasClass(n, "field__error") {
			if hidden := findAll(n, func(c *html.Node) bool { return hasClass(c, "visually-hidden") }); len(hidden) == 0 {
				t.Errorf("%s: the error %q does not say it is one", what, strings.TrimSpace(textOf(n)))
			}
		}
		// A refused control says so itself: the summary's link lands on it.
		if inv, _ := attrOf(n, "aria-invalid"); inv == "true" {
			if d, _ := attrOf(n, "aria-describedby"); !strings.Contains(d, "-error") {
				t.Errorf("%s: invalid <%s> not described by its error", what, n.Data)
			}
		}
	}
}

// TestFormErrorsLeadToFields: on every refused form the error summary's
// links land on the refused field, each refused control is described by
// its error, and no label or ARIA reference names a missing element.
func TestFormErrorsLeadToFields(t *testing.T) {
	w := newWorld(t)
	anon := w.browser()
	pages := map[string]string{
		"login":    anon.post("/", "/login", vals("user_id", "12")).body,
		"register": anon.post("/pendaftaran", "/pendaftaran", vals("ic", "x", "email", "y")).body,
		"forgot":   anon.post("/lupa-kata-laluan", "/lupa-kata-laluan", vals("ic", "x")).body,
		"demo":     anon.post("/demo/borang", "/demo/borang", vals("ic", "x")).body,
	}
	temp := w.register(anon, master[0])
	anon.enterID(sitiIC)
	pages["password"] = anon.enterPassword("").body
	anon.enterPassword(temp)
	pages["activation"] = anon.post("/pengaktifan", "/pengaktifan", vals("password", "a")).body
	b := w.activeUser(master[1])
	pages["profile"] = b.post("/tetapan-akaun/kemaskini-maklumat", "/tetapan-akaun/kemaskini-maklumat", vals("email", "x", "phone", "abc")).body
	pages["change password"] = b.post("/tetapan-akaun/tukar-kata-laluan", "/tetapan-akaun/tukar-kata-laluan", vals("password", "a")).body
	pages["two-factor"] = b.post("/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/mula", vals("current_password", "salah")).body

	p := newAdminPortal(t)
	p.lock(admSitiIC)
	admin := p.admin()
	acct := admAccountURL(admSitiIC)
	pages["admin search"] = admin.get("/pentadbir?q=a").body
	pages["admin unlock"] = admin.post(acct+"/buka-kunci", url.Values{"csrf_token": {admin.csrf(acct)}}).body
	pages["admin verify"] = admin.post(acct+"/semak-jawapan", url.Values{"csrf_token": {admin.csrf(acct)}}).body
	pages["admin import"] = admin.upload("/pentadbir/import", url.Values{"csrf_token": {admin.csrf("/pentadbir/import")}}, "", nil).body
	auditor := p.auditor()
	pages["audit history"] = auditor.get("/audit?ic=123&dari=2026-03-02&hingga=2026-03-01").body
	pages["audit state"] = auditor.get("/audit/keadaan?ic=" + admSitiIC + "&pada=semalam").body
	pages["audit integrity"] = auditor.get("/audit/integriti?ic=x").body

	pp := newPayPortal(t, payOptions{})
	staff := pp.as(paySitiIC, "Siti Aminah binti Omar", "")
	pages["payment list"] = staff.get(web.PathStatusBayaran + "?modul=x").body
	pages["statement list"] = staff.get("/penyata-gaji?urusniaga=x&tahun=1900").body
	pages["verify"] = staff.get("/sahkan?kod=x").body

	for name, body := range pages {
		if !strings.Contains(body, "aria-invalid") && !strings.Contains(body, "error-summary") {
			t.Errorf("%s: no refused field on the page", name)
		}
		checkRefs(t, name, body)
	}
}

var secImgAltRe = regexp.MustCompile(`<img src="/static/security/[a-z-]+\.svg\?v=[0-9a-f]+" alt="([^"]*)"`)

// TestSecurityImageAltAlike: the security image at the password step is
// named as what it is ("Imej Online: Kucing"), not by its picture's name
// alone, and the decoy of an unknown ID is named in the same words, so a
// screen reader tells the two apart no more than the eye does.
func TestSecurityImageAltAlike(t *testing.T) {
	w := newWorld(t)
	w.activeUser(master[0]) // chose "kucing"
	names := map[string]bool{}
	for _, img := range web.SecurityImages() {
		names[img.Name.MS] = true
	}
	for _, c := range []struct{ id, lang, prefix, want string }{
		{sitiIC, "ms", "Imej Online: ", "Imej Online: Kucing"},
		{unknownIC, "ms", "Imej Online: ", ""},
		{sitiIC, "en", "Security Image: ", "Security Image: Cat"},
	} {
		b := w.browser()
		b.get("/?lang=" + c.lang)
		m := secImgAltRe.FindStringSubmatch(b.enterID(c.id).body)
		if m == nil {
			t.Fatalf("%s: no security image", c.id)
		}
		alt := m[1]
		switch {
		case c.want != "" && alt != c.want:
			t.Errorf("%s (%s): alt %q, want %q", c.id, c.lang, alt, c.want)
		case c.want == "" && (!strings.HasPrefix(alt, c.prefix) || !names[strings.TrimPrefix(alt, c.prefix)]):
			t.Errorf("unknown ID: decoy alt %q, want %q and a gallery name", alt, c.prefix)
		}
	}
}

// usernameOf returns the hidden username field of the form posting to
// action, and checks the form asks for a password (pw: the autocomplete
// token of its password field) and keeps the username out of sight.
func usernameOf(t *testing.T, what, body, action, pw string) string {
	t.Helper()
	forms := findAll(parsePage(t, what, body), func(n *html.Node) bool {
		a, _ := attrOf(n, "action")
		return n.Data == "form" && a == action
	})
	if len(forms) != 1 {
		t.Fatalf("%s: %d forms posting to %s", what, len(forms), action)
	}
	var user, pass *html.Node
	for _, in := range findAll(forms[0], func(n *html.Node) bool { return n.Data == "input" }) {
		switch ac, _ := attrOf(in, "autocomplete"); ac {
		case "username":
			user = in
		case pw:
			pass = in
		}
	}
	if pass == nil {
		t.Fatalf("%s: no %s field", what, pw)
	}
	if user == nil {
		t.Errorf("%s: no username field beside the password", what)
		return ""
	}
	if _, hidden := attrOf(user, "hidden"); !hidden {
		t.Errorf("%s: the username field shows (the ID is already on the page)", what)
	}
	v, _ := attrOf(user, "value")
	return v
}

// TestPasswordStepNamesTheUser: the password step's form carries the user
// ID typed at the first step as its username (hidden, autocomplete
// "username"), so a password manager saves and fills the password for
// that ID rather than for no one (WCAG 3.3.8: logging in without
// remembering the password). An unknown ID's page carries it alike, and
// the login still goes through.
func TestPasswordStepNamesTheUser(t *testing.T) {
	w := newWorld(t)
	w.activeUser(master[0])
	for _, c := range []struct{ id, shown string }{{sitiIC, "791117-04-5671"}, {unknownIC, "820304-10-5555"}} {
		body := w.browser().enterID(c.id).body
		if got := usernameOf(t, c.id, body, "/login/kata-laluan", "current-password"); got != c.shown {
			t.Errorf("%s: username %q, want %q", c.id, got, c.shown)
		}
	}
	w.browser().login(sitiIC, password)
}

// TestNewPasswordFormsNameTheUser: where a password is set — Pengaktifan,
// a new password after a temporary one, Tukar Kata Laluan — the form
// names the user ID it is for, as the password step does, so a password
// manager saves the new password under the ID the login later asks for.
func TestNewPasswordFormsNameTheUser(t *testing.T) {
	const siti = "791117-04-5671"
	w := newWorld(t)
	b := w.browser()
	temp := w.register(b, master[0])
	b.enterID(sitiIC)
	b.enterPassword(temp)
	if got := usernameOf(t, "activation", b.get("/pengaktifan").body, "/pengaktifan", "new-password"); got != siti {
		t.Errorf("activation: username %q, want %q", got, siti)
	}
	refused := b.post("/pengaktifan", "/pengaktifan", vals("password", "a"))
	if got := usernameOf(t, "activation refused", refused.body, "/pengaktifan", "new-password"); got != siti {
		t.Errorf("activation refused: username %q, want %q", got, siti)
	}
	if r := b.post("/pengaktifan", "/pengaktifan", url.Values{"password": {password}, "confirm_password": {password},
		"question": {"guru-kegemaran"}, "answer": {"Cikgu Rosnah"}, "image": {"kucing"}, "phrase": {"Kopi Harum"}}); r.Code != http.StatusSeeOther {
		t.Fatalf("activation: %d", r.Code)
	}

	logged := w.browser()
	logged.login(sitiIC, password)
	page := logged.get("/tetapan-akaun/tukar-kata-laluan").body
	if got := usernameOf(t, "change password", page, "/tetapan-akaun/tukar-kata-laluan", "new-password"); got != siti {
		t.Errorf("change password: username %q, want %q", got, siti)
	}

	if r := w.browser().post("/lupa-kata-laluan", "/lupa-kata-laluan", vals("ic", sitiIC)); r.Code != http.StatusSeeOther {
		t.Fatalf("forgot: %d", r.Code)
	}
	reset := w.browser()
	reset.enterID(sitiIC)
	reset.enterPassword(w.mailFor(reset, sitiIC, "kata laluan sementara baharu", 0))
	if got := usernameOf(t, "reset", reset.get("/login/kata-laluan-baru").body, "/login/kata-laluan-baru", "new-password"); got != siti {
		t.Errorf("reset: username %q, want %q", got, siti)
	}
}

// TestOthersICsNotKeptByTheBrowser: the fields where an administrator or
// an auditor types someone else's IC number (Cari Akaun, the audit pages)
// ask the browser not to keep what was typed: its form history would
// offer the next person at that computer the IC numbers looked up.
func TestOthersICsNotKeptByTheBrowser(t *testing.T) {
	p := newAdminPortal(t)
	pages := map[string]string{
		"admin search":    p.admin().get("/pentadbir").body,
		"audit history":   p.auditor().get("/audit").body,
		"audit state":     p.auditor().get("/audit/keadaan").body,
		"audit integrity": p.auditor().get("/audit/integriti").body,
	}
	for name, body := range pages {
		doc := parsePage(t, name, body)
		fields := findAll(doc, func(n *html.Node) bool {
			id, _ := attrOf(n, "id")
			return n.Data == "input" && (id == "f-ic" || id == "f-q")
		})
		if len(fields) != 1 {
			t.Fatalf("%s: %d IC fields", name, len(fields))
		}
		if ac, _ := attrOf(fields[0], "autocomplete"); ac != "off" {
			t.Errorf("%s: IC field autocomplete %q, want \"off\"", name, ac)
		}
	}
}

// langOfText is the language a screen reader reads the text node holding
// s in ("" if no text node holds it).
func langOfText(doc *html.Node, s string) string {
	var found *html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if found != nil {
			return
		}
		if n.Type == html.TextNode && strings.Contains(n.Data, s) {
			found = n
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if found == nil {
		return ""
	}
	return langOf(found.Parent)
}

// TestMalayDataOnEnglishPagesMarked: the finance systems' own words — a
// payment's description, a slip's earning and deduction names and the
// reason it was corrected — are
// Malay, and on the English pages they are marked so (WCAG 3.1.2): an
// English voice reading "Tuntutan lebih masa Februari" is not understood.
func TestMalayDataOnEnglishPagesMarked(t *testing.T) {
	pp := newPayPortal(t, payOptions{})
	pp.fixtures()
	b := pp.as(paySitiIC, "Siti Aminah binti Omar", "")
	b.get("/utama?lang=en")
	for _, c := range []struct{ path, malay, english string }{
		{web.PathStatusBayaran + "?modul=tuntutan", "Tuntutan lebih masa Februari", "Payment Status Enquiry List"},
		{"/permohonan/status-bayaran/PAY-S-001", "Pendahuluan perjalanan ke Putrajaya", "Payment Details"},
		{"/penyata-gaji/SG-2026-02-S", "Gaji Pokok", "Total Earnings"},
		{"/penyata-gaji/SG-2026-02-S", "Potongan zakat tertinggal", "replaces every earlier version"},
		// The department from the master, in the header and on the home page.
		{"/utama", "Jabatan Kewangan dan Perbendaharaan", "Welcome"},
	} {
		doc := parsePage(t, c.path, b.get(c.path).body)
		if got := langOfText(doc, c.malay); got != "ms" {
			t.Errorf("%s: %q read as lang %q, want ms", c.path, c.malay, got)
		}
		if got := langOfText(doc, c.english); got != "en" {
			t.Errorf("%s: %q read as lang %q, want en", c.path, c.english, got)
		}
	}
}

// TestSecretsNotSentToSpellcheckers: fields holding a secret answer or
// phrase, a one-time or verification code, or the names and IC numbers an
// administrator looks up are not spellchecked: a browser's online
// spellchecker (Chrome's enhanced spell check, Edge's Editor) sends what
// is typed in a checked field to its vendor, and autocorrect rewrites
// codes on a phone.
func TestSecretsNotSentToSpellcheckers(t *testing.T) {
	w := newWorld(t)
	anon := w.browser()
	temp := w.register(anon, master[0])
	anon.enterID(sitiIC)
	anon.enterPassword(temp)
	p := newAdminPortal(t)
	pp := newPayPortal(t, payOptions{})
	w.roleHolder(master[1], true, true)
	pending := w.browser()
	pending.enterID(nurulIC)
	pending.enterPassword(grantPW) // the code step comes next
	pages := map[string]struct {
		body   string
		fields []string
	}{
		"activation":    {anon.get("/pengaktifan").body, []string{"f-answer"}},
		"admin account": {p.admin().get(admAccountURL(admSitiIC)).body, []string{"f-answer"}},
		"admin search":  {p.admin().get("/pentadbir").body, []string{"f-q"}},
		"code step":     {pending.get("/login/dua-faktor").body, []string{"f-code"}},
		"verify":        {pp.browser().get("/sahkan").body, []string{"f-kod"}},
	}
	for name, pg := range pages {
		doc := parsePage(t, name, pg.body)
		for _, id := range pg.fields {
			in := findAll(doc, func(n *html.Node) bool { v, _ := attrOf(n, "id"); return n.Data == "input" && v == id })
			if len(in) != 1 {
				t.Errorf("%s: no field %s", name, id)
				continue
			}
			if sc, _ := attrOf(in[0], "spellcheck"); sc != "false" {
				t.Errorf("%s: %s spellcheck %q, want \"false\"", name, id, sc)
			}
		}
	}
}

// TestSlipLinesHaveRowHeaders: each earning and deduction line of the
// slip, and each total, heads its row, so a screen reader moving down the
// RM column reads "Gaji Pokok, 4,567.89", not the bare amount (WCAG 1.3.1).
func TestSlipLinesHaveRowHeaders(t *testing.T) {
	pp := newPayPortal(t, payOptions{})
	pp.fixtures()
	b := pp.as(paySitiIC, "Siti Aminah binti Omar", "")
	doc := parsePage(t, "slip", b.get("/penyata-gaji/SG-2026-02-S").body)
	tables := findAll(doc, func(n *html.Node) bool { return n.Data == "table" && hasClass(n, "lines") })
	if len(tables) != 2 {
		t.Fatalf("%d tables of lines", len(tables))
	}
	for _, tb := range tables {
		for _, tr := range findAll(tb, func(n *html.Node) bool { return n.Data == "tr" && n.Parent.Data != "thead" }) {
			cells := findAll(tr, func(n *html.Node) bool { return n.Data == "th" || n.Data == "td" })
			if len(cells) == 1 { // "Tiada potongan"
				continue
			}
			if scope, _ := attrOf(cells[0], "scope"); cells[0].Data != "th" || scope != "row" {
				t.Errorf("line %q does not head its row", strings.TrimSpace(textOf(cells[0])))
			}
		}
	}
}
