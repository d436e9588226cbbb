package web

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/infra/mail"
	"github.com/melaka-gov/ispeks/projections"
)

// AccountDeps are the collaborators of the staff account pages
// (registration, the two-step login, activation, forgotten password,
// Tetapan Akaun, the demo mailbox). The zero value leaves those pages out
// (the menu then shows "Akan Datang"); a partly filled one is refused by
// NewSite.
type AccountDeps struct {
	// Commands are the account command handlers
	// (AccountCommandsFrom(commands.NewAccountHandlers(…))).
	Commands AccountCommands
	// Views reads the accounts projections (projections/accounts).
	Views projections.Reader
	// Sealer opens the secret phrase shown at login and seals the TOTP
	// secret carried between the enrolment page and its confirmation
	// (infra/security Sealer).
	Sealer AccountSealer
	// Decoys picks the decoy image and phrase of an unknown ID
	// (infra/security Keyed).
	Decoys DecoyPicker
	// WaitFor waits until the projections the next page reads have
	// reached position (read-your-writes). It is called after every
	// command, bounded by WaitTimeout; on timeout the page proceeds.
	WaitFor     func(ctx context.Context, position uint64) error
	WaitTimeout time.Duration // default 2 s
	// Mailbox is the outbox reader of /demo/mailbox (demo mode only).
	Mailbox DemoMailbox
	// AllowedDomains are the official e-mail domains (default
	// melaka.gov.my); the same list the commands are given, here only for
	// the pages' hints.
	AllowedDomains []string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// ForgotQueue bounds the Lupa Kata Laluan requests waiting for a
	// worker (default 256; one beyond waits for a slot, then is answered
	// 503 "try again", nothing queued), ForgotWorkers the workers that run
	// them (default 2). They run in Site.RunWorkers.
	ForgotQueue, ForgotWorkers int
}

// AccountCommands are the handlers the account pages run. The handlers of
// package commands satisfy these interfaces.
type AccountCommands struct {
	Register             commands.Handler[commands.RegisterAccount]
	LogIn                LoginRunner
	Activate             Activator
	ForgotPassword       commands.Handler[commands.ForgotPassword]
	ResetPassword        PasswordResetter
	ChangePassword       PasswordChanger
	UpdateProfile        commands.Handler[commands.UpdateProfile]
	EnrolTOTP            TOTPEnroller
	ConfirmTOTP          TOTPConfirmer
	VerifyTOTP           TOTPVerifier
	UseRecoveryCode      RecoveryCodeUser
	ReplaceRecoveryCodes RecoveryCodesReplacer
	// EndSessions records Log Keluar, so every portal process ends the
	// account's sessions, not only the one that served it.
	EndSessions commands.Handler[commands.EndSessions]
}

// The commands that can complete a login return the session's
// commands.LoginGrant: roles and service decided on the aggregates, never
// on the read model, which may not yet show a role just revoked.

// LoginRunner runs the password step and says where it leads.
type LoginRunner interface {
	LogIn(ctx context.Context, cmd commands.LogIn) (commands.LoginOutput, commands.Result, error)
}

// Activator activates an account (completing its first login).
type Activator interface {
	Activate(ctx context.Context, cmd commands.ActivateAccount) (commands.LoginGrant, commands.Result, error)
}

// PasswordResetter sets the new password after a temporary one
// (completing that login).
type PasswordResetter interface {
	Reset(ctx context.Context, cmd commands.ResetPassword) (commands.LoginGrant, commands.Result, error)
}

// PasswordChanger is Tukar Kata Laluan; the session goes on after it with
// the grant the change decided.
type PasswordChanger interface {
	Change(ctx context.Context, cmd commands.ChangePassword) (commands.LoginGrant, commands.Result, error)
}

// TOTPVerifier checks a TOTP code (completing a login, or a step-up).
type TOTPVerifier interface {
	Verify(ctx context.Context, cmd commands.VerifyTOTP) (commands.LoginGrant, commands.Result, error)
}

// TOTPEnroller starts a TOTP enrolment and returns the secret to show.
type TOTPEnroller interface {
	Enrol(ctx context.Context, cmd commands.EnrolTOTP) (commands.TOTPEnrolment, commands.Result, error)
}

// TOTPConfirmer confirms an enrolment and returns the recovery codes.
type TOTPConfirmer interface {
	Confirm(ctx context.Context, cmd commands.ConfirmTOTP) ([]string, commands.Result, error)
}

// RecoveryCodesReplacer makes ten new recovery codes, proved with a current
// TOTP code, and returns them to be shown once.
type RecoveryCodesReplacer interface {
	Replace(ctx context.Context, cmd commands.ReplaceRecoveryCodes) ([]string, commands.Result, error)
}

// RecoveryCodeUser accepts a recovery code in place of a TOTP code.
type RecoveryCodeUser interface {
	Use(ctx context.Context, cmd commands.UseRecoveryCode) (commands.RecoveryCodeUsed, commands.Result, error)
}

// AccountSealer seals and opens secrets bound to associated data.
type AccountSealer interface {
	Seal(plaintext, aad []byte) (string, error)
	Open(sealed string, aad []byte) ([]byte, error)
}

// DecoyPicker picks the decoy image and phrase of an ID without an
// activated account, the same every time for one ID.
type DecoyPicker interface {
	DecoyIndexes(userID string, nImages, nPhrases int) (image, phrase int)
}

// DemoMailbox reads the outbox (infra/mail Mailbox).
type DemoMailbox interface {
	List(ctx context.Context) ([]mail.MailboxEntry, error)
	Get(ctx context.Context, id string) (mail.MailboxMessage, error)
}

// AccountCommandsFrom takes the handlers the pages need from the full set.
func AccountCommandsFrom(h commands.AccountHandlers) AccountCommands {
	return AccountCommands{
		Register: h.Register, LogIn: h.LogIn, Activate: h.Activate,
		ForgotPassword: h.ForgotPassword, ResetPassword: h.ResetPassword,
		ChangePassword: h.ChangePassword, UpdateProfile: h.UpdateProfile,
		EnrolTOTP: h.EnrolTOTP, ConfirmTOTP: h.ConfirmTOTP, VerifyTOTP: h.VerifyTOTP,
		UseRecoveryCode: h.UseRecoveryCode, ReplaceRecoveryCodes: h.ReplaceRecoveryCodes,
		EndSessions: h.EndSessions,
	}
}

// enabled reports whether the account pages are wired at all (anything
// set); check then says what is missing.
func (d AccountDeps) enabled() bool {
	c := d.Commands
	return c.Register != nil || c.LogIn != nil || c.Activate != nil || c.ForgotPassword != nil ||
		c.ResetPassword != nil || c.ChangePassword != nil || c.UpdateProfile != nil ||
		c.EnrolTOTP != nil || c.ConfirmTOTP != nil || c.VerifyTOTP != nil || c.UseRecoveryCode != nil || c.ReplaceRecoveryCodes != nil || c.EndSessions != nil ||
		d.Views != nil || d.Sealer != nil || d.Decoys != nil || d.WaitFor != nil || d.Mailbox != nil
}

// check lists what a wired AccountDeps lacks.
func (d AccountDeps) check(demo bool) error {
	var missing []string
	c := d.Commands
	for name, ok := range map[string]bool{
		"Commands.Register": c.Register != nil, "Commands.LogIn": c.LogIn != nil,
		"Commands.Activate": c.Activate != nil, "Commands.ForgotPassword": c.ForgotPassword != nil,
		"Commands.ResetPassword": c.ResetPassword != nil, "Commands.ChangePassword": c.ChangePassword != nil,
		"Commands.UpdateProfile": c.UpdateProfile != nil, "Commands.EnrolTOTP": c.EnrolTOTP != nil,
		"Commands.ConfirmTOTP": c.ConfirmTOTP != nil, "Commands.VerifyTOTP": c.VerifyTOTP != nil,
		"Commands.UseRecoveryCode": c.UseRecoveryCode != nil, "Commands.ReplaceRecoveryCodes": c.ReplaceRecoveryCodes != nil,
		"Commands.EndSessions": c.EndSessions != nil,
		"Views":                d.Views != nil,
		"Sealer":               d.Sealer != nil, "Decoys": d.Decoys != nil, "WaitFor": d.WaitFor != nil,
		"Mailbox (demo mode)": d.Mailbox != nil || !demo,
	} {
		if !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return errors.New("web: AccountDeps lacks " + strings.Join(missing, ", "))
	}
	return nil
}

func (d AccountDeps) withDefaults() AccountDeps {
	if d.WaitTimeout <= 0 {
		d.WaitTimeout = 2 * time.Second
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.ForgotQueue <= 0 {
		d.ForgotQueue = defaultForgotQueue
	}
	if d.ForgotWorkers <= 0 {
		d.ForgotWorkers = defaultForgotWorkers
	}
	if len(d.AllowedDomains) == 0 {
		d.AllowedDomains = []string{commands.DefaultAllowedDomain}
	}
	return d
}

// acctMeta is the command metadata of a request: a fresh command ID (a
// browser's resubmission is a new attempt), the request ID as correlation,
// the actor (the logged-in or logging-in person, else anonymous; LogIn
// records attempts on an ID without an account anonymously, so the typed ID
// stays out of the log), the client's address and user agent.
func acctMeta(c *gin.Context, userID string) commands.Meta {
	actor := eventlog.Actor{Kind: eventlog.ActorAnonymous}
	if userID != "" {
		actor = eventlog.Actor{Kind: eventlog.ActorUser, ID: userID}
	}
	return commands.Meta{
		CommandID: uuid.New(), CorrelationID: httpx.RequestIDOf(c), Actor: actor,
		SourceIP: c.ClientIP(), UserAgent: httpx.UserAgent(c),
	}
}

// acctWait is read-your-writes after a command: the next page must not be
// older than the person's own action.
func (s *Site) acctWait(c *gin.Context, res commands.Result) {
	s.waitFor(c, res.Position)
}

// waitFor waits until the projections have passed position (0: nothing to
// wait for). It is bounded; if the projections lag, the page proceeds anyway
// (logged), because refusing the person their next page would be worse than
// showing it a moment stale.
func (s *Site) waitFor(c *gin.Context, position uint64) {
	a := s.deps.Accounts
	s.waitBounded(c, a.WaitFor, a.WaitTimeout, position, "read-your-writes wait gave up")
}

// waitBounded runs wait for position (0 or no wait: nothing to do) within
// timeout, logging gaveUp when it does not return in time.
func (s *Site) waitBounded(c *gin.Context, wait func(context.Context, uint64) error, timeout time.Duration, position uint64, gaveUp string) {
	if position == 0 || wait == nil {
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), timeout)
	defer cancel()
	if err := wait(ctx, position); err != nil {
		s.deps.Log.WarnContext(c.Request.Context(), gaveUp, "position", position, "err", err)
	}
}

// readAfterLogin holds the first page of a logged-in session that reads
// views until the projections have applied the session's login
// (session.Session.ReadAfter). The step that completed the login did not
// wait for them: the home page it leads to shows only what the login
// decided, and the projectors, waited for by nobody, commit several logins
// at once. Every other page waits here, so it is never older than the login
// (an activity page showing it, an administrator's account page). It waits
// once, as the login step did: a projector catching up on a payroll run
// must not hold every page of the session for the wait's bound.
func (s *Site) readAfterLogin(c *gin.Context) {
	if u, ok := session.User(c); ok && u.ReadAfter > 0 {
		s.waitFor(c, u.ReadAfter)
		err := s.deps.Sessions.Update(c, func(s *session.Session) { s.ReadAfter = 0 })
		switch {
		case errors.Is(err, session.ErrNotFound):
			// Ended while the page waited (a lock, a password change, a
			// logout in another tab): the request's copy must not carry
			// it on to the page or its command.
			s.sessionFailed(c, session.ErrOvertaken)
			c.Abort()
			return
		case err != nil:
			s.deps.Log.WarnContext(c.Request.Context(), "read-your-writes: clear the login's position", "err", err)
		}
	}
	c.Next()
}
