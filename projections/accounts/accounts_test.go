package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/loginprobe"
	eventsqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	readsqlite "github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/infra/security"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/accounts"
)

// The projectors are fed the events the real command handlers append to the
// real SQLite event store, through batches of the real SQLite read store.

type world struct {
	t      *testing.T
	events *eventsqlite.Store
	views  *readsqlite.Store
	reg    *eventlog.Registry
	h      commands.AccountHandlers
	sealer *security.Sealer
	keyed  *security.Keyed
	now    time.Time
}

const (
	sitiIC     = "791117045671"
	nurulIC    = "850203145432"
	strangerIC = "820304105555"
	adminIC    = "750101045001"
)

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	es, err := eventsqlite.Open(ctx, filepath.Join(dir, "events.db"), eventsqlite.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { es.Close() })
	vs, err := readsqlite.Open(ctx, filepath.Join(dir, "views.db"), readsqlite.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vs.Close() })
	reg := eventlog.NewRegistry()
	account.Register(reg)
	employee.Register(reg)
	loginprobe.Register(reg)
	master := make([]byte, security.MasterKeySize)
	sealer, _ := security.NewSealer(master)
	keyed, _ := security.NewKeyed(master)
	w := &world{t: t, events: es, views: vs, reg: reg, sealer: sealer, keyed: keyed, now: time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)}
	runner := commands.Runner{Store: es, Registry: reg, Now: func() time.Time { return w.now }}
	sec := commands.AccountSecurity{Hasher: security.NewArgon2(security.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}, 0), Sealer: sealer, Keyed: keyed, TOTP: security.TOTP{}, Secrets: security.Generator{}}
	w.h = commands.NewAccountHandlers(runner, sec, commands.AccountPolicy{})
	for _, p := range []projections.Projector{accounts.Projector{}, accounts.AttemptsProjector{}} {
		if err := vs.Ensure(ctx, p.Collections()...); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func (w *world) meta(kind, id string) commands.Meta {
	return commands.Meta{CommandID: uuid.New(), Actor: eventlog.Actor{Kind: kind, ID: id}, SourceIP: "10.1.2.3", UserAgent: "Mozilla/5.0"}
}

func (w *world) must(_ commands.Result, err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) staff(ic, name, email, dept, post, no string) {
	w.t.Helper()
	w.must(w.h.PutStaff.Handle(context.Background(), commands.PutStaff{Meta: w.meta(eventlog.ActorSystem, "import"), Details: employee.Details{IC: ic, Name: name, Email: email, Department: dept, Post: post, StaffNumber: no}}))
}

func (w *world) temp(ic string) string {
	w.t.Helper()
	recs, _ := w.events.ReadStream(context.Background(), "account-"+ic, 0, eventlog.Backwards, 100)
	for _, r := range recs {
		env, err := w.reg.Decode(r)
		if err != nil {
			w.t.Fatal(err)
		}
		if ev, ok := env.Event.(account.TemporaryPasswordIssued); ok {
			pt, err := w.sealer.Open(ev.Sealed, ev.AAD())
			if err != nil {
				w.t.Fatal(err)
			}
			return string(pt)
		}
	}
	w.t.Fatal("no temporary password")
	return ""
}

func (w *world) logIn(ic, pw string) error {
	_, err := w.h.LogIn.Handle(context.Background(), commands.LogIn{Meta: w.meta(eventlog.ActorAnonymous, ""), UserID: ic, Password: pw})
	return err
}

// activate registers ic, logs in with the temporary password and activates.
func (w *world) activate(ic, email, pw string) {
	w.t.Helper()
	ctx := context.Background()
	w.must(w.h.Register.Handle(ctx, commands.RegisterAccount{Meta: w.meta(eventlog.ActorAnonymous, ""), IC: ic, Email: email}))
	if err := w.logIn(ic, w.temp(ic)); err != nil {
		w.t.Fatal(err)
	}
	w.must(w.h.Activate.Handle(ctx, commands.ActivateAccount{Meta: w.meta(eventlog.ActorUser, ic), UserID: ic, Form: account.ActivationForm{
		Password: pw, ConfirmPassword: pw, QuestionID: "sekolah-rendah", Answer: "SK Bukit Baru", ImageID: "kucing", Phrase: "Kucing Jingga",
	}}))
}

// project feeds every event after the projector's checkpoint to it, batch
// by batch, the way the engine does, and returns how many it projected.
func project(t *testing.T, es *eventsqlite.Store, rs projections.ReadStore, reg *eventlog.Registry, p projections.Projector, batch int) int {
	t.Helper()
	ctx := context.Background()
	handles := map[string]bool{}
	for _, h := range p.Handles() {
		handles[h] = true
	}
	n := 0
	for {
		from, err := rs.Checkpoint(ctx, p.Name())
		if err != nil {
			t.Fatal(err)
		}
		recs, err := es.ReadAll(ctx, from, batch)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			return n
		}
		err = rs.Write(ctx, p.Name(), recs[len(recs)-1].Position, func(b projections.Batch) error {
			for _, r := range recs {
				if !handles[r.Type] {
					continue
				}
				env, err := reg.Decode(r)
				if err != nil {
					return err
				}
				if err := p.Project(ctx, b, env); err != nil {
					return fmt.Errorf("%s at %d: %w", r.Type, r.Position, err)
				}
				n++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// replayAll feeds every event again, ignoring the checkpoint: the
// "delivered twice" case.
func replayAll(t *testing.T, es *eventsqlite.Store, rs projections.ReadStore, reg *eventlog.Registry, p projections.Projector) {
	t.Helper()
	ctx := context.Background()
	recs, err := es.ReadAll(ctx, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	last, _ := rs.Checkpoint(ctx, p.Name())
	err = rs.Write(ctx, p.Name(), last, func(b projections.Batch) error {
		for _, r := range recs {
			if !slices.Contains(p.Handles(), r.Type) {
				continue
			}
			env, err := reg.Decode(r)
			if err != nil {
				return err
			}
			if err := p.Project(ctx, b, env); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// dump returns every document of the projector's collections.
func dump(t *testing.T, r projections.Reader, p projections.Projector) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, c := range p.Collections() {
		q := projections.Query{Collection: c.Name, Limit: 500}
		for {
			page, err := r.Find(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range page.Docs {
				out[c.Name+"/"+d.ID] = fmt.Sprintf("%d %s", d.Version, d.Body)
			}
			if page.Next == "" {
				break
			}
			q.After = page.Next
		}
	}
	return out
}

// activeLim activates Lim Mei Ling's account (in the scenario's master,
// not registered there) with password pw and returns her user ID.
func (w *world) activeLim(pw string) string {
	const lim = "860606065666"
	w.activate(lim, "mei.ling@melaka.gov.my", pw)
	return lim
}

// enrolTOTP turns two-factor on for userID (whose password is pw) and
// returns the code of the world's current time.
func (w *world) enrolTOTP(userID, pw string) func() string {
	w.t.Helper()
	ctx := context.Background()
	enr, _, err := w.h.EnrolTOTP.Enrol(ctx, commands.EnrolTOTP{Meta: w.meta(eventlog.ActorUser, userID), UserID: userID, CurrentPassword: pw})
	if err != nil {
		w.t.Fatal(err)
	}
	code := func() string {
		c, err := security.TOTP{}.Code(enr.Secret, w.now)
		if err != nil {
			w.t.Fatal(err)
		}
		return c
	}
	if _, _, err := w.h.ConfirmTOTP.Confirm(ctx, commands.ConfirmTOTP{Meta: w.meta(eventlog.ActorUser, userID), UserID: userID, Code: code()}); err != nil {
		w.t.Fatal(err)
	}
	return code
}

func (w *world) scenario() {
	ctx := context.Background()
	w.staff(sitiIC, "Siti Aminah binti Omar", "siti.aminah@melaka.gov.my", "Jabatan Kewangan dan Perbendaharaan", "Pegawai Kewangan", "JKPN-0042")
	w.staff(nurulIC, "Nurul Huda binti Rahman", "pentadbiran.jkr@melaka.gov.my", "Jabatan Kerja Raya", "Pembantu Tadbir", "JKR-1001")
	w.staff("900512015123", "Mohd Fadzlezam bin Sulaiman", "fadzlezam@melaka.gov.my", "Jabatan Kewangan dan Perbendaharaan", "Pegawai Teknologi Maklumat", "JKPN-0001")
	w.staff("880808085888", "Mohamad Amirudin bin Zainal", "amirudin@melaka.gov.my", "Jabatan Kewangan dan Perbendaharaan", "Juruteknik Komputer", "JKPN-0002")
	w.staff("860606065666", "Lim Mei Ling", "mei.ling@melaka.gov.my", "Pejabat Tanah dan Galian", "Penolong Pegawai Tanah", "PTG-0310")
	w.activate(sitiIC, "siti.aminah@melaka.gov.my", "kuih lapis sedap sekali")
	w.must(w.h.Register.Handle(ctx, commands.RegisterAccount{Meta: w.meta(eventlog.ActorAnonymous, ""), IC: nurulIC, Email: "pentadbiran.jkr@melaka.gov.my"}))
	// Siti: a wrong password, a success, then three wrong: locked.
	_ = w.logIn(sitiIC, "salah")
	w.now = w.now.Add(time.Minute)
	_ = w.logIn(sitiIC, "kuih lapis sedap sekali")
	for i := 0; i < 3; i++ {
		w.now = w.now.Add(time.Minute)
		_ = w.logIn(sitiIC, "salah lagi")
	}
	// Someone tries an unknown ID four times.
	for i := 0; i < 4; i++ {
		_ = w.logIn(strangerIC, "teka")
	}
	// The master changes Siti's post; she moves to another department.
	w.staff(sitiIC, "Siti Aminah binti Omar", "siti.aminah@melaka.gov.my", "Jabatan Ketua Menteri", "Akauntan", "JKPN-0042")
	// Nurul's name is corrected.
	w.staff(nurulIC, "Nurul Hidayah binti Rahman", "pentadbiran.jkr@melaka.gov.my", "Jabatan Kerja Raya", "Pembantu Tadbir", "JKR-1001")
}

func TestAccountView(t *testing.T) {
	w := newWorld(t)
	w.scenario()
	ctx := context.Background()
	project(t, w.events, w.views, w.reg, accounts.Projector{}, 7)
	a, ok, err := accounts.GetAccount(ctx, w.views, sitiIC)
	if err != nil || !ok {
		t.Fatalf("account: %v %v", ok, err)
	}
	if a.Name != "Siti Aminah binti Omar" || a.Department != "Jabatan Ketua Menteri" || a.Post != "Akauntan" || a.Email != "siti.aminah@melaka.gov.my" {
		t.Fatalf("master fields %+v", a)
	}
	if a.Status != accounts.StatusLocked || !a.Locked || !a.Activated || a.FailedAttempts != 3 || a.LockedAt == nil || a.LastLogin == nil || a.TOTP || len(a.Roles) != 0 {
		t.Fatalf("state %+v", a)
	}
	if a.SecurityImage != "kucing" || a.SealedPhrase == "" || a.SecretQuestion != "sekolah-rendah" {
		t.Fatalf("security image/phrase/question %+v", a)
	}
	n, ok, _ := accounts.GetAccount(ctx, w.views, nurulIC)
	if !ok || n.Status != accounts.StatusRegistered || n.Activated || n.Name != "Nurul Hidayah binti Rahman" || n.LastTempReason != "registration" {
		t.Fatalf("nurul %+v", n)
	}
	if _, ok, _ := accounts.GetAccount(ctx, w.views, strangerIC); ok {
		t.Fatal("an unknown ID has an account view")
	}
	locked, _, err := accounts.ListAccounts(ctx, w.views, accounts.StatusLocked, 10, "")
	if err != nil || len(locked) != 1 || locked[0].UserID != sitiIC {
		t.Fatalf("locked list %+v %v", locked, err)
	}
	// Unlock: the view follows.
	w.must(w.h.CreateAdministrator.Handle(ctx, commands.CreateAdministrator{Meta: w.meta(eventlog.ActorSystem, "cli"), Staff: employee.Details{IC: "900512015123", Email: "fadzlezam@melaka.gov.my"}}))
	w.must(w.h.UnlockAccount.Handle(ctx, commands.UnlockAccount{Meta: w.meta(eventlog.ActorSystem, "cli"), UserID: sitiIC, Reason: "disahkan"}))
	project(t, w.events, w.views, w.reg, accounts.Projector{}, 7)
	a, _, _ = accounts.GetAccount(ctx, w.views, sitiIC)
	if a.Status != accounts.StatusActive || a.Locked || a.FailedAttempts != 0 {
		t.Fatalf("after unlock %+v", a)
	}
	adm, _, _ := accounts.GetAccount(ctx, w.views, "900512015123")
	if !adm.HasRole(account.RoleAdmin) || adm.Status != accounts.StatusRegistered {
		t.Fatalf("admin %+v", adm)
	}
}

// TestAccountViewLoginHistory: the view keeps the login before the latest
// one and the failed attempts between the two (the home page shows them),
// counting attempts on a locked account and not reset by an unlock.
func TestAccountViewLoginHistory(t *testing.T) {
	w := newWorld(t)
	start := w.now
	w.scenario() // Siti: activation login at start, a wrong password, a login at +1m, three wrong (locked)
	ctx := context.Background()
	project(t, w.events, w.views, w.reg, accounts.Projector{}, 3)
	a, _, _ := accounts.GetAccount(ctx, w.views, sitiIC)
	at := func(p *time.Time) string {
		if p == nil {
			return "none"
		}
		return p.UTC().Format(time.RFC3339)
	}
	check := func(when string, last, prev time.Time, before, since int) {
		t.Helper()
		if at(a.LastLogin) != at(&last) || at(a.PreviousLogin) != at(&prev) || a.FailedBeforeLogin != before || a.FailedSinceLogin != since {
			t.Fatalf("%s: last %s previous %s, failed before %d since %d; want %s %s %d %d", when,
				at(a.LastLogin), at(a.PreviousLogin), a.FailedBeforeLogin, a.FailedSinceLogin, at(&last), at(&prev), before, since)
		}
	}
	check("after the scenario", start.Add(time.Minute), start, 1, 3)

	// The right password on the locked account is refused and counted.
	w.now = w.now.Add(time.Minute)
	if err := w.logIn(sitiIC, "kuih lapis sedap sekali"); !errors.Is(err, account.ErrLocked) {
		t.Fatalf("login while locked: %v", err)
	}
	w.must(w.h.CreateAdministrator.Handle(ctx, commands.CreateAdministrator{Meta: w.meta(eventlog.ActorSystem, "cli"), Staff: employee.Details{IC: "900512015123", Email: "fadzlezam@melaka.gov.my"}}))
	w.must(w.h.UnlockAccount.Handle(ctx, commands.UnlockAccount{Meta: w.meta(eventlog.ActorSystem, "cli"), UserID: sitiIC, Reason: "disahkan"}))
	project(t, w.events, w.views, w.reg, accounts.Projector{}, 3)
	a, _, _ = accounts.GetAccount(ctx, w.views, sitiIC)
	check("after the unlock", start.Add(time.Minute), start, 1, 4)

	w.now = w.now.Add(time.Hour)
	if err := w.logIn(sitiIC, "kuih lapis sedap sekali"); err != nil {
		t.Fatal(err)
	}
	project(t, w.events, w.views, w.reg, accounts.Projector{}, 3)
	a, _, _ = accounts.GetAccount(ctx, w.views, sitiIC)
	check("after the next login", w.now, start.Add(time.Minute), 4, 0)

	// A first login has no previous one.
	n, _, _ := accounts.GetAccount(ctx, w.views, "900512015123")
	if n.PreviousLogin != nil || n.FailedBeforeLogin != 0 {
		t.Fatalf("administrator before any login: %+v", n)
	}
}

// TestAccountViewCountsUntilSecondFactor: with TOTP on, the failed-attempts
// count the administrators see is the aggregate's: a right password does not
// reset it while the code is owed, the accepted code does, and three wrong
// codes across password re-entries lock the account.
func TestAccountViewCountsUntilSecondFactor(t *testing.T) {
	w := newWorld(t)
	w.scenario()
	ctx := context.Background()
	const pw = "durian musang king"
	lim := w.activeLim(pw)
	code := w.enrolTOTP(lim, pw)
	verify := func(c string) error {
		_, err := w.h.VerifyTOTP.Handle(ctx, commands.VerifyTOTP{Meta: w.meta(eventlog.ActorUser, lim), UserID: lim, Code: c})
		return err
	}
	failed := func(when string, want int) {
		t.Helper()
		project(t, w.events, w.views, w.reg, accounts.Projector{}, 5)
		a, _, _ := accounts.GetAccount(ctx, w.views, lim)
		if a.FailedAttempts != want {
			t.Fatalf("%s: failed attempts %d, want %d", when, a.FailedAttempts, want)
		}
	}
	w.now = w.now.Add(time.Minute)
	if err := w.logIn(lim, pw); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"000000", "111111"} {
		if err := verify(c); !errors.Is(err, account.ErrWrongCode) {
			t.Fatalf("wrong code: %v", err)
		}
	}
	if err := w.logIn(lim, pw); err != nil {
		t.Fatal(err)
	}
	failed("after the password again", 2)
	w.now = w.now.Add(time.Minute)
	if err := verify(code()); err != nil {
		t.Fatal(err)
	}
	failed("after the accepted code", 0)

	w.now = w.now.Add(time.Minute)
	for _, step := range []func() error{
		func() error { return w.logIn(lim, pw) },
		func() error { return verify("222222") },
		func() error { return verify("333333") },
		func() error { return w.logIn(lim, pw) },
	} {
		if err := step(); err != nil && !errors.Is(err, account.ErrWrongCode) {
			t.Fatal(err)
		}
	}
	if err := verify("444444"); !errors.Is(err, account.ErrLocked) {
		t.Fatalf("third wrong code across password re-entries: %v, want locked", err)
	}
	failed("locked", 3)
	a, _, _ := accounts.GetAccount(ctx, w.views, lim)
	if !a.Locked || a.Status != accounts.StatusLocked {
		t.Fatalf("view not locked: %+v", a)
	}
}

// TestAccountViewPasswordChangeEndsTheRun: the view counts as the
// aggregate does: two wrong old passwords at Tukar Kata Laluan, then the
// right one, leave no failures in the run.
func TestAccountViewPasswordChangeEndsTheRun(t *testing.T) {
	w := newWorld(t)
	w.scenario()
	ctx := context.Background()
	const pw = "durian musang king"
	lim := w.activeLim(pw)
	change := func(old string) error {
		_, err := w.h.ChangePassword.Handle(ctx, commands.ChangePassword{Meta: w.meta(eventlog.ActorUser, lim), UserID: lim,
			OldPassword: old, NewPassword: "rambutan gading manis", ConfirmPassword: "rambutan gading manis"})
		return err
	}
	for range 2 {
		if err := change("salah sekali"); !errors.Is(err, account.ErrWrongPassword) {
			t.Fatalf("wrong old password: %v", err)
		}
	}
	project(t, w.events, w.views, w.reg, accounts.Projector{}, 5)
	if a, _, _ := accounts.GetAccount(ctx, w.views, lim); a.FailedAttempts != 2 {
		t.Fatalf("after two slips: %d failures", a.FailedAttempts)
	}
	if err := change(pw); err != nil {
		t.Fatal(err)
	}
	project(t, w.events, w.views, w.reg, accounts.Projector{}, 5)
	if a, _, _ := accounts.GetAccount(ctx, w.views, lim); a.FailedAttempts != 0 {
		t.Fatalf("after the change: %d failures, want 0", a.FailedAttempts)
	}
}

// TestAccountViewFollowsTheMastersEmail: the master moves Siti and Nurul
// to new mailboxes; Siti's account was still on the old address and
// follows, Nurul had chosen her own and keeps it. The view shows each
// account's address (the admin pages and the login page read it), keeps
// Siti's run of failures (following proved nothing), and says the same
// delivered twice and rebuilt.
func TestAccountViewFollowsTheMastersEmail(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	const nurulPW = "nasi lemak berlauk"
	w.staff(sitiIC, "Siti Aminah binti Omar", "siti.aminah@melaka.gov.my", "Jabatan Kewangan dan Perbendaharaan", "Pegawai Kewangan", "JKPN-0042")
	w.staff(nurulIC, "Nurul Huda binti Rahman", "pentadbiran.jkr@melaka.gov.my", "Jabatan Kerja Raya", "Pembantu Tadbir", "JKR-1001")
	w.activate(sitiIC, "siti.aminah@melaka.gov.my", "kuih lapis sedap sekali")
	w.activate(nurulIC, "pentadbiran.jkr@melaka.gov.my", nurulPW)
	w.must(w.h.UpdateProfile.Handle(ctx, commands.UpdateProfile{Meta: w.meta(eventlog.ActorUser, nurulIC), UserID: nurulIC,
		Profile: account.Profile{Email: "nurul.huda@jkr.melaka.gov.my"}, CurrentPassword: nurulPW}))
	_ = w.logIn(sitiIC, "salah")
	p := accounts.Projector{}
	project(t, w.events, w.views, w.reg, p, 10)

	w.now = w.now.Add(time.Hour)
	follower := commands.EmailFollower{Follow: w.h.FollowMasterEmail, Log: slog.New(slog.DiscardHandler)}
	for ic, to := range map[string]string{sitiIC: "kewangan.tengah@melaka.gov.my", nurulIC: "pentadbiran@jkr.melaka.gov.my"} {
		e, _, _ := accounts.GetEmployee(ctx, w.views, ic)
		w.staff(ic, e.Name, to, e.Department, e.Post, e.StaffNumber)
		recs, err := w.events.ReadStream(ctx, "employee-"+ic, 0, eventlog.Backwards, 1)
		if err != nil {
			t.Fatal(err)
		}
		env, err := w.reg.Decode(recs[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := follower.Handle(ctx, env); err != nil {
			t.Fatal(err)
		}
	}
	project(t, w.events, w.views, w.reg, p, 10)
	check := func(when string) {
		t.Helper()
		siti, _, err := accounts.GetAccount(ctx, w.views, sitiIC)
		if err != nil {
			t.Fatal(err)
		}
		nurul, _, err := accounts.GetAccount(ctx, w.views, nurulIC)
		if err != nil {
			t.Fatal(err)
		}
		if siti.Email != "kewangan.tengah@melaka.gov.my" || siti.FailedAttempts != 1 || siti.Status != accounts.StatusActive {
			t.Fatalf("%s: Siti's account view %+v", when, siti)
		}
		if nurul.Email != "nurul.huda@jkr.melaka.gov.my" {
			t.Fatalf("%s: Nurul's own address was replaced by %q", when, nurul.Email)
		}
	}
	check("live")
	w.sameAfterReplayAndRebuild(p)
	check("rebuilt")
}

func TestEmployeeSearch(t *testing.T) {
	w := newWorld(t)
	w.scenario()
	ctx := context.Background()
	project(t, w.events, w.views, w.reg, accounts.Projector{}, 100)
	names := func(q string) []string {
		emps, _, err := accounts.FindEmployeesByName(ctx, w.views, q, 10)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range emps {
			out = append(out, e.Name)
		}
		return out
	}
	cases := map[string][]string{
		"siti":          {"Siti Aminah binti Omar"},
		"fadz sul":      {"Mohd Fadzlezam bin Sulaiman"},
		"SULAIMAN":      {"Mohd Fadzlezam bin Sulaiman"},
		"moh":           {"Mohamad Amirudin bin Zainal", "Mohd Fadzlezam bin Sulaiman"},
		"mohamad":       {"Mohamad Amirudin bin Zainal"},
		"lim mei":       {"Lim Mei Ling"},
		"nurul hidayah": {"Nurul Hidayah binti Rahman"},
		"nurul huda":    nil, // the old name is gone from the index
		"binti":         nil, // "bin"/"binti" are not indexed
		"zzz":           nil,
		"":              nil,
	}
	for q, want := range cases {
		if got := names(q); !reflect.DeepEqual(got, want) {
			t.Errorf("FindEmployeesByName(%q) = %v, want %v", q, got, want)
		}
	}
	people, _, err := accounts.FindPeople(ctx, w.views, "791117-04-5671", 10)
	if err != nil || len(people) != 1 || people[0].Account == nil || people[0].Account.UserID != sitiIC {
		t.Fatalf("by IC: %+v %v", people, err)
	}
	people, _, err = accounts.FindPeople(ctx, w.views, "lim", 10)
	if err != nil || len(people) != 1 || people[0].Account != nil || people[0].Employee.Department != "Pejabat Tanah dan Galian" {
		t.Fatalf("by name, not registered: %+v %v", people, err)
	}
	e, ok, _ := accounts.GetEmployee(ctx, w.views, nurulIC)
	if !ok || !e.InService(w.now) || e.UpdatedAt == nil || e.Email != "pentadbiran.jkr@melaka.gov.my" {
		t.Fatalf("employee %+v", e)
	}
}

func TestEmployeeSearchTruncates(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	for i := 0; i < 30; i++ {
		ic := fmt.Sprintf("8001010100%02d", i)
		w.staff(ic, fmt.Sprintf("Ahmad Staf%02d bin Ali", i), fmt.Sprintf("staf%02d@melaka.gov.my", i), "Jabatan Ujian", "Pegawai", fmt.Sprintf("U-%02d", i))
	}
	project(t, w.events, w.views, w.reg, accounts.Projector{}, 1000)
	emps, truncated, err := accounts.FindEmployeesByName(ctx, w.views, "ahmad", 10)
	if err != nil || len(emps) != 10 || !truncated || emps[0].Name != "Ahmad Staf00 bin Ali" {
		t.Fatalf("%d results, truncated %v, %v", len(emps), truncated, err)
	}
	emps, truncated, _ = accounts.FindEmployeesByName(ctx, w.views, "staf07", 10)
	if len(emps) != 1 || truncated {
		t.Fatalf("exact: %d %v", len(emps), truncated)
	}
}

func TestLoginAttempts(t *testing.T) {
	w := newWorld(t)
	w.scenario()
	ctx := context.Background()
	project(t, w.events, w.views, w.reg, accounts.AttemptsProjector{}, 5)
	atts, next, err := accounts.RecentAttempts(ctx, w.views, sitiIC, 50, "")
	if err != nil || next != "" {
		t.Fatal(err)
	}
	var outcomes []string
	for _, a := range atts {
		outcomes = append(outcomes, a.Outcome+"/"+a.Reason)
		if a.SourceIP != "10.1.2.3" || a.Subject != sitiIC {
			t.Fatalf("attempt %+v", a)
		}
	}
	// Newest first: the lock, three failures, the success, a failure, the
	// first (temporary) login.
	want := []string{"locked/", "failed/wrong_password", "failed/wrong_password", "failed/wrong_password", "password_accepted/", "failed/wrong_password", "password_accepted/"}
	if !reflect.DeepEqual(outcomes, want) {
		t.Fatalf("attempts %v", outcomes)
	}
	if !atts[len(atts)-1].Temporary || atts[1].Consecutive != 3 {
		t.Fatalf("details %+v", atts)
	}
	// Paging.
	first, cursor, err := accounts.RecentAttempts(ctx, w.views, sitiIC, 3, "")
	if err != nil || len(first) != 3 || cursor == "" {
		t.Fatal(err)
	}
	rest, _, _ := accounts.RecentAttempts(ctx, w.views, sitiIC, 10, cursor)
	if len(rest) != 4 || rest[0].Position >= first[2].Position {
		t.Fatalf("second page %+v", rest)
	}
	// The unknown ID's attempts, found through its probe key.
	probe, _, _ := accounts.RecentAttempts(ctx, w.views, accounts.ProbeSubject(w.keyed.ProbeKey(strangerIC)), 50, "")
	outcomes = nil
	for _, a := range probe {
		outcomes = append(outcomes, a.Outcome+"/"+a.Reason)
	}
	want = []string{"failed/unknown_user_id_locked", "locked/", "failed/unknown_user_id", "failed/unknown_user_id", "failed/unknown_user_id"}
	if !reflect.DeepEqual(outcomes, want) {
		t.Fatalf("probe attempts %v", outcomes)
	}
}

// Every event delivered twice leaves the same read model, and a rebuild
// from scratch in other batch sizes equals the live one.
func TestDeliveredTwiceAndRebuildEqualLive(t *testing.T) {
	w := newWorld(t)
	w.scenario()
	for _, p := range []projections.Projector{accounts.Projector{}, accounts.AttemptsProjector{}} {
		project(t, w.events, w.views, w.reg, p, 3)
		w.sameAfterReplayAndRebuild(p)
	}
}

// sameAfterReplayAndRebuild checks that p's views, as live projection left
// them, stay the same when every event is delivered again, and that a
// rebuild from scratch in other batch sizes equals them.
func (w *world) sameAfterReplayAndRebuild(p projections.Projector) {
	t, ctx := w.t, context.Background()
	t.Helper()
	live := dump(t, w.views, p)
	replayAll(t, w.events, w.views, w.reg, p)
	if again := dump(t, w.views, p); !reflect.DeepEqual(live, again) {
		t.Fatalf("%s: a replay changed the views", p.Name())
	}
	shadow, err := w.views.BeginRebuild(ctx, p.Name(), p.Collections()...)
	if err != nil {
		t.Fatal(err)
	}
	project(t, w.events, shadow, w.reg, p, 1000)
	if err := w.views.SwapRebuild(ctx, p.Name(), p.Collections()...); err != nil {
		t.Fatal(err)
	}
	if rebuilt := dump(t, w.views, p); !reflect.DeepEqual(live, rebuilt) {
		for k, v := range live {
			if rebuilt[k] != v {
				t.Errorf("%s: %s live %s rebuilt %s", p.Name(), k, v, rebuilt[k])
			}
		}
		t.Fatalf("%s: the rebuild differs from live (%d vs %d docs)", p.Name(), len(live), len(rebuilt))
	}
}

func TestLoginChallenge(t *testing.T) {
	w := newWorld(t)
	w.scenario()
	ctx := context.Background()
	project(t, w.events, w.views, w.reg, accounts.Projector{}, 100)
	own, err := accounts.LoginChallenge(ctx, w.views, w.sealer, w.keyed, sitiIC)
	if err != nil || own != (accounts.Challenge{ImageID: "kucing", Phrase: "Kucing Jingga"}) {
		t.Fatalf("own challenge %+v %v", own, err)
	}
	// Unknown ID and a registered, not yet activated account: a decoy,
	// fixed per ID, from the gallery and the decoy phrases.
	for _, id := range []string{strangerIC, nurulIC} {
		a, err := accounts.LoginChallenge(ctx, w.views, w.sealer, w.keyed, id)
		b, _ := accounts.LoginChallenge(ctx, w.views, w.sealer, w.keyed, id)
		if err != nil || a != b || !account.ValidSecurityImage(a.ImageID) || a.Phrase == "" {
			t.Fatalf("decoy for %s: %+v %+v %v", id, a, b, err)
		}
	}
	// A different sealing key cannot open the phrase: the decoy comes back
	// with the error.
	other, _ := security.NewSealer(make32(9))
	got, err := accounts.LoginChallenge(ctx, w.views, other, w.keyed, sitiIC)
	if err == nil || got.Phrase == "Kucing Jingga" {
		t.Fatalf("wrong key: %+v %v", got, err)
	}
}

func make32(b byte) []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = b
	}
	return k
}

// TestAccountViewLoginWaitsForSecondFactor: with TOTP on, a right password
// whose code step is abandoned is not a login: the last login stays the
// owner's, the failures since it are kept, and the owner's next completed
// login names the one before it and counts the stranger's wrong password.
func TestAccountViewLoginWaitsForSecondFactor(t *testing.T) {
	w := newWorld(t)
	w.scenario()
	ctx := context.Background()
	const pw = "durian musang king"
	lim := w.activeLim(pw)
	code := w.enrolTOTP(lim, pw)
	fullLogin := func() time.Time {
		t.Helper()
		w.now = w.now.Add(time.Hour)
		at := w.now
		if err := w.logIn(lim, pw); err != nil {
			t.Fatal(err)
		}
		w.now = w.now.Add(30 * time.Second)
		if _, err := w.h.VerifyTOTP.Handle(ctx, commands.VerifyTOTP{Meta: w.meta(eventlog.ActorUser, lim), UserID: lim, Code: code()}); err != nil {
			t.Fatal(err)
		}
		return at
	}
	view := func() accounts.Account {
		t.Helper()
		project(t, w.events, w.views, w.reg, accounts.Projector{}, 6)
		a, _, err := accounts.GetAccount(ctx, w.views, lim)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	same := func(p *time.Time, want time.Time) bool { return p != nil && p.Equal(want) }

	t1 := fullLogin()
	// Someone with the password, not the phone: a wrong password, the
	// right one, then no code.
	w.now = w.now.Add(time.Hour)
	if err := w.logIn(lim, "bukan kata laluan"); !errors.Is(err, account.ErrWrongPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	if err := w.logIn(lim, pw); err != nil {
		t.Fatal(err)
	}
	t2 := w.now
	a := view()
	if !same(a.LastLogin, t1) || !same(a.PendingLogin, t2) || a.FailedSinceLogin != 1 || a.FailedAttempts != 1 {
		t.Fatalf("after the abandoned code step: last %v pending %v, failed since %d, attempts %d; want %v %v 1 1",
			a.LastLogin, a.PendingLogin, a.FailedSinceLogin, a.FailedAttempts, t1, t2)
	}

	// The owner gives her code again in a session already logged in (a
	// step-up): no login, so the one waiting for its code stays so.
	w.now = w.now.Add(30 * time.Second)
	if _, err := w.h.VerifyTOTP.Handle(ctx, commands.VerifyTOTP{Meta: w.meta(eventlog.ActorUser, lim), UserID: lim, Code: code(), StepUp: true}); err != nil {
		t.Fatal(err)
	}
	if a = view(); !same(a.LastLogin, t1) || !same(a.PendingLogin, t2) || a.FailedSinceLogin != 1 {
		t.Fatalf("after a step-up: last %v pending %v, failed since %d; want %v %v 1", a.LastLogin, a.PendingLogin, a.FailedSinceLogin, t1, t2)
	}

	t3 := fullLogin()
	a = view()
	if !same(a.LastLogin, t3) || !same(a.PreviousLogin, t1) || a.FailedBeforeLogin != 1 || a.FailedSinceLogin != 0 || a.PendingLogin != nil {
		t.Fatalf("after the owner's login: last %v previous %v pending %v, failed before %d since %d; want %v %v nil 1 0",
			a.LastLogin, a.PreviousLogin, a.PendingLogin, a.FailedBeforeLogin, a.FailedSinceLogin, t3, t1)
	}
}

// TestInServiceIsAskedOfTheClock: the views keep the leaving date, not a
// flag set when the event arrived: someone whose date is still ahead reads
// as in service (the admin pages, the login's view) until the date begins
// in Melaka, and as a leaver from then on, without another event.
func TestInServiceIsAskedOfTheClock(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.staff(sitiIC, "Siti Aminah binti Omar", "siti.aminah@melaka.gov.my", "Jabatan Kewangan dan Perbendaharaan", "Pegawai Kewangan", "JKPN-0042")
	w.activate(sitiIC, "siti.aminah@melaka.gov.my", "kuih lapis sedap sekali")
	w.must(w.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: w.meta(eventlog.ActorSystem, "import"), IC: sitiIC, Date: "2026-03-05", Reason: "bersara"}))
	project(t, w.events, w.views, w.reg, accounts.Projector{}, 10)

	dateBegins := time.Date(2026, 3, 4, 16, 0, 0, 0, time.UTC) // 00:00 on 5 March in Melaka
	a, _, err := accounts.GetAccount(ctx, w.views, sitiIC)
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := accounts.GetEmployee(ctx, w.views, sitiIC)
	if err != nil {
		t.Fatal(err)
	}
	for at, want := range map[time.Time]bool{w.now: true, dateBegins.Add(-time.Second): true, dateBegins: false} {
		if a.EmployeeInService(at) != want || e.InService(at) != want {
			t.Errorf("at %s: account view in service %v, employee %v, want %v", at, a.EmployeeInService(at), e.InService(at), want)
		}
	}
	if a.EmployeeLeftOn != "2026-03-05" || e.LeftOn != "2026-03-05" {
		t.Errorf("leaving date: account %q, employee %q", a.EmployeeLeftOn, e.LeftOn)
	}

	// Rejoined after the date: in service again, no date.
	w.now = dateBegins.Add(time.Hour)
	w.staff(sitiIC, "Siti Aminah binti Omar", "siti.aminah@melaka.gov.my", "Jabatan Kewangan dan Perbendaharaan", "Pegawai Kewangan", "JKPN-0042")
	project(t, w.events, w.views, w.reg, accounts.Projector{}, 10)
	a, _, _ = accounts.GetAccount(ctx, w.views, sitiIC)
	if !a.EmployeeInService(w.now) || a.EmployeeLeftOn != "" {
		t.Errorf("rejoined: %+v", a)
	}
}

// TestLeavingCancelledClearsTheDate: a retirement reported for 5 March is
// cancelled on 2 March. The employee and the account views lose the date
// (the admin pages no longer say "Akan keluar perkhidmatan pada …") and
// read as in service past it; delivered twice, and rebuilt, they say the
// same.
func TestLeavingCancelledClearsTheDate(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.staff(sitiIC, "Siti Aminah binti Omar", "siti.aminah@melaka.gov.my", "Jabatan Kewangan dan Perbendaharaan", "Pegawai Kewangan", "JKPN-0042")
	w.activate(sitiIC, "siti.aminah@melaka.gov.my", "kuih lapis sedap sekali")
	w.must(w.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: w.meta(eventlog.ActorSystem, "import"), IC: sitiIC, Date: "2026-03-05", Reason: "bersara"}))
	p := accounts.Projector{}
	project(t, w.events, w.views, w.reg, p, 10)
	if a, _, _ := accounts.GetAccount(ctx, w.views, sitiIC); a.EmployeeLeftOn != "2026-03-05" {
		t.Fatalf("before the cancel: account leaving date %q", a.EmployeeLeftOn)
	}

	w.now = w.now.Add(time.Hour)
	w.must(w.h.CancelLeaving.Handle(ctx, commands.CancelLeaving{Meta: w.meta(eventlog.ActorClient, "payroll"), IC: sitiIC, Reason: "ditangguhkan"}))
	if n := project(t, w.events, w.views, w.reg, p, 10); n != 1 {
		t.Fatalf("projected %d events of the cancel, want 1", n)
	}
	dateBegins := time.Date(2026, 3, 4, 16, 0, 0, 0, time.UTC) // 00:00 on 5 March in Melaka
	check := func(when string) {
		t.Helper()
		a, _, err := accounts.GetAccount(ctx, w.views, sitiIC)
		if err != nil {
			t.Fatal(err)
		}
		e, _, err := accounts.GetEmployee(ctx, w.views, sitiIC)
		if err != nil {
			t.Fatal(err)
		}
		if a.EmployeeLeftOn != "" || e.LeftOn != "" || !a.EmployeeInService(dateBegins) || !e.InService(dateBegins.AddDate(0, 1, 0)) {
			t.Fatalf("%s: account leaving date %q, employee %q", when, a.EmployeeLeftOn, e.LeftOn)
		}
		if a.Name != "Siti Aminah binti Omar" || e.Post != "Pegawai Kewangan" || !a.Activated {
			t.Fatalf("%s: the rest of the views changed: %+v %+v", when, a, e)
		}
	}
	check("after the cancel")
	w.sameAfterReplayAndRebuild(p)
	check("rebuilt")
}

// A put that changes nothing under a client's request ID is recorded
// (employee.StaffUnchanged, so a re-sent request stays a repeat) but is no
// update: the views do not see it, and the update after it is projected as
// before.
func TestUnchangedPutLeavesTheView(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.staff(sitiIC, "Siti Aminah binti Omar", "siti.aminah@melaka.gov.my", "Jabatan Kewangan dan Perbendaharaan", "Pegawai Kewangan", "JKPN-0042")
	p := accounts.Projector{}
	project(t, w.events, w.views, w.reg, p, 10)
	d := employee.Details{IC: sitiIC, Name: "Siti Aminah binti Omar", Email: "siti.aminah@melaka.gov.my", Department: "Jabatan Kewangan dan Perbendaharaan", Post: "Pegawai Kewangan", StaffNumber: "JKPN-0042"}
	keyed := w.meta(eventlog.ActorClient, "payroll")
	keyed.CommandID = commands.ClientCommandID("payroll", "PUT /employees/"+sitiIC+"\nsync-1")
	res, err := w.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: keyed, Details: d})
	if err != nil || !res.NoChange || res.Appended != 1 {
		t.Fatalf("unchanged put: %+v, %v", res, err)
	}
	if n := project(t, w.events, w.views, w.reg, p, 10); n != 0 {
		t.Fatalf("projected %d events of the unchanged put, want none", n)
	}
	d.Post = "Akauntan"
	w.must(w.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: w.meta(eventlog.ActorClient, "payroll"), Details: d}))
	if n := project(t, w.events, w.views, w.reg, p, 10); n != 1 {
		t.Fatalf("projected %d events of the update, want 1", n)
	}
	if e, _, err := accounts.GetEmployee(ctx, w.views, sitiIC); err != nil || e.Post != "Akauntan" || e.Name != "Siti Aminah binti Omar" {
		t.Fatalf("employee view %+v, %v", e, err)
	}
	w.sameAfterReplayAndRebuild(p)
}

// A report of the leaving date the record already had, under a client's
// request ID, is recorded (employee.LeavingDateUnchanged, so a re-sent
// request stays a repeat) but changes nothing: the views do not see it, and
// the report after it that moves the date is projected as before.
func TestUnchangedLeavingDateLeavesTheView(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.staff(sitiIC, "Siti Aminah binti Omar", "siti.aminah@melaka.gov.my", "Jabatan Kewangan dan Perbendaharaan", "Pegawai Kewangan", "JKPN-0042")
	w.must(w.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: w.meta(eventlog.ActorClient, "payroll"), IC: sitiIC, Date: "2026-03-05", Reason: "bersara"}))
	p := accounts.Projector{}
	project(t, w.events, w.views, w.reg, p, 10)
	keyed := w.meta(eventlog.ActorClient, "payroll")
	keyed.CommandID = commands.ClientCommandID("payroll", "POST /employees/"+sitiIC+"/left-service\nleave-1")
	res, err := w.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: keyed, IC: sitiIC, Date: "2026-03-05", Reason: "bersara"})
	if err != nil || !res.NoChange || res.Appended != 1 {
		t.Fatalf("same date: %+v, %v", res, err)
	}
	if n := project(t, w.events, w.views, w.reg, p, 10); n != 0 {
		t.Fatalf("projected %d events of the same date, want none", n)
	}
	w.must(w.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: w.meta(eventlog.ActorClient, "payroll"), IC: sitiIC, Date: "2026-04-30", Reason: "bersara"}))
	if n := project(t, w.events, w.views, w.reg, p, 10); n != 1 {
		t.Fatalf("projected %d events of the move, want 1", n)
	}
	if e, _, err := accounts.GetEmployee(ctx, w.views, sitiIC); err != nil || e.LeftOn != "2026-04-30" || e.Post != "Pegawai Kewangan" {
		t.Fatalf("employee view %+v, %v", e, err)
	}
	w.sameAfterReplayAndRebuild(p)
}

// A refused cancellation and a refused leaving date recorded under their
// request IDs (employee.CancellationRefused, employee.LeavingDateRefused)
// are not projected: the employee view stays as it was.
func TestRefusedLeavingRequestsLeaveTheView(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.staff(sitiIC, "Siti Aminah binti Omar", "siti.aminah@melaka.gov.my", "Jabatan Kewangan dan Perbendaharaan", "Pegawai Kewangan", "JKPN-0042")
	p := accounts.Projector{}
	project(t, w.events, w.views, w.reg, p, 10)
	keyed := w.meta(eventlog.ActorClient, "payroll")
	keyed.CommandID = commands.ClientCommandID("payroll", "DELETE /employees/"+sitiIC+"/left-service\ncancel-1")
	res, err := w.h.CancelLeaving.Handle(ctx, commands.CancelLeaving{Meta: keyed, IC: sitiIC})
	if !errors.Is(err, employee.ErrNoLeavingDate) || res.Appended != 1 {
		t.Fatalf("cancel with no date: %+v, %v", res, err)
	}
	if n := project(t, w.events, w.views, w.reg, p, 10); n != 0 {
		t.Fatalf("projected %d events of the refusal, want none", n)
	}
	if e, _, err := accounts.GetEmployee(ctx, w.views, sitiIC); err != nil || e.LeftOn != "" || e.Post != "Pegawai Kewangan" {
		t.Fatalf("employee view %+v, %v", e, err)
	}
	w.sameAfterReplayAndRebuild(p)
}

// A role is shown for the term of service it was granted in, as the
// commands hold it: given an auditor who leaves service and is recorded
// again (a rejoin), the view shows no role, and granted anew it shows it;
// a rebuild gives the same.
func TestAccountViewRolesFollowTheTermOfService(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.staff(sitiIC, "Siti Aminah binti Omar", "siti.aminah@melaka.gov.my", "Jabatan Kewangan dan Perbendaharaan", "Pegawai Kewangan", "JKPN-0042")
	w.activate(sitiIC, "siti.aminah@melaka.gov.my", "kuih lapis sedap sekali")
	w.must(w.h.GrantRole.Handle(ctx, commands.GrantRole{Meta: w.meta(eventlog.ActorSystem, "cli:pentadbir"), UserID: sitiIC, Role: account.RoleAuditor}))
	p := accounts.Projector{}
	roles := func(when string, want ...string) {
		t.Helper()
		project(t, w.events, w.views, w.reg, p, 10)
		a, _, err := accounts.GetAccount(ctx, w.views, sitiIC)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a.Roles, append([]string{}, want...)) {
			t.Fatalf("%s: roles %v, want %v (%+v)", when, a.Roles, want, a)
		}
	}
	roles("granted", "auditor")
	w.must(w.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: w.meta(eventlog.ActorSystem, "import"), IC: sitiIC, Date: "2026-03-01", Reason: "bertukar"}))
	w.now = time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC)
	w.staff(sitiIC, "Siti Aminah binti Omar", "siti.aminah@melaka.gov.my", "Jabatan Ketua Menteri", "Pegawai Tadbir", "JKM-0007")
	roles("recorded again")
	if e, _, _ := accounts.GetEmployee(ctx, w.views, sitiIC); e.Term != 2 {
		t.Errorf("employee term %d after a rejoin, want 2", e.Term)
	}
	w.must(w.h.GrantRole.Handle(ctx, commands.GrantRole{Meta: w.meta(eventlog.ActorSystem, "cli:pentadbir"), UserID: sitiIC, Role: account.RoleAuditor}))
	roles("granted anew", "auditor")
	w.sameAfterReplayAndRebuild(p)
	roles("rebuilt", "auditor")
}
