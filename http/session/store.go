// Package session keeps server-side login sessions for the portal's pages:
// a random 256-bit token in the ispeks_session cookie names a record held
// by a Store; the Manager creates, rotates and ends sessions, enforces the
// idle and absolute timeouts, and provides the RequireLogin, RequireRole
// and RequireTOTP middleware and the CSRF protection of forms.
package session

import (
	"container/list"
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"
)

// State of a session.
type State int

const (
	// StatePending: a login in progress (user ID entered, waiting for the
	// password; or temporary password accepted, waiting for activation).
	// Not logged in.
	StatePending State = iota + 1
	// StateActive: logged in.
	StateActive
)

// Stages of a pending session.
const (
	StagePassword   = "password"   // user ID entered; the password page is next
	StageActivation = "activation" // temporary password accepted; the Aktif form is next
)

// Roles beyond staff.
const (
	RoleAdmin   = "admin"
	RoleAuditor = "auditor"
)

// Session is one session record. The cookie token is never stored: the
// store is keyed by its SHA-256, so a dump of the store cannot be replayed.
type Session struct {
	State        State
	Stage        string // pending sessions only
	UserID       string // the IC number: never log it
	Name         string
	Department   string
	Roles        []string
	TOTPVerified bool
	// MustChangePassword: only the change-password page and the steps
	// before it open (Manager.PasswordChangeFirst).
	MustChangePassword bool
	CSRF               string
	// CreatedAt is when the session counts as begun: an account change the
	// log recorded after it does not end it (EndAllBefore).
	CreatedAt time.Time
	// LoggedInAt, when set, is the login an active session continues (a
	// password change gives it a new token and a new CreatedAt, not a
	// new life): the absolute lifetime counts from it, not CreatedAt.
	LoggedInAt time.Time
	LastSeen   time.Time
	// ValidUntil, when set, is a moment the session must not outlive
	// whatever its activity: the start of its holder's leaving date, from
	// which they no longer hold the roles the session was opened with.
	ValidUntil time.Time
	// ExpiresAt is the earlier of the idle and absolute deadlines (and
	// ValidUntil), kept current by the Manager so a store can sweep
	// without knowing policy.
	ExpiresAt time.Time
	// Note is the login note of the login that made the session.
	Note LoginNote
	// ReadAfter is the log position of the events of the login that made
	// the session: a page that reads the views waits for the projections
	// to pass it (read-your-writes), since the login's own step does not.
	ReadAfter uint64
	// Values is small per-flow scratch space (e.g. which decoy image was
	// shown). Keep it small and free of secrets.
	Values map[string]string
	// FormerTokens are the forms of the sessions of the same user this one
	// replaced (FormerForm), newest first.
	FormerTokens []FormerToken
}

// LoggedIn reports whether the session is a completed login.
func (s Session) LoggedIn() bool { return s.State == StateActive }

// HasRole reports whether the session holds any of roles.
func (s Session) HasRole(roles ...string) bool {
	for _, r := range roles {
		if slices.Contains(s.Roles, r) {
			return true
		}
	}
	return false
}

// LoginTime is when the session's login began: LoggedInAt for a session
// that carries on another under a new token, else CreatedAt. The absolute
// lifetime counts from it.
func (s Session) LoginTime() time.Time {
	if !s.LoggedInAt.IsZero() && s.LoggedInAt.Before(s.CreatedAt) {
		return s.LoggedInAt
	}
	return s.CreatedAt
}

func (s Session) clone() Session {
	s.Roles = slices.Clone(s.Roles)
	s.Values = maps.Clone(s.Values)
	s.FormerTokens = slices.Clone(s.FormerTokens)
	return s
}

// ErrNotFound: no session under that key.
var ErrNotFound = errors.New("session: not found")

// ErrFull: the store holds as many sessions as it may.
var ErrFull = errors.New("session: store full")

// Store holds sessions by key (the token's hash). Implementations must be
// safe for concurrent use.
type Store interface {
	Create(ctx context.Context, key string, s Session) error
	Get(ctx context.Context, key string) (Session, bool, error)
	// Update applies fn to the stored session atomically (no lost update
	// between two requests of one user).
	Update(ctx context.Context, key string, fn func(*Session)) (Session, error)
	Delete(ctx context.Context, key string) error
	// DeleteUser ends every session (pending or active) of userID except
	// the one under keep ("" keeps none) and says how many ended.
	DeleteUser(ctx context.Context, userID, keep string) (int, error)
	// DeleteUserBefore ends every session of userID created before t (an
	// event recorded at t ended them; a session begun after it, e.g. the
	// one that changed the password, stays) for which which is true (nil:
	// every one).
	DeleteUserBefore(ctx context.Context, userID string, t time.Time, which func(Session) bool) (int, error)
	// UpdateUserBefore applies fn to every session of userID created
	// before t, each atomically, and says how many it changed.
	UpdateUserBefore(ctx context.Context, userID string, t time.Time, fn func(*Session)) (int, error)
	// Sweep drops sessions whose ExpiresAt is before now. Of a logged-in
	// session that timed out (not one that reached its ValidUntil) it
	// keeps who held it, for a while and bounded in number: TakeGone.
	Sweep(ctx context.Context, now time.Time) (int, error)
	// TakeGone returns, once, the user of the logged-in session that
	// Sweep dropped under key for having timed out, if still kept at now.
	// It never makes the session valid again: it only lets the page its
	// browser asks for next be tied to that user (Manager.rememberReturn).
	// DeleteUser and DeleteUserBefore forget it with the user's sessions.
	TakeGone(ctx context.Context, key string, now time.Time) (string, bool, error)
}

// MemoryStore keeps sessions in process memory.
//
// Sessions do not survive a restart: everyone logged in must log in again.
// That is acceptable here because a session holds nothing that is not
// rebuilt at the next login (identity, roles, a CSRF token), a restart is
// rare and announced, and logging people out is the safe failure; it also
// means no session secret ever touches disk. Running several instances
// needs sticky routing or a shared Store implementation.
//
// Logins in progress (pending sessions) are capped apart from logged-in
// ones: anyone may start one by typing a user ID, so when they reach their
// cap the oldest gives way, and they never take a logged-in session's place.
//
// Of a logged-in session swept for having timed out it keeps, for the
// return cookie's life (KeepGoneFor; GoneFor by default) and at most a quarter of maxSessions of them (the oldest gives way), only
// its key and user (TakeGone): the janitor sweeps within a minute of the
// timeout, long before the browser comes back, and without it the page
// that browser asks for could not be tied to its user.
type MemoryStore struct {
	mu         sync.Mutex
	byKey      map[string]Session
	byUser     map[string]map[string]struct{}
	pending    *list.List               // keys of pending sessions, oldest first
	pendingAt  map[string]*list.Element // key → its place in pending
	max        int                      // logged-in sessions
	maxPending int
	gone       *list.List                     // of *tombstone, oldest first
	goneAt     map[string]*list.Element       // key → its tombstone
	goneOf     map[string]map[string]struct{} // user → keys of their tombstones
	maxGone    int
	goneFor    time.Duration
}

// GoneFor is how long a swept session's user is kept after its timeout
// until the Manager says otherwise (KeepGoneFor): the life of the return
// cookie, Config.PendingTimeout, whose default it is.
const GoneFor = 30 * time.Minute

// GoneKeeper is a Store that keeps the users of swept sessions for a
// while (TakeGone). NewManager tells it how long: the return cookie's life
// (Config.PendingTimeout), so the page remembered when the browser comes
// back can be tied to its user for as long as that page is kept.
type GoneKeeper interface {
	KeepGoneFor(d time.Duration)
}

// KeepGoneFor sets how long a swept session's user is kept after its
// timeout, for sessions swept from now on (GoneFor until called).
func (m *MemoryStore) KeepGoneFor(d time.Duration) {
	if d <= 0 {
		d = GoneFor
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.goneFor = d
}

// tombstone is all that is kept of a swept session.
type tombstone struct {
	key, userID string
	createdAt   time.Time // of the session: DeleteUserBefore
	until       time.Time
}

// NewMemoryStore makes a store that refuses new logged-in sessions
// (ErrFull) beyond maxSessions (default 200 000), so memory stays bounded,
// and holds at most a quarter of that (at least 1) logins in progress,
// dropping the oldest one to make room: a flood of half-finished logins
// neither exhausts memory nor keeps anyone from logging in.
func NewMemoryStore(maxSessions int) *MemoryStore {
	if maxSessions <= 0 {
		maxSessions = 200_000
	}
	return &MemoryStore{
		byKey: map[string]Session{}, byUser: map[string]map[string]struct{}{},
		pending: list.New(), pendingAt: map[string]*list.Element{},
		max: maxSessions, maxPending: max(1, maxSessions/4),
		gone: list.New(), goneAt: map[string]*list.Element{}, goneOf: map[string]map[string]struct{}{},
		maxGone: max(1, maxSessions/4), goneFor: GoneFor,
	}
}

var (
	_ Store      = (*MemoryStore)(nil)
	_ GoneKeeper = (*MemoryStore)(nil)
)

func (m *MemoryStore) index(key string, s Session) {
	if s.State == StatePending {
		m.pendingAt[key] = m.pending.PushBack(key)
	}
	if s.UserID == "" {
		return
	}
	set := m.byUser[s.UserID]
	if set == nil {
		set = map[string]struct{}{}
		m.byUser[s.UserID] = set
	}
	set[key] = struct{}{}
}

func (m *MemoryStore) unindex(key string, s Session) {
	if el, ok := m.pendingAt[key]; ok {
		m.pending.Remove(el)
		delete(m.pendingAt, key)
	}
	if set := m.byUser[s.UserID]; set != nil {
		delete(set, key)
		if len(set) == 0 {
			delete(m.byUser, s.UserID)
		}
	}
}

// remove deletes the session under key (present) with its indexes.
func (m *MemoryStore) remove(key string, s Session) {
	m.unindex(key, s)
	delete(m.byKey, key)
}

// bury keeps who held the logged-in session s, swept under key, until
// goneFor after its timeout; past the cap the oldest tombstone gives way.
func (m *MemoryStore) bury(key string, s Session) {
	if s.UserID == "" {
		return
	}
	m.unbury(key)
	for len(m.goneAt) >= m.maxGone {
		m.unbury(m.gone.Front().Value.(*tombstone).key)
	}
	m.goneAt[key] = m.gone.PushBack(&tombstone{key: key, userID: s.UserID, createdAt: s.CreatedAt, until: s.ExpiresAt.Add(m.goneFor)})
	set := m.goneOf[s.UserID]
	if set == nil {
		set = map[string]struct{}{}
		m.goneOf[s.UserID] = set
	}
	set[key] = struct{}{}
}

// unbury forgets the tombstone under key, if any.
func (m *MemoryStore) unbury(key string) {
	el, ok := m.goneAt[key]
	if !ok {
		return
	}
	ts := m.gone.Remove(el).(*tombstone)
	delete(m.goneAt, key)
	if set := m.goneOf[ts.userID]; set != nil {
		delete(set, key)
		if len(set) == 0 {
			delete(m.goneOf, ts.userID)
		}
	}
}

// TakeGone returns and forgets the user of the session swept under key.
func (m *MemoryStore) TakeGone(_ context.Context, key string, now time.Time) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.goneAt[key]
	if !ok {
		return "", false, nil
	}
	ts := el.Value.(*tombstone)
	m.unbury(key)
	if !now.Before(ts.until) {
		return "", false, nil
	}
	return ts.userID, true, nil
}

// Create stores s under key. A pending session past the pending cap takes
// the oldest one's place; a logged-in one past the cap is refused.
func (m *MemoryStore) Create(_ context.Context, key string, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.byKey[key]; ok {
		m.remove(key, old)
	}
	if s.State == StatePending {
		for len(m.pendingAt) >= m.maxPending {
			oldest := m.pending.Front().Value.(string)
			m.remove(oldest, m.byKey[oldest])
		}
	} else if len(m.byKey)-len(m.pendingAt) >= m.max {
		return ErrFull
	}
	m.byKey[key] = s.clone()
	m.index(key, s)
	return nil
}

// Get returns the session under key.
func (m *MemoryStore) Get(_ context.Context, key string) (Session, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.byKey[key]
	return s.clone(), ok, nil
}

// Update applies fn under the store's lock.
func (m *MemoryStore) Update(_ context.Context, key string, fn func(*Session)) (Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.byKey[key]
	if !ok {
		return Session{}, ErrNotFound
	}
	old := s
	s = s.clone()
	fn(&s)
	if s.UserID != old.UserID || s.State != old.State {
		m.unindex(key, old)
		m.index(key, s)
	}
	m.byKey[key] = s
	return s.clone(), nil
}

// Delete removes the session under key (no error if absent).
func (m *MemoryStore) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.byKey[key]; ok {
		m.remove(key, s)
	}
	return nil
}

// DeleteUser removes every session of userID but keep.
func (m *MemoryStore) DeleteUser(_ context.Context, userID, keep string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for key := range m.byUser[userID] {
		if key == keep {
			continue
		}
		m.remove(key, m.byKey[key])
		n++
	}
	// A lock or a password change ends everything: nothing of the user's
	// earlier sessions is left to tie a page to.
	for key := range m.goneOf[userID] {
		m.unbury(key)
	}
	return n, nil
}

// DeleteUserBefore removes every session of userID created before t for
// which which is true (nil: every one).
func (m *MemoryStore) DeleteUserBefore(_ context.Context, userID string, t time.Time, which func(Session) bool) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for key := range m.byUser[userID] {
		if s := m.byKey[key]; s.CreatedAt.Before(t) && (which == nil || which(s.clone())) {
			m.remove(key, s)
			n++
		}
	}
	if which != nil {
		// Some sessions only: the user's timed-out logins are not of them.
		return n, nil
	}
	for key := range m.goneOf[userID] {
		if m.goneAt[key].Value.(*tombstone).createdAt.Before(t) {
			m.unbury(key)
		}
	}
	return n, nil
}

// UpdateUserBefore applies fn to every session of userID created before t.
func (m *MemoryStore) UpdateUserBefore(_ context.Context, userID string, t time.Time, fn func(*Session)) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for key := range m.byUser[userID] {
		s := m.byKey[key]
		if !s.CreatedAt.Before(t) {
			continue
		}
		changed := s.clone()
		fn(&changed)
		// The user and state are what the indexes hold: fn may not move
		// a session to another user.
		changed.UserID, changed.State = s.UserID, s.State
		m.byKey[key] = changed
		n++
	}
	return n, nil
}

// Sweep removes expired sessions, keeping a tombstone of each logged-in
// one that timed out (idle or absolute; not one that reached ValidUntil,
// which an event set), and forgets tombstones past their time.
func (m *MemoryStore) Sweep(_ context.Context, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for el := m.gone.Front(); el != nil; {
		next := el.Next()
		if ts := el.Value.(*tombstone); !now.Before(ts.until) {
			m.unbury(ts.key)
		}
		el = next
	}
	n := 0
	for key, s := range m.byKey {
		if !s.ExpiresAt.After(now) {
			m.remove(key, s)
			if s.LoggedIn() && (s.ValidUntil.IsZero() || s.ExpiresAt.Before(s.ValidUntil)) {
				m.bury(key, s)
			}
			n++
		}
	}
	return n, nil
}

// Gone is the number of tombstones of swept sessions held.
func (m *MemoryStore) Gone() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.goneAt)
}

// Pending is the number of logins in progress held.
func (m *MemoryStore) Pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pendingAt)
}

// Len is the number of sessions held.
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.byKey)
}

// Sweeper drops what has expired by now: a Store, or a Manager (which
// sweeps its store too).
type Sweeper interface {
	Sweep(ctx context.Context, now time.Time) (int, error)
}

// Janitor sweeps store every interval until ctx ends. Expired sessions are
// refused on use anyway; the janitor returns their memory, and the user IDs
// they held go with it.
func Janitor(ctx context.Context, store Sweeper, every time.Duration, now func() time.Time) {
	if every <= 0 {
		every = time.Minute
	}
	if now == nil {
		now = time.Now
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = store.Sweep(ctx, now())
		}
	}
}
