// Package account is the portal account of one staff member: registration,
// temporary passwords, two-step login with lockout, activation, password
// changes, profile, TOTP, roles and helpdesk checks. Stream
// "account-<userID>", where the user ID is the IC number (digits only).
//
// The aggregate decides on state rebuilt from its own stream, never on a
// read model. It does no hashing or sealing itself: command handlers pass in
// hashes and sealed values, and a Verify function for checking a typed
// secret against the hashes the aggregate chooses, so the domain stays free
// of I/O and keys while every rule stays here.
package account

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/mykad"
)

// Errors of the account aggregate. The web layer maps them to the manual's
// messages: ErrNotRegistrable → "Pengguna Tidak Dapat Didaftarkan, Sila
// Hubungi Pentadbir Sistem"; ErrWrongPassword → "Kata Laluan Tidak Tepat";
// ErrLocked → the lockout notice.
var (
	ErrInvalid                  = errors.New("account: invalid input")
	ErrNotRegistrable           = errors.New("account: not registrable")
	ErrAlreadyRegistered        = errors.New("account: already registered")
	ErrNotFound                 = errors.New("account: not found")
	ErrWrongPassword            = errors.New("account: wrong password")
	ErrLocked                   = errors.New("account: locked")
	ErrTemporaryPasswordExpired = errors.New("account: temporary password expired")
	ErrNotActivated             = errors.New("account: not activated")
	ErrAlreadyActivated         = errors.New("account: already activated")
	ErrTemporaryLoginRequired   = errors.New("account: log in with the temporary password first")
	ErrSecondFactorPending      = errors.New("account: second factor not given yet")
	ErrWrongCode                = errors.New("account: wrong code")
	ErrCodeReused               = errors.New("account: code already used")
	ErrTOTPNotEnabled           = errors.New("account: TOTP not enabled")
	ErrTOTPAlreadyEnabled       = errors.New("account: TOTP already enabled")
	ErrNoPendingEnrolment       = errors.New("account: no TOTP enrolment in progress")
	ErrNotLocked                = errors.New("account: not locked")
	ErrOwnAdminRole             = errors.New("account: an administrator cannot remove their own admin role")
	ErrOwnRole                  = errors.New("account: an administrator cannot grant or remove a role on their own account")
	ErrOwnTOTP                  = errors.New("account: an administrator cannot reset the two-factor authentication of their own account")
	ErrTooSoon                  = errors.New("account: a temporary password was issued moments ago")
	ErrCorrupt                  = errors.New("account: event does not fit the account's history")
	ErrMailSuperseded           = errors.New("account: the temporary password in this mail was replaced or used since")
	ErrMailExpired              = errors.New("account: the temporary password in this mail has expired")
	ErrMailAddressLeft          = errors.New("account: the temporary password in this mail is for an address the account no longer has")
	ErrResendUnderWay           = errors.New("account: this mail is being sent again already")
	// ErrAnswerChecksExhausted: MaxAnswerMisses wrong secret answers in a
	// row, the last less than AnswerCheckCooldown ago; nothing is checked.
	ErrAnswerChecksExhausted = errors.New("account: too many wrong secret answers; the check is paused")
	// ErrCodeJustAccepted: the second factor accepted last, sent again
	// for the same use while no login awaits a code (the form sent
	// twice). Refused, not counted.
	ErrCodeJustAccepted = errors.New("account: code accepted a moment ago")
	// ErrLoginOvertaken: the login waiting for this step (its code,
	// activation, its new password) was decided before the account's
	// sessions were last ended (a lock, a password change, an activation,
	// a role removed; a login begun with a temporary password also when
	// the e-mail followed the master's): it must start again
	// (CheckWaiting, CheckWaitingTemporary).
	ErrLoginOvertaken = errors.New("account: the waiting login was decided before the account's sessions ended")
)

// Policy constants.
const (
	DefaultLockThreshold = 3
	TemporaryPasswordTTL = 24 * time.Hour
	// ForgotCooldown stops "Lupa Kata Laluan" from flooding a mailbox: a
	// new temporary password is not issued while one made less than this
	// long ago is still unused.
	ForgotCooldown    = 2 * time.Minute
	RecoveryCodeCount = 10
	// MaxAnswerMisses wrong secret answers in a row pause the helpdesk's
	// check for AnswerCheckCooldown after the last: whoever phones in
	// guesses (call after call, to any administrator) gets a few a day,
	// not a dictionary's worth.
	MaxAnswerMisses     = 3
	AnswerCheckCooldown = 24 * time.Hour
)

// Stream is the event stream of the account of userID.
func Stream(userID mykad.IC) string { return "account-" + userID.String() }

// Status of an account.
type Status string

const (
	StatusNone       Status = ""
	StatusRegistered Status = "registered" // awaiting activation
	StatusActive     Status = "active"
)

// Verify checks the secret the person typed against the given PHC hashes and
// returns the index of the one that matches, or -1. Implementations compute
// the hash once per distinct salt; handlers memoise it so a retried decision
// does not hash again.
type Verify func(encoded ...string) (int, error)

// CodeCheck opens a sealed TOTP secret and checks the typed code against it
// at the current time (±1 step), returning the matching time step.
type CodeCheck func(sealedSecret string) (step uint64, ok bool, err error)

type tempPassword struct {
	id       string
	hash     string
	issuedAt time.Time
	expires  time.Time
}

type recoveryCode struct {
	hash string
	used bool
}

// Account is the aggregate. The zero value is an unregistered user ID.
type Account struct {
	eventlog.Changes

	userID string
	name   string
	email  string
	status Status

	locked bool
	failed int

	passwordHash  string
	adminStrength bool
	temp          *tempPassword
	// pendingReset: the last login used a temporary password; a new
	// password must be set (activation or reset) before anything else.
	pendingReset bool
	// usedTemp is the hash of the temporary password that login used,
	// kept until the new password is set: it must not be that password.
	usedTemp string
	// secondFactorPending: the last password login awaits its TOTP or
	// recovery code; pendingLoginAt is its time, which becomes lastLogin
	// only once the code is accepted (a right password alone is not a
	// login).
	secondFactorPending bool
	pendingLoginAt      time.Time
	// pendingTemp: that login used the temporary password pendingTempID.
	// It is used, and the old password cancelled, only once a code given
	// for that login is accepted (VerifyTOTPAfterTemporary): the temporary
	// password alone (mailed, perhaps to a shared mailbox) must not take
	// away a TOTP user's password. pendingTempHash is its hash, for
	// usedTemp then: one issued meanwhile may have replaced it.
	pendingTemp     bool
	pendingTempID   string
	pendingTempHash string

	questionID   string
	answerHash   string
	imageID      string
	sealedPhrase string
	// answerMisses: wrong answers in a row at the helpdesk's check, the
	// last at lastAnswerMiss.
	answerMisses   int
	lastAnswerMiss time.Time

	phone  string
	office string

	totpPending  string
	totpSecret   string
	totpLastStep uint64
	recovery     []recoveryCode
	// lastFactor is what the second factor accepted last was used for
	// (lastRecovery: which recovery code, if one): only that same form,
	// sent again with no login waiting, is a double click and not a guess
	// (ErrCodeJustAccepted).
	lastFactor   factorUse
	lastRecovery int
	// lastStepUp: that second factor was given at a step-up.
	lastStepUp bool

	roles []Role
	// roleTerms: the employee master's term of service each role was
	// granted in (RoleGranted.Term, 0 read as 1).
	roleTerms map[Role]int
	lastLogin time.Time
	// previousLogin is the completed login before lastLogin, and
	// failedBeforeLogin the failed attempts between the two; failedSince
	// counts those since lastLogin (every LoginFailed: passwords, codes,
	// attempts while locked; an unlock does not reset them). The home page
	// shows the first two (LoginNote), as the accounts view does.
	previousLogin     time.Time
	failedBeforeLogin int
	failedSince       int

	// sessionEnds counts the SessionsEnded events: a login waiting for
	// its next step remembers the count it was decided at
	// (CheckWaiting). allEnded is the count as of the last one that ended
	// every session (not only the temporary logins).
	sessionEnds int
	allEnded    int

	// resends: when each parked mail (by the dead letter's event ID) was
	// last recorded as sent again.
	resends map[string]time.Time
}

// factorUse is what an accepted second factor was for.
type factorUse uint8

const (
	factorNone         factorUse = iota
	factorEnrolment              // TOTPEnabled
	factorTOTPCode               // TOTPCodeAccepted: a login's code or a step-up
	factorNewCodes               // RecoveryCodesReplaced
	factorRecoveryCode           // RecoveryCodeUsed
)

// New returns an empty aggregate, for commands.Execute.
func New() *Account { return &Account{} }

// Clone returns a deep copy of the state without the recorded (uncommitted)
// events: a cached account that a later command may change without
// touching the cache. Every reference field (temp, recovery, roles) is
// copied; TestCloneCopiesEveryReference fails when a new one is added.
func (a *Account) Clone() *Account {
	c := *a
	c.Changes = eventlog.Changes{}
	if a.temp != nil {
		t := *a.temp
		c.temp = &t
	}
	c.recovery = slices.Clone(a.recovery)
	c.roles = slices.Clone(a.roles)
	c.roleTerms = maps.Clone(a.roleTerms)
	c.resends = maps.Clone(a.resends)
	return &c
}

// Exists reports whether the user ID is registered.
func (a *Account) Exists() bool        { return a.status != StatusNone }
func (a *Account) UserID() string      { return a.userID }
func (a *Account) Name() string        { return a.name }
func (a *Account) Email() string       { return a.email }
func (a *Account) Status() Status      { return a.status }
func (a *Account) Locked() bool        { return a.locked }
func (a *Account) FailedAttempts() int { return a.failed }
func (a *Account) Roles() []Role       { return slices.Clone(a.roles) }
func (a *Account) HasRole(r Role) bool { return slices.Contains(a.roles, r) }

// RolesIn returns the roles granted in the person's term of service term
// (employee.Employee.Term): the ones a login or an administrator's command
// may use. A role granted before the person left service and was recorded
// again is not among them until it is granted anew.
func (a *Account) RolesIn(term int) []Role {
	var out []Role
	for _, r := range a.roles {
		if a.HasRoleIn(r, term) {
			out = append(out, r)
		}
	}
	return out
}

// HasRoleIn reports whether role was granted in term (see RolesIn). A
// role granted before terms were kept (RoleGranted without one) counts as
// the first term's: held in any term, it would come back with every
// rejoin, which is what terms stop. Before them a rejoin restored the old
// roles with no new grant recorded, so someone who left and was recorded
// again before the upgrade holds the role no more until it is granted
// anew (the console's `ispeks admin role`, if they were the only
// administrator).
func (a *Account) HasRoleIn(r Role, term int) bool {
	return a.HasRole(r) && max(a.roleTerms[r], 1) == term
}
func (a *Account) TOTPEnabled() bool      { return a.totpSecret != "" }
func (a *Account) LastLogin() time.Time   { return a.lastLogin }
func (a *Account) Profile() Profile       { return Profile{Phone: a.phone, Office: a.office, Email: a.email} }
func (a *Account) SecurityImage() string  { return a.imageID }
func (a *Account) SealedPhrase() string   { return a.sealedPhrase }
func (a *Account) SecretQuestion() string { return a.questionID }

// LoginNote is what the home page tells a person of the login before the
// last one (zero time: none) and of the failed attempts between the two,
// so that they notice a login or guesses that were not theirs.
func (a *Account) LoginNote() (previous time.Time, failedBefore int) {
	return a.previousLogin, a.failedBeforeLogin
}

// loginCompleted makes at the last login: the last one becomes the
// previous, the failures since it the failures before this one.
func (a *Account) loginCompleted(at time.Time) {
	a.previousLogin, a.failedBeforeLogin, a.failedSince = a.lastLogin, a.failedSince, 0
	a.lastLogin = at
}

// PasswordToSet reports that the last login used a temporary password and
// its new password (activation or reset) is still to be set.
func (a *Account) PasswordToSet() bool { return a.pendingReset }

// SessionEnds is how many times the account's sessions were ended (a
// lock, a password change, an activation, a role removed, …, or only its
// temporary logins, when the e-mail followed the master's): a login
// decided now and waiting for its next step keeps it for CheckWaiting or
// CheckWaitingTemporary.
func (a *Account) SessionEnds() int { return a.sessionEnds }

// CheckWaiting refuses the next step of a login (its code, activation,
// its new password) that has waited since a decision taken when the
// account's sessions had been ended ends times, if they were ended again
// since: what ended them (a lock, a password change, another device's
// activation) must reach that login too, even when it landed in the
// moment between the decision and the waiting session being made, where
// ending the sessions found none to end. An end of the temporary logins
// only (SessionsEnded.TemporaryLogins) does not refuse it: it was begun
// with the current password. ErrLoginOvertaken.
func (a *Account) CheckWaiting(ends int) error {
	// The ends are counted in order: one since the decision that ended
	// every session has a count above the decision's.
	if a.allEnded > ends || ends > a.sessionEnds {
		return ErrLoginOvertaken
	}
	return nil
}

// CheckWaitingTemporary is CheckWaiting for a login begun with a temporary
// password (waiting at Pengaktifan, for its new password, or for its
// code): every end since refuses it, also one of the temporary logins
// only (the e-mail followed the master's, so the mail that password came
// in may have been read by someone else). ErrLoginOvertaken.
func (a *Account) CheckWaitingTemporary(ends int) error {
	if a.sessionEnds != ends {
		return ErrLoginOvertaken
	}
	return nil
}

// PasswordHash is the current password's hash ("" before activation and
// after a login with a temporary password). A temporary password issued
// while it exists is hashed with the same salt and parameters, so a login
// costs one hash whatever the account's state.
func (a *Account) PasswordHash() string { return a.passwordHash }

// Privileged reports an admin or auditor role: TOTP is required and
// passwords need at least 12 characters.
func (a *Account) Privileged() bool { return len(a.roles) > 0 }

// MinPasswordLength is the policy's minimum for this account.
func (a *Account) MinPasswordLength() int {
	if a.Privileged() {
		return MinAdminPassword
	}
	return MinPassword
}

// RecoveryCodesLeft counts unused recovery codes.
func (a *Account) RecoveryCodesLeft() int {
	n := 0
	for _, c := range a.recovery {
		if !c.used {
			n++
		}
	}
	return n
}

// TOTPSecret returns the sealed secret in force, or the pending one if pending
// is true.
func (a *Account) TOTPSecret(pending bool) string {
	if pending {
		return a.totpPending
	}
	return a.totpSecret
}

// Credentials lists the hashes a login password is checked against, current
// password first, then the outstanding temporary password (even expired, so
// the person can be told it expired). Handlers verify against exactly this
// list, before deciding, to keep the cost of an attempt the same for every
// account state.
func (a *Account) Credentials() []string {
	var out []string
	if a.passwordHash != "" {
		out = append(out, a.passwordHash)
	}
	if a.temp != nil {
		out = append(out, a.temp.hash)
	}
	return out
}

// TemporaryPassword is a freshly made temporary password as the handler
// prepared it: an ID, its argon2id hash and the password sealed with
// TempPasswordAAD(userID, ID).
type TemporaryPassword struct {
	ID     string
	Hash   string
	Sealed string
}

func (t TemporaryPassword) check() error {
	if t.ID == "" || t.Hash == "" || t.Sealed == "" {
		return fmt.Errorf("%w: temporary password without ID, hash or sealed value", ErrInvalid)
	}
	return nil
}

// Register opens the account of a person found in the employee master with
// a matching official e-mail (the handler checks the master) and issues the
// first temporary password.
func (a *Account) Register(userID mykad.IC, name, email string, temp TemporaryPassword, now time.Time) error {
	if a.Exists() {
		return ErrAlreadyRegistered
	}
	if len(userID) != 12 || name == "" || email == "" {
		return fmt.Errorf("%w: registration needs user ID, name and e-mail", ErrInvalid)
	}
	if err := temp.check(); err != nil {
		return err
	}
	if err := a.record(Registered{UserID: userID.String(), Name: name, Email: email}); err != nil {
		return err
	}
	return a.record(a.tempIssued(temp, TempRegistration, now))
}

func (a *Account) tempIssued(t TemporaryPassword, reason TempReason, now time.Time) TemporaryPasswordIssued {
	return TemporaryPasswordIssued{
		UserID: a.userID, TempID: t.ID, Hash: t.Hash, Sealed: t.Sealed,
		IssuedAt: now, ExpiresAt: now.Add(TemporaryPasswordTTL),
		Reason: reason, Name: a.name, Email: a.email,
	}
}

// IssueTemporaryPassword makes a new temporary password ("Lupa Kata Laluan"
// or an administrator's). It replaces an earlier unused one; the current
// password keeps working until the new one is used. A forgotten-password
// request on a locked account, or within ForgotCooldown of the last one,
// issues nothing (ErrLocked / ErrTooSoon: the handler answers the same
// either way).
func (a *Account) IssueTemporaryPassword(temp TemporaryPassword, reason TempReason, now time.Time) error {
	if !a.Exists() {
		return ErrNotFound
	}
	if err := temp.check(); err != nil {
		return err
	}
	switch reason {
	case TempForgot:
		if a.locked {
			return ErrLocked
		}
		if a.temp != nil && now.Before(a.temp.issuedAt.Add(ForgotCooldown)) {
			return ErrTooSoon
		}
	case TempAdmin:
	default:
		return fmt.Errorf("%w: temporary password reason %q", ErrInvalid, reason)
	}
	return a.record(a.tempIssued(temp, reason, now))
}

// LoginOutcome tells the web layer where a successful password step leads.
type LoginOutcome struct {
	UserID    string
	Temporary bool // the temporary password was used
	// MustActivate: first login; the activation page ("Aktif") comes next.
	MustActivate bool
	// MustChangePassword: a temporary password was used on an active
	// account, or a privileged account's password is below the admin
	// policy; the change-password page comes next.
	MustChangePassword bool
	// SecondFactorRequired: ask for a TOTP or recovery code before
	// anything else.
	SecondFactorRequired bool
	// MustEnrolSecondFactor: an admin or auditor without TOTP must enrol
	// before reaching any page.
	MustEnrolSecondFactor bool
	Roles                 []Role
}

// LogIn decides a password attempt. verify is called once with
// Credentials(). A locked account refuses every attempt with ErrLocked,
// whether or not the password was right, and records the attempt. A wrong
// password counts towards the lock (threshold consecutive failures; <= 0
// means DefaultLockThreshold); the failure that reaches it locks the account,
// ends its sessions and returns ErrLocked. A completed login resets the
// count: the password alone, or with TOTP on, the accepted code after it
// (wrong passwords and wrong codes are one run).
func (a *Account) LogIn(verify Verify, threshold int, now time.Time) (LoginOutcome, error) {
	if !a.Exists() {
		return LoginOutcome{}, ErrNotFound
	}
	creds := a.Credentials()
	idx, err := verify(creds...)
	if err != nil {
		return LoginOutcome{}, err
	}
	if a.locked {
		return LoginOutcome{}, a.refuseLocked()
	}
	if idx < 0 || idx >= len(creds) {
		return LoginOutcome{}, a.fail(FailWrongPassword, threshold, ErrWrongPassword)
	}
	ev := LoginSucceeded{UserID: a.userID, SecondFactorRequired: a.TOTPEnabled(), At: now}
	if a.passwordHash == "" || idx == 1 { // the temporary password matched
		if !now.Before(a.temp.expires) {
			if err := a.record(LoginFailed{UserID: a.userID, Reason: FailTemporaryExpired, Consecutive: a.failed}); err != nil {
				return LoginOutcome{}, err
			}
			return LoginOutcome{}, ErrTemporaryPasswordExpired
		}
		ev.Temporary, ev.TempID = true, a.temp.id
	}
	if err := a.record(ev); err != nil {
		return LoginOutcome{}, err
	}
	out := LoginOutcome{
		UserID:               a.userID,
		Temporary:            ev.Temporary,
		SecondFactorRequired: ev.SecondFactorRequired,
		Roles:                a.Roles(),
	}
	switch {
	case ev.Temporary && a.status == StatusRegistered:
		out.MustActivate = true
	case ev.Temporary:
		out.MustChangePassword = true
	case a.Privileged() && !a.adminStrength:
		out.MustChangePassword = true
	}
	out.MustEnrolSecondFactor = a.Privileged() && !a.TOTPEnabled()
	return out, nil
}

// refuseLocked records an attempt on a locked account and refuses it.
func (a *Account) refuseLocked() error {
	if err := a.record(LoginFailed{UserID: a.userID, Reason: FailLocked, Consecutive: a.failed}); err != nil {
		return err
	}
	return ErrLocked
}

// fail records a failed attempt and locks the account when it reaches the
// threshold; otherwise it returns notLocked.
func (a *Account) fail(reason FailReason, threshold int, notLocked error) error {
	if threshold <= 0 {
		threshold = DefaultLockThreshold
	}
	n := a.failed + 1
	if err := a.record(LoginFailed{UserID: a.userID, Reason: reason, Consecutive: n}); err != nil {
		return err
	}
	if n < threshold {
		return notLocked
	}
	if err := a.record(AccountLocked{UserID: a.userID, FailedAttempts: n, Name: a.name, Email: a.email}); err != nil {
		return err
	}
	if err := a.record(SessionsEnded{UserID: a.userID, Reason: EndLocked}); err != nil {
		return err
	}
	return ErrLocked
}

// NewPassword is a password that passed CheckPassword, hashed by the handler.
// AdminStrength: it had at least MinAdminPassword characters.
type NewPassword struct {
	Hash          string
	AdminStrength bool
	// Typed checks the typed new password against stored hashes (as
	// Verify): activation and reset refuse the temporary password that
	// led to them, and one mailed since. Required there; other changes
	// leave it nil.
	Typed Verify
}

// notTheTemporary refuses, at activation and reset, the temporary password
// the login used, and one mailed since that is still outstanding (an
// administrator's, Lupa Kata Laluan again): each was e-mailed (some
// mailboxes are shared) and works once; kept as the password it would go
// on working for whoever read it.
func (a *Account) notTheTemporary(np NewPassword) error {
	var mailed []string
	if a.usedTemp != "" {
		mailed = append(mailed, a.usedTemp)
	}
	if a.temp != nil {
		mailed = append(mailed, a.temp.hash)
	}
	if len(mailed) == 0 {
		return nil
	}
	if np.Typed == nil {
		return fmt.Errorf("%w: new password without a check against the temporary one", ErrInvalid)
	}
	idx, err := np.Typed(mailed...)
	if err != nil {
		return err
	}
	if idx >= 0 {
		return FieldErrors{fieldErr("password", "same_as_temporary", "is the temporary password; choose a new one")}
	}
	return nil
}

func (a *Account) checkStrength(np NewPassword) error {
	if np.Hash == "" {
		return fmt.Errorf("%w: new password without hash", ErrInvalid)
	}
	if a.Privileged() && !np.AdminStrength {
		return FieldErrors{fieldErr("password", "too_short", "must be at least %d characters for administrators and auditors", MinAdminPassword)}
	}
	return nil
}

// Activation is the checked activation form, hashed and sealed by the
// handler: password hash, question ID, hash of NormalizeAnswer(answer),
// image ID, phrase sealed with PhraseAAD.
type Activation struct {
	Password     NewPassword
	QuestionID   string
	AnswerHash   string
	ImageID      string
	SealedPhrase string
}

// Activate completes the first login ("Aktif"): only after a login with the
// temporary password, on an account not yet active and not locked. Every
// session of the account ends, as with ResetPassword.
func (a *Account) Activate(act Activation, now time.Time) error {
	switch {
	case !a.Exists():
		return ErrNotFound
	case a.status == StatusActive:
		return ErrAlreadyActivated
	case a.locked:
		return ErrLocked
	case !a.pendingReset:
		return ErrTemporaryLoginRequired
	case a.secondFactorPending:
		return ErrSecondFactorPending
	}
	if err := a.checkStrength(act.Password); err != nil {
		return err
	}
	if err := a.notTheTemporary(act.Password); err != nil {
		return err
	}
	var e errs
	if _, ok := SecretQuestionByID(act.QuestionID); !ok {
		e.add(fieldErr("question", "unknown_choice", "is not one of the offered questions"))
	}
	if !ValidSecurityImage(act.ImageID) {
		e.add(fieldErr("image", "unknown_choice", "is not one of the gallery's images"))
	}
	if err := e.err(); err != nil {
		return err
	}
	if act.AnswerHash == "" || act.SealedPhrase == "" {
		return fmt.Errorf("%w: activation without answer hash or sealed phrase", ErrInvalid)
	}
	if err := a.record(Activated{
		UserID: a.userID, PasswordHash: act.Password.Hash, AdminStrength: act.Password.AdminStrength,
		SecretQuestion: act.QuestionID, SecretAnswerHash: act.AnswerHash,
		SecurityImage: act.ImageID, SealedPhrase: act.SealedPhrase,
	}); err != nil {
		return err
	}
	// The first password is set: as with a new password, every other
	// session of the account ends (the web layer gives the activating one
	// a new token), so no login waiting elsewhere outlives it.
	return a.record(SessionsEnded{UserID: a.userID, Reason: EndActivated})
}

// ResetPassword sets a new password after a login with a temporary password
// on an active account (no old password: the temporary one was the proof).
// Every session of the account ends; the web layer gives the current one a
// new token.
func (a *Account) ResetPassword(np NewPassword, now time.Time) error {
	switch {
	case !a.Exists():
		return ErrNotFound
	case a.status != StatusActive:
		return ErrNotActivated
	case a.locked:
		return ErrLocked
	case a.secondFactorPending && a.pendingTemp:
		// The temporary login awaits its code: not used yet.
		return ErrSecondFactorPending
	case !a.pendingReset:
		return ErrTemporaryLoginRequired
	case a.secondFactorPending:
		return ErrSecondFactorPending
	}
	if err := a.checkStrength(np); err != nil {
		return err
	}
	if err := a.notTheTemporary(np); err != nil {
		return err
	}
	return a.changed(np, ViaReset)
}

// ChangePassword is Tukar Kata Laluan: verify is called with the current
// password's hash and must match the old password typed. A wrong old
// password counts as a failed attempt (and may lock the account).
func (a *Account) ChangePassword(verify Verify, np NewPassword, threshold int, now time.Time) error {
	switch {
	case !a.Exists():
		return ErrNotFound
	case a.status != StatusActive:
		return ErrNotActivated
	case a.locked:
		return ErrLocked
	}
	if err := a.checkStrength(np); err != nil {
		return err
	}
	if ok, err := a.verifyCurrent(verify); err != nil {
		return err
	} else if !ok {
		return a.fail(FailWrongCurrentPassword, threshold, ErrWrongPassword)
	}
	return a.changed(np, ViaChange)
}

func (a *Account) verifyCurrent(verify Verify) (bool, error) {
	if a.passwordHash == "" {
		return false, nil
	}
	idx, err := verify(a.passwordHash)
	return idx == 0, err
}

func (a *Account) changed(np NewPassword, via ChangeVia) error {
	if err := a.record(PasswordChanged{UserID: a.userID, PasswordHash: np.Hash, AdminStrength: np.AdminStrength, Via: via, Name: a.name, Email: a.email}); err != nil {
		return err
	}
	return a.record(SessionsEnded{UserID: a.userID, Reason: EndPasswordChanged})
}

// UpdateProfile is Kemaskini Maklumat Pengguna with a profile that passed
// CheckProfile. Changing the e-mail needs the current password (verify is
// called with its hash only then); a wrong one counts as a failed attempt.
// An unchanged profile records nothing.
func (a *Account) UpdateProfile(p Profile, verify Verify, threshold int, now time.Time) error {
	switch {
	case !a.Exists():
		return ErrNotFound
	case a.status != StatusActive:
		return ErrNotActivated
	case a.locked:
		return ErrLocked
	}
	if p == a.Profile() {
		return nil
	}
	if p.Email != a.email {
		if ok, err := a.verifyCurrent(verify); err != nil {
			return err
		} else if !ok {
			return a.fail(FailWrongCurrentPassword, threshold, ErrWrongPassword)
		}
	}
	ev := ProfileUpdated{UserID: a.userID, Phone: p.Phone, Office: p.Office, Email: p.Email, Name: a.name}
	if p.Email != a.email {
		ev.PreviousEmail = a.email
		// People move their address because the old mailbox is closing or
		// read by someone else: a temporary password mailed there, and a
		// login made with one waiting for its next step, go with it (as
		// when the address follows the master). The owner's own sessions
		// stay: they just proved the password.
		ev.TemporaryCancelled = a.temp != nil || a.pendingReset || a.pendingTemp
	}
	if err := a.record(ev); err != nil || !ev.TemporaryCancelled {
		return err
	}
	return a.record(SessionsEnded{UserID: a.userID, Reason: EndEmailChanged, TemporaryLogins: true})
}

// FollowMasterEmail is the account's side of a change of the person's
// official e-mail in the employee master, from `from` to `to`: an account
// whose e-mail is still `from` follows to `to`, so the portal's mail (Lupa
// Kata Laluan, an administrator's temporary password) reaches the mailbox
// the master now names rather than one that may be closed or handed on.
// An account whose owner chose another address keeps it (their choice),
// and no account, or one already on `to`, records nothing: neither is an
// error, since the master changes for everyone, registered or not. The
// state of the account (locked, not yet activated) does not matter: the
// address is where its mail goes in every state. The outstanding temporary
// password dies (Apply), and the logins waiting after one end
// (SessionsEnded{Reason: EndEmailChanged, TemporaryLogins: true}).
func (a *Account) FollowMasterEmail(from, to string, now time.Time) error {
	if from == "" || to == "" {
		return fmt.Errorf("%w: the master's e-mail change needs both addresses", ErrInvalid)
	}
	if !a.Exists() || !strings.EqualFold(a.email, from) || strings.EqualFold(a.email, to) {
		return nil
	}
	if err := a.record(EmailFollowedMaster{UserID: a.userID, Email: to, PreviousEmail: a.email, Name: a.name}); err != nil {
		return err
	}
	// A login already made with a temporary password mailed to the old
	// address, waiting for its next step, goes with that password: its
	// reader could otherwise still choose the password (or activate) after
	// HR corrected the address. The person's logged-in sessions and a
	// login with the current password stay: the old mailbox never reached
	// them. Recorded whether or not one waits: the account remembers only
	// its last login, and a login elsewhere may wait still.
	return a.record(SessionsEnded{UserID: a.userID, Reason: EndEmailChanged, TemporaryLogins: true})
}

// FollowMasterName is the account's side of a correction of the person's
// name in the employee master: the account takes the master's name, which
// it copied at registration, so every later mail greets the person by it.
// The person cannot change their name in the portal, so the master's is
// always the right one. No account, or one that has the name already (a
// redelivered change), records nothing. The state of the account does not
// matter.
func (a *Account) FollowMasterName(name string, now time.Time) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%w: the master's name change needs a name", ErrInvalid)
	}
	if !a.Exists() || a.name == name {
		return nil
	}
	return a.record(NameFollowedMaster{UserID: a.userID, Name: name, PreviousName: a.name})
}

// StartTOTPEnrolment records a new sealed TOTP secret, pending until
// confirmed. Starting again replaces a pending secret. It needs the current
// password (verify is called with its hash): whoever enrols the
// authenticator holds the account's second factor, so a stolen session
// alone must not (ASVS 5.0 V7.5.1). A wrong one counts as a failed attempt.
func (a *Account) StartTOTPEnrolment(sealedSecret string, verify Verify, threshold int, now time.Time) error {
	switch {
	case !a.Exists():
		return ErrNotFound
	case a.status != StatusActive:
		return ErrNotActivated
	case a.locked:
		return ErrLocked
	case a.TOTPEnabled():
		return ErrTOTPAlreadyEnabled
	case sealedSecret == "":
		return fmt.Errorf("%w: empty TOTP secret", ErrInvalid)
	}
	if ok, err := a.verifyCurrent(verify); err != nil {
		return err
	} else if !ok {
		return a.fail(FailWrongCurrentPassword, threshold, ErrWrongPassword)
	}
	return a.record(TOTPEnrolmentStarted{UserID: a.userID, SealedSecret: sealedSecret})
}

// ConfirmTOTP puts the pending secret in force once a code from the
// authenticator matches it, with RecoveryCodeCount keyed hashes of recovery
// codes. A wrong code records nothing (the person is logged in and setting
// up, not logging in).
func (a *Account) ConfirmTOTP(check CodeCheck, recoveryHashes []string, now time.Time) error {
	switch {
	case !a.Exists():
		return ErrNotFound
	case a.locked:
		return ErrLocked
	case a.TOTPEnabled():
		return ErrTOTPAlreadyEnabled
	case a.totpPending == "":
		return ErrNoPendingEnrolment
	case len(recoveryHashes) != RecoveryCodeCount || slices.Contains(recoveryHashes, ""):
		return fmt.Errorf("%w: need %d recovery code hashes", ErrInvalid, RecoveryCodeCount)
	}
	step, ok, err := check(a.totpPending)
	if err != nil {
		return err
	}
	if !ok {
		return ErrWrongCode
	}
	return a.record(TOTPEnabled{UserID: a.userID, Step: step, RecoveryCodeHashes: slices.Clone(recoveryHashes), Name: a.name, Email: a.email})
}

// VerifyTOTP is the second step of a login (a step-up is VerifyTOTPStepUp). A code is
// accepted once: a code of a time step not later than the last accepted one
// is refused as reused. Wrong and reused codes count towards the lock.
func (a *Account) VerifyTOTP(check CodeCheck, threshold int, now time.Time) error {
	return a.verifyTOTP(check, threshold, false, now)
}

// VerifyTOTPAfterTemporary is VerifyTOTP at the code step of a login begun
// with the temporary password (the session knows which login it is at): the
// code completes that login, and the temporary password is used. A code
// given at the code step of a login with the current password never does,
// even when a temporary login was begun since: the password step of one
// counts no failure, and whoever reads a shared mailbox could send it again
// and again until the owner's code took her password away.
func (a *Account) VerifyTOTPAfterTemporary(check CodeCheck, threshold int, now time.Time) error {
	return a.verifyTOTP(check, threshold, true, now)
}

// VerifyTOTPStepUp is VerifyTOTP for a logged-in session proving the
// second factor again (a step-up). It is no login: a login awaiting its
// code (on another device, perhaps begun with a temporary password) goes
// on waiting for its own code, neither completed nor dropped.
func (a *Account) VerifyTOTPStepUp(check CodeCheck, threshold int, now time.Time) error {
	if err := a.secondFactorPrelude(); err != nil {
		return err
	}
	step, err := a.totpStep(check, threshold, factorTOTPCode, true)
	if err != nil {
		return err
	}
	return a.record(TOTPCodeAccepted{UserID: a.userID, Step: step, StepUp: true})
}

func (a *Account) verifyTOTP(check CodeCheck, threshold int, temporary bool, now time.Time) error {
	if err := a.secondFactorPrelude(); err != nil {
		return err
	}
	step, err := a.totpStep(check, threshold, factorTOTPCode, false)
	if err != nil {
		return err
	}
	return a.record(TOTPCodeAccepted{UserID: a.userID, Step: step, PasswordKept: a.keepsPassword(temporary)})
}

// totpStep is the time step of a typed authenticator code not accepted
// before, or the refusal: a locked account is refused before the code is
// looked at, and wrong and reused codes count towards the lock. use is
// what the code is for: the code accepted last, for the same use, is a
// form sent twice (stepUp: at a step-up, justAccepted).
func (a *Account) totpStep(check CodeCheck, threshold int, use factorUse, stepUp bool) (uint64, error) {
	if a.locked {
		return 0, a.refuseLocked()
	}
	step, ok, err := check(a.totpSecret)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, a.fail(FailWrongSecondFactor, threshold, ErrWrongCode)
	}
	if step == a.totpLastStep && a.justAccepted(use, stepUp) {
		// A double click on the form: the first submission was accepted
		// and no login waits for a code. Not a guess, so not a failure
		// that would leave the person nearer a lock after a good login.
		// The code of a login typed on the new recovery codes' form is
		// not: that answer would say the codes were made, and they were
		// not.
		return 0, ErrCodeJustAccepted
	}
	if step <= a.totpLastStep {
		return 0, a.fail(FailSecondFactorReused, threshold, ErrCodeReused)
	}
	return step, nil
}

// ReplaceRecoveryCodes puts ten new recovery codes (keyed hashes) in place
// of the earlier ones, used or not: the person ran low, or fears the
// printed list was seen. A current code from the authenticator proves the
// second factor (accepted once; wrong and reused codes count towards the
// lock, as at login); the session alone does not.
func (a *Account) ReplaceRecoveryCodes(check CodeCheck, recoveryHashes []string, threshold int, now time.Time) error {
	if err := a.secondFactorPrelude(); err != nil {
		return err
	}
	if len(recoveryHashes) != RecoveryCodeCount || slices.Contains(recoveryHashes, "") {
		return fmt.Errorf("%w: need %d recovery code hashes", ErrInvalid, RecoveryCodeCount)
	}
	step, err := a.totpStep(check, threshold, factorNewCodes, false)
	if err != nil {
		return err
	}
	return a.record(RecoveryCodesReplaced{UserID: a.userID, Step: step, RecoveryCodeHashes: slices.Clone(recoveryHashes), Name: a.name, Email: a.email})
}

// UseRecoveryCode accepts an unused recovery code in place of a TOTP code.
// codeHash is the keyed hash of the normalised code.
func (a *Account) UseRecoveryCode(codeHash string, threshold int, now time.Time) error {
	return a.useRecoveryCode(codeHash, threshold, false, false, now)
}

// UseRecoveryCodeAfterTemporary is UseRecoveryCode at the code step of a
// login begun with the temporary password (VerifyTOTPAfterTemporary).
func (a *Account) UseRecoveryCodeAfterTemporary(codeHash string, threshold int, now time.Time) error {
	return a.useRecoveryCode(codeHash, threshold, true, false, now)
}

// UseRecoveryCodeStepUp is UseRecoveryCode at a step-up
// (VerifyTOTPStepUp): a login awaiting its code goes on waiting.
func (a *Account) UseRecoveryCodeStepUp(codeHash string, threshold int, now time.Time) error {
	return a.useRecoveryCode(codeHash, threshold, false, true, now)
}

func (a *Account) useRecoveryCode(codeHash string, threshold int, temporary, stepUp bool, now time.Time) error {
	if err := a.secondFactorPrelude(); err != nil {
		return err
	}
	if a.locked {
		return a.refuseLocked()
	}
	found, reused := -1, -1
	for i, c := range a.recovery {
		// Every code is compared, in constant time, whatever matches.
		if codeHash != "" && subtle.ConstantTimeCompare([]byte(c.hash), []byte(codeHash)) == 1 {
			if c.used {
				reused = i
			} else if found < 0 {
				found = i
			}
		}
	}
	switch {
	case found >= 0 && stepUp:
		return a.record(RecoveryCodeUsed{UserID: a.userID, Index: found, StepUp: true})
	case found >= 0:
		return a.record(RecoveryCodeUsed{UserID: a.userID, Index: found, PasswordKept: a.keepsPassword(temporary)})
	case reused >= 0 && a.lastRecovery == reused && a.justAccepted(factorRecoveryCode, stepUp):
		// The login's form sent twice with the recovery code it was
		// completed with, as with an authenticator code (totpStep).
		return ErrCodeJustAccepted
	case reused >= 0:
		return a.fail(FailSecondFactorReused, threshold, ErrCodeReused)
	default:
		return a.fail(FailWrongSecondFactor, threshold, ErrWrongCode)
	}
}

// justAccepted reports whether the second factor accepted last was for
// use, and a form sent again with it is that form sent twice: when no
// login awaits a code, or when both are a step-up's (a logged-in session's
// form: a login waiting elsewhere is not this, and its own code form is
// another use).
func (a *Account) justAccepted(use factorUse, stepUp bool) bool {
	return a.lastFactor == use && (!a.secondFactorPending || stepUp && a.lastStepUp)
}

// keepsPassword: a code given at the code step of a login with the current
// password (temporary false) while a temporary login awaits its code.
func (a *Account) keepsPassword(temporary bool) bool {
	return !temporary && a.secondFactorPending && a.pendingTemp
}

// completeLogin ends the password login awaiting its second factor: its
// time becomes the last login. A code accepted with no login pending
// changes no login time; a step-up's never gets here (VerifyTOTPStepUp).
// passwordKept: the event's PasswordKept.
func (a *Account) completeLogin(passwordKept bool) {
	if a.secondFactorPending && !a.pendingLoginAt.IsZero() {
		a.loginCompleted(a.pendingLoginAt)
	}
	if a.secondFactorPending && a.pendingTemp && !passwordKept {
		// The temporary login is complete: its temporary password is used
		// and the old password cancelled. One issued since (an
		// administrator's) stays until the new password, as after a
		// temporary login without TOTP; the new password still may not
		// be the used one, replaced or not.
		if a.temp != nil && a.temp.id == a.pendingTempID {
			a.temp = nil
		}
		a.usedTemp = a.pendingTempHash
		a.passwordHash, a.adminStrength, a.pendingReset = "", false, true
	}
	a.secondFactorPending, a.pendingLoginAt = false, time.Time{}
	a.pendingTemp, a.pendingTempID, a.pendingTempHash = false, "", ""
}

func (a *Account) secondFactorPrelude() error {
	switch {
	case !a.Exists():
		return ErrNotFound
	case !a.TOTPEnabled():
		return ErrTOTPNotEnabled
	}
	return nil
}

// DisableTOTP switches TOTP off (an administrator's reset after a lost
// phone, with a reason) and ends the account's sessions. Admins and
// auditors must enrol again at their next login. by is the acting
// administrator's user ID: nobody resets their own second factor
// (ErrOwnTOTP) — a session taken over would otherwise trade the owner's
// authenticator for its own; another administrator or the console must.
func (a *Account) DisableTOTP(reason, by string, now time.Time) error {
	if !a.Exists() {
		return ErrNotFound
	}
	if by == a.userID {
		return ErrOwnTOTP
	}
	if !a.TOTPEnabled() && a.totpPending == "" {
		return ErrTOTPNotEnabled
	}
	r, err := CheckReason(reason)
	if err != nil {
		return err
	}
	if err := a.record(TOTPDisabled{UserID: a.userID, Reason: r, Name: a.name, Email: a.email}); err != nil {
		return err
	}
	return a.record(SessionsEnded{UserID: a.userID, Reason: EndTOTPDisabled})
}

// Unlock is the administrator's unlock, with a reason.
func (a *Account) Unlock(reason string, now time.Time) error {
	if !a.Exists() {
		return ErrNotFound
	}
	r, err := CheckReason(reason)
	if err != nil {
		return err
	}
	if !a.locked {
		return ErrNotLocked
	}
	return a.record(AccountUnlocked{UserID: a.userID, Reason: r})
}

// GrantRole adds a role; granting a role held already records nothing.
// by is the acting administrator's user ID: nobody grants a role to their
// own account (an administrator making themselves auditor would watch
// themselves; another administrator must do it, or the console).
//
// term is the person's term of service in the employee master now
// (employee.Employee.Term, at least 1): a role held from an earlier term
// (they left and were recorded again) is granted anew for this one.
func (a *Account) GrantRole(role Role, term int, by string, now time.Time) error {
	if !a.Exists() {
		return ErrNotFound
	}
	if !role.Valid() {
		return fieldErr("role", "unknown_choice", "must be admin or auditor")
	}
	if by == a.userID {
		return ErrOwnRole
	}
	term = max(term, 1)
	if a.HasRoleIn(role, term) {
		return nil
	}
	return a.record(RoleGranted{UserID: a.userID, Role: role, Term: term})
}

// RevokeRole removes a role and ends the account's sessions (they carried
// the role). by is the acting administrator's user ID: nobody removes a
// role from their own account — not their admin role, so the last
// administrator cannot lock everyone out by mistake (ErrOwnAdminRole), nor
// any other (ErrOwnRole).
func (a *Account) RevokeRole(role Role, by string, now time.Time) error {
	if !a.Exists() {
		return ErrNotFound
	}
	if !role.Valid() {
		return fieldErr("role", "unknown_choice", "must be admin or auditor")
	}
	if by == a.userID {
		if role == RoleAdmin {
			return ErrOwnAdminRole
		}
		return ErrOwnRole
	}
	if !a.HasRole(role) {
		return nil
	}
	if err := a.record(RoleRevoked{UserID: a.userID, Role: role}); err != nil {
		return err
	}
	return a.record(SessionsEnded{UserID: a.userID, Reason: EndRoleRevoked})
}

// CheckSecretAnswer is the helpdesk's check of a caller: verify is called
// with the stored answer hash. The verdict is recorded and returned; the
// answer itself is never revealed.
func (a *Account) CheckSecretAnswer(verify Verify, now time.Time) (bool, error) {
	switch {
	case !a.Exists():
		return false, ErrNotFound
	case a.status != StatusActive || a.answerHash == "":
		return false, ErrNotActivated
	case a.answerMisses >= MaxAnswerMisses && now.Before(a.lastAnswerMiss.Add(AnswerCheckCooldown)):
		return false, ErrAnswerChecksExhausted
	}
	idx, err := verify(a.answerHash)
	if err != nil {
		return false, err
	}
	ok := idx == 0
	return ok, a.record(SecretAnswerChecked{UserID: a.userID, Verified: ok, At: now})
}

// EndSessions ends every session of the account (e.g. "log out everywhere").
func (a *Account) EndSessions(reason SessionsEndReason, now time.Time) error {
	if !a.Exists() {
		return ErrNotFound
	}
	return a.record(SessionsEnded{UserID: a.userID, Reason: reason})
}

// MailResend is a mail the mailer parked (a dead letter) that an operator
// has sent again.
type MailResend struct {
	// ParkedEventID is the dead letter's event: the mail's own event, or
	// an earlier MailResendRequested whose send was refused again.
	ParkedEventID string
	// MailEventID and MailPosition are the event whose mail it is; Kind is
	// the mailer's word for it (registration, account_locked, …).
	MailEventID  string
	MailPosition uint64
	Kind         string
	// TempID is the temporary password the mail carries ("" for a notice).
	TempID string
	// Email is the address the mail goes to ("" when the event names none
	// and the directory gives the account's).
	Email string
}

// ResendLease is how long a recorded resend counts as under way. The
// process that records it sends at once (one SMTP attempt is bounded by its
// timeout, 30 s by default) and then clears or moves the dead letter; a dead
// letter still there after this long was left by a process that stopped
// mid-way, and may be sent again.
const ResendLease = 10 * time.Minute

// RequestMailResend records that the parked mail r is being sent again, by
// the command's actor. A mail that carries a temporary password goes again
// only while that password is the account's outstanding one and unexpired:
// ErrMailSuperseded when a newer one replaced it, it was used, or a new
// password cancelled it; ErrMailExpired once its 24 hours are over (sending
// it would hand the person a password that no longer works);
// ErrMailAddressLeft when the account's e-mail is no longer the mail's
// address (it would hand a working password to a mailbox the person left). Notices (a
// lock, a change of password, e-mail address or two-factor) tell of a past
// change with its time and are always worth sending. ErrResendUnderWay when
// the same dead letter's resend was recorded less than ResendLease ago:
// across processes the stream's expected version lets one of two resends
// through, and this turns the other away.
func (a *Account) RequestMailResend(r MailResend, now time.Time) error {
	switch {
	case !a.Exists():
		return ErrNotFound
	case r.ParkedEventID == "" || r.MailEventID == "" || r.MailPosition == 0 || r.Kind == "":
		return fmt.Errorf("%w: mail resend without the parked event, the mail's event or its kind", ErrInvalid)
	}
	if at, ok := a.resends[r.ParkedEventID]; ok && now.Sub(at) < ResendLease {
		return ErrResendUnderWay
	}
	if r.TempID != "" {
		if err := a.TempPasswordMailWorks(r.TempID, r.Email, now); err != nil {
			return err
		}
	}
	return a.record(MailResendRequested{
		UserID: a.userID, ParkedEventID: r.ParkedEventID, MailEventID: r.MailEventID,
		MailPosition: r.MailPosition, Kind: r.Kind, At: now,
	})
}

// TempPasswordMailWorks says whether a mail carrying the temporary password
// tempID to email ("" when the mail takes the account's address) would
// still hand the person a working password at now: nil, or
// ErrMailSuperseded (a newer one replaced it, it was used, or a new
// password or an e-mail that followed the master cancelled it),
// ErrMailExpired or ErrMailAddressLeft. The one rule for the mailer, which
// asks just before it sends (a mail held up by an SMTP outage for days),
// and for an operator's resend (RequestMailResend). It records nothing.
func (a *Account) TempPasswordMailWorks(tempID, email string, now time.Time) error {
	switch {
	case !a.Exists():
		return ErrNotFound
	case a.temp == nil || a.temp.id != tempID:
		return ErrMailSuperseded
	case !now.Before(a.temp.expires):
		return ErrMailExpired
	case email != "" && !strings.EqualFold(email, a.email):
		// The e-mail moved since (the master's or the owner's change):
		// the old mailbox may be closed or handed on to someone else,
		// and a working password must not go there.
		return ErrMailAddressLeft
	}
	return nil
}

func (a *Account) record(ev eventlog.Event) error {
	if err := a.Apply(ev); err != nil {
		return err
	}
	a.Add(ev)
	return nil
}

// Apply rebuilds state from one event and refuses events that do not fit.
func (a *Account) Apply(ev eventlog.Event) error {
	if _, ok := ev.(Registered); !ok && !a.Exists() {
		return fmt.Errorf("%w: %s before account.Registered", ErrCorrupt, ev.EventType())
	}
	switch ev := ev.(type) {
	case Registered:
		if a.Exists() {
			return fmt.Errorf("%w: registered twice", ErrCorrupt)
		}
		a.userID, a.name, a.email, a.status = ev.UserID, ev.Name, ev.Email, StatusRegistered
	case TemporaryPasswordIssued:
		a.temp = &tempPassword{id: ev.TempID, hash: ev.Hash, issuedAt: ev.IssuedAt, expires: ev.ExpiresAt}
	case LoginSucceeded:
		// With TOTP on, the login is complete only once the code is
		// accepted: a right password alone must not end the run of
		// failures, or whoever knows it could guess codes without end.
		if ev.SecondFactorRequired {
			a.pendingLoginAt = ev.At
		} else {
			a.failed, a.pendingLoginAt = 0, time.Time{}
			a.loginCompleted(ev.At)
		}
		a.secondFactorPending = ev.SecondFactorRequired
		a.pendingTemp, a.pendingTempID, a.pendingTempHash = ev.Temporary && ev.SecondFactorRequired, ev.TempID, ""
		if a.pendingTemp && a.temp != nil && a.temp.id == ev.TempID {
			a.pendingTempHash = a.temp.hash
		}
		if ev.Temporary && !ev.SecondFactorRequired {
			// Using the temporary password cancels the old password:
			// whoever knew it can no longer get in. With TOTP on, that
			// waits for the code (completeLogin).
			a.usedTemp = ""
			if a.temp != nil {
				a.usedTemp = a.temp.hash
			}
			a.temp, a.passwordHash, a.adminStrength, a.pendingReset = nil, "", false, true
		}
	case LoginFailed:
		a.failed = ev.Consecutive
		a.failedSince++
	case AccountLocked:
		a.locked, a.failed = true, ev.FailedAttempts
	case AccountUnlocked:
		a.locked, a.failed = false, 0
	case Activated:
		// A temporary password issued after the temporary login (Lupa
		// Kata Laluan, an administrator's) dies here as it does with
		// PasswordChanged: the new password is the only way in.
		a.status = StatusActive
		a.passwordHash, a.adminStrength, a.pendingReset, a.temp = ev.PasswordHash, ev.AdminStrength, false, nil
		a.usedTemp = ""
		a.questionID, a.answerHash = ev.SecretQuestion, ev.SecretAnswerHash
		a.answerMisses, a.lastAnswerMiss = 0, time.Time{}
		a.imageID, a.sealedPhrase = ev.SecurityImage, ev.SealedPhrase
	case PasswordChanged:
		// An outstanding temporary password dies with the old password:
		// it was hashed with the old password's salt. Every way to a new
		// password proved the person (the current password, or a login
		// with a temporary one), so it ends the run of failures as a
		// completed login does: two slips at Tukar Kata Laluan followed by
		// the right password must not leave them one mistake from a lock.
		a.passwordHash, a.adminStrength, a.pendingReset, a.temp = ev.PasswordHash, ev.AdminStrength, false, nil
		a.usedTemp = ""
		a.pendingTemp, a.pendingTempID, a.pendingTempHash = false, "", "" // its temporary password died too
		a.failed = 0
	case ProfileUpdated:
		a.phone, a.office, a.email = ev.Phone, ev.Office, ev.Email
		if ev.PreviousEmail != "" {
			// An e-mail change needed the current password: likewise.
			a.failed = 0
		}
		if ev.TemporaryCancelled {
			a.temp = nil
			a.pendingTemp, a.pendingTempID, a.pendingTempHash = false, "", ""
		}
	case EmailFollowedMaster:
		// Not the person's doing: the run of failures stands (contrast
		// ProfileUpdated with a new e-mail, which proved the password).
		// An outstanding temporary password went to the old mailbox,
		// which may be closed or read by someone else now: it dies here,
		// and Lupa Kata Laluan sends a new one to the new address.
		a.email, a.temp = ev.Email, nil
		a.pendingTemp, a.pendingTempID, a.pendingTempHash = false, "", ""
	case NameFollowedMaster:
		a.name = ev.Name
	case TOTPEnrolmentStarted:
		a.totpPending = ev.SealedSecret
	case TOTPEnabled:
		if a.totpPending == "" {
			return fmt.Errorf("%w: TOTP enabled without an enrolment", ErrCorrupt)
		}
		a.totpSecret, a.totpPending, a.totpLastStep = a.totpPending, "", ev.Step
		a.lastFactor = factorEnrolment
		a.recovery = make([]recoveryCode, len(ev.RecoveryCodeHashes))
		for i, h := range ev.RecoveryCodeHashes {
			a.recovery[i] = recoveryCode{hash: h}
		}
	case TOTPCodeAccepted:
		a.totpLastStep, a.failed = ev.Step, 0
		a.lastFactor, a.lastStepUp = factorTOTPCode, ev.StepUp
		if !ev.StepUp {
			a.completeLogin(ev.PasswordKept)
		}
	case RecoveryCodeUsed:
		if ev.Index < 0 || ev.Index >= len(a.recovery) {
			return fmt.Errorf("%w: recovery code %d of %d", ErrCorrupt, ev.Index, len(a.recovery))
		}
		a.recovery[ev.Index].used, a.failed = true, 0
		a.lastFactor, a.lastRecovery, a.lastStepUp = factorRecoveryCode, ev.Index, ev.StepUp
		if !ev.StepUp {
			a.completeLogin(ev.PasswordKept)
		}
	case RecoveryCodesReplaced:
		if a.totpSecret == "" {
			return fmt.Errorf("%w: recovery codes replaced without TOTP", ErrCorrupt)
		}
		// A current code proved the second factor: it ends the run of
		// failures, as one accepted at login does.
		a.totpLastStep, a.failed = ev.Step, 0
		a.lastFactor = factorNewCodes
		a.recovery = make([]recoveryCode, len(ev.RecoveryCodeHashes))
		for i, h := range ev.RecoveryCodeHashes {
			a.recovery[i] = recoveryCode{hash: h}
		}
	case TOTPDisabled:
		a.totpSecret, a.totpPending, a.totpLastStep, a.recovery = "", "", 0, nil
		a.lastFactor = factorNone
		a.secondFactorPending, a.pendingLoginAt = false, time.Time{}
		a.pendingTemp, a.pendingTempID, a.pendingTempHash = false, "", ""
	case RoleGranted:
		if !a.HasRole(ev.Role) {
			a.roles = append(a.roles, ev.Role)
			slices.Sort(a.roles)
		}
		if a.roleTerms == nil {
			a.roleTerms = map[Role]int{}
		}
		a.roleTerms[ev.Role] = max(ev.Term, 1)
	case RoleRevoked:
		a.roles = slices.DeleteFunc(a.roles, func(r Role) bool { return r == ev.Role })
		delete(a.roleTerms, ev.Role)
	case MailResendRequested:
		if a.resends == nil {
			a.resends = map[string]time.Time{}
		}
		a.resends[ev.ParkedEventID] = ev.At
	case SessionsEnded:
		a.sessionEnds++
		if !ev.TemporaryLogins {
			a.allEnded = a.sessionEnds
		}
	case SecretAnswerChecked:
		// Checks recorded before At was kept have a zero time: they
		// count, but their cooldown is long over.
		if ev.Verified {
			a.answerMisses = 0
		} else {
			a.answerMisses, a.lastAnswerMiss = a.answerMisses+1, ev.At
		}
	default:
		return fmt.Errorf("account: cannot apply event %T (%s)", ev, ev.EventType())
	}
	return nil
}
