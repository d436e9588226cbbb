package commands

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/loginprobe"
)

// LogIn is the password step of the two-step login: the user ID typed in
// step one and the password typed now.
type LogIn struct {
	Meta     Meta
	UserID   string
	Password string
}

// LogInHandler decides a login on state rebuilt from the account's stream.
// Every attempt costs exactly one argon2id derivation and appends to one
// stream, whether the ID exists or not; attempts on unknown IDs go to a
// login-probe stream that counts and locks like an account, so the outside
// cannot tell the two apart.
//
// Errors (map them to the manual's messages):
//   - *account.FieldError on "user_id" or "password": malformed input,
//     nothing recorded;
//   - account.ErrWrongPassword: "Kata Laluan Tidak Tepat" (+ Lupa Kata
//     Laluan link);
//   - account.ErrLocked: the lockout notice, for the attempt that locked
//     the account and every one after it, right password or not; end the
//     account's sessions;
//   - account.ErrTemporaryPasswordExpired: the right temporary password,
//     expired: use Lupa Kata Laluan.
type LogInHandler struct {
	Runner   Runner
	Security AccountSecurity
	Policy   AccountPolicy
	// Locks queues concurrent attempts on one user ID in this process.
	// Share one *KeyedLocks between all LogInHandler values; nil leaves
	// concurrent attempts to the version check and its retries.
	Locks *KeyedLocks
	// Accounts, if set, keeps each account as of the version a login last
	// saw, so a login reads only the events appended since instead of
	// replaying a stream that grows by one event per login. Share one
	// between all LogInHandler values; nil replays the whole stream.
	Accounts *AccountCache
}

var _ Handler[LogIn] = LogInHandler{}

// errNoAccount makes Execute stop without appending when the ID has no
// account.
var errNoAccount = errors.New("commands: no account")

// Handle runs the command; LogIn also returns where the login leads.
func (h LogInHandler) Handle(ctx context.Context, cmd LogIn) (Result, error) {
	_, res, err := h.LogIn(ctx, cmd)
	return res, err
}

// LoginOutput is a successful password step: where it leads (activation,
// password change, second factor, TOTP enrolment next), and what the
// session gets if the login completes with it.
type LoginOutput struct {
	account.LoginOutcome
	Grant LoginGrant
}

// LogIn runs the command and returns the outcome of a successful password
// step.
func (h LogInHandler) LogIn(ctx context.Context, cmd LogIn) (LoginOutput, Result, error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return LoginOutput{}, Result{}, err
	}
	switch {
	case cmd.Password == "":
		return LoginOutput{}, Result{}, &account.FieldError{Field: "password", Code: "required", Reason: "is required"}
	case len(cmd.Password) > 4*account.MaxPassword:
		return LoginOutput{}, Result{}, &account.FieldError{Field: "password", Code: "too_long", Reason: "is longer than any password can be"}
	}
	if h.Locks != nil {
		defer h.Locks.Lock(ic.String())()
	}
	check := newSecretCheck(ctx, h.Security.Hasher, account.NormalizePassword(cmd.Password))
	var out LoginOutput
	var seed grantSeed
	res, err := h.Accounts.execute(ctx, h.Runner, account.Stream(ic), cmd.Meta,
		func(a *account.Account, now time.Time) error {
			if !a.Exists() {
				return errNoAccount
			}
			var err error
			out.LoginOutcome, err = a.LogIn(check.Verify, h.Policy.threshold(), now)
			seed.see(a, now)
			return err
		})
	if err == nil {
		out.Grant, err = seed.grant(ctx, h.Runner, ic)
	}
	if !errors.Is(err, errNoAccount) {
		return out, res, err
	}
	// No account: spend the same hash a real account would, then count
	// the attempt on the ID's probe stream.
	if _, err := check.Verify(); err != nil {
		return LoginOutput{}, Result{}, err
	}
	key := h.Security.Keyed.ProbeKey(ic.String())
	stream, err := loginprobe.Stream(key)
	if err != nil {
		return LoginOutput{}, Result{}, err
	}
	// The probe stream is keyed by an HMAC so the log never holds the tried
	// ID in clear; the caller's actor is the person logging in, named by
	// that very ID, so it is replaced, not kept.
	meta := subCommand(cmd.Meta, "loginprobe")
	meta.Actor = eventlog.Actor{Kind: eventlog.ActorAnonymous}
	res, err = executeOnLast(ctx, h.Runner, stream, func() *loginprobe.Probe { return loginprobe.New(key) }, meta,
		func(p *loginprobe.Probe, now time.Time) error { return p.Fail(h.Policy.threshold(), now) })
	switch {
	case errors.Is(err, loginprobe.ErrRefused):
		err = account.ErrWrongPassword
	case errors.Is(err, loginprobe.ErrLocked):
		err = account.ErrLocked
	}
	return LoginOutput{}, res, err
}

// AccountCache holds accounts as of a stream version for LogInHandler. A
// cached state is only ever a prefix of the stream (streams are append-only),
// so catching up from its version gives exactly the state a full replay
// gives: lock counts and temporary passwords behave the same. Another
// process or handler appending to the stream is caught up on the next login.
// When full it drops the account logged in to least recently: the staff who
// log in daily, whose streams grow by a login each, stay; one who logs in
// monthly to see a slip replays a short stream.
type AccountCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]*list.Element // of *cachedAccount, most recent first
	order   list.List
}

type cachedAccount struct {
	stream  string
	acc     *account.Account
	version uint64
}

// NewAccountCache keeps up to max accounts (<= 0: 10,000, a few MB); past
// that the least recently used is dropped, and its next login replays its
// stream.
func NewAccountCache(max int) *AccountCache {
	if max <= 0 {
		max = 10_000
	}
	return &AccountCache{max: max, entries: map[string]*list.Element{}}
}

// Len is the number of accounts held (for tests).
func (c *AccountCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// get returns a copy of stream's cached account and its version, or a new
// account at version 0.
func (c *AccountCache) get(stream string) (*account.Account, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[stream]
	if !ok {
		return account.New(), 0
	}
	c.order.MoveToFront(el)
	e := el.Value.(*cachedAccount)
	return e.acc.Clone(), e.version
}

// put stores a copy of acc as stream's state at version, unless a newer
// state is held (two processes' handlers are not serialised).
func (c *AccountCache) put(stream string, acc *account.Account, version uint64) {
	if !acc.Exists() {
		return // unknown IDs go to probe streams; keep the cache to accounts
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[stream]; ok {
		c.order.MoveToFront(el)
		if e := el.Value.(*cachedAccount); e.version < version {
			e.acc, e.version = acc.Clone(), version
		}
		return
	}
	if len(c.entries) >= c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.entries, oldest.Value.(*cachedAccount).stream)
	}
	c.entries[stream] = c.order.PushFront(&cachedAccount{stream: stream, acc: acc.Clone(), version: version})
}

func (c *AccountCache) drop(stream string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[stream]; ok {
		c.order.Remove(el)
		delete(c.entries, stream)
	}
}

// execute is Execute for an account stream, starting from the cached state
// when there is one. Without a cache it is Execute.
func (c *AccountCache) execute(ctx context.Context, r Runner, stream string, meta Meta, decide func(*account.Account, time.Time) error) (Result, error) {
	if c == nil {
		return Execute(ctx, r, stream, account.New, meta, decide)
	}
	if meta.CommandID == uuid.Nil {
		return Result{}, errCommandWithoutID
	}
	for range r.attempts() {
		agg, version := c.get(stream)
		version, err := loadFrom(ctx, r, stream, agg, version)
		if err != nil {
			return Result{}, err
		}
		before := agg.Clone() // the state at version, whatever decide does
		res, stored, conflict, err := decideAndAppend(ctx, r, stream, agg, version, meta, decide)
		switch {
		case conflict != nil:
			// Another writer got in first: catch up from there. If the
			// cached version is ahead of the stream (a store swapped under
			// a running process), the next attempt replays from scratch.
			c.put(stream, before, version)
			if conflict.Actual < version {
				c.drop(stream)
			}
			continue
		case res.Appended > 0 && !stored.Replayed && stored.LastVersion == version+uint64(res.Appended):
			c.put(stream, agg, stored.LastVersion) // exactly our events follow version
		default:
			c.put(stream, before, version) // nothing new, a repeat or a failed append: the next login catches up
		}
		return res, err
	}
	return Result{}, fmt.Errorf("%w: %s", ErrConflict, StreamLabel(stream))
}
