package account

import (
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// Register adds the account events to the registry.
func Register(reg *eventlog.Registry) {
	eventlog.Register[Registered](reg)
	eventlog.Register[TemporaryPasswordIssued](reg)
	eventlog.Register[LoginSucceeded](reg)
	eventlog.Register[LoginFailed](reg)
	eventlog.Register[AccountLocked](reg)
	eventlog.Register[AccountUnlocked](reg)
	eventlog.Register[Activated](reg)
	eventlog.Register[PasswordChanged](reg)
	eventlog.Register[ProfileUpdated](reg)
	eventlog.Register[TOTPEnrolmentStarted](reg)
	eventlog.Register[TOTPEnabled](reg)
	eventlog.Register[TOTPCodeAccepted](reg)
	eventlog.Register[RecoveryCodeUsed](reg)
	eventlog.Register[TOTPDisabled](reg)
	eventlog.Register[RoleGranted](reg)
	eventlog.Register[RoleRevoked](reg)
	eventlog.Register[SecretAnswerChecked](reg)
	eventlog.Register[SessionsEnded](reg)
	eventlog.Register[MailResendRequested](reg)
	eventlog.Register[EmailFollowedMaster](reg)
	eventlog.Register[NameFollowedMaster](reg)
	eventlog.Register[RecoveryCodesReplaced](reg)
}

// Every account event carries the user ID (the IC number, digits only) so a
// reader never has to parse stream names. Secrets are never in clear:
// passwords and the secret answer are argon2id PHC strings, the temporary
// password, secret phrase and TOTP secret are sealed (AES-GCM, see the AAD
// helpers), recovery codes are keyed hashes.

// Registered: a person in the employee master registered (Pendaftaran).
type Registered struct {
	UserID string `json:"user_id"`
	Name   string `json:"name"`
	Email  string `json:"email"`
}

// Reasons a temporary password was issued. They equal the mailer's kinds.
type TempReason string

const (
	TempRegistration TempReason = "registration"
	TempForgot       TempReason = "forgot_password"
	TempAdmin        TempReason = "admin_issued"
)

// TemporaryPasswordIssued: a temporary password was made. The mail consumer
// opens Sealed with the sealer and TempPasswordAAD(UserID, TempID) and mails
// it to Email, naming Name and UserID (mailboxes may be shared). Hash is what
// a login is checked against. It expires at ExpiresAt (24 h), works once,
// and replaces any earlier unused temporary password; the account's current
// password keeps working until this one is used.
type TemporaryPasswordIssued struct {
	UserID    string     `json:"user_id"`
	TempID    string     `json:"temp_id"`
	Hash      string     `json:"hash"`
	Sealed    string     `json:"sealed"`
	IssuedAt  time.Time  `json:"issued_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	Reason    TempReason `json:"reason"`
	Name      string     `json:"name"`
	Email     string     `json:"email"`
}

// AAD is the associated data Sealed was sealed with.
func (e TemporaryPasswordIssued) AAD() []byte { return TempPasswordAAD(e.UserID, e.TempID) }

// LoginSucceeded: the password step of a login passed. Temporary says it was
// the temporary password TempID (which is now used up, and which cancelled
// the previous password). SecondFactorRequired says a TOTP or recovery code
// must follow before the login is complete.
type LoginSucceeded struct {
	UserID               string    `json:"user_id"`
	Temporary            bool      `json:"temporary,omitempty"`
	TempID               string    `json:"temp_id,omitempty"`
	SecondFactorRequired bool      `json:"second_factor_required,omitempty"`
	At                   time.Time `json:"at"`
}

// Why an attempt failed.
type FailReason string

const (
	FailWrongPassword        FailReason = "wrong_password"
	FailLocked               FailReason = "account_locked"
	FailTemporaryExpired     FailReason = "temporary_password_expired"
	FailWrongSecondFactor    FailReason = "wrong_second_factor"
	FailSecondFactorReused   FailReason = "second_factor_reused"
	FailWrongCurrentPassword FailReason = "wrong_current_password"
)

// LoginFailed: an attempt was refused. Consecutive is the count of
// consecutive failures after it (it does not grow while the account is
// locked, nor for an expired temporary password).
type LoginFailed struct {
	UserID      string     `json:"user_id"`
	Reason      FailReason `json:"reason"`
	Consecutive int        `json:"consecutive"`
}

// AccountLocked: too many consecutive failures. Only an administrator
// unlocks. Name and Email let the mailer warn the owner.
type AccountLocked struct {
	UserID         string `json:"user_id"`
	FailedAttempts int    `json:"failed_attempts"`
	Name           string `json:"name"`
	Email          string `json:"email"`
}

// AccountUnlocked: an administrator (the event's actor) unlocked the account.
type AccountUnlocked struct {
	UserID string `json:"user_id"`
	Reason string `json:"reason"`
}

// Activated: the person set a password, secret question and answer,
// security image and secret phrase ("Aktif").
type Activated struct {
	UserID           string `json:"user_id"`
	PasswordHash     string `json:"password_hash"`
	AdminStrength    bool   `json:"admin_strength,omitempty"`
	SecretQuestion   string `json:"secret_question"`
	SecretAnswerHash string `json:"secret_answer_hash"`
	SecurityImage    string `json:"security_image"`
	SealedPhrase     string `json:"sealed_phrase"`
}

// How a password was changed.
type ChangeVia string

const (
	ViaChange ChangeVia = "change" // Tukar Kata Laluan, with the old password
	ViaReset  ChangeVia = "reset"  // after a login with a temporary password
)

// PasswordChanged: a new password. AdminStrength records that it met the
// admin policy (at least 12 characters), since the hash cannot tell.
type PasswordChanged struct {
	UserID        string    `json:"user_id"`
	PasswordHash  string    `json:"password_hash"`
	AdminStrength bool      `json:"admin_strength,omitempty"`
	Via           ChangeVia `json:"via"`
	// Name and Email address the security notice the mailer sends (absent
	// in events written before it did).
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// ProfileUpdated: Kemaskini Maklumat Pengguna. The whole profile.
type ProfileUpdated struct {
	UserID string `json:"user_id"`
	Phone  string `json:"phone"`
	Office string `json:"office"`
	Email  string `json:"email"`
	// PreviousEmail is the address the e-mail changed from (empty when it
	// did not change); the mailer tells that address. Name addresses it.
	PreviousEmail string `json:"previous_email,omitempty"`
	Name          string `json:"name,omitempty"`
	// TemporaryCancelled: the e-mail moved while a temporary password
	// mailed to the old address was outstanding (or a login made with one
	// waited): that password dies, as when the address follows the
	// master. Absent in events written before it was kept: those replay
	// as they did.
	TemporaryCancelled bool `json:"temporary_cancelled,omitempty"`
}

// EmailFollowedMaster: the employee master moved the person's official
// e-mail from PreviousEmail to Email while the account still had
// PreviousEmail (its owner had not chosen another address), so the
// account's e-mail followed: Lupa Kata Laluan and an administrator's
// temporary password go to the new mailbox. Unlike a ProfileUpdated with a
// new e-mail it proves nothing about the person (no password was given),
// so it leaves the run of failed logins as it is. Name addresses the
// mailer's notice to the new address.
type EmailFollowedMaster struct {
	UserID        string `json:"user_id"`
	Email         string `json:"email"`
	PreviousEmail string `json:"previous_email"`
	Name          string `json:"name,omitempty"`
}

// NameFollowedMaster: the employee master corrected the person's name
// (HR's CSV import, an administrator's upload, the finance system's PUT)
// and the account's name, copied from the master at registration, followed
// from PreviousName to Name, so the portal's mail greets the person by the
// name HR now holds. No mail is sent for it, and it proves nothing about
// the person.
type NameFollowedMaster struct {
	UserID       string `json:"user_id"`
	Name         string `json:"name"`
	PreviousName string `json:"previous_name"`
}

// TOTPEnrolmentStarted: a TOTP secret was generated and shown as a QR code;
// it is not in force until confirmed with a code.
type TOTPEnrolmentStarted struct {
	UserID       string `json:"user_id"`
	SealedSecret string `json:"sealed_secret"`
}

// TOTPEnabled: the pending secret was confirmed with the code of time step
// Step (so that code cannot be used again), and ten recovery codes were
// issued (keyed hashes, each usable once).
type TOTPEnabled struct {
	UserID             string   `json:"user_id"`
	Step               uint64   `json:"step"`
	RecoveryCodeHashes []string `json:"recovery_code_hashes"`
	Name               string   `json:"name,omitempty"`  // for the mailer's notice
	Email              string   `json:"email,omitempty"` // for the mailer's notice
}

// TOTPCodeAccepted: the code of time step Step was accepted; no code of that
// step or an earlier one is accepted again.
type TOTPCodeAccepted struct {
	UserID string `json:"user_id"`
	Step   uint64 `json:"step"`
	// PasswordKept: the code was given at the code step of a login with
	// the current password while a login begun with the temporary password
	// (begun since) awaited its code. It completes the former: the
	// password stays and the temporary login is dropped. Without it the
	// code completes the pending login, and a temporary one uses its
	// temporary password then.
	PasswordKept bool `json:"password_kept,omitempty"`
	// StepUp: the code was given by a logged-in session proving the
	// second factor again (a step-up), not at a login's code step: it
	// completes no login, and one awaiting its code goes on waiting.
	// Absent in events stored before it was kept: those completed the
	// pending login, and replay the same.
	StepUp bool `json:"step_up,omitempty"`
}

// RecoveryCodeUsed: recovery code number Index was used (once);
// PasswordKept and StepUp as for TOTPCodeAccepted.
type RecoveryCodeUsed struct {
	UserID       string `json:"user_id"`
	Index        int    `json:"index"`
	PasswordKept bool   `json:"password_kept,omitempty"`
	StepUp       bool   `json:"step_up,omitempty"`
}

// RecoveryCodesReplaced: the person made ten new recovery codes (keyed
// hashes), proving the authenticator with the code of time step Step (so
// that code cannot be used again); the earlier codes, used or not, no
// longer work.
type RecoveryCodesReplaced struct {
	UserID             string   `json:"user_id"`
	Step               uint64   `json:"step"`
	RecoveryCodeHashes []string `json:"recovery_code_hashes"`
	Name               string   `json:"name,omitempty"`  // for the mailer's notice
	Email              string   `json:"email,omitempty"` // for the mailer's notice
}

// TOTPDisabled: TOTP was switched off (an administrator's reset after a lost
// phone). Recovery codes go with it.
type TOTPDisabled struct {
	UserID string `json:"user_id"`
	Reason string `json:"reason"`
	Name   string `json:"name,omitempty"`  // for the mailer's notice
	Email  string `json:"email,omitempty"` // for the mailer's notice
}

// Roles beyond plain staff.
type Role string

const (
	RoleAdmin   Role = "admin"
	RoleAuditor Role = "auditor"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleAuditor }

// RoleGranted / RoleRevoked: an administrator (or the bootstrap CLI) changed
// the account's roles.
type RoleGranted struct {
	UserID string `json:"user_id"`
	Role   Role   `json:"role"`
	// Term is the grantee's term of service in the employee master when
	// the role was granted (employee.Employee.Term): the role counts only
	// while that term lasts, so a leaver recorded again does not get it
	// back. Absent (0) in events recorded before it was kept: the first
	// term.
	Term int `json:"term,omitempty"`
}

type RoleRevoked struct {
	UserID string `json:"user_id"`
	Role   Role   `json:"role"`
}

// SecretAnswerChecked: the helpdesk checked a caller's answer to the secret
// question. Only the verdict is recorded; the answer is never shown. At
// (absent in checks recorded before it was kept) times the run of wrong
// answers that pauses the check (MaxAnswerMisses).
type SecretAnswerChecked struct {
	UserID   string    `json:"user_id"`
	Verified bool      `json:"verified"`
	At       time.Time `json:"at"`
}

// Why every session of an account was ended.
type SessionsEndReason string

const (
	EndLocked          SessionsEndReason = "locked"
	EndPasswordChanged SessionsEndReason = "password_changed"
	EndRoleRevoked     SessionsEndReason = "role_revoked"
	EndTOTPDisabled    SessionsEndReason = "totp_disabled"
	EndRequested       SessionsEndReason = "requested"
	// EndActivated: the account was activated; a login waiting elsewhere
	// (another device at the password step or at Pengaktifan) goes with
	// the temporary password it was begun with.
	EndActivated SessionsEndReason = "activated"
	// EndEmailChanged: the account's e-mail followed the employee
	// master's (EmailFollowedMaster). Recorded with TemporaryLogins: the
	// logins waiting with a temporary password mailed to the old address
	// end; the person's other sessions go on.
	EndEmailChanged SessionsEndReason = "email_changed"
)

// SessionsEnded: every session of the account must end, or with
// TemporaryLogins only its logins waiting after a temporary password (the
// web layer's session store acts on it; the command that records it also
// says so in its outcome). After a password change the session that made
// the change gets a new token and carries on.
type SessionsEnded struct {
	UserID string            `json:"user_id"`
	Reason SessionsEndReason `json:"reason"`
	// TemporaryLogins: only the logins waiting at a step a temporary
	// password led to end (Pengaktifan, the new password, the code step
	// of a login begun with one): whoever read that password's mail may
	// hold them. The account's logged-in sessions, and a login waiting
	// for the code after the current password, go on. Absent: every
	// session ends.
	TemporaryLogins bool `json:"temporary_logins,omitempty"`
}

// MailResendRequested: an operator (the event's actor) had a mail the
// mailer had parked (a dead letter of the mailer) sent again. It is
// recorded before the mail goes out, and its outcome is the dead letter:
// cleared once the mail is sent, moved to this event when it is refused
// again. ParkedEventID is the dead letter's event; MailEventID and
// MailPosition the event whose mail it is (its Message-ID derives from that
// event's ID, so the mail is recognisably the one that was parked); Kind
// the mailer's word for the mail. No address and no secret.
type MailResendRequested struct {
	UserID        string    `json:"user_id"`
	ParkedEventID string    `json:"parked_event_id"`
	MailEventID   string    `json:"mail_event_id"`
	MailPosition  uint64    `json:"mail_position"`
	Kind          string    `json:"kind"`
	At            time.Time `json:"at"`
}

func (Registered) EventType() string              { return "account.Registered.v1" }
func (TemporaryPasswordIssued) EventType() string { return "account.TemporaryPasswordIssued.v1" }
func (LoginSucceeded) EventType() string          { return "account.LoginSucceeded.v1" }
func (LoginFailed) EventType() string             { return "account.LoginFailed.v1" }
func (AccountLocked) EventType() string           { return "account.AccountLocked.v1" }
func (AccountUnlocked) EventType() string         { return "account.AccountUnlocked.v1" }
func (Activated) EventType() string               { return "account.Activated.v1" }
func (PasswordChanged) EventType() string         { return "account.PasswordChanged.v1" }
func (ProfileUpdated) EventType() string          { return "account.ProfileUpdated.v1" }
func (TOTPEnrolmentStarted) EventType() string    { return "account.TOTPEnrolmentStarted.v1" }
func (TOTPEnabled) EventType() string             { return "account.TOTPEnabled.v1" }
func (TOTPCodeAccepted) EventType() string        { return "account.TOTPCodeAccepted.v1" }
func (RecoveryCodeUsed) EventType() string        { return "account.RecoveryCodeUsed.v1" }
func (TOTPDisabled) EventType() string            { return "account.TOTPDisabled.v1" }
func (RoleGranted) EventType() string             { return "account.RoleGranted.v1" }
func (RoleRevoked) EventType() string             { return "account.RoleRevoked.v1" }
func (SecretAnswerChecked) EventType() string     { return "account.SecretAnswerChecked.v1" }
func (SessionsEnded) EventType() string           { return "account.SessionsEnded.v1" }
func (MailResendRequested) EventType() string     { return "account.MailResendRequested.v1" }
func (EmailFollowedMaster) EventType() string     { return "account.EmailFollowedMaster.v1" }
func (NameFollowedMaster) EventType() string      { return "account.NameFollowedMaster.v1" }
func (RecoveryCodesReplaced) EventType() string   { return "account.RecoveryCodesReplaced.v1" }

// Associated data for sealed values: binding each ciphertext to its account
// and purpose means a sealed value copied into another event or account
// does not open.

// TempPasswordAAD is the AAD of TemporaryPasswordIssued.Sealed.
func TempPasswordAAD(userID, tempID string) []byte {
	return []byte("ispeks/account/" + userID + "/temporary-password/" + tempID)
}

// PhraseAAD is the AAD of Activated.SealedPhrase.
func PhraseAAD(userID string) []byte {
	return []byte("ispeks/account/" + userID + "/secret-phrase")
}

// TOTPSecretAAD is the AAD of TOTPEnrolmentStarted.SealedSecret.
func TOTPSecretAAD(userID string) []byte {
	return []byte("ispeks/account/" + userID + "/totp-secret")
}
