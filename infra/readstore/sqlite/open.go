// Package sqlite is the SQLite read-store adapter (projections.ReadStore).
//
// Layout: one table per collection, "c_<name>" (id TEXT PRIMARY KEY, version,
// body BLOB, then one column "f_<field>" per indexed field, each indexed
// together with id so that equality, sort and keyset pagination walk an
// index). A compound index also carries the rest of the document (covering):
// it serves the per-owner lists, whose page is then one run of index
// entries; Ensure migrates a store written with the narrow form. A rebuild writes into "s_<name>" and SwapRebuild drops the live
// table and renames the shadow in one transaction, dropping too the live
// tables of the same projector that it no longer declares. _collections
// records the declared indexes (so a second process knows them without
// Ensure) and the projector whose rebuild created a shadow or swapped in a
// live table (empty for a table created by Ensure), and _checkpoints the
// projectors' positions, live and shadow.
//
// The file runs in WAL mode with synchronous=NORMAL: read models are
// rebuildable from the log, so a power cut may lose the last commits but
// never corrupts, and the projector replays what was lost from its
// checkpoint, which commits with the batch. One writer connection serialises
// batches; a small pool of read-only connections serves queries.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/melaka-gov/ispeks/infra/readstore/internal/rskit"
	"github.com/melaka-gov/ispeks/projections"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store is a read store over one SQLite file. The value returned by Open
// reads and writes the live collections; BeginRebuild returns a Store over
// the shadows.
type Store struct {
	c         *core
	shadow    bool
	projector string          // shadow only: whose rebuild
	names     map[string]bool // shadow only: the rebuild's collections
}

var _ projections.ReadStore = (*Store)(nil)

type core struct {
	path string
	w    *sql.DB   // one connection: SQLite has one writer anyway
	turn writeTurn // who uses w next: first come, first served
	r    *sql.DB   // read-only pool
	log  *slog.Logger

	mu   sync.RWMutex
	live map[string]rskit.Spec
	shad map[string]shadowSpec

	// Reader statements are prepared once and reused. A writer statement
	// is prepared inside the first batch that needs it (the writer's one
	// connection is busy with the transaction, so it cannot prepare
	// outside), then once more on the connection after that batch, so that
	// later batches reuse it (a live projector commits every event or few,
	// and preparing each time was a visible part of a login's CPU).
	rstmts stmtCache
	wstmts stmtCache

	rawp *rawPool // the page reads' connections (rawread.go)

	closed atomic.Bool
	// reads counts the reads in progress (Get, Find, Ping, Checkpoint):
	// Close waits for them before it closes the readers they use.
	reads *rskit.Gate
	// midRead, if set (tests), runs in a page read once its first row is
	// read, with the read's statement open on its connection.
	midRead func()
}

type shadowSpec struct {
	rskit.Spec
	projector string
}

// Options tune a Store; the zero value takes the defaults.
type Options struct {
	// Logger receives operational messages (rebuilds begun and swapped in,
	// collections dropped by a swap). Default slog.Default().
	Logger *slog.Logger
}

// Open opens (creating if missing) the read store at path, normally
// data/views.db, and its parent directory.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("readstore/sqlite: path %q: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("readstore/sqlite: create directory for %s: %w", abs, err)
	}
	// The read models hold names, IC numbers and salaries: a new file is
	// the portal user's alone (SQLite gives the -wal and -shm files the
	// database file's mode); left to SQLite it would follow the umask.
	if f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("readstore/sqlite: create %s: %w", abs, err)
	}
	c := &core{path: abs, log: opts.Logger.With("component", "readstore/sqlite"), rawp: newRawPool(abs, readerMmapBytes), reads: rskit.NewGate()}

	c.w, err = sql.Open("sqlite", dsn(abs, false))
	if err != nil {
		return nil, fmt.Errorf("readstore/sqlite: open %s: %w", abs, err)
	}
	c.w.SetMaxOpenConns(1)
	c.w.SetMaxIdleConns(1)
	c.w.SetConnMaxLifetime(0)
	c.w.SetConnMaxIdleTime(0)
	if _, err := c.w.ExecContext(ctx, "PRAGMA journal_mode=WAL"); err != nil {
		c.w.Close()
		return nil, fmt.Errorf("readstore/sqlite: open %s: set WAL mode: %w", abs, err)
	}
	if _, err := c.w.ExecContext(ctx, schema); err != nil {
		c.w.Close()
		return nil, fmt.Errorf("readstore/sqlite: open %s: create schema: %w", abs, err)
	}

	c.r, err = sql.Open("sqlite", dsn(abs, true))
	if err != nil {
		c.w.Close()
		return nil, fmt.Errorf("readstore/sqlite: open %s: %w", abs, err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	c.r.SetMaxOpenConns(n)
	c.r.SetMaxIdleConns(n)
	c.r.SetConnMaxLifetime(0)
	c.r.SetConnMaxIdleTime(0)

	if err := c.reload(ctx); err != nil {
		c.close()
		return nil, err
	}
	return &Store{c: c}, nil
}

const schema = `
CREATE TABLE IF NOT EXISTS _collections (
	name      TEXT    NOT NULL,
	shadow    INTEGER NOT NULL,
	indexes   TEXT    NOT NULL,
	projector TEXT    NOT NULL DEFAULT '',
	PRIMARY KEY (name, shadow)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS _checkpoints (
	projector TEXT    NOT NULL,
	shadow    INTEGER NOT NULL,
	position  INTEGER NOT NULL,
	PRIMARY KEY (projector, shadow)
) WITHOUT ROWID;`

// pageSize is the page size of a new read store (see dsn).
const pageSize = 8192

// dsn builds the connection string; the path is escaped so '?', '#' and '%'
// in a directory name are not read as URI syntax.
func dsn(abs string, readOnly bool) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(abs))
	q := []string{"_pragma=busy_timeout(10000)", "_pragma=temp_store(MEMORY)"}
	if readOnly {
		// A reader's cache is SQLite's default 2 MiB. Any commit (a
		// projector's, a lease renewal) makes every reader drop its whole
		// cache at its next read, and the driver's allocator gives each
		// freed page back with its own madvise call, faulting it in anew
		// when reused: with 32 MiB caches the drops cost ~20 ms a reader,
		// and on `bench queries` (a 1.6 GB store, 30,000 people) the
		// statement page took 203–248 µs of CPU a request against 141–162
		// µs with 2–8 MiB, PDFs 1.2 ms against 0.85–0.96, the constant
		// route itself ~10 % more (the projectors' once-a-second look at
		// their generation paid a drop each time). The file's pages stay
		// in the kernel's cache; a page read again is one pread.
		q = append(q, "_pragma=cache_size(-2048)", "_pragma=query_only(1)")
	} else {
		// The writer's cache is 128 MiB, the readers' 2: a projector
		// writes all over the per-payee list index, which outgrows 32 MiB
		// with a few hundred thousand slips, and a commit then reads pages
		// back and spills dirty ones to the WAL early. Projecting 600,000
		// slips: ~9 % less CPU per slip (256 MiB did no better).
		q = append(q, "_pragma=cache_size(-131072)")
		// Read models are rebuildable: NORMAL is durable enough and much
		// faster in WAL mode. IMMEDIATE: a batch takes the write lock up
		// front instead of failing to upgrade a read lock later.
		// wal_autocheckpoint 16384 pages (128 MiB; 64 MiB in a store with
		// 4 KiB pages) instead of 1,000: a projector catching up rewrites
		// the same B-tree pages commit after commit, and a checkpoint
		// copies each page once however often it changed (projecting
		// slips: ~8 % less CPU, ~18 % less time).
		// page_size(8192) acts only on a new, empty file (a store created
		// with another size keeps it and works as before; deleting views.db
		// rebuilds it from the log with the new size). Projecting slips as
		// payroll runs come (a month for every payee, so the per-payee list
		// index is written all over) took ~16 % less CPU than with 4 KiB
		// pages: fewer WAL frames (two syscalls each), fewer pages to
		// balance and checkpoint. Reads by ID and per-owner pages measured
		// the same; 16 KiB pages wrote faster still but read 30 % slower.
		q = append([]string{"_pragma=page_size(" + strconv.Itoa(pageSize) + ")"}, q...)
		q = append(q, "_pragma=synchronous(NORMAL)", "_pragma=wal_autocheckpoint(16384)", "_txlock=immediate")
	}
	return "file:" + esc + "?" + strings.Join(q, "&")
}

// Ping checks the file answers a query.
func (s *Store) Ping(ctx context.Context) error {
	if !s.c.reads.Enter() {
		return errClosed
	}
	defer s.c.reads.Leave()
	var one int
	if err := s.c.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("readstore/sqlite: ping %s: %w", s.c.path, err)
	}
	return nil
}

// Close closes the file once the write running, if any, has committed and
// the reads in progress have finished; writes still waiting for the writer,
// and later writes and reads, fail with an error saying the store is
// closed. It must not be called from inside a Write's fn. A shadow store's
// Close does nothing: the shadow shares the live store's connections.
func (s *Store) Close() error {
	if s.shadow {
		return nil
	}
	if s.c.closed.Swap(true) {
		return nil
	}
	s.c.turn.close()
	s.c.reads.Close()
	return s.c.close()
}

func (c *core) close() error {
	c.rawp.drain()
	c.rstmts.closeAll()
	c.wstmts.closeAll()
	var errs []string
	if c.r != nil {
		if err := c.r.Close(); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if err := c.w.Close(); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return fmt.Errorf("readstore/sqlite: close %s: %s", c.path, strings.Join(errs, "; "))
	}
	return nil
}

var errClosed = fmt.Errorf("readstore/sqlite: store is closed")

// stmtCache keeps prepared statements by SQL text. Query shapes are bounded
// by the declared fields, but the cache is capped anyway; past the cap a
// statement is prepared for one use.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

const maxCachedStmts = 1024

// get returns a prepared statement and whether the caller must close it.
func (sc *stmtCache) get(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, bool, error) {
	sc.mu.Lock()
	st, ok := sc.m[query]
	sc.mu.Unlock()
	if ok {
		return st, false, nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, false, err
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if prev, ok := sc.m[query]; ok {
		st.Close()
		return prev, false, nil
	}
	if len(sc.m) >= maxCachedStmts {
		return st, true, nil
	}
	if sc.m == nil {
		sc.m = map[string]*sql.Stmt{}
	}
	sc.m[query] = st
	return st, false, nil
}

// lookup returns the cached statement for query, or nil.
func (sc *stmtCache) lookup(query string) *sql.Stmt {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.m[query]
}

func (sc *stmtCache) closeAll() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for _, st := range sc.m {
		st.Close()
	}
	sc.m = nil
}
