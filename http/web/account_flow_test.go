package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/mykad"
)

// TestManualWalkthrough is the manual's steps 3–10 through the pages:
// Pendaftaran → the mail in the demo mailbox → ID Pengguna → Login → the
// password page → Aktif → the home page with name, department and menu;
// then a second login shows the image and phrase chosen at activation.
func TestManualWalkthrough(t *testing.T) {
	w := newWorld(t)
	b := w.browser()

	landing := b.get("/")
	mustContain(t, "landing", landing.body, "ID Pengguna", ">Login<", ">Pendaftaran<", ">Lupa Kata Laluan<", `action="/login"`)

	reg := b.get("/pendaftaran")
	mustContain(t, "registration form", reg.body, "No. Pengenalan", "Emel Rasmi Kerajaan", ">Hantar<")
	r := b.post("/pendaftaran", "/pendaftaran", url.Values{"ic": {"791117-04-5671"}, "email": {"Siti.Aminah@melaka.gov.my"}})
	if r.Code != 200 {
		t.Fatalf("registration: %d", r.Code)
	}
	mustContain(t, "registered", r.body, "Pendaftaran berjaya. Lakukan semakan di peti masuk emel rasmi kerajaan anda untuk dapatkan kata laluan sementara.",
		"791117-04-5671", "siti.aminah@melaka.gov.my", "merujuk kepada nama dan id pengguna yang berkenaan")
	temp := w.mailFor(b, sitiIC, "Pendaftaran iSPEKS", 0)

	// The mailbox page and one message.
	box := b.get("/demo/mailbox")
	mustContain(t, "mailbox", box.body, "Peti Masuk Demo", "Siti Aminah binti Omar", "Pendaftaran iSPEKS")

	// Step 7–8: user ID, then the password page with a decoy (no image
	// chosen yet).
	pw := b.enterID("791117045671")
	if pw.Code != 200 {
		t.Fatalf("password page: %d", pw.Code)
	}
	mustContain(t, "password page", pw.body, "791117-04-5671", `class="secimg"`, "Frasa Rahsia", `type="password"`, ">Login<", "Lupa Kata Laluan")
	r = b.enterPassword(temp)
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/pengaktifan" {
		t.Fatalf("temporary password: %d %s", r.Code, r.Header().Get("Location"))
	}
	act := b.follow(r)
	mustContain(t, "activation", act.body, "Maklumat Kata Laluan", "Soalan dan Jawapan Rahsia", "Imej Online", "Frasa Rahsia", ">Aktif<",
		"Apakah nama sekolah rendah pertama anda?", `type="radio" name="image"`)
	if n := strings.Count(act.body, `type="radio" name="image"`); n < 12 {
		t.Fatalf("gallery has %d images", n)
	}

	// Step 9: Aktif. Step 10: name and department, and the menu.
	r = b.post("/pengaktifan", "/pengaktifan", url.Values{
		"password": {password}, "confirm_password": {password}, "question": {"guru-kegemaran"},
		"answer": {"Cikgu Rosnah"}, "image": {"wau-bulan"}, "phrase": {"Layang-layang Terang"},
	})
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/utama" {
		t.Fatalf("activate: %d %s %s", r.Code, r.Header().Get("Location"), r.body)
	}
	home := b.follow(r)
	mustContain(t, "home", home.body, "Siti Aminah binti Omar", "Jabatan Kewangan dan Perbendaharaan Negeri Melaka", "Ini log masuk pertama anda.",
		"Permohonan", "Status Bayaran", "Penyata Gaji", "Tetapan Akaun", "Kemaskini Maklumat Pengguna", "Tukar Kata Laluan", "Log Keluar")
	mustNotContain(t, "home", home.body, "Pentadbir Sistem</summary>")

	// The temporary password was spent at activation.
	out := b.post("/utama", "/log-keluar", nil)
	if out.Code != http.StatusSeeOther {
		t.Fatalf("logout: %d", out.Code)
	}
	mustContain(t, "after logout", b.follow(out).body, "Anda telah log keluar.")
	if r := b.get("/utama"); r.Code != http.StatusSeeOther {
		t.Fatalf("home after logout: %d", r.Code)
	}
	b.enterID(sitiIC)
	if r := b.enterPassword(temp); r.Code != http.StatusUnauthorized || !strings.Contains(r.body, "Kata Laluan Tidak Tepat") {
		t.Fatalf("spent temporary password: %d", r.Code)
	}

	// The second login shows the chosen image and phrase.
	pw = b.enterID(sitiIC)
	mustContain(t, "password page after activation", pw.body, "/static/security/wau-bulan.svg", "Layang-layang Terang")
	if r := b.enterPassword(password); r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/utama" {
		t.Fatalf("login: %d %s", r.Code, r.Header().Get("Location"))
	}
}

// TestSharedMailbox: two staff sharing one department mailbox each get a
// mail naming them and their user ID (manual step 6's Nota).
func TestSharedMailbox(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	pn := w.register(b, master[1])
	ph := w.register(b, master[2])
	if pn == ph {
		t.Fatal("the two staff got the same temporary password")
	}
	list := b.get("/demo/mailbox").body
	if n := strings.Count(list, "pentadbiran.jkr@melaka.gov.my"); n != 2 {
		t.Fatalf("mailbox lists %d mails to the shared address", n)
	}
	// Each logs in with their own password only.
	w.activate(w.browser(), master[1], pn, "durian", "Kebun Hijau")
	b2 := w.browser()
	b2.enterID(hafizIC)
	if r := b2.enterPassword(pn); r.Code != http.StatusUnauthorized {
		t.Fatalf("Hafiz with Nurul's password: %d", r.Code)
	}
}

// TestDecoysForUnknownIDs: the password page of an unknown ID shows an
// image and a phrase, the same every time, and the page has the same shape
// as for a registered ID.
func TestDecoysForUnknownIDs(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	first := b.enterID(unknownIC)
	again := b.enterID(unknownIC)
	img := regexp.MustCompile(`src="(/static/security/[a-z-]+\.svg)\?v=[0-9a-f]+"`)
	phrase := regexp.MustCompile(`Frasa Rahsia: <strong>([^<]+)</strong>`)
	m1, m2 := img.FindStringSubmatch(first.body), img.FindStringSubmatch(again.body)
	p1, p2 := phrase.FindStringSubmatch(first.body), phrase.FindStringSubmatch(again.body)
	if m1 == nil || p1 == nil || m2 == nil || p2 == nil {
		t.Fatalf("no image or phrase on the unknown ID's page: %s", first.body)
	}
	if m1[1] != m2[1] || p1[1] != p2[1] {
		t.Fatalf("decoy changed: %s %s / %s %s", m1[1], p1[1], m2[1], p2[1])
	}
	if normal(first.body) != normal(again.body) {
		t.Fatal("the same unknown ID's page differs between two visits")
	}
}

// TestLanguageToggle: the account pages speak English after the toggle.
func TestAccountPagesInEnglish(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	b.get("/?lang=en")
	r := b.post("/pendaftaran", "/pendaftaran", url.Values{"ic": {unknownIC}, "email": {"someone@melaka.gov.my"}})
	mustContain(t, "registration refused (en)", r.body, "User Cannot Be Registered, Please Contact the System Administrator", "Registration", `lang="en"`)
	b.enterID(unknownIC)
	r = b.enterPassword("not the password")
	mustContain(t, "wrong password (en)", r.body, "Incorrect Password", "Forgot Password",
		"Your account will be blocked if login attempts exceed 3 times. Please contact the System Administrator.")
}

// langToggleRe finds the layout's language toggle link.
var langToggleRe = regexp.MustCompile(`official-bar__lang" href="([^"]*)"`)

// langToggle returns the toggle link of a page, unescaped.
func langToggle(t *testing.T, what, body string) string {
	t.Helper()
	m := langToggleRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("%s: no language toggle", what)
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

// TestLanguageToggleStaysOnSite: the server does not clean paths, so a
// crafted link shows the 404 page with the path as typed; its toggle must
// not lead to another site.
func TestLanguageToggleStaysOnSite(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	for _, target := range []string{"//evil.example/x", "//evil.example", "/%2F%2Fevil.example/x", "/%2f%2Fevil.example", "/\\evil.example/x", "/%5Cevil.example/x"} {
		r := b.get(target)
		link := langToggle(t, target, r.body)
		if !strings.HasPrefix(link, "/") || strings.HasPrefix(link, "//") || strings.HasPrefix(link, "/\\") {
			t.Errorf("%s (%d): toggle %q leaves the site", target, r.Code, link)
		}
		if u, err := url.Parse(link); err != nil || u.Host != "" || u.Query().Get("lang") != "en" {
			t.Errorf("%s: toggle %q is not a local ?lang=en link", target, link)
		}
	}
	// An ordinary page keeps its path and query.
	r := b.get("/pendaftaran?x=1")
	if link := langToggle(t, "register", r.body); link != "/pendaftaran?lang=en&x=1" {
		t.Errorf("register: toggle %q", link)
	}
}

// TestRefusedFormTogglesOnItsPage: every page drawn in answer to a POST has
// a toggle that opens a page (200, or a redirect to one), never the
// POST-only action (a 405): the login's user-ID step toggles on the
// landing page, the two-factor steps on Dua Faktor.
func TestRefusedFormTogglesOnItsPage(t *testing.T) {
	w := newWorld(t)
	staff := w.activeUser(master[0])
	anon := w.browser()
	opens := func(b *browser, what, body string) {
		t.Helper()
		link := langToggle(t, what, body)
		g := b.get(link)
		if g.Code == http.StatusSeeOther || g.Code == http.StatusFound {
			g = b.follow(g)
		}
		if g.Code != http.StatusOK {
			t.Errorf("%s: toggle %s → %d", what, link, g.Code)
		}
	}
	for _, c := range []struct {
		b            *browser
		page, action string
		form         url.Values
		toggle       string // the toggle's path, if not the action's
	}{
		{anon, "/", "/login", url.Values{"user_id": {"12"}}, "/"},
		{anon, "/pendaftaran", "/pendaftaran", url.Values{"ic": {"12"}, "email": {"x"}}, ""},
		{anon, "/lupa-kata-laluan", "/lupa-kata-laluan", url.Values{"ic": {"12"}}, ""},
		{staff, "/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/mula", url.Values{"current_password": {password}}, "/tetapan-akaun/dua-faktor"},
		{staff, "/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/sahkan", url.Values{"code": {"000000"}}, "/tetapan-akaun/dua-faktor"},
		{staff, "/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/kod-pemulihan-baharu", url.Values{"code": {""}}, "/tetapan-akaun/dua-faktor"},
		{staff, "/tetapan-akaun/kemaskini-maklumat", "/tetapan-akaun/kemaskini-maklumat", url.Values{"phone": {"abc"}}, ""},
		{staff, "/tetapan-akaun/tukar-kata-laluan", "/tetapan-akaun/tukar-kata-laluan", url.Values{"old_password": {"salah"}}, ""},
	} {
		r := c.b.post(c.page, c.action, c.form)
		what := "POST " + c.action
		if r.Code == http.StatusSeeOther {
			t.Fatalf("%s: redirected, want a page", what)
		}
		want := c.toggle
		if want == "" {
			want = c.action
		}
		if link := langToggle(t, what, r.body); !strings.HasPrefix(link, want+"?") {
			t.Errorf("%s: toggle %q, want on %s", what, link, want)
		}
		opens(c.b, what, r.body)
	}
	// The password step refused: its own page (GET) again.
	anon.enterID(sitiIC)
	opens(anon, "wrong password", anon.enterPassword("salah").body)
}

// TestLogoutIsRecorded: Log Keluar ends every session of the account in
// every portal process, not only this one: it records SessionsEnded
// (requested) with the person as actor, which each process's follower acts
// on (as in TestConsoleRevokeEndsSessions). A browser without a login
// records nothing: anyone may begin a login for any user ID.
func TestLogoutIsRecorded(t *testing.T) {
	w := newWorld(t)
	b := w.activeUser(master[0])
	stream := account.Stream(mykad.MustParse(sitiIC))
	last := func() eventlog.Record {
		t.Helper()
		recs, err := w.events.ReadStream(context.Background(), stream, 0, eventlog.Backwards, 1)
		if err != nil || len(recs) != 1 {
			t.Fatalf("read %v", err)
		}
		return recs[0]
	}
	before := last()
	if r := b.post("/utama", "/log-keluar", nil); r.Code != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.Code)
	}
	rec := last()
	env, err := w.reg.Decode(rec)
	if err != nil {
		t.Fatal(err)
	}
	if ev, ok := env.Event.(account.SessionsEnded); rec.Version != before.Version+1 || !ok || ev.Reason != account.EndRequested || env.Metadata.Actor.ID != sitiIC {
		t.Fatalf("after logout the account's last event is %s %+v by %+v", rec.Type, env.Event, env.Metadata.Actor)
	}
	pending := w.browser()
	pending.enterID(sitiIC)
	pending.post("/login/kata-laluan", "/log-keluar", nil)
	if again := last(); again.Version != rec.Version {
		t.Fatalf("a login in progress logged out and recorded %s", again.Type)
	}
}
