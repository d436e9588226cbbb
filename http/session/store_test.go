package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestMemoryStore(t *testing.T) {
	ctx := context.Background()
	st := NewMemoryStore(3)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	mk := func(user string, exp time.Duration) Session {
		return Session{State: StateActive, UserID: user, Roles: []string{"admin"}, ExpiresAt: t0.Add(exp), Values: map[string]string{"k": "v"}}
	}
	if err := st.Create(ctx, "k1", mk("u1", time.Hour)); err != nil {
		t.Fatal(err)
	}
	_ = st.Create(ctx, "k2", mk("u1", time.Minute))
	_ = st.Create(ctx, "k3", mk("u2", time.Hour))
	if err := st.Create(ctx, "k4", mk("u3", time.Hour)); !errors.Is(err, ErrFull) {
		t.Fatalf("4th session in a store of 3: %v", err)
	}

	// Values handed out are copies.
	s, ok, _ := st.Get(ctx, "k1")
	if !ok {
		t.Fatal("k1 missing")
	}
	s.Roles[0] = "hacked"
	s.Values["k"] = "hacked"
	s2, _, _ := st.Get(ctx, "k1")
	if s2.Roles[0] != "admin" || s2.Values["k"] != "v" {
		t.Fatal("store shares slices/maps with callers")
	}

	// Update re-indexes a changed user (a pending session's user ID).
	if _, err := st.Update(ctx, "k3", func(s *Session) { s.UserID = "u1" }); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Update(ctx, "nope", func(*Session) {}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update of a missing key: %v", err)
	}

	n, _ := st.DeleteUser(ctx, "u1", "k1")
	if n != 2 {
		t.Fatalf("DeleteUser kept k1 and ended %d, want 2", n)
	}
	if _, ok, _ := st.Get(ctx, "k1"); !ok {
		t.Fatal("kept session gone")
	}
	if _, ok, _ := st.Get(ctx, "k3"); ok {
		t.Fatal("re-indexed session survived DeleteUser")
	}

	_ = st.Create(ctx, "k5", mk("u5", time.Minute))
	n, _ = st.Sweep(ctx, t0.Add(2*time.Minute))
	if n != 1 || st.Len() != 1 {
		t.Fatalf("sweep removed %d, left %d", n, st.Len())
	}
}

// Logins in progress cannot crowd out logged-in sessions: past their cap
// (a quarter of the store's) the oldest one gives way.
func TestMemoryStorePendingCap(t *testing.T) {
	ctx := context.Background()
	st := NewMemoryStore(8) // 8 logged in, 2 pending
	pending := Session{State: StatePending, Stage: StagePassword, UserID: "p"}
	for i := range 5 {
		if err := st.Create(ctx, fmt.Sprint("p", i), pending); err != nil {
			t.Fatalf("pending %d: %v", i, err)
		}
	}
	if st.Pending() != 2 || st.Len() != 2 {
		t.Fatalf("pending %d, held %d; want the newest 2", st.Pending(), st.Len())
	}
	for _, k := range []string{"p0", "p1", "p2"} {
		if _, ok, _ := st.Get(ctx, k); ok {
			t.Fatalf("%s survived: the oldest pending must give way", k)
		}
	}
	for i := range 8 {
		if err := st.Create(ctx, fmt.Sprint("a", i), Session{State: StateActive, UserID: "u"}); err != nil {
			t.Fatalf("logged-in %d beside full pending: %v", i, err)
		}
	}
	if err := st.Create(ctx, "a8", Session{State: StateActive, UserID: "u"}); !errors.Is(err, ErrFull) {
		t.Fatalf("9th logged-in session: %v", err)
	}
	// A pending session that becomes a login leaves the pending count.
	if _, err := st.Update(ctx, "p4", func(s *Session) { s.State = StateActive }); err != nil {
		t.Fatal(err)
	}
	if st.Pending() != 1 {
		t.Fatalf("pending %d after one logged in", st.Pending())
	}
	if n, _ := st.DeleteUser(ctx, "p", ""); n != 2 || st.Pending() != 0 {
		t.Fatalf("DeleteUser ended %d, pending left %d", n, st.Pending())
	}
}

// DeleteUserBefore ends only the sessions begun before the moment given.
func TestMemoryStoreDeleteUserBefore(t *testing.T) {
	ctx := context.Background()
	st := NewMemoryStore(0)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	_ = st.Create(ctx, "old", Session{State: StateActive, UserID: "u", CreatedAt: t0})
	_ = st.Create(ctx, "new", Session{State: StateActive, UserID: "u", CreatedAt: t0.Add(time.Second)})
	_ = st.Create(ctx, "other", Session{State: StateActive, UserID: "v", CreatedAt: t0})
	if n, _ := st.DeleteUserBefore(ctx, "u", t0.Add(time.Second), nil); n != 1 {
		t.Fatalf("ended %d, want 1", n)
	}
	for k, want := range map[string]bool{"old": false, "new": true, "other": true} {
		if _, ok, _ := st.Get(ctx, k); ok != want {
			t.Errorf("%s held: %v, want %v", k, ok, want)
		}
	}
}

// EndPendingBefore ends only the user's logins in progress, begun before
// the moment given, that it names (the logins waiting after a temporary
// password, when the e-mail followed the master's): logged-in sessions
// and the other logins in progress stay, and a pending login counts as
// one in the pending cap no more.
func TestManagerEndPendingBefore(t *testing.T) {
	ctx := context.Background()
	st := NewMemoryStore(0)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	m, err := NewManager(st, Config{}, func() time.Time { return t0.Add(time.Minute) })
	if err != nil {
		t.Fatal(err)
	}
	for key, s := range map[string]Session{
		"activation": {State: StatePending, Stage: StageActivation, UserID: "u", CreatedAt: t0},
		"password":   {State: StatePending, Stage: StagePassword, UserID: "u", CreatedAt: t0},
		"later":      {State: StatePending, Stage: StageActivation, UserID: "u", CreatedAt: t0.Add(2 * time.Second)},
		"logged-in":  {State: StateActive, Stage: StageActivation, UserID: "u", CreatedAt: t0},
		"other":      {State: StatePending, Stage: StageActivation, UserID: "v", CreatedAt: t0},
	} {
		if err := st.Create(ctx, key, s); err != nil {
			t.Fatal(err)
		}
	}
	pending := st.Pending()
	n, err := m.EndPendingBefore(ctx, "u", t0.Add(time.Second), func(s Session) bool { return s.Stage == StageActivation })
	if err != nil || n != 1 {
		t.Fatalf("ended %d (%v), want 1", n, err)
	}
	for k, want := range map[string]bool{"activation": false, "password": true, "later": true, "logged-in": true, "other": true} {
		if _, ok, _ := st.Get(ctx, k); ok != want {
			t.Errorf("%s held: %v, want %v", k, ok, want)
		}
	}
	if st.Pending() != pending-1 {
		t.Fatalf("pending %d, want %d", st.Pending(), pending-1)
	}
}

// UpdateUserBefore changes only the sessions of that user begun before
// the moment given, and cannot move one to another user.
func TestMemoryStoreUpdateUserBefore(t *testing.T) {
	ctx := context.Background()
	st := NewMemoryStore(0)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	until := t0.Add(time.Hour)
	_ = st.Create(ctx, "old", Session{State: StateActive, UserID: "u", CreatedAt: t0})
	_ = st.Create(ctx, "new", Session{State: StateActive, UserID: "u", CreatedAt: t0.Add(time.Second)})
	_ = st.Create(ctx, "other", Session{State: StateActive, UserID: "v", CreatedAt: t0})
	n, _ := st.UpdateUserBefore(ctx, "u", t0.Add(time.Second), func(s *Session) { s.ValidUntil, s.UserID = until, "v" })
	if n != 1 {
		t.Fatalf("changed %d, want 1", n)
	}
	for k, want := range map[string]time.Time{"old": until, "new": {}, "other": {}} {
		if s, _, _ := st.Get(ctx, k); !s.ValidUntil.Equal(want) {
			t.Errorf("%s: ValidUntil %v, want %v", k, s.ValidUntil, want)
		}
	}
	if s, _, _ := st.Get(ctx, "old"); s.UserID != "u" {
		t.Errorf("moved to user %q", s.UserID)
	}
	if n, _ := st.DeleteUser(ctx, "u", ""); n != 2 {
		t.Errorf("the user's index holds %d sessions, want 2", n)
	}
}

func TestMemoryStoreConcurrentUpdates(t *testing.T) {
	ctx := context.Background()
	st := NewMemoryStore(0)
	_ = st.Create(ctx, "k", Session{State: StateActive, UserID: "u", Values: map[string]string{}})
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			_, _ = st.Update(ctx, "k", func(s *Session) { s.Values[fmt.Sprint(i)] = "x" })
		})
	}
	wg.Wait()
	s, _, _ := st.Get(ctx, "k")
	if len(s.Values) != 50 {
		t.Fatalf("lost updates: %d of 50 kept", len(s.Values))
	}
}

func TestJanitorSweeps(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := NewMemoryStore(0)
	_ = st.Create(ctx, "old", Session{UserID: "u", ExpiresAt: time.Unix(0, 0)})
	done := make(chan struct{})
	go func() { Janitor(ctx, st, time.Millisecond, nil); close(done) }()
	for st.Len() != 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
}

func TestTokens(t *testing.T) {
	a, b := newToken(), newToken()
	if a == b || !validToken(a) || len(a) != 43 {
		t.Fatalf("tokens %q %q", a, b)
	}
	if validToken("short") || validToken(a[:42]+"!") {
		t.Fatal("malformed token accepted")
	}
	if keyOf(a) == a || len(keyOf(a)) != 64 {
		t.Fatal("key is not a hash of the token")
	}
}

// A logged-in session swept for having timed out leaves its user, once and
// for GoneFor; a login in progress, a session that reached its ValidUntil
// and one deleted (logout) leave nothing.
func TestMemoryStoreSweepKeepsWhoseSessionTimedOut(t *testing.T) {
	ctx := context.Background()
	st := NewMemoryStore(0)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	_ = st.Create(ctx, "idle", Session{State: StateActive, UserID: "u", ExpiresAt: t0})
	_ = st.Create(ctx, "pending", Session{State: StatePending, UserID: "p", ExpiresAt: t0})
	_ = st.Create(ctx, "left", Session{State: StateActive, UserID: "l", ExpiresAt: t0, ValidUntil: t0})
	_ = st.Create(ctx, "out", Session{State: StateActive, UserID: "o", ExpiresAt: t0})
	_ = st.Delete(ctx, "out")
	if n, _ := st.Sweep(ctx, t0.Add(time.Minute)); n != 3 || st.Len() != 0 {
		t.Fatalf("swept %d, %d left", n, st.Len())
	}
	if st.Gone() != 1 {
		t.Fatalf("%d tombstones, want 1", st.Gone())
	}
	for _, k := range []string{"pending", "left", "out"} {
		if u, ok, _ := st.TakeGone(ctx, k, t0.Add(time.Minute)); ok {
			t.Errorf("%s: kept user %q", k, u)
		}
	}
	if u, ok, _ := st.TakeGone(ctx, "idle", t0.Add(GoneFor-time.Second)); !ok || u != "u" {
		t.Fatalf("idle: %q %v, want u", u, ok)
	}
	if _, ok, _ := st.TakeGone(ctx, "idle", t0.Add(time.Minute)); ok {
		t.Fatal("a tombstone was read twice")
	}

	// Past GoneFor it is not told, and the next sweep forgets it.
	_ = st.Create(ctx, "late", Session{State: StateActive, UserID: "u", ExpiresAt: t0})
	_, _ = st.Sweep(ctx, t0.Add(time.Minute))
	if _, ok, _ := st.TakeGone(ctx, "late", t0.Add(GoneFor)); ok {
		t.Fatal("a tombstone was told past GoneFor")
	}
	_ = st.Create(ctx, "late", Session{State: StateActive, UserID: "u", ExpiresAt: t0})
	_, _ = st.Sweep(ctx, t0.Add(time.Minute))
	_, _ = st.Sweep(ctx, t0.Add(GoneFor))
	if st.Gone() != 0 {
		t.Fatalf("%d tombstones past GoneFor", st.Gone())
	}
}

// The user of a swept session is kept as long as the return cookie lives
// (Config.PendingTimeout), not a fixed 30 minutes: with a two-hour
// PendingTimeout a browser back after 45 minutes is still tied to its
// user; with ten minutes, one back after 15 is not.
func TestTombstoneFollowsPendingTimeout(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		pending, back time.Duration
		kept          bool
	}{
		{2 * time.Hour, 45 * time.Minute, true},
		{2 * time.Hour, 2*time.Hour + time.Second, false},
		{10 * time.Minute, 15 * time.Minute, false},
		{0, GoneFor - time.Second, true}, // the default
	} {
		st := NewMemoryStore(0)
		if _, err := NewManager(st, Config{PendingTimeout: c.pending}, nil); err != nil {
			t.Fatal(err)
		}
		_ = st.Create(ctx, "idle", Session{State: StateActive, UserID: "u", ExpiresAt: t0})
		_, _ = st.Sweep(ctx, t0.Add(time.Minute))
		if u, ok, _ := st.TakeGone(ctx, "idle", t0.Add(c.back)); ok != c.kept || (ok && u != "u") {
			t.Errorf("PendingTimeout %v, back after %v: kept %v (%q), want %v", c.pending, c.back, ok, u, c.kept)
		}
	}
}

// Tombstones are capped at a quarter of the store's sessions, the oldest
// giving way, however many sessions are swept.
func TestMemoryStoreTombstonesCapped(t *testing.T) {
	ctx := context.Background()
	st := NewMemoryStore(40) // 10 tombstones
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := range 100 {
		_ = st.Create(ctx, fmt.Sprint("k", i), Session{State: StateActive, UserID: fmt.Sprint("u", i), ExpiresAt: t0})
		_, _ = st.Sweep(ctx, t0)
		if st.Gone() > 10 {
			t.Fatalf("after %d sweeps: %d tombstones", i+1, st.Gone())
		}
	}
	if _, ok, _ := st.TakeGone(ctx, "k89", t0); ok {
		t.Fatal("an old tombstone outlived the cap")
	}
	if u, ok, _ := st.TakeGone(ctx, "k99", t0); !ok || u != "u99" {
		t.Fatalf("the newest tombstone: %q %v", u, ok)
	}
}

// Ending a user's sessions (a lock, a password change, logout everywhere)
// forgets their tombstones too; DeleteUserBefore only those of sessions
// begun before its moment.
func TestMemoryStoreDeleteUserForgetsTombstones(t *testing.T) {
	ctx := context.Background()
	st := NewMemoryStore(0)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	_ = st.Create(ctx, "a", Session{State: StateActive, UserID: "u", CreatedAt: t0, ExpiresAt: t0})
	_ = st.Create(ctx, "b", Session{State: StateActive, UserID: "u", CreatedAt: t0.Add(time.Second), ExpiresAt: t0})
	_ = st.Create(ctx, "v", Session{State: StateActive, UserID: "v", CreatedAt: t0, ExpiresAt: t0})
	_, _ = st.Sweep(ctx, t0)
	_, _ = st.DeleteUserBefore(ctx, "u", t0.Add(time.Second), nil)
	if _, ok, _ := st.TakeGone(ctx, "a", t0); ok {
		t.Fatal("DeleteUserBefore left the tombstone of a session begun before it")
	}
	if st.Gone() != 2 {
		t.Fatalf("%d tombstones, want 2 (b, v)", st.Gone())
	}
	_, _ = st.DeleteUser(ctx, "u", "")
	if _, ok, _ := st.TakeGone(ctx, "b", t0); ok {
		t.Fatal("DeleteUser left the user's tombstone")
	}
	if u, ok, _ := st.TakeGone(ctx, "v", t0); !ok || u != "v" {
		t.Fatal("DeleteUser forgot another user's tombstone")
	}
}
