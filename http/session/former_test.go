package session

import (
	"strconv"
	"testing"
	"time"
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
