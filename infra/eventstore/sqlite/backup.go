package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Backup describes a copy BackupTo made.
type Backup struct {
	Path         string // the copy
	LastPosition uint64 // the last event in it (0: the log was empty)
	Bytes        int64
}

// BackupTo writes a copy of the log, consistent as of one moment, to the new
// file dest while the store keeps appending: appends committed after that
// moment are not in it. Copying the file instead is unsafe while the store
// is open (committed events may still be in the WAL beside it, and a copy
// taken during a checkpoint is torn).
//
// The copy is made by SQLite's VACUUM INTO on a read-only connection of its
// own, so it is compacted and never blocks the writer. It is readable by its
// owner only (it holds personal data) and opens as an event store. dest
// must not exist; its directory must. A failed copy leaves no file behind.
func (s *Store) BackupTo(ctx context.Context, dest string) (Backup, error) {
	if s.isClosed() {
		return Backup{}, ErrClosed
	}
	abs, err := filepath.Abs(dest)
	if err != nil {
		return Backup{}, fmt.Errorf("eventstore/sqlite: backup to %s: %w", dest, err)
	}
	if abs == s.path {
		return Backup{}, fmt.Errorf("eventstore/sqlite: backup to %s: that is the store itself", abs)
	}
	// The file is made empty first, owner-only and only if it does not
	// exist (VACUUM INTO fills an empty file and keeps its mode), so the
	// copy is never readable by others while it is written, and an
	// existing file is never overwritten.
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Backup{}, fmt.Errorf("eventstore/sqlite: backup to %s: %w", abs, errors.Unwrap(err))
	}
	// A failed copy is removed with the files SQLite made beside it: a
	// disk that fills up mid-copy leaves its -journal. Files of that name
	// that were there before are not ours to remove.
	var made []string
	for _, suffix := range []string{"-journal", "-wal", "-shm"} {
		if _, err := os.Lstat(abs + suffix); errors.Is(err, os.ErrNotExist) {
			made = append(made, abs+suffix)
		}
	}
	remove := func() {
		os.Remove(abs)
		for _, p := range made {
			os.Remove(p)
		}
	}
	if err := f.Close(); err != nil {
		remove()
		return Backup{}, fmt.Errorf("eventstore/sqlite: backup to %s: %w", abs, err)
	}
	// mode=ro rather than the readers' query_only, which refuses VACUUM INTO.
	db, err := sql.Open("sqlite", readOnlyURI(s.path)+"&_pragma=busy_timeout("+strconv.FormatInt(s.opts.BusyTimeout.Milliseconds(), 10)+")")
	if err != nil {
		remove()
		return Backup{}, fmt.Errorf("eventstore/sqlite: backup: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", abs); err != nil {
		remove()
		return Backup{}, fmt.Errorf("eventstore/sqlite: backup to %s: %w", abs, err)
	}
	b, err := inspectCopy(ctx, abs)
	if err != nil {
		remove()
		return Backup{}, err
	}
	return b, nil
}

// inspectCopy reads what the copy at abs holds.
func inspectCopy(ctx context.Context, abs string) (Backup, error) {
	db, err := sql.Open("sqlite", readOnlyURI(abs))
	if err != nil {
		return Backup{}, fmt.Errorf("eventstore/sqlite: backup to %s: %w", abs, err)
	}
	defer db.Close()
	var last int64
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(MAX(position), 0) FROM events").Scan(&last); err != nil {
		return Backup{}, fmt.Errorf("eventstore/sqlite: backup to %s: read the copy back: %w", abs, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return Backup{}, fmt.Errorf("eventstore/sqlite: backup to %s: %w", abs, err)
	}
	return Backup{Path: abs, LastPosition: uint64(last), Bytes: fi.Size()}, nil
}

// readOnlyURI opens the file at abs read-only (SQLITE_OPEN_READONLY).
func readOnlyURI(abs string) string { return fileURI(abs) + "?mode=ro" }
