package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
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
		"answer": {"Bandar Hilir"}, "image": {"payung"}, "phrase": {"Hujan Lembut"}}
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
	enrol := b.post("/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/mula", vals("current_password", adminPW))
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
	if r := n.get("/pentadbir"); r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/?sesi=perlu" {
		t.Fatalf("admin area between password and code: %d %s", r.Code, r.Header().Get("Location"))
	}
	code, _ = security.TOTP{}.Code(secret, w.clk.Now())
	// The login ends on the page asked for on the way (the admin area).
	if r := n.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {code}}); r.Header().Get("Location") != "/pentadbir" {
		t.Fatalf("admin code: %d %s", r.Code, r.Header().Get("Location"))
	}
	home := n.get("/utama")
	mustContain(t, "admin home", home.body, "Amin bin Yusof", "Pentadbir Sistem")
	if r := n.get("/pentadbir"); r.Code != 200 {
		t.Fatalf("admin area after the code: %d", r.Code)
	}
}

// TestWeakAdminPasswordMustBeChanged: a staff member with an 11-character
// password is made an administrator. At the next logins the session opens
// only Tukar Kata Laluan and the two-factor steps before it (every other
// page sends the browser there, with the notice) until the password meets
// the administrators' 12 characters.
func TestWeakAdminPasswordMustBeChanged(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	temp := w.register(b, master[0])
	const weak = "Teh O Limau" // 11 characters: the staff policy only
	b.enterID(sitiIC)
	if r := b.enterPassword(temp); r.Header().Get("Location") != "/pengaktifan" {
		t.Fatalf("temporary password: %d", r.Code)
	}
	r := b.post("/pengaktifan", "/pengaktifan", url.Values{"password": {weak}, "confirm_password": {weak}, "question": {"guru-kegemaran"},
		"answer": {"Cikgu Rosnah"}, "image": {"kucing"}, "phrase": {"Kopi Harum"}})
	if r.Code != http.StatusSeeOther {
		t.Fatalf("activate: %d %s", r.Code, r.body)
	}
	if _, err := w.h.GrantRole.Handle(context.Background(), commands.GrantRole{Meta: sysMeta(), UserID: sitiIC, Role: account.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	w.accountView(sitiIC)
	const change = "/tetapan-akaun/tukar-kata-laluan?wajib=1"
	held := func(who *browser, when string) {
		t.Helper()
		for _, p := range []string{"/pentadbir", "/utama", "/tetapan-akaun/kemaskini-maklumat", "/"} {
			if r := who.get(p); r.Code != http.StatusSeeOther || r.Header().Get("Location") != change {
				t.Errorf("%s: GET %s: %d %s, want the change-password page", when, p, r.Code, r.Header().Get("Location"))
			}
		}
		r := who.post("/tetapan-akaun/tukar-kata-laluan", "/tetapan-akaun/kemaskini-maklumat", url.Values{"email": {master[0].Email}})
		if r.Code != http.StatusSeeOther || r.Header().Get("Location") != change {
			t.Errorf("%s: POST profile: %d %s", when, r.Code, r.Header().Get("Location"))
		}
		page := who.get(change)
		if page.Code != http.StatusOK {
			t.Fatalf("%s: change page: %d", when, page.Code)
		}
		mustContain(t, when, page.body, "Sila tukar kata laluan anda sebelum meneruskan", "12 aksara")
	}

	// First login as an administrator: enrolment comes first (and is open),
	// the rest waits for the new password.
	w.clk.Add(time.Minute)
	a := w.browser()
	a.enterID(sitiIC)
	if r := a.enterPassword(weak); r.Header().Get("Location") != "/tetapan-akaun/dua-faktor?wajib=1" {
		t.Fatalf("first admin login: %d %s", r.Code, r.Header().Get("Location"))
	}
	held(a, "before enrolment")
	enrol := a.post("/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/mula", vals("current_password", weak))
	secret := strings.ReplaceAll(regexp.MustCompile(`<code class="secret">([A-Z2-7 ]+)</code>`).FindStringSubmatch(enrol.body)[1], " ", "")
	code, _ := security.TOTP{}.Code(secret, w.clk.Now())
	if r := a.post("/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/sahkan", url.Values{"code": {code}}); r.Code != 200 {
		t.Fatalf("confirm: %d", r.Code)
	}
	held(a, "after enrolment")
	if r := a.post("/tetapan-akaun/tukar-kata-laluan", "/log-keluar", nil); r.Code != http.StatusSeeOther {
		t.Fatalf("log out while held: %d", r.Code)
	}

	// The next login: the code, then the same hold.
	w.clk.Add(time.Minute)
	n := w.browser()
	n.enterID(sitiIC)
	n.enterPassword(weak)
	code, _ = security.TOTP{}.Code(secret, w.clk.Now())
	if r := n.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {code}}); r.Header().Get("Location") != change {
		t.Fatalf("after the code: %d %s", r.Code, r.Header().Get("Location"))
	}
	held(n, "second login")
	// Another 11-character password is refused and the hold stays.
	r = n.post(change, "/tetapan-akaun/tukar-kata-laluan", url.Values{"old_password": {weak}, "password": {"Teh C Limau"}, "confirm_password": {"Teh C Limau"}})
	if r.Code != http.StatusUnprocessableEntity {
		t.Fatalf("a weak new password: %d", r.Code)
	}
	held(n, "after a refused change")
	const strong = "Teh O Limau Ais Kurang Manis"
	r = n.post(change, "/tetapan-akaun/tukar-kata-laluan", url.Values{"old_password": {weak}, "password": {strong}, "confirm_password": {strong}})
	if r.Code != http.StatusSeeOther {
		t.Fatalf("change: %d %s", r.Code, r.body)
	}
	if r := n.get("/pentadbir"); r.Code != http.StatusOK {
		t.Fatalf("admin area after the change: %d %s", r.Code, r.Header().Get("Location"))
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
	home := w.activate(w.browser(), master[1], w.mailFor(anon, nurulIC, "Pendaftaran iSPEKS", 0), "sampan", "Sungai Tenang")
	pages["home"] = home.body
	b := w.browser()
	b.login(nurulIC, password)
	pages["profile"] = b.get("/tetapan-akaun/kemaskini-maklumat").body
	pages["change password"] = b.get("/tetapan-akaun/tukar-kata-laluan").body
	pages["two-factor"] = b.get("/tetapan-akaun/dua-faktor").body
	pages["two-factor enrol"] = b.post("/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/mula", vals("current_password", password)).body
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
	labels, ids, described := map[string]bool{}, map[string]int{}, map[string]bool{}
	var controls, hints []string
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
			for _, id := range strings.Fields(attr["aria-describedby"]) {
				described[id] = true
			}
			// A field's hint must be read out with its control (or its
			// group of radio buttons), so it needs an id a control names.
			if slices.Contains(strings.Fields(attr["class"]), "field__hint") {
				hints = append(hints, attr["id"])
			}
			// A name on a plain container is not read out (ARIA
			// prohibits aria-label on a generic element).
			if _, named := attr["aria-label"]; named && attr["role"] == "" && slices.Contains([]string{"div", "span", "p"}, n.Data) {
				t.Errorf("%s: aria-label on a plain <%s> is not read out", name, n.Data)
			}
			switch n.Data {
			case "h1":
				h1s++
			case "label":
				labels[attr["for"]] = true
			case "input", "select", "textarea":
				// A hidden element is not shown or read: it needs no label.
				if _, hidden := attr["hidden"]; attr["type"] != "hidden" && !hidden {
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
	for _, id := range hints {
		if id == "" || !described[id] {
			t.Errorf("%s: hint %q is tied to no control (aria-describedby)", name, id)
		}
	}
}

// TestAdministratorWhoLeftServiceLogsInAsStaff: an administrator who left
// service still logs in (their own slips and statements) but the session
// holds no role: the admin area stays closed.
func TestAdministratorWhoLeftServiceLogsInAsStaff(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	created, _, err := w.h.CreateAdministrator.Create(ctx, commands.CreateAdministrator{
		Meta: sysMeta(), Staff: employee.Details{IC: aminIC, Email: "amin.yusof@melaka.gov.my"},
	})
	if err != nil {
		t.Fatalf("create administrator: %v", err)
	}
	b := w.browser()
	b.enterID(aminIC)
	b.enterPassword(created.TemporaryPassword)
	const adminPW = "Kopi Susu Ais Limau"
	if r := b.post("/pengaktifan", "/pengaktifan", url.Values{"password": {adminPW}, "confirm_password": {adminPW}, "question": {"kerja-pertama"},
		"answer": {"Bandar Hilir"}, "image": {"payung"}, "phrase": {"Hujan Lembut"}}); r.Code != http.StatusSeeOther {
		t.Fatalf("activate: %d", r.Code)
	}
	enrol := b.post("/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/mula", vals("current_password", adminPW))
	secret := strings.ReplaceAll(regexp.MustCompile(`<code class="secret">([A-Z2-7 ]+)</code>`).FindStringSubmatch(enrol.body)[1], " ", "")
	code, _ := security.TOTP{}.Code(secret, w.clk.Now())
	if r := b.post("/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/sahkan", url.Values{"code": {code}}); r.Code != 200 {
		t.Fatalf("confirm: %d", r.Code)
	}

	if _, err := w.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: sysMeta(), IC: aminIC, Date: "2026-01-31", Reason: "Bersara"}); err != nil {
		t.Fatal(err)
	}
	if v := w.accountView(aminIC); v.EmployeeInService(w.clk.Now()) {
		t.Fatal("view still in service")
	}
	w.clk.Add(time.Minute)
	n := w.browser()
	n.enterID(aminIC)
	if r := n.enterPassword(adminPW); r.Header().Get("Location") != "/login/dua-faktor" {
		t.Fatalf("password step: %d %s", r.Code, r.Header().Get("Location"))
	}
	code, _ = security.TOTP{}.Code(secret, w.clk.Now())
	if r := n.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {code}}); r.Header().Get("Location") != "/utama" {
		t.Fatalf("code: %d %s", r.Code, r.Header().Get("Location"))
	}
	home := n.get("/utama")
	mustContain(t, "home of a leaver", home.body, "Amin bin Yusof")
	mustNotContain(t, "home of a leaver", home.body, "Peranan: Pentadbir Sistem", `href="/pentadbir`)
	if r := n.get("/pentadbir"); r.Code == http.StatusOK {
		t.Fatalf("admin area after leaving service: %d", r.Code)
	}
}

// TestRecoveryCodesFormWaitsForPasswordChange: an administrator whose
// password is below the administrators' policy is held to Tukar Kata
// Laluan, and the new-recovery-codes post is not open to that session.
// Dua Faktor showed the "Jana Kod Pemulihan Baharu" form anyway, and a
// right code typed into it bounced to Tukar Kata Laluan. The page now says
// to change the password first, without the form; once it is changed the
// form is there.
func TestRecoveryCodesFormWaitsForPasswordChange(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	temp := w.register(b, master[0])
	const weak = "Teh O Limau" // 11 characters: the staff policy only
	b.enterID(sitiIC)
	b.enterPassword(temp)
	if r := b.post("/pengaktifan", "/pengaktifan", url.Values{"password": {weak}, "confirm_password": {weak}, "question": {"guru-kegemaran"},
		"answer": {"Cikgu Rosnah"}, "image": {"kucing"}, "phrase": {"Kopi Harum"}}); r.Code != http.StatusSeeOther {
		t.Fatalf("activate: %d %s", r.Code, r.body)
	}
	if _, err := w.h.GrantRole.Handle(context.Background(), commands.GrantRole{Meta: sysMeta(), UserID: sitiIC, Role: account.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	w.accountView(sitiIC)
	w.clk.Add(time.Minute)
	a := w.browser()
	a.enterID(sitiIC)
	a.enterPassword(weak)
	enrol := a.post("/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/mula", vals("current_password", weak))
	secret := strings.ReplaceAll(regexp.MustCompile(`<code class="secret">([A-Z2-7 ]+)</code>`).FindStringSubmatch(enrol.body)[1], " ", "")
	code, _ := security.TOTP{}.Code(secret, w.clk.Now())
	if r := a.post("/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/sahkan", url.Values{"code": {code}}); r.Code != 200 {
		t.Fatalf("confirm: %d", r.Code)
	}
	// The post the form would make is not open to the session.
	w.clk.Add(time.Minute)
	code, _ = security.TOTP{}.Code(secret, w.clk.Now())
	if r := a.post("/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/kod-pemulihan-baharu", url.Values{"code": {code}}); r.Code != http.StatusSeeOther ||
		!strings.HasPrefix(r.Header().Get("Location"), "/tetapan-akaun/tukar-kata-laluan") {
		t.Fatalf("new codes while held: %d %s", r.Code, r.Header().Get("Location"))
	}
	held := a.get("/tetapan-akaun/dua-faktor")
	if held.Code != http.StatusOK {
		t.Fatalf("two-factor page while held: %d", held.Code)
	}
	mustContain(t, "held", held.body, "Kod pemulihan yang belum digunakan: 10", "Tukar kata laluan anda dahulu", `href="/tetapan-akaun/tukar-kata-laluan"`)
	mustNotContain(t, "held", held.body, "Jana Kod Pemulihan Baharu", `action="/tetapan-akaun/dua-faktor/kod-pemulihan-baharu"`)
	a.get("/tetapan-akaun/tukar-kata-laluan?lang=en")
	en := a.get("/tetapan-akaun/dua-faktor")
	mustContain(t, "held (English)", en.body, "Change your password first")
	mustNotContain(t, "held (English)", en.body, "Make New Recovery Codes")
	a.get("/tetapan-akaun/tukar-kata-laluan?lang=ms")

	const strong = "Teh O Limau Ais Kurang Manis"
	if r := a.post("/tetapan-akaun/tukar-kata-laluan", "/tetapan-akaun/tukar-kata-laluan", url.Values{"old_password": {weak}, "password": {strong}, "confirm_password": {strong}}); r.Code != http.StatusSeeOther {
		t.Fatalf("change: %d %s", r.Code, r.body)
	}
	after := a.get("/tetapan-akaun/dua-faktor")
	mustContain(t, "after the change", after.body, "Jana Kod Pemulihan Baharu", `action="/tetapan-akaun/dua-faktor/kod-pemulihan-baharu"`)
	mustNotContain(t, "after the change", after.body, "Tukar kata laluan anda dahulu")
}
