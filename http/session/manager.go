package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/http/httpx"
)

// Config is the session policy (DESIGN.md "Security policy").
type Config struct {
	CookieName      string        // default "ispeks_session"
	CSRFCookieName  string        // default "ispeks_csrf" (forms before a session exists)
	IdleTimeout     time.Duration // default 30 min
	AbsoluteTimeout time.Duration // default 12 h
	// PendingTimeout bounds a half-finished login (user ID entered,
	// activation form open); default 30 min.
	PendingTimeout time.Duration
	// Secure says whether a request came over TLS (cookies get Secure).
	// Default: r.TLS != nil. Use httpx.SecureRequest for proxies.
	Secure func(*http.Request) bool
	// IsAPI marks JSON requests: they get 401/403 JSON instead of redirects.
	IsAPI func(*http.Request) bool
	// CSRFKey signs pre-session CSRF tokens; 32 random bytes if empty
	// (tokens then do not survive a restart, like sessions).
	CSRFKey []byte
	// LoginPath is where RequireLogin sends people (default "/").
	LoginPath string
	// TOTPPath is where RequireTOTP sends a logged-in admin or auditor who
	// has not yet given a code in this session.
	TOTPPath string
	// FormerForms says which routes answer, themselves, a form of a
	// session this browser's session replaced (FormerForm); elsewhere such
	// a form is refused as any stale one is.
	FormerForms func(*http.Request) bool
	// PasswordPath is where PasswordChangeFirst sends a session that must
	// change its password before anything else.
	PasswordPath string
	// LogoutPath is the logout action (POST). Posted with a stale token
	// by a browser that has no session any more, it is let through: there
	// is nothing left to end (CSRF).
	LogoutPath string
}

// Identity is who logs in.
type Identity struct {
	UserID     string
	Name       string
	Department string
	Roles      []string
	// TOTPVerified is true when the login itself included a TOTP code.
	TOTPVerified bool
	// MustChangePassword: the password is below the policy of the
	// account's roles; PasswordChangeFirst holds the session to the
	// change-password page until a new login (the change makes one).
	MustChangePassword bool
	// ValidUntil, when set, ends the session at that moment whatever its
	// activity (Session.ValidUntil).
	ValidUntil time.Time
	// DecidedAt is when the command that completed the login decided (the
	// time of its events); zero for a session that continues another. The
	// session counts as begun then: an account change the log recorded
	// after that decision reaches it, also when this process's follower
	// read the change before the session was made (see Manager.late).
	DecidedAt time.Time
	// Note is the account's login note as that command decided (the home
	// page shows it).
	Note LoginNote
	// LoggedInAt, for a session that goes on from the request's own under
	// a new token (after a password change), is that session's LoginTime:
	// the absolute lifetime still counts from it, so changing the password
	// (even to the same one) cannot keep a session alive past 12 hours.
	// Zero for a login.
	LoggedInAt time.Time
	// ReadAfter is the log position of the login's events
	// (Session.ReadAfter); zero: none to wait for.
	ReadAfter uint64
}

// LoginNote is what the home page tells a person of the login before this
// one, so they notice a login or guesses that were not theirs. It is
// decided with the login and kept in the session: the page then reads no
// read model.
type LoginNote struct {
	// Known: the session was made by a login that decided the note (a
	// session made otherwise leaves the page to the accounts view).
	Known bool
	// Previous is the completed login before this one (zero: this is the
	// first), FailedBefore the failed attempts between the two.
	Previous     time.Time
	FailedBefore int
}

// ErrOvertaken: the log ended the account's sessions (a lock, a password
// change, a role removed) after the login was decided but before its
// session was made, or the session a code was given for ended while the
// code was checked (MarkTOTP); the login must start again.
var ErrOvertaken = errors.New("session: the account's sessions were ended after this login was decided")

// Manager runs sessions over a Store.
type Manager struct {
	store Store
	cfg   Config
	now   func() time.Time

	// orderMu puts a login's look at the notices and the making of its
	// session on one side, and the follower's notice and its acting on
	// the sessions that exist on the other: between a look that found no
	// notice and the session made, the follower could note the end and
	// act on no session, and the late session would stand. It also guards
	// late and latePrune, read and written only on those two sides.
	orderMu sync.Mutex

	late map[string]lateNotice // by user ID
	// latePrune is the size at which expired notices are next swept: twice
	// what a sweep left, so a burst of ends (many accounts locked within
	// ten minutes) costs one sweep per doubling, not one per notice.
	latePrune int

	replaced replacements
}

// lateNotice is what the log last said about a user's sessions begun
// before a moment: that they ended (endedAt), and when they end now that a
// leaving date was recorded or cancelled (changedAt: until, zero for no
// end). A login decided before such a moment whose session is made after
// the follower passed the event would otherwise miss it: the follower acts
// on the sessions that exist when it reads the event. Kept lateFor, longer
// than any login takes from its decision to its session.
type lateNotice struct {
	endedAt   time.Time
	changedAt time.Time
	until     time.Time
}

func (n lateNotice) latest() time.Time {
	if n.changedAt.After(n.endedAt) {
		return n.changedAt
	}
	return n.endedAt
}

const (
	lateFor   = 10 * time.Minute
	lateLimit = 4096 // notices kept before the old ones are dropped
)

// NewManager makes a manager; now is the clock (time.Now in production).
func NewManager(store Store, cfg Config, now func() time.Time) (*Manager, error) {
	if store == nil {
		return nil, errors.New("session: nil store")
	}
	if now == nil {
		now = time.Now
	}
	if cfg.CookieName == "" {
		cfg.CookieName = "ispeks_session"
	}
	if cfg.CSRFCookieName == "" {
		cfg.CSRFCookieName = "ispeks_csrf"
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.AbsoluteTimeout <= 0 {
		cfg.AbsoluteTimeout = 12 * time.Hour
	}
	if cfg.PendingTimeout <= 0 {
		cfg.PendingTimeout = 30 * time.Minute
	}
	if cfg.Secure == nil {
		cfg.Secure = func(r *http.Request) bool { return r.TLS != nil }
	}
	if cfg.IsAPI == nil {
		cfg.IsAPI = func(*http.Request) bool { return false }
	}
	if cfg.LoginPath == "" {
		cfg.LoginPath = "/"
	}
	if cfg.TOTPPath == "" {
		cfg.TOTPPath = cfg.LoginPath
	}
	if cfg.PasswordPath == "" {
		cfg.PasswordPath = cfg.LoginPath
	}
	switch {
	case len(cfg.CSRFKey) == 0:
		cfg.CSRFKey = make([]byte, 32)
		_, _ = rand.Read(cfg.CSRFKey)
	case len(cfg.CSRFKey) < 16:
		return nil, errors.New("session: CSRF key shorter than 16 bytes")
	}
	// A timed-out session's user is kept as long as the page its browser
	// asks for is (the return cookie), so the two agree whatever the
	// configured PendingTimeout.
	if k, ok := store.(GoneKeeper); ok {
		k.KeepGoneFor(cfg.PendingTimeout)
	}
	return &Manager{store: store, cfg: cfg, now: now, late: map[string]lateNotice{}}, nil
}

// Config returns the effective policy.
func (m *Manager) Config() Config { return m.cfg }

// Store returns the store.
func (m *Manager) Store() Store { return m.store }

const ctxKey = "ispeks.session"

// loaded is the per-request view of the session.
type loaded struct {
	key     string
	s       Session
	ok      bool
	expired bool   // a session cookie was presented but had timed out
	was     string // the user of that timed-out session, when still known
	csrf    string // pre-session CSRF token issued in this request
	// replaced: the cookie's session was replaced a moment ago by a
	// logged-in one (noteReplaced), not timed out.
	replaced *replaced
	former   *Former // the form is one of a replaced session (FormerForm)
}

func state(c *gin.Context) *loaded {
	if v, ok := c.Get(ctxKey); ok {
		if l, ok := v.(*loaded); ok {
			return l
		}
	}
	l := &loaded{}
	c.Set(ctxKey, l)
	return l
}

// Current returns the request's session, pending or active.
func Current(c *gin.Context) (Session, bool) {
	l := state(c)
	return l.s, l.ok
}

// User returns the request's session if it is a completed login.
func User(c *gin.Context) (Session, bool) {
	l := state(c)
	if l.ok && l.s.LoggedIn() {
		return l.s, true
	}
	return Session{}, false
}

// Expired reports whether the request presented a session that had timed
// out (the login page then says "Sesi anda telah tamat").
func Expired(c *gin.Context) bool { return state(c).expired }

func newToken() string {
	var b [32]byte // 256 bits
	if _, err := rand.Read(b[:]); err != nil {
		panic("session: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func keyOf(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// validToken rejects anything that cannot be one of our tokens before it
// reaches the store.
func validToken(t string) bool {
	if len(t) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(t)
	return err == nil
}

func (m *Manager) deadline(s Session, now time.Time) time.Time {
	abs := s.LoginTime().Add(m.cfg.AbsoluteTimeout)
	if s.State == StatePending {
		abs = s.CreatedAt.Add(m.cfg.PendingTimeout)
	}
	idle := now.Add(m.cfg.IdleTimeout)
	end := abs
	if idle.Before(end) {
		end = idle
	}
	if !s.ValidUntil.IsZero() && s.ValidUntil.Before(end) {
		end = s.ValidUntil
	}
	return end
}

// Load reads the session cookie, refuses a timed-out session (ending it
// and clearing the cookie) and extends the idle deadline of a live one.
// Install it on every route that may use a session.
func (m *Manager) Load() gin.HandlerFunc {
	return func(c *gin.Context) {
		l := state(c)
		ck, err := c.Request.Cookie(m.cfg.CookieName)
		if err != nil || !validToken(ck.Value) {
			c.Next()
			return
		}
		ctx := c.Request.Context()
		key := keyOf(ck.Value)
		s, ok, err := m.store.Get(ctx, key)
		if err != nil {
			httpx.Abort(c, fmt.Errorf("session: load: %w", err))
			return
		}
		now := m.now()
		switch {
		case !ok:
			r, ok, err := m.replacedBy(ctx, key)
			if err != nil {
				httpx.Abort(c, fmt.Errorf("session: load: %w", err))
				return
			}
			if ok {
				// The other request of a double click: the browser may
				// already hold the new token, which clearing would end.
				l.replaced, l.was = &r, r.former.UserID
				break
			}
			m.clearCookie(c)
			l.expired = true
			// Swept by the janitor after timing out: the store may still
			// know whose it was (once), so the page asked for can be tied
			// to them. The session stays gone.
			if l.was, _, err = m.store.TakeGone(ctx, key, now); err != nil {
				httpx.Abort(c, fmt.Errorf("session: load: %w", err))
				return
			}
		case !now.Before(s.ExpiresAt):
			_ = m.store.Delete(ctx, key)
			m.clearCookie(c)
			l.expired, l.was = true, s.UserID
		default:
			// Touch at most once a minute: the idle deadline is kept to the
			// minute without a store write on every request.
			if now.Sub(s.LastSeen) >= time.Minute {
				s, err = m.store.Update(ctx, key, func(s *Session) {
					s.LastSeen = now
					s.ExpiresAt = m.deadline(*s, now)
				})
				if err != nil && !errors.Is(err, ErrNotFound) {
					httpx.Abort(c, fmt.Errorf("session: touch: %w", err))
					return
				}
				if err != nil { // ended by another request meanwhile
					m.clearCookie(c)
					l.expired = true
					break
				}
			}
			l.key, l.s, l.ok = key, s, true
		}
		c.Next()
	}
}

func (m *Manager) setCookie(c *gin.Context, token string) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: m.cfg.CookieName, Value: token, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: m.cfg.Secure(c.Request),
	})
}

func (m *Manager) clearCookie(c *gin.Context) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: m.cfg.CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: m.cfg.Secure(c.Request),
	})
}

// begin replaces the request's session (if any) by a new one under a new
// token: a token is never carried across a change of who or what the
// session is (fixation).
func (m *Manager) begin(c *gin.Context, s Session) error {
	ctx := c.Request.Context()
	l := state(c)
	carryFormers(l.s, &s)
	prev, prevKey, hadPrev := l.s, l.key, l.ok
	if l.ok {
		if err := m.store.Delete(ctx, l.key); err != nil {
			return fmt.Errorf("session: end old: %w", err)
		}
	}
	now := m.now()
	// A login's session counts as begun when its login was decided (a
	// moment ago), so what the log recorded after that ends it too.
	if s.CreatedAt.IsZero() || s.CreatedAt.After(now) {
		s.CreatedAt = now
	}
	s.LastSeen = now
	s.CSRF = newToken()
	s.ExpiresAt = m.deadline(s, now)
	token := newToken()
	key := keyOf(token)
	if err := m.store.Create(ctx, key, s); err != nil {
		if errors.Is(err, ErrFull) {
			return fmt.Errorf("%w: %w", httpx.ErrUnavailable, err)
		}
		return fmt.Errorf("session: create: %w", err)
	}
	if hadPrev && s.State == StateActive && s.UserID == prev.UserID {
		m.noteReplaced(prevKey, prev, key)
	}
	m.setCookie(c, token)
	l.key, l.s, l.ok, l.expired, l.csrf = key, s, true, false, ""
	return nil
}

// StartPending begins a login in progress for userID at stage with values
// (a new token; any previous session of this browser ends). The values go
// in with the session, not in a second write: a lock recorded in between
// (another browser's third wrong password) ends the new session, and that
// write would find none.
func (m *Manager) StartPending(c *gin.Context, userID, stage string, values map[string]string) error {
	return m.begin(c, Session{State: StatePending, Stage: stage, UserID: userID, Values: maps.Clone(values)})
}

// StartWaiting is StartPending for the next stage of a login that a
// command decided at decidedAt (commands.LoginGrant.DecidedAt): the code
// step, Pengaktifan, the new password. Like a completed login's session
// (Login), it counts as begun at the decision, so an end the log recorded
// after it reaches it in either order: read before it is made, it is
// refused (ErrOvertaken, and no session); read after, it ends it as any
// other. The command completing the login checks the same on the stream
// (commands.WaitingLogin), which the follower may not have reached yet.
func (m *Manager) StartWaiting(c *gin.Context, userID, stage string, decidedAt time.Time, values map[string]string) error {
	m.orderMu.Lock()
	defer m.orderMu.Unlock()
	if n, ok := m.lateNotice(userID); ok && decidedAt.Before(n.endedAt) {
		return ErrOvertaken
	}
	return m.begin(c, Session{State: StatePending, Stage: stage, UserID: userID, CreatedAt: decidedAt, Values: maps.Clone(values)})
}

// Login makes the request's browser logged in as id, under a new token.
// A login decided before the log ended the account's sessions gets
// ErrOvertaken and no session; one decided before a leaving date was
// recorded ends on that date.
func (m *Manager) Login(c *gin.Context, id Identity) error {
	m.orderMu.Lock()
	defer m.orderMu.Unlock()
	if !id.DecidedAt.IsZero() {
		if n, ok := m.lateNotice(id.UserID); ok {
			if id.DecidedAt.Before(n.endedAt) {
				return ErrOvertaken
			}
			if id.DecidedAt.Before(n.changedAt) {
				id.ValidUntil = n.until
			}
		}
	}
	return m.begin(c, Session{
		State: StateActive, UserID: id.UserID, Name: id.Name, Department: id.Department,
		Roles: id.Roles, TOTPVerified: id.TOTPVerified, MustChangePassword: id.MustChangePassword, Note: id.Note,
		ValidUntil: id.ValidUntil, CreatedAt: id.DecidedAt, LoggedInAt: id.LoggedInAt, ReadAfter: id.ReadAfter,
	})
}

// noteLate records, with fn, what an event said of userID's sessions begun
// before its time. The caller holds orderMu.
func (m *Manager) noteLate(userID string, fn func(*lateNotice)) {
	if len(m.late) >= max(lateLimit, m.latePrune) {
		cut := m.now().Add(-lateFor)
		for u, old := range m.late {
			if old.latest().Before(cut) {
				delete(m.late, u)
			}
		}
		m.latePrune = 2 * len(m.late)
	}
	n := m.late[userID]
	fn(&n)
	m.late[userID] = n
}

// lateNotice is userID's notice, if one younger than lateFor is kept. The
// caller holds orderMu.
func (m *Manager) lateNotice(userID string) (lateNotice, bool) {
	n, ok := m.late[userID]
	if ok && n.latest().Before(m.now().Add(-lateFor)) {
		delete(m.late, userID)
		return lateNotice{}, false
	}
	return n, ok
}

// Update changes the request's session atomically (e.g. a pending login
// moving to the activation stage, or flow scratch values).
func (m *Manager) Update(c *gin.Context, fn func(*Session)) error {
	l := state(c)
	if !l.ok {
		return ErrNotFound
	}
	s, err := m.store.Update(c.Request.Context(), l.key, fn)
	if err != nil {
		return fmt.Errorf("session: update: %w", err)
	}
	l.s = s
	return nil
}

// MarkTOTP records that the session's user gave a valid TOTP code. The
// token is rotated: the session has gained privilege. ErrOvertaken when
// the session ended since the request read it.
func (m *Manager) MarkTOTP(c *gin.Context) error {
	s, ok := User(c)
	if !ok {
		return ErrNotFound
	}
	s.TOTPVerified = true
	createdAt := s.CreatedAt
	// The session was read when the request began; the code's check took
	// a while. Ended meanwhile (a lock, a role removed, logged out), it is
	// not made again under the new token.
	m.orderMu.Lock()
	defer m.orderMu.Unlock()
	if _, ok, err := m.store.Get(c.Request.Context(), state(c).key); err != nil {
		return fmt.Errorf("session: mark totp: %w", err)
	} else if !ok {
		return ErrOvertaken
	}
	if err := m.begin(c, s); err != nil {
		return err
	}
	// Rotation must not extend the absolute lifetime.
	return m.Update(c, func(s *Session) {
		s.CreatedAt = createdAt
		s.ExpiresAt = m.deadline(*s, m.now())
	})
}

// Logout ends the request's session and clears its cookie.
func (m *Manager) Logout(c *gin.Context) error {
	l := state(c)
	if l.ok {
		if err := m.store.Delete(c.Request.Context(), l.key); err != nil {
			return fmt.Errorf("session: logout: %w", err)
		}
	}
	m.clearCookie(c)
	l.key, l.s, l.ok, l.csrf = "", Session{}, false, ""
	return nil
}

// EndDonePending ends the request's pending session after its command
// refused the step it was at as done already: the account was activated,
// or given its new password, in another tab, on another device, or by the
// first of a double click. Nothing that session allows can be done any
// more, and left alone it would hold a place among the logins in progress
// until the next login step or its timeout.
//
// Only the session under the request's own token ends: the one the first
// of a double click made has a token of its own. The cookie is left alone,
// for that first request's answer may carry the new session's cookie, which
// a clearing answer arriving after it would drop. For the same reason the
// token is kept a moment as a replaced one (noteDone): the next request
// the browser sends with it (the refused answer's redirect followed, a
// third click) is told the step was done, not that its session expired,
// and does not clear the cookie either, whether or not the first request's
// login has replaced the session by then.
func (m *Manager) EndDonePending(c *gin.Context) error {
	l := state(c)
	if !l.ok || l.s.State != StatePending {
		return nil
	}
	// Noted before it goes, so no request finds it neither stored nor noted.
	m.noteDone(l.key, l.s)
	if err := m.store.Delete(c.Request.Context(), l.key); err != nil {
		return fmt.Errorf("session: end done pending: %w", err)
	}
	l.key, l.s, l.ok, l.csrf = "", Session{}, false, ""
	return nil
}

// EndAllFor ends every session of userID, pending or active (logout
// everywhere, lockout, password change by an administrator).
func (m *Manager) EndAllFor(ctx context.Context, userID string) (int, error) {
	n, err := m.store.DeleteUser(ctx, userID, "")
	if err != nil {
		return n, fmt.Errorf("session: end all: %w", err)
	}
	return n, nil
}

// EndAllBefore ends every session of userID begun before t: what an event
// recorded at t (a lock, a password change, a role revoked) ended, read
// back from the log. Sessions begun after it stay: the one that changed
// the password, a login after the unlock.
func (m *Manager) EndAllBefore(ctx context.Context, userID string, t time.Time) (int, error) {
	m.orderMu.Lock()
	defer m.orderMu.Unlock()
	return m.endAllBefore(ctx, userID, t)
}

func (m *Manager) endAllBefore(ctx context.Context, userID string, t time.Time) (int, error) {
	m.noteLate(userID, func(n *lateNotice) {
		if t.After(n.endedAt) {
			n.endedAt = t
		}
	})
	n, err := m.store.DeleteUserBefore(ctx, userID, t, nil)
	if err != nil {
		return n, fmt.Errorf("session: end all before: %w", err)
	}
	return n, nil
}

// EndPendingBefore ends the logins in progress of userID begun before t
// for which which is true: an event recorded at t ended those only (the
// e-mail followed the master's: the logins waiting after a temporary
// password mailed to the old address). Logged-in sessions stay. No late
// notice is kept for StartWaiting: a waiting session made after this from
// a decision before t is refused by the command of its next step
// (commands.WaitingLogin), which reads the same end from the log.
func (m *Manager) EndPendingBefore(ctx context.Context, userID string, t time.Time, which func(Session) bool) (int, error) {
	m.orderMu.Lock()
	defer m.orderMu.Unlock()
	n, err := m.store.DeleteUserBefore(ctx, userID, t, func(s Session) bool {
		return s.State == StatePending && which(s)
	})
	if err != nil {
		return n, fmt.Errorf("session: end pending before: %w", err)
	}
	return n, nil
}

// EndAllAt makes every session of userID begun before t end at until (an
// event recorded at t said the holder's roles lapse then: a leaving date
// still ahead), or ends them now if until has come. A session begun after
// t was opened knowing it and carries its own ValidUntil. Each session's
// idle and absolute deadlines still apply; until replaces an earlier one
// (a leaving date moved later).
func (m *Manager) EndAllAt(ctx context.Context, userID string, t, until time.Time) (int, error) {
	m.orderMu.Lock()
	defer m.orderMu.Unlock()
	if !until.After(m.now()) {
		return m.endAllBefore(ctx, userID, t)
	}
	n, err := m.validUntilBefore(ctx, userID, t, until)
	if err != nil {
		return n, fmt.Errorf("session: end all at: %w", err)
	}
	return n, nil
}

// ClearValidUntilBefore clears ValidUntil, the end that EndAllAt or the
// login itself gave them, of every session of userID begun before t: an
// event recorded at t cancelled the leaving date, so the holder keeps the
// post past it. Their idle and absolute deadlines still apply. A session
// begun after t was opened knowing it and carries no such end.
func (m *Manager) ClearValidUntilBefore(ctx context.Context, userID string, t time.Time) (int, error) {
	m.orderMu.Lock()
	defer m.orderMu.Unlock()
	n, err := m.validUntilBefore(ctx, userID, t, time.Time{})
	if err != nil {
		return n, fmt.Errorf("session: clear valid-until before: %w", err)
	}
	return n, nil
}

// validUntilBefore notes, and gives every session of userID begun before
// t, the end until (zero: none) that an event recorded at t set. The caller
// holds orderMu.
func (m *Manager) validUntilBefore(ctx context.Context, userID string, t, until time.Time) (int, error) {
	m.noteLate(userID, func(n *lateNotice) {
		if !t.Before(n.changedAt) {
			n.changedAt, n.until = t, until
		}
	})
	return m.store.UpdateUserBefore(ctx, userID, t, func(s *Session) {
		if s.ValidUntil.Equal(until) {
			return
		}
		s.ValidUntil = until
		// LastSeen is when the idle deadline was last moved on.
		s.ExpiresAt = m.deadline(*s, s.LastSeen)
	})
}

// RenameBefore gives every logged-in session of userID begun before t the
// name and department the employee master holds since t (HR corrected
// them): the pages' greeting ("Selamat datang, …") shows the session's
// copy, made at login. A session begun after t was opened with them.
func (m *Manager) RenameBefore(ctx context.Context, userID string, t time.Time, name, department string) (int, error) {
	n, err := m.store.UpdateUserBefore(ctx, userID, t, func(s *Session) {
		if s.LoggedIn() {
			s.Name, s.Department = name, department
		}
	})
	if err != nil {
		return n, fmt.Errorf("session: rename before: %w", err)
	}
	return n, nil
}

// EndOthers ends every other session of the request's user, keeping this
// one (the user changed their own password).
func (m *Manager) EndOthers(c *gin.Context) (int, error) {
	l := state(c)
	if !l.ok || l.s.UserID == "" {
		return 0, ErrNotFound
	}
	n, err := m.store.DeleteUser(c.Request.Context(), l.s.UserID, l.key)
	if err != nil {
		return n, fmt.Errorf("session: end others: %w", err)
	}
	return n, nil
}

// redirectToLogin sends a browser to the login page, saying why, and
// remembers the page it asked for (TakeReturn).
func (m *Manager) redirectToLogin(c *gin.Context) {
	// The login page says why: the session ended, or there was none (a
	// bookmark, or a logout in another tab). Nothing about an account.
	target := m.cfg.LoginPath + "?sesi=perlu"
	l := state(c)
	if l.expired {
		target = m.cfg.LoginPath + "?sesi=tamat"
	}
	// A session cookie whose session is gone and whose user the store no
	// longer knows (ended elsewhere, lost in a restart, swept too long ago)
	// cannot be tied to its user: its page is not remembered, or the next
	// person at a shared computer would be sent to it.
	if !l.expired || l.was != "" {
		m.rememberReturn(c, l.was)
	}
	c.Redirect(http.StatusSeeOther, target)
	c.Abort()
}

// RequireLogin lets only completed logins through. Browsers are sent to
// the login page; API requests get 401 JSON.
func (m *Manager) RequireLogin() gin.HandlerFunc {
	return func(c *gin.Context) {
		if _, ok := User(c); ok {
			c.Next()
			return
		}
		if m.cfg.IsAPI(c.Request) {
			httpx.Abort(c, httpx.ErrLoginRequired)
			return
		}
		m.redirectToLogin(c)
	}
}

// RequireRole lets through only logged-in users holding one of roles.
// Anyone else logged in gets 404: staff are not told the admin and auditor
// areas exist.
func (m *Manager) RequireRole(roles ...string) gin.HandlerFunc {
	login := m.RequireLogin()
	return func(c *gin.Context) {
		s, ok := User(c)
		if !ok {
			login(c)
			return
		}
		if !s.HasRole(roles...) {
			httpx.Abort(c, httpx.ErrNotFound)
			return
		}
		c.Next()
	}
}

// PasswordChangeFirst holds a session marked MustChangePassword to the
// requests allow lets through (the change-password page and what leads to
// it); any other page sends the browser to PasswordPath (303), and an API
// request gets 403. A redirect after the login alone would not do: the
// person could open any other page instead. Install it after Load, before
// the routes.
func (m *Manager) PasswordChangeFirst(allow func(*http.Request) bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		if s, ok := User(c); !ok || !s.MustChangePassword || allow(c.Request) {
			c.Next()
			return
		}
		if m.cfg.IsAPI(c.Request) {
			httpx.Abort(c, httpx.ErrPasswordChangeRequired)
			return
		}
		c.Redirect(http.StatusSeeOther, m.cfg.PasswordPath)
		c.Abort()
	}
}

// RequireTOTP lets through only sessions that gave a TOTP code. Install it
// after RequireRole on admin and auditor areas. A browser is sent to the
// TOTP page (GET) or refused (other methods).
func (m *Manager) RequireTOTP() gin.HandlerFunc {
	login := m.RequireLogin()
	return func(c *gin.Context) {
		s, ok := User(c)
		if !ok {
			login(c)
			return
		}
		if s.TOTPVerified {
			c.Next()
			return
		}
		if !m.cfg.IsAPI(c.Request) && (c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead) {
			c.Redirect(http.StatusSeeOther, m.cfg.TOTPPath+"?next="+url.QueryEscape(c.Request.URL.RequestURI()))
			c.Abort()
			return
		}
		httpx.Abort(c, httpx.ErrTOTPRequired)
	}
}
