package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// The file marks itself in two places: SQLite's application_id header field
// (so `file` and other tools can tell) and the ispeks_meta table (format name
// and schema version, read on every open).
const (
	formatName    = "ispeks-eventstore"
	schemaVersion = 1
	applicationID = 0x69535045 // "iSPE"

	// pageSize is smaller than SQLite's 4096 because every append dirties
	// one leaf of the event-ID index at a random place (IDs are random
	// UUIDs), and each dirty page is written whole to the WAL at every
	// commit: 2 KiB pages halve that cost while event rows (~0.5 KiB) still
	// fit several to a page.
	pageSize = 2048
)

var schema = []string{
	`CREATE TABLE ispeks_meta (
		key   TEXT PRIMARY KEY,
		value TEXT NOT NULL
	) WITHOUT ROWID`,
	// position: global, 1-based, gap-free (assigned by the writer).
	// version: 1-based inside the stream.
	// id: the 16 bytes of the event UUID.
	// occurred_at: Unix time in nanoseconds, UTC.
	// data: the event's JSON as written.
	// metadata: eventlog.Metadata as JSON, without prev and hash.
	// chain: the integrity chain, prev then hash, 32 bytes each (only the
	// hash for the first event of a stream). One column, not two, because
	// every column costs on every read.
	// batch: position of the first event of the append that wrote this one,
	// so that a retried append can be answered with the original result.
	`CREATE TABLE events (
		position    INTEGER PRIMARY KEY,
		stream      TEXT    NOT NULL,
		version     INTEGER NOT NULL,
		id          BLOB    NOT NULL UNIQUE,
		type        TEXT    NOT NULL,
		occurred_at INTEGER NOT NULL,
		data        BLOB    NOT NULL,
		metadata    BLOB    NOT NULL,
		chain       BLOB    NOT NULL,
		batch       INTEGER NOT NULL,
		UNIQUE (stream, version)
	)`,
	`PRAGMA application_id = ` + strconv.Itoa(applicationID),
}

// InsertSQL is the statement the store inserts one event with. It is
// exported, with CreateSchema, for the benchmark's raw-insert yardstick.
const InsertSQL = `INSERT INTO events (position, stream, version, id, type, occurred_at, data, metadata, chain, batch)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// Open opens the event store in the SQLite file at path, creating the file
// (not its directory) if it does not exist. A file that exists but is not an
// iSPEKS event store gives an error wrapping eventlog.ErrNotEventStore and is
// left untouched.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	if path == "" {
		return nil, errors.New("eventstore/sqlite: open: path is empty")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("eventstore/sqlite: open %s: %w", path, err)
	}
	if err := checkLocation(abs); err != nil {
		return nil, err
	}

	// Two connections: the writer's, and the checkpointer's.
	wdb, err := openPool(abs, DSN(abs, opts.BusyTimeout, false), 2)
	if err != nil {
		return nil, err
	}
	rdb, err := openPool(abs, DSN(abs, opts.BusyTimeout, true), opts.ReadConns)
	if err != nil {
		wdb.Close()
		return nil, err
	}
	pdb, err := openPool(abs, pointDSN(abs, opts.BusyTimeout), opts.ReadConns)
	if err != nil {
		wdb.Close()
		rdb.Close()
		return nil, err
	}

	s := &Store{
		path:       abs,
		opts:       opts,
		log:        opts.Logger,
		wdb:        wdb,
		rdb:        rdb,
		readers:    make(chan *reader, opts.ReadConns),
		pdb:        pdb,
		points:     make(chan *reader, opts.ReadConns),
		reqs:       make(chan *appendReq, 4096),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
		writerDone: make(chan struct{}),
		ckptKick:   make(chan struct{}, 1),
		ckptDone:   make(chan struct{}),
	}
	s.watch.store = s
	fail := func(err error) (*Store, error) {
		s.closeConns(false)
		return nil, err
	}

	wconn, err := wdb.Conn(ctx)
	if err != nil {
		return fail(openError(abs, err))
	}
	if err := prepareFile(ctx, wconn, abs); err != nil {
		wconn.Close()
		return fail(err)
	}
	if s.w, err = newWriter(ctx, wconn); err != nil {
		wconn.Close()
		return fail(fmt.Errorf("eventstore/sqlite: open %s: %w", abs, err))
	}
	if s.ckpt, err = wdb.Conn(ctx); err != nil {
		return fail(openError(abs, err))
	}
	for i := 0; i < opts.ReadConns; i++ {
		r, err := newReader(ctx, rdb)
		if err != nil {
			return fail(fmt.Errorf("eventstore/sqlite: open %s for reading: %w", abs, err))
		}
		s.readers <- r
		if r, err = newReader(ctx, pdb); err != nil {
			return fail(fmt.Errorf("eventstore/sqlite: open %s for reading: %w", abs, err))
		}
		s.points <- r
	}
	last, err := s.LastPosition(ctx)
	if err != nil {
		return fail(err)
	}
	s.head.Store(last)
	go s.runWriter()
	go s.runCheckpointer()
	s.log.Info("event store opened", "path", abs, "last_position", last)
	return s, nil
}

// DSN is the connection string the store uses for the file at abs (for the
// benchmark's yardstick, which must write under the same settings).
func DSN(abs string, busyTimeout time.Duration, readOnly bool) string {
	q := []string{busyPragma(busyTimeout)}
	if readOnly {
		// Memory-mapped reads: a page read is a memory access rather than
		// a pread system call and a copy.
		q = append(q, "_pragma=query_only(1)", "_pragma=mmap_size(1073741824)", "_pragma=cache_size(-16384)")
	} else {
		// synchronous=FULL: a commit is on disk when Append returns.
		//
		// The writer's cache size has a cost besides memory: while the
		// file is under 1 GiB, a commit after a page split walks the whole
		// cache (SQLite's balance_nonroot parks a page at the pending-byte
		// page number, 1 GiB / page size + 1, while it orders the split's
		// pages, and the commit's truncate to the file's size then scans
		// every hash bucket; seen in session 7 in 94 % of the commits of
		// BenchmarkAppendConcurrent64). A 4 MiB cache appended ~20 % faster
		// in that benchmark, yet `bench queries` ingested the same with 4,
		// 8 and 32 MiB (a smaller cache reads more index pages back), so
		// the size stays.
		q = append(q, "_pragma=synchronous(FULL)", "_pragma=cache_size(-32768)")
	}
	return fileURI(abs) + "?" + strings.Join(q, "&")
}

// openPool opens n connections' worth of dsn, kept open for the store's
// life.
func openPool(abs, dsn string, n int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("eventstore/sqlite: open %s: %w", abs, err)
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// pointDSN is DSN's read-only connection without a memory map, for reads
// of a few pages (a stream, the last position). SQLite unmaps a reader's
// map whenever another connection has committed since its last read, and
// in a portal every login commits and then reads two streams: each unmap
// is an IPI that empties the TLB of the other core, where a password hash
// is usually running. bench login, point reads alternated with and without
// the map round by round in one process: 0.9–1.2 ms of system CPU a login
// against 1.3–1.5 ms, and a higher CPU ratio in all four pairs (82/84/84/81 %
// against 81/80/76/80 %). Scans (a subscription catching up, read-all,
// rebuilds) keep the map: they read the file in order.
func pointDSN(abs string, busyTimeout time.Duration) string {
	return fileURI(abs) + "?" + strings.Join([]string{
		busyPragma(busyTimeout), "_pragma=query_only(1)", "_pragma=mmap_size(0)", "_pragma=cache_size(-4096)",
	}, "&")
}

// busyPragma is the DSN parameter that makes a connection wait busyTimeout
// for another process's lock.
func busyPragma(busyTimeout time.Duration) string {
	return "_pragma=busy_timeout(" + strconv.FormatInt(busyTimeout.Milliseconds(), 10) + ")"
}

// fileURI is the file: URI of the file at abs, escaped so that '?', '#' and
// '%' in a directory name cannot be read as URI syntax.
func fileURI(abs string) string {
	return "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(abs))
}

// checkLocation turns the usual reasons a database cannot be opened into
// messages an operator can act on, before SQLite reports "unable to open
// database file".
func checkLocation(abs string) error {
	dir := filepath.Dir(abs)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("eventstore/sqlite: open %s: data directory %s does not exist (create it first)", abs, dir)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("eventstore/sqlite: open %s: data directory %s is not accessible: %w", abs, dir, err)
	case err != nil:
		return fmt.Errorf("eventstore/sqlite: open %s: data directory %s: %w", abs, dir, err)
	case !fi.IsDir():
		return fmt.Errorf("eventstore/sqlite: open %s: %s is not a directory", abs, dir)
	}
	// SQLite creates the -wal and -shm files beside the database, so the
	// directory must be readable and writable even when the file exists.
	d, err := os.Open(dir)
	if err == nil {
		_, err = d.Readdirnames(1)
		d.Close()
		if errors.Is(err, io.EOF) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("eventstore/sqlite: open %s: data directory %s is not readable: %w", abs, dir, err)
	}
	probe, err := os.CreateTemp(dir, ".ispeks-write-probe-*")
	if err != nil {
		return fmt.Errorf("eventstore/sqlite: open %s: data directory %s is not writable: %w", abs, dir, err)
	}
	probe.Close()
	os.Remove(probe.Name())

	fi, err = os.Stat(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// The log holds IC numbers and salaries: the file is the portal
		// user's alone (SQLite gives the -wal and -shm files the
		// database file's mode). Left to SQLite it would follow the umask.
		f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("eventstore/sqlite: open %s: create: %w", abs, err)
		}
		if f != nil {
			f.Close()
		}
		return nil
	case err != nil:
		return fmt.Errorf("eventstore/sqlite: open %s: %w", abs, err)
	case fi.IsDir():
		return fmt.Errorf("eventstore/sqlite: open %s: it is a directory, not a file", abs)
	case fi.Size() == 0:
		return nil // an empty file is an empty database: it becomes a store
	}
	f, err := os.Open(abs)
	if err != nil {
		return fmt.Errorf("eventstore/sqlite: open %s: file is not readable: %w", abs, err)
	}
	defer f.Close()
	header := make([]byte, 16)
	if _, err := io.ReadFull(f, header); err != nil || !bytes.Equal(header, []byte("SQLite format 3\x00")) {
		return fmt.Errorf("%w: %s is not an SQLite database", eventlog.ErrNotEventStore, abs)
	}
	return nil
}

// prepareFile checks that the file is an event store of a schema this code
// understands, or makes an empty database one, then switches it to WAL. The
// check comes first so that another application's database is never
// converted to WAL or given tables.
func prepareFile(ctx context.Context, conn *sql.Conn, abs string) error {
	// Only takes effect while the file is still empty; harmless otherwise.
	if _, err := conn.ExecContext(ctx, "PRAGMA page_size = "+strconv.Itoa(pageSize)); err != nil {
		return openError(abs, err)
	}
	// IMMEDIATE: two processes opening a new file at once must not both
	// create the schema.
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return openError(abs, err)
	}
	rollback := func(err error) error {
		conn.ExecContext(context.Background(), "ROLLBACK")
		return err
	}
	tables, err := tableNames(ctx, conn)
	if err != nil {
		return rollback(openError(abs, err))
	}

	if len(tables) == 0 {
		for _, stmt := range schema {
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				return rollback(fmt.Errorf("eventstore/sqlite: create schema in %s: %w", abs, err))
			}
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO ispeks_meta(key, value) VALUES ('format', ?), ('schema_version', ?)",
			formatName, strconv.Itoa(schemaVersion)); err != nil {
			return rollback(fmt.Errorf("eventstore/sqlite: create schema in %s: %w", abs, err))
		}
	} else if err := checkFormat(ctx, conn, abs, tables); err != nil {
		return rollback(err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return rollback(openError(abs, err))
	}

	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return openError(abs, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("eventstore/sqlite: %s: could not switch to WAL journal mode (got %q)", abs, mode)
	}
	// The checkpointer goroutine copies the WAL into the file, off the
	// writer's path (see runCheckpointer).
	if _, err := conn.ExecContext(ctx, "PRAGMA wal_autocheckpoint = 0"); err != nil {
		return openError(abs, err)
	}
	return nil
}

// querier is a connection or a pool.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// tableNames lists the database's tables and views.
func tableNames(ctx context.Context, q querier) ([]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type IN ('table','view') ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		tables = append(tables, name)
	}
	return tables, rows.Err()
}

// checkFormat checks that the database at abs, which has tables, is an
// event store of a schema this code understands.
func checkFormat(ctx context.Context, q querier, abs string, tables []string) error {
	meta := map[string]string{}
	rows, err := q.QueryContext(ctx, "SELECT key, value FROM ispeks_meta")
	if err != nil {
		return fmt.Errorf("%w: %s is an SQLite database without the iSPEKS meta table (tables: %s)",
			eventlog.ErrNotEventStore, abs, strings.Join(tables, ", "))
	}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return fmt.Errorf("%w: %s: unreadable meta table: %v", eventlog.ErrNotEventStore, abs, err)
		}
		meta[k] = v
	}
	rows.Close()
	if meta["format"] != formatName {
		return fmt.Errorf("%w: %s has format %q, want %q", eventlog.ErrNotEventStore, abs, meta["format"], formatName)
	}
	v, err := strconv.Atoi(meta["schema_version"])
	if err != nil || v < 1 {
		return fmt.Errorf("%w: %s has schema version %q", eventlog.ErrNotEventStore, abs, meta["schema_version"])
	}
	if v > schemaVersion {
		return fmt.Errorf("eventstore/sqlite: %s has schema version %d, newer than this program understands (%d): upgrade the program", abs, v, schemaVersion)
	}
	return nil
}

// CreateSchema makes the file at abs an empty event store and closes it (for
// the benchmark's yardstick).
func CreateSchema(ctx context.Context, abs string) error {
	st, err := Open(ctx, abs, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	return st.Close()
}

// openError names the file and recognises SQLite's "not a database".
func openError(abs string, err error) error {
	var se *sqlitedrv.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_NOTADB {
		return fmt.Errorf("%w: %s: %v", eventlog.ErrNotEventStore, abs, err)
	}
	return fmt.Errorf("eventstore/sqlite: open %s: %w", abs, err)
}

func isConstraint(err error) bool {
	var se *sqlitedrv.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}
