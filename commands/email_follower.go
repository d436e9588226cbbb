package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// EmailFollowerName is the email follower's name as a durable consumer of
// the event log (its checkpoint and dead letters' key).
const EmailFollowerName = "email_follower"

// EmailFollowerActor is the actor of the account events the follower
// records: the system, acting on the master's change (the event's
// correlation ID is the master change's).
var EmailFollowerActor = eventlog.Actor{Kind: eventlog.ActorSystem, ID: EmailFollowerName}

// EmailFollower is the policy that keeps an account's e-mail on the
// employee master's: for each employee.StaffUpdated that changed the
// official e-mail (previous_email set) it runs FollowMasterEmail on the
// person's account. It runs as a durable side-effect consumer of the log
// (projections/engine RunConsumer under EmailFollowerName), so a change
// recorded while no portal ran — `ispeks import employees` from the
// console — is followed when one starts. Delivery is at least once: the
// command ID derives from the event ID, so a redelivered event is the same
// command and appends nothing. Its Handle has the signature of
// engine.ConsumerFunc.
type EmailFollower struct {
	Follow FollowMasterEmailHandler
	// FollowName, when set, first makes the account's name follow the
	// same master change (the NameFollower's command, under its command
	// ID, so whichever of the two runs it first records it and the other
	// appends nothing): HR often changes the name and the address together
	// (a married name), and the notice to the new address must greet the
	// person by the new name.
	FollowName *FollowMasterNameHandler
	Log        *slog.Logger
}

// Handles lists the event types the follower acts on: an update, and a
// rejoin (recorded again after leaving) at another address.
func (EmailFollower) Handles() []string {
	return []string{employee.StaffUpdated{}.EventType(), employee.StaffRecorded{}.EventType()}
}

// followNamespace separates the follower's command IDs from any other
// derived from the same event.
var followNamespace = uuid.MustParse("0d3f4c52-8a1e-5b7c-9e2d-6f4a1b3c5d7e")

// FollowCommandID is the command ID of following the master change in
// event eventID.
func FollowCommandID(eventID uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(followNamespace, eventID[:])
}

// Handle follows one master change. An error (a store that is down, a
// stream that kept changing) makes the engine deliver the event again; an
// event that names no valid person or address is logged and passed over,
// since no retry could make it usable and it would hold up every later
// change.
func (f EmailFollower) Handle(ctx context.Context, env eventlog.Envelope) error {
	var ev employee.StaffUpdated
	switch e := env.Event.(type) {
	case employee.StaffUpdated:
		ev = e
	case employee.StaffRecorded:
		// A first record has no previous address; a rejoin at another
		// one has.
		ev = employee.StaffUpdated{IC: e.IC, Name: e.Name, Email: e.Email, PreviousEmail: e.PreviousEmail}
	}
	// Events stored before previous_email was kept carry none: not
	// followed (the account keeps what it had; the person or an
	// administrator can still change it).
	if ev.PreviousEmail == "" || ev.PreviousEmail == ev.Email {
		return nil
	}
	if f.FollowName != nil {
		name := NameFollower{Follow: *f.FollowName, Log: f.Log}
		if err := name.Handle(ctx, env); err != nil {
			return fmt.Errorf("email follower: %w", err)
		}
	}
	meta := Meta{CommandID: FollowCommandID(env.ID), CorrelationID: env.Metadata.CorrelationID, Actor: EmailFollowerActor}
	res, err := f.Follow.Handle(ctx, FollowMasterEmail{Meta: meta, UserID: ev.IC, PreviousEmail: ev.PreviousEmail, Email: ev.Email})
	return followed(ctx, f.Log, "email follower", "e-mail", env, res, err)
}

// followed settles a follower's run of its command on the master change in
// env: an unusable event (a field error, account.ErrInvalid) is logged and
// passed over, since no retry could make it usable and it would hold up
// every later change; any other error is returned, so the engine delivers
// the event again. follower names the follower in the log and errors,
// what the account field that followed.
func followed(ctx context.Context, log *slog.Logger, follower, what string, env eventlog.Envelope, res Result, err error) error {
	if log == nil {
		log = slog.Default()
	}
	var afe *account.FieldError
	var efe *employee.FieldError
	field := ""
	switch {
	case errors.As(err, &afe):
		field = afe.Field
	case errors.As(err, &efe):
		field = efe.Field
	}
	switch {
	case field != "", errors.Is(err, account.ErrInvalid):
		// The field, never its value (an IC, an address, a name): the
		// event ID finds it.
		log.WarnContext(ctx, follower+": master change not followed, its event is unusable", "event_id", env.ID, "field", field)
		return nil
	case err != nil:
		return fmt.Errorf("%s: event %s: %w", follower, env.ID, err)
	}
	if res.Appended > 0 {
		log.InfoContext(ctx, follower+": account "+what+" followed the employee master", "event_id", env.ID, "position", res.Position)
	}
	return nil
}
