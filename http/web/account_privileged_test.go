package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/infra/security"
)

// TestAdministratorMustEnrolTOTP: an administrator made by the CLI logs in
// with the temporary password, activates with a 12-character password,
// must enrol TOTP before the admin area opens, and from then on gives a
// code at every login.
func TestAdministratorMustEnrolTOTP(t *testing.T) {
	w := newWorld(t)
	created, _, err := w.h.CreateAdministrator.Create(context.Background(), commands.CreateAdministrator{
		Meta: sysMeta(), Staff: employee.Details{IC: aminIC, Email: "amin.yusof@melaka.gov.my"},
	})
	if err != nil || created.TemporaryPassword == "" {
		t.Fatalf("create administrator: %v", err)
	}
	b := w.browser()
	b.enterID(aminIC)
	if r := b.enterPassword(created.TemporaryPassword); r.Header().Get("Location") != "/pengaktifan" {
		t.Fatalf("temporary password: %d %s", r.Code, r.Header().Get("Location"))
	}
	form := url.Values{"password": {"Teh O Limau"}, "confirm_password": {"Teh O Limau"}, "question": {"kerja-pertama"},
		"answer": {"Bandar Hilir"}, "image": {"payung"}, "phrase": {"Payung Kuning Hujan"}}
	r := b.post("/pengaktifan", "/pengaktifan", form)
	if r.Code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "sekurang-kurangnya 8 aksara (12 bagi Pentadbir Sistem dan Juruaudit)") {
		t.Fatalf("an 11-character password for an administrator: %d", r.Code)
	}
	const adminPW = "Kopi Susu Ais Limau"
	form.Set("password", adminPW)
	form.Set("confirm_password", adminPW)
	r = b.post("/pengaktifan", "/pengaktifan", form)
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/tetapan-akaun/dua-faktor?wajib=1" {
		t.Fatalf("administrator after activation: %d %s", r.Code, r.Header().Get("Location"))
	}
	mustContain(t, "must enrol", b.follow(r).body, "Pentadbir Sistem dan Juruaudit wajib menggunakan dua faktor")
	// The admin area waits for TOTP: it sends the browser to the code
	// page, which sends an account without TOTP to enrolment.
	r = b.get("/pentadbir")
	if r.Code != http.StatusSeeOther || !strings.HasPrefix(r.Header().Get("Location"), "/login/dua-faktor?next=") {
		t.Fatalf("admin area before TOTP: %d %s", r.Code, r.Header().Get("Location"))
	}
	if r = b.follow(r); r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/tetapan-akaun/dua-faktor?wajib=1" {
		t.Fatalf("code page without TOTP: %d %s", r.Code, r.Header().Get("Location"))
	}
	enrol := b.post("/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/mula", nil)
	secret := strings.ReplaceAll(regexp.MustCompile(`<code class="secret">([A-Z2-7 ]+)</code>`).FindStringSubmatch(enrol.body)[1], " ", "")
	code, _ := security.TOTP{}.Code(secret, w.clk.Now())
	if r := b.post("/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/sahkan", url.Values{"code": {code}}); r.Code != 200 {
		t.Fatalf("confirm: %d", r.Code)
	}
	if r := b.get("/pentadbir"); r.Code != 200 {
		t.Fatalf("admin area after enrolment: %d", r.Code)
	}

	// The next login asks for a code before any page.
	w.clk.Add(time.Minute)
	n := w.browser()
	n.enterID(aminIC)
	if r := n.enterPassword(adminPW); r.Header().Get("Location") != "/login/dua-faktor" {
		t.Fatalf("admin password step: %d %s", r.Code, r.Header().Get("Location"))
	}
	if r := n.get("/pentadbir"); r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/" {
		t.Fatalf("admin area between password and code: %d %s", r.Code, r.Header().Get("Location"))
	}
	code, _ = security.TOTP{}.Code(secret, w.clk.Now())
	if r := n.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {code}}); r.Header().Get("Location") != "/utama" {
		t.Fatalf("admin code: %d %s", r.Code, r.Header().Get("Location"))
	}
	home := n.get("/utama")
	mustContain(t, "admin home", home.body, "Amin bin Yusof", "Pentadbir Sistem")
	if r := n.get("/pentadbir"); r.Code != 200 {
		t.Fatalf("admin area after the code: %d", r.Code)
	}
}

// TestLockFromSettings: wrong current passwords on Tetapan Akaun count
// towards the lock; the third ends every session with the lock notice.
func TestLockFromSettings(t *testing.T) {
	w := newWorld(t)
	b := w.activeUser(master[0])
	other := w.browser()
	other.login(sitiIC, password)
	const p = "/tetapan-akaun/tukar-kata-laluan"
	var r result
	for range 3 {
		r = b.post(p, p, url.Values{"old_password": {"salah"}, "password": {"Ombak Pantai Klebang 4"}, "confirm_password": {"Ombak Pantai Klebang 4"}})
	}
	if r.Code != http.StatusLocked {
		t.Fatalf("third wrong old password: %d", r.Code)
	}
	mustContain(t, "lock from settings", r.body, lockNotice)
	for _, x := range []*browser{b, other} {
		if r := x.get("/utama"); r.Code != http.StatusSeeOther {
			t.Fatalf("a session survived the lock: %d", r.Code)
		}
	}
	if r := attempt(w, sitiIC, password); r.Code != http.StatusLocked {
		t.Fatalf("right password on the locked account: %d", r.Code)
	}
}

// TestAccountPagesAccessible: every account page has one h1, a label for
// every control, unique IDs and alt text on every image.
func TestAccountPagesAccessible(t *testing.T) {
	w := newWorld(t)
	anon := w.browser()
	pages := map[string]string{
		"register":        anon.get("/pendaftaran").body,
		"register errors": anon.post("/pendaftaran", "/pendaftaran", vals("ic", "x", "email", "y")).body,
		"forgot":          anon.get("/lupa-kata-laluan").body,
	}
	temp := w.register(anon, master[0])
	pages["registered"] = anon.post("/pendaftaran", "/pendaftaran", vals("ic", nurulIC, "email", "pentadbiran.jkr@melaka.gov.my")).body
	pages["mailbox"] = anon.get("/demo/mailbox").body
	pages["password"] = anon.enterID(sitiIC).body
	pages["wrong password"] = anon.enterPassword("salah").body
	anon.enterPassword(temp)
	pages["activation"] = anon.get("/pengaktifan").body
	pages["activation errors"] = anon.post("/pengaktifan", "/pengaktifan", vals("password", "a")).body
	home := w.activate(w.browser(), master[1], w.mailFor(anon, nurulIC, "Pendaftaran iSPEKS", 0), "sampan", "Sampan di Sungai")
	pages["home"] = home.body
	b := w.browser()
	b.login(nurulIC, password)
	pages["profile"] = b.get("/tetapan-akaun/kemaskini-maklumat").body
	pages["change password"] = b.get("/tetapan-akaun/tukar-kata-laluan").body
	pages["two-factor"] = b.get("/tetapan-akaun/dua-faktor").body
	pages["two-factor enrol"] = b.post("/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/mula", nil).body
	for range 3 {
		pages["locked"] = attempt(w, unknownIC, "salah").body
	}
	for name, body := range pages {
		checkAccessible(t, name, body)
	}
}

func checkAccessible(t *testing.T, name, page string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	h1s := 0
	labels, ids := map[string]bool{}, map[string]int{}
	var controls []string
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
			case "h1":
				h1s++
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
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if h1s != 1 {
		t.Errorf("%s: %d h1", name, h1s)
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
