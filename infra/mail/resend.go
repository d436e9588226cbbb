package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/mykad"
	"github.com/melaka-gov/ispeks/projections/engine"
)

// Resender sends again, on an operator's word, a mail the mailer parked (a
// dead letter of ConsumerName): once the cause is fixed (the department
// emptied its full shared mailbox, the relay's policy was corrected), the
// person gets the mail they are waiting for without asking again.
//
// It sends from the process that runs it (the console's `ispeks mail
// resend`), through the mailer's own plan, composer and transport (Mailer):
// the same text (dated when sent), the same Message-ID (derived from the mail's event) and
// so the same outbox file name. It does not mark the dead letter for the
// running portal's mailer to retry: that mailer only moves forward through
// the log, a retry queue beside it would be a second delivery path, and a
// console would wait unseen on a portal that is down or elsewhere; run here,
// the operator sees at once whether the mail went, and why not.
//
// Safety with several processes rests on the event log, not on the
// process. The resend is recorded (Record: account.MailResendRequested, the
// operator as actor) before the mail goes out, appended at the account
// stream's expected version, so of two resends of one dead letter at once
// (two operators' consoles) exactly one is recorded and sends; the other is
// told it is under way (account.ErrResendUnderWay). The
// running mailer never sends a parked mail again: its checkpoint has passed
// it, and a resend waits until it has passed the mail's event (an event
// parked but not yet acknowledged would come to the mailer again after a
// restart). So one
// resend request sends the mail at most once: after its record, then it
// clears the dead letter, or, when the mail is refused again, moves the
// dead letter to its record, which a new request may resend in turn.
type Resender struct {
	Mailer      *Consumer // the mailer's composer, sealer and sender
	Events      EventReader
	Registry    *eventlog.Registry
	DeadLetters DeadLetters
	Record      RecordResend
	Log         *slog.Logger
}

// EventReader is the slice of the event store a resend reads.
type EventReader interface {
	ReadAll(ctx context.Context, after uint64, limit int) ([]eventlog.Record, error)
	ReadStream(ctx context.Context, stream string, from uint64, dir eventlog.Direction, limit int) ([]eventlog.Record, error)
}

// DeadLetters is the slice of the projector engine a resend uses.
type DeadLetters interface {
	DeadLetters(ctx context.Context, name string, limit int) ([]engine.DeadLetter, error)
	ClearDeadLetter(ctx context.Context, name, eventID string) error
	ReplaceDeadLetter(ctx context.Context, name, eventID string, rec eventlog.Record, reason string) error
	Checkpoint(ctx context.Context, name string) (uint64, error)
}

// RecordResend records the operator's resend of a parked mail of account
// userID (commands.RequestMailResendHandler with the operator as actor) and
// returns the position of the event it appended.
type RecordResend func(ctx context.Context, userID string, r account.MailResend) (uint64, error)

// Errors of a resend.
var (
	ErrNotParked = errors.New("mail: no parked mail at that position")
	ErrNotPassed = errors.New("mail: the mailer has not moved past that event yet; try again in a moment")
)

// ParkedMail is a dead letter of the mailer as an operator sees it: who and
// what, never the address in full or a password.
type ParkedMail struct {
	Position uint64
	EventID  string
	// Kind is the mailer's word for the mail (registration,
	// forgot_password, admin_issued, account_locked, password_changed,
	// email_changed, email_followed_master, totp_enabled, totp_disabled,
	// recovery_codes_replaced);
	// "" when the event cannot be read.
	Kind     string
	UserID   string // masked (YYMMDD-PB-****)
	To       string // masked (s***@jkr.melaka.gov.my); "" when the event names none
	ParkedAt time.Time
	Reason   string
	// ResendOf is the position of the mail's own event when this dead
	// letter is a resend that was refused again.
	ResendOf uint64
	// Expires is when the temporary password in the mail expires (zero for
	// a notice): a resend after it sends nothing.
	Expires time.Time
	// WillNotSend is why a resend would send nothing now, by the rule a
	// resend obeys (Mailer.TempPasswordWorks): account.ErrMailExpired,
	// account.ErrMailSuperseded (replaced or used) or
	// account.ErrMailAddressLeft. nil for a notice, a password that still
	// works, or when it could not be checked.
	WillNotSend error
}

// Parked lists the mailer's dead letters in log order.
func (r *Resender) Parked(ctx context.Context) ([]ParkedMail, error) {
	dls, err := r.DeadLetters.DeadLetters(ctx, ConsumerName, 0)
	if err != nil {
		return nil, err
	}
	out := make([]ParkedMail, 0, len(dls))
	for _, dl := range dls {
		pm := ParkedMail{Position: dl.Position, EventID: dl.EventID, ParkedAt: dl.RecordedAt, Reason: dl.Error}
		if m, err := r.resolve(ctx, dl); err == nil {
			pm.Kind, pm.UserID, pm.To = m.plan.kind, mykad.Mask(m.plan.userID), maskOrNone(m.plan.email)
			if m.mail.Position != dl.Position {
				pm.ResendOf = m.mail.Position
			}
			if ev, ok := m.mail.Event.(account.TemporaryPasswordIssued); ok {
				pm.Expires = ev.ExpiresAt
			}
			pm.WillNotSend = r.willNotSend(ctx, m.plan)
		}
		out = append(out, pm)
	}
	return out, nil
}

// willNotSend asks the mailer's check whether p's temporary password, to
// the address a resend would mail, still works now; only its refusals are
// returned: a failure to check leaves the list without a note.
func (r *Resender) willNotSend(ctx context.Context, p plan) error {
	if p.tempID == "" || r.Mailer.TempPasswordWorks == nil {
		return nil
	}
	to, err := r.Mailer.recipient(ctx, p.userID, p.name, p.email)
	if err != nil {
		return nil
	}
	if err := r.Mailer.TempPasswordWorks(ctx, p.userID, p.tempID, to.Email, r.Mailer.now()); staleTempPassword(err) {
		return err
	}
	return nil
}

// staleTempPassword says whether err is the account's refusal of a mail whose
// temporary password no longer works for its address.
func staleTempPassword(err error) bool {
	return errors.Is(err, account.ErrMailSuperseded) || errors.Is(err, account.ErrMailExpired) || errors.Is(err, account.ErrMailAddressLeft)
}

// ResendOutcome is what became of one resend.
type ResendOutcome string

const (
	// Sent: the transport took the mail; the dead letter is cleared.
	Sent ResendOutcome = "sent"
	// AlreadyResent: nothing is parked at the position any more, because
	// its mail was resent earlier; nothing was done.
	AlreadyResent ResendOutcome = "already_resent"
	// UnderWay: another process recorded a resend of the same dead letter
	// moments ago (account.ResendLease) and is sending it; nothing was done.
	UnderWay ResendOutcome = "under_way"
	// NotWorthSending: the mail's temporary password was replaced, used
	// or has expired, so it would hand the person a password that does not
	// work, or the account's e-mail has moved away from the mail's address,
	// which may now be someone else's; nothing was sent and the dead letter is cleared, since no later
	// resend can make it worth sending (issue a new temporary password).
	NotWorthSending ResendOutcome = "not_worth_sending"
	// RefusedAgain: the transport refused the mail again; the dead letter
	// moved to the resend's event (ParkedAt), which may be resent later.
	RefusedAgain ResendOutcome = "refused_again"
)

// ResendResult reports one resend. Detail says why (no address in it).
type ResendResult struct {
	Position uint64 // the dead letter's
	Kind     string
	To       string // masked
	Outcome  ResendOutcome
	Detail   string
	// Resend is the position of the MailResendRequested event recorded
	// for it (0: none was recorded by this request).
	Resend uint64
	// ParkedAt is where the mail is parked now (RefusedAgain; and for
	// AlreadyResent, when that earlier resend was refused again).
	ParkedAt uint64
}

// Resend sends the mail parked at position again (see Resender). Errors:
// ErrNotParked (nothing parked there, and never resent from there),
// ErrNotPassed, and any failure to read, compose or record (the dead letter
// is then kept as it was).
func (r *Resender) Resend(ctx context.Context, position uint64) (ResendResult, error) {
	res := ResendResult{Position: position}
	dls, err := r.DeadLetters.DeadLetters(ctx, ConsumerName, 0)
	if err != nil {
		return res, err
	}
	var dl *engine.DeadLetter
	for i := range dls {
		if dls[i].Position == position {
			dl = &dls[i]
			break
		}
	}
	if dl == nil {
		return r.alreadyResent(ctx, position, dls)
	}
	m, err := r.resolve(ctx, *dl)
	if err != nil {
		return res, err
	}
	// The mailer must have passed the mail's own event, or a restart would
	// hand it the event again. The record of a resend refused again is no
	// mail event: the mailer never mails it and, taking only mail events,
	// never moves its checkpoint over it until some later mail (never, while
	// the portal is stopped), so for such a dead letter the mail's event,
	// passed long ago, is the one that counts.
	cp, err := r.DeadLetters.Checkpoint(ctx, ConsumerName)
	if err != nil {
		return res, err
	}
	if cp < m.mail.Position {
		return res, ErrNotPassed
	}
	res.Kind, res.To = m.plan.kind, maskOrNone(m.plan.email)
	msg, err := r.Mailer.message(ctx, m.mail, m.plan)
	if err != nil {
		return res, fmt.Errorf("mail: %s mail at position %d cannot be composed: %w", m.plan.kind, m.mail.Position, err)
	}
	res.To = MaskEmail(msg.To.Email)
	resend, err := r.Record(ctx, m.plan.userID, account.MailResend{
		ParkedEventID: dl.EventID, MailEventID: m.mail.ID.String(), MailPosition: m.mail.Position,
		Kind: m.plan.kind, TempID: m.plan.tempID, Email: msg.To.Email,
	})
	// The bookkeeping after the record must happen even if the operator
	// interrupts the send.
	keep := context.WithoutCancel(ctx)
	switch {
	case staleTempPassword(err):
		if err := r.DeadLetters.ClearDeadLetter(keep, ConsumerName, dl.EventID); err != nil {
			return res, err
		}
		res.Outcome = NotWorthSending
		res.Detail = strings.TrimPrefix(err.Error(), "account: ") + "; issue a new one (ispeks admin temporary-password)"
		r.log().InfoContext(ctx, "mailer: parked mail not worth sending, dead letter cleared", "event_id", dl.EventID, "kind", m.plan.kind)
		return res, nil
	case errors.Is(err, account.ErrResendUnderWay):
		res.Outcome, res.Detail = UnderWay, "another resend of this mail was recorded moments ago and is being sent"
		return res, nil
	case err != nil:
		return res, err
	}
	res.Resend = resend
	if err := r.Mailer.Sender.Send(ctx, msg); err != nil {
		rec, ok, rerr := r.at(keep, resend)
		if rerr == nil && !ok {
			rerr = fmt.Errorf("mail: the resend's event at position %d is not in the log", resend)
		}
		if rerr != nil {
			return res, fmt.Errorf("mail: resend refused (%v), and the dead letter could not be moved: %w", err, rerr)
		}
		reason := fmt.Sprintf("%s mail: resent and refused again: %v", m.plan.kind, err)
		if rerr := r.DeadLetters.ReplaceDeadLetter(keep, ConsumerName, dl.EventID, rec, reason); rerr != nil {
			return res, fmt.Errorf("mail: resend refused (%v), and the dead letter could not be moved: %w", err, rerr)
		}
		res.Outcome, res.Detail, res.ParkedAt = RefusedAgain, err.Error(), resend
		return res, nil
	}
	r.Mailer.delivered(msg.To.Email)
	if err := r.DeadLetters.ClearDeadLetter(keep, ConsumerName, dl.EventID); err != nil {
		return res, fmt.Errorf("mail: sent, but the dead letter could not be cleared: %w", err)
	}
	res.Outcome = Sent
	r.log().InfoContext(ctx, "mailer: parked mail sent again", "event_id", m.mail.ID, "kind", m.plan.kind, "message_id", msg.MessageID, "resend_position", resend)
	return res, nil
}

// alreadyResent answers a resend of a position where nothing is parked:
// AlreadyResent when an earlier resend of it is recorded (a second
// resend of one dead letter is a no-op), ErrNotParked otherwise.
func (r *Resender) alreadyResent(ctx context.Context, position uint64, dls []engine.DeadLetter) (ResendResult, error) {
	res := ResendResult{Position: position}
	rec, ok, err := r.at(ctx, position)
	if err != nil {
		return res, err
	}
	if !ok || !strings.HasPrefix(rec.Stream, "account-") {
		return res, ErrNotParked
	}
	prev, found, err := r.lastResend(ctx, rec.Stream, rec.ID.String())
	if err != nil || !found {
		return res, errors.Join(ErrNotParked, err)
	}
	ev := prev.Event.(account.MailResendRequested)
	res.Outcome, res.Kind, res.Resend = AlreadyResent, ev.Kind, prev.Position
	res.Detail = fmt.Sprintf("resent by %s at %s (position %d)", prev.Metadata.Actor.ID, ev.At.In(calendar.Melaka).Format("2006-01-02 15:04 MST"), prev.Position)
	for _, dl := range dls {
		if dl.EventID == prev.ID.String() {
			res.ParkedAt = dl.Position
			res.Detail += fmt.Sprintf("; that resend was refused again and is parked at position %d", dl.Position)
		}
	}
	return res, nil
}

// lastResend finds the latest MailResendRequested of parkedEventID in an
// account stream.
func (r *Resender) lastResend(ctx context.Context, stream, parkedEventID string) (eventlog.Envelope, bool, error) {
	var (
		last  eventlog.Envelope
		found bool
	)
	typ := account.MailResendRequested{}.EventType()
	for from := uint64(1); ; {
		recs, err := r.Events.ReadStream(ctx, stream, from, eventlog.Forwards, 512)
		if err != nil {
			return last, false, err
		}
		for _, rec := range recs {
			if rec.Type != typ {
				continue
			}
			env, err := r.Registry.Decode(rec)
			if err != nil {
				return last, false, err
			}
			if ev, ok := env.Event.(account.MailResendRequested); ok && ev.ParkedEventID == parkedEventID {
				last, found = env, true
			}
		}
		if len(recs) < 512 {
			return last, found, nil
		}
		from = recs[len(recs)-1].Version + 1
	}
}

// parkedMail is a dead letter resolved to the mail it stands for: mail is
// the event whose mail it is (the dead letter's own event, or for a resend
// refused again the event that resend named).
type parkedMail struct {
	mail eventlog.Envelope
	plan plan
}

func (r *Resender) resolve(ctx context.Context, dl engine.DeadLetter) (parkedMail, error) {
	env, err := r.envelope(ctx, dl.Position, dl.EventID)
	if err != nil {
		return parkedMail{}, err
	}
	if ev, ok := env.Event.(account.MailResendRequested); ok {
		if env, err = r.envelope(ctx, ev.MailPosition, ev.MailEventID); err != nil {
			return parkedMail{}, err
		}
	}
	p, ok := r.Mailer.plan(env)
	if !ok {
		return parkedMail{}, fmt.Errorf("mail: the event at position %d (%s) asks for no mail", env.Position, env.Type)
	}
	return parkedMail{mail: env, plan: p}, nil
}

// envelope reads and decodes the event at position, which must be eventID
// (a log restored from a backup gives positions to new events).
func (r *Resender) envelope(ctx context.Context, position uint64, eventID string) (eventlog.Envelope, error) {
	rec, ok, err := r.at(ctx, position)
	if err != nil {
		return eventlog.Envelope{}, err
	}
	if !ok || rec.ID.String() != eventID {
		return eventlog.Envelope{}, fmt.Errorf("mail: event %s is not at position %d of the log", eventID, position)
	}
	env, err := r.Registry.Decode(rec)
	if err != nil {
		return eventlog.Envelope{}, fmt.Errorf("mail: event at position %d cannot be read: %w", position, err)
	}
	return env, nil
}

// at reads the event at position.
func (r *Resender) at(ctx context.Context, position uint64) (eventlog.Record, bool, error) {
	if position == 0 {
		return eventlog.Record{}, false, nil
	}
	recs, err := r.Events.ReadAll(ctx, position-1, 1)
	if err != nil {
		return eventlog.Record{}, false, fmt.Errorf("mail: read the log at position %d: %w", position, err)
	}
	if len(recs) == 0 || recs[0].Position != position {
		return eventlog.Record{}, false, nil
	}
	return recs[0], true, nil
}

func (r *Resender) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

func maskOrNone(email string) string {
	if email == "" {
		return ""
	}
	return MaskEmail(email)
}
