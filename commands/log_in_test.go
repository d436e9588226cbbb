package commands_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/loginprobe"
	"github.com/melaka-gov/ispeks/infra/security"
)

func TestLogInFirstTimeWithTemporaryPassword(t *testing.T) {
	eachReplay(t, func(t *testing.T, newAccts func(testing.TB) *accts) {
		f := newAccts(t)
		f.register(sitiIC, "siti.aminah@melaka.gov.my")
		temp, _ := f.tempPassword(sitiIC)
		out, err := f.logIn("791117-04-5671", temp)
		if err != nil || !out.MustActivate || !out.Temporary || out.SecondFactorRequired {
			t.Fatalf("outcome %+v, %v", out, err)
		}
		// One use only.
		if _, err := f.logIn(sitiIC, temp); !errors.Is(err, account.ErrWrongPassword) {
			t.Fatalf("second use of the temporary password: %v", err)
		}
	})
}

func TestLogInExpiredTemporaryPassword(t *testing.T) {
	eachReplay(t, func(t *testing.T, newAccts func(testing.TB) *accts) {
		f := newAccts(t)
		f.register(sitiIC, "siti.aminah@melaka.gov.my")
		temp, _ := f.tempPassword(sitiIC)
		f.advance(24*time.Hour + time.Second)
		if _, err := f.logIn(sitiIC, temp); !errors.Is(err, account.ErrTemporaryPasswordExpired) {
			t.Fatalf("expired temporary password: %v", err)
		}
	})
}

func TestLogInTwoWrongThenRightResetsCount(t *testing.T) {
	eachReplay(t, func(t *testing.T, newAccts func(testing.TB) *accts) {
		f := newAccts(t)
		f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
		for i := 0; i < 2; i++ {
			if _, err := f.logIn(sitiIC, "salah kata laluan"); !errors.Is(err, account.ErrWrongPassword) {
				t.Fatalf("wrong password %d: %v", i+1, err)
			}
		}
		out, err := f.logIn(sitiIC, sitiPassword)
		if err != nil || out.MustActivate || out.MustChangePassword {
			t.Fatalf("right password: %+v %v", out, err)
		}
		evs := f.events("account-" + sitiIC)
		tail := evs[len(evs)-3:]
		if tail[0].Event.(account.LoginFailed).Consecutive != 1 || tail[1].Event.(account.LoginFailed).Consecutive != 2 {
			t.Fatalf("failures %+v", tail)
		}
		if _, ok := tail[2].Event.(account.LoginSucceeded); !ok {
			t.Fatalf("last event %s", tail[2].Type)
		}
		// The count starts again: two more wrong ones do not lock.
		for i := 0; i < 2; i++ {
			if _, err := f.logIn(sitiIC, "salah lagi"); !errors.Is(err, account.ErrWrongPassword) {
				t.Fatalf("after reset, wrong %d: %v", i+1, err)
			}
		}
	})
}

func TestLogInThreeWrongLocksAndThenEverythingGetsTheLockNotice(t *testing.T) {
	eachReplay(t, func(t *testing.T, newAccts func(testing.TB) *accts) {
		f := newAccts(t)
		f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
		want := []error{account.ErrWrongPassword, account.ErrWrongPassword, account.ErrLocked}
		for i, w := range want {
			if _, err := f.logIn(sitiIC, "salah kata laluan"); !errors.Is(err, w) {
				t.Fatalf("attempt %d: %v, want %v", i+1, err, w)
			}
		}
		evs := f.events("account-" + sitiIC)
		if got := evs[len(evs)-2:]; got[0].Type != "account.AccountLocked.v1" || got[1].Type != "account.SessionsEnded.v1" {
			t.Fatalf("lock events %s %s", got[0].Type, got[1].Type)
		}
		// From now on: the right password and a wrong one get the same
		// answer, an empty outcome, and the same event.
		for _, pw := range []string{sitiPassword, "salah kata laluan", sitiPassword} {
			out, err := f.logIn(sitiIC, pw)
			if !errors.Is(err, account.ErrLocked) || !reflect.DeepEqual(out, account.LoginOutcome{}) {
				t.Fatalf("locked account, password %q: %+v %v", pw[:4], out, err)
			}
			evs := f.events("account-" + sitiIC)
			last := evs[len(evs)-1].Event
			if last != (account.LoginFailed{UserID: sitiIC, Reason: account.FailLocked, Consecutive: 3}) {
				t.Fatalf("recorded %+v", last)
			}
		}
	})
}

func TestLogInLockThresholdFromConfiguration(t *testing.T) {
	eachReplay(t, func(t *testing.T, newAccts func(testing.TB) *accts) {
		f := newAccts(t)
		f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
		h := f.h.LogIn
		h.Policy.LockThreshold = 5
		for i := 1; i <= 5; i++ {
			_, _, err := h.LogIn(context.Background(), commands.LogIn{Meta: f.anon(), UserID: sitiIC, Password: "salah"})
			want := account.ErrWrongPassword
			if i == 5 {
				want = account.ErrLocked
			}
			if !errors.Is(err, want) {
				t.Fatalf("attempt %d: %v", i, err)
			}
		}
	})
}

// An unknown ID and a real one answer the same, attempt for attempt, through
// the lock and after it, and each attempt costs one hash.
func TestLogInUnknownIDIsIndistinguishable(t *testing.T) {
	eachReplay(t, func(t *testing.T, newAccts func(testing.TB) *accts) {
		f := newAccts(t)
		f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
		for i := 0; i < 5; i++ {
			before := f.hasher.Computed()
			outReal, errReal := f.logIn(sitiIC, "salah kata laluan")
			mid := f.hasher.Computed()
			outFake, errFake := f.logIn(strangerIC, "salah kata laluan")
			after := f.hasher.Computed()
			if !reflect.DeepEqual(outReal, outFake) || errReal != errFake {
				t.Fatalf("attempt %d: real %+v %v, unknown %+v %v", i+1, outReal, errReal, outFake, errFake)
			}
			if mid-before != 1 || after-mid != 1 {
				t.Fatalf("attempt %d: %d hashes for the real ID, %d for the unknown", i+1, mid-before, after-mid)
			}
		}
		// The unknown ID's attempts are on its probe stream, not an account.
		if n := len(f.events("account-" + strangerIC)); n != 0 {
			t.Fatalf("an account stream appeared for an unknown ID (%d events)", n)
		}
		probe := "loginprobe-" + f.keyed.ProbeKey(strangerIC)
		evs := f.events(probe)
		if len(evs) != 6 { // 3 failures, the lock, 2 while locked
			t.Fatalf("probe events %v", f.types(probe))
		}
		if _, ok := evs[3].Event.(loginprobe.Locked); !ok {
			t.Fatalf("4th probe event %s", evs[3].Type)
		}
		for _, e := range evs {
			if strings.Contains(string(e.Data), strangerIC) || strings.Contains(e.Stream, strangerIC) {
				t.Fatal("probe stream carries the typed ID in clear")
			}
			if e.Metadata.Actor.Kind != eventlog.ActorAnonymous {
				t.Fatalf("probe actor %+v", e.Metadata.Actor)
			}
		}
	})
}

// The login page names the person logging in by the ID they typed. On an
// unknown ID that actor must not reach the log: the probe stream is keyed
// by an HMAC precisely to keep the tried ID (an IC number) out of it. Read
// from the SQLite file itself, every column of the stored events.
func TestLogInUnknownIDKeepsTheTypedIDOutOfTheLog(t *testing.T) {
	eachReplay(t, func(t *testing.T, newAccts func(testing.TB) *accts) {
		f := newAccts(t)
		const dashed = "820304-10-5555" // strangerIC as a person may type it
		for _, typed := range []string{strangerIC, dashed} {
			_, _, err := f.h.LogIn.LogIn(context.Background(), commands.LogIn{Meta: f.user(typed), UserID: typed, Password: "teka"})
			if !errors.Is(err, account.ErrWrongPassword) {
				t.Fatalf("login on %s: %v", typed, err)
			}
		}
		db, err := sql.Open("sqlite", "file:"+f.path+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rows, err := db.Query(`SELECT stream, type, CAST(data AS TEXT), CAST(metadata AS TEXT), hex(id), hex(chain) FROM events WHERE stream LIKE 'loginprobe-%'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var stream, typ, data, metadata, id, chain string
			if err := rows.Scan(&stream, &typ, &data, &metadata, &id, &chain); err != nil {
				t.Fatal(err)
			}
			n++
			for _, col := range []string{stream, typ, data, metadata, id, chain} {
				if strings.Contains(col, strangerIC) || strings.Contains(col, dashed) {
					t.Fatalf("%s on %s holds the typed ID in clear: %s", typ, stream, col)
				}
			}
			var m eventlog.Metadata
			if err := json.Unmarshal([]byte(metadata), &m); err != nil {
				t.Fatal(err)
			}
			if m.Actor != (eventlog.Actor{Kind: eventlog.ActorAnonymous}) {
				t.Fatalf("probe actor %+v, want anonymous", m.Actor)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Fatalf("%d probe events stored, want 2", n)
		}
	})
}

func TestLogInBadInputChangesNothing(t *testing.T) {
	eachReplay(t, func(t *testing.T, newAccts func(testing.TB) *accts) {
		f := newAccts(t)
		ctx := context.Background()
		before, _ := f.store.LastPosition(ctx)
		for _, c := range []struct{ id, pw, field string }{
			{"", "x", "user_id"},
			{"79111704567", "x", "user_id"},
			{"791117-04-5671\x00", "x", "user_id"},
			{strings.Repeat("7", 10240), "x", "user_id"},
			{sitiIC, "", "password"},
			{sitiIC, strings.Repeat("p", 10240), "password"},
		} {
			_, err := f.logIn(c.id, c.pw)
			var fe *account.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Errorf("LogIn(%.16q): %v, want field %s", c.id, err, c.field)
			}
		}
		if after, _ := f.store.LastPosition(ctx); after != before {
			t.Fatal("bad input appended events")
		}
	})
}

// 50 concurrent logins on one account, one of them with the right
// password: at most 3 consecutive failures are recorded before the lock
// (the right password, if it gets in first, resets the count), and nothing
// succeeds after it. Run with the in-process queue (as wired) and without it
// (the version check alone must keep the rule).
func TestLogInFiftyConcurrentAttempts(t *testing.T) {
	eachReplay(t, func(t *testing.T, newAccts func(testing.TB) *accts) {
		for _, queued := range []bool{true, false} {
			name := "version check only"
			if queued {
				name = "queued"
			}
			t.Run(name, func(t *testing.T) {
				f := newAccts(t)
				f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
				h := f.h.LogIn
				if !queued {
					h.Locks = nil
					h.Runner.MaxAttempts = 100
				}
				var wg sync.WaitGroup
				errs := make([]error, 50)
				start := make(chan struct{})
				for i := 0; i < 50; i++ {
					wg.Add(1)
					go func(i int) {
						defer wg.Done()
						pw := "salah kata laluan"
						if i == 25 {
							pw = sitiPassword
						}
						<-start
						_, _, errs[i] = h.LogIn(context.Background(), commands.LogIn{Meta: f.anon(), UserID: sitiIC, Password: pw})
					}(i)
				}
				close(start)
				wg.Wait()

				failedBefore, locked, successAfter, recorded := 0, false, 0, 0
				for _, e := range f.events("account-" + sitiIC) {
					switch ev := e.Event.(type) {
					case account.LoginFailed:
						recorded++
						if !locked && ev.Reason == account.FailWrongPassword {
							failedBefore++
						}
					case account.AccountLocked:
						locked = true
					case account.LoginSucceeded:
						if locked {
							successAfter++
						}
						// The right password got in before the lock: the
						// count starts again, as it should.
						failedBefore = 0
						if !ev.Temporary {
							recorded++
						}
					}
				}
				if failedBefore > 3 || successAfter != 0 {
					t.Fatalf("%d failures before the lock, %d successes after it", failedBefore, successAfter)
				}
				// The right password either got in before the lock, or met
				// the lock; nobody saw anything else.
				for i, err := range errs {
					if err != nil && !errors.Is(err, account.ErrWrongPassword) && !errors.Is(err, account.ErrLocked) && !errors.Is(err, commands.ErrConflict) {
						t.Fatalf("attempt %d: %v", i, err)
					}
				}
				if queued && recorded != 50 {
					t.Fatalf("queued: %d of 50 attempts recorded", recorded)
				}
				if !locked {
					t.Fatal("50 attempts with 49 wrong passwords did not lock the account")
				}
			})
		}
	})
}

func TestLogInWithTOTPAsksForSecondFactor(t *testing.T) {
	eachReplay(t, func(t *testing.T, newAccts func(testing.TB) *accts) {
		f := newAccts(t)
		f.makeAdmin()
		out, err := f.logIn(adminIC, "pentadbir sistem melaka")
		if err != nil || !out.SecondFactorRequired || out.MustEnrolSecondFactor || out.MustChangePassword || !reflect.DeepEqual(out.Roles, []account.Role{account.RoleAdmin}) {
			t.Fatalf("admin login: %+v %v", out, err)
		}
	})
}

// eachReplay runs a login test twice: replaying the account's whole stream,
// and from an AccountCache as the portal runs it.
func eachReplay(t *testing.T, test func(t *testing.T, newAccts func(testing.TB) *accts)) {
	t.Run("replay", func(t *testing.T) { test(t, newAccts) })
	t.Run("cached", func(t *testing.T) {
		test(t, func(tb testing.TB) *accts {
			f := newAccts(tb)
			f.h.LogIn.Accounts = commands.NewAccountCache(0)
			return f
		})
	})
}

// TestLogInCacheCatchesUpWithOtherWriters: given a portal process whose
// cache holds Siti's account, when another process (its own handler and
// cache, the same store) records two wrong passwords and a forgot-password
// issues a temporary password, then the first process's next wrong
// password is the third failure and locks the account, and a cache never
// holds unknown IDs.
func TestLogInCacheCatchesUpWithOtherWriters(t *testing.T) {
	f := newAccts(t)
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	ctx := context.Background()
	portal := f.h.LogIn
	portal.Accounts = commands.NewAccountCache(0)
	other := f.h.LogIn
	other.Accounts, other.Locks = commands.NewAccountCache(0), &commands.KeyedLocks{}
	logIn := func(h commands.LogInHandler, pw string) error {
		_, _, err := h.LogIn(ctx, commands.LogIn{Meta: f.anon(), UserID: sitiIC, Password: pw})
		return err
	}
	if err := logIn(portal, sitiPassword); err != nil {
		t.Fatal(err)
	}
	if portal.Accounts.Len() != 1 {
		t.Fatalf("cache holds %d accounts after one login", portal.Accounts.Len())
	}
	for range 2 {
		if err := logIn(other, "salah sama sekali"); !errors.Is(err, account.ErrWrongPassword) {
			t.Fatalf("other process, wrong password: %v", err)
		}
	}
	if err := logIn(portal, "salah lagi sekali"); !errors.Is(err, account.ErrLocked) {
		t.Fatalf("third failure, counted across processes: %v, want the lock", err)
	}
	if err := logIn(portal, sitiPassword); !errors.Is(err, account.ErrLocked) {
		t.Fatalf("right password on the locked account: %v", err)
	}
	if _, _, err := portal.LogIn(ctx, commands.LogIn{Meta: f.anon(), UserID: nurulIC, Password: "apa-apa sahaja"}); !errors.Is(err, account.ErrWrongPassword) {
		t.Fatalf("unknown ID: %v", err)
	}
	if portal.Accounts.Len() != 1 {
		t.Fatalf("cache holds %d accounts, want only Siti's", portal.Accounts.Len())
	}
}

// The commands that complete a login say what its session holds, from the
// account's and the employee master's streams: the roles, none once the
// role is revoked or the person has left service, and until when a leaving
// date still ahead lets them hold it.
func TestLoginGrantFollowsTheStreams(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	secret := f.makeAdmin()
	f.advance(time.Minute)
	var lastLogin time.Time // the login the previous grantAt completed
	grantAt := func(what string) commands.LoginGrant {
		t.Helper()
		out, _, err := f.h.LogIn.LogIn(ctx, commands.LogIn{Meta: f.anon(), UserID: adminIC, Password: "pentadbir sistem melaka"})
		if err != nil || !out.SecondFactorRequired {
			t.Fatalf("%s: password step %+v %v", what, out, err)
		}
		code, _ := security.TOTP{}.Code(secret, f.clock())
		g, _, err := f.h.VerifyTOTP.Verify(ctx, commands.VerifyTOTP{Meta: f.user(adminIC), UserID: adminIC, Code: code})
		if err != nil {
			t.Fatalf("%s: code: %v", what, err)
		}
		// The password step awaits the code: its grant has the login note
		// as it stood; the code completes the login and gives the note.
		want := out.Grant
		want.PreviousLogin, want.FailedBeforeLogin = g.PreviousLogin, g.FailedBeforeLogin
		if !reflect.DeepEqual(g, want) {
			t.Errorf("%s: the code's grant %+v, the password's %+v", what, g, out.Grant)
		}
		if !lastLogin.IsZero() && !g.PreviousLogin.Equal(lastLogin) {
			t.Errorf("%s: the code's grant notes the previous login at %v, want %v", what, g.PreviousLogin, lastLogin)
		}
		lastLogin = g.DecidedAt
		// The session counts as begun when the login was decided: the time
		// of the event that completed it, not when the page makes it.
		envs := f.events("account-" + adminIC)
		if last := envs[len(envs)-1]; !g.DecidedAt.Equal(last.OccurredAt) || g.DecidedAt.IsZero() {
			t.Errorf("%s: decided at %v, the completing event %s at %v", what, g.DecidedAt, last.Type, last.OccurredAt)
		}
		f.advance(time.Minute)
		return g
	}
	if g := grantAt("in service"); !reflect.DeepEqual(g.Roles, []account.Role{account.RoleAdmin}) || !g.SecondFactor || !g.ServiceEnds.IsZero() {
		t.Fatalf("in service: %+v", g)
	}
	f.ok(f.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: f.system(), IC: adminIC, Date: "2026-03-03", Reason: "Bersara"}))
	if g := grantAt("leaving date ahead"); len(g.Roles) != 1 || !g.ServiceEnds.Equal(time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC)) {
		t.Fatalf("leaving date ahead: %+v", g)
	}
	f.advance(15 * time.Hour)
	if g := grantAt("on the leaving date"); len(g.Roles) != 0 || !g.ServiceEnds.IsZero() {
		t.Fatalf("on the leaving date: %+v", g)
	}
}

// A role revoked is gone from the next login's grant at once: nothing
// waits for a read model.
func TestLoginGrantWithoutARevokedRole(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	f.ok(f.h.GrantRole.Handle(ctx, commands.GrantRole{Meta: f.system(), UserID: sitiIC, Role: account.RoleAuditor}))
	out, _, err := f.h.LogIn.LogIn(ctx, commands.LogIn{Meta: f.anon(), UserID: sitiIC, Password: sitiPassword})
	if err != nil || len(out.Grant.Roles) != 1 || out.Grant.SecondFactor {
		t.Fatalf("with the role: %+v %v", out, err)
	}
	f.ok(f.h.RevokeRole.Handle(ctx, commands.RevokeRole{Meta: f.system(), UserID: sitiIC, Role: account.RoleAuditor}))
	out, _, err = f.h.LogIn.LogIn(ctx, commands.LogIn{Meta: f.anon(), UserID: sitiIC, Password: sitiPassword})
	if err != nil || len(out.Grant.Roles) != 0 {
		t.Fatalf("after the revoke: %+v %v", out, err)
	}
}

// The grant of a login carries the account's login note as the command
// decided: the login before this one and the failures since, for the home
// page to show from the session.
func TestLoginGrantCarriesTheLoginNote(t *testing.T) {
	eachReplay(t, func(t *testing.T, newAccts func(testing.TB) *accts) {
		f := newAccts(t)
		first := f.clock() // the activation's temporary login
		f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
		f.advance(time.Hour)
		for range 2 {
			if _, err := f.logIn(sitiIC, "salah sama sekali"); !errors.Is(err, account.ErrWrongPassword) {
				t.Fatalf("wrong password: %v", err)
			}
		}
		out, _, err := f.h.LogIn.LogIn(context.Background(), commands.LogIn{Meta: f.anon(), UserID: sitiIC, Password: sitiPassword})
		if err != nil {
			t.Fatal(err)
		}
		if g := out.Grant; !g.PreviousLogin.Equal(first) || g.FailedBeforeLogin != 2 {
			t.Fatalf("grant's note: previous %v, %d failures; want %v, 2", g.PreviousLogin, g.FailedBeforeLogin, first)
		}
	})
}

// categoryReads is the real event store, counting what the command side
// reads of each stream category.
type categoryReads struct {
	commands.EventStore
	mu      sync.Mutex
	reads   map[string]int // ReadStream calls
	records map[string]int // records they returned
}

func (c *categoryReads) ReadStream(ctx context.Context, stream string, from uint64, dir eventlog.Direction, limit int) ([]eventlog.Record, error) {
	recs, err := c.EventStore.ReadStream(ctx, stream, from, dir, limit)
	category, _, _ := strings.Cut(stream, "-")
	c.mu.Lock()
	c.reads[category]++
	c.records[category] += len(recs)
	c.mu.Unlock()
	return recs, err
}

func (c *categoryReads) reset() {
	c.mu.Lock()
	c.reads, c.records = map[string]int{}, map[string]int{}
	c.mu.Unlock()
}

// TestLogInLoadsAProbeByItsLastEvent: given an unknown ID and a real
// account each tried forty times (locked long since, every attempt one
// more event), when each is tried once more, the unknown ID's login reads
// one event of its probe stream, as the real one reads its cached tail:
// neither grows with the attempts, so the time a login takes cannot tell
// an ID that was tried often and has no account from a real one. And the
// answer is still the lock notice.
func TestLogInLoadsAProbeByItsLastEvent(t *testing.T) {
	f := newAccts(t)
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	counter := &categoryReads{EventStore: f.store}
	counter.reset()
	f.h.LogIn.Runner.Store = counter
	f.h.LogIn.Accounts = commands.NewAccountCache(0)
	for range 40 {
		if _, err := f.logIn(sitiIC, "salah kata laluan"); err == nil {
			t.Fatal("a wrong password logged in")
		}
		if _, err := f.logIn(strangerIC, "salah kata laluan"); err == nil {
			t.Fatal("an unknown ID logged in")
		}
	}
	probe := "loginprobe-" + f.keyed.ProbeKey(strangerIC)
	if n := len(f.events(probe)); n < 40 {
		t.Fatalf("the probe stream holds %d events, want one an attempt", n)
	}
	counter.reset()
	_, errReal := f.logIn(sitiIC, "salah kata laluan")
	real := map[string]int{"reads": counter.reads["account"], "records": counter.records["account"]}
	counter.reset()
	_, errUnknown := f.logIn(strangerIC, "salah kata laluan")
	unknown := map[string]int{"reads": counter.reads["loginprobe"], "records": counter.records["loginprobe"]}
	if !errors.Is(errReal, account.ErrLocked) || errReal != errUnknown {
		t.Fatalf("real ID %v, unknown ID %v: want the lock notice for both", errReal, errUnknown)
	}
	if unknown["reads"] != 1 || unknown["records"] != 1 {
		t.Fatalf("the unknown ID's login read its probe %d times, %d events: want one read of its last event", unknown["reads"], unknown["records"])
	}
	if real["reads"] != 1 || real["records"] > 1 {
		t.Fatalf("the real ID's login read its account %d times, %d events: want one read of its cached tail", real["reads"], real["records"])
	}
}
