package sqlite

import (
	"context"
	"errors"
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
		// still wakes us.
		wake := s.commits.wait()
		recs, err := s.ReadAll(ctx, pos, s.opts.SubscribePage)
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
		if len(recs) == s.opts.SubscribePage {
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

// watcher polls the log's last position while subscriptions wait, to notice
// commits made through other connections to the file (other processes).
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
	for {
		select {
		case <-quit:
			return
		case <-s.done:
			return
		case <-t.C:
		}
		last, err := s.LastPosition(context.Background())
		if err != nil {
			if !s.isClosed() {
				s.log.Warn("event store: polling for other writers failed", "err", err)
			}
			continue
		}
		if s.raiseHead(last) {
			s.commits.broadcast()
		}
	}
}
