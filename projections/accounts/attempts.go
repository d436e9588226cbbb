package accounts

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/loginprobe"
	"github.com/melaka-gov/ispeks/projections"
)

// Outcomes of a recorded attempt.
const (
	OutcomePasswordAccepted     = "password_accepted"
	OutcomeSecondFactorAccepted = "second_factor_accepted"
	OutcomeFailed               = "failed"
	OutcomeLocked               = "locked"
	OutcomeUnlocked             = "unlocked"
)

// Reasons of a second factor accepted at a step-up (a logged-in session
// proving it again, which completes no login): the authenticator's code,
// a recovery code.
const (
	ReasonStepUp             = "step_up"
	ReasonRecoveryCodeStepUp = "recovery_code_step_up"
)

// Attempt is one entry of the login history of an account (Subject = user
// ID) or of an unknown user ID (Subject = ProbeSubject(key)).
type Attempt struct {
	Subject     string         `json:"subject"`
	Position    uint64         `json:"position"`
	At          time.Time      `json:"at"`
	Outcome     string         `json:"outcome"`
	Reason      string         `json:"reason,omitempty"`
	Temporary   bool           `json:"temporary,omitempty"`
	Consecutive int            `json:"consecutive"`
	SourceIP    string         `json:"source_ip,omitempty"`
	UserAgent   string         `json:"user_agent,omitempty"`
	Actor       eventlog.Actor `json:"actor"`
}

// ProbeSubject is the subject under which attempts on an unknown user ID
// are listed; key is infra/security Keyed.ProbeKey of the ID.
func ProbeSubject(key string) string { return "probe:" + key }

// AttemptsProjector builds login_attempts: one document per attempt, lock
// and unlock.
type AttemptsProjector struct{}

var _ projections.Projector = AttemptsProjector{}

// Name is the projector's checkpoint name.
func (AttemptsProjector) Name() string { return "login_attempts" }

// Handles lists the event types projected.
func (AttemptsProjector) Handles() []string {
	return []string{
		account.LoginSucceeded{}.EventType(), account.LoginFailed{}.EventType(),
		account.AccountLocked{}.EventType(), account.AccountUnlocked{}.EventType(),
		account.TOTPCodeAccepted{}.EventType(), account.RecoveryCodeUsed{}.EventType(),
		loginprobe.AttemptFailed{}.EventType(), loginprobe.Locked{}.EventType(),
	}
}

// Collections declares login_attempts, read by subject newest first.
func (AttemptsProjector) Collections() []projections.CollectionSpec {
	return []projections.CollectionSpec{{Name: LoginAttempts, Indexes: []string{"subject+position"}}}
}

// Project applies one event.
func (AttemptsProjector) Project(ctx context.Context, b projections.Batch, env eventlog.Envelope) error {
	a := Attempt{Position: env.Position, At: env.OccurredAt, SourceIP: env.Metadata.SourceIP, UserAgent: env.Metadata.UserAgent, Actor: env.Metadata.Actor}
	switch ev := env.Event.(type) {
	case account.LoginSucceeded:
		a.Subject, a.Outcome, a.Temporary = ev.UserID, OutcomePasswordAccepted, ev.Temporary
	case account.LoginFailed:
		a.Subject, a.Outcome, a.Reason, a.Consecutive = ev.UserID, OutcomeFailed, string(ev.Reason), ev.Consecutive
	case account.AccountLocked:
		a.Subject, a.Outcome, a.Consecutive = ev.UserID, OutcomeLocked, ev.FailedAttempts
	case account.AccountUnlocked:
		a.Subject, a.Outcome, a.Reason = ev.UserID, OutcomeUnlocked, ev.Reason
	case account.TOTPCodeAccepted:
		a.Subject, a.Outcome, a.Reason = ev.UserID, OutcomeSecondFactorAccepted, "totp"
		if ev.StepUp {
			// No login: shown as "totp", a password login waiting for its
			// code elsewhere would read as completed by it.
			a.Reason = ReasonStepUp
		}
	case account.RecoveryCodeUsed:
		a.Subject, a.Outcome, a.Reason = ev.UserID, OutcomeSecondFactorAccepted, "recovery_code"
		if ev.StepUp {
			a.Reason = ReasonRecoveryCodeStepUp
		}
	case loginprobe.AttemptFailed:
		a.Subject, a.Outcome, a.Reason, a.Consecutive = ProbeSubject(ev.Key), OutcomeFailed, "unknown_user_id", ev.Consecutive
		if ev.WhileLocked {
			a.Reason = "unknown_user_id_locked"
		}
	case loginprobe.Locked:
		a.Subject, a.Outcome, a.Consecutive = ProbeSubject(ev.Key), OutcomeLocked, ev.FailedAttempts
	default:
		return fmt.Errorf("accounts: login_attempts: unexpected event %s", env.Type)
	}
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return b.Put(ctx, LoginAttempts, projections.Doc{
		ID: fmt.Sprintf("%020d", env.Position), Version: env.Position,
		Fields: map[string]any{"subject": a.Subject, "position": int64(env.Position)}, Body: body,
	})
}
