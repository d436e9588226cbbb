package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/infra/security"
)

var tenKB = strings.Repeat("x", 10*1024)

// badInput is one refused submission: the field and its message must be on
// the page, the status 422, and the event log unchanged.
type badInput struct {
	name  string
	form  url.Values
	field string
	msg   string
}

func (w *world) refuse(t *testing.T, b *browser, page, action string, cases []badInput) {
	t.Helper()
	for _, c := range cases {
		before := w.head()
		r := b.post(page, action, c.form)
		if r.Code != http.StatusUnprocessableEntity {
			t.Errorf("%s %s: status %d, want 422", action, c.name, r.Code)
			continue
		}
		mustContain(t, action+" "+c.name, r.body, `id="f-`+c.field+`-error"`, c.msg)
		if strings.Contains(r.body, tenKB[:300]) {
			t.Errorf("%s %s: the 10 kB value was echoed back", action, c.name)
		}
		if w.head() != before {
			t.Errorf("%s %s: events were appended", action, c.name)
		}
	}
}

func vals(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func TestRegistrationMessages(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	w.refuse(t, b, "/pendaftaran", "/pendaftaran", []badInput{
		{"malformed IC", vals("ic", "7911170456", "email", "siti.aminah@melaka.gov.my"), "ic", "No. Pengenalan mesti 12 digit"},
		{"IC with a bad date", vals("ic", "791317045671", "email", "siti.aminah@melaka.gov.my"), "ic", "6 digit pertama mesti tarikh lahir"},
		{"IC with a bad place code", vals("ic", "791117005671", "email", "siti.aminah@melaka.gov.my"), "ic", "kod tempat lahir"},
		{"wrong domain", vals("ic", sitiIC, "email", "siti.aminah@gmail.com"), "email", "Emel mesti emel rasmi kerajaan (@melaka.gov.my)"},
		{"malformed e-mail", vals("ic", sitiIC, "email", "siti aminah@melaka"), "email", "Alamat emel tidak sah"},
		{"10 kB IC", vals("ic", tenKB, "email", "siti.aminah@melaka.gov.my"), "ic", "Terlalu panjang: maksimum 14 aksara"},
		{"10 kB e-mail", vals("ic", sitiIC, "email", tenKB+"@melaka.gov.my"), "email", "Terlalu panjang: maksimum 254 aksara"},
		{"control character", vals("ic", "791117\x0045671", "email", "siti.aminah@melaka.gov.my"), "ic", "Mengandungi aksara yang tidak dibenarkan"},
		{"right-to-left override", vals("ic", sitiIC, "email", "siti\u202e@melaka.gov.my"), "email", "Mengandungi aksara yang tidak dibenarkan"},
		{"empty", vals("ic", "", "email", ""), "ic", "Sila masukkan No. Pengenalan"},
	})
	r := b.post("/pendaftaran", "/pendaftaran", vals("ic", "", "email", "siti@gmail.com"))
	mustContain(t, "empty IC and wrong domain", r.body, `id="f-ic-error"`, "Emel mesti emel rasmi kerajaan (@melaka.gov.my)")
	// Both filled in and both wrong: both named at once.
	before := w.head()
	r = b.post("/pendaftaran", "/pendaftaran", vals("ic", "7911170456", "email", "siti@gmail.com"))
	if r.Code != http.StatusUnprocessableEntity {
		t.Fatalf("wrong IC and wrong domain: %d", r.Code)
	}
	mustContain(t, "wrong IC and wrong domain", summaryOf(t, r.body), "No. Pengenalan: No. Pengenalan mesti 12 digit",
		"Emel Rasmi Kerajaan: Emel mesti emel rasmi kerajaan (@melaka.gov.my)")
	mustContain(t, "wrong IC and wrong domain", r.body, `id="f-ic-error"`, `id="f-email-error"`)
	if w.head() != before {
		t.Fatal("a refused registration appended events")
	}

	// Not in the master, or the e-mail is not the master's: the manual's
	// message with the helpdesk lines; nothing recorded.
	for _, f := range []url.Values{
		vals("ic", unknownIC, "email", "someone@melaka.gov.my"),
		vals("ic", sitiIC, "email", "other.person@melaka.gov.my"),
	} {
		before := w.head()
		r := b.post("/pendaftaran", "/pendaftaran", f)
		if r.Code != http.StatusUnprocessableEntity {
			t.Fatalf("not registrable: %d", r.Code)
		}
		mustContain(t, "not registrable", r.body, "Pengguna Tidak Dapat Didaftarkan, Sila Hubungi Pentadbir Sistem",
			"En. Mohd Fadzlezam Bin Sulaiman", "06-2307290", "Pn. Noorazlinda binti Jumaat", "Pn. Norasikin binti Salam", "06-2307594", "En. Amirudin bin Zainal")
		if w.head() != before {
			t.Fatal("a refused registration appended events")
		}
	}

	// Success, then again: already registered, pointing to Lupa Kata Laluan.
	w.register(b, master[0])
	r = b.post("/pendaftaran", "/pendaftaran", vals("ic", sitiIC, "email", "siti.aminah@melaka.gov.my"))
	if r.Code != http.StatusConflict {
		t.Fatalf("already registered: %d", r.Code)
	}
	mustContain(t, "already registered", r.body, "ID Pengguna ini telah didaftarkan", `href="/lupa-kata-laluan"`)
}

func TestLoginFormMessages(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	w.refuse(t, b, "/", "/login", []badInput{
		{"malformed ID", vals("user_id", "12345"), "user_id", "No. Pengenalan mesti 12 digit"},
		{"bad date", vals("user_id", "791399045671"), "user_id", "tarikh lahir"},
		{"10 kB", vals("user_id", tenKB), "user_id", "Terlalu panjang"},
		{"control character", vals("user_id", "791117\n045671"), "user_id", "Mengandungi aksara yang tidak dibenarkan"},
		{"empty", vals("user_id", ""), "user_id", "Sila masukkan ID Pengguna"},
	})
	b.enterID(sitiIC)
	w.refuse(t, b, "/login/kata-laluan", "/login/kata-laluan", []badInput{
		{"empty password", vals("password", ""), "password", "Sila masukkan kata laluan"},
		{"10 kB password", vals("password", tenKB), "password", "Terlalu panjang"},
		{"control character", vals("password", "abc\x07def"), "password", "Mengandungi aksara yang tidak dibenarkan"},
	})
	// The password page without a user ID step goes back to the start.
	if r := w.browser().get("/login/kata-laluan"); r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/" {
		t.Fatalf("password page without step 1: %d %s", r.Code, r.Header().Get("Location"))
	}
	if r := w.browser().get("/pengaktifan"); r.Code != http.StatusSeeOther {
		t.Fatalf("activation without a temporary login: %d", r.Code)
	}
}

func TestActivationMessages(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	temp := w.register(b, master[0])
	b.enterID(sitiIC)
	if r := b.enterPassword(temp); r.Header().Get("Location") != "/pengaktifan" {
		t.Fatalf("temporary password: %d", r.Code)
	}
	// Every field of the form is required, the picture gallery too.
	page := b.get("/pengaktifan").body
	mustContain(t, "activation page", page, `Imej Online <span class="field__req">(wajib)</span></legend>`, `<select class="field__input" id="f-phrase" name="phrase" required`)
	// The phrase is chosen from phrases of the decoys' catalogue.
	offered := regexp.MustCompile(`<option value="([^"]+)">`).FindAllStringSubmatch(page[strings.Index(page, `id="f-phrase"`):], -1)
	if len(offered) < 8 {
		t.Fatalf("the activation page offers %d phrases", len(offered))
	}
	for _, o := range offered[:8] {
		if !account.ValidPhrase(o[1]) {
			t.Fatalf("offered phrase %q is not the catalogue's", o[1])
		}
	}
	good := func(kv ...string) url.Values {
		v := vals("password", password, "confirm_password", password, "question", "kerja-pertama",
			"answer", "Pejabat Pos Ayer Keroh", "image", "teko", "phrase", "Teh Harum")
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	w.refuse(t, b, "/pengaktifan", "/pengaktifan", []badInput{
		{"mismatched confirmation", good("confirm_password", password+"x"), "confirm_password", "Tidak sama dengan Kata Laluan Baru"},
		{"short password", good("password", "pendek", "confirm_password", "pendek"), "password", "sekurang-kurangnya 8 aksara"},
		{"common password", good("password", "password123", "confirm_password", "password123"), "password", "terlalu biasa"},
		{"password with the IC", good("password", "x"+sitiIC, "confirm_password", "x"+sitiIC), "password", "tidak boleh mengandungi No. Pengenalan"},
		{"10 kB password", good("password", tenKB, "confirm_password", tenKB), "password", "Kata laluan terlalu panjang: maksimum 128 aksara"},
		{"no question", good("question", ""), "question", "Sila pilih satu soalan rahsia"},
		{"unknown question", good("question", "warna-kegemaran"), "question", "Sila pilih satu soalan rahsia"},
		{"short answer", good("answer", "a"), "answer", "Jawapan rahsia mesti sekurang-kurangnya 2 aksara"},
		{"answer is the IC", good("answer", sitiIC), "answer", "Jawapan rahsia tidak boleh mengandungi No. Pengenalan"},
		{"no image", good("image", ""), "image", "Sila pilih satu imej"},
		{"unknown image", good("image", "gajah"), "image", "Sila pilih satu imej"},
		{"short phrase", good("phrase", "ab"), "phrase", "Frasa rahsia mesti 4 hingga 60 aksara"},
		{"10 kB phrase", good("phrase", tenKB), "phrase", "Terlalu panjang"},
		{"no phrase", good("phrase", ""), "phrase", "Sila pilih satu frasa rahsia"},
		// A phrase typed rather than chosen: the password page would tell
		// this ID from an unknown one, whose decoy is always a catalogue
		// phrase.
		{"phrase not offered", good("phrase", "Kopi Pagi Melaka"), "phrase", "Sila pilih satu frasa rahsia daripada senarai"},
		{"control character in the answer", good("answer", "Cikgu\x1bRosnah"), "answer", "Mengandungi aksara yang tidak dibenarkan"},
	})
	// Several errors at once: each beside its field.
	r := b.post("/pengaktifan", "/pengaktifan", good("confirm_password", "lain", "image", "gajah", "phrase", "ab"))
	mustContain(t, "several errors", r.body, `id="f-confirm_password-error"`, `id="f-image-error"`, `id="f-phrase-error"`, "Terdapat masalah pada borang")
	mustNotContain(t, "several errors", r.body, password) // passwords are never echoed
	// A missing field does not hide the other fields' problems.
	r = b.post("/pengaktifan", "/pengaktifan", good("password", "pendek", "confirm_password", "pendek", "image", "", "phrase", "ab"))
	mustContain(t, "missing and bad fields", r.body, "sekurang-kurangnya 8 aksara", `id="f-image-error"`, "Frasa rahsia mesti 4 hingga 60 aksara")
	if r := b.post("/pengaktifan", "/pengaktifan", good()); r.Header().Get("Location") != "/utama" {
		t.Fatalf("activation: %d %s", r.Code, r.body)
	}
}

// TestForgotPassword: the same answer for every IC; an active account gets
// a mail; the temporary password leads to a new password; the old one
// keeps working until then and not after.
func TestForgotPassword(t *testing.T) {
	w := newWorld(t)
	other := w.activeUser(master[0]) // a session the reset must end
	registered := w.browser()
	w.register(registered, master[3]) // registered, not activated

	var pages []string
	for _, ic := range []string{sitiIC, unknownIC, aminIC, "850203-14-5432"} {
		b := w.browser()
		page := b.get("/lupa-kata-laluan")
		mustContain(t, "forgot form", page.body, "Lupa Kata Laluan", "No. Pengenalan", ">Hantar<")
		sent := b.follow(w.forgot(b, ic))
		mustContain(t, "forgot answer", sent.body, "Permintaan anda telah diterima")
		pages = append(pages, normal(sent.body))
	}
	for i := range pages {
		if pages[i] != pages[0] {
			t.Fatalf("forgot-password answer %d differs", i)
		}
	}
	w.refuse(t, w.browser(), "/lupa-kata-laluan", "/lupa-kata-laluan", []badInput{
		{"malformed IC", vals("ic", "abc"), "ic", "No. Pengenalan mesti 12 digit"},
		{"10 kB", vals("ic", tenKB), "ic", "Terlalu panjang"},
		{"control character", vals("ic", "7911170\t45671"), "ic", "Mengandungi aksara yang tidak dibenarkan"},
	})

	b := w.browser()
	temp := w.mailFor(b, sitiIC, "kata laluan sementara baharu", 0)
	// The current password still works until the temporary one is used.
	w.browser().login(sitiIC, password)

	b.enterID(sitiIC)
	r := b.enterPassword(temp)
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/login/kata-laluan-baru" {
		t.Fatalf("temporary password on an active account: %d %s", r.Code, r.Header().Get("Location"))
	}
	mustContain(t, "reset page", b.follow(r).body, "Tetapkan Kata Laluan Baru", "Kata Laluan Baru", "Sah Kata Laluan Baru", ">Simpan<")
	w.refuse(t, b, "/login/kata-laluan-baru", "/login/kata-laluan-baru", []badInput{
		{"mismatch", vals("password", "Bunga Raya Kembang 9", "confirm_password", "Bunga Raya Kembang"), "confirm_password", "Tidak sama dengan Kata Laluan Baru"},
		{"short", vals("password", "abc", "confirm_password", "abc"), "password", "sekurang-kurangnya 8 aksara"},
		{"10 kB", vals("password", tenKB, "confirm_password", tenKB), "password", "Kata laluan terlalu panjang: maksimum 128 aksara"},
	})
	r = b.post("/login/kata-laluan-baru", "/login/kata-laluan-baru", vals("password", "Bunga Raya Kembang 9", "confirm_password", "Bunga Raya Kembang 9"))
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/utama?kata-laluan=ditukar" {
		t.Fatalf("reset: %d %s %s", r.Code, r.Header().Get("Location"), r.body)
	}
	mustContain(t, "home after reset", b.follow(r).body, "Siti Aminah binti Omar")
	if r := other.get("/utama"); r.Code != http.StatusSeeOther {
		t.Fatalf("another session survived the password reset: %d", r.Code)
	}
	o := w.browser()
	o.enterID(sitiIC)
	if r := o.enterPassword(password); r.Code != http.StatusUnauthorized {
		t.Fatalf("old password after the reset: %d", r.Code)
	}
	w.browser().login(sitiIC, "Bunga Raya Kembang 9")
}

// TestExpiredTemporaryPassword: the right temporary password after 24 h
// points to Lupa Kata Laluan. The page that answers there must not say the
// mail goes only to an active account (this one is not activated yet),
// and the new temporary password does reach them and leads to Aktif.
func TestExpiredTemporaryPassword(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	temp := w.register(b, master[0])
	w.clk.Add(25 * time.Hour)
	b.enterID(sitiIC)
	r := b.enterPassword(temp)
	if r.Code != http.StatusUnauthorized {
		t.Fatalf("expired temporary password: %d", r.Code)
	}
	mustContain(t, "expired", r.body, "Kata laluan sementara telah tamat tempoh", "Lupa Kata Laluan", `href="/lupa-kata-laluan"`)

	r = b.post("/lupa-kata-laluan", "/lupa-kata-laluan", url.Values{"ic": {"791117-04-5671"}})
	if r.Code != http.StatusSeeOther {
		t.Fatalf("Lupa Kata Laluan: %d %s", r.Code, r.body)
	}
	sent := b.follow(r)
	mustContain(t, "sent", sent.body, "Permintaan anda telah diterima. Jika ID Pengguna ini berdaftar dan tidak disekat, kata laluan sementara telah dihantar")
	mustNotContain(t, "sent", sent.body, "berdaftar dan aktif")
	temp = w.mailFor(b, sitiIC, "kata laluan sementara baharu", 0)
	b.enterID(sitiIC)
	r = b.enterPassword(temp)
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/pengaktifan" {
		t.Fatalf("new temporary password of an account not yet activated: %d %s", r.Code, r.Header().Get("Location"))
	}
	b.get("/lupa-kata-laluan?lang=en")
	mustContain(t, "sent (English)", b.get("/lupa-kata-laluan?hantar=1").body, "If this User ID is registered and not blocked")
}

func TestProfile(t *testing.T) {
	w := newWorld(t)
	b := w.activeUser(master[0])
	page := b.get("/tetapan-akaun/kemaskini-maklumat")
	mustContain(t, "profile", page.body, "Kemaskini Maklumat Pengguna", "Siti Aminah binti Omar", "Jabatan Kewangan dan Perbendaharaan Negeri Melaka",
		`value="siti.aminah@melaka.gov.my"`, "No. Telefon", "Pejabat", ">Simpan<")
	base := func(kv ...string) url.Values {
		v := vals("phone", "06-2307290", "office", "Aras 3, Seri Negeri", "email", "siti.aminah@melaka.gov.my")
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	const p = "/tetapan-akaun/kemaskini-maklumat"
	w.refuse(t, b, p, p, []badInput{
		{"bad phone", base("phone", "12ab"), "phone", "No. telefon mesti 7 hingga 15 digit"},
		{"short phone", base("phone", "123"), "phone", "No. telefon mesti 7 hingga 15 digit"},
		{"wrong domain", base("email", "siti@yahoo.com", "current_password", password), "email", "Emel mesti emel rasmi kerajaan (@melaka.gov.my)"},
		{"10 kB office", base("office", tenKB), "office", "Terlalu panjang"},
		{"control character", base("office", "Aras\x003"), "office", "Mengandungi aksara yang tidak dibenarkan"},
		{"e-mail change without the password", base("email", "siti.omar@melaka.gov.my"), "current_password", "Sila masukkan kata laluan semasa untuk menukar emel"},
	})
	r := b.post(p, p, base())
	if r.Code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.Code, r.body)
	}
	saved := b.follow(r)
	mustContain(t, "saved", saved.body, "Maklumat anda telah dikemaskini.", `value="06-2307290"`, `value="Aras 3, Seri Negeri"`)
	// A wrong current password on an e-mail change counts as a failure.
	r = b.post(p, p, base("email", "siti.omar@melaka.gov.my", "current_password", "salah"))
	if r.Code != http.StatusUnauthorized {
		t.Fatalf("wrong current password: %d", r.Code)
	}
	mustContain(t, "wrong current password", r.body, `id="f-current_password-error"`, "Kata Laluan Tidak Tepat")
	if v := w.accountView(sitiIC); v.FailedAttempts != 1 || v.Email != "siti.aminah@melaka.gov.my" {
		t.Fatalf("after a wrong current password: %+v", v)
	}
	r = b.post(p, p, base("email", "siti.omar@melaka.gov.my", "current_password", password))
	if r.Code != http.StatusSeeOther {
		t.Fatalf("e-mail change: %d %s", r.Code, r.body)
	}
	mustContain(t, "e-mail changed", b.follow(r).body, `value="siti.omar@melaka.gov.my"`)
}

func TestChangePassword(t *testing.T) {
	w := newWorld(t)
	b := w.activeUser(master[0])
	other := w.browser()
	other.login(sitiIC, password)
	const p = "/tetapan-akaun/tukar-kata-laluan"
	page := b.get(p)
	mustContain(t, "change password", page.body, "Tukar Kata Laluan", "Kata Laluan Lama", "Kata Laluan Baru", "Sah Kata Laluan Baru", ">Simpan<")
	const np = "Ombak Pantai Klebang 4"
	w.refuse(t, b, p, p, []badInput{
		{"mismatch", vals("old_password", password, "password", np, "confirm_password", np+"!"), "confirm_password", "Tidak sama dengan Kata Laluan Baru"},
		{"short", vals("old_password", password, "password", "abc12", "confirm_password", "abc12"), "password", "sekurang-kurangnya 8 aksara"},
		{"10 kB", vals("old_password", password, "password", tenKB, "confirm_password", tenKB), "password", "Kata laluan terlalu panjang: maksimum 128 aksara"},
		{"no old password", vals("old_password", "", "password", np, "confirm_password", np), "old_password", "Sila masukkan Kata Laluan Lama"},
		{"control character", vals("old_password", password, "password", "abc\x00defgh", "confirm_password", "abc\x00defgh"), "password", "Mengandungi aksara yang tidak dibenarkan"},
	})
	r := b.post(p, p, vals("old_password", "salah", "password", np, "confirm_password", np))
	if r.Code != http.StatusUnauthorized {
		t.Fatalf("wrong old password: %d", r.Code)
	}
	mustContain(t, "wrong old password", r.body, `id="f-old_password-error"`, "Kata Laluan Tidak Tepat")
	r = b.post(p, p, vals("old_password", password, "password", np, "confirm_password", np))
	if r.Code != http.StatusSeeOther {
		t.Fatalf("change: %d %s", r.Code, r.body)
	}
	mustContain(t, "changed", b.follow(r).body, "Kata laluan anda telah ditukar.")
	if r := b.get("/utama"); r.Code != 200 {
		t.Fatalf("this session ended with the change: %d", r.Code)
	}
	if r := other.get("/utama"); r.Code != http.StatusSeeOther {
		t.Fatalf("the other session survived the change: %d", r.Code)
	}
	w.browser().login(sitiIC, np)
	// The change is mailed to the person (the demo mailbox shows the outbox).
	w.eventually("the password-changed notice", func() bool {
		return strings.Contains(b.get("/demo/mailbox").body, "kata laluan ditukar / password changed — Siti Aminah binti Omar")
	})
}

// TestChangePasswordKeepsTheLoginsLifetime: the session a password change
// continues under a new token still ends 12 hours after its login, as
// every session does; before, it began a new 12 hours, so changing the
// password now and then kept one login (and its two-factor step) alive
// for good.
func TestChangePasswordKeepsTheLoginsLifetime(t *testing.T) {
	w := newWorld(t)
	b := w.activeUser(master[0])
	loggedIn := w.clk.Now()
	keepBusy := func(until time.Duration) {
		t.Helper()
		for w.clk.Now().Before(loggedIn.Add(until)) {
			w.clk.Add(20 * time.Minute)
			if r := b.get("/utama"); r.Code != http.StatusOK {
				t.Fatalf("%s after the login, well inside the idle timeout: %d", w.clk.Now().Sub(loggedIn), r.Code)
			}
		}
	}
	keepBusy(11 * time.Hour)
	const p = "/tetapan-akaun/tukar-kata-laluan"
	b.get(p)
	const np = "Ombak Pantai Klebang 4"
	if r := b.post(p, p, vals("old_password", password, "password", np, "confirm_password", np)); r.Code != http.StatusSeeOther {
		t.Fatalf("change: %d %s", r.Code, r.body)
	}
	keepBusy(12*time.Hour - 20*time.Minute)
	w.clk.Add(21 * time.Minute)
	if r := b.get("/utama"); r.Code != http.StatusSeeOther {
		t.Fatalf("%s after the login (the password changed at 11 h): %d, want the session ended", w.clk.Now().Sub(loggedIn), r.Code)
	}
}

func TestTOTPFormMessages(t *testing.T) {
	w := newWorld(t)
	b := w.activeUser(master[0])
	const p = "/tetapan-akaun/dua-faktor"
	mustContain(t, "two-factor page", b.get(p).body, `name="current_password"`, `autocomplete="current-password"`)
	// A session alone does not enrol an authenticator (a stolen one would
	// hold the account with it): the current password comes first.
	w.refuse(t, b, p, p+"/mula", []badInput{
		{"no password", nil, "current_password", "Sila masukkan kata laluan semasa untuk mengaktifkan dua faktor"},
		{"10 kB password", vals("current_password", tenKB), "current_password", "Terlalu panjang"},
	})
	b.get(p + "?lang=en")
	w.refuse(t, b, p, p+"/mula", []badInput{
		{"no password (English)", nil, "current_password", "Enter your current password to enable two-factor"},
	})
	b.get(p + "?lang=ms")
	r := b.post(p, p+"/mula", vals("current_password", "salah"))
	if r.Code != http.StatusUnauthorized || strings.Contains(r.body, `name="sealed"`) {
		t.Fatalf("wrong current password: %d", r.Code)
	}
	mustContain(t, "wrong current password", r.body, `id="f-current_password-error"`, "Kata Laluan Tidak Tepat",
		"Setiap kesilapan di sini dikira sebagai percubaan log masuk yang gagal")
	if v := w.accountView(sitiIC); v.FailedAttempts != 1 || v.TOTP {
		t.Fatalf("after a wrong current password: %+v", v)
	}
	r = b.post(p, p+"/mula", vals("current_password", password))
	if strings.Contains(r.body, password) {
		t.Fatal("the enrolment page wrote the password back")
	}
	sealed := regexp.MustCompile(`name="sealed" value="([^"]+)"`).FindStringSubmatch(r.body)
	if sealed == nil {
		t.Fatalf("enrolment page: %d", r.Code)
	}
	w.refuse(t, b, "/tetapan-akaun/dua-faktor", "/tetapan-akaun/dua-faktor/sahkan", []badInput{
		{"empty code", vals("code", "", "sealed", sealed[1]), "code", "Sila isi ruangan ini"},
		{"10 kB code", vals("code", tenKB, "sealed", sealed[1]), "code", "Terlalu panjang"},
		{"control character", vals("code", "12\x0034", "sealed", sealed[1]), "code", "Mengandungi aksara yang tidak dibenarkan"},
	})
}

// TestDemoMailboxOnlyInDemoMode: without demo mode there is no mailbox.
func TestDemoMailboxOnlyInDemoMode(t *testing.T) {
	w := newWorldWith(t, worldOpts{demo: false})
	b := w.browser()
	if r := b.get("/demo/mailbox"); r.Code != http.StatusNotFound {
		t.Fatalf("mailbox outside demo mode: %d", r.Code)
	}
	d := newWorld(t)
	if r := d.browser().get("/demo/mailbox/../../events.db"); r.Code != http.StatusNotFound {
		t.Fatalf("path trick: %d", r.Code)
	}
	if r := d.browser().get("/demo/mailbox/20260101T000000Z-0000000000000000"); r.Code != http.StatusNotFound {
		t.Fatalf("unknown mail: %d", r.Code)
	}
}

// TestRecoveryCodesReplacedOnThePage: Dua Faktor with TOTP on offers ten
// new recovery codes for a current authenticator code. Bad input changes
// nothing; a wrong code counts towards the lock and says so; the right one
// shows the new codes once, and the earlier ones are gone.
func TestRecoveryCodesReplacedOnThePage(t *testing.T) {
	w := newWorld(t)
	b := w.activeUser(master[0])
	const p = "/tetapan-akaun/dua-faktor"
	r := b.post(p, p+"/mula", vals("current_password", password))
	secret := regexp.MustCompile(`<code class="secret">([^<]+)</code>`).FindStringSubmatch(r.body)
	sealed := regexp.MustCompile(`name="sealed" value="([^"]+)"`).FindStringSubmatch(r.body)
	if secret == nil || sealed == nil {
		t.Fatalf("enrolment page: %d", r.Code)
	}
	key := strings.ReplaceAll(secret[1], " ", "")
	code, _ := security.TOTP{}.Code(key, w.clk.Now())
	// Typed as the authenticator shows it.
	r = b.post(p, p+"/sahkan", vals("code", code[:3]+" "+code[3:], "sealed", sealed[1]))
	codeRe := regexp.MustCompile(`<li><code>([^<]+)</code></li>`)
	first := codeRe.FindAllStringSubmatch(r.body, -1)
	if r.Code != http.StatusOK || len(first) != 10 {
		t.Fatalf("confirmation: %d, %d codes", r.Code, len(first))
	}
	w.clk.Add(time.Minute)
	page := b.get(p)
	mustContain(t, "two-factor page", page.body, "Kod Pemulihan Baharu", "Jana Kod Pemulihan Baharu", `action="/tetapan-akaun/dua-faktor/kod-pemulihan-baharu"`)
	w.refuse(t, b, p, p+"/kod-pemulihan-baharu", []badInput{
		{"empty code", vals("code", ""), "code", "Sila isi ruangan ini"},
		{"10 kB code", vals("code", tenKB), "code", "Terlalu panjang"},
		{"control character", vals("code", "12\x0034"), "code", "Mengandungi aksara yang tidak dibenarkan"},
	})
	r = b.post(p, p+"/kod-pemulihan-baharu", vals("code", "000000"))
	if r.Code != http.StatusUnauthorized {
		t.Fatalf("wrong code: %d", r.Code)
	}
	mustContain(t, "wrong code", r.body, `id="f-code-error"`, "Setiap kesilapan di sini dikira sebagai percubaan log masuk yang gagal")
	if v := w.accountView(sitiIC); v.FailedAttempts != 1 || v.RecoveryLeft != 10 {
		t.Fatalf("after a wrong code: %+v", v)
	}
	code, _ = security.TOTP{}.Code(key, w.clk.Now())
	// Typed as the authenticator shows it ("123 456"), as the login's code
	// step takes it: not a wrong code counted towards the lock.
	r = b.post(p, p+"/kod-pemulihan-baharu", vals("code", code[:3]+" "+code[3:]))
	fresh := codeRe.FindAllStringSubmatch(r.body, -1)
	if r.Code != http.StatusOK || len(fresh) != 10 {
		t.Fatalf("new codes: %d, %d codes", r.Code, len(fresh))
	}
	mustContain(t, "new codes", r.body, "Sepuluh kod pemulihan baharu telah dijana")
	// The right code ended the run of failures, as at login.
	if v := w.accountView(sitiIC); v.FailedAttempts != 0 || v.RecoveryLeft != 10 {
		t.Fatalf("after the right code: %+v", v)
	}
	for _, f := range fresh {
		for _, o := range first {
			if f[1] == o[1] {
				t.Fatalf("a new code is an old one: %s", f[1])
			}
		}
	}
	// Shown once: the page after it lists none.
	if again := b.get(p); len(codeRe.FindAllString(again.body, -1)) != 0 {
		t.Fatal("the two-factor page shows the codes again")
	}
	// The same code again is refused (made a moment ago, not counted: see
	// TestSecondFactorFormSentTwice).
	if r := b.post(p, p+"/kod-pemulihan-baharu", vals("code", code)); r.Code != http.StatusConflict || len(codeRe.FindAllString(r.body, -1)) != 0 {
		t.Fatalf("the same code again: %d", r.Code)
	}
}
