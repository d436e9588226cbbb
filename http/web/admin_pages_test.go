package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/http/server"
	"github.com/melaka-gov/ispeks/http/web"
	eventsqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	"github.com/melaka-gov/ispeks/infra/security"
	"github.com/melaka-gov/ispeks/projections/accounts"
	"github.com/melaka-gov/ispeks/projections/audit"
)

// TestAdminAndAuditorAreasAreGuarded: staff and auditors get 404 on the
// admin pages (they are not told the area exists), staff and admins get
// 404 on the auditor pages, a privileged session without TOTP is sent to
// the TOTP step (or refused for a POST), and nobody logged out gets in.
func TestAdminAndAuditorAreasAreGuarded(t *testing.T) {
	p := newAdminPortal(t)
	adminPages := []string{"/pentadbir", "/pentadbir?q=siti", "/pentadbir/akaun-dikunci", admAccountURL(admSitiIC), "/pentadbir/import"}
	auditPages := []string{"/audit", "/audit?ic=" + admSitiIC, "/audit/keadaan?ic=" + admSitiIC + "&pada=2026-03-02T10:00", "/audit/eksport.csv?ic=" + admSitiIC, "/audit/integriti?ic=" + admSitiIC}
	head := p.logHead()

	staff := p.newBrowser().as(admSitiIC, "", false)
	staffTOTP := p.newBrowser().as(admSitiIC, "", true)
	auditor := p.auditor()
	admin := p.admin()
	for _, b := range []*admBrowser{staff, staffTOTP, auditor} {
		for _, pg := range adminPages {
			if r := b.get(pg); r.code != http.StatusNotFound {
				t.Errorf("%s as non-admin: %d", pg, r.code)
			}
		}
	}
	for _, b := range []*admBrowser{staff, staffTOTP, admin} {
		for _, pg := range auditPages {
			if r := b.get(pg); r.code != http.StatusNotFound {
				t.Errorf("%s as non-auditor: %d", pg, r.code)
			}
		}
	}
	// A staff member's POST to an admin action, even with their own
	// valid CSRF token, is a 404 and changes nothing.
	tok := staff.csrf("/utama")
	for _, act := range []string{"buka-kunci", "kata-laluan-sementara", "semak-jawapan", "peranan", "set-semula-totp"} {
		r := staff.post(admAccountURL(admSitiIC)+"/"+act, url.Values{"csrf_token": {tok}, "reason": {"x"}, "answer": {"Comot"}, "role": {"admin"}, "op": {"grant"}})
		if r.code != http.StatusNotFound {
			t.Errorf("staff POST %s: %d", act, r.code)
		}
	}
	if r := staff.upload("/pentadbir/import", url.Values{"csrf_token": {tok}}, "a.csv", []byte("ic,name\n")); r.code != http.StatusNotFound {
		t.Errorf("staff upload: %d", r.code)
	}

	// Admin and auditor sessions without a TOTP code go to the TOTP step.
	noTOTP := p.newBrowser().as(admAdminIC, "admin", false)
	r := noTOTP.get(admAccountURL(admSitiIC))
	if r.code != http.StatusSeeOther || r.hdr.Get("Location") != "/login/dua-faktor?next="+url.QueryEscape(admAccountURL(admSitiIC)) {
		t.Fatalf("admin without TOTP: %d %q", r.code, r.hdr.Get("Location"))
	}
	if r := noTOTP.post(admAccountURL(admSitiIC)+"/kata-laluan-sementara", url.Values{"csrf_token": {noTOTP.csrf("/utama")}}); r.code != http.StatusForbidden {
		t.Fatalf("admin POST without TOTP: %d", r.code)
	}
	audNoTOTP := p.newBrowser().as(admAuditorIC, "auditor", false)
	if r := audNoTOTP.get("/audit?ic=" + admSitiIC); r.code != http.StatusSeeOther || !strings.HasPrefix(r.hdr.Get("Location"), "/login/dua-faktor?next=") {
		t.Fatalf("auditor without TOTP: %d %q", r.code, r.hdr.Get("Location"))
	}
	anon := p.newBrowser()
	for _, pg := range append(adminPages, auditPages...) {
		if r := anon.get(pg); r.code != http.StatusSeeOther || r.hdr.Get("Location") != "/?sesi=perlu" {
			t.Errorf("%s logged out: %d %q", pg, r.code, r.hdr.Get("Location"))
		}
	}
	if p.logHead() != head {
		t.Fatal("refused requests appended events")
	}
	// The menus: each role sees its own area only.
	home := admin.get("/utama").body
	admContain(t, "admin menu", home, `href="/pentadbir"`, `href="/pentadbir/import"`)
	admNotContain(t, "admin menu", home, `href="/audit"`)
	home = auditor.get("/utama").body
	admContain(t, "auditor menu", home, `href="/audit"`, `href="/audit/integriti"`)
	admNotContain(t, "auditor menu", home, `href="/pentadbir"`)
}

// TestAdminDepsPartlyWiredRefused: a half-wired admin area stops the
// server at start-up, naming what is missing, instead of serving pages
// that fail later.
func TestAdminDepsPartlyWiredRefused(t *testing.T) {
	p := newAdminPortal(t)
	defer func() {
		r := recover()
		msg, _ := r.(error)
		if msg == nil || !strings.Contains(msg.Error(), "AdminDeps lacks Commands.GrantRole") || !strings.Contains(msg.Error(), "WaitFor") {
			t.Fatalf("recovered %v", r)
		}
	}()
	_, _ = server.New(server.Config{}, server.Deps{Web: web.Deps{Admin: web.AdminDeps{Views: p.views}}})
	t.Fatal("server.New accepted a half-wired admin area")
}

func TestAdminSearch(t *testing.T) {
	p := newAdminPortal(t)
	b := p.admin()

	r := b.get("/pentadbir")
	if r.code != 200 {
		t.Fatalf("search page %d", r.code)
	}
	admContain(t, "search form", r.body, `name="q"`, "Cari Akaun")

	r = b.get("/pentadbir?q=" + url.QueryEscape("791117-04-5671"))
	admContain(t, "IC search", r.body, "Siti Aminah binti Omar", "791117-04-5671", "Aktif", `href="/pentadbir/akaun/791117045671"`)
	r = b.get("/pentadbir?q=" + url.QueryEscape("791117 04 5671")) // spaces for dashes
	admContain(t, "IC search with spaces", r.body, "Siti Aminah binti Omar", `href="/pentadbir/akaun/791117045671"`)
	r = b.get("/pentadbir?q=" + url.QueryEscape("ha ismail"))
	admContain(t, "name search", r.body, "Hafiz bin Ismail", "Belum mendaftar")
	admNotContain(t, "name search", r.body, "Siti Aminah")
	r = b.get("/pentadbir?q=" + url.QueryEscape("nurul"))
	admContain(t, "registered only", r.body, "Nurul Huda binti Rahman", "Berdaftar (belum diaktifkan)")
	r = b.get("/pentadbir?q=zzzz")
	admContain(t, "no match", r.body, "Tiada kakitangan ditemui.")

	// Bad input: the field says why, nothing is searched.
	for q, want := range map[string]string{
		"791317-04-5671":           "tarikh lahir yang sah",
		"791117-18-5671":           "Kod tempat lahir",
		"79111704567":              "12 digit",
		"":                         "Sila isi ruangan ini",
		"s":                        "Terlalu pendek",
		strings.Repeat("a", 10240): "maksimum 100 aksara",
		"siti\x00":                 "aksara yang tidak dibenarkan",
	} {
		r := b.get("/pentadbir?q=" + url.QueryEscape(q))
		if r.code != http.StatusUnprocessableEntity {
			t.Errorf("q=%.20q: %d", q, r.code)
		}
		admContain(t, "bad query "+q[:min(len(q), 12)], r.body, want, `aria-invalid="true"`)
		admNotContain(t, "bad query", r.body, strings.Repeat("a", 101))
	}
	// English.
	r = b.get("/pentadbir?lang=en&q=791317045671")
	admContain(t, "English", r.body, "does not start with a valid date of birth")
}

func TestAdminUnlock(t *testing.T) {
	p := newAdminPortal(t)
	p.lock(admSitiIC)
	b := p.admin()

	r := b.get("/pentadbir/akaun-dikunci")
	admContain(t, "locked list", r.body, "Siti Aminah binti Omar", admAccountURL(admSitiIC))
	admNotContain(t, "locked list", r.body, "Nurul Huda")
	// A next-page link the list did not give says what is wrong with it.
	if bad := b.get("/pentadbir/akaun-dikunci?selepas=bukan-kursor"); bad.code != http.StatusBadRequest {
		t.Errorf("forged cursor: %d", bad.code)
	} else {
		admContain(t, "forged cursor", bad.body, "Pautan ke halaman seterusnya tidak sah")
	}

	page := b.get(admAccountURL(admSitiIC))
	admContain(t, "account page", page.body, "Dikunci", "Buka Kunci Akaun", "Kata laluan tidak tepat", "<td>Gagal</td>", "<td>Dikunci</td>", "192.0.2.7")
	tok := admCSRFRe.FindStringSubmatch(page.body)[1]
	before := len(p.stream(admSitiIC))
	head := p.logHead()

	// Bad input changes nothing.
	for name, form := range map[string]url.Values{
		"missing reason": {"csrf_token": {tok}},
		"blank reason":   {"csrf_token": {tok}, "reason": {"   "}},
		"10 kB reason":   {"csrf_token": {tok}, "reason": {strings.Repeat("x", 10240)}},
		"control chars":  {"csrf_token": {tok}, "reason": {"ok\x07"}},
	} {
		r := b.post(admAccountURL(admSitiIC)+"/buka-kunci", form)
		if r.code != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d", name, r.code)
		}
		admContain(t, name, r.body, `id="f-reason-error"`, "Dikunci")
		admNotContain(t, name, r.body, strings.Repeat("x", 501))
	}
	if r := b.post(admAccountURL(admSitiIC)+"/buka-kunci", url.Values{"reason": {"tiada token"}}); r.code != http.StatusForbidden {
		t.Errorf("no CSRF: %d", r.code)
	}
	if r := b.post("/pentadbir/akaun/791317045671/buka-kunci", url.Values{"csrf_token": {tok}, "reason": {"x"}}); r.code != http.StatusNotFound {
		t.Errorf("malformed IC in the path: %d", r.code)
	}
	if p.logHead() != head || len(p.stream(admSitiIC)) != before {
		t.Fatal("refused unlocks appended events")
	}

	r = b.post(admAccountURL(admSitiIC)+"/buka-kunci", url.Values{"csrf_token": {tok}, "reason": {"Pemanggil disahkan melalui jawapan rahsia"}})
	if r.code != http.StatusSeeOther || r.hdr.Get("Location") != admAccountURL(admSitiIC)+"?selesai=buka-kunci" {
		t.Fatalf("unlock: %d %q", r.code, r.hdr.Get("Location"))
	}
	envs := p.stream(admSitiIC)
	last := envs[len(envs)-1]
	ev, ok := last.Event.(account.AccountUnlocked)
	if !ok || ev.Reason != "Pemanggil disahkan melalui jawapan rahsia" || last.Metadata.Actor != (eventlog.Actor{Kind: eventlog.ActorAdmin, ID: admAdminIC}) || last.Metadata.SourceIP != "192.0.2.10" {
		t.Fatalf("unlock event %+v %+v", last.Event, last.Metadata)
	}
	// Read-your-writes: the page after the redirect shows the new state.
	page = b.get(r.hdr.Get("Location"))
	admContain(t, "after unlock", page.body, "Akaun telah dibuka kunci.", "<strong>Aktif</strong>", "Dibuka kunci", "Pemanggil disahkan")
	admNotContain(t, "after unlock", page.body, "Buka Kunci Akaun")
	if err := p.login(admSitiIC, admSitiPW); err != nil {
		t.Fatalf("Siti after unlock: %v", err)
	}
	// Unlocking again is explained, and appends nothing.
	head = p.logHead()
	r = b.post(admAccountURL(admSitiIC)+"/buka-kunci", url.Values{"csrf_token": {tok}, "reason": {"lagi"}})
	if r.code != http.StatusConflict {
		t.Fatalf("unlock twice: %d", r.code)
	}
	admContain(t, "unlock twice", r.body, "Akaun ini tidak dikunci.")
	if p.logHead() != head {
		t.Fatal("second unlock appended")
	}
}

func TestAdminTemporaryPassword(t *testing.T) {
	p := newAdminPortal(t)
	b := p.admin()
	page := b.get(admAccountURL(admSitiIC))
	admContain(t, "account page", page.body, "Kata Laluan Sementara Baru", "siti.aminah@melaka.gov.my")
	tok := admCSRFRe.FindStringSubmatch(page.body)[1]
	r := b.post(admAccountURL(admSitiIC)+"/kata-laluan-sementara", url.Values{"csrf_token": {tok}})
	if r.code != http.StatusSeeOther {
		t.Fatalf("issue: %d %s", r.code, r.body)
	}
	envs := p.stream(admSitiIC)
	last := envs[len(envs)-1]
	ev, ok := last.Event.(account.TemporaryPasswordIssued)
	if !ok || ev.Reason != account.TempAdmin || last.Metadata.Actor.ID != admAdminIC || last.Metadata.Actor.Kind != eventlog.ActorAdmin {
		t.Fatalf("event %+v %+v", last.Event, last.Metadata)
	}
	temp := p.tempPassword(admSitiIC)
	page = b.get(r.hdr.Get("Location"))
	admContain(t, "after issue", page.body, "Kata laluan sementara baru telah dikeluarkan", "oleh Pentadbir Sistem")
	admNotContain(t, "after issue", page.body, temp, ev.Sealed)
	// The old password still works until the temporary one is used.
	if err := p.login(admSitiIC, admSitiPW); err != nil {
		t.Fatal(err)
	}
	// Someone not registered has no account to act on.
	r = b.post(admAccountURL(admHafizIC)+"/kata-laluan-sementara", url.Values{"csrf_token": {tok}})
	if r.code != http.StatusNotFound {
		t.Fatalf("unregistered: %d", r.code)
	}
	admContain(t, "unregistered", r.body, "belum mendaftar")
}

func TestAdminVerifiesSecretAnswer(t *testing.T) {
	p := newAdminPortal(t)
	b := p.admin()
	page := b.get(admAccountURL(admSitiIC))
	admContain(t, "question shown", page.body, "Apakah nama haiwan peliharaan pertama anda?")
	tok := admCSRFRe.FindStringSubmatch(page.body)[1]

	r := b.checkAnswer(admSitiIC, tok, "  COMOT ")
	if r.code != http.StatusOK {
		t.Fatalf("check: %d", r.code)
	}
	admContain(t, "match", r.body, "Keputusan semakan: Sepadan")
	admNotContain(t, "match", r.body, "COMOT", "Tidak sepadan")
	r = b.checkAnswer(admSitiIC, tok, "Tompok")
	admContain(t, "no match", r.body, "Keputusan semakan: Tidak sepadan")
	admNotContain(t, "no match", r.body, "Tompok", "Comot")

	var verdicts []bool
	for _, e := range p.stream(admSitiIC) {
		if ev, ok := e.Event.(account.SecretAnswerChecked); ok {
			verdicts = append(verdicts, ev.Verified)
			if e.Metadata.Actor != (eventlog.Actor{Kind: eventlog.ActorAdmin, ID: admAdminIC}) {
				t.Errorf("actor %+v", e.Metadata.Actor)
			}
		}
	}
	if len(verdicts) != 2 || !verdicts[0] || verdicts[1] {
		t.Fatalf("recorded verdicts %v", verdicts)
	}

	head := p.logHead()
	r = b.post(admAccountURL(admSitiIC)+"/semak-jawapan", url.Values{"csrf_token": {tok}, "answer": {""}})
	if r.code != http.StatusUnprocessableEntity {
		t.Fatalf("empty answer: %d", r.code)
	}
	admContain(t, "empty answer", r.body, `id="f-answer-error"`)
	r = b.post(admAccountURL(admSitiIC)+"/semak-jawapan", url.Values{"csrf_token": {tok}, "answer": {strings.Repeat("j", 10240)}})
	if r.code != http.StatusUnprocessableEntity || strings.Contains(r.body, strings.Repeat("j", 50)) {
		t.Fatalf("10 kB answer: %d", r.code)
	}
	// Nurul has not activated: no answer to check.
	r = b.post(admAccountURL(admNurulIC)+"/semak-jawapan", url.Values{"csrf_token": {tok}, "answer": {"apa-apa"}})
	if r.code != http.StatusConflict {
		t.Fatalf("not activated: %d", r.code)
	}
	admContain(t, "not activated", r.body, "tiada jawapan rahsia untuk disemak")
	if p.logHead() != head {
		t.Fatal("refused checks appended")
	}
}

func TestAdminRoles(t *testing.T) {
	p := newAdminPortal(t)
	b := p.admin()
	siti := p.newBrowser().as(admSitiIC, "", false)
	tok := b.csrf(admAccountURL(admSitiIC))

	r := b.post(admAccountURL(admSitiIC)+"/peranan", url.Values{"csrf_token": {tok}, "role": {"auditor"}, "op": {"grant"}})
	if r.code != http.StatusSeeOther {
		t.Fatalf("grant: %d %s", r.code, r.body)
	}
	envs := p.stream(admSitiIC)
	if ev, ok := envs[len(envs)-1].Event.(account.RoleGranted); !ok || ev.Role != account.RoleAuditor || envs[len(envs)-1].Metadata.Actor.ID != admAdminIC {
		t.Fatalf("grant event %+v", envs[len(envs)-1])
	}
	page := b.get(r.hdr.Get("Location"))
	admContain(t, "after grant", page.body, "Peranan telah diberi", "Tarik balik peranan: Juruaudit", "Beri peranan: Pentadbir Sistem")

	r = b.post(admAccountURL(admSitiIC)+"/peranan", url.Values{"csrf_token": {tok}, "role": {"auditor"}, "op": {"revoke"}})
	if r.code != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.code)
	}
	envs = p.stream(admSitiIC)
	if _, ok := envs[len(envs)-2].Event.(account.RoleRevoked); !ok {
		t.Fatalf("revoke events %+v", envs[len(envs)-2:])
	}
	if _, ok := envs[len(envs)-1].Event.(account.SessionsEnded); !ok {
		t.Fatalf("revoke events %+v", envs[len(envs)-2:])
	}
	// Siti's session carried the role: it has ended.
	if r := siti.get("/utama"); r.code != http.StatusSeeOther {
		t.Fatalf("Siti's session after revoke: %d", r.code)
	}

	// Nobody grants or removes a role on their own account (the auditor
	// watches the administrators: one who made themselves auditor would
	// watch themselves): no button, and a forged POST is refused with the
	// reason, in Malay and English.
	own := b.get(admAccountURL(admAdminIC))
	admContain(t, "own page", own.body, "Anda tidak boleh memberi atau menarik balik peranan pada akaun anda sendiri: Pentadbir Sistem lain perlu melakukannya.")
	admNotContain(t, "own page", own.body, "Tarik balik peranan:", "Beri peranan:")
	head := p.logHead()
	r = b.post(admAccountURL(admAdminIC)+"/peranan", url.Values{"csrf_token": {tok}, "role": {"admin"}, "op": {"revoke"}})
	if r.code != http.StatusConflict {
		t.Fatalf("own admin role: %d", r.code)
	}
	r = b.post(admAccountURL(admAdminIC)+"/peranan", url.Values{"csrf_token": {tok}, "role": {"auditor"}, "op": {"grant"}})
	if r.code != http.StatusConflict {
		t.Fatalf("granting oneself the auditor role: %d", r.code)
	}
	admContain(t, "own auditor role", r.body, "Anda tidak boleh memberi atau menarik balik peranan pada akaun anda sendiri")
	b.get(admAccountURL(admAdminIC) + "?lang=en")
	r = b.post(admAccountURL(admAdminIC)+"/peranan", url.Values{"csrf_token": {tok}, "role": {"auditor"}, "op": {"grant"}})
	if r.code != http.StatusConflict {
		t.Fatalf("granting oneself the auditor role (English): %d", r.code)
	}
	admContain(t, "own auditor role (English)", r.body, "You cannot grant or remove a role on your own account: another administrator must.")
	b.get(admAccountURL(admAdminIC) + "?lang=ms")
	for _, bad := range []url.Values{
		{"csrf_token": {tok}, "role": {"superuser"}, "op": {"grant"}},
		{"csrf_token": {tok}, "role": {""}, "op": {"grant"}},
		{"csrf_token": {tok}, "role": {strings.Repeat("r", 10240)}, "op": {"grant"}},
	} {
		if r := b.post(admAccountURL(admSitiIC)+"/peranan", bad); r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, `href="#f-role"`) {
			t.Errorf("role %.10q: %d", bad.Get("role"), r.code)
		}
	}
	if r := b.post(admAccountURL(admSitiIC)+"/peranan", url.Values{"csrf_token": {tok}, "role": {"admin"}, "op": {"delete"}}); r.code != http.StatusBadRequest {
		t.Errorf("unknown op: %d", r.code)
	}
	if p.logHead() != head {
		t.Fatal("refused role changes appended")
	}
}

// An administrator whose role was removed after they logged in is refused
// by the command (it checks the log, not the session).
func TestAdminRoleCheckedOnTheLog(t *testing.T) {
	p := newAdminPortal(t)
	b := p.newBrowser().as(admSitiIC, "admin", true) // a session claiming a role the log does not give
	tok := b.csrf(admAccountURL(admNurulIC))
	head := p.logHead()
	r := b.post(admAccountURL(admNurulIC)+"/kata-laluan-sementara", url.Values{"csrf_token": {tok}})
	if r.code != http.StatusForbidden {
		t.Fatalf("forged admin: %d", r.code)
	}
	admContain(t, "forged admin", r.body, "Anda tidak dibenarkan melakukan tindakan ini")
	if p.logHead() != head {
		t.Fatal("appended")
	}
}

// TestConsoleRevokeEndsSessions: `ispeks admin role --remove` runs in the
// console, another process writing the same event log. The portal follows
// the log: the revoked auditor's and administrator's sessions end within
// the read-your-writes bound (2 s by default); another person's stays.
func TestConsoleRevokeEndsSessions(t *testing.T) {
	p := newAdminPortal(t)
	aud, adm, staff := p.auditor(), p.admin(), p.newBrowser().as(admSitiIC, "", false)
	for who, b := range map[string]*admBrowser{"auditor": aud, "admin": adm, "staff": staff} {
		if r := b.get(map[string]string{"auditor": "/audit", "admin": "/pentadbir", "staff": "/utama"}[who]); r.code != http.StatusOK {
			t.Fatalf("%s before: %d", who, r.code)
		}
	}
	p.advance(time.Second) // the console acts after the logins

	// The console: its own handle on the event file, its own handlers.
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	console, err := eventsqlite.Open(ctx, filepath.Join(p.dir, "events.db"), eventsqlite.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer console.Close()
	h := commands.NewAccountHandlers(commands.Runner{Store: console, Registry: p.reg, Now: p.clock}, commands.AccountSecurity{
		Hasher: security.NewArgon2(security.Argon2Params{MemoryKiB: 256, Time: 1, Threads: 1}, 0),
		Sealer: p.sealer, Keyed: p.keyed, TOTP: security.TOTP{}, Secrets: security.Generator{},
	}, commands.AccountPolicy{})
	for ic, role := range map[string]account.Role{admAuditorIC: account.RoleAuditor, admAdminIC: account.RoleAdmin} {
		res, err := h.RevokeRole.Handle(ctx, commands.RevokeRole{Meta: p.meta(eventlog.ActorSystem, "cli:ops"), UserID: ic, Role: role})
		if err != nil || res.Appended == 0 {
			t.Fatalf("console revoke %s: %v %+v", role, err, res)
		}
	}

	deadline := time.Now().Add(2 * time.Second)
	for who, path := range map[string]string{"auditor": "/audit", "admin": "/pentadbir"} {
		b := map[string]*admBrowser{"auditor": aud, "admin": adm}[who]
		for {
			r := b.get(path)
			if r.code == http.StatusSeeOther && r.hdr.Get("Location") == "/?sesi=tamat" {
				break
			}
			if r.code != http.StatusOK || time.Now().After(deadline) {
				t.Fatalf("%s after the console's revoke: %d %s", who, r.code, r.hdr.Get("Location"))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if r := staff.get("/utama"); r.code != http.StatusOK {
		t.Fatalf("another person's session: %d", r.code)
	}
}

// TestLeavingServiceEndsSessions: an administrator who left service (the
// finance system's employee master, another process) loses the session
// that held the role; another person's session stays.
func TestLeavingServiceEndsSessions(t *testing.T) {
	p := newAdminPortal(t)
	adm, staff := p.admin(), p.newBrowser().as(admSitiIC, "", false)
	if r := adm.get("/pentadbir"); r.code != http.StatusOK {
		t.Fatalf("admin before: %d", r.code)
	}
	p.advance(time.Second)

	ctx := context.Background()
	console, err := eventsqlite.Open(ctx, filepath.Join(p.dir, "events.db"), eventsqlite.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer console.Close()
	leave := commands.StaffLeftServiceHandler{Runner: commands.Runner{Store: console, Registry: p.reg, Now: p.clock}}
	if _, err := leave.Handle(ctx, commands.StaffLeftService{Meta: p.meta(eventlog.ActorSystem, "cli:ops"), IC: admAdminIC, Date: "2026-01-31", Reason: "bersara"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		r := adm.get("/pentadbir")
		if r.code == http.StatusSeeOther && r.hdr.Get("Location") == "/?sesi=tamat" {
			break
		}
		if r.code != http.StatusOK || time.Now().After(deadline) {
			t.Fatalf("admin after leaving service: %d %s", r.code, r.hdr.Get("Location"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r := staff.get("/utama"); r.code != http.StatusOK {
		t.Fatalf("another person's session: %d", r.code)
	}
}

func TestAdminResetTOTPNeedsTOTP(t *testing.T) {
	p := newAdminPortal(t)
	b := p.admin()
	tok := b.csrf(admAccountURL(admSitiIC))
	head := p.logHead()
	r := b.post(admAccountURL(admSitiIC)+"/set-semula-totp", url.Values{"csrf_token": {tok}, "totp_reason": {"telefon hilang"}})
	if r.code != http.StatusConflict {
		t.Fatalf("TOTP not on: %d", r.code)
	}
	admContain(t, "TOTP not on", r.body, "Dua faktor tidak aktif pada akaun ini.")
	r = b.post(admAccountURL(admSitiIC)+"/set-semula-totp", url.Values{"csrf_token": {tok}})
	if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, `href="#f-totp_reason"`) {
		t.Fatalf("no reason: %d", r.code)
	}
	// Their own second factor: no form, and a forged POST is refused (a
	// session taken over would trade the owner's authenticator for its own).
	p.enrolTOTP(admAdminIC, "pentadbir sistem melaka")
	head = p.logHead()
	own := b.get(admAccountURL(admAdminIC))
	admContain(t, "own page", own.body, "Anda tidak boleh menetapkan semula pengesahan dua faktor akaun anda sendiri", "ispeks admin totp-reset")
	admNotContain(t, "own page", own.body, `name="totp_reason"`)
	r = b.post(admAccountURL(admAdminIC)+"/set-semula-totp", url.Values{"csrf_token": {tok}, "totp_reason": {"telefon hilang"}})
	if r.code != http.StatusConflict {
		t.Fatalf("own TOTP reset: %d", r.code)
	}
	admContain(t, "own TOTP reset", r.body, "Pentadbir Sistem lain perlu melakukannya")
	if p.logHead() != head {
		t.Fatal("appended")
	}
}

func TestAdminImport(t *testing.T) {
	p := newAdminPortal(t)
	b := p.admin()
	page := b.get("/pentadbir/import")
	admContain(t, "import page", page.body, `enctype="multipart/form-data"`, `type="file"`, "staff_number")
	tok := admCSRFRe.FindStringSubmatch(page.body)[1]

	csv := "No. Pengenalan,Nama,E-mel Rasmi,Jabatan,Jawatan,No. Gaji\r\n" +
		"880808-08-5577,Amin bin Yusof,amin.yusof@melaka.gov.my,Jabatan Pertanian,Pegawai Pertanian,JPN-0101\r\n" +
		"791317-04-0001,Orang Salah,salah@melaka.gov.my,Jabatan Pertanian,Kerani,JPN-0102\r\n" +
		"920101-04-5012,Aishah binti Karim,aishah@gmail.com,Jabatan Pertanian,Kerani,JPN-0103\r\n" +
		"930202-04-5034,Kumar a/l Raju,kumar.raju@melaka.gov.my,Jabatan Pertanian,Pemandu,JPN-0104\r\n"
	r := b.upload("/pentadbir/import", url.Values{"csrf_token": {tok}}, "induk.csv", []byte(csv))
	if r.code != http.StatusUnprocessableEntity {
		t.Fatalf("partly bad file: %d", r.code)
	}
	admContain(t, "report", r.body, "Laporan muat naik: induk.csv", "Sebahagian baris tidak disimpan",
		"<td class=\"num\">3</td>", "<td class=\"num\">4</td>", "No. Pengenalan", "E-mel Rasmi", "Emel bukan emel rasmi kerajaan")
	people, _, err := accounts.FindPeople(t.Context(), p.views, "amin yusof", 10)
	if err != nil || len(people) != 1 {
		t.Fatalf("imported row not in the master: %v %v", people, err)
	}
	if people, _, _ := accounts.FindPeople(t.Context(), p.views, "aishah", 10); len(people) != 0 {
		t.Fatal("a rejected row landed")
	}
	recs, _ := p.events.ReadStream(t.Context(), "employee-930202045034", 1, eventlog.Forwards, 10)
	if len(recs) != 1 || recs[0].Metadata.Actor != (eventlog.Actor{Kind: eventlog.ActorAdmin, ID: admAdminIC}) {
		t.Fatalf("imported row's event %+v", recs)
	}

	head := p.logHead()
	for name, c := range map[string]struct {
		file, content string
		want          string
	}{
		"no file":     {"", "", "Sila pilih fail CSV"},
		"empty":       {"kosong.csv", "", "Fail ini kosong"},
		"no header":   {"x.csv", "\r\n\r\n", "Fail ditolak; tiada data disimpan: fail ini kosong; ia perlu satu baris tajuk dan satu baris bagi setiap kakitangan."},
		"missing col": {"x.csv", "nama,emel\nSiti,siti@melaka.gov.my\n", "Fail ditolak; tiada data disimpan: baris pertama (tajuk) tiada lajur ic, department, post, staff_number."},
		"twice":       {"x.csv", "ic,name,email,department,jabatan,post,staff_number\n", "lajur department dinamakan lebih daripada sekali dalam baris pertama"},
		"utf-16":      {"x.csv", "\xff\xfei\x00c\x00", "fail ini teks UTF-16. Simpan semula sebagai &#34;CSV UTF-8 (Comma delimited)&#34;."},
	} {
		r := b.upload("/pentadbir/import", url.Values{"csrf_token": {tok}}, c.file, []byte(c.content))
		if r.code != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d", name, r.code)
		}
		admContain(t, name, r.body, c.want, `id="f-file-error"`)
		// The refusal in the page's language: not the import's English
		// reason on a Malay page.
		admNotContain(t, name, r.body, "the header", "the file", "column", "UTF-16 text")
	}
	b.get("/pentadbir/import?lang=en")
	r = b.upload("/pentadbir/import", url.Values{"csrf_token": {tok}}, "x.csv", []byte("nama,emel\nSiti,siti@melaka.gov.my\n"))
	admContain(t, "missing col (English)", r.body, "File refused; nothing was saved: the first (header) row lacks the column(s) ic, department, post, staff_number. The first row must name the columns ic, name, email, department, post, staff_number.")
	admNotContain(t, "missing col (English)", r.body, "tiada lajur")
	b.get("/pentadbir/import?lang=ms")
	if r := b.upload("/pentadbir/import", nil, "induk.csv", []byte(csv)); r.code != http.StatusForbidden {
		t.Errorf("upload without CSRF: %d", r.code)
	}
	if p.logHead() != head {
		t.Fatal("refused uploads appended")
	}
	// The same file again appends nothing.
	r = b.upload("/pentadbir/import", url.Values{"csrf_token": {tok}}, "induk.csv", []byte(csv))
	if p.logHead() != head {
		t.Fatal("re-import appended")
	}
	admContain(t, "re-import", r.body, "Tiada perubahan")
}

// TestAdminCatalogKeys: every key the admin and auditor pages build at run
// time exists in both languages.
func TestAdminCatalogKeys(t *testing.T) {
	var keys []string
	for _, k := range audit.Kinds() {
		keys = append(keys, "audit.kind."+string(k))
	}
	for _, o := range []string{accounts.OutcomePasswordAccepted, accounts.OutcomeSecondFactorAccepted, accounts.OutcomeFailed, accounts.OutcomeLocked, accounts.OutcomeUnlocked} {
		keys = append(keys, "admin.outcome."+o)
	}
	for _, d := range []string{
		string(account.FailWrongPassword), string(account.FailLocked), string(account.FailTemporaryExpired),
		string(account.FailWrongSecondFactor), string(account.FailSecondFactorReused), string(account.FailWrongCurrentPassword),
		string(account.TempRegistration), string(account.TempForgot), string(account.TempAdmin),
		string(account.ViaChange), string(account.ViaReset), string(account.RoleAdmin), string(account.RoleAuditor),
		string(account.EndLocked), string(account.EndPasswordChanged), string(account.EndRoleRevoked),
		string(account.EndTOTPDisabled), string(account.EndRequested), string(account.EndActivated),
		"totp", "recovery_code", accounts.ReasonStepUp, accounts.ReasonRecoveryCodeStepUp, "unknown_user_id", "unknown_user_id_locked", "while_locked", "temporary", "verified", "not_verified",
		// the mailer's kinds, the detail of a parked mail sent again
		"account_locked", "password_changed", "email_changed", "email_followed_master", "totp_enabled", "totp_disabled",
	} {
		keys = append(keys, "detail."+d)
	}
	for _, a := range []string{eventlog.ActorUser, eventlog.ActorAdmin, eventlog.ActorClient, eventlog.ActorSystem, eventlog.ActorAnonymous, "other"} {
		keys = append(keys, "audit.actor."+a)
	}
	for _, o := range []string{"created", "updated", "unchanged", "rejected", "failed"} {
		keys = append(keys, "admin.import.outcome."+o)
	}
	for _, k := range keys {
		txt, ok := i18n.Lookup(k)
		if !ok || txt.MS == "" || txt.EN == "" {
			t.Errorf("catalog lacks %s", k)
		}
	}
}

// TestAdminRefusedFormTogglesOnAccountPage: a page drawn in answer to one
// of an account's POST-only actions toggles the language on the account
// page, not on the action (a GET there is a 405): a refused form. (The
// answer check's result is a redirect to the account page.)
func TestAdminRefusedFormTogglesOnAccountPage(t *testing.T) {
	p := newAdminPortal(t)
	p.lock(admSitiIC)
	a := p.admin()
	tok := a.csrf(admAccountURL(admSitiIC))
	for _, c := range []struct {
		action, page string
		form         url.Values
	}{
		{admAccountURL(admSitiIC) + "/buka-kunci", admAccountURL(admSitiIC), url.Values{"reason": {""}}},
		{admAccountURL(admSitiIC) + "/semak-jawapan", admAccountURL(admSitiIC), url.Values{"answer": {""}}},
		{admAccountURL(admSitiIC) + "/peranan", admAccountURL(admSitiIC), url.Values{"role": {"root"}, "op": {"grant"}}},
		{admAccountURL(admNurulIC) + "/buka-kunci", admAccountURL(admNurulIC), url.Values{"reason": {"tidak dikunci"}}},
		{admAccountURL(admNurulIC) + "/set-semula-totp", admAccountURL(admNurulIC), url.Values{"totp_reason": {"x"}}},
		{admAccountURL(admHafizIC) + "/kata-laluan-sementara", admAccountURL(admHafizIC), url.Values{}},
	} {
		c.form.Set("csrf_token", tok)
		r := a.post(c.action, c.form)
		if r.code == http.StatusSeeOther {
			t.Fatalf("POST %s: redirected, want a page", c.action)
		}
		m := langToggleRe.FindStringSubmatch(r.body)
		if m == nil {
			t.Fatalf("POST %s: no toggle", c.action)
		}
		link := strings.ReplaceAll(m[1], "&amp;", "&")
		if want := c.page + "?lang="; !strings.HasPrefix(link, want) {
			t.Errorf("POST %s: toggle %q, want %q", c.action, link, want)
		}
		if g := a.get(link); g.code != http.StatusOK {
			t.Errorf("POST %s: toggle %s → %d", c.action, link, g.code)
		}
	}
}

// TestAccountPagesShowALeavingDateAhead: a leaving date reported ahead of
// time leaves the person in service on the account page and in the search
// until the date begins in Melaka, with the date shown; from then on the
// pages say they are no longer in service.
func TestAccountPagesShowALeavingDateAhead(t *testing.T) {
	p := newAdminPortal(t)
	ctx := context.Background()
	res := p.ok(p.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: p.meta(eventlog.ActorSystem, "test"), IC: admHafizIC, Date: "2026-03-03", Reason: "bersara"}))
	p.caughtUp(res.Position)

	adm := p.admin()
	page := adm.get(admAccountURL(admHafizIC))
	admContain(t, "account page before the date", page.body, "Dalam perkhidmatan", "Ya — Akan keluar perkhidmatan pada 2026-03-03")
	admNotContain(t, "account page before the date", page.body, "Tidak lagi dalam perkhidmatan")
	found := adm.get("/pentadbir?q=hafiz")
	admContain(t, "search before the date", found.body, "(Akan keluar perkhidmatan pada 2026-03-03)")
	admNotContain(t, "search before the date", found.body, "Tidak lagi dalam perkhidmatan")

	p.advance(15 * time.Hour) // 00:00 on 3 March in Melaka
	adm = p.admin()
	admContain(t, "account page on the date", adm.get(admAccountURL(admHafizIC)).body, "Tidak lagi dalam perkhidmatan 2026-03-03")
	admContain(t, "search on the date", adm.get("/pentadbir?q=hafiz").body, "(Tidak lagi dalam perkhidmatan)")
}

// TestAccountPagesDropACancelledLeavingDate: Hafiz's retirement on 3 March
// is cancelled on 2 March. The account page and the search no longer say
// "Akan keluar perkhidmatan pada …", and on 3 March he is still in service.
func TestAccountPagesDropACancelledLeavingDate(t *testing.T) {
	p := newAdminPortal(t)
	ctx := context.Background()
	p.ok(p.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: p.meta(eventlog.ActorSystem, "test"), IC: admHafizIC, Date: "2026-03-03", Reason: "bersara"}))
	res := p.ok(p.h.CancelLeaving.Handle(ctx, commands.CancelLeaving{Meta: p.meta(eventlog.ActorClient, "payroll"), IC: admHafizIC, Reason: "ditangguhkan"}))
	p.caughtUp(res.Position)

	for _, at := range []string{"before the old date", "on the old date"} {
		adm := p.admin()
		page := adm.get(admAccountURL(admHafizIC))
		admContain(t, "account page "+at, page.body, "Dalam perkhidmatan")
		admNotContain(t, "account page "+at, page.body, "Akan keluar perkhidmatan", "Tidak lagi dalam perkhidmatan")
		found := adm.get("/pentadbir?q=hafiz")
		admContain(t, "search "+at, found.body, "Hafiz")
		admNotContain(t, "search "+at, found.body, "Akan keluar perkhidmatan", "Tidak lagi dalam perkhidmatan")
		p.advance(15 * time.Hour) // 00:00 on 3 March in Melaka
	}
}

// TestAdminImportReportsLeaversBack: an uploaded file that still lists
// someone who left service brings them back, and the report counts and
// names those rows apart (an old file would otherwise reinstate leavers
// unnoticed).
func TestAdminImportReportsLeaversBack(t *testing.T) {
	p := newAdminPortal(t)
	b := p.admin()
	leave := commands.StaffLeftServiceHandler{Runner: commands.Runner{Store: p.events, Registry: p.reg, Now: p.clock}}
	if _, err := leave.Handle(t.Context(), commands.StaffLeftService{Meta: p.meta(eventlog.ActorSystem, "cli:ops"), IC: admNurulIC, Date: "2026-01-31", Reason: "bersara"}); err != nil {
		t.Fatal(err)
	}
	page := b.get("/pentadbir/import")
	tok := admCSRFRe.FindStringSubmatch(page.body)[1]
	csv := "No. Pengenalan,Nama,E-mel Rasmi,Jabatan,Jawatan,No. Gaji\r\n" +
		"880808-08-5577,Amin bin Yusof,amin.yusof@melaka.gov.my,Jabatan Pertanian,Pegawai Pertanian,JPN-0101\r\n" +
		"850203-14-5432,Nurul Huda binti Rahman,nurul.huda@melaka.gov.my,Jabatan Kerja Raya,Pembantu Tadbir,JKR-1001\r\n"
	r := b.upload("/pentadbir/import", url.Values{"csrf_token": {tok}}, "lama.csv", []byte(csv))
	if r.code != http.StatusOK {
		t.Fatalf("upload: %d", r.code)
	}
	admContain(t, "report", r.body, "Kembali berkhidmat</th><td class=\"num\">1</td>", "Baru</th><td class=\"num\">1</td>",
		"telah keluar perkhidmatan dan kini kembali", "Baris 3: <span class=\"nowrap\">850203-14-****</span>")
	if strings.Contains(r.body, "850203145432") || strings.Contains(r.body, "850203-14-5432") {
		t.Fatal("the page shows the whole IC number")
	}
}

// TestAdminImportLeavesNoTemporaryFiles: an upload past the memory the
// form parser keeps (8 MiB) is spooled to temporary files. net/http
// removes those only for the request it made, not for the copy the
// middleware passes on (a request ID in its context), so they must go when
// the request ends: otherwise every large upload leaves a copy of the
// employee master (names, IC numbers, e-mail addresses) in the temporary
// directory for good.
func TestAdminImportLeavesNoTemporaryFiles(t *testing.T) {
	p := newAdminPortal(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the form parser spools
	b := p.admin()
	tok := b.csrf("/pentadbir/import")
	srv := httptest.NewServer(p.srv)
	defer srv.Close()

	// Refused at its header (quick), after the whole body was parsed.
	var csv bytes.Buffer
	csv.WriteString("nama,emel\r\n")
	for csv.Len() < 9<<20 {
		csv.WriteString("Amin bin Yusof,amin.yusof@melaka.gov.my\r\n")
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf_token", tok)
	fw, _ := mw.CreateFormFile("file", "induk.csv")
	_, _ = fw.Write(csv.Bytes())
	_ = mw.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/pentadbir/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for _, c := range b.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusForbidden {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	// The server has finished the request once the answer is read; its
	// clean-up runs right after, so allow it a moment.
	deadline := time.Now().Add(5 * time.Second)
	for {
		left, _ := filepath.Glob(filepath.Join(tmp, "multipart-*"))
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the upload left %d temporary file(s): %v", len(left), left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAdminSecretAnswerChecksArePaused: a caller phoning in guesses gets
// account.MaxAnswerMisses wrong answers in a row, then the check is paused
// (even for the right answer: nothing is checked or recorded) and the page
// says so.
func TestAdminSecretAnswerChecksArePaused(t *testing.T) {
	p := newAdminPortal(t)
	b := p.admin()
	page := b.get(admAccountURL(admSitiIC))
	tok := admCSRFRe.FindStringSubmatch(page.body)[1]
	for i := range account.MaxAnswerMisses {
		r := b.checkAnswer(admSitiIC, tok, "teka "+strconv.Itoa(i))
		admContain(t, "wrong answer", r.body, "Keputusan semakan: Tidak sepadan")
	}
	head := p.logHead()
	r := b.post(admAccountURL(admSitiIC)+"/semak-jawapan", url.Values{"csrf_token": {tok}, "answer": {"comot"}})
	if r.code != http.StatusTooManyRequests {
		t.Fatalf("check after %d misses: %d", account.MaxAnswerMisses, r.code)
	}
	admContain(t, "paused", r.body, "Semakan jawapan rahsia akaun ini digantung")
	admNotContain(t, "paused", r.body, "Keputusan semakan")
	if p.logHead() != head {
		t.Fatal("a paused check appended")
	}
}

// TestAdminImportTooLargeSaysTheLimit: a file past the upload limit is
// refused on the upload page, beside the file field, in the page's
// language with the limit and what to do (split it), as a file just under
// the body limit is refused by the import and as the console says it; not
// a bare error page telling the administrator to call the administrator.
func TestAdminImportTooLargeSaysTheLimit(t *testing.T) {
	p := newAdminPortal(t)
	b := p.admin()
	tok := b.csrf("/pentadbir/import")
	head := p.logHead()
	big := "ic,name,email,department,post,staff_number\n" + strings.Repeat("x", 33<<20)
	r := b.upload("/pentadbir/import", url.Values{"csrf_token": {tok}}, "besar.csv", []byte(big))
	if r.code != http.StatusRequestEntityTooLarge {
		t.Fatalf("upload past the limit: %d", r.code)
	}
	admContain(t, "too large", r.body, "Fail ditolak; tiada data disimpan: fail ini melebihi 32 MB; pecahkan kepada beberapa fail.",
		`id="f-file-error"`, `type="file"`)
	if p.logHead() != head {
		t.Fatal("a refused upload appended")
	}
}

// TestAdminAnswerVerdictSurvivesARefresh: the check is a POST that records
// it and redirects (POST → redirect → GET); the page it leads to shows the
// verdict from the administrator's session, so reloading it shows the
// same verdict and checks nothing again. The link alone shows nothing:
// another administrator following it sees no verdict, nor does the page
// without it.
func TestAdminAnswerVerdictSurvivesARefresh(t *testing.T) {
	p := newAdminPortal(t)
	b := p.admin()
	tok := b.csrf(admAccountURL(admSitiIC))
	checks := func() int {
		n := 0
		for _, e := range p.stream(admSitiIC) {
			if _, ok := e.Event.(account.SecretAnswerChecked); ok {
				n++
			}
		}
		return n
	}

	r := b.post(admAccountURL(admSitiIC)+"/semak-jawapan", url.Values{"csrf_token": {tok}, "answer": {"Tompok"}})
	if r.code != http.StatusSeeOther {
		t.Fatalf("check: %d, want 303 to the account page", r.code)
	}
	loc := r.hdr.Get("Location")
	if !strings.HasPrefix(loc, admAccountURL(admSitiIC)+"?") || strings.Contains(loc, "nomatch") || strings.Contains(loc, "Tompok") {
		t.Fatalf("check redirects to %q", loc)
	}
	for i := range 2 {
		g := b.get(loc)
		if g.code != http.StatusOK {
			t.Fatalf("GET %d of %s: %d", i+1, loc, g.code)
		}
		admContain(t, "verdict page", g.body, "Keputusan semakan: Tidak sepadan")
		admNotContain(t, "verdict page", g.body, "Tompok", "Comot")
	}
	if n := checks(); n != 1 {
		t.Fatalf("one POST and two GETs recorded %d checks, want 1", n)
	}
	admNotContain(t, "the page without the link", b.get(admAccountURL(admSitiIC)).body, "Keputusan semakan")
	admNotContain(t, "another administrator following the link", p.admin().get(loc).body, "Keputusan semakan")

	// A later check replaces the verdict: its own link shows it, the
	// earlier link shows none.
	r = b.post(admAccountURL(admSitiIC)+"/semak-jawapan", url.Values{"csrf_token": {tok}, "answer": {"comot"}})
	if r.code != http.StatusSeeOther {
		t.Fatalf("second check: %d", r.code)
	}
	admContain(t, "second verdict", b.get(r.hdr.Get("Location")).body, "Keputusan semakan: Sepadan")
	admNotContain(t, "first link after the second check", b.get(loc).body, "Keputusan semakan")
	// The language toggle keeps the link, and so the verdict.
	m := langToggleRe.FindStringSubmatch(b.get(r.hdr.Get("Location")).body)
	if m == nil {
		t.Fatal("verdict page: no language toggle")
	}
	admContain(t, "verdict page in English", b.get(strings.ReplaceAll(m[1], "&amp;", "&")).body, "Check result: Matches")
	if n := checks(); n != 2 {
		t.Fatalf("%d checks recorded, want 2", n)
	}
}

// checkAnswer posts a secret-answer check of ic's caller and follows its
// redirect to the verdict, as a browser does.
func (b *admBrowser) checkAnswer(ic, tok, answer string) admResult {
	b.p.t.Helper()
	r := b.post(admAccountURL(ic)+"/semak-jawapan", url.Values{"csrf_token": {tok}, "answer": {answer}})
	if r.code != http.StatusSeeOther {
		b.p.t.Fatalf("answer check: %d, want 303", r.code)
	}
	return b.get(r.hdr.Get("Location"))
}
