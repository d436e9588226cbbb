package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/backup"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/config"
	esqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	"github.com/melaka-gov/ispeks/infra/security"
)

// backupCmd copies the embedded event log while the portal runs. The log is
// the only thing to back up: the read models are rebuilt from it, and the
// master key must be kept apart from the data it protects.
func (c *cli) backupCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "backup DIR",
		Short: "Copy the event log, consistent as of one moment, to DIR/events.db while the portal runs, and verify the copy's hash chains",
		Long: `Copy the embedded event log (the SQLite file of --event-store) to DIR/events.db while
the portal keeps running (DIR is made if it does not exist; its parent must; a DIR inside the data
directory, or the master key's or the log's directory, is refused: a copy there is lost with
the disk and lies beside the key): the copy is the log as of one moment, compacted, readable by its
owner only. The copy's hash chains are then verified, as 'audit verify' does, and the
backup is recorded in the log (backup.Taken.v1) with the operator as actor: 'ispeks audit
backups' lists them.

Not copied, on purpose: the read models (views.db), which the portal rebuilds from the log,
and the master key (--key-file), which must be kept apart from the data it protects:
without it the sealed secret phrases, TOTP secrets and temporary passwords in the log
cannot be opened.

To restore: stop the portal; replace the data directory's events.db with the copy and
delete events.db-wal, events.db-shm and views.db (with its -wal and -shm); start the portal
with the same master key (without it, it refuses to start rather than make a new one; another
key is refused when the log holds a backup record, which names the key by its ID). The
read models are rebuilt from the log.

A KurrentDB event store (esdb://…) is backed up with KurrentDB's own tools.`,
		Args: exactArgs("DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			kind, _, err := c.cfg.EventStore()
			if err != nil {
				return err
			}
			if kind == config.KindKurrent {
				return fmt.Errorf("backup: the event store is KurrentDB: back it up with KurrentDB's own tools (a file copy of its database directory taken as its documentation describes, or a disk snapshot)")
			}
			if err := requireLog(&c.cfg); err != nil {
				return err
			}
			dir := args[0]
			dest := filepath.Join(dir, "events.db")
			// Said before anything is opened; BackupTo refuses it again
			// should another backup get there first.
			if _, err := os.Lstat(dest); err == nil {
				return fmt.Errorf("DIR %s: it holds an events.db already (an earlier backup, or the log itself), which is never overwritten: give a new directory", dir)
			}
			// DIR itself is made (a new directory per backup is the
			// usual way), its parents are not: a mistyped path
			// (/srv/bakups/…) fails here instead of putting the
			// backup where no one will look for it.
			if parent := filepath.Dir(filepath.Clean(dir)); !isDir(parent) {
				return fmt.Errorf("DIR %s: its parent directory %s does not exist (or is not a directory): check the path, or make the parent first", dir, parent)
			}
			// A copy in the data directory, or beside the master key or
			// the log, is no backup: it is lost with the disk it should
			// outlive, and lies next to the key that opens its secrets.
			if err := c.backupApart(dir); err != nil {
				return err
			}
			made := false
			if err := os.Mkdir(dir, 0o700); err == nil {
				made = true
			} else if !errors.Is(err, os.ErrExist) {
				return fmt.Errorf("DIR %s: %w", dir, errors.Unwrap(err))
			}
			// A backup that fails (or is interrupted) leaves nothing: a
			// copy not verified or not recorded is no backup, would be
			// taken for one, and would make "run it again" into the same
			// DIR refused.
			var copyPath string
			kept := false
			defer func() {
				if kept {
					return
				}
				if copyPath != "" {
					for _, suffix := range []string{"", "-wal", "-shm"} {
						_ = os.Remove(copyPath + suffix)
					}
				}
				if made {
					_ = os.Remove(dir) // only if empty
				}
			}()
			if !isDir(dir) {
				return fmt.Errorf("DIR %s: it is a file, not a directory", dir)
			}
			store, err := openEventStore(ctx, &c.cfg, c.log)
			if err != nil {
				return err
			}
			defer store.Close()
			es, ok := store.(*esqlite.Store)
			if !ok {
				return fmt.Errorf("backup: the event store %T cannot be backed up by this command", store)
			}
			// A log restored with the read store of the day kept: every
			// other command refuses it, and this backup's record would
			// move the log's end towards the stale checkpoints until the
			// check no longer saw them.
			if err := c.checkReadStoreBehind(ctx, store); err != nil {
				return err
			}
			// The record names the master key (by its public key ID), so
			// a log restored from a later copy beside another key is
			// refused (loadMasterKey); a wrong key is refused here too.
			// It names it only once the log confirms it (an earlier
			// record, or a sealed value anywhere in the copy): recorded
			// unconfirmed, a wrong --key-file became the key the log
			// demands for good. The copy itself does not need the key:
			// without the key file the record names none.
			ourKey, priorKey := "", ""
			if _, err := os.Stat(c.cfg.KeyFile); !errors.Is(err, os.ErrNotExist) {
				// Loaded as the writing commands do (a key file others may
				// read is refused): the record this command writes names it.
				master, err := loadMasterKey(ctx, c.cfg.KeyFile, store, false, c.log)
				if err != nil {
					return err
				}
				sealer, err := security.NewSealer(master)
				if err != nil {
					return err
				}
				ourKey = sealer.KeyID()
				if priorKey, _, err = backupKeyOfLog(ctx, store); err != nil {
					return err
				}
			}
			start := time.Now()
			b, err := es.BackupTo(ctx, dest)
			if err != nil {
				return fmt.Errorf("backup: %w", err)
			}
			copyPath = b.Path
			copied, err := esqlite.Open(ctx, b.Path, esqlite.Options{Logger: c.log})
			if err != nil {
				return fmt.Errorf("backup: open the copy to verify it (removed): %w", err)
			}
			sealedKey := "" // the key ID of the copy's first sealed value
			head, verr := verifyLog(ctx, copied, nil, func(r eventlog.Record) {
				if sealedKey == "" {
					if m := sealedValue.FindSubmatch(r.Data); m != nil {
						sealedKey = string(m[1])
					}
				}
			})
			if err := copied.Close(); err != nil && verr == nil {
				verr = err
			}
			if verr != nil {
				return fmt.Errorf("backup: the copy failed verification (%d events read) and was removed (keep the previous backup): %w", head.Events, verr)
			}
			keyID := ""
			switch {
			case ourKey == "":
			case sealedKey != "" && sealedKey != ourKey:
				return fmt.Errorf("--key-file: %s is not the master key this event log was sealed with (its key ID is %s; the log's first sealed value names %s): the copy was removed; point --key-file at the install's key", c.cfg.KeyFile, ourKey, sealedKey)
			case sealedKey != "" || priorKey != "":
				keyID = ourKey // confirmed by the log
			}
			// Recorded once the copy verified, with the operator as actor:
			// a copy of everyone's personal data is an action auditors ask
			// about ('ispeks audit backups' lists them).
			taken := backup.Taken{Path: b.Path, Events: head.Events, LastPosition: b.LastPosition, HeadDigest: head.Digest, Bytes: b.Bytes, KeyID: keyID}
			meta := cliMeta()
			// One short append, not abandoned to an interrupt: abandoned,
			// it may still commit after the copy was removed, and the log
			// would list a backup that does not exist.
			rctx, cancelRecord := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			rec, err := commands.RecordBackupHandler{Runner: commands.Runner{Store: store, Registry: newRegistry(), Now: time.Now}}.
				Handle(rctx, commands.RecordBackup{Meta: meta, Backup: taken})
			cancelRecord()
			if err != nil {
				return fmt.Errorf("backup: the copy verified, but recording it in the log failed, so it was removed: %w", err)
			}
			kept = true
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "backup: %d events (up to position %d) in %s, %.1f MB, every stream's hash chain intact, no position missing, in %s\n",
				head.Events, b.LastPosition, b.Path, float64(b.Bytes)/1e6, time.Since(start).Round(time.Millisecond))
			writeHead(out, head)
			fmt.Fprintf(out, "recorded in the log at position %d with %s as the operator ('ispeks audit backups' lists the backups taken)\n", rec.Position, meta.Actor.ID)
			fmt.Fprintf(out, "not copied: the read models (rebuilt from the log on start) and the master key %s: keep a copy of the key apart from this backup\n", c.cfg.KeyFile)
			return nil
		},
	}
}

// backupApart refuses a backup DIR that is, or is inside, the data
// directory, the master key's directory or the event log's directory,
// symbolic links followed. DIR's parent exists (checked before).
func (c *cli) backupApart(dir string) error {
	target, err := realPath(dir)
	if err != nil {
		return fmt.Errorf("DIR %s: %w", dir, err)
	}
	_, logPath, err := c.cfg.EventStore()
	if err != nil {
		return err
	}
	for _, p := range []struct{ what, path string }{
		{"the data directory", c.cfg.DataDir},
		{"the master key's directory", filepath.Dir(c.cfg.KeyFile)},
		{"the event log's directory", filepath.Dir(logPath)},
	} {
		guarded, err := realPath(p.path)
		if err != nil {
			continue // not there: nothing of the install to be beside
		}
		if rel, err := filepath.Rel(guarded, target); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fmt.Errorf("DIR %s: it is inside %s (%s): a copy there is lost with the data it backs up and lies beside the master key; keep backups on another disk, apart from the key", dir, p.what, p.path)
		}
	}
	return nil
}

// realPath is path made absolute with its symbolic links followed; a path
// whose last element does not exist yet is its parent's real path joined
// with that element.
func realPath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	parent, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return "", err
	}
	return filepath.Join(parent, filepath.Base(abs)), nil
}

// isDir reports whether path is an existing directory.
func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
