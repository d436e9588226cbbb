package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/backup"
	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// RecordBackup records a verified copy of the event log, made at the
// server's console (`ispeks backup`), with the operator as actor: a copy
// of every person's personal data is an action auditors ask about.
type RecordBackup struct {
	Meta   Meta // Actor: the console operator (system, cli:<user>)
	Backup backup.Taken
}

// RecordBackupHandler appends backup.Taken. Errors: backup.ErrInvalid,
// ErrForbidden (an actor other than the console: no page or API client
// takes backups).
type RecordBackupHandler struct {
	Runner Runner
}

var _ Handler[RecordBackup] = RecordBackupHandler{}

// Handle runs the command.
func (h RecordBackupHandler) Handle(ctx context.Context, cmd RecordBackup) (Result, error) {
	if cmd.Meta.Actor.Kind != eventlog.ActorSystem || cmd.Meta.Actor.ID == "" {
		return Result{}, ErrForbidden
	}
	return Execute(ctx, h.Runner, backup.Stream, backup.New, cmd.Meta,
		func(l *backup.Log, now time.Time) error { return l.Record(cmd.Backup, now) })
}
