// Package accounts holds the read models of the account flow and the
// queries over them: the employee master (find by IC or by name), the
// account view admins and the login page read, and the recent login
// attempts of an account or of an unknown user ID.
//
// Documents carry the global position of the last event applied as their
// version, because an account document is fed by two streams (its own and
// its employee record): positions order events across streams, stream
// versions do not. A replayed event is therefore ignored by the store, and
// each projector checks the main document's version before touching
// derived documents, so a replay changes nothing.
package accounts

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/projections"
)

// Collections.
const (
	Employees     = "employees"      // ID = IC
	EmployeeNames = "employee_names" // ID = "<key>|<IC>": word-prefix index of names
	Accounts      = "accounts"       // ID = user ID (IC)
	LoginAttempts = "login_attempts" // ID = zero-padded global position
)

// Employee is one staff record as the read side sees it.
type Employee struct {
	IC          string `json:"ic"`
	Name        string `json:"name"`
	Email       string `json:"email"`
	Department  string `json:"department"`
	Post        string `json:"post"`
	StaffNumber string `json:"staff_number"`
	// LeftOn is the recorded leaving date (YYYY-MM-DD, "" for none),
	// which may still be ahead: InService compares it with the time
	// asked about, so the view never says "left" before the date.
	LeftOn string `json:"left_on,omitempty"`
	// Term is the term of service (employee.Employee.Term): 1 from the
	// first record, one more for each rejoin.
	Term       int        `json:"term,omitempty"`
	RecordedAt time.Time  `json:"recorded_at"`
	UpdatedAt  *time.Time `json:"updated_at,omitempty"`
}

// InService reports whether the person is in service at now: no leaving
// date, or one still ahead in Melaka (employee.HasLeft).
func (e Employee) InService(now time.Time) bool { return !employee.HasLeft(e.LeftOn, now) }

// Account statuses of the view. Locked overrides the others while it lasts
// (Activated still says whether the account was activated).
const (
	StatusRegistered = "registered"
	StatusActive     = "active"
	StatusLocked     = "locked"
)

// Account is the account view: what the admin pages show, what the home
// page greets with, and what the login page's first step reads.
type Account struct {
	UserID     string `json:"user_id"`
	Name       string `json:"name"`
	Department string `json:"department"`
	Post       string `json:"post"`
	Email      string `json:"email"`
	Phone      string `json:"phone,omitempty"`
	Office     string `json:"office,omitempty"`

	Status    string `json:"status"`
	Activated bool   `json:"activated"`
	Locked    bool   `json:"locked"`
	// Roles are the roles the person holds: granted in their present
	// term of service in the master (RoleTerms against EmployeeTerm), so
	// a leaver recorded again shows none of the old post's roles until
	// they are granted anew, as the commands decide.
	Roles []string `json:"roles"`
	// RoleTerms are the roles granted and not revoked, each with the term
	// of service it was granted in (account.RoleGranted.Term, 0 read as
	// 1, as the commands take it).
	RoleTerms map[string]int `json:"role_terms,omitempty"`
	// EmployeeTerm is the master's term of service for the person (0: not
	// recorded, and every role granted counts, as the commands take it).
	EmployeeTerm   int  `json:"employee_term,omitempty"`
	TOTP           bool `json:"totp"`
	RecoveryLeft   int  `json:"recovery_codes_left,omitempty"`
	FailedAttempts int  `json:"failed_attempts"`

	RegisteredAt time.Time  `json:"registered_at"`
	ActivatedAt  *time.Time `json:"activated_at,omitempty"`
	LastLogin    *time.Time `json:"last_login,omitempty"`
	LastFailure  *time.Time `json:"last_failure,omitempty"`
	// PreviousLogin is the successful login before LastLogin, and
	// FailedBeforeLogin the failed attempts between the two: every
	// LoginFailed (passwords, codes, attempts on a locked account), not
	// reset by an unlock. The home page shows them so a person notices a
	// login or guesses that were not theirs. FailedSinceLogin counts the
	// failures since LastLogin.
	PreviousLogin     *time.Time `json:"previous_login,omitempty"`
	FailedBeforeLogin int        `json:"failed_before_login,omitempty"`
	FailedSinceLogin  int        `json:"failed_since_login,omitempty"`
	// PendingLogin is the time of a right password whose TOTP or
	// recovery code is still owed: it becomes LastLogin only when the
	// code is accepted, so a stranger with the password but not the
	// phone neither shows as the owner's login nor hides the failures.
	PendingLogin   *time.Time `json:"pending_login,omitempty"`
	LockedAt       *time.Time `json:"locked_at,omitempty"`
	LastTempIssued *time.Time `json:"last_temp_password_at,omitempty"`
	LastTempReason string     `json:"last_temp_password_reason,omitempty"`
	SecurityImage  string     `json:"security_image,omitempty"`
	SealedPhrase   string     `json:"sealed_phrase,omitempty"` // open with account.PhraseAAD
	// SecretQuestion is the ID of the question chosen at activation
	// (account.SecretQuestionByID): the helpdesk asks it before checking
	// the caller's answer. The answer itself is only in the log, hashed.
	SecretQuestion string `json:"secret_question,omitempty"`
	// EmployeeLeftOn is the master's leaving date for this person ("" for
	// none), stored rather than an in-service flag so the answer follows
	// the clock (EmployeeInService).
	EmployeeLeftOn string `json:"employee_left_on,omitempty"`
}

// EmployeeInService reports whether the master says the person is in
// service at now (a leaving date still ahead: yes, until it begins).
func (a Account) EmployeeInService(now time.Time) bool {
	return !employee.HasLeft(a.EmployeeLeftOn, now)
}

// completeLogin records a completed login at at: the last one becomes
// the previous, the failures since it the failures before this one.
func (a *Account) completeLogin(at time.Time) {
	a.PreviousLogin, a.FailedBeforeLogin, a.FailedSinceLogin = a.LastLogin, a.FailedSinceLogin, 0
	a.LastLogin, a.PendingLogin, a.FailedAttempts = &at, nil, 0
}

// completePendingLogin completes the password login awaiting the code just
// accepted; a code checked with no login pending (a step-up) moves nothing.
func (a *Account) completePendingLogin() {
	if a.PendingLogin != nil {
		a.completeLogin(*a.PendingLogin)
	}
}

// HasRole reports whether the account holds role.
func (a Account) HasRole(role account.Role) bool { return slices.Contains(a.Roles, string(role)) }

// Projector builds employees, employee_names and accounts. It handles the
// employee events too, because the account view shows the name, department
// and post from the master.
type Projector struct{}

var _ projections.Projector = Projector{}

// Name is the projector's checkpoint name.
func (Projector) Name() string { return "accounts" }

// Layout is the version of the documents' shape (projections.Layouter):
// 1 added the previous login and the failures before and since the last
// one, so a read model projected before is rebuilt to fill them in; 2 keeps
// failed_attempts counting until the second factor is accepted (as the
// aggregate does), so a stored view is recounted; 3 moves the last login
// only when that second factor is accepted (pending_login until then); 4
// keeps the leaving date instead of an in-service flag (employee left_on,
// account employee_left_on), so a date still ahead reads as in service
// until it comes; 5 ends the run of failures at a password change and an
// e-mail change (both proved the current password), as the aggregate does;
// 6 projects employee.LeavingCancelled (the leaving date cleared), so a view
// whose projector passed over such events before it knew them is rebuilt;
// 7 projects account.EmailFollowedMaster (the account's e-mail following
// the master's), likewise for a projector of an older build that passed
// over those; 8 keeps the term of service of the master and of each role
// (a rejoin shows no role of the old term), filled in by a rebuild; 9
// reads a grant without a term as the first term's again, as the commands
// do (a build between stored it as held in any term).
func (Projector) Layout() int { return 9 }

// Handles lists the event types projected.
func (Projector) Handles() []string {
	return []string{
		employee.StaffRecorded{}.EventType(), employee.StaffUpdated{}.EventType(), employee.StaffLeftService{}.EventType(),
		employee.LeavingCancelled{}.EventType(),
		account.Registered{}.EventType(), account.TemporaryPasswordIssued{}.EventType(),
		account.LoginSucceeded{}.EventType(), account.LoginFailed{}.EventType(),
		account.AccountLocked{}.EventType(), account.AccountUnlocked{}.EventType(),
		account.Activated{}.EventType(), account.ProfileUpdated{}.EventType(), account.PasswordChanged{}.EventType(),
		account.TOTPEnabled{}.EventType(), account.TOTPDisabled{}.EventType(),
		account.TOTPCodeAccepted{}.EventType(), account.RecoveryCodeUsed{}.EventType(),
		account.RecoveryCodesReplaced{}.EventType(),
		account.RoleGranted{}.EventType(), account.RoleRevoked{}.EventType(),
		account.EmailFollowedMaster{}.EventType(),
	}
}

// Collections declares the collections and their indexes.
func (Projector) Collections() []projections.CollectionSpec {
	return []projections.CollectionSpec{
		{Name: Employees, Indexes: []string{"email", "staff_number"}},
		{Name: EmployeeNames, Indexes: []string{"key+name_lc"}},
		{Name: Accounts, Indexes: []string{"status", "email"}},
	}
}

// Project applies one event.
func (p Projector) Project(ctx context.Context, b projections.Batch, env eventlog.Envelope) error {
	switch ev := env.Event.(type) {
	case employee.StaffRecorded:
		return p.putEmployee(ctx, b, env, ev.IC, func(e *Employee, exists bool) {
			*e = Employee{IC: ev.IC, Name: ev.Name, Email: ev.Email, Department: ev.Department, Post: ev.Post, StaffNumber: ev.StaffNumber, RecordedAt: env.OccurredAt,
				Term: e.Term + 1}
		})
	case employee.StaffUpdated:
		return p.putEmployee(ctx, b, env, ev.IC, func(e *Employee, exists bool) {
			at := env.OccurredAt
			e.IC, e.Name, e.Email, e.Department, e.Post, e.StaffNumber, e.UpdatedAt = ev.IC, ev.Name, ev.Email, ev.Department, ev.Post, ev.StaffNumber, &at
		})
	case employee.StaffLeftService:
		return p.putEmployee(ctx, b, env, ev.IC, func(e *Employee, exists bool) {
			e.LeftOn = ev.Date
		})
	case employee.LeavingCancelled:
		return p.putEmployee(ctx, b, env, ev.IC, func(e *Employee, exists bool) {
			e.LeftOn = ""
		})
	case account.Registered:
		emp, _, err := getEmployee(ctx, b, ev.UserID)
		if err != nil {
			return err
		}
		return p.putAccount(ctx, b, env, ev.UserID, func(a *Account) {
			*a = Account{UserID: ev.UserID, Name: ev.Name, Email: ev.Email, Department: emp.Department, Post: emp.Post,
				Status: StatusRegistered, Roles: []string{}, RegisteredAt: env.OccurredAt, EmployeeLeftOn: emp.LeftOn, EmployeeTerm: emp.Term}
		})
	case account.TemporaryPasswordIssued:
		return p.putAccount(ctx, b, env, ev.UserID, func(a *Account) {
			at := env.OccurredAt
			a.LastTempIssued, a.LastTempReason = &at, string(ev.Reason)
		})
	case account.LoginSucceeded:
		return p.putAccount(ctx, b, env, ev.UserID, func(a *Account) {
			at := ev.At
			// As in the aggregate, the login is complete only with
			// the code too when TOTP is on.
			if ev.SecondFactorRequired {
				a.PendingLogin = &at
				return
			}
			a.completeLogin(at)
		})
	case account.LoginFailed:
		return p.putAccount(ctx, b, env, ev.UserID, func(a *Account) {
			at := env.OccurredAt
			a.LastFailure, a.FailedAttempts = &at, ev.Consecutive
			a.FailedSinceLogin++
		})
	case account.AccountLocked:
		return p.putAccount(ctx, b, env, ev.UserID, func(a *Account) {
			at := env.OccurredAt
			a.Locked, a.LockedAt, a.FailedAttempts = true, &at, ev.FailedAttempts
		})
	case account.AccountUnlocked:
		return p.putAccount(ctx, b, env, ev.UserID, func(a *Account) {
			a.Locked, a.LockedAt, a.FailedAttempts = false, nil, 0
		})
	case account.Activated:
		return p.putAccount(ctx, b, env, ev.UserID, func(a *Account) {
			at := env.OccurredAt
			a.Activated, a.ActivatedAt, a.SecurityImage, a.SealedPhrase = true, &at, ev.SecurityImage, ev.SealedPhrase
			a.SecretQuestion = ev.SecretQuestion
		})
	case account.ProfileUpdated:
		return p.putAccount(ctx, b, env, ev.UserID, func(a *Account) {
			a.Phone, a.Office, a.Email = ev.Phone, ev.Office, ev.Email
			if ev.PreviousEmail != "" {
				a.FailedAttempts = 0 // the current password was proved
			}
		})
	case account.EmailFollowedMaster:
		return p.putAccount(ctx, b, env, ev.UserID, func(a *Account) {
			a.Email = ev.Email // the run of failures stands: nothing was proved
		})
	case account.PasswordChanged:
		return p.putAccount(ctx, b, env, ev.UserID, func(a *Account) {
			a.FailedAttempts = 0 // the person was proved (as in the aggregate)
		})
	case account.TOTPEnabled:
		return p.putAccount(ctx, b, env, ev.UserID, func(a *Account) {
			a.TOTP, a.RecoveryLeft = true, len(ev.RecoveryCodeHashes)
		})
	case account.RecoveryCodesReplaced:
		return p.putAccount(ctx, b, env, ev.UserID, func(a *Account) {
			// The right code ends the run of failures (as in the aggregate).
			a.RecoveryLeft, a.FailedAttempts = len(ev.RecoveryCodeHashes), 0
		})
	case account.TOTPDisabled:
		return p.putAccount(ctx, b, env, ev.UserID, func(a *Account) {
			a.TOTP, a.RecoveryLeft, a.PendingLogin = false, 0, nil
		})
	case account.TOTPCodeAccepted:
		return p.putAccount(ctx, b, env, ev.UserID, func(a *Account) {
			a.FailedAttempts = 0
			if !ev.StepUp { // a step-up is no login: one waiting goes on waiting
				a.completePendingLogin()
			}
		})
	case account.RecoveryCodeUsed:
		return p.putAccount(ctx, b, env, ev.UserID, func(a *Account) {
			if a.RecoveryLeft > 0 {
				a.RecoveryLeft--
			}
			a.FailedAttempts = 0
			if !ev.StepUp {
				a.completePendingLogin()
			}
		})
	case account.RoleGranted:
		return p.putAccount(ctx, b, env, ev.UserID, func(a *Account) {
			if a.RoleTerms == nil {
				a.RoleTerms = map[string]int{}
			}
			a.RoleTerms[string(ev.Role)] = max(ev.Term, 1)
		})
	case account.RoleRevoked:
		return p.putAccount(ctx, b, env, ev.UserID, func(a *Account) {
			delete(a.RoleTerms, string(ev.Role))
		})
	}
	return fmt.Errorf("accounts: unexpected event %s", env.Type)
}

// putEmployee applies change to the employee document and keeps the name
// index and the account view in step.
func (p Projector) putEmployee(ctx context.Context, b projections.Batch, env eventlog.Envelope, ic string, change func(*Employee, bool)) error {
	doc, exists, err := b.Get(ctx, Employees, ic)
	if err != nil {
		return err
	}
	if exists && doc.Version >= env.Position {
		return nil // seen already
	}
	var e Employee
	if exists {
		if err := json.Unmarshal(doc.Body, &e); err != nil {
			return fmt.Errorf("accounts: employee %s: %w", maskID(ic), err)
		}
	} else if env.Type != (employee.StaffRecorded{}).EventType() {
		return fmt.Errorf("accounts: %s for an employee never recorded", env.Type)
	}
	oldName := e.Name
	change(&e, exists)
	// Derived documents first, the employee document last: on a store
	// without transactions a crash in between replays the event, and the
	// derived writes are idempotent.
	if oldName != e.Name {
		for _, key := range nameKeys(oldName) {
			if err := b.Delete(ctx, EmployeeNames, key+"|"+ic); err != nil {
				return err
			}
		}
		for _, key := range nameKeys(e.Name) {
			body, _ := json.Marshal(nameEntry{IC: ic, Name: e.Name})
			if err := b.Put(ctx, EmployeeNames, projections.Doc{ID: key + "|" + ic, Version: env.Position,
				Fields: map[string]any{"key": key, "name_lc": strings.ToLower(e.Name)}, Body: body}); err != nil {
				return err
			}
		}
	}
	if err := p.syncAccount(ctx, b, env, e); err != nil {
		return err
	}
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return b.Put(ctx, Employees, projections.Doc{ID: ic, Version: env.Position, Fields: map[string]any{"email": e.Email, "staff_number": e.StaffNumber}, Body: body})
}

// syncAccount copies the master's name, department and post to an existing
// account view.
func (p Projector) syncAccount(ctx context.Context, b projections.Batch, env eventlog.Envelope, e Employee) error {
	doc, ok, err := b.Get(ctx, Accounts, e.IC)
	if err != nil || !ok || doc.Version >= env.Position {
		return err
	}
	return p.putAccount(ctx, b, env, e.IC, func(a *Account) {
		a.Name, a.Department, a.Post, a.EmployeeLeftOn, a.EmployeeTerm = e.Name, e.Department, e.Post, e.LeftOn, e.Term
	})
}

func getEmployee(ctx context.Context, r interface {
	Get(context.Context, string, string) (projections.Doc, bool, error)
}, ic string) (Employee, bool, error) {
	doc, ok, err := r.Get(ctx, Employees, ic)
	if err != nil || !ok {
		return Employee{}, false, err
	}
	var e Employee
	if err := json.Unmarshal(doc.Body, &e); err != nil {
		return Employee{}, false, fmt.Errorf("accounts: employee %s: %w", maskID(ic), err)
	}
	return e, true, nil
}

func (p Projector) putAccount(ctx context.Context, b projections.Batch, env eventlog.Envelope, userID string, change func(*Account)) error {
	doc, exists, err := b.Get(ctx, Accounts, userID)
	if err != nil {
		return err
	}
	if exists && doc.Version >= env.Position {
		return nil
	}
	var a Account
	if exists {
		if err := json.Unmarshal(doc.Body, &a); err != nil {
			return fmt.Errorf("accounts: account %s: %w", maskID(userID), err)
		}
	} else if env.Type != (account.Registered{}).EventType() {
		return fmt.Errorf("accounts: %s for an account never registered", env.Type)
	}
	change(&a)
	switch {
	case a.Locked:
		a.Status = StatusLocked
	case a.Activated:
		a.Status = StatusActive
	default:
		a.Status = StatusRegistered
	}
	a.Roles = a.Roles[:0]
	if a.Roles == nil {
		a.Roles = []string{}
	}
	for r, term := range a.RoleTerms {
		if a.EmployeeTerm == 0 || term == a.EmployeeTerm {
			a.Roles = append(a.Roles, r)
		}
	}
	slices.Sort(a.Roles)
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return b.Put(ctx, Accounts, projections.Doc{ID: userID, Version: env.Position, Fields: map[string]any{"status": a.Status, "email": a.Email}, Body: body})
}

// maskID shows only the date and place of an IC in errors.
func maskID(ic string) string {
	if len(ic) == 12 {
		return ic[:6] + "-" + ic[6:8] + "-****"
	}
	return "?"
}

// nameEntry is the body of an employee_names document.
type nameEntry struct {
	IC   string `json:"ic"`
	Name string `json:"name"`
}

// Name search: each word of a name (lower case; "bin", "binti", "a/l" and
// the like left out) is indexed under its first 2, 3 and 5 letters. A query
// looks up the longest prefix of its longest word and filters the rest.
var nameStopWords = map[string]bool{"bin": true, "binti": true, "bt": true, "bte": true, "binte": true, "al": true, "ap": true, "anak": true}

func nameWords(name string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len([]rune(w)) < 2 || nameStopWords[w] || slices.Contains(out, w) {
			continue
		}
		out = append(out, w)
	}
	return out
}

var prefixLens = []int{5, 3, 2}

func nameKeys(name string) []string {
	var keys []string
	for _, w := range nameWords(name) {
		r := []rune(w)
		for _, n := range prefixLens {
			if len(r) >= n {
				k := fmt.Sprintf("p%d:%s", n, string(r[:n]))
				if !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
			}
		}
	}
	return keys
}
