// Package sqlite is the embedded event store: one SQLite file (normally
// data/events.db, whose directory the caller creates) in WAL mode with
// synchronous=FULL.
//
// Writes: one writer goroutine owns the only write connection. Concurrent
// Append calls queue for it; it takes everything pending (bounded by
// Options.MaxGroupEvents), checks and inserts each request inside one
// BEGIN IMMEDIATE transaction and commits once, so the appends share one
// fsync (group commit). A request that fails its own checks is undone alone;
// the others commit. Versions and positions are computed inside that
// transaction from the file itself, so another process writing the same
// file (a CLI import) cannot make them collide. Hashing and encoding happen
// on the callers' goroutines against a guessed stream head, which the
// writer checks; a background connection checkpoints the WAL so commits
// only append to it.
//
// Reads use a pool of read-only, memory-mapped connections beside the
// writer; a large ReadAll page is read as two halves on two connections.
// Subscriptions are woken by this store's commits at once and poll for
// other processes' commits every few milliseconds.
//
// Global positions are the table's INTEGER PRIMARY KEY: strictly increasing
// and gap-free, because they are assigned explicitly in commit order and
// rows are never deleted.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/melaka-gov/ispeks/infra/eventstore"
)

var (
	_ eventstore.Store               = (*Store)(nil)
	_ eventstore.ContiguousPositions = (*Store)(nil)
)

// ErrClosed is returned by calls on a closed store and by subscriptions that
// end because the store was closed.
var ErrClosed = errors.New("eventstore/sqlite: store is closed")

// Options tune a store. The zero value is the production setting.
type Options struct {
	// BusyTimeout is how long a write waits for another process holding the
	// file's write lock. Default 10s.
	BusyTimeout time.Duration
	// ReadConns is the size of the read connection pool. Default 4.
	ReadConns int
	// MaxGroupEvents bounds how many events one group commit takes before it
	// commits (a single append larger than this still commits whole).
	// Default 8192.
	MaxGroupEvents int
	// PollInterval is how often live subscriptions look for commits made by
	// other processes (commits by this store wake them at once). Default
	// 10ms: a projector process beside the portal sees its commits that
	// much later, and a portal that is alone does not spend a query every
	// 2 ms on it (visible in bench login's CPU per login). A tick in which
	// this store committed queries nothing: the commit learnt the head.
	PollInterval time.Duration
	// SubscribePage is how many events a subscription reads per query.
	// Default 1000.
	SubscribePage int
	// Logger receives operational messages (never event contents). Default
	// slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 10 * time.Second
	}
	if o.ReadConns <= 0 {
		o.ReadConns = 4
	}
	if o.MaxGroupEvents <= 0 {
		o.MaxGroupEvents = 8192
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 10 * time.Millisecond
	}
	if o.SubscribePage <= 0 {
		o.SubscribePage = 1000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Store is the SQLite event store. It is safe for concurrent use.
type Store struct {
	path string
	opts Options
	log  *slog.Logger

	wdb     *sql.DB   // the writer's and the checkpointer's connections
	w       *writer   // owned by the writer goroutine
	ckpt    *sql.Conn // owned by the checkpointer goroutine
	rdb     *sql.DB   // read-only connections, handed out through readers
	readers chan *reader
	// pdb and points: read-only connections without a memory map, for
	// the point reads (a stream, the last position; see pointDSN).
	pdb    *sql.DB
	points chan *reader

	// mu orders Append's hand-over to the writer against Close, so that
	// every request the writer can receive arrives before it stops.
	mu         sync.RWMutex
	closed     bool
	reqs       chan *appendReq
	stop       chan struct{} // closed by Close: writer drains and exits
	done       chan struct{} // closed by Close: reads and subscriptions end
	writerDone chan struct{}
	ckptKick   chan struct{} // a commit happened
	ckptDone   chan struct{}
	ckptUrgent atomic.Bool // the WAL is too long: the writer checkpoints
	closeOnce  sync.Once
	closeErr   error

	heads   headCache     // guesses at stream heads for encodeAppend
	commits notifier      // broadcast after every commit of this store
	head    atomic.Uint64 // last position this process knows to be committed
	// commitCount counts this store's commits: the watcher skips its
	// query for a tick in which one happened (see watcher.poll).
	commitCount atomic.Uint64
	recent      recent  // this store's last commits, for live subscriptions
	watch       watcher // notices commits of other processes
}

// Path is the database file the store uses.
func (s *Store) Path() string { return s.path }

// ContiguousPositions reports that positions have no gaps (see the package
// comment), so `audit verify` shows a removed event by its missing position.
func (s *Store) ContiguousPositions() bool { return true }

// Ping checks that the file can be read and the writer is running.
func (s *Store) Ping(ctx context.Context) error {
	if s.isClosed() {
		return ErrClosed
	}
	select {
	case <-s.writerDone:
		return errors.New("eventstore/sqlite: writer has stopped")
	default:
	}
	if _, err := s.LastPosition(ctx); err != nil {
		return err
	}
	return nil
}

// Close stops accepting appends, commits the ones already queued, ends the
// subscriptions and closes the file. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.stop)
		close(s.done)
		s.mu.Unlock()
		<-s.writerDone
		<-s.ckptDone
		s.watch.stopAll()
		if err := s.closeConns(true); err != nil {
			s.closeErr = fmt.Errorf("eventstore/sqlite: close %s: %w", s.path, err)
		}
	})
	return s.closeErr
}

// closeConns closes every connection. With wait it first takes back every
// reader, waiting for reads in progress; a failed Open passes false (the
// pool may not be full).
func (s *Store) closeConns(wait bool) error {
	var errs []error
	if s.w != nil {
		errs = append(errs, s.w.close())
	}
	if s.ckpt != nil {
		errs = append(errs, s.ckpt.Close())
	}
	for _, pool := range []chan *reader{s.readers, s.points} {
		if wait {
			for i := 0; i < cap(pool); i++ {
				errs = append(errs, (<-pool).close())
			}
		} else {
			for len(pool) > 0 {
				errs = append(errs, (<-pool).close())
			}
		}
	}
	errs = append(errs, s.wdb.Close(), s.rdb.Close(), s.pdb.Close())
	return errors.Join(errs...)
}

func (s *Store) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// notifier is a broadcast: wait returns a channel that is closed by the next
// broadcast. Taking the channel before looking for new events means no
// broadcast can be missed in between.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

func (n *notifier) broadcast() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
}

// raiseHead records that the log reaches at least last and reports whether
// that is news.
func (s *Store) raiseHead(last uint64) bool {
	for {
		known := s.head.Load()
		if last <= known {
			return false
		}
		if s.head.CompareAndSwap(known, last) {
			return true
		}
	}
}
