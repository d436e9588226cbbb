package web_test

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/loginprobe"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/http/web"
	"github.com/melaka-gov/ispeks/infra/security"
)

const lockNotice = "Akaun anda akan disekat sekiranya percubaan log masuk melebihi 3 kali. Sila hubungi Pentadbir Sistem."

// TestTwoWrongThenRight: two wrong passwords, then the right one, logs in
// and resets the count (three more wrong ones are needed to lock).
func TestTwoWrongThenRight(t *testing.T) {
	w := newWorld(t)
	w.activeUser(master[0])
	activated := w.clk.Now() // the activation's login
	w.clk.Add(26 * time.Hour)
	b := w.browser()
	b.enterID(sitiIC)
	for i := range 2 {
		r := b.enterPassword("salah-" + string(rune('a'+i)))
		if r.Code != http.StatusUnauthorized {
			t.Fatalf("wrong %d: %d", i+1, r.Code)
		}
		mustContain(t, "wrong password", r.body, "Kata Laluan Tidak Tepat", `href="/lupa-kata-laluan"`, "Lupa Kata Laluan", lockNotice)
	}
	if got := w.accountView(sitiIC).FailedAttempts; got != 2 {
		t.Fatalf("failed attempts %d, want 2", got)
	}
	r := b.enterPassword(password)
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/utama" {
		t.Fatalf("right password: %d %s", r.Code, r.Header().Get("Location"))
	}
	// Home names the login before this one and the two failures since.
	mustContain(t, "home", b.follow(r).body, "Siti Aminah binti Omar",
		"Log masuk terakhir anda sebelum ini: <strong>"+activated.In(time.FixedZone("MYT", 8*3600)).Format("02/01/2006 15:04")+"</strong>",
		"Cubaan log masuk yang gagal sejak itu: 2.", "Jika bukan anda:")
	if v := w.accountView(sitiIC); v.FailedAttempts != 0 || v.Locked {
		t.Fatalf("after success: failed %d locked %v", v.FailedAttempts, v.Locked)
	}
	// Two more wrong ones still do not lock: the count started again.
	o := w.browser()
	o.enterID(sitiIC)
	o.enterPassword("salah-x")
	o.enterPassword("salah-y")
	if r := o.enterPassword(password); r.Code != http.StatusSeeOther {
		t.Fatalf("count was not reset: %d", r.Code)
	}
}

// attempt runs both login steps for id in a fresh browser and returns the
// password step's answer.
func attempt(w *world, id, pw string) result {
	b := w.browser()
	b.enterID(id)
	return b.enterPassword(pw)
}

// TestLockoutIsTheSameForEveryAttempt: three wrong passwords lock the
// account; from then on the right password and a wrong one get the same
// lock notice, byte for byte (modulo CSRF token and request ID), the
// account's sessions end, and an unknown ID behaves the same way.
func TestLockoutIsTheSameForEveryAttempt(t *testing.T) {
	w := newWorld(t)
	logged := w.activeUser(master[0]) // a session that the lock must end
	if r := logged.get("/utama"); r.Code != 200 {
		t.Fatalf("home before the lock: %d", r.Code)
	}

	run := func(id string) []result {
		var out []result
		for _, pw := range []string{"salah-1", "salah-2", "salah-3", password, "salah-4", password} {
			out = append(out, attempt(w, id, pw))
		}
		return out
	}
	real := run(sitiIC)
	unknown := run(unknownIC)

	for who, rs := range map[string][]result{"real": real, "unknown": unknown} {
		for i, r := range rs[:2] {
			if r.Code != http.StatusUnauthorized || !strings.Contains(r.body, "Kata Laluan Tidak Tepat") {
				t.Errorf("%s attempt %d: %d", who, i+1, r.Code)
			}
		}
		for i, r := range rs[2:] {
			if r.Code != http.StatusLocked {
				t.Errorf("%s attempt %d: %d, want 423", who, i+3, r.Code)
			}
			mustContain(t, who+" lock notice", r.body, "ID Pengguna Dikunci / Disekat", lockNotice, "En. Mohd Fadzlezam Bin Sulaiman (<a href=\"tel:06-2307290\">06-2307290</a>)")
			mustNotContain(t, who+" lock notice", r.body, "Kata Laluan Tidak Tepat", `type="password"`)
		}
		// From the lock on, right or wrong password: the same page.
		want := normal(rs[2].body)
		for i, r := range rs[3:] {
			if normal(r.body) != want {
				t.Errorf("%s attempt %d differs from the locking attempt", who, i+4)
			}
			if !sameHeaders(r, rs[2]) {
				t.Errorf("%s attempt %d: headers differ: %v / %v", who, i+4, r.Header(), rs[2].Header())
			}
		}
	}
	// Unknown and real: identical through the lock. Before it, the pages
	// differ only by what was typed and its image and phrase.
	for i := range real {
		a, u := strip(real[i].body, sitiIC), strip(unknown[i].body, unknownIC)
		if real[i].Code != unknown[i].Code || a != u {
			t.Errorf("attempt %d: real %d and unknown %d differ", i+1, real[i].Code, unknown[i].Code)
		}
	}
	if normal(real[5].body) != normal(unknown[5].body) {
		t.Error("lock pages of a real and an unknown ID differ")
	}
	// The account is locked and its session ended.
	if v := w.accountView(sitiIC); !v.Locked {
		t.Fatal("account not locked")
	}
	if r := logged.get("/utama"); r.Code != http.StatusSeeOther {
		t.Fatalf("session survived the lock: %d", r.Code)
	}
	// Forgot password on a locked account answers the same and issues
	// nothing; the account stays locked.
	before := w.head()
	w.forgot(w.browser(), sitiIC)
	if w.head() != before {
		t.Fatal("forgot password issued something for a locked account")
	}
}

func sameHeaders(a, b result) bool {
	for _, h := range []string{"Content-Type", "Cache-Control", "Retry-After", "Content-Security-Policy"} {
		if a.Header().Get(h) != b.Header().Get(h) {
			return false
		}
	}
	ca, cb := a.Result().Cookies(), b.Result().Cookies()
	if len(ca) != len(cb) {
		return false
	}
	for i := range ca {
		if ca[i].Name != cb[i].Name || ca[i].MaxAge != cb[i].MaxAge {
			return false
		}
	}
	return true
}

var (
	secImgRe = regexp.MustCompile(`<img src="/static/security/[a-z-]+\.svg\?v=[0-9a-f]+" alt="[^"]*"`)
	phraseRe = regexp.MustCompile(`Frasa Rahsia: <strong>[^<]+</strong>`)
)

// strip removes what the person typed and what depends on it (the ID, its
// image and phrase, the CSRF token, request IDs) from a page.
func strip(body, id string) string {
	body = normal(body)
	body = strings.ReplaceAll(body, id[:6]+"-"+id[6:8]+"-"+id[8:], "ID")
	body = secImgRe.ReplaceAllString(body, "IMG")
	return phraseRe.ReplaceAllString(body, "PHRASE")
}

// TestNewTokenAndCookieFlags: each login step issues a new session token;
// the cookie is HttpOnly, SameSite=Lax, Path=/, and Secure behind TLS.
func TestNewTokenAndCookieFlags(t *testing.T) {
	w := newWorld(t)
	w.activeUser(master[0])
	b := w.browser()
	b.remote = "10.1.2.3:5000" // a trusted proxy
	b.headers["X-Forwarded-Proto"] = "https"
	b.headers["X-Forwarded-For"] = "198.51.100.7"
	r := b.post("/", "/login", url.Values{"user_id": {sitiIC}})
	pending := cookie(t, r, "ispeks_session")
	b.follow(r)
	r = b.enterPassword(password)
	active := cookie(t, r, "ispeks_session")
	if pending.Value == active.Value {
		t.Fatal("login kept the pending session's token")
	}
	for _, c := range []*http.Cookie{pending, active} {
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || !c.Secure {
			t.Errorf("cookie flags: %+v", c)
		}
	}
	// Without TLS: not Secure, otherwise the same.
	p := w.browser()
	r = p.post("/", "/login", url.Values{"user_id": {sitiIC}})
	if c := cookie(t, r, "ispeks_session"); c.Secure || !c.HttpOnly {
		t.Errorf("plain HTTP cookie: %+v", c)
	}
}

func cookie(t *testing.T, r result, name string) *http.Cookie {
	t.Helper()
	for _, c := range r.Result().Cookies() {
		if c.Name == name && c.Value != "" {
			return c
		}
	}
	t.Fatalf("no %s cookie set (%d)", name, r.Code)
	return nil
}

// TestCSRFRefused: every account form refuses a POST without the token,
// and nothing is appended.
func TestCSRFRefused(t *testing.T) {
	w := newWorld(t)
	b := w.activeUser(master[0])
	anon := w.browser()
	anon.get("/") // has a CSRF cookie, but sends no token
	before := w.head()
	for _, c := range []struct {
		b    *browser
		path string
		form url.Values
	}{
		{anon, "/login", url.Values{"user_id": {sitiIC}}},
		{anon, "/pendaftaran", url.Values{"ic": {aminIC}, "email": {"amin.yusof@melaka.gov.my"}}},
		{anon, "/lupa-kata-laluan", url.Values{"ic": {sitiIC}}},
		{b, "/tetapan-akaun/kemaskini-maklumat", url.Values{"phone": {"06-2307290"}, "email": {"siti.aminah@melaka.gov.my"}}},
		{b, "/tetapan-akaun/tukar-kata-laluan", url.Values{"old_password": {password}, "password": {"Bunga Raya Kembang 9"}, "confirm_password": {"Bunga Raya Kembang 9"}}},
		{b, "/tetapan-akaun/dua-faktor/mula", url.Values{}},
		{b, "/log-keluar", url.Values{}},
	} {
		r := c.b.do("POST", c.path, c.form)
		if r.Code != http.StatusForbidden {
			t.Errorf("%s without token: %d", c.path, r.Code)
		}
		mustContain(t, c.path, r.body, "Borang ini telah tamat tempoh atau tidak sah")
	}
	// A wrong token is refused too.
	r := b.do("POST", "/tetapan-akaun/tukar-kata-laluan", url.Values{"csrf_token": {"x"}, "old_password": {password}})
	if r.Code != http.StatusForbidden {
		t.Errorf("wrong token: %d", r.Code)
	}
	if w.head() != before {
		t.Fatal("a refused POST appended events")
	}
	if r := b.get("/utama"); r.Code != 200 {
		t.Fatalf("logout without a token logged out: %d", r.Code)
	}
}

// TestStaffCannotReachAdminPages: a logged-in staff member gets 404 on the
// administrator and auditor areas, and their menu does not show them.
func TestStaffCannotReachAdminPages(t *testing.T) {
	w := newWorld(t)
	b := w.activeUser(master[0])
	home := b.get("/utama")
	mustNotContain(t, "staff menu", home.body, `href="/pentadbir"`, `href="/audit"`)
	for _, p := range []string{"/pentadbir", "/pentadbir/import", "/audit", "/audit/integriti"} {
		if r := b.get(p); r.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, r.Code)
		}
	}
	for _, p := range []string{"/pentadbir", "/pentadbir/import"} {
		r := b.post("/utama", p, url.Values{})
		if r.Code != http.StatusNotFound && r.Code != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: %d", p, r.Code)
		}
	}
}

// TestLoginThrottle: the password step is throttled per client address;
// another address is not affected.
func TestLoginThrottle(t *testing.T) {
	w := newWorldWith(t, worldOpts{demo: true, throttle: httpx.ThrottleConfig{Burst: 2, Every: time.Hour}})
	b := w.browser()
	b.enterID(unknownIC)
	before := w.head()
	b.enterPassword("a1")
	b.enterPassword("a2")
	mid := w.head()
	r := b.enterPassword("a3")
	if r.Code != http.StatusTooManyRequests || r.Header().Get("Retry-After") == "" {
		t.Fatalf("3rd attempt from one address: %d", r.Code)
	}
	mustContain(t, "throttled", r.body, "Terlalu banyak percubaan")
	if w.head() != mid || mid == before {
		t.Fatal("a throttled attempt was recorded (or the allowed ones were not)")
	}
	o := w.browser()
	o.remote = "192.0.2.99:1"
	o.enterID("830405105556")
	if r := o.enterPassword("b1"); r.Code != http.StatusUnauthorized {
		t.Fatalf("another address: %d", r.Code)
	}
}

// TestUserIDStepThrottled: the user-ID step takes a token of the per-IP
// login throttle (it makes a server-side session): a flood of IDs from one
// address gets the Malay notice on the landing page and starts no session.
// That token pays for the first password attempt, so a login still costs
// one token.
func TestUserIDStepThrottled(t *testing.T) {
	store := session.NewMemoryStore(0)
	w := newWorldWith(t, worldOpts{demo: true, store: store, throttle: httpx.ThrottleConfig{Burst: 3, Every: time.Hour}})
	u := w.activeUser(master[0])
	u.remote = "198.51.100.7:1234"
	u.post("/utama", "/log-keluar", nil)
	// Two logins from one address of a 3-token bucket: a login (user ID,
	// then password) takes one token.
	u.login(sitiIC, password)
	u.post("/utama", "/log-keluar", nil)
	u.login(sitiIC, password)

	atk := w.browser()
	atk.remote = "203.0.113.9:5555"
	tok := atk.csrf("/")
	var r result
	for i := range 10 {
		r = atk.do("POST", "/login", url.Values{"user_id": {unknownIC}, "csrf_token": {tok}})
		delete(atk.cookies, "ispeks_session") // never presents the pending session
		if r.Code != http.StatusSeeOther {
			if i != 3 {
				t.Fatalf("attempt %d throttled, want the 4th", i+1)
			}
			break
		}
	}
	if r.Code != http.StatusTooManyRequests || r.Header().Get("Retry-After") == "" {
		t.Fatalf("flood of user IDs from one address: %d", r.Code)
	}
	mustContain(t, "throttled user-ID step", r.body, "Terlalu banyak percubaan. Sila cuba lagi selepas", `name="user_id"`)
	if store.Pending() != 3 {
		t.Fatalf("%d logins in progress after 3 allowed steps", store.Pending())
	}
	// A real user behind the same address waits too.
	u.post("/utama", "/log-keluar", nil)
	u.remote = atk.remote
	if r := u.post("/", "/login", url.Values{"user_id": {sitiIC}}); r.Code != http.StatusTooManyRequests {
		t.Fatalf("user-ID step from the throttled address: %d", r.Code)
	}
}

// TestLoginsInProgressCannotFillTheStore: with the logins in progress at
// their cap (a quarter of the store), a new user-ID step drops the oldest
// one, and a real user still logs in.
func TestLoginsInProgressCannotFillTheStore(t *testing.T) {
	store := session.NewMemoryStore(40) // 10 logins in progress
	w := newWorldWith(t, worldOpts{demo: true, store: store})
	w.activeUser(master[0])
	atk := w.browser()
	tok := atk.csrf("/")
	for i := range 60 {
		atk.remote = fmt.Sprintf("203.0.113.%d:5555", i+1) // many addresses: the throttle does not help
		r := atk.do("POST", "/login", url.Values{"user_id": {unknownIC}, "csrf_token": {tok}})
		delete(atk.cookies, "ispeks_session")
		if r.Code != http.StatusSeeOther {
			t.Fatalf("user-ID step %d: %d", i, r.Code)
		}
	}
	if store.Pending() != 10 {
		t.Fatalf("%d logins in progress, want the cap of 10", store.Pending())
	}
	v := w.browser()
	v.remote = "198.51.100.7:1234"
	mustContain(t, "victim home", v.login(sitiIC, password).body, "Siti Aminah binti Omar")
}

// TestTOTP: enrolment on Tetapan Akaun (QR code, secret, confirmation,
// ten recovery codes shown once), then a login asks for the code; a code
// is accepted once; a recovery code works once.
func TestTOTP(t *testing.T) {
	w := newWorld(t)
	b := w.activeUser(master[0])
	page := b.get("/tetapan-akaun/dua-faktor")
	mustContain(t, "two-factor page", page.body, "Aktifkan Dua Faktor")
	r := b.post("/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/mula", vals("current_password", password))
	if r.Code != 200 {
		t.Fatalf("start enrolment: %d %s", r.Code, r.body)
	}
	mustContain(t, "enrolment", r.body, `src="data:image/png;base64,`, "Kunci rahsia", `name="sealed"`)
	m := regexp.MustCompile(`<code class="secret">([A-Z2-7 ]+)</code>`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no secret on the page")
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	sealed := regexp.MustCompile(`name="sealed" value="([^"]+)"`).FindStringSubmatch(r.body)[1]
	totp := security.TOTP{}

	// A wrong code: the error, and the same QR code again; nothing recorded.
	before := w.head()
	r = b.post("/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/sahkan", url.Values{"code": {"000000"}, "sealed": {sealed}})
	if r.Code != http.StatusUnauthorized {
		t.Fatalf("wrong confirmation code: %d", r.Code)
	}
	mustContain(t, "wrong confirmation", r.body, "Kod tidak tepat", `src="data:image/png;base64,`, m[1])
	if w.head() != before {
		t.Fatal("a wrong confirmation code was recorded")
	}
	code, _ := totp.Code(secret, w.clk.Now())
	r = b.post("/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/sahkan", url.Values{"code": {code}, "sealed": {sealed}})
	if r.Code != 200 {
		t.Fatalf("confirm: %d %s", r.Code, r.body)
	}
	codes := regexp.MustCompile(`<code>([0-9A-Z]{5}-[0-9A-Z]{5})</code>`).FindAllStringSubmatch(r.body, -1)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown", len(codes))
	}
	mustContain(t, "enabled", r.body, "Dua faktor telah diaktifkan.", "Kod Pemulihan")
	if again := b.get("/tetapan-akaun/dua-faktor"); strings.Contains(again.body, codes[0][1]) || !strings.Contains(again.body, "Dua faktor aktif") {
		t.Fatal("recovery codes shown again, or the page does not say two-factor is on")
	}

	// Login: password, then the code. The code used to confirm is spent.
	l := w.browser()
	l.enterID(sitiIC)
	r = l.enterPassword(password)
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/login/dua-faktor" {
		t.Fatalf("password with TOTP on: %d %s", r.Code, r.Header().Get("Location"))
	}
	mustContain(t, "totp page", l.follow(r).body, "Pengesahan Dua Faktor", "Kod Pengesahan")
	r = l.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {code}})
	if r.Code != http.StatusUnauthorized || !strings.Contains(r.body, "Kod ini telah digunakan") {
		t.Fatalf("reused code: %d", r.Code)
	}
	if l.get("/utama").Code != http.StatusSeeOther {
		t.Fatal("a reused code logged in")
	}
	w.clk.Add(30 * time.Second)
	code2, _ := totp.Code(secret, w.clk.Now())
	r = l.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {code2}})
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/utama" {
		t.Fatalf("fresh code: %d %s %s", r.Code, r.Header().Get("Location"), r.body)
	}
	// The same fresh code again, in another login: refused.
	l2 := w.browser()
	l2.enterID(sitiIC)
	l2.enterPassword(password)
	if r := l2.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {code2}}); r.Code != http.StatusUnauthorized {
		t.Fatalf("code reused in a second login: %d", r.Code)
	}
	// A recovery code works once (typed in lower case with spaces).
	rc := strings.ToLower(strings.ReplaceAll(codes[3][1], "-", " "))
	if r := l2.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {rc}}); r.Code != http.StatusSeeOther {
		t.Fatalf("recovery code: %d %s", r.Code, r.body)
	}
	l3 := w.browser()
	l3.enterID(sitiIC)
	l3.enterPassword(password)
	if r := l3.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {codes[3][1]}}); r.Code != http.StatusUnauthorized {
		t.Fatalf("recovery code used twice: %d", r.Code)
	}
	// The reused recovery code was one failure (the recovery code accepted
	// before it ended the last run; the password step does not); two wrong
	// codes more lock the account.
	r = l3.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {"123456"}})
	if r.Code != http.StatusUnauthorized || !strings.Contains(r.body, "Kod tidak tepat") {
		t.Fatalf("wrong code: %d", r.Code)
	}
	r = l3.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {"654321"}})
	if r.Code != http.StatusLocked {
		t.Fatalf("third failed second factor: %d", r.Code)
	}
	mustContain(t, "locked by codes", r.body, lockNotice)
}

// enableTOTP turns TOTP on for the logged-in browser b, whose account's
// password is pw, through Tetapan Akaun.
func enableTOTP(t *testing.T, w *world, b *browser, pw string) (secret string) {
	t.Helper()
	r := b.post("/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/mula", vals("current_password", pw))
	m := regexp.MustCompile(`<code class="secret">([A-Z2-7 ]+)</code>`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("start enrolment: %d, no secret on the page", r.Code)
	}
	secret = strings.ReplaceAll(m[1], " ", "")
	code, _ := security.TOTP{}.Code(secret, w.clk.Now())
	if r := b.post("/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/sahkan", url.Values{"code": {code}}); r.Code != 200 {
		t.Fatalf("confirm: %d", r.Code)
	}
	return secret
}

// sendTwice posts form to action twice with the cookies b had before
// either answer came back, as a double click does; b keeps the first
// answer's cookies, and the second answer is returned.
func (b *browser) sendTwice(page, action string, form url.Values) (first, second result) {
	b.w.t.Helper()
	form.Set("csrf_token", b.csrf(page))
	before := maps.Clone(b.cookies)
	first = b.do("POST", action, form)
	after := b.cookies
	b.cookies = before
	second = b.do("POST", action, form)
	b.cookies = after
	return first, second
}

// atTheCodeStep enables TOTP for Siti and brings a new browser past her
// password to the login's code step, a time step after the enrolment's.
func atTheCodeStep(t *testing.T) (w *world, l *browser, secret string) {
	t.Helper()
	w = newWorld(t)
	secret = enableTOTP(t, w, w.activeUser(master[0]), password)
	w.clk.Add(30 * time.Second)
	l = w.browser()
	l.enterID(sitiIC)
	if r := l.enterPassword(password); r.Header().Get("Location") != "/login/dua-faktor" {
		t.Fatalf("password with TOTP on: %d %s", r.Code, r.Header().Get("Location"))
	}
	return w, l, secret
}

// A double click on "Sahkan" (the second-factor step at login, and making
// new recovery codes): the second submission carries the code the first
// had accepted. It grants nothing, counts no failure (a good login must
// not leave the person nearer a lock), and the page it answers with is not
// an error: the login goes to the home page as the first did; new codes
// say they were made a moment ago and how to get ones that were not seen.
func TestSecondFactorFormSentTwice(t *testing.T) {
	w, l, secret := atTheCodeStep(t)
	code, _ := security.TOTP{}.Code(secret, w.clk.Now())
	first, second := l.sendTwice("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {code}})
	if first.Code != http.StatusSeeOther || first.Header().Get("Location") != "/utama" {
		t.Fatalf("first submission: %d %s", first.Code, first.Header().Get("Location"))
	}
	// Here the first was answered before the second was read: the second's
	// pending login has ended, and it is sent to log in again. (Read
	// before the first was answered, it reaches the command, which refuses
	// the code without a failure — TestVerifyTOTPAcceptsACodeOnce — and
	// the page sends it home.)
	if second.Code != http.StatusSeeOther || second.Header().Get("Location") == "/login/dua-faktor" {
		t.Fatalf("second submission: %d %s, want a redirect away from the form: %s", second.Code, second.Header().Get("Location"), second.body)
	}
	if l.get("/utama").Code != http.StatusOK {
		t.Fatal("the first submission's session does not reach the home page")
	}

	// New recovery codes, the form sent twice.
	w.clk.Add(30 * time.Second)
	code, _ = security.TOTP{}.Code(secret, w.clk.Now())
	first, second = l.sendTwice("/tetapan-akaun/dua-faktor", web.PathRecoveryCodes, url.Values{"code": {code}})
	if first.Code != http.StatusOK || !strings.Contains(first.body, "Kod Pemulihan") {
		t.Fatalf("first submission: %d", first.Code)
	}
	if second.Code != http.StatusConflict {
		t.Fatalf("second submission: %d, want 409", second.Code)
	}
	mustContain(t, "second submission", second.body, "telah diterima sebentar tadi", "jana semula")
	if strings.Contains(second.body, "Kod tidak tepat") || strings.Contains(second.body, "telah digunakan") {
		t.Fatal("the second submission reads as a wrong or reused code")
	}
	if n := w.accountView(sitiIC).FailedAttempts; n != 0 {
		t.Fatalf("%d failed attempts after two double clicks", n)
	}
}

// The code a login was just completed with, typed a moment later on the
// new recovery codes' form: no codes were made, so the page says the code
// was used, not that the form was sent twice (which would leave the person
// believing the earlier codes replaced).
func TestTheLoginsCodeOnTheRecoveryCodesFormIsUsed(t *testing.T) {
	w, l, secret := atTheCodeStep(t)
	code, _ := security.TOTP{}.Code(secret, w.clk.Now())
	if r := l.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {code}}); r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/utama" {
		t.Fatalf("login's code: %d %s", r.Code, r.Header().Get("Location"))
	}
	r := l.post("/tetapan-akaun/dua-faktor", web.PathRecoveryCodes, url.Values{"code": {code}})
	if r.Code != http.StatusUnauthorized || strings.Contains(r.body, "dihantar dua kali") {
		t.Fatalf("the login's code on the recovery codes' form: %d", r.Code)
	}
	mustContain(t, "the login's code again", r.body, "Kod ini telah digunakan")
}

// TestWrongCodesLockAcrossPasswordReentries: someone who knows the password
// cannot guess codes without end by typing the password again after every
// two wrong codes. The right password does not end the run of failures
// while the code is owed; the third wrong code (TOTP or recovery) locks the
// account and shows the lock notice, and the right password is refused from
// then on.
func TestWrongCodesLockAcrossPasswordReentries(t *testing.T) {
	w := newWorld(t)
	owner := w.activeUser(master[0])
	enableTOTP(t, w, owner, password)
	w.clk.Add(time.Minute)
	passwordStep := func() *browser {
		t.Helper()
		a := w.browser()
		a.enterID(sitiIC)
		if r := a.enterPassword(password); r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/login/dua-faktor" {
			t.Fatalf("password step: %d %s", r.Code, r.Header().Get("Location"))
		}
		return a
	}
	a := passwordStep()
	for _, guess := range []string{"000000", "ABCDE-FGHJK"} { // a TOTP code, then a recovery code
		r := a.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {guess}})
		if r.Code != http.StatusUnauthorized || !strings.Contains(r.body, "Kod tidak tepat") {
			t.Fatalf("wrong code %s: %d", guess, r.Code)
		}
	}
	a = passwordStep()
	if v := w.accountView(sitiIC); v.FailedAttempts != 2 || v.Locked {
		t.Fatalf("after the password again: failed %d locked %v, want 2 and not locked", v.FailedAttempts, v.Locked)
	}
	r := a.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {"111111"}})
	if r.Code != http.StatusLocked {
		t.Fatalf("third wrong code: %d, want 423", r.Code)
	}
	mustContain(t, "locked by codes", r.body, "ID Pengguna Dikunci / Disekat", lockNotice)
	if v := w.accountView(sitiIC); v.FailedAttempts != 3 || !v.Locked {
		t.Fatalf("after the third wrong code: failed %d locked %v", v.FailedAttempts, v.Locked)
	}
	if r := owner.get("/utama"); r.Code != http.StatusSeeOther {
		t.Fatalf("the owner's session survived the lock: %d", r.Code)
	}
	// The right password: the lock notice, and no code step after it.
	w.clk.Add(time.Minute)
	b := w.browser()
	b.enterID(sitiIC)
	r = b.enterPassword(password)
	if r.Code != http.StatusLocked {
		t.Fatalf("right password on the locked account: %d", r.Code)
	}
	mustContain(t, "locked, right password", r.body, lockNotice)
	if r := b.get("/login/dua-faktor"); r.Code != http.StatusSeeOther || r.Header().Get("Location") == "/utama" {
		t.Fatalf("the code step is open after a refused password: %d %s", r.Code, r.Header().Get("Location"))
	}
}

// TestUnknownIDStaysOutOfTheStores: the login page names the person
// logging in by the ID they typed; on an unknown ID that name must not
// reach the event log (the probe stream is keyed by an HMAC to keep it
// out) nor the read models. Every column of every table of both SQLite
// files is read after the projections caught up.
func TestUnknownIDStaysOutOfTheStores(t *testing.T) {
	w := newWorld(t)
	const dashed = "820304-10-5555" // unknownIC as a person may type it
	for _, typed := range []string{dashed, unknownIC} {
		b := w.browser()
		b.enterID(typed)
		if r := b.enterPassword("bukan kata laluan"); r.Code != http.StatusUnauthorized {
			t.Fatalf("%s: %d", typed, r.Code)
		}
	}
	probes := 0
	for _, name := range []string{"events.db", "views.db"} {
		if name == "views.db" {
			if err := w.eng.WaitFor(context.Background(), w.head()); err != nil {
				t.Fatal(err)
			}
		}
		for where, cell := range sqliteCells(t, filepath.Join(w.dir, name)) {
			if strings.Contains(cell, unknownIC) || strings.Contains(cell, dashed) {
				t.Errorf("%s %s holds the typed ID in clear: %.300s", name, where, cell)
			}
			if strings.HasPrefix(cell, "loginprobe-") {
				probes++
			}
		}
	}
	if probes != 2 {
		t.Fatalf("%d probe events found, want 2", probes)
	}
}

// sqliteCells reads every cell of every table of the SQLite file at path,
// as text, keyed by "table row column".
func sqliteCells(t *testing.T, path string) map[string]string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	var tables []string
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	out := map[string]string{}
	for _, table := range tables {
		rows, err := db.QueryContext(ctx, `SELECT * FROM "`+table+`"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for i := 0; rows.Next(); i++ {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for j := range vals {
				ptrs[j] = &vals[j]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for j, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				out[fmt.Sprintf("%s row %d %s", table, i, cols[j])] = fmt.Sprint(v)
			}
		}
		rows.Close()
	}
	return out
}

// TestHomeIgnoresAbandonedCodeStep: with TOTP on, someone with the
// password but not the phone (a wrong password, the right one, no code)
// has not logged in: the owner's next home page names the owner's own
// previous login and counts the stranger's wrong password.
func TestHomeIgnoresAbandonedCodeStep(t *testing.T) {
	w := newWorld(t)
	owner := w.activeUser(master[0])
	r := owner.post("/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/mula", vals("current_password", password))
	m := regexp.MustCompile(`<code class="secret">([A-Z2-7 ]+)</code>`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no secret on the page")
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	code, _ := security.TOTP{}.Code(secret, w.clk.Now())
	if r := owner.post("/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/sahkan", url.Values{"code": {code}}); r.Code != http.StatusOK {
		t.Fatalf("confirm: %d", r.Code)
	}
	fullLogin := func() result {
		t.Helper()
		b := w.browser()
		b.enterID(sitiIC)
		b.enterPassword(password)
		c, _ := security.TOTP{}.Code(secret, w.clk.Now())
		r := b.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {c}})
		if r.Code != http.StatusSeeOther {
			t.Fatalf("code step: %d %s", r.Code, r.body)
		}
		return b.follow(r)
	}
	w.clk.Add(10 * time.Minute)
	t1 := w.clk.Now()
	fullLogin()

	w.clk.Add(2 * time.Hour)
	s := w.browser()
	s.enterID(sitiIC)
	s.enterPassword("salah-satu")
	s.enterID(sitiIC)
	if r := s.enterPassword(password); r.Header().Get("Location") != "/login/dua-faktor" {
		t.Fatalf("password step: %d %s", r.Code, r.Header().Get("Location"))
	}

	w.clk.Add(2 * time.Hour)
	home := fullLogin()
	mustContain(t, "home", home.body,
		"Log masuk terakhir anda sebelum ini: <strong>"+t1.In(time.FixedZone("MYT", 8*3600)).Format("02/01/2006 15:04")+"</strong>",
		"Cubaan log masuk yang gagal sejak itu: 1.")
}

// endingConfirmer confirms the enrolment, then ends the account's sessions
// as the follower does when the log ends them (a lock, a role removed)
// while the code is checked.
type endingConfirmer struct {
	w    *world
	next web.TOTPConfirmer
}

func (e endingConfirmer) Confirm(ctx context.Context, cmd commands.ConfirmTOTP) ([]string, commands.Result, error) {
	codes, res, err := e.next.Confirm(ctx, cmd)
	if err == nil {
		if _, err := e.w.srv.Sessions.EndAllBefore(ctx, cmd.UserID, e.w.clk.Now().Add(time.Second)); err != nil {
			return nil, res, err
		}
	}
	return codes, res, err
}

// The session that confirms a TOTP enrolment ends while the code is
// checked: the answer sends the browser to log in again ("sesi tamat"),
// and the session is not made again under a new token.
func TestTOTPConfirmedForAnEndedSessionMakesNoSession(t *testing.T) {
	w := newWorldWith(t, worldOpts{demo: true, commands: func(w *world, c *web.AccountCommands) {
		c.ConfirmTOTP = endingConfirmer{w: w, next: c.ConfirmTOTP}
	}})
	b := w.activeUser(master[0])
	const p = "/tetapan-akaun/dua-faktor"
	r := b.post(p, p+"/mula", vals("current_password", password))
	secret := regexp.MustCompile(`<code class="secret">([^<]+)</code>`).FindStringSubmatch(r.body)
	sealed := regexp.MustCompile(`name="sealed" value="([^"]+)"`).FindStringSubmatch(r.body)
	if secret == nil || sealed == nil {
		t.Fatalf("enrolment page: %d", r.Code)
	}
	code, _ := security.TOTP{}.Code(strings.ReplaceAll(secret[1], " ", ""), w.clk.Now())
	r = b.post(p, p+"/sahkan", vals("code", code, "sealed", sealed[1]))
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/?sesi=tamat" {
		t.Fatalf("confirmed for an ended session: %d %q, want 303 to /?sesi=tamat", r.Code, r.Header().Get("Location"))
	}
	if g := b.get(p); g.Code != http.StatusSeeOther {
		t.Fatalf("the two-factor page after: %d, want a redirect to log in", g.Code)
	}
}

// Given two wrong passwords on real IDs and on unknown ones, and a month's
// wait, the third wrong password gets the same answers from both kinds: a
// real account whose owner logged in meanwhile (the run ended) and an
// unknown ID whose imagined owner did (loginprobe.OwnerLogsIn) say "Kata
// Laluan Tidak Tepat"; a real account nobody used and an unknown ID whose
// imagined owner never logs in get the lock notice. Before, every unknown
// ID got the lock notice, which told real IDs in use from unknown ones
// without locking anything.
func TestAWaitDoesNotTellUnknownIDsApart(t *testing.T) {
	w := newWorld(t)
	w.activeUser(master[0])
	w.activeUser(master[1])
	start := w.clk.Now()
	month := start.Add(31 * 24 * time.Hour)
	// Unknown IDs whose imagined owners do and do not log in in the month.
	var activeID, idleID string
	for i := 0; activeID == "" || idleID == ""; i++ {
		id := fmt.Sprintf("8304051%05d", 5000+i)
		logsIn := loginprobe.OwnerLogsIn(w.keyed.ProbeKey(id), start, month)
		switch {
		case logsIn && activeID == "":
			activeID = id
		case !logsIn && idleID == "":
			idleID = id
		}
	}
	ids := []string{sitiIC, activeID, master[1].IC, idleID}
	codes := map[string][]int{}
	for _, id := range ids {
		b := w.browser()
		b.remote = "203.0.113.60:1"
		b.enterID(id)
		for range 2 {
			codes[id] = append(codes[id], b.enterPassword("salah sama sekali").Code)
		}
	}
	w.clk.Add(month.Sub(start))
	w.browser().login(sitiIC, password) // Siti logs in in the month; the other real owner does not
	for _, id := range ids {
		b := w.browser()
		b.remote = "203.0.113.60:1"
		b.enterID(id)
		codes[id] = append(codes[id], b.enterPassword("salah sama sekali").Code)
	}
	used := []int{http.StatusUnauthorized, http.StatusUnauthorized, http.StatusUnauthorized}
	idle := []int{http.StatusUnauthorized, http.StatusUnauthorized, http.StatusLocked}
	if !slices.Equal(codes[sitiIC], used) || !slices.Equal(codes[activeID], used) || !slices.Equal(codes[master[1].IC], idle) || !slices.Equal(codes[idleID], idle) {
		t.Fatalf("real ID in use %v, unknown with an owner %v, real ID unused %v, unknown without %v; want %v, %v, %v, %v",
			codes[sitiIC], codes[activeID], codes[master[1].IC], codes[idleID], used, used, idle, idle)
	}
}
