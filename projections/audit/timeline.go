package audit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/loginprobe"
	"github.com/melaka-gov/ispeks/domain/mykad"
)

// Kind names what an entry records; the stable words the pages translate
// and the CSV export carries.
type Kind string

const (
	KindRegistered           Kind = "registered"
	KindTemporaryPassword    Kind = "temporary_password_issued"
	KindLoginSucceeded       Kind = "login_succeeded"
	KindLoginFailed          Kind = "login_failed"
	KindLocked               Kind = "locked"
	KindUnlocked             Kind = "unlocked"
	KindActivated            Kind = "activated"
	KindPasswordChanged      Kind = "password_changed"
	KindProfileUpdated       Kind = "profile_updated"
	KindTOTPEnrolmentStarted Kind = "totp_enrolment_started"
	KindTOTPEnabled          Kind = "totp_enabled"
	KindTOTPCodeAccepted     Kind = "totp_code_accepted"
	KindRecoveryCodeUsed     Kind = "recovery_code_used"
	KindRecoveryCodesNew     Kind = "recovery_codes_replaced"
	KindTOTPDisabled         Kind = "totp_disabled"
	KindRoleGranted          Kind = "role_granted"
	KindRoleRevoked          Kind = "role_revoked"
	KindSecretAnswerChecked  Kind = "secret_answer_checked"
	KindSessionsEnded        Kind = "sessions_ended"
	// KindTemporaryLoginsEnded: only the logins waiting after a temporary
	// password ended (the e-mail followed the master's).
	KindTemporaryLoginsEnded Kind = "temporary_logins_ended"
	KindMailResent           Kind = "mail_resent"
	KindEmailFollowed        Kind = "email_followed_master" // the master's new e-mail, not the person's doing
	KindNameFollowed         Kind = "name_followed_master"  // HR corrected the name in the master
	KindProbeFailed          Kind = "unknown_id_attempt_failed"
	KindProbeLocked          Kind = "unknown_id_locked"
	// KindUnreadable: the event could not be decoded or does not fit the
	// history before it (a sign of tampering or of a missing upcaster).
	KindUnreadable Kind = "unreadable"
)

// Kinds lists every kind, in a fixed order (for translation tables and
// their tests).
func Kinds() []Kind {
	return []Kind{KindRegistered, KindTemporaryPassword, KindLoginSucceeded, KindLoginFailed, KindLocked,
		KindUnlocked, KindActivated, KindPasswordChanged, KindProfileUpdated, KindTOTPEnrolmentStarted,
		KindTOTPEnabled, KindTOTPCodeAccepted, KindRecoveryCodeUsed, KindRecoveryCodesNew, KindTOTPDisabled, KindRoleGranted,
		KindRoleRevoked, KindSecretAnswerChecked, KindSessionsEnded, KindTemporaryLoginsEnded, KindMailResent, KindEmailFollowed, KindNameFollowed, KindProbeFailed, KindProbeLocked, KindUnreadable}
}

// Login reports whether the kind belongs to the login and lockout history
// (attempts, second factors, locks and unlocks).
func (k Kind) Login() bool {
	switch k {
	case KindLoginSucceeded, KindLoginFailed, KindLocked, KindUnlocked, KindTOTPCodeAccepted,
		KindRecoveryCodeUsed, KindProbeFailed, KindProbeLocked, KindUnreadable:
		return true
	}
	return false
}

// Snapshot is the state of the account (or, for attempts on an ID with no
// account, of its login probe) right after an entry.
type Snapshot struct {
	Status string // "", registered, active; "unknown_id" for a probe
	Locked bool
	Failed int // consecutive failed attempts
}

// Entry is one event of the timeline, with what an auditor needs and no
// secret.
type Entry struct {
	Position uint64
	Stream   string
	Version  uint64
	EventID  string
	At       time.Time // UTC
	Type     string
	Kind     Kind
	// Detail is a stable code: why an attempt failed (wrong_password,
	// account_locked, …), why a temporary password was issued, the role
	// granted, "verified"/"not_verified", why sessions ended, "temporary"
	// for a login with a temporary password.
	Detail string
	// Note is text an administrator typed (the reason of an unlock or a
	// TOTP reset).
	Note        string
	Consecutive int
	Actor       eventlog.Actor
	SourceIP    string
	UserAgent   string
	Prev, Hash  string
	After       Snapshot
	// Link is the integrity verdict on this event.
	Link Link
}

// Filter narrows a timeline.
type Filter struct {
	// From (inclusive) and To (exclusive) bound the event time; zero is
	// unbounded.
	From, To time.Time
	// LoginOnly keeps the login and lockout history (Kind.Login).
	LoginOnly bool
	// Limit keeps the latest Limit matching entries (0: all).
	Limit int
}

func (f Filter) match(e Entry) bool {
	if f.LoginOnly && !e.Kind.Login() {
		return false
	}
	if !f.From.IsZero() && e.At.Before(f.From) {
		return false
	}
	if !f.To.IsZero() && !e.At.Before(f.To) {
		return false
	}
	return true
}

// Timeline is the history of one user ID, oldest first.
type Timeline struct {
	UserID  string
	Entries []Entry
	// Matched counts the entries the filter kept; Entries holds the
	// latest Filter.Limit of them.
	Matched int
	// Registered says the account stream exists.
	Registered bool
	Integrity  Integrity
}

// Truncated reports whether older matching entries were left out.
func (t Timeline) Truncated() bool { return t.Matched > len(t.Entries) }

// replay rebuilds the account and probe of one user ID while the walk goes.
type replay struct {
	acc      *account.Account
	probe    *loginprobe.Probe
	accounts int // account events applied
	probes   int
	unfit    int
}

func newReplay() *replay { return &replay{acc: account.New()} }

// entry decodes rec, applies it to the replayed state and describes it.
func (r *replay) entry(reg *eventlog.Registry, rec eventlog.Record, c *cursor, link Link) Entry {
	e := Entry{
		Position: rec.Position, Stream: rec.Stream, Version: rec.Version, EventID: rec.ID.String(),
		At: rec.OccurredAt.UTC(), Type: rec.Type, Actor: rec.Metadata.Actor,
		SourceIP: rec.Metadata.SourceIP, UserAgent: rec.Metadata.UserAgent,
		Prev: rec.Metadata.Prev, Hash: rec.Metadata.Hash, Link: link,
	}
	env, err := reg.Decode(rec)
	if err == nil {
		if c.account {
			err = r.acc.Apply(env.Event)
			if err == nil {
				r.accounts++
			}
		} else {
			if r.probe == nil {
				r.probe = loginprobe.New(strings.TrimPrefix(rec.Stream, "loginprobe-"))
			}
			err = r.probe.Apply(env.Event)
			if err == nil {
				r.probes++
			}
		}
	}
	if err != nil {
		r.unfit++
		e.Kind = KindUnreadable
		e.After = r.snapshot(c.account)
		return e
	}
	describe(&e, env.Event)
	e.After = r.snapshot(c.account)
	return e
}

func (r *replay) snapshot(acc bool) Snapshot {
	if acc {
		return Snapshot{Status: string(r.acc.Status()), Locked: r.acc.Locked(), Failed: r.acc.FailedAttempts()}
	}
	if r.probe == nil {
		return Snapshot{Status: "unknown_id"}
	}
	return Snapshot{Status: "unknown_id", Locked: r.probe.IsLocked(), Failed: r.probe.Failed()}
}

// describe fills Kind, Detail, Note and Consecutive from the event. It
// reads only fields that are safe to show.
func describe(e *Entry, ev eventlog.Event) {
	switch ev := ev.(type) {
	case account.Registered:
		e.Kind = KindRegistered
	case account.TemporaryPasswordIssued:
		e.Kind, e.Detail = KindTemporaryPassword, string(ev.Reason)
	case account.LoginSucceeded:
		e.Kind = KindLoginSucceeded
		if ev.Temporary {
			e.Detail = "temporary"
		}
	case account.LoginFailed:
		e.Kind, e.Detail, e.Consecutive = KindLoginFailed, string(ev.Reason), ev.Consecutive
	case account.AccountLocked:
		e.Kind, e.Consecutive = KindLocked, ev.FailedAttempts
	case account.AccountUnlocked:
		e.Kind, e.Note = KindUnlocked, ev.Reason
	case account.Activated:
		e.Kind = KindActivated
	case account.PasswordChanged:
		e.Kind, e.Detail = KindPasswordChanged, string(ev.Via)
	case account.ProfileUpdated:
		e.Kind = KindProfileUpdated
	case account.TOTPEnrolmentStarted:
		e.Kind = KindTOTPEnrolmentStarted
	case account.TOTPEnabled:
		e.Kind = KindTOTPEnabled
	case account.TOTPCodeAccepted:
		// A step-up completes no login: shown as a login's code, it would
		// make a password login waiting for its code look completed.
		e.Kind = KindTOTPCodeAccepted
		if ev.StepUp {
			e.Detail = "step_up"
		}
	case account.RecoveryCodeUsed:
		e.Kind = KindRecoveryCodeUsed
		if ev.StepUp {
			e.Detail = "step_up"
		}
	case account.RecoveryCodesReplaced:
		e.Kind = KindRecoveryCodesNew
	case account.TOTPDisabled:
		e.Kind, e.Note = KindTOTPDisabled, ev.Reason
	case account.RoleGranted:
		e.Kind, e.Detail = KindRoleGranted, string(ev.Role)
	case account.RoleRevoked:
		e.Kind, e.Detail = KindRoleRevoked, string(ev.Role)
	case account.SecretAnswerChecked:
		e.Kind, e.Detail = KindSecretAnswerChecked, "not_verified"
		if ev.Verified {
			e.Detail = "verified"
		}
	case account.SessionsEnded:
		e.Kind, e.Detail = KindSessionsEnded, string(ev.Reason)
		if ev.TemporaryLogins {
			e.Kind = KindTemporaryLoginsEnded
		}
	case account.MailResendRequested:
		e.Kind, e.Detail = KindMailResent, ev.Kind
	case account.EmailFollowedMaster:
		// No address: the timeline shows none of the profile's either.
		e.Kind = KindEmailFollowed
	case account.NameFollowedMaster:
		// No name either: the timeline carries no personal data beyond the
		// user ID.
		e.Kind = KindNameFollowed
	case loginprobe.AttemptFailed:
		e.Kind, e.Consecutive = KindProbeFailed, ev.Consecutive
		if ev.WhileLocked {
			e.Detail = "while_locked"
		}
	case loginprobe.Locked:
		e.Kind, e.Consecutive = KindProbeLocked, ev.FailedAttempts
	default:
		// A type registered but not known here: shown by its type name.
		e.Kind = KindUnreadable
	}
}

// Each calls fn with every entry of userID that f matches, oldest first
// (f.Limit is ignored: for exports). It returns the integrity of the
// streams read.
func (l *Log) Each(ctx context.Context, userID string, f Filter, fn func(Entry) error) (Integrity, error) {
	r := newReplay()
	return l.walk(ctx, userID, nil, func(rec eventlog.Record, c *cursor, link Link) error {
		e := r.entry(l.Registry, rec, c, link)
		if !f.match(e) {
			return nil
		}
		return fn(e)
	})
}

// Timeline returns the history of userID that f matches, oldest first:
// the latest f.Limit entries when there are more. The whole of both
// streams is read, so the integrity covers every event.
func (l *Log) Timeline(ctx context.Context, userID string, f Filter) (Timeline, error) {
	id, err := ParseUserID(userID)
	if err != nil {
		return Timeline{}, err
	}
	t := Timeline{UserID: id}
	var ring []Entry
	start := 0
	in, err := l.Each(ctx, id, Filter{From: f.From, To: f.To, LoginOnly: f.LoginOnly}, func(e Entry) error {
		t.Matched++
		if f.Limit <= 0 || len(ring) < f.Limit {
			ring = append(ring, e)
			return nil
		}
		ring[start] = e // keep the latest Limit in a ring
		start = (start + 1) % f.Limit
		return nil
	})
	t.Integrity = in
	if err != nil {
		return t, err
	}
	t.Entries = append(ring[start:], ring[:start]...)
	t.Registered = len(in.Streams) > 0 && in.Streams[0].Events > 0
	return t, nil
}

// State is the account of one user ID as of a moment, rebuilt by replaying
// the account aggregate (and the login probe) up to that moment.
type State struct {
	UserID string
	At     time.Time
	// Registered: the account existed then.
	Registered     bool
	Status         string // registered, active ("" before registration)
	Locked         bool
	FailedAttempts int
	Roles          []string
	TOTP           bool
	LastLogin      time.Time // zero: none yet
	// Events is how many account events were applied; Last is the last of
	// them (nil when none).
	Events int
	Last   *Entry
	// ProbeEvents, ProbeFailed and ProbeLocked are the attempts on the ID
	// while it had no account.
	ProbeEvents int
	ProbeFailed int
	ProbeLocked bool
	// Unfit counts events that could not be decoded or applied.
	Unfit int
	// Integrity covers the events up to the moment.
	Integrity Integrity
}

// AsOf replays userID's streams in log order up to and including at (by
// event time) and returns the state then. Events are appended in time
// order, so the replay stops at the first later event.
func (l *Log) AsOf(ctx context.Context, userID string, at time.Time) (State, error) {
	id, err := ParseUserID(userID)
	if err != nil {
		return State{}, err
	}
	st := State{UserID: id, At: at.UTC()}
	r := newReplay()
	later := func(rec eventlog.Record) bool { return rec.OccurredAt.After(at) }
	in, err := l.walk(ctx, id, later, func(rec eventlog.Record, c *cursor, link Link) error {
		e := r.entry(l.Registry, rec, c, link)
		if c.account && e.Kind != KindUnreadable {
			st.Last = &e
		}
		return nil
	})
	st.Integrity = in
	if err != nil {
		return st, err
	}
	a := r.acc
	st.Registered, st.Status, st.Locked, st.FailedAttempts = a.Exists(), string(a.Status()), a.Locked(), a.FailedAttempts()
	// The roles the person held then: those of their term of service in
	// the employee master at that moment, as logins and commands decide.
	// A role granted before they left and were recorded again is not one.
	roles := a.Roles()
	if term, err := l.termAsOf(ctx, id, at); err != nil {
		return st, err
	} else if term > 0 {
		roles = a.RolesIn(term)
	}
	for _, role := range roles {
		st.Roles = append(st.Roles, string(role))
	}
	st.TOTP, st.LastLogin, st.Events, st.Unfit = a.TOTPEnabled(), a.LastLogin(), r.accounts, r.unfit
	if r.probe != nil {
		st.ProbeEvents, st.ProbeFailed, st.ProbeLocked = r.probes, r.probe.Failed(), r.probe.IsLocked()
	}
	return st, nil
}

// termAsOf is the person's term of service in the employee master (the
// events of employee-<IC> up to at; 0: not recorded by then).
func (l *Log) termAsOf(ctx context.Context, userID string, at time.Time) (int, error) {
	ic, err := mykad.Parse(userID)
	if err != nil {
		return 0, nil
	}
	emp := employee.New()
	for next := uint64(1); ; {
		recs, err := l.Streams.ReadStream(ctx, employee.Stream(ic), next, eventlog.Forwards, 512)
		if err != nil {
			return 0, fmt.Errorf("audit: read the employee master: %w", err)
		}
		for _, rec := range recs {
			if rec.OccurredAt.After(at) {
				return emp.Term(), nil
			}
			// An event that cannot be read (a tampered log, the case the
			// audit pages exist for) leaves the term unknown: the roles
			// are shown as recorded, and the state still answers.
			env, err := l.Registry.Decode(rec)
			if err != nil {
				return 0, nil
			}
			if err := emp.Apply(env.Event); err != nil {
				return 0, nil
			}
		}
		if len(recs) < 512 {
			return emp.Term(), nil
		}
		next = recs[len(recs)-1].Version + 1
	}
}
