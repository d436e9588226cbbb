package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/eventstore"
)

// ReadOnly reads an event store file without writing anything: an
// auditor's copy on read-only media or with read-only permissions, or the
// live log beside the portal. It never writes the file and never makes a
// -wal or -shm file beside it (Open would switch the file to WAL and start
// a writer and a checkpointer, which need a writable directory).
type ReadOnly struct {
	path string
	db   *sql.DB
	mu   sync.Mutex // r is used by one caller at a time
	r    *reader
}

var _ eventstore.ContiguousPositions = (*ReadOnly)(nil)

// OpenReadOnly opens the event store at path for reading. A file with a
// -wal and a -shm file beside it (the live log, or a copy taken with both)
// is read as a WAL reader, through the -shm. A file without them (a copy,
// or a log closed cleanly) is read as immutable: SQLite takes no lock and
// makes no -shm, so read-only media and permissions do not stop it. A
// non-empty -wal file without the -shm holds commits the file alone lacks,
// and reading them would make a -shm: the copy is refused, as is a file
// shorter than its header says (a copy cut short).
func OpenReadOnly(ctx context.Context, path string) (*ReadOnly, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("eventstore/sqlite: open %s: %w", path, err)
	}
	uri, err := readOnlyMode(abs)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", uri)
	if err != nil {
		return nil, fmt.Errorf("eventstore/sqlite: open %s: %w", abs, err)
	}
	// One connection: the format check's, then the reader's.
	db.SetMaxOpenConns(1)
	tables, err := tableNames(ctx, db)
	if err == nil {
		err = checkFormat(ctx, db, abs, tables)
	} else {
		err = openError(abs, err)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	r, err := newReader(ctx, db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("eventstore/sqlite: open %s for reading: %w", abs, err)
	}
	return &ReadOnly{path: abs, db: db, r: r}, nil
}

// readOnlyMode checks the file at abs and the write-ahead log beside it and
// returns the URI to read it with.
func readOnlyMode(abs string) (string, error) {
	fi, err := os.Stat(abs)
	switch {
	case err != nil:
		return "", fmt.Errorf("eventstore/sqlite: open %s: %w", abs, err)
	case fi.IsDir():
		return "", fmt.Errorf("eventstore/sqlite: open %s: it is a directory, not a file", abs)
	}
	const busy = "&_pragma=busy_timeout(10000)"
	wal, walErr := os.Stat(abs + "-wal")
	shm, shmErr := os.Stat(abs + "-shm")
	switch {
	case walErr == nil && shmErr == nil:
		// The live log (a portal may be writing it: its readers lock
		// through the -shm), or a copy of it taken with both files.
		// SQLite opens the -shm read-only where it cannot write it; a
		// -shm marked read-only (a copy's) is opened so even by root,
		// whom the permissions would not stop from writing its locks
		// into it.
		if shm.Mode().Perm()&0o222 == 0 {
			return readOnlyURI(abs) + "&readonly_shm=1" + busy, nil
		}
		return readOnlyURI(abs) + busy, nil
	case walErr == nil && wal.Size() > 0:
		return "", fmt.Errorf("eventstore/sqlite: open %s: the copy is incomplete: %s-wal beside it holds events not yet written into the file, and reading them needs %s-shm, which is missing (and a read-only copy must not get one): copy the -shm file with the others, or give a copy made by 'ispeks backup' (one file)",
			abs, filepath.Base(abs), filepath.Base(abs))
	case walErr != nil && !errors.Is(walErr, os.ErrNotExist):
		return "", fmt.Errorf("eventstore/sqlite: open %s: %w", abs, walErr)
	}
	if err := checkWhole(abs, fi.Size()); err != nil {
		return "", err
	}
	return fileURI(abs) + "?immutable=1" + busy, nil
}

// checkWhole compares the file's size with the size its header gives
// (SQLite trusts the header; a page past the end would read as "database
// disk image is malformed" deep in the verification).
func checkWhole(abs string, size int64) error {
	f, err := os.Open(abs)
	if err != nil {
		return fmt.Errorf("eventstore/sqlite: open %s: file is not readable: %w", abs, err)
	}
	defer f.Close()
	h := make([]byte, 100)
	if _, err := io.ReadFull(f, h); err != nil || string(h[:16]) != "SQLite format 3\x00" {
		return fmt.Errorf("%w: %s is not an SQLite database", eventlog.ErrNotEventStore, abs)
	}
	pageSize := int64(binary.BigEndian.Uint16(h[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	pages := int64(binary.BigEndian.Uint32(h[28:32]))
	// The page count is valid only if written by the version that last
	// changed the file (change counter = version-valid-for number).
	if pages == 0 || binary.BigEndian.Uint32(h[24:28]) != binary.BigEndian.Uint32(h[92:96]) {
		return nil
	}
	if want := pages * pageSize; size != want {
		return fmt.Errorf("eventstore/sqlite: open %s: the copy is incomplete: the file is %d bytes, its header says %d pages of %d bytes (%d bytes): a copy cut short, or taken from a running portal without its -wal file",
			abs, size, pages, pageSize, want)
	}
	return nil
}

// Path is the database file read.
func (s *ReadOnly) Path() string { return s.path }

// ContiguousPositions reports that positions have no gaps (see the package
// comment), so `audit verify` shows a removed event by its missing position.
func (s *ReadOnly) ContiguousPositions() bool { return true }

// withReader runs f with the file's one reader.
func (s *ReadOnly) withReader(_ context.Context, f func(*reader) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.r == nil {
		return ErrClosed
	}
	return s.r.conn.Raw(func(any) error { return f(s.r) })
}

// ReadAll reads up to limit events with position greater than after, in log
// order.
func (s *ReadOnly) ReadAll(ctx context.Context, after uint64, limit int) ([]eventlog.Record, error) {
	return readAll(after, limit, func() ([]eventlog.Record, error) {
		return readAllPage(ctx, s.withReader, after, limit)
	})
}

// ReadStream reads up to limit events of stream from version from
// (inclusive) in direction dir, as Store.ReadStream does.
func (s *ReadOnly) ReadStream(ctx context.Context, stream string, from uint64, dir eventlog.Direction, limit int) ([]eventlog.Record, error) {
	return readStream(ctx, s.withReader, stream, from, dir, limit)
}

// LastPosition is the position of the last event in the file (0: empty).
func (s *ReadOnly) LastPosition(ctx context.Context) (uint64, error) {
	return lastPosition(ctx, s.withReader)
}

// Close closes the file.
func (s *ReadOnly) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.r == nil {
		return nil
	}
	err := errors.Join(s.r.close(), s.db.Close())
	s.r = nil
	if err != nil {
		return fmt.Errorf("eventstore/sqlite: close %s: %w", s.path, err)
	}
	return nil
}
