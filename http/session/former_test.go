package session

import (
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// replacedLen is how many replaced sessions the manager keeps, and how many
// its queue still names.
func replacedLen(m *Manager) (kept, queued int) {
	r := &m.replaced
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m), len(r.order) - r.head
}

// noteSome notes n sessions of user, replaced now.
func noteSome(r *lateRig, prefix string, n int) {
	for i := range n {
		r.m.noteReplaced(prefix+strconv.Itoa(i), Session{UserID: "791117045671", State: StatePending, Stage: StageActivation, CSRF: "t"}, "by-"+prefix+strconv.Itoa(i))
	}
}

// A replaced session's user ID (an IC number) and form token are kept for
// a double click's other request, replacedFor and no longer: the next note
// or look drops those past their time, however few are kept.
func TestReplacedSessionsGoOnTime(t *testing.T) {
	r := newLateRig(t)
	noteSome(r, "old-", 10)
	r.now = r.now.Add(replacedFor)
	noteSome(r, "new-", 1)
	if kept, _ := replacedLen(r.m); kept != 1 {
		t.Fatalf("%d replaced sessions kept after a note, want only the one younger than %v", kept, replacedFor)
	}

	r.now = r.now.Add(replacedFor)
	if _, ok := r.m.recentlyReplaced("nobody"); ok {
		t.Fatal("an unknown key was found")
	}
	if kept, queued := replacedLen(r.m); kept != 0 || queued != 0 {
		t.Fatalf("%d replaced sessions (%d queued) kept after a look, want none past their time", kept, queued)
	}
}

// Full of young ones, the oldest gives way to a new one, and what is kept
// stays within the limit, the queue too.
func TestReplacedSessionsFullGiveWayOldestFirst(t *testing.T) {
	r := newLateRig(t)
	first := r.now
	noteSome(r, "a-", 1)
	r.now = r.now.Add(time.Millisecond)
	noteSome(r, "b-", replacedLimit-1)
	noteSome(r, "c-", 1)
	r.now = first.Add(time.Second)
	if _, ok := r.m.recentlyReplaced("a-0"); ok {
		t.Fatal("the oldest replaced session is still kept")
	}
	for _, key := range []string{"b-0", "c-0"} {
		if _, ok := r.m.recentlyReplaced(key); !ok {
			t.Fatalf("%s gave way, not the oldest", key)
		}
	}
	noteSome(r, "d-", 2*replacedLimit)
	if kept, queued := replacedLen(r.m); kept != replacedLimit || queued != replacedLimit {
		t.Fatalf("%d kept, %d queued, want %d", kept, queued, replacedLimit)
	}

	// A key noted again (a double click's two logins from one session)
	// is kept as noted last, and counted once.
	r = newLateRig(t)
	noteSome(r, "x-", 1)
	r.now = r.now.Add(time.Minute)
	noteSome(r, "x-", 1)
	r.now = r.now.Add(time.Minute + time.Second)
	noteSome(r, "y-", 1)
	if _, ok := r.m.recentlyReplaced("x-0"); !ok {
		t.Fatal("a key noted again went with its first note")
	}
	if kept, queued := replacedLen(r.m); kept != 2 || queued != 2 {
		t.Fatalf("%d kept, %d queued, want 2", kept, queued)
	}
}

// A quiet spell (no login, no stale cookie) keeps none past its time
// either: the janitor's sweep drops them.
func TestReplacedSessionsGoWithTheJanitor(t *testing.T) {
	r := newLateRig(t)
	noteSome(r, "old-", 3)
	if _, err := r.m.Sweep(t.Context(), r.now.Add(replacedFor)); err != nil {
		t.Fatal(err)
	}
	if kept, queued := replacedLen(r.m); kept != 0 || queued != 0 {
		t.Fatalf("%d replaced sessions (%d queued) kept after a sweep, want none past their time", kept, queued)
	}
}

// A pending session ended as done already (EndDonePending) goes from the
// store, alone: another session of the same user (the one the first of a
// double click made) stays. Its token is kept as a replaced one with
// nothing that replaced it, for replacedFor: a later login that replaces
// it is kept instead, and a note of one that did is not overwritten.
func TestDonePendingSessionEndsAloneAndIsNoted(t *testing.T) {
	r := newLateRig(t)
	const user = "791117045671"
	gin.SetMode(gin.TestMode)
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest("POST", "/pengaktifan", nil)
	if err := r.m.StartPending(c, user, StageActivation, nil); err != nil {
		t.Fatal(err)
	}
	key := state(c).key
	if _, err := r.login(Identity{UserID: user}); err != nil {
		t.Fatal(err)
	}
	if err := r.m.EndDonePending(c); err != nil {
		t.Fatal(err)
	}
	if _, ok := Current(c); ok {
		t.Fatal("the request still has the ended session")
	}
	if r.store.Len() != 1 || r.store.Pending() != 0 {
		t.Fatalf("%d sessions, %d pending, want only the other login's", r.store.Len(), r.store.Pending())
	}
	old, ok, err := r.m.replacedBy(t.Context(), key)
	if err != nil || !ok || old.former != (Former{UserID: user, Stage: StageActivation}) || old.by != "" {
		t.Fatalf("the ended session's token: %+v %v %v, want noted as done", old, ok, err)
	}
	r.m.noteReplaced(key, Session{UserID: user, State: StatePending, Stage: StageActivation}, "by-login")
	if old, _ := r.m.recentlyReplaced(key); old.by != "by-login" {
		t.Fatalf("a login's note after the done one: by %q", old.by)
	}
	r.m.noteDone(key, Session{UserID: user, State: StatePending, Stage: StageActivation})
	if old, _ := r.m.recentlyReplaced(key); old.by != "by-login" {
		t.Fatalf("a done note overwrote a login's: by %q", old.by)
	}

	r.m.noteDone("other", Session{UserID: user, State: StatePending, Stage: StageActivation})
	r.now = r.now.Add(replacedFor)
	if _, ok, _ := r.m.replacedBy(t.Context(), "other"); ok {
		t.Fatal("a done note outlived replacedFor")
	}
}
