package session

import (
	"context"
	"errors"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// lateRig is a manager over a memory store with a settable clock, and a way
// to make a login the web pages would (Manager.Login on a request).
type lateRig struct {
	t     *testing.T
	m     *Manager
	store *MemoryStore
	now   time.Time
}

func newLateRig(t *testing.T) *lateRig {
	r := &lateRig{t: t, store: NewMemoryStore(100), now: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	m, err := NewManager(r.store, Config{}, func() time.Time { return r.now })
	if err != nil {
		t.Fatal(err)
	}
	r.m = m
	return r
}

// login makes a session for a login decided at decided; it returns the
// session made (ok false when none was).
func (r *lateRig) login(id Identity) (Session, error) {
	gin.SetMode(gin.TestMode)
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest("POST", "/login", nil)
	if err := r.m.Login(c, id); err != nil {
		return Session{}, err
	}
	s, ok := Current(c)
	if !ok {
		r.t.Fatal("no session after Login")
	}
	return s, nil
}

func (r *lateRig) sessions(user string) int {
	n, err := r.store.UpdateUserBefore(r.t.Context(), user, r.now.Add(time.Hour), func(*Session) {})
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

// A login is decided (its password checked, LoginSucceeded recorded) a
// moment before its session is made. A lock, a password change or a role
// removed, recorded in between, ends the account's sessions through the
// follower — which acts on the sessions that exist when it reads the
// event. Either order must end the late login's session too.
func TestLoginDecidedBeforeTheSessionsWereEnded(t *testing.T) {
	const user = "791117045671"
	t.Run("the follower reads the end before the session is made", func(t *testing.T) {
		r := newLateRig(t)
		decided := r.now
		r.now = r.now.Add(20 * time.Millisecond) // a password change elsewhere
		ended := r.now
		if _, err := r.m.EndAllBefore(t.Context(), user, ended); err != nil {
			t.Fatal(err)
		}
		r.now = r.now.Add(5 * time.Millisecond)
		if _, err := r.login(Identity{UserID: user, Name: "Siti", Roles: []string{"admin"}, DecidedAt: decided}); !errors.Is(err, ErrOvertaken) {
			t.Fatalf("a login decided before the end: %v, want ErrOvertaken", err)
		}
		if n := r.sessions(user); n != 0 {
			t.Fatalf("%d sessions after an overtaken login", n)
		}
		// A login decided after the end (or at it: the one that changed
		// the password) stands.
		if _, err := r.login(Identity{UserID: user, Name: "Siti", DecidedAt: ended}); err != nil {
			t.Fatalf("a login decided at the end: %v", err)
		}
	})
	t.Run("the session is made before the follower reads the end", func(t *testing.T) {
		r := newLateRig(t)
		decided := r.now
		r.now = r.now.Add(20 * time.Millisecond)
		ended := r.now
		r.now = r.now.Add(5 * time.Millisecond)
		s, err := r.login(Identity{UserID: user, Name: "Siti", DecidedAt: decided})
		if err != nil {
			t.Fatal(err)
		}
		if !s.CreatedAt.Equal(decided) {
			t.Fatalf("the session counts as begun at %v, want the decision %v", s.CreatedAt, decided)
		}
		if n, err := r.m.EndAllBefore(t.Context(), user, ended); err != nil || n != 1 {
			t.Fatalf("the follower ended %d sessions (%v), want the late login's", n, err)
		}
	})
	t.Run("a leaving date recorded, then cancelled, after the decision", func(t *testing.T) {
		r := newLateRig(t)
		decided := r.now
		r.now = r.now.Add(20 * time.Millisecond)
		leaveAt, until := r.now, r.now.Add(48*time.Hour)
		if _, err := r.m.EndAllAt(t.Context(), user, leaveAt, until); err != nil {
			t.Fatal(err)
		}
		s, err := r.login(Identity{UserID: user, Name: "Siti", Roles: []string{"admin"}, DecidedAt: decided})
		if err != nil || !s.ValidUntil.Equal(until) {
			t.Fatalf("a login decided before the leave was recorded: %v, ValidUntil %v, want %v", err, s.ValidUntil, until)
		}
		// Decided knowing the leave (its grant carries the date), and
		// made after the follower read the cancellation.
		knowing := r.now
		r.now = r.now.Add(20 * time.Millisecond)
		if _, err := r.m.ClearValidUntilBefore(t.Context(), user, r.now); err != nil {
			t.Fatal(err)
		}
		s, err = r.login(Identity{UserID: user, Name: "Siti", ValidUntil: until, DecidedAt: knowing})
		if err != nil || !s.ValidUntil.IsZero() {
			t.Fatalf("a login decided before the cancellation: %v, ValidUntil %v, want none", err, s.ValidUntil)
		}
	})
	t.Run("an end before a leaving date still refuses", func(t *testing.T) {
		r := newLateRig(t)
		decided := r.now
		r.now = r.now.Add(10 * time.Millisecond)
		if _, err := r.m.EndAllBefore(t.Context(), user, r.now); err != nil {
			t.Fatal(err)
		}
		r.now = r.now.Add(10 * time.Millisecond)
		if _, err := r.m.EndAllAt(t.Context(), user, r.now, r.now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := r.login(Identity{UserID: user, DecidedAt: decided}); !errors.Is(err, ErrOvertaken) {
			t.Fatalf("%v, want ErrOvertaken", err)
		}
	})
	t.Run("notices are forgotten after a while", func(t *testing.T) {
		r := newLateRig(t)
		if _, err := r.m.EndAllBefore(t.Context(), user, r.now); err != nil {
			t.Fatal(err)
		}
		r.now = r.now.Add(lateFor + time.Minute)
		r.m.orderMu.Lock()
		_, ok := r.m.lateNotice(user)
		r.m.orderMu.Unlock()
		if ok {
			t.Fatal("a notice older than lateFor is still kept")
		}
	})
}

// hookedStore is a memory store that runs a hook (once) as a session is
// about to be created: there a follower may act between a login's look at
// the notices and its session.
type hookedStore struct {
	*MemoryStore
	beforeCreate func()
}

func (h *hookedStore) Create(ctx context.Context, key string, s Session) error {
	if f := h.beforeCreate; f != nil {
		h.beforeCreate = nil
		f()
	}
	return h.MemoryStore.Create(ctx, key, s)
}

// The follower may note an end, and act on the sessions that exist, after
// a login looked at the notices and before its session is made: the late
// session must not stand.
func TestALoginRacingTheFollowerKeepsNoSession(t *testing.T) {
	const user = "791117045671"
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	decided, ended := now, now.Add(20*time.Millisecond)
	store := &hookedStore{MemoryStore: NewMemoryStore(100)}
	m, err := NewManager(store, Config{}, func() time.Time { return ended.Add(5 * time.Millisecond) })
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	store.beforeCreate = func() {
		go func() {
			_, err := m.EndAllBefore(context.Background(), user, ended)
			done <- err
		}()
		// Give the follower the time to run here, if nothing holds it back.
		select {
		case err := <-done:
			done <- err
		case <-time.After(200 * time.Millisecond):
		}
	}
	gin.SetMode(gin.TestMode)
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest("POST", "/login", nil)
	loginErr := m.Login(c, Identity{UserID: user, Name: "Siti", Roles: []string{"admin"}, DecidedAt: decided})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if loginErr != nil && !errors.Is(loginErr, ErrOvertaken) {
		t.Fatal(loginErr)
	}
	n, err := store.UpdateUserBefore(t.Context(), user, ended.Add(time.Hour), func(*Session) {})
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d sessions of a login decided before the end (Login: %v)", n, loginErr)
	}
}

// A logged-in administrator gives a TOTP code (step-up, or enrolment);
// while it is checked the log ends their sessions (a role removed, a
// lock). The session is not made again under a new token.
func TestMarkTOTPDoesNotRemakeAnEndedSession(t *testing.T) {
	const user = "791117045671"
	r := newLateRig(t)
	gin.SetMode(gin.TestMode)
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest("POST", "/login", nil)
	if err := r.m.Login(c, Identity{UserID: user, Name: "Siti", Roles: []string{"admin"}, DecidedAt: r.now}); err != nil {
		t.Fatal(err)
	}
	r.now = r.now.Add(time.Second)
	if n, err := r.m.EndAllBefore(t.Context(), user, r.now); err != nil || n != 1 {
		t.Fatalf("the follower ended %d sessions (%v), want 1", n, err)
	}
	r.now = r.now.Add(time.Second)
	if err := r.m.MarkTOTP(c); !errors.Is(err, ErrOvertaken) {
		t.Fatalf("MarkTOTP on an ended session: %v, want ErrOvertaken", err)
	}
	if n := r.sessions(user); n != 0 {
		t.Fatalf("%d sessions after the code was given to an ended one", n)
	}
}

// A burst of ends for more users than lateLimit within lateFor keeps every
// notice (a late login of any of them must still be refused), and sweeps
// the expired ones once per doubling rather than at every new notice.
func TestLateNoticesBurst(t *testing.T) {
	r := newLateRig(t)
	old := r.now
	for i := range lateLimit {
		if _, err := r.m.EndAllBefore(t.Context(), "old-"+strconv.Itoa(i), old); err != nil {
			t.Fatal(err)
		}
	}
	r.now = r.now.Add(lateFor + time.Minute)
	for i := range 3 * lateLimit {
		if _, err := r.m.EndAllBefore(t.Context(), "new-"+strconv.Itoa(i), r.now); err != nil {
			t.Fatal(err)
		}
	}
	r.m.orderMu.Lock()
	n, prune := len(r.m.late), r.m.latePrune
	r.m.orderMu.Unlock()
	if n != 3*lateLimit {
		t.Fatalf("%d notices kept, want the %d recent ones (the expired swept)", n, 3*lateLimit)
	}
	if prune <= lateLimit {
		t.Fatalf("next sweep at %d notices: every new notice would sweep the map", prune)
	}
	if _, err := r.login(Identity{UserID: "new-7", DecidedAt: r.now.Add(-time.Millisecond)}); !errors.Is(err, ErrOvertaken) {
		t.Fatalf("a late login in the burst: %v", err)
	}
}

// A leaving date given to open sessions moves their stored deadline, not
// only ValidUntil: a request is checked against ExpiresAt, and a session
// last touched under a minute before the date would otherwise pass it once.
// A cancellation moves the deadline back to the idle one.
func TestValidUntilMovesTheDeadline(t *testing.T) {
	r := newLateRig(t)
	const user = "800101-04-5001"
	if _, err := r.login(Identity{UserID: user}); err != nil {
		t.Fatal(err)
	}
	stored := func() Session {
		var got Session
		if _, err := r.store.UpdateUserBefore(t.Context(), user, r.now.Add(time.Hour), func(s *Session) { got = *s }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	idle := stored().ExpiresAt
	r.now = r.now.Add(time.Second)
	until := r.now.Add(5 * time.Minute)
	if _, err := r.m.EndAllAt(t.Context(), user, r.now, until); err != nil {
		t.Fatal(err)
	}
	if s := stored(); !s.ValidUntil.Equal(until) || !s.ExpiresAt.Equal(until) {
		t.Fatalf("after a leaving date: ValidUntil %v, ExpiresAt %v; want both %v", s.ValidUntil, s.ExpiresAt, until)
	}
	r.now = r.now.Add(time.Second)
	if _, err := r.m.ClearValidUntilBefore(t.Context(), user, r.now); err != nil {
		t.Fatal(err)
	}
	if s := stored(); !s.ValidUntil.IsZero() || !s.ExpiresAt.Equal(idle) {
		t.Fatalf("after the cancellation: ValidUntil %v, ExpiresAt %v; want none, %v", s.ValidUntil, s.ExpiresAt, idle)
	}
}

// A waiting login (the code step, Pengaktifan, the new password) is made
// from its step's decision a moment later, as a completed login's session
// is: an end recorded in between reaches it in either order.
func TestWaitingLoginDecidedBeforeTheSessionsWereEnded(t *testing.T) {
	const user = "791117045671"
	start := func(r *lateRig, decided time.Time) error {
		gin.SetMode(gin.TestMode)
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest("POST", "/login/kata-laluan", nil)
		return r.m.StartWaiting(c, user, StageActivation, decided, nil)
	}
	t.Run("the follower reads the end before the waiting session is made", func(t *testing.T) {
		r := newLateRig(t)
		decided := r.now
		r.now = r.now.Add(20 * time.Millisecond) // a password change elsewhere
		if _, err := r.m.EndAllBefore(t.Context(), user, r.now); err != nil {
			t.Fatal(err)
		}
		r.now = r.now.Add(5 * time.Millisecond)
		if err := start(r, decided); !errors.Is(err, ErrOvertaken) {
			t.Fatalf("a waiting login decided before the end: %v, want ErrOvertaken", err)
		}
		if n := r.sessions(user); n != 0 {
			t.Fatalf("%d sessions after an overtaken waiting login", n)
		}
		if err := start(r, r.now); err != nil {
			t.Fatalf("a waiting login decided after the end: %v", err)
		}
	})
	t.Run("the follower reads the end after the waiting session is made", func(t *testing.T) {
		r := newLateRig(t)
		decided := r.now
		r.now = r.now.Add(25 * time.Millisecond)
		if err := start(r, decided); err != nil {
			t.Fatal(err)
		}
		if _, err := r.m.EndAllBefore(t.Context(), user, decided.Add(20*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if n := r.sessions(user); n != 0 {
			t.Fatalf("%d sessions: the end recorded after the decision left the waiting login standing", n)
		}
	})
}

// createRecorder is a store that keeps what each Create was given.
type createRecorder struct {
	*MemoryStore
	created []Session
}

func (s *createRecorder) Create(ctx context.Context, key string, sess Session) error {
	s.created = append(s.created, sess)
	return s.MemoryStore.Create(ctx, key, sess)
}

// A pending session is made with its values in one write: a lock that ends
// the user's sessions right after it is made (another browser's third
// wrong password) leaves no second write to fail, which answered the user
// ID step with a 500 under a storm of wrong passwords.
func TestPendingSessionIsMadeWithItsValues(t *testing.T) {
	st := &createRecorder{MemoryStore: NewMemoryStore(10)}
	m, err := NewManager(st, Config{}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.TestMode)
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest("POST", "/login", nil)
	values := map[string]string{"paid": "1"}
	if err := m.StartPending(c, "791117045671", StagePassword, values); err != nil {
		t.Fatal(err)
	}
	values["paid"] = "changed by the caller afterwards"
	if len(st.created) != 1 || st.created[0].Values["paid"] != "1" {
		t.Fatalf("sessions created: %+v, want one holding the values as given", st.created)
	}
	if err := m.StartWaiting(c, "791117045671", StageActivation, time.Now(), map[string]string{"ends": "2"}); err != nil {
		t.Fatal(err)
	}
	if len(st.created) != 2 || st.created[1].Values["ends"] != "2" {
		t.Fatalf("sessions created: %+v, want the waiting one holding its values", st.created)
	}
}
