package session

import (
	"errors"
	"net/http/httptest"
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
		if _, ok := r.m.lateNotice(user); ok {
			t.Fatal("a notice older than lateFor is still kept")
		}
	})
}
