package session

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// Former is a form of a session this browser's session replaced: the page
// was drawn before the login moved on under a new token (a password set
// in another tab, the first of a double click), so its CSRF token is no
// longer the session's. Only that it was this browser's page is known; it
// must change nothing, only say what happened — but for Log Keluar, which
// ends what the browser is logged in as.
type Former struct {
	UserID string
	// Stage is what the replaced session was at, when its replacement was
	// the login that step led to: its pending stage, or StageStepUp for a
	// logged-in session without a code yet. "" says nothing was done.
	Stage string
	// LoggedIn: the request's cookie named the replaced session, and a
	// logged-in session of UserID that replaced it lives (the request left
	// before the answer carrying the new token came back).
	LoggedIn bool
}

// StageStepUp is Former.Stage of a logged-in session that had not yet
// given a TOTP code.
const StageStepUp = "stepup"

// FormerToken is a form token of a session this one replaced.
type FormerToken struct {
	CSRF  string
	Stage string
}

// maxFormers bounds the forms a session remembers: the steps of a login
// begun again in another tab (user ID, password, activation) are few.
const maxFormers = 6

// replaced is what is kept, for replacedFor, of a session rotated into a
// logged-in one of the same user: the other request of a double click is
// sent with its token before the answer carrying the new one comes back.
// The token opens nothing: it only lets that request be told what
// happened, and its answer leave the browser's cookie alone. It counts
// only while the session that replaced it (by) lives: once that one ended
// (a logout, a lock, a password change) the old cookie is an ended
// session's like any other. A pending session ended because its step was
// done already (EndDonePending) has no by: nothing of this browser's is
// known to have replaced it, and all its token can get is being told so.
type replaced struct {
	former Former
	csrf   string
	by     string // key of the session that replaced it; "" for EndDonePending
	at     time.Time
	seq    uint64 // its place in replacements.order
}

const (
	replacedFor   = 2 * time.Minute
	replacedLimit = 4096
)

// replacements are the manager's replaced tokens, by key. They hold user
// IDs (IC numbers): each goes as soon as it is met past its time, at the
// next note or look, not when the map fills up.
type replacements struct {
	mu sync.Mutex
	m  map[string]replaced
	// order is the keys as noted, oldest from head: the ones past their
	// time, or the oldest when the map is full, are found at the front
	// without a look at the rest.
	order []noted
	head  int
	seq   uint64
}

// noted is a key in the order it was noted; seq tells whether the map
// still holds that note, not a later one of the same key.
type noted struct {
	key string
	seq uint64
}

// prune drops what is past its time, and the oldest while room is wanted
// (keep: how many may stay). Each note is met once at the front, so a
// note costs O(1) amortised. The caller holds mu.
func (r *replacements) prune(now time.Time, keep int) {
	for r.head < len(r.order) {
		n := r.order[r.head]
		old, ok := r.m[n.key]
		switch {
		case !ok || old.seq != n.seq: // gone already, or noted again since
		case now.Sub(old.at) >= replacedFor || len(r.m) > keep:
			// Past its time; or young, but losing it only means its
			// double click is told the session ended.
			delete(r.m, n.key)
		default:
			// Noted in order of the clock: the rest are younger.
			r.compact()
			return
		}
		r.order[r.head] = noted{}
		r.head++
	}
	r.compact()
}

// compact gives back the front of order once most of it is spent.
func (r *replacements) compact() {
	if r.head == len(r.order) {
		r.order, r.head = r.order[:0], 0
		return
	}
	if r.head >= 64 && 2*r.head >= len(r.order) {
		n := copy(r.order, r.order[r.head:])
		clear(r.order[n:])
		r.order, r.head = r.order[:n], 0
	}
}

func stageOf(s Session) string {
	if s.State == StatePending {
		return s.Stage
	}
	if !s.TOTPVerified {
		return StageStepUp
	}
	return ""
}

// carryFormers gives next, which replaces prev of the same user, prev's
// form and those prev remembered, newest first. Prev's stage is kept only
// when next is the login it led to (its form was done): a login begun
// again from another tab replaces it too, with nothing done.
func carryFormers(prev Session, next *Session) {
	if prev.UserID == "" || prev.UserID != next.UserID {
		next.FormerTokens = nil
		return
	}
	former := FormerToken{CSRF: prev.CSRF}
	if next.State == StateActive {
		former.Stage = stageOf(prev)
	}
	f := append([]FormerToken{former}, prev.FormerTokens...)
	next.FormerTokens = f[:min(len(f), maxFormers)]
}

// noteReplaced keeps key's session, replaced by the logged-in one under
// by, for a double click's other request.
func (m *Manager) noteReplaced(key string, prev Session, by string) {
	m.withRoom(func(r *replacements, now time.Time) { r.note(key, prev, by, now) })
}

// withRoom runs fn on the replacements, locked and pruned to leave room
// for one more note.
func (m *Manager) withRoom(fn func(r *replacements, now time.Time)) {
	now := m.now()
	r := &m.replaced
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]replaced{}
	}
	r.prune(now, replacedLimit-1)
	fn(r, now)
}

// noteDone keeps key's pending session, ended because its step was done
// already (EndDonePending), for the requests its browser still sends with
// its token. A note there already is the login that replaced it (the
// first of a double click got there first) and says more: it stays.
func (m *Manager) noteDone(key string, prev Session) {
	m.withRoom(func(r *replacements, now time.Time) {
		if _, ok := r.m[key]; !ok {
			r.note(key, prev, "", now)
		}
	})
}

// note keeps key's session prev, replaced by by. The caller holds mu.
func (r *replacements) note(key string, prev Session, by string, now time.Time) {
	r.seq++
	r.m[key] = replaced{former: Former{UserID: prev.UserID, Stage: stageOf(prev)}, csrf: prev.CSRF, by: by, at: now, seq: r.seq}
	r.order = append(r.order, noted{key: key, seq: r.seq})
}

// replacedBy is key's replaced session, if it was replaced a moment ago
// and the session that replaced it, or one that in turn replaced that (a
// step-up right after the login), still lives; or if it was ended a
// moment ago as done already (EndDonePending).
func (m *Manager) replacedBy(ctx context.Context, key string) (replaced, bool, error) {
	old, ok := m.recentlyReplaced(key)
	next := old
	// Keys are never reused, so the chain has no loop; it is bounded all
	// the same, as a login's rotations are.
	for range maxFormers {
		if !ok {
			break
		}
		if next.by == "" {
			return old, true, nil
		}
		_, live, err := m.store.Get(ctx, next.by)
		if err != nil {
			return replaced{}, false, err
		}
		if live {
			return old, true, nil
		}
		next, ok = m.recentlyReplaced(next.by)
	}
	return replaced{}, false, nil
}

// recentlyReplaced is key's replaced session, if it was replaced less
// than replacedFor ago.
func (m *Manager) recentlyReplaced(key string) (replaced, bool) {
	now := m.now()
	r := &m.replaced
	r.mu.Lock()
	defer r.mu.Unlock()
	r.prune(now, replacedLimit)
	old, ok := r.m[key]
	if ok && now.Sub(old.at) >= replacedFor {
		// Noted after the clock was set back, behind a younger one:
		// out of order, met here.
		delete(r.m, key)
		return replaced{}, false
	}
	return old, ok
}

// Sweep drops the replaced sessions past their time, which a quiet spell
// (no login, no stale cookie) would otherwise keep, and sweeps the store
// (Store.Sweep). Run it as the Janitor.
func (m *Manager) Sweep(ctx context.Context, now time.Time) (int, error) {
	r := &m.replaced
	r.mu.Lock()
	r.prune(now, replacedLimit)
	r.mu.Unlock()
	return m.store.Sweep(ctx, now)
}

// formerOf is the session the request's form token belongs to, if it is a
// session this browser's session replaced: one the request's session
// remembers, or the one its cookie named before a double click's other
// request replaced it.
func (l *loaded) formerOf(token string) (Former, bool) {
	if l.ok {
		for _, f := range l.s.FormerTokens {
			if equal(token, f.CSRF) {
				return Former{UserID: l.s.UserID, Stage: f.Stage}, true
			}
		}
		return Former{}, false
	}
	if l.replaced != nil && equal(token, l.replaced.csrf) {
		f := l.replaced.former
		f.LoggedIn = l.replaced.by != ""
		return f, true
	}
	return Former{}, false
}

// FormerForm reports the replaced session whose form the request sent, if
// the CSRF check let it through as one (Config.FormerForms).
func FormerForm(c *gin.Context) (Former, bool) {
	l := state(c)
	if l.former == nil {
		return Former{}, false
	}
	return *l.former, true
}

// takesFormerForms reports whether r's route answers forms of a replaced
// session itself.
func (m *Manager) takesFormerForms(r *http.Request) bool {
	return m.cfg.FormerForms != nil && m.cfg.FormerForms(r)
}
