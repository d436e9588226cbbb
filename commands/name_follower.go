package commands

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// NameFollowerName is the name follower's name as a durable consumer of the
// event log (its checkpoint and dead letters' key).
const NameFollowerName = "name_follower"

// NameFollowerActor is the actor of the account events the name follower
// records: the system, acting on the master's change (the event's
// correlation ID is the master change's).
var NameFollowerActor = eventlog.Actor{Kind: eventlog.ActorSystem, ID: NameFollowerName}

// NameFollower is the policy that keeps an account's name on the employee
// master's: the account copies the name at registration and every mail
// (Lupa Kata Laluan, the lock notice, the password-changed notice…) greets
// the person by the copy, so when HR corrects the name the copy must
// follow. For each employee.StaffUpdated that changed the name
// (previous_name set), and each StaffRecorded that did (a rejoin under
// another name), it runs FollowMasterName on the person's account. It runs as a
// durable side-effect consumer of the log beside EmailFollower, so a
// correction imported while no portal ran is followed when one starts.
// Delivery is at least once: the command ID derives from the event ID, so
// a redelivered event is the same command and appends nothing. Its Handle
// has the signature of engine.ConsumerFunc.
type NameFollower struct {
	Follow FollowMasterNameHandler
	Log    *slog.Logger
}

// Handles lists the event types the follower acts on.
func (NameFollower) Handles() []string {
	return []string{employee.StaffUpdated{}.EventType(), employee.StaffRecorded{}.EventType()}
}

// nameFollowNamespace separates the name follower's command IDs from the
// e-mail follower's, derived from the same event.
var nameFollowNamespace = uuid.MustParse("5b1e7c2a-3d94-5f08-8a6c-2e7d9b4f1a30")

// FollowNameCommandID is the command ID of following the name in the master
// change in event eventID.
func FollowNameCommandID(eventID uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(nameFollowNamespace, eventID[:])
}

// Handle follows one master change. An error (a store that is down, a
// stream that kept changing) makes the engine deliver the event again; an
// event that names no valid person or name is logged and passed over,
// since no retry could make it usable and it would hold up every later
// change.
func (f NameFollower) Handle(ctx context.Context, env eventlog.Envelope) error {
	var ic, name, previous string
	switch e := env.Event.(type) {
	case employee.StaffUpdated:
		ic, name, previous = e.IC, e.Name, e.PreviousName
	case employee.StaffRecorded:
		ic, name, previous = e.IC, e.Name, e.PreviousName
	}
	// Only a change of the name: most updates (a new post, a department)
	// keep it, and a first record has no account yet. Events stored before
	// previous_name was kept carry none: not followed.
	if previous == "" || previous == name {
		return nil
	}
	// The account takes the name the master holds now, not the one this
	// event carried: the e-mail follower runs this same command for a
	// later change that moved the address too, maybe before this follower
	// reaches an earlier one, and a late run of the earlier change would
	// put its name back for good (the later change's command is stored
	// already, so its own run appends nothing).
	if current, err := f.mastersName(ctx, ic); err != nil {
		return fmt.Errorf("name follower: event %s: %w", env.ID, err)
	} else if current != "" {
		name = current
	}
	meta := Meta{CommandID: FollowNameCommandID(env.ID), CorrelationID: env.Metadata.CorrelationID, Actor: NameFollowerActor}
	res, err := f.Follow.Handle(ctx, FollowMasterName{Meta: meta, UserID: ic, Name: name})
	return followed(ctx, f.Log, "name follower", "name", env, res, err)
}

// mastersName is the name the employee master holds now for ic ("" when
// ic is not a valid IC or has no record: the event's own name is used, and
// the command refuses what is unusable).
func (f NameFollower) mastersName(ctx context.Context, ic string) (string, error) {
	id, err := parseUserID("user_id", ic)
	if err != nil {
		return "", nil
	}
	emp := employee.New()
	if _, err := load(ctx, f.Follow.Runner, employee.Stream(id), emp); err != nil {
		return "", err
	}
	if !emp.Recorded() {
		return "", nil
	}
	return emp.Details().Name, nil
}
