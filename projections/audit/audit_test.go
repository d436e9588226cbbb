package audit_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/loginprobe"
	"github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	"github.com/melaka-gov/ispeks/infra/security"
	"github.com/melaka-gov/ispeks/projections/audit"
)

// fixture: the real SQLite event store in a temporary directory, the real
// account commands and security components (argon2id with small
// parameters), and a clock the test moves.
type fixture struct {
	t      *testing.T
	path   string
	store  *sqlite.Store
	reg    *eventlog.Registry
	sealer *security.Sealer
	keyed  *security.Keyed
	h      commands.AccountHandlers
	log    *audit.Log

	mu  sync.Mutex
	now time.Time
}

const (
	sitiIC  = "791117045671"
	hafizIC = "900512015123"
	adminIC = "750101045001"
	sitiPW  = "kuih lapis sedap sekali"
)

var t0 = time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, path: filepath.Join(t.TempDir(), "events.db"), now: t0}
	store, err := sqlite.Open(context.Background(), f.path, sqlite.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f.store = store
	f.reg = eventlog.NewRegistry()
	account.Register(f.reg)
	employee.Register(f.reg)
	loginprobe.Register(f.reg)
	master := bytes.Repeat([]byte{7}, security.MasterKeySize)
	if f.sealer, err = security.NewSealer(master); err != nil {
		t.Fatal(err)
	}
	if f.keyed, err = security.NewKeyed(master); err != nil {
		t.Fatal(err)
	}
	runner := commands.Runner{Store: store, Registry: f.reg, Now: f.clock}
	f.h = commands.NewAccountHandlers(runner, commands.AccountSecurity{
		Hasher: security.NewArgon2(security.Argon2Params{MemoryKiB: 256, Time: 1, Threads: 1}, 0),
		Sealer: f.sealer, Keyed: f.keyed, TOTP: security.TOTP{}, Secrets: security.Generator{},
	}, commands.AccountPolicy{})
	f.log = audit.New(store, f.reg, f.keyed.ProbeKey)
	for _, d := range []employee.Details{
		{IC: sitiIC, Name: "Siti Aminah binti Omar", Email: "siti.aminah@melaka.gov.my", Department: "Jabatan Kewangan", Post: "Pegawai Kewangan", StaffNumber: "JKPN-0042"},
		{IC: hafizIC, Name: "Hafiz bin Ismail", Email: "hafiz@melaka.gov.my", Department: "Jabatan Kerja Raya", Post: "Juruteknik", StaffNumber: "JKR-1002"},
	} {
		f.ok(f.h.PutStaff.Handle(context.Background(), commands.PutStaff{Meta: f.meta(eventlog.ActorSystem, "test"), Details: d}))
	}
	created, _, err := f.h.CreateAdministrator.Create(context.Background(), commands.CreateAdministrator{Meta: f.meta(eventlog.ActorSystem, "test"), Staff: employee.Details{
		IC: adminIC, Name: "Mohd Fadzlezam bin Sulaiman", Email: "fadzlezam@melaka.gov.my", Department: "Jabatan Kewangan", Post: "Pegawai Teknologi Maklumat", StaffNumber: "JKPN-0001",
	}})
	if err != nil {
		t.Fatal(err)
	}
	f.activate(adminIC, created.TemporaryPassword, "pentadbir sistem melaka")
	return f
}

func (f *fixture) clock() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func (f *fixture) meta(kind, id string) commands.Meta {
	return commands.Meta{CommandID: uuid.New(), Actor: eventlog.Actor{Kind: kind, ID: id}, SourceIP: "192.0.2.7", UserAgent: "Mozilla/5.0 (test)"}
}

func (f *fixture) ok(res commands.Result, err error) commands.Result {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("given: %v", err)
	}
	return res
}

func (f *fixture) activate(ic, temp, pw string) {
	f.t.Helper()
	if _, _, err := f.h.LogIn.LogIn(context.Background(), commands.LogIn{Meta: f.meta(eventlog.ActorAnonymous, ""), UserID: ic, Password: temp}); err != nil {
		f.t.Fatal(err)
	}
	f.ok(f.h.Activate.Handle(context.Background(), commands.ActivateAccount{Meta: f.meta(eventlog.ActorUser, ic), UserID: ic, Form: account.ActivationForm{
		Password: pw, ConfirmPassword: pw, QuestionID: "haiwan-peliharaan", Answer: "Comot", ImageID: "wau-bulan", Phrase: "Pantai Tenang",
	}}))
}

func (f *fixture) register(ic, email string) {
	f.t.Helper()
	f.ok(f.h.Register.Handle(context.Background(), commands.RegisterAccount{Meta: f.meta(eventlog.ActorAnonymous, ""), IC: ic, Email: email}))
	recs, err := f.store.ReadStream(context.Background(), "account-"+ic, 1, eventlog.Forwards, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	for i := len(recs) - 1; i >= 0; i-- {
		env, err := f.reg.Decode(recs[i])
		if err != nil {
			f.t.Fatal(err)
		}
		if ev, ok := env.Event.(account.TemporaryPasswordIssued); ok {
			pt, err := f.sealer.Open(ev.Sealed, ev.AAD())
			if err != nil {
				f.t.Fatal(err)
			}
			f.activate(ic, string(pt), sitiPW)
			return
		}
	}
	f.t.Fatal("no temporary password")
}

func (f *fixture) login(ic, pw string) error {
	_, _, err := f.h.LogIn.LogIn(context.Background(), commands.LogIn{Meta: f.meta(eventlog.ActorAnonymous, ""), UserID: ic, Password: pw})
	return err
}

// story is the history most tests read: Siti activates at t0; from
// t0+1h three wrong passwords a minute apart lock her account; at t0+2h
// the right password is refused; at t0+3h the administrator unlocks; at
// t0+4h she logs in. Before any of it, two attempts were made on Hafiz's
// ID while it had no account, then he registered.
type story struct {
	lockedAt, unlockedAt time.Time
}

func (f *fixture) story() story {
	f.t.Helper()
	var s story
	for range 2 {
		if err := f.login(hafizIC, "teka teki"); !errors.Is(err, account.ErrWrongPassword) {
			f.t.Fatalf("probe attempt: %v", err)
		}
		f.advance(time.Minute)
	}
	f.register(hafizIC, "hafiz@melaka.gov.my")
	f.register(sitiIC, "siti.aminah@melaka.gov.my")
	f.advance(time.Hour)
	for i := range 3 {
		err := f.login(sitiIC, "salah lagi")
		if i < 2 && !errors.Is(err, account.ErrWrongPassword) || i == 2 && !errors.Is(err, account.ErrLocked) {
			f.t.Fatalf("attempt %d: %v", i+1, err)
		}
		if i == 2 {
			s.lockedAt = f.clock()
		}
		f.advance(time.Minute)
	}
	f.advance(time.Hour)
	if err := f.login(sitiIC, sitiPW); !errors.Is(err, account.ErrLocked) {
		f.t.Fatalf("right password while locked: %v", err)
	}
	f.advance(time.Hour)
	s.unlockedAt = f.clock()
	f.ok(f.h.UnlockAccount.Handle(context.Background(), commands.UnlockAccount{Meta: f.meta(eventlog.ActorAdmin, adminIC), UserID: sitiIC, Reason: "=HYPERLINK(\"x\") pemanggil disahkan"}))
	f.advance(time.Hour)
	if err := f.login(sitiIC, sitiPW); err != nil {
		f.t.Fatalf("login after unlock: %v", err)
	}
	return s
}

func kinds(es []audit.Entry) []audit.Kind {
	out := make([]audit.Kind, len(es))
	for i, e := range es {
		out[i] = e.Kind
	}
	return out
}

func TestTimelineReplaysLoginAndLockoutInOrder(t *testing.T) {
	f := newFixture(t)
	f.story()
	ctx := context.Background()

	tl, err := f.log.Timeline(ctx, "791117-04-5671", audit.Filter{LoginOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []audit.Kind{audit.KindLoginSucceeded, audit.KindLoginFailed, audit.KindLoginFailed, audit.KindLoginFailed,
		audit.KindLocked, audit.KindLoginFailed, audit.KindUnlocked, audit.KindLoginSucceeded}
	if got := kinds(tl.Entries); !slices.Equal(got, want) {
		t.Fatalf("timeline kinds\n got %v\nwant %v", got, want)
	}
	if tl.UserID != sitiIC || !tl.Registered || tl.Truncated() || !tl.Integrity.OK() {
		t.Fatalf("timeline header %+v", tl)
	}
	e := tl.Entries
	if e[0].Detail != "temporary" || e[1].Detail != "wrong_password" || e[1].Consecutive != 1 || e[3].Consecutive != 3 {
		t.Errorf("attempt details: %+v %+v %+v", e[0], e[1], e[3])
	}
	if !e[4].After.Locked || e[4].Consecutive != 3 || e[3].After.Locked {
		t.Errorf("lock: %+v after the 3rd failure %+v", e[4], e[3])
	}
	if e[5].Detail != "account_locked" || !e[5].After.Locked {
		t.Errorf("right password while locked: %+v", e[5])
	}
	if e[6].Actor != (eventlog.Actor{Kind: eventlog.ActorAdmin, ID: adminIC}) || e[6].After.Locked || e[6].After.Failed != 0 || !strings.Contains(e[6].Note, "pemanggil disahkan") {
		t.Errorf("unlock: %+v", e[6])
	}
	for i := 1; i < len(e); i++ {
		if e[i].Position <= e[i-1].Position || e[i].At.Before(e[i-1].At) {
			t.Errorf("entry %d out of order", i)
		}
		if e[i].SourceIP != "192.0.2.7" || e[i].Link != audit.LinkOK || e[i].Hash == "" {
			t.Errorf("entry %d: %+v", i, e[i])
		}
	}

	// Everything: registration, activation and sessions ended appear too.
	all, err := f.log.Timeline(ctx, sitiIC, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []audit.Kind{audit.KindRegistered, audit.KindTemporaryPassword, audit.KindActivated, audit.KindSessionsEnded} {
		if !slices.Contains(kinds(all.Entries), k) {
			t.Errorf("full timeline lacks %s", k)
		}
	}
	if all.Matched != len(all.Entries) || all.Matched <= tl.Matched {
		t.Fatalf("full timeline %d entries, login-only %d", all.Matched, tl.Matched)
	}

	// Attempts made before registration come from the login probe.
	hz, err := f.log.Timeline(ctx, hafizIC, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if got := kinds(hz.Entries)[:3]; !slices.Equal(got, []audit.Kind{audit.KindProbeFailed, audit.KindProbeFailed, audit.KindRegistered}) {
		t.Fatalf("Hafiz starts with %v", got)
	}
	if hz.Entries[1].Consecutive != 2 || hz.Entries[1].After.Status != "unknown_id" || len(hz.Integrity.Streams) != 2 || hz.Integrity.Streams[1].Events != 2 {
		t.Fatalf("probe entries %+v, integrity %+v", hz.Entries[1], hz.Integrity)
	}

	// Reading a page of two events at a time merges the same way.
	small := *f.log
	small.PageSize = 2
	for _, ic := range []string{sitiIC, hafizIC} {
		a, _ := f.log.Timeline(ctx, ic, audit.Filter{})
		b, err := small.Timeline(ctx, ic, audit.Filter{})
		if err != nil || !slices.EqualFunc(a.Entries, b.Entries, func(x, y audit.Entry) bool { return x.EventID == y.EventID && x.After == y.After }) {
			t.Fatalf("%s: paged read differs (%v)", ic, err)
		}
	}
}

// The auditor's timeline shows the account's e-mail following the employee
// master, by the system, apart from the login history; the run of failures
// before it stands in its snapshot (following proved nothing), and the
// account's state replays with it.
func TestTimelineShowsTheEmailFollowingTheMaster(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.register(sitiIC, "siti.aminah@melaka.gov.my")
	f.advance(time.Hour)
	if err := f.login(sitiIC, "salah"); !errors.Is(err, account.ErrWrongPassword) {
		t.Fatal(err)
	}
	f.advance(time.Minute)
	f.ok(f.h.FollowMasterEmail.Handle(ctx, commands.FollowMasterEmail{Meta: f.meta(eventlog.ActorSystem, "email_follower"), UserID: sitiIC,
		PreviousEmail: "siti.aminah@melaka.gov.my", Email: "kewangan.tengah@melaka.gov.my"}))
	all, err := f.log.Timeline(ctx, sitiIC, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	last, ended := all.Entries[len(all.Entries)-2], all.Entries[len(all.Entries)-1]
	if last.Kind != audit.KindEmailFollowed || last.Type != "account.EmailFollowedMaster.v1" || last.Actor.Kind != eventlog.ActorSystem ||
		last.After.Failed != 1 || last.Link != audit.LinkOK || !all.Integrity.OK() {
		t.Fatalf("entry %+v", last)
	}
	// With it the logins waiting after a temporary password ended, only
	// those: not shown as every session ended.
	if ended.Kind != audit.KindTemporaryLoginsEnded || ended.Detail != "email_changed" || ended.Actor.Kind != eventlog.ActorSystem {
		t.Fatalf("last entry %+v", ended)
	}
	if strings.Contains(last.Detail+last.Note, "@") {
		t.Fatalf("the timeline shows an address: %+v", last)
	}
	login, err := f.log.Timeline(ctx, sitiIC, audit.Filter{LoginOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(kinds(login.Entries), audit.KindEmailFollowed) {
		t.Fatal("the e-mail following the master is in the login history")
	}
	st, err := f.log.AsOf(ctx, sitiIC, f.clock())
	if err != nil || st.Unfit != 0 || st.FailedAttempts != 1 || st.Last == nil || st.Last.Kind != audit.KindTemporaryLoginsEnded {
		t.Fatalf("state after following: %+v %v", st, err)
	}
}

// The auditor's timeline shows the account's name following the employee
// master (an HR correction), by the system, apart from the login history,
// with no name in it; the state replays with it.
func TestTimelineShowsTheNameFollowingTheMaster(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.register(sitiIC, "siti.aminah@melaka.gov.my")
	f.advance(time.Hour)
	f.ok(f.h.FollowMasterName.Handle(ctx, commands.FollowMasterName{Meta: f.meta(eventlog.ActorSystem, "name_follower"), UserID: sitiIC,
		Name: "Siti Aminah binti Omar Baki"}))
	all, err := f.log.Timeline(ctx, sitiIC, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	last := all.Entries[len(all.Entries)-1]
	if last.Kind != audit.KindNameFollowed || last.Type != "account.NameFollowedMaster.v1" || last.Actor.Kind != eventlog.ActorSystem ||
		last.Link != audit.LinkOK || !all.Integrity.OK() {
		t.Fatalf("last entry %+v", last)
	}
	if strings.Contains(last.Detail+last.Note, "Baki") {
		t.Fatalf("the timeline shows the name: %+v", last)
	}
	login, err := f.log.Timeline(ctx, sitiIC, audit.Filter{LoginOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(kinds(login.Entries), audit.KindNameFollowed) {
		t.Fatal("the name following the master is in the login history")
	}
	st, err := f.log.AsOf(ctx, sitiIC, f.clock())
	if err != nil || st.Unfit != 0 || st.Last == nil || st.Last.Kind != audit.KindNameFollowed {
		t.Fatalf("state after following: %+v %v", st, err)
	}
}

func TestTimelineFilterAndLimit(t *testing.T) {
	f := newFixture(t)
	s := f.story()
	ctx := context.Background()
	// The three failures and the lock fall within [t0+1h, lockedAt+1s).
	tl, err := f.log.Timeline(ctx, sitiIC, audit.Filter{From: t0.Add(time.Hour), To: s.lockedAt.Add(time.Second), LoginOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := kinds(tl.Entries); !slices.Equal(got, []audit.Kind{audit.KindLoginFailed, audit.KindLoginFailed, audit.KindLoginFailed, audit.KindLocked}) {
		t.Fatalf("window: %v", got)
	}
	last2, err := f.log.Timeline(ctx, sitiIC, audit.Filter{LoginOnly: true, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := kinds(last2.Entries); !slices.Equal(got, []audit.Kind{audit.KindUnlocked, audit.KindLoginSucceeded}) || !last2.Truncated() || last2.Matched != 8 {
		t.Fatalf("latest 2: %v (matched %d)", got, last2.Matched)
	}
	if _, err := f.log.Timeline(ctx, "791317045671", audit.Filter{}); !errors.Is(err, audit.ErrUserID) {
		t.Fatalf("bad IC: %v", err)
	}
	none, err := f.log.Timeline(ctx, "850203145432", audit.Filter{})
	if err != nil || none.Registered || len(none.Entries) != 0 || !none.Integrity.OK() {
		t.Fatalf("nobody: %+v %v", none, err)
	}
}

func TestAsOfReplaysTheAggregate(t *testing.T) {
	f := newFixture(t)
	s := f.story()
	ctx := context.Background()

	between := s.lockedAt.Add(90 * time.Minute)
	st, err := f.log.AsOf(ctx, sitiIC, between)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Registered || st.Status != "active" || !st.Locked || st.FailedAttempts != 3 || st.Last == nil || st.Last.Kind != audit.KindLoginFailed || !st.Integrity.OK() {
		t.Fatalf("between lock and unlock: %+v", st)
	}
	justBefore, err := f.log.AsOf(ctx, sitiIC, s.lockedAt.Add(-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if justBefore.Locked || justBefore.FailedAttempts != 2 {
		t.Fatalf("just before the lock: %+v", justBefore)
	}
	atLock, _ := f.log.AsOf(ctx, sitiIC, s.lockedAt)
	if !atLock.Locked {
		t.Fatalf("at the lock's own time (inclusive): %+v", atLock)
	}
	after, err := f.log.AsOf(ctx, sitiIC, s.unlockedAt.Add(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if after.Locked || after.FailedAttempts != 0 || after.Last.Kind != audit.KindUnlocked || after.Last.Actor.ID != adminIC {
		t.Fatalf("after unlock: %+v", after)
	}
	if after.Events <= justBefore.Events || after.Integrity.Events() < after.Events {
		t.Fatalf("events applied %d then %d, checked %d", justBefore.Events, after.Events, after.Integrity.Events())
	}
	before, err := f.log.AsOf(ctx, sitiIC, t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if before.Registered || before.Events != 0 || before.Last != nil {
		t.Fatalf("before registration: %+v", before)
	}
	hz, err := f.log.AsOf(ctx, hafizIC, t0.Add(90*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if hz.Registered || hz.ProbeEvents != 2 || hz.ProbeFailed != 2 || hz.ProbeLocked {
		t.Fatalf("Hafiz before registering: %+v", hz)
	}
	var buf bytes.Buffer
	if err := st.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"locked:          true", "failed attempts: 3", "integrity:       ok"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("state text lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestExportCSV(t *testing.T) {
	f := newFixture(t)
	f.story()
	var buf bytes.Buffer
	in, err := f.log.ExportCSV(context.Background(), sitiIC, audit.Filter{LoginOnly: true, Limit: 1}, &buf)
	if err != nil || !in.OK() {
		t.Fatalf("export: %v %+v", err, in)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+8 || !slices.Equal(rows[0], audit.CSVHeader) {
		t.Fatalf("%d rows (Limit is ignored by exports), header %v", len(rows), rows[0])
	}
	col := func(name string) int { return slices.Index(audit.CSVHeader, name) }
	var got []string
	for _, r := range rows[1:] {
		got = append(got, r[col("kind")])
		if r[col("integrity")] != "ok" || len(r[col("hash")]) != 64 {
			t.Errorf("row %v", r)
		}
	}
	if !slices.Equal(got, []string{"login_succeeded", "login_failed", "login_failed", "login_failed", "locked", "login_failed", "unlocked", "login_succeeded"}) {
		t.Fatalf("kinds %v", got)
	}
	unlock := rows[7]
	if unlock[col("actor_id")] != adminIC || unlock[col("actor_kind")] != "admin" || !strings.HasPrefix(unlock[col("note")], "'=HYPERLINK") {
		t.Fatalf("unlock row %v (a typed formula must be defused)", unlock)
	}
	if unlock[col("occurred_at_myt")] == unlock[col("occurred_at_utc")] || !strings.HasSuffix(unlock[col("occurred_at_utc")], "Z") {
		t.Fatalf("times %v", unlock)
	}
	if rows[5][col("locked_after")] != "true" || rows[5][col("failed_after")] != "3" {
		t.Fatalf("lock row %v", rows[5])
	}
}

// tamper changes stored events with plain SQL, as someone with access to
// the database file could.
func tamper(t *testing.T, path, query string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("tamper changed %d rows", n)
	}
}

func TestIntegrityFindsTampering(t *testing.T) {
	f := newFixture(t)
	f.story()
	ctx := context.Background()
	in, err := f.log.Verify(ctx, sitiIC)
	if err != nil || !in.OK() || in.Streams[0].Events < 10 || len(in.Streams[0].LastHash) != 64 {
		t.Fatalf("untouched log: %+v %v", in, err)
	}
	tl, _ := f.log.Timeline(ctx, sitiIC, audit.Filter{})
	var lock audit.Entry
	for _, e := range tl.Entries {
		if e.Kind == audit.KindLocked {
			lock = e
		}
	}
	// Someone rewrites the lock as if it took only one failure.
	tamper(t, f.path, `UPDATE events SET data = CAST(replace(CAST(data AS TEXT), '"failed_attempts":3', '"failed_attempts":1') AS BLOB) WHERE stream = ? AND version = ?`,
		"account-"+sitiIC, lock.Version)

	in, err = f.log.Verify(ctx, sitiIC)
	if err != nil {
		t.Fatal(err)
	}
	b := in.FirstBroken()
	if in.OK() || b == nil || b.Version != lock.Version || b.Position != lock.Position || !strings.Contains(b.Reason, "hash does not match") {
		t.Fatalf("tampered lock not found: %+v", b)
	}
	if !strings.Contains(in.Summary(), "broken in account-"+sitiIC) {
		t.Fatalf("summary %q", in.Summary())
	}
	tl, err = f.log.Timeline(ctx, sitiIC, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tl.Entries {
		switch {
		case e.Version < lock.Version && e.Link != audit.LinkOK,
			e.Version == lock.Version && e.Link != audit.LinkBroken,
			e.Version > lock.Version && e.Link != audit.LinkUnchecked:
			t.Errorf("version %d (%s): link %s", e.Version, e.Kind, e.Link)
		}
	}
	var buf bytes.Buffer
	if err := tl.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "[INTEGRITY BROKEN HERE]") || !strings.Contains(buf.String(), "integrity: broken") {
		t.Fatalf("text:\n%s", buf.String())
	}
	// Other accounts are untouched.
	if other, _ := f.log.Verify(ctx, hafizIC); !other.OK() {
		t.Fatalf("Hafiz: %+v", other.FirstBroken())
	}

	// Deleting an event leaves a gap in the versions.
	tamper(t, f.path, `DELETE FROM events WHERE stream = ? AND version = ?`, "account-"+hafizIC, 2)
	in, _ = f.log.Verify(ctx, hafizIC)
	if b := in.FirstBroken(); b == nil || b.Version != 3 || !strings.Contains(b.Reason, "missing") {
		t.Fatalf("deleted event: %+v", b)
	}
}

// TestParseAsOf: a moment typed to the minute is the whole minute (its
// last nanosecond, Malaysia time); with seconds, that second; anything
// else is ErrAsOf.
func TestParseAsOf(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2026-03-02T09:02":    time.Date(2026, 3, 2, 1, 2, 59, 999999999, time.UTC),
		"2026-03-02T09:02:29": time.Date(2026, 3, 2, 1, 2, 29, 0, time.UTC),
	} {
		got, err := audit.ParseAsOf(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseAsOf(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "semalam", "2026-03-02", "2026-03-02 09:02", "2026-03-02T09:02:29.5", "2026-02-30T09:02", "2026-03-02T9:02"} {
		if _, err := audit.ParseAsOf(in); !errors.Is(err, audit.ErrAsOf) {
			t.Errorf("ParseAsOf(%q): %v, want ErrAsOf", in, err)
		}
	}
}

// The auditor's timeline tells a step-up (a logged-in session giving its
// code again, which completes no login) from a login's code: read as one,
// a password login from one address that never gave its code would look
// completed by a code given in another session. The activation's end of
// the other sessions says why, too.
func TestTimelineTellsAStepUpFromALoginsCode(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.register(sitiIC, "siti.aminah@melaka.gov.my")
	enrol, _, err := f.h.EnrolTOTP.Enrol(ctx, commands.EnrolTOTP{Meta: f.meta(eventlog.ActorUser, sitiIC), UserID: sitiIC, CurrentPassword: sitiPW})
	if err != nil {
		t.Fatal(err)
	}
	code := func() string {
		c, _ := security.TOTP{}.Code(enrol.Secret, f.clock())
		return c
	}
	codes, _, err := f.h.ConfirmTOTP.Confirm(ctx, commands.ConfirmTOTP{Meta: f.meta(eventlog.ActorUser, sitiIC), UserID: sitiIC, Code: code()})
	if err != nil {
		t.Fatal(err)
	}
	f.advance(time.Minute)
	if err := f.login(sitiIC, sitiPW); err != nil { // waits for its code
		t.Fatal(err)
	}
	f.advance(time.Minute)
	f.ok(f.h.VerifyTOTP.Handle(ctx, commands.VerifyTOTP{Meta: f.meta(eventlog.ActorUser, sitiIC), UserID: sitiIC, Code: code(), StepUp: true}))
	f.ok(f.h.UseRecoveryCode.Handle(ctx, commands.UseRecoveryCode{Meta: f.meta(eventlog.ActorUser, sitiIC), UserID: sitiIC, Code: codes[0], StepUp: true}))
	f.advance(time.Minute)
	f.ok(f.h.VerifyTOTP.Handle(ctx, commands.VerifyTOTP{Meta: f.meta(eventlog.ActorAnonymous, ""), UserID: sitiIC, Code: code()}))

	tl, err := f.log.Timeline(ctx, sitiIC, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range tl.Entries {
		switch e.Kind {
		case audit.KindTOTPCodeAccepted, audit.KindRecoveryCodeUsed, audit.KindSessionsEnded:
			got = append(got, string(e.Kind)+"/"+e.Detail)
		}
	}
	want := []string{"sessions_ended/activated", "totp_code_accepted/step_up", "recovery_code_used/step_up", "totp_code_accepted/"}
	if !slices.Equal(got, want) {
		t.Fatalf("second factors and session ends: %v, want %v", got, want)
	}
}

// The state as of a moment shows the roles the person held then: those of
// their term of service in the employee master at that moment. Given an
// auditor who left and was recorded again, the state before the rejoin
// shows the role, the state after it none (as the login and the commands
// decide), and after a new grant the role again.
func TestStateAsOfShowsTheRolesOfTheTermThen(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.register(sitiIC, "siti.aminah@melaka.gov.my")
	f.ok(f.h.GrantRole.Handle(ctx, commands.GrantRole{Meta: f.meta(eventlog.ActorSystem, "cli:pentadbir"), UserID: sitiIC, Role: account.RoleAuditor}))
	f.advance(time.Hour)
	granted := f.clock()
	f.advance(time.Hour)
	f.ok(f.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: f.meta(eventlog.ActorSystem, "test"), IC: sitiIC, Date: f.clock().Format("2006-01-02"), Reason: "bertukar"}))
	f.advance(72 * time.Hour)
	f.ok(f.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: f.meta(eventlog.ActorSystem, "test"), Details: employee.Details{
		IC: sitiIC, Name: "Siti Aminah binti Omar", Email: "siti.aminah@melaka.gov.my", Department: "Jabatan Ketua Menteri", Post: "Pegawai Tadbir", StaffNumber: "JKM-0042"}}))
	f.advance(time.Hour)
	rejoined := f.clock()
	f.advance(time.Hour)
	f.ok(f.h.GrantRole.Handle(ctx, commands.GrantRole{Meta: f.meta(eventlog.ActorSystem, "cli:pentadbir"), UserID: sitiIC, Role: account.RoleAuditor}))
	f.advance(time.Hour)
	for _, c := range []struct {
		at   time.Time
		want []string
	}{{granted, []string{"auditor"}}, {rejoined, nil}, {f.clock(), []string{"auditor"}}} {
		st, err := f.log.AsOf(ctx, sitiIC, c.at)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(st.Roles, c.want) {
			t.Errorf("as of %s: roles %v, want %v", c.at.Format(time.RFC3339), st.Roles, c.want)
		}
	}
}
