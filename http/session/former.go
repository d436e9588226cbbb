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
// must change nothing, only say what happened.
type Former struct {
	UserID string
	// Stage is what the replaced session was at, when its replacement was
	// the login that step led to: its pending stage, or StageStepUp for a
	// logged-in session without a code yet. "" says nothing was done.
	Stage string
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
// session's like any other.
type replaced struct {
	former Former
	csrf   string
	by     string // key of the session that replaced it
	at     time.Time
}

const (
	replacedFor   = 2 * time.Minute
	replacedLimit = 4096
)

// replacements are the manager's replaced tokens, by key.
type replacements struct {
	mu sync.Mutex
	m  map[string]replaced
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
	now := m.now()
	r := &m.replaced
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]replaced{}
	}
	if len(r.m) >= replacedLimit {
		// Past their time they go; if all are young, one gives way (any:
		// losing one only means its double click is told the session ended).
		for k, old := range r.m {
			if now.Sub(old.at) >= replacedFor || len(r.m) >= replacedLimit {
				delete(r.m, k)
			}
		}
	}
	r.m[key] = replaced{former: Former{UserID: prev.UserID, Stage: stageOf(prev)}, csrf: prev.CSRF, by: by, at: now}
}

// replacedBy is key's replaced session, if it was replaced a moment ago
// and the session that replaced it, or one that in turn replaced that (a
// step-up right after the login), still lives.
func (m *Manager) replacedBy(ctx context.Context, key string) (replaced, bool, error) {
	old, ok := m.recentlyReplaced(key)
	next := old
	// Keys are never reused, so the chain has no loop; it is bounded all
	// the same, as a login's rotations are.
	for range maxFormers {
		if !ok {
			break
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
	r := &m.replaced
	r.mu.Lock()
	defer r.mu.Unlock()
	old, ok := r.m[key]
	if ok && m.now().Sub(old.at) >= replacedFor {
		delete(r.m, key)
		return replaced{}, false
	}
	return old, ok
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
		return l.replaced.former, true
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
