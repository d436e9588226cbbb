package web_test

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/projections/audit"
)

// auditStory: two attempts on Hafiz's ID while it has no account; Siti
// locked by three wrong passwords; the right password refused while
// locked; the administrator unlocks through the admin page; Siti logs in.
// Returns when the lock and the unlock happened.
func auditStory(t *testing.T, p *adminPortal) (lockedAt, unlockedAt time.Time) {
	t.Helper()
	for range 2 {
		if err := p.login(admHafizIC, "teka"); !errors.Is(err, account.ErrWrongPassword) {
			t.Fatal(err)
		}
	}
	p.advance(time.Hour)
	p.lock(admSitiIC)
	lockedAt = p.clock().Add(-time.Minute) // lock() advances a minute after each attempt
	p.advance(time.Hour)
	if err := p.login(admSitiIC, admSitiPW); !errors.Is(err, account.ErrLocked) {
		t.Fatal(err)
	}
	p.advance(time.Hour)
	unlockedAt = p.clock()
	b := p.admin()
	tok := b.csrf(admAccountURL(admSitiIC))
	if r := b.post(admAccountURL(admSitiIC)+"/buka-kunci", url.Values{"csrf_token": {tok}, "reason": {"=cmd|' /C calc'!A0 disahkan"}}); r.code != http.StatusSeeOther {
		t.Fatalf("unlock: %d", r.code)
	}
	p.advance(time.Hour)
	if err := p.login(admSitiIC, admSitiPW); err != nil {
		t.Fatal(err)
	}
	return lockedAt, unlockedAt
}

// inOrder reports whether subs appear in body in that order.
func inOrder(body string, subs ...string) bool {
	at := 0
	for _, s := range subs {
		i := strings.Index(body[at:], s)
		if i < 0 {
			return false
		}
		at += i + len(s)
	}
	return true
}

func TestAuditTimeline(t *testing.T) {
	p := newAdminPortal(t)
	auditStory(t, p)
	b := p.auditor()
	head := p.logHead()

	r := b.get("/audit")
	admContain(t, "blank form", r.body, `name="ic"`, `name="dari"`, `name="hingga"`, `name="semua"`)
	r = b.get("/audit?ic=" + url.QueryEscape("791117-04-5671"))
	if r.code != http.StatusOK {
		t.Fatalf("timeline: %d", r.code)
	}
	tbody := r.body[strings.Index(r.body, "<tbody>"):]
	if !inOrder(tbody, "Log masuk berjaya", "Log masuk gagal", "Kata laluan tidak tepat", "Log masuk gagal", "Log masuk gagal",
		"<strong>Akaun dikunci</strong>", "Log masuk gagal", "Akaun dikunci", "<strong>Akaun dibuka kunci</strong>", "disahkan", "Pentadbir Sistem 750101-04-5001", "Log masuk berjaya") {
		t.Fatalf("timeline out of order:\n%s", tbody)
	}
	admContain(t, "timeline", r.body, "Integriti sah: setiap peristiwa yang disimpan sepadan", "Dikunci<br><small>Gagal berturut-turut: 3</small>", "192.0.2.10", "/audit/eksport.csv?", "/audit/keadaan?ic=791117045671")
	admNotContain(t, "login only", r.body, "Pendaftaran</td>", "Kata laluan sementara dikeluarkan")
	if strings.Count(tbody, "Log masuk gagal") != 4 {
		t.Fatalf("%d failures shown", strings.Count(tbody, "Log masuk gagal"))
	}

	all := b.get("/audit?semua=1&ic=" + admSitiIC)
	admContain(t, "every event", all.body, "Pendaftaran", "Kata laluan sementara dikeluarkan", "Akaun diaktifkan", "Semua sesi ditamatkan", `name="semua" value="1" checked`)

	// Hafiz's attempts before he had an account come from the login probe.
	hz := b.get("/audit?ic=" + admHafizIC)
	admContain(t, "probe", hz.body, "Cubaan gagal (ID tidak wujud)", "ID ini tidak mempunyai akaun")

	// A date window: the day before shows nothing.
	day := admT0.In(calendar.Melaka).AddDate(0, 0, -1).Format("2006-01-02")
	none := b.get("/audit?ic=" + admSitiIC + "&dari=" + day + "&hingga=" + day)
	admContain(t, "empty window", none.body, "Tiada peristiwa dalam tempoh ini.")

	// Bad input: field messages, nothing read or written.
	for q, want := range map[string]string{
		"ic=791317045671":                  "tarikh lahir yang sah",
		"ic=":                              "Sila isi ruangan ini",
		"ic=" + strings.Repeat("7", 10240): "maksimum 20 aksara",
		"ic=791117045671&dari=2026-02-30":  "Tarikh tidak sah",
		"ic=791117045671&dari=2026-03-05&hingga=2026-03-01": "Tarikh akhir mesti selepas tarikh mula",
		// One day before "dari": still the wrong order, not an empty table.
		"ic=791117045671&dari=2026-03-03&hingga=2026-03-02": "Tarikh akhir mesti selepas tarikh mula",
	} {
		r := b.get("/audit?" + q)
		if r.code != http.StatusUnprocessableEntity {
			t.Errorf("%.40s: %d", q, r.code)
		}
		admContain(t, q[:min(len(q), 30)], r.body, want)
		admNotContain(t, "echo", r.body, strings.Repeat("7", 21))
	}
	if r := b.get("/audit/eksport.csv?ic=791317045671"); r.code != http.StatusUnprocessableEntity || strings.HasPrefix(r.hdr.Get("Content-Type"), "text/csv") {
		t.Fatalf("export with a bad IC: %d %s", r.code, r.hdr.Get("Content-Type"))
	}
	if p.logHead() != head {
		t.Fatal("auditor pages appended events")
	}
}

func TestAuditStateAsOf(t *testing.T) {
	p := newAdminPortal(t)
	lockedAt, unlockedAt := auditStory(t, p)
	b := p.auditor()
	at := func(tm time.Time) string { return url.QueryEscape(tm.In(calendar.Melaka).Format("2006-01-02T15:04")) }

	r := b.get("/audit/keadaan")
	admContain(t, "blank form", r.body, `type="datetime-local"`, `name="pada"`)

	// Between the lock and the unlock: locked, three failures.
	between := lockedAt.Add(time.Hour)
	r = b.get("/audit/keadaan?ic=" + admSitiIC + "&pada=" + at(between))
	if r.code != http.StatusOK {
		t.Fatalf("as of: %d", r.code)
	}
	admContain(t, "between", r.body, "<strong>Dikunci</strong>", `<th scope="row">Dikunci</th><td><strong>Ya</strong></td>`, `<th scope="row">Cubaan gagal berturut-turut</th><td>3</td>`, "Integriti sah")
	// After the unlock: active again, nothing failed.
	r = b.get("/audit/keadaan?ic=" + admSitiIC + "&pada=" + at(unlockedAt.Add(30*time.Minute)))
	admContain(t, "after unlock", r.body, "<strong>Aktif</strong>", `<th scope="row">Dikunci</th><td><strong>Tidak</strong></td>`, `<th scope="row">Cubaan gagal berturut-turut</th><td>0</td>`, "Akaun dibuka kunci")
	// Before registration: no account; Hafiz's probe is shown.
	r = b.get("/audit/keadaan?ic=" + admSitiIC + "&pada=" + at(admT0.Add(-24*time.Hour)))
	admContain(t, "before", r.body, "<strong>Belum mendaftar</strong>")
	r = b.get("/audit/keadaan?ic=" + admHafizIC + "&pada=" + at(admT0.Add(30*time.Minute)))
	admContain(t, "probe", r.body, "Sebelum mendaftar", "2 cubaan direkodkan, 2 gagal berturut-turut")

	for q, want := range map[string]string{
		"ic=" + admSitiIC + "&pada=semalam":                       "Tarikh dan masa tidak sah",
		"ic=" + admSitiIC + "&pada=":                              "Sila isi ruangan ini",
		"ic=791117-18-5671&pada=2026-03-02T10:00":                 "Kod tempat lahir",
		"ic=" + admSitiIC + "&pada=" + strings.Repeat("2", 10240): "maksimum 19 aksara",
	} {
		r := b.get("/audit/keadaan?" + q)
		if r.code != http.StatusUnprocessableEntity {
			t.Errorf("%.40s: %d", q, r.code)
		}
		admContain(t, q[:min(len(q), 30)], r.body, want)
	}
}

func TestAuditExportCSV(t *testing.T) {
	p := newAdminPortal(t)
	auditStory(t, p)
	b := p.auditor()
	r := b.get("/audit/eksport.csv?ic=" + url.QueryEscape("791117-04-5671"))
	if r.code != http.StatusOK || r.hdr.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.HasPrefix(r.hdr.Get("Content-Disposition"), `attachment; filename="audit-791117045671-`) {
		t.Fatalf("export: %d %v", r.code, r.hdr)
	}
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], audit.CSVHeader) {
		t.Fatalf("header %v", rows[0])
	}
	kind, note, actor, link := slices.Index(audit.CSVHeader, "kind"), slices.Index(audit.CSVHeader, "note"), slices.Index(audit.CSVHeader, "actor_id"), slices.Index(audit.CSVHeader, "integrity")
	var kinds []string
	for _, row := range rows[1:] {
		kinds = append(kinds, row[kind])
		if row[link] != "ok" {
			t.Errorf("row %v", row)
		}
		if row[kind] == "unlocked" && (row[actor] != admAdminIC || !strings.HasPrefix(row[note], "'=cmd")) {
			t.Errorf("unlock row %v (formula must be defused)", row)
		}
	}
	if !slices.Equal(kinds, []string{"login_succeeded", "login_failed", "login_failed", "login_failed", "locked", "login_failed", "unlocked", "login_succeeded"}) {
		t.Fatalf("kinds %v", kinds)
	}
	all := b.get("/audit/eksport.csv?semua=1&ic=" + admSitiIC)
	if n := strings.Count(all.body, "\n"); n <= len(rows) {
		t.Fatalf("every event: %d lines, login only %d", n, len(rows))
	}
}

func TestAuditIntegrityFindsTampering(t *testing.T) {
	p := newAdminPortal(t)
	auditStory(t, p)
	b := p.auditor()
	r := b.get("/audit/integriti?ic=" + admSitiIC)
	if r.code != http.StatusOK {
		t.Fatalf("check: %d", r.code)
	}
	admContain(t, "untouched", r.body, "Integriti sah: setiap peristiwa yang disimpan sepadan", "account-"+admSitiIC, "ispeks audit verify")

	// Someone with the database file rewrites the unlock's reason.
	var version uint64
	for _, e := range p.stream(admSitiIC) {
		if _, ok := e.Event.(account.AccountUnlocked); ok {
			version = e.Version
		}
	}
	db, err := sql.Open("sqlite", filepath.Join(p.dir, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Exec(`UPDATE events SET data = CAST(replace(CAST(data AS TEXT), 'disahkan', 'DIBENARKAN') AS BLOB) WHERE stream = ? AND version = ?`, "account-"+admSitiIC, version)
	if n, _ := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("tamper: %v %d", err, n)
	}
	db.Close()

	r = b.get("/audit/integriti?ic=" + admSitiIC)
	admContain(t, "tampered", r.body, "Integriti rosak: sejarah telah diubah", "Pautan pertama yang rosak", "Versi "+itoa(version), "hash does not match")
	admNotContain(t, "tampered", r.body, "Integriti sah")
	tl := b.get("/audit?semua=1&ic=" + admSitiIC)
	admContain(t, "timeline marks it", tl.body, "Integriti rosak", "<strong>Rosak</strong>", "Tidak dapat disemak", "DIBENARKAN")
	// Other people's streams are intact.
	admContain(t, "others", b.get("/audit/integriti?ic="+admNurulIC).body, "Integriti sah")
	if r := b.get("/audit/integriti?ic=12345"); r.code != http.StatusUnprocessableEntity {
		t.Fatalf("bad IC: %d", r.code)
	}
}

// TestAuditIntegrityDoesNotVouchForARemovedLastEvent: a stream's chain
// cannot show that its last events were cut off, so the per-person check
// must not tell the auditor that history was not altered; it sends them to
// `ispeks audit verify`, which sees the missing position.
func TestAuditIntegrityDoesNotVouchForARemovedLastEvent(t *testing.T) {
	p := newAdminPortal(t)
	auditStory(t, p)
	evs := p.stream(admSitiIC)
	last := evs[len(evs)-1]
	db, err := sql.Open("sqlite", filepath.Join(p.dir, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Exec(`DELETE FROM events WHERE position = ?`, last.Position)
	if n, _ := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("tamper: %v %d", err, n)
	}
	db.Close()

	b := p.auditor()
	r := b.get("/audit/integriti?ic=" + admSitiIC)
	if r.code != http.StatusOK {
		t.Fatalf("check: %d", r.code)
	}
	admNotContain(t, "last event removed", r.body, "sejarah tidak diubah")
	admContain(t, "last event removed", r.body, "Integriti sah: setiap peristiwa yang disimpan sepadan",
		"tidak dapat menunjukkan peristiwa terakhir aliran yang telah dibuang", "ispeks audit verify")
	en := b.get("/audit/integriti?lang=en&ic=" + admSitiIC)
	admNotContain(t, "last event removed (en)", en.body, "history has not been altered")
	admContain(t, "last event removed (en)", en.body, "cannot show that a stream&#39;s last events were removed")
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }

// TestAuditProbeRowsNameNoActor: the login page names the person logging in
// by the typed ID (as acctMeta does); on an ID without an account the
// attempts are recorded anonymously, so the auditor's timeline and export
// name nobody for them, not the ID in clear.
func TestAuditProbeRowsNameNoActor(t *testing.T) {
	p := newAdminPortal(t)
	for range 2 {
		_, res, err := p.h.LogIn.LogIn(context.Background(), commands.LogIn{Meta: p.meta(eventlog.ActorUser, admHafizIC), UserID: admHafizIC, Password: "teka"})
		if !errors.Is(err, account.ErrWrongPassword) {
			t.Fatal(err)
		}
		p.caughtUp(res.Position)
	}
	b := p.auditor()
	r := b.get("/audit?ic=" + admHafizIC)
	tbody := r.body[strings.Index(r.body, "<tbody>"):]
	if strings.Count(tbody, "Cubaan gagal (ID tidak wujud)") != 2 || strings.Count(tbody, "Tanpa log masuk") != 2 {
		t.Fatalf("probe rows:\n%s", tbody)
	}
	admNotContain(t, "probe rows", tbody, "Pengguna 900512-01-5123", "Pengguna 900512015123")
	rows, err := csv.NewReader(strings.NewReader(b.get("/audit/eksport.csv?ic=" + admHafizIC).body)).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("export: %d rows, %v", len(rows), err)
	}
	kind, id := slices.Index(rows[0], "actor_kind"), slices.Index(rows[0], "actor_id")
	for _, row := range rows[1:] {
		if row[kind] != eventlog.ActorAnonymous || row[id] != "" {
			t.Fatalf("exported actor %s %q", row[kind], row[id])
		}
	}
}

// TestAuditStateMinuteIsWhole: a moment typed to the minute includes that
// minute's events (audit.ParseAsOf, as `ispeks audit state --at`): the
// lock at 09:02:30 is in the state as of 09:02; typed with seconds, the
// moment is that second.
func TestAuditStateMinuteIsWhole(t *testing.T) {
	p := newAdminPortal(t)
	p.advance(30 * time.Second)
	p.lock(admSitiIC) // failures at 09:00:30, 09:01:30 and 09:02:30 MYT, locked at the third
	b := p.auditor()
	r := b.get("/audit/keadaan?ic=" + admSitiIC + "&pada=2026-03-02T09:02")
	admContain(t, "09:02", r.body, `<th scope="row">Dikunci</th><td><strong>Ya</strong></td>`, `<th scope="row">Cubaan gagal berturut-turut</th><td>3</td>`)
	r = b.get("/audit/keadaan?ic=" + admSitiIC + "&pada=" + url.QueryEscape("2026-03-02T09:02:29"))
	admContain(t, "09:02:29", r.body, `<th scope="row">Dikunci</th><td><strong>Tidak</strong></td>`, `<th scope="row">Cubaan gagal berturut-turut</th><td>2</td>`)
}
