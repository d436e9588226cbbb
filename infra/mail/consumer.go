package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/projections/engine"
)

// ConsumerName is the side-effect consumer's name (its checkpoint key).
const ConsumerName = "mailer"

// OpenFunc opens a sealed secret (AES-GCM) with its associated data. The
// composition root passes the sealer's Open method.
type OpenFunc func(sealed string, aad []byte) ([]byte, error)

// Directory finds a person's name and e-mail when an event does not carry
// them. Optional.
type Directory interface {
	Recipient(ctx context.Context, userID string) (Recipient, bool, error)
}

// Consumer turns account events into mail. It is run as a side-effect
// consumer of the event log (projections/engine RunConsumer), which starts
// where the data directory's first opening recorded (RecordConsumerStarts:
// the log head then) and keeps its checkpoint, so a rebuild or a restart
// never re-sends old mail, and which delivers a failed event again with a growing
// backoff: Handle returns an error for anything worth retrying (SMTP server
// down, 4xx, TLS or auth trouble) so the checkpoint never moves past an
// unsent mail. A message refused for good (unknown recipient, invalid data)
// is parked at once as a dead letter of the consumer, since retrying cannot
// help and would hold up every later mail. A mail the server refuses for now (ErrDeferred: a full
// mailbox, greylisting) is retried the same way, but only for DeferFor: then
// it is parked as a dead letter of the consumer (`ispeks projections
// status` lists it, by event ID and reason) and later mail goes on, since
// one full shared mailbox must not stop every registration. A server-wide
// failure is never parked.
//
// Each mail's Message-ID derives from the event ID, so a mail re-sent after
// a crash (at-least-once delivery) is recognisably the same mail, and the
// outbox replaces its file instead of adding a second one.
type Consumer struct {
	Sender    Sender
	Composer  Composer
	Open      OpenFunc
	Directory Directory // optional
	Log       *slog.Logger
	// DeferFor bounds how long a recipient refused for now holds up later
	// mail (default DefaultDeferFor). Now is the clock (default time.Now):
	// a mail's Date is when it is sent.
	DeferFor time.Duration
	Now      func() time.Time
	// TempPasswordWorks is asked, just before each attempt to send a
	// temporary password, whether the account as it is now still holds that
	// password, unexpired, for that address
	// (commands.TempPasswordMailCheck.Check: the rule `ispeks mail resend`
	// obeys). A mail held up by an SMTP outage may go out days after its
	// event; one that would hand the person a dead password, or a live one
	// to an address the account left, is not sent (see Handle). Optional:
	// nil sends every one.
	TempPasswordWorks func(ctx context.Context, userID, tempID, email string, now time.Time) error

	mu       sync.Mutex
	refusing map[string]refusalSpan // by lower-case address
}

// DefaultDeferFor is how long a temporarily refused recipient is retried
// (with the engine's backoff, up to a minute apart) before the mail is
// parked: long enough for greylisting and a brief outage of one mailbox,
// short against the temporary password's 24 hours.
const DefaultDeferFor = 15 * time.Minute

// refusalSpan is when an address was first and last refused for now.
// Keyed by address, not event: once a shared mailbox has refused for
// DeferFor, its next mails are parked at their first refusal instead of
// each waiting DeferFor again.
type refusalSpan struct{ first, last time.Time }

// Handles lists the event types the consumer acts on.
func (c *Consumer) Handles() []string {
	return []string{
		account.TemporaryPasswordIssued{}.EventType(), account.AccountLocked{}.EventType(),
		account.PasswordChanged{}.EventType(), account.ProfileUpdated{}.EventType(),
		account.TOTPEnabled{}.EventType(), account.TOTPDisabled{}.EventType(),
		account.RecoveryCodesReplaced{}.EventType(), account.EmailFollowedMaster{}.EventType(),
	}
}

// Handle processes one event; its signature is engine.ConsumerFunc.
func (c *Consumer) Handle(ctx context.Context, env eventlog.Envelope) error {
	log := c.log()
	p, ok := c.plan(env)
	if !ok {
		return nil
	}
	kind := p.kind
	// Logs carry the event ID and the kind, never the user ID (an IC number)
	// or the temporary password.
	cannotCompose := func(err error) error {
		if errors.Is(err, ErrInvalidMessage) {
			return engine.Park(fmt.Sprintf("%s mail: cannot be composed: %v", kind, err))
		}
		return fmt.Errorf("mailer: event %s: %w", env.ID, err)
	}
	to, err := c.recipient(ctx, p.userID, p.name, p.email)
	if err != nil {
		return cannotCompose(err)
	}
	// Before the message is composed: a stale password's mail is skipped
	// or parked without opening its sealed secret, which may no longer
	// open (the key changed) and would otherwise be retried for ever.
	if skip, err := c.notWorthSending(ctx, env, p, to.Email); skip || err != nil {
		return err
	}
	msg, err := c.compose(env, p, to)
	if err != nil {
		return cannotCompose(err)
	}
	if err := c.Sender.Send(ctx, msg); err != nil {
		if errors.Is(err, ErrRejected) || errors.Is(err, ErrInvalidMessage) {
			// Parked like a mail refused for too long, so every mail not
			// sent is a dead letter an administrator finds in one place.
			return engine.Park(fmt.Sprintf("%s mail: refused for good: %v", kind, err))
		}
		if errors.Is(err, ErrDeferred) {
			if d, park := c.refused(msg.To.Email); park {
				return engine.Park(fmt.Sprintf("%s mail: recipient refused for now for %s, parked: %v", kind, d.Round(time.Second), err))
			}
		}
		return fmt.Errorf("mailer: send for event %s: %w", env.ID, err)
	}
	c.delivered(msg.To.Email)
	// No message_id: it is the event ID at the sender's domain
	// (Composer.MessageID), which the log's redaction would show as an
	// e-mail address, "[e-mel]"; the event ID finds the mail in the relay's
	// log as well.
	log.InfoContext(ctx, "mailer: mail sent", "event_id", env.ID, "kind", kind)
	return nil
}

// notWorthSending asks TempPasswordWorks whether p's temporary password,
// mailed to email, still works now, and reports true when the mail must not
// go: with a nil error when a newer password took over, or the password
// was used or cancelled (its mail follows, or nobody needs this one), and
// with a Park when the person is left without a working password (expired,
// or the account's address moved): `ispeks mail parked` then shows an
// operator whom to issue a new one for, and a resend of it, refused for
// the same reason, clears it. Any other error is a failure to check, to
// retry.
func (c *Consumer) notWorthSending(ctx context.Context, env eventlog.Envelope, p plan, email string) (bool, error) {
	if p.tempID == "" || c.TempPasswordWorks == nil {
		return false, nil
	}
	err := c.TempPasswordWorks(ctx, p.userID, p.tempID, email, c.now())
	why := strings.TrimPrefix(fmt.Sprint(err), "account: ")
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, account.ErrMailSuperseded):
		c.log().InfoContext(ctx, "mailer: mail not sent: "+why, "event_id", env.ID, "kind", p.kind)
		return true, nil
	case errors.Is(err, account.ErrMailExpired), errors.Is(err, account.ErrMailAddressLeft):
		c.log().InfoContext(ctx, "mailer: mail not sent, parked: "+why, "event_id", env.ID, "kind", p.kind)
		return true, engine.Park(fmt.Sprintf("%s mail: not sent: %s; issue a new one (ispeks admin temporary-password)", p.kind, why))
	}
	return false, fmt.Errorf("mailer: event %s: check the temporary password: %w", env.ID, err)
}

// plan is the mail an event asks for: its kind (the word logs, dead
// letters and the console use), the person as the event names them (the
// directory fills in what it lacks), the temporary password it carries, and
// how to compose it.
type plan struct {
	kind                string
	userID, name, email string
	tempID              string
	compose             func(to Recipient) (Message, error)
}

// plan says which mail env asks for, if any. It is the one place that
// decides what an event mails, for the mailer and for a resend of a parked
// mail alike: an event written before the notices carried an address (a
// PasswordChanged, TOTPEnabled or TOTPDisabled without Email) mails nothing,
// nor does a profile change that kept the address.
func (c *Consumer) plan(env eventlog.Envelope) (plan, bool) {
	switch ev := env.Event.(type) {
	case account.TemporaryPasswordIssued:
		return plan{kind: string(ev.Reason), userID: ev.UserID, name: ev.Name, email: ev.Email, tempID: ev.TempID,
			compose: func(to Recipient) (Message, error) { return c.tempPassword(to, ev) }}, true
	case account.AccountLocked:
		return plan{kind: "account_locked", userID: ev.UserID, name: ev.Name, email: ev.Email,
			compose: func(to Recipient) (Message, error) {
				return c.Composer.AccountLocked(to, env.OccurredAt, ev.FailedAttempts)
			}}, true
	case account.PasswordChanged:
		// Written before the notices existed (no address in it): the
		// consumer starts at the log head, so only a replay meets one.
		if ev.Email == "" {
			return plan{}, false
		}
		return plan{kind: "password_changed", userID: ev.UserID, name: ev.Name, email: ev.Email,
			compose: func(to Recipient) (Message, error) {
				return c.Composer.PasswordChanged(to, env.OccurredAt, ev.Via == account.ViaReset)
			}}, true
	case account.ProfileUpdated:
		if ev.PreviousEmail == "" || ev.PreviousEmail == ev.Email {
			return plan{}, false // phone or office only
		}
		return plan{kind: "email_changed", userID: ev.UserID, name: ev.Name, email: ev.PreviousEmail,
			compose: func(to Recipient) (Message, error) {
				return c.Composer.EmailChanged(to, env.OccurredAt, ev.Email)
			}}, true
	case account.EmailFollowedMaster:
		// To the new address: see Composer.EmailFollowedMaster.
		return plan{kind: "email_followed_master", userID: ev.UserID, name: ev.Name, email: ev.Email,
			compose: func(to Recipient) (Message, error) {
				return c.Composer.EmailFollowedMaster(to, env.OccurredAt, ev.PreviousEmail)
			}}, true
	case account.TOTPEnabled:
		if ev.Email == "" {
			return plan{}, false
		}
		return plan{kind: "totp_enabled", userID: ev.UserID, name: ev.Name, email: ev.Email,
			compose: func(to Recipient) (Message, error) {
				return c.Composer.TwoFactorChanged(to, env.OccurredAt, true)
			}}, true
	case account.RecoveryCodesReplaced:
		if ev.Email == "" {
			return plan{}, false
		}
		return plan{kind: "recovery_codes_replaced", userID: ev.UserID, name: ev.Name, email: ev.Email,
			compose: func(to Recipient) (Message, error) {
				return c.Composer.RecoveryCodesReplaced(to, env.OccurredAt)
			}}, true
	case account.TOTPDisabled:
		if ev.Email == "" {
			return plan{}, false
		}
		return plan{kind: "totp_disabled", userID: ev.UserID, name: ev.Name, email: ev.Email,
			compose: func(to Recipient) (Message, error) {
				return c.Composer.TwoFactorChanged(to, env.OccurredAt, false)
			}}, true
	}
	return plan{}, false
}

// message composes env's mail to the person p names, with the Message-ID
// that derives from the event, so a mail sent again is recognisably the
// same one, and the date it is sent (a mail held up by an outage, or
// resent, would otherwise carry its event's old date: clients sort it far
// back and spam filters distrust it). The text names the event's own time
// (a notice) or the password's expiry, which do not move.
func (c *Consumer) message(ctx context.Context, env eventlog.Envelope, p plan) (Message, error) {
	to, err := c.recipient(ctx, p.userID, p.name, p.email)
	if err != nil {
		return Message{}, err
	}
	return c.compose(env, p, to)
}

// compose is message once the recipient is known.
func (c *Consumer) compose(env eventlog.Envelope, p plan, to Recipient) (Message, error) {
	msg, err := p.compose(to)
	if err != nil {
		return Message{}, err
	}
	msg.MessageID = c.Composer.MessageID(env.ID)
	msg.Date, msg.Occurred = c.now(), env.OccurredAt
	return msg, nil
}

func (c *Consumer) tempPassword(to Recipient, ev account.TemporaryPasswordIssued) (Message, error) {
	if c.Open == nil {
		return Message{}, errors.New("no sealer configured")
	}
	clear, err := c.Open(ev.Sealed, ev.AAD())
	if err != nil {
		// A wrong or missing key is an operator's fix away: retry rather
		// than lose the mail.
		return Message{}, fmt.Errorf("open temporary password: %w", err)
	}
	kind := TempPasswordKind(ev.Reason)
	return c.Composer.TemporaryPassword(kind, to, string(clear), ev.ExpiresAt)
}

// recipient uses the event's name and e-mail, or asks the directory.
func (c *Consumer) recipient(ctx context.Context, userID, name, email string) (Recipient, error) {
	to := Recipient{Name: name, UserID: userID, Email: email}
	if (to.Name == "" || to.Email == "") && c.Directory != nil {
		found, ok, err := c.Directory.Recipient(ctx, userID)
		if err != nil {
			return Recipient{}, fmt.Errorf("look up recipient: %w", err)
		}
		if ok {
			if to.Name == "" {
				to.Name = found.Name
			}
			if to.Email == "" {
				to.Email = found.Email
			}
		}
	}
	if to.Email == "" {
		return Recipient{}, fmt.Errorf("%w: recipient email: none in the event or the directory", ErrInvalidMessage)
	}
	return to, nil
}

// refused notes a temporary refusal of address and reports whether the
// mail should be parked: the address has been refusing for DeferFor. A
// refusal long after the last one starts the span anew.
func (c *Consumer) refused(address string) (time.Duration, bool) {
	now := c.now()
	limit := c.DeferFor
	if limit <= 0 {
		limit = DefaultDeferFor
	}
	key := strings.ToLower(address)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refusing == nil {
		c.refusing = map[string]refusalSpan{}
	}
	span, ok := c.refusing[key]
	if !ok || now.Sub(span.last) > limit {
		span = refusalSpan{first: now}
	}
	span.last = now
	c.refusing[key] = span
	return now.Sub(span.first), now.Sub(span.first) >= limit
}

// delivered forgets an address's refusals.
func (c *Consumer) delivered(address string) {
	c.mu.Lock()
	delete(c.refusing, strings.ToLower(address))
	c.mu.Unlock()
}

func (c *Consumer) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Consumer) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.Default()
}
