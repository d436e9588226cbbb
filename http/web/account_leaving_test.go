package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/infra/security"
	"github.com/melaka-gov/ispeks/projections/accounts"
)

// myt is a moment of 2026 in Melaka.
func myt(month time.Month, day, hour, minute, sec int) time.Time {
	return time.Date(2026, month, day, hour, minute, sec, 0, calendar.Melaka)
}

// loginWithCode logs in through both steps of an account with TOTP and
// returns the answer to the code.
func (b *browser) loginWithCode(id, pw, secret string) result {
	b.w.t.Helper()
	b.enterID(id)
	if r := b.enterPassword(pw); r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/login/dua-faktor" {
		b.w.t.Fatalf("password step: %d %s", r.Code, r.Header().Get("Location"))
	}
	code, _ := security.TOTP{}.Code(secret, b.w.clk.Now())
	return b.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {code}})
}

// forgotIssues runs Lupa Kata Laluan for ic (waiting for its command, which
// runs after the page answered) and reports whether it recorded anything
// (the page answers the same either way).
func (w *world) forgotIssues(ic string) bool {
	w.t.Helper()
	head := w.head()
	w.forgot(w.browser(), ic)
	return w.head() != head
}

// TestLeavingDateAheadTakesEffectOnTheDate: the finance system reports on
// the evening of 4 May that an administrator retires on 5 May. Until that
// date begins in Melaka they hold their post: the session they had keeps
// its role, a new login gets it, Lupa Kata Laluan still mails them, and
// someone else with a date ahead may still register. At 00:00 on 5 May
// both sessions end (though still within their idle and absolute
// deadlines), and from then on they log in as a leaver: their own pages,
// no role, no Lupa Kata Laluan.
func TestLeavingDateAheadTakesEffectOnTheDate(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	amin, siti, hafiz := master[3], master[0], master[2]
	w.clk.Set(myt(time.May, 4, 22, 40, 0))
	sitiB := w.activeUser(siti)
	_, secret, _ := w.roleHolder(amin, true, true)

	before := w.browser() // logged in before the leave is reported
	if r := before.loginWithCode(amin.IC, grantPW, secret); r.Header().Get("Location") != "/utama" {
		t.Fatalf("login: %d %s", r.Code, r.Header().Get("Location"))
	}
	if r := before.get("/pentadbir"); r.Code != http.StatusOK {
		t.Fatalf("admin area: %d", r.Code)
	}
	w.clk.Add(time.Second) // the report comes after that login
	for _, ic := range []string{amin.IC, hafiz.IC} {
		if _, err := w.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: sysMeta(), IC: ic, Date: "2026-05-05", Reason: "Bersara"}); err != nil {
			t.Fatal(err)
		}
	}
	// A leave already past for Siti, after those: once her session has
	// ended, the portal's follower has handled the leaves before it.
	if _, err := w.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: sysMeta(), IC: siti.IC, Date: "2026-05-01", Reason: "Meletak jawatan"}); err != nil {
		t.Fatal(err)
	}
	w.eventually("Siti's session ended", func() bool { return sitiB.get("/utama").Header().Get("Location") == "/?sesi=tamat" })
	if r := before.get("/pentadbir"); r.Code != http.StatusOK {
		t.Fatalf("admin area after a leave reported for tomorrow: %d %s", r.Code, r.Header().Get("Location"))
	}

	w.clk.Add(time.Minute)
	after := w.browser() // logged in after the leave is reported, before the date
	if r := after.loginWithCode(amin.IC, grantPW, secret); r.Header().Get("Location") != "/utama" {
		t.Fatalf("login before the date: %d %s", r.Code, r.Header().Get("Location"))
	}
	if r := after.get("/pentadbir"); r.Code != http.StatusOK {
		t.Fatalf("admin area of a login before the date: %d", r.Code)
	}
	if !w.forgotIssues(amin.IC) {
		t.Fatal("Lupa Kata Laluan issued nothing before the leaving date")
	}
	w.register(w.browser(), hafiz) // fails the test unless registered

	// Both sessions stay in use up to the last second of 4 May.
	for _, at := range []time.Time{myt(time.May, 4, 23, 0, 0), myt(time.May, 4, 23, 20, 0), myt(time.May, 4, 23, 40, 0), myt(time.May, 4, 23, 59, 59)} {
		w.clk.Set(at)
		for name, b := range map[string]*browser{"before": before, "after": after} {
			if r := b.get("/pentadbir"); r.Code != http.StatusOK {
				t.Fatalf("session opened %s the report, at %s: %d %s", name, at.Format("15:04:05"), r.Code, r.Header().Get("Location"))
			}
		}
	}
	w.clk.Set(myt(time.May, 5, 0, 0, 0))
	for name, b := range map[string]*browser{"before": before, "after": after} {
		if r := b.get("/pentadbir"); r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/?sesi=tamat" {
			t.Fatalf("session opened %s the report, on the leaving date: %d %s", name, r.Code, r.Header().Get("Location"))
		}
	}

	leaver := w.browser()
	if r := leaver.loginWithCode(amin.IC, grantPW, secret); r.Header().Get("Location") != "/utama" {
		t.Fatalf("login on the leaving date: %d %s", r.Code, r.Header().Get("Location"))
	}
	if r := leaver.get("/pentadbir"); r.Code == http.StatusOK {
		t.Fatal("a leaver's session holds the admin role")
	}
	home := leaver.get("/utama")
	mustContain(t, "a leaver's home", home.body, amin.Name)
	mustNotContain(t, "a leaver's home", home.body, `href="/pentadbir`)
	w.clk.Add(time.Hour)
	if w.forgotIssues(amin.IC) {
		t.Fatal("Lupa Kata Laluan issued a temporary password to a leaver")
	}
}

// TestPasswordChangeKeepsTheLeavingDate: someone whose leaving date is
// ahead registers and activates (they are still in service), then changes
// their password: the session continues under a new token, and still ends
// when the date begins.
func TestPasswordChangeKeepsTheLeavingDate(t *testing.T) {
	w := newWorld(t)
	siti := master[0]
	w.clk.Set(myt(time.May, 4, 23, 30, 0))
	if _, err := w.h.StaffLeftService.Handle(context.Background(), commands.StaffLeftService{Meta: sysMeta(), IC: siti.IC, Date: "2026-05-05", Reason: "Bersara"}); err != nil {
		t.Fatal(err)
	}
	b := w.activeUser(siti)
	const newPW = "Asam Pedas Ikan Pari"
	r := b.post("/tetapan-akaun/tukar-kata-laluan", "/tetapan-akaun/tukar-kata-laluan", url.Values{"old_password": {password}, "password": {newPW}, "confirm_password": {newPW}})
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/tetapan-akaun/tukar-kata-laluan?disimpan=1" {
		t.Fatalf("change password: %d %s", r.Code, r.Header().Get("Location"))
	}
	w.clk.Set(myt(time.May, 4, 23, 59, 59))
	if r := b.get("/utama"); r.Code != http.StatusOK {
		t.Fatalf("before the date: %d %s", r.Code, r.Header().Get("Location"))
	}
	w.clk.Set(myt(time.May, 5, 0, 0, 0))
	if r := b.get("/utama"); r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/?sesi=tamat" {
		t.Fatalf("on the leaving date: %d %s", r.Code, r.Header().Get("Location"))
	}
}

// TestCancelledLeavingKeepsTheSession: on the evening of 4 May an
// administrator's retirement on 5 May is reported, then cancelled (the
// retirement is put off). Sessions opened before the report and between
// the report and the cancellation carried the date as their end; after the
// cancellation they go on past midnight with the admin role, within their
// idle and absolute deadlines, and a login on 5 May holds the role too.
func TestCancelledLeavingKeepsTheSession(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	amin, siti := master[3], master[0]
	w.clk.Set(myt(time.May, 4, 22, 40, 0))
	sitiB := w.activeUser(siti)
	_, secret, _ := w.roleHolder(amin, true, true)

	before := w.browser() // logged in before the leave is reported
	if r := before.loginWithCode(amin.IC, grantPW, secret); r.Header().Get("Location") != "/utama" {
		t.Fatalf("login: %d %s", r.Code, r.Header().Get("Location"))
	}
	w.clk.Add(time.Second)
	if _, err := w.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: sysMeta(), IC: amin.IC, Date: "2026-05-05", Reason: "Bersara"}); err != nil {
		t.Fatal(err)
	}
	w.clk.Add(time.Minute)
	between := w.browser() // logged in after the report: the date is in its session
	if r := between.loginWithCode(amin.IC, grantPW, secret); r.Header().Get("Location") != "/utama" {
		t.Fatalf("login after the report: %d %s", r.Code, r.Header().Get("Location"))
	}

	w.clk.Add(time.Minute)
	if _, err := w.h.CancelLeaving.Handle(ctx, commands.CancelLeaving{Meta: sysMeta(), IC: amin.IC, Reason: "Persaraan ditangguhkan"}); err != nil {
		t.Fatal(err)
	}
	if v := w.accountView(amin.IC); v.EmployeeLeftOn != "" {
		t.Fatalf("account view after the cancel: leaving date %q", v.EmployeeLeftOn)
	}
	// A leave already past for Siti, after the cancel: once her session has
	// ended, the portal's follower has handled the cancel before it.
	if _, err := w.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: sysMeta(), IC: siti.IC, Date: "2026-05-01", Reason: "Meletak jawatan"}); err != nil {
		t.Fatal(err)
	}
	w.eventually("Siti's session ended", func() bool { return sitiB.get("/utama").Header().Get("Location") == "/?sesi=tamat" })

	// Every 20 minutes, past the old date's midnight: the idle deadline
	// never runs out, and the sessions keep the role.
	for _, at := range []time.Time{myt(time.May, 4, 23, 0, 0), myt(time.May, 4, 23, 20, 0), myt(time.May, 4, 23, 40, 0),
		myt(time.May, 4, 23, 59, 59), myt(time.May, 5, 0, 0, 0), myt(time.May, 5, 0, 20, 0), myt(time.May, 5, 0, 40, 0)} {
		w.clk.Set(at)
		for name, b := range map[string]*browser{"before the report": before, "between report and cancel": between} {
			if r := b.get("/pentadbir"); r.Code != http.StatusOK {
				t.Fatalf("session opened %s, at %s: %d %s", name, at.Format("2 Jan 15:04:05"), r.Code, r.Header().Get("Location"))
			}
		}
	}
	w.clk.Add(time.Minute)
	later := w.browser()
	if r := later.loginWithCode(amin.IC, grantPW, secret); r.Header().Get("Location") != "/utama" {
		t.Fatalf("login on the old date: %d %s", r.Code, r.Header().Get("Location"))
	}
	if r := later.get("/pentadbir"); r.Code != http.StatusOK {
		t.Fatalf("admin area of a login on the old date: %d %s", r.Code, r.Header().Get("Location"))
	}
	// The end the date gave them is gone, not the idle deadline.
	w.clk.Set(myt(time.May, 5, 1, 10, 0))
	for name, b := range map[string]*browser{"before the report": before, "between report and cancel": between} {
		if r := b.get("/pentadbir"); r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/?sesi=tamat" {
			t.Fatalf("session opened %s, idle for 30 minutes: %d %s", name, r.Code, r.Header().Get("Location"))
		}
	}
}

// TestOpenSessionFollowsANameCorrection: Siti is logged in when HR
// corrects her name and department in the employee master; the home page
// of her open session greets her by the corrected name (and the header
// names the new department) without a new login, as Tetapan Akaun does.
func TestOpenSessionFollowsANameCorrection(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	siti := master[0]
	b := w.activeUser(siti)
	if r := b.get("/utama"); !strings.Contains(r.body, siti.Name) {
		t.Fatalf("home before the correction does not greet %q", siti.Name)
	}
	w.clk.Add(time.Minute)
	const name, dept = "Siti Aminah binti Omar Baki", "Pejabat Setiausaha Kerajaan Negeri Melaka"
	if _, err := w.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: sysMeta(), Details: employee.Details{
		IC: siti.IC, Name: name, Email: siti.Email, Department: dept, Post: "Pegawai", StaffNumber: "S-" + siti.IC[8:],
	}}); err != nil {
		t.Fatal(err)
	}
	w.eventually("the home page greets the corrected name", func() bool {
		body := b.get("/utama").body
		return strings.Contains(body, name) && strings.Contains(body, dept)
	})
}

// TestPasswordChangeTakesRolesFromTheLog: after Tukar Kata Laluan the
// session goes on under a new token with the roles the change decided on
// the account's stream, not a copy of the old session's: a role removed a
// moment before the change (its end read by the follower between the
// request's start and the new session) must not come back. Here the old
// session holds a role the log does not give.
func TestPasswordChangeTakesRolesFromTheLog(t *testing.T) {
	w := newWorld(t)
	b := w.activeUser(master[0])
	if _, err := w.srv.Sessions.Store().UpdateUserBefore(context.Background(), master[0].IC, w.clk.Now().Add(time.Hour), func(s *session.Session) {
		s.Roles, s.TOTPVerified = []string{"admin"}, true
	}); err != nil {
		t.Fatal(err)
	}
	if r := b.get("/pentadbir"); r.Code != http.StatusOK {
		t.Fatalf("the session holding the role: %d", r.Code)
	}
	const newPW = "Asam Pedas Ikan Pari"
	r := b.post("/tetapan-akaun/tukar-kata-laluan", "/tetapan-akaun/tukar-kata-laluan", url.Values{"old_password": {password}, "password": {newPW}, "confirm_password": {newPW}})
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/tetapan-akaun/tukar-kata-laluan?disimpan=1" {
		t.Fatalf("change password: %d %s", r.Code, r.Header().Get("Location"))
	}
	if r := b.get("/utama"); r.Code != http.StatusOK {
		t.Fatalf("home after the change: %d", r.Code)
	}
	if r := b.get("/pentadbir"); r.Code != http.StatusNotFound {
		t.Fatalf("admin page after the change: %d, want 404 (the log gives no role)", r.Code)
	}
}

// TestOpenSessionFollowsARejoinUnderAnotherName: Siti left service and
// logs in as a leaver (her own slips); HR then records her again under her
// married name (a rejoin: employee.StaffRecorded naming the previous
// name). Her open session greets her by the new name, as after a
// correction (before, only a StaffUpdated renamed sessions: the leaver's
// session kept the old name until the next login).
func TestOpenSessionFollowsARejoinUnderAnotherName(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	siti := master[0]
	w.clk.Set(myt(time.May, 4, 9, 0, 0))
	w.activeUser(siti)
	if _, err := w.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: sysMeta(), IC: siti.IC, Date: "2026-05-01", Reason: "Meletak jawatan"}); err != nil {
		t.Fatal(err)
	}
	w.clk.Add(time.Minute)
	leaver := w.browser()
	if r := leaver.login(siti.IC, password); !strings.Contains(r.body, siti.Name) {
		t.Fatalf("a leaver's home does not greet %q", siti.Name)
	}
	w.clk.Add(time.Minute)
	const name, dept = "Siti Aminah binti Omar Baki", "Pejabat Setiausaha Kerajaan Negeri Melaka"
	if _, err := w.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: sysMeta(), Details: employee.Details{
		IC: siti.IC, Name: name, Email: siti.Email, Department: dept, Post: "Pegawai", StaffNumber: "S-" + siti.IC[8:],
	}}); err != nil {
		t.Fatal(err)
	}
	w.eventually("the leaver's open session greets the name she rejoined under", func() bool {
		body := leaver.get("/utama").body
		return strings.Contains(body, name) && strings.Contains(body, dept)
	})
}

// TestLoginGreetsTheMastersCurrentName: HR corrects Siti's name while the
// projectors lag behind (the accounts view still holds the old one); a
// login right after greets her by the corrected name, which the login's
// command read from the employee master, not the lagging view.
func TestLoginGreetsTheMastersCurrentName(t *testing.T) {
	w := newWorld(t)
	siti := master[0]
	w.activeUser(siti)
	w.holdProjectors()
	w.clk.Add(time.Minute)
	const name, dept = "Siti Aminah binti Omar Baki", "Pejabat Setiausaha Kerajaan Negeri Melaka"
	if _, err := w.h.PutStaff.Handle(context.Background(), commands.PutStaff{Meta: sysMeta(), Details: employee.Details{
		IC: siti.IC, Name: name, Email: siti.Email, Department: dept, Post: "Pegawai", StaffNumber: "S-" + siti.IC[8:],
	}}); err != nil {
		t.Fatal(err)
	}
	if v, _, err := accounts.GetAccount(context.Background(), w.views, siti.IC); err != nil || v.Name == name {
		t.Fatal("the accounts view caught up: the test needs it behind")
	}
	home := w.browser().login(siti.IC, password)
	mustContain(t, "home after the correction", home.body, name, dept)
}
