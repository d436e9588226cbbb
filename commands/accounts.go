package commands

import (
	"context"
	"errors"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/mykad"
)

// Ports of the account commands, implemented by infra/security.

// PasswordHasher hashes and checks passwords and secret answers (argon2id).
type PasswordHasher interface {
	// Hash returns a PHC string with a fresh salt.
	Hash(ctx context.Context, secret string) (string, error)
	// HashSharingSalt hashes with the salt and parameters of existing
	// (fresh salt when existing is ""), so one derivation later checks a
	// typed password against both.
	HashSharingSalt(ctx context.Context, secret, existing string) (string, error)
	// Match returns the index of the first hash secret matches, or -1.
	Match(ctx context.Context, secret string, encoded ...string) (int, error)
	// DummyHash never matches and costs what a real check costs.
	DummyHash() string
}

// Sealer encrypts secrets that must be recoverable, bound to associated
// data (see account.TempPasswordAAD and friends).
type Sealer interface {
	Seal(plaintext, aad []byte) (string, error)
	Open(sealed string, aad []byte) ([]byte, error)
}

// KeyedHasher computes keyed hashes.
type KeyedHasher interface {
	// ProbeKey names the login-probe stream of an unknown user ID.
	ProbeKey(userID string) string
	// RecoveryCodeHash is how a recovery code is stored and compared.
	RecoveryCodeHash(code string) string
}

// TOTPProvider generates TOTP secrets and checks codes (RFC 6238, ±1 step).
type TOTPProvider interface {
	Generate(accountName string) (secret, url string, err error)
	Match(secret, code string, now time.Time) (step uint64, ok bool, err error)
}

// SecretGenerator makes random temporary passwords and recovery codes.
type SecretGenerator interface {
	TemporaryPassword() (string, error)
	RecoveryCodes(n int) ([]string, error)
}

// AccountSecurity bundles the cryptographic ports the account handlers use.
type AccountSecurity struct {
	Hasher  PasswordHasher
	Sealer  Sealer
	Keyed   KeyedHasher
	TOTP    TOTPProvider
	Secrets SecretGenerator
}

// newRecoveryCodes makes a set of recovery codes: in clear, to be shown
// once, and as the keyed hashes the account keeps.
func (s AccountSecurity) newRecoveryCodes() (codes, hashes []string, err error) {
	codes, err = s.Secrets.RecoveryCodes(account.RecoveryCodeCount)
	if err != nil {
		return nil, nil, err
	}
	hashes = make([]string, len(codes))
	for i, c := range codes {
		hashes[i] = s.Keyed.RecoveryCodeHash(c)
	}
	return codes, hashes, nil
}

// AccountPolicy is the configurable part of the account rules.
type AccountPolicy struct {
	// LockThreshold: consecutive failures that lock an account (default 3).
	LockThreshold int
	// AllowedDomains: official e-mail domains (default melaka.gov.my);
	// subdomains are allowed too.
	AllowedDomains []string
}

// DefaultAllowedDomain is the official e-mail domain when none is configured.
const DefaultAllowedDomain = "melaka.gov.my"

func (p AccountPolicy) threshold() int {
	if p.LockThreshold <= 0 {
		return account.DefaultLockThreshold
	}
	return p.LockThreshold
}

func (p AccountPolicy) domains() []string {
	if len(p.AllowedDomains) == 0 {
		return []string{DefaultAllowedDomain}
	}
	return p.AllowedDomains
}

// ErrForbidden: the command's actor may not run it (an admin command from
// someone who does not hold the admin role, or from a plain user).
var ErrForbidden = errors.New("commands: actor is not allowed to run this command")

// parseUserID turns a typed user ID into an IC, or a field error on field.
func parseUserID(field, s string) (mykad.IC, error) {
	ic, err := mykad.Parse(s)
	if err != nil {
		code := "invalid"
		switch {
		case errors.Is(err, mykad.ErrEmpty):
			code = "required"
		case errors.Is(err, mykad.ErrDate):
			code = "invalid_date"
		case errors.Is(err, mykad.ErrPlace):
			code = "invalid_place_code"
		}
		return "", &account.FieldError{Field: field, Code: code, Reason: strings.TrimPrefix(err.Error(), "mykad: ")}
	}
	return ic, nil
}

// secretCheck is the account.Verify of one typed secret. It remembers each
// answer, so a decision retried after a version conflict does not hash
// again, and with no hash to check it hashes against the dummy, so every
// attempt costs one derivation.
type secretCheck struct {
	ctx    context.Context
	hasher PasswordHasher
	secret string
	memo   map[string]int
}

func newSecretCheck(ctx context.Context, h PasswordHasher, secret string) *secretCheck {
	return &secretCheck{ctx: ctx, hasher: h, secret: secret, memo: map[string]int{}}
}

func (c *secretCheck) Verify(encoded ...string) (int, error) {
	key := strings.Join(encoded, "\x00")
	if v, ok := c.memo[key]; ok {
		return v, nil
	}
	var idx int
	var err error
	if len(encoded) == 0 {
		_, err = c.hasher.Match(c.ctx, c.secret, c.hasher.DummyHash())
		idx = -1
	} else {
		idx, err = c.hasher.Match(c.ctx, c.secret, encoded...)
	}
	if err != nil {
		return -1, err
	}
	c.memo[key] = idx
	return idx, nil
}

// lazyHash hashes a secret once, on first use, with the salt of the first
// existing hash it is asked to share (or a fresh one).
type lazyHash struct {
	ctx      context.Context
	hasher   PasswordHasher
	secret   string
	existing string
	done     bool
	hash     string
}

func (l *lazyHash) get(existing string) (string, error) {
	if l.done && l.existing == existing {
		return l.hash, nil
	}
	h, err := l.hasher.HashSharingSalt(l.ctx, l.secret, existing)
	if err != nil {
		return "", err
	}
	l.done, l.existing, l.hash = true, existing, h
	return h, nil
}

// subCommand derives the command ID of one part of a command that writes to
// more than one stream, so the event IDs of its parts never collide.
func subCommand(meta Meta, part string) Meta {
	meta.CommandID = uuid.NewSHA1(meta.CommandID, []byte(part))
	return meta
}

// newTemporaryPassword makes a temporary password for userID: random,
// hashed sharing the salt of the current password hash (if any), sealed
// for the mailer. The ID derives from the command ID so a retry names the
// same password.
func (s AccountSecurity) newTemporaryPassword(ctx context.Context, meta Meta, userID, existingHash string) (account.TemporaryPassword, string, error) {
	plain, err := s.Secrets.TemporaryPassword()
	if err != nil {
		return account.TemporaryPassword{}, "", err
	}
	hash, err := s.Hasher.HashSharingSalt(ctx, plain, existingHash)
	if err != nil {
		return account.TemporaryPassword{}, "", err
	}
	id := uuid.NewSHA1(meta.CommandID, []byte("temporary-password")).String()
	sealed, err := s.Sealer.Seal([]byte(plain), account.TempPasswordAAD(userID, id))
	if err != nil {
		return account.TemporaryPassword{}, "", err
	}
	return account.TemporaryPassword{ID: id, Hash: hash, Sealed: sealed}, plain, nil
}

// authorizeAdmin lets an admin command through when its actor is the
// system (the CLI), or an administrator whose own account holds the admin
// role and is not locked: the write side checks the log, not the session.
// API clients (finance systems) may also run the employee-master commands;
// pass allowClients for those.
func authorizeAdmin(ctx context.Context, r Runner, meta Meta, allowClients bool) error {
	switch meta.Actor.Kind {
	case eventlog.ActorSystem:
		return nil
	case eventlog.ActorClient:
		if allowClients && meta.Actor.ID != "" {
			return nil
		}
		return ErrForbidden
	case eventlog.ActorAdmin:
		ic, err := mykad.Parse(meta.Actor.ID)
		if err != nil {
			return ErrForbidden
		}
		admin := account.New()
		if _, err := load(ctx, r, account.Stream(ic), admin); err != nil {
			return err
		}
		if !admin.HasRole(account.RoleAdmin) || admin.Locked() || admin.Status() != account.StatusActive {
			return ErrForbidden
		}
		// An administrator who left service keeps their account for their
		// own slips, not the powers of the post; one whose leaving date is
		// still ahead holds the post until then. One recorded again after
		// leaving holds it only once granted anew (employee.Employee.Term).
		emp := employee.New()
		if _, err := load(ctx, r, employee.Stream(ic), emp); err != nil {
			return err
		}
		if emp.Recorded() && (!emp.InService(r.Now()) || !admin.HasRoleIn(account.RoleAdmin, emp.Term())) {
			return ErrForbidden
		}
		return nil
	default:
		return ErrForbidden
	}
}

// KeyedLocks serialises work on one key (a user ID) within this process,
// so that concurrent logins on one account queue instead of failing on
// version conflicts: every attempt is recorded in order, and the lock
// decision sees the attempts before it. Across processes the expected-version
// check still decides. The zero value is ready to use.
type KeyedLocks struct {
	stripes [1024]sync.Mutex
}

// Lock locks key's stripe and returns its unlock.
func (l *KeyedLocks) Lock(key string) func() {
	h := fnv.New32a()
	h.Write([]byte(key))
	m := &l.stripes[h.Sum32()%uint32(len(l.stripes))]
	m.Lock()
	return m.Unlock
}

// AccountHandlers is every account and employee-master handler wired with
// one set of dependencies, for the composition root and the web layer.
type AccountHandlers struct {
	Register               RegisterAccountHandler
	LogIn                  LogInHandler
	Activate               ActivateAccountHandler
	ForgotPassword         ForgotPasswordHandler
	ChangePassword         ChangePasswordHandler
	ResetPassword          ResetPasswordHandler
	UpdateProfile          UpdateProfileHandler
	EnrolTOTP              EnrolTOTPHandler
	ConfirmTOTP            ConfirmTOTPHandler
	VerifyTOTP             VerifyTOTPHandler
	UseRecoveryCode        UseRecoveryCodeHandler
	ReplaceRecoveryCodes   ReplaceRecoveryCodesHandler
	UnlockAccount          UnlockAccountHandler
	IssueTemporaryPassword IssueTemporaryPasswordHandler
	VerifySecretAnswer     VerifySecretAnswerHandler
	GrantRole              GrantRoleHandler
	RevokeRole             RevokeRoleHandler
	ResetTOTP              ResetTOTPHandler
	EndSessions            EndSessionsHandler
	CreateAdministrator    CreateAdministratorHandler
	RecordStaff            RecordStaffHandler
	UpdateStaff            UpdateStaffHandler
	PutStaff               PutStaffHandler
	StaffLeftService       StaffLeftServiceHandler
	CancelLeaving          CancelLeavingHandler
	RequestMailResend      RequestMailResendHandler
	FollowMasterEmail      FollowMasterEmailHandler
	FollowMasterName       FollowMasterNameHandler
	TempPasswordMail       TempPasswordMailCheck
}

// NewAccountHandlers wires every account handler; logins and second-factor
// codes on one user ID are queued through one shared KeyedLocks.
func NewAccountHandlers(r Runner, sec AccountSecurity, pol AccountPolicy) AccountHandlers {
	locks := &KeyedLocks{}
	return AccountHandlers{
		Register:               RegisterAccountHandler{Runner: r, Security: sec, Policy: pol},
		LogIn:                  LogInHandler{Runner: r, Security: sec, Policy: pol, Locks: locks},
		Activate:               ActivateAccountHandler{Runner: r, Security: sec},
		ForgotPassword:         ForgotPasswordHandler{Runner: r, Security: sec},
		ChangePassword:         ChangePasswordHandler{Runner: r, Security: sec, Policy: pol},
		ResetPassword:          ResetPasswordHandler{Runner: r, Security: sec},
		UpdateProfile:          UpdateProfileHandler{Runner: r, Security: sec, Policy: pol},
		EnrolTOTP:              EnrolTOTPHandler{Runner: r, Security: sec, Policy: pol},
		ConfirmTOTP:            ConfirmTOTPHandler{Runner: r, Security: sec},
		VerifyTOTP:             VerifyTOTPHandler{Runner: r, Security: sec, Policy: pol, Locks: locks},
		UseRecoveryCode:        UseRecoveryCodeHandler{Runner: r, Security: sec, Policy: pol, Locks: locks},
		ReplaceRecoveryCodes:   ReplaceRecoveryCodesHandler{Runner: r, Security: sec, Policy: pol, Locks: locks},
		UnlockAccount:          UnlockAccountHandler{Runner: r},
		IssueTemporaryPassword: IssueTemporaryPasswordHandler{Runner: r, Security: sec},
		VerifySecretAnswer:     VerifySecretAnswerHandler{Runner: r, Security: sec},
		GrantRole:              GrantRoleHandler{Runner: r},
		RevokeRole:             RevokeRoleHandler{Runner: r, Locks: locks},
		ResetTOTP:              ResetTOTPHandler{Runner: r},
		EndSessions:            EndSessionsHandler{Runner: r},
		CreateAdministrator:    CreateAdministratorHandler{Runner: r, Security: sec, Policy: pol},
		RecordStaff:            RecordStaffHandler{Runner: r},
		UpdateStaff:            UpdateStaffHandler{Runner: r},
		PutStaff:               PutStaffHandler{Runner: r},
		StaffLeftService:       StaffLeftServiceHandler{Runner: r},
		CancelLeaving:          CancelLeavingHandler{Runner: r},
		RequestMailResend:      RequestMailResendHandler{Runner: r},
		FollowMasterEmail:      FollowMasterEmailHandler{Runner: r},
		FollowMasterName:       FollowMasterNameHandler{Runner: r},
		TempPasswordMail:       TempPasswordMailCheck{Runner: r},
	}
}
