package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// Subscribe delivers every event after position after, in log order: first
// the stored ones page by page, then new ones as they are committed. Commits
// of this store wake it at once; commits of other processes are noticed by a
// poll every Options.PollInterval that runs only while some subscription is
// waiting. It returns ctx.Err() when ctx ends, ErrClosed when the store is
// closed, or the error handle returned.
func (s *Store) Subscribe(ctx context.Context, after uint64, handle func(context.Context, eventlog.Record) error) error {
	return s.subscribe(ctx, after, s.readPage(ctx), handle, nil)
}

// readPage reads the next page of every event, for subscribe.
func (s *Store) readPage(ctx context.Context) func(pos uint64) ([]eventlog.Record, uint64, bool, error) {
	page := s.opts.SubscribePage
	return func(pos uint64) ([]eventlog.Record, uint64, bool, error) {
		// A live subscription takes this store's last commits from memory.
		if head := s.head.Load(); head > pos {
			if recs, ok, err := s.recent.read(pos, head, nil); ok || err != nil {
				return recs, head, false, err
			}
		}
		recs, err := s.ReadAll(ctx, pos, page)
		if len(recs) > 0 {
			pos = recs[len(recs)-1].Position
		}
		return recs, pos, len(recs) == page, err
	}
}

// SubscribeExcept is Subscribe for a consumer that has no use for events of
// the types in skip: SQLite passes over them without copying them out, and
// passed (if not nil) is told the position up to which the log was read
// whenever that is past the last event delivered, so the consumer's
// checkpoint can follow. A projector that handles one kind of event reads
// the others of a payroll run at a fraction of the cost.
func (s *Store) SubscribeExcept(ctx context.Context, after uint64, skip []string, handle func(context.Context, eventlog.Record) error, passed func(context.Context, uint64) error) error {
	if len(skip) == 0 {
		return s.subscribe(ctx, after, s.readPage(ctx), handle, passed)
	}
	b, err := json.Marshal(skip)
	if err != nil {
		return err
	}
	list := string(b) // text: SQLite reads a BLOB argument of json_each as JSONB
	skipSet := make(map[string]struct{}, len(skip))
	for _, t := range skip {
		skipSet[t] = struct{}{}
	}
	page := s.opts.SubscribePage
	return s.subscribe(ctx, after, func(pos uint64) ([]eventlog.Record, uint64, bool, error) {
		// Read up to the committed head known now: every position up to it
		// is committed (they are gap-free), so "nothing of interest up to
		// head" is a fact the checkpoint may rely on.
		head := s.head.Load()
		if head <= pos {
			return nil, pos, false, nil
		}
		if recs, ok, err := s.recent.read(pos, head, skipSet); ok || err != nil {
			return recs, head, false, err
		}
		var recs []eventlog.Record
		err := s.withReader(ctx, func(r *reader) error {
			rows, err := r.except.query(ctx, args(int64(pos), clampInt64(head), list, int64(page)))
			if err != nil {
				return err
			}
			recs, err = scanRecords(rows, r.dest, page, nil)
			return err
		})
		if err != nil {
			if !errors.Is(err, ErrClosed) {
				err = fmt.Errorf("eventstore/sqlite: read after %d: %w", pos, err)
			}
			return nil, pos, false, err
		}
		if len(recs) == page {
			return recs, recs[len(recs)-1].Position, true, nil
		}
		return recs, head, false, nil
	}, handle, passed)
}

// subscribe is the loop of Subscribe and SubscribeExcept. read returns the
// next events after pos, the position the log was read up to, and whether
// more are stored already.
func (s *Store) subscribe(ctx context.Context, after uint64, read func(pos uint64) ([]eventlog.Record, uint64, bool, error), handle func(context.Context, eventlog.Record) error, passed func(context.Context, uint64) error) error {
	if s.isClosed() {
		return ErrClosed
	}
	pos := after
	watching := false
	defer func() {
		if watching {
			s.watch.release()
		}
	}()
	for {
		// Taken before reading, so a commit between the read and the wait
		// is not missed.
		wake := s.commits.wait()
		recs, through, more, err := read(pos)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if s.isClosed() || errors.Is(err, ErrClosed) {
				return ErrClosed
			}
			return err
		}
		for _, rec := range recs {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := handle(ctx, rec); err != nil {
				return err
			}
			pos = rec.Position
		}
		if through > pos {
			if passed != nil {
				if err := passed(ctx, through); err != nil {
					return err
				}
			}
			pos = through
		}
		if more {
			continue // still catching up
		}
		if !watching {
			s.watch.acquire()
			watching = true
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return ErrClosed
		}
	}
}

type watcher struct {
	store *Store
	mu    sync.Mutex
	users int
	quit  chan struct{}
	wg    sync.WaitGroup
}

func (w *watcher) acquire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.users++
	if w.users == 1 {
		w.quit = make(chan struct{})
		w.wg.Add(1)
		go w.run(w.quit)
	}
}

func (w *watcher) release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.users--
	if w.users == 0 && w.quit != nil {
		close(w.quit)
		w.quit = nil
	}
}

func (w *watcher) stopAll() {
	w.mu.Lock()
	if w.quit != nil {
		close(w.quit)
		w.quit = nil
	}
	w.mu.Unlock()
	w.wg.Wait()
}

func (w *watcher) run(quit <-chan struct{}) {
	defer w.wg.Done()
	s := w.store
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	seen := s.commitCount.Load()
	for {
		select {
		case <-quit:
			return
		case <-s.done:
			return
		case <-t.C:
		}
		w.poll(context.Background(), &seen)
	}
}

// poll is one tick of the watcher. If this store committed since the last
// tick (seen counts its commits), it queries nothing: a commit reads the
// log's last position inside its write transaction, so the head it set
// covers every other process's commit before it, and one after it is
// caught by the next commit or the next tick without one. A portal busy
// with logins so skips a query a login. Otherwise it reads the last
// position and wakes the subscriptions if another process moved it.
func (w *watcher) poll(ctx context.Context, seen *uint64) (queried bool) {
	s := w.store
	if n := s.commitCount.Load(); n != *seen {
		*seen = n
		return false
	}
	last, err := s.LastPosition(ctx)
	if err != nil {
		if !s.isClosed() {
			s.log.Warn("event store: polling for other writers failed", "err", err)
		}
		return true
	}
	if s.raiseHead(last) {
		s.commits.broadcast()
	}
	return true
}
