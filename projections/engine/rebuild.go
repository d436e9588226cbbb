package engine

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/schollz/progressbar/v3"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// RebuildResult tells what a rebuild did.
type RebuildResult struct {
	Projector   string
	Events      uint64 // events read from the log
	Checkpoint  uint64 // position the swapped-in collections reflect
	DeadLetters int    // events dead-lettered during the rebuild
	Pruned      int    // old dead letters removed because their events now projected fine
	Duration    time.Duration
}

// Rebuild replays the whole log into shadow collections of one projector
// while the live collections keep serving, catches up to the log head and
// swaps the shadows in. A live projector (in this process or another) notices
// the swap at its next commit, or within Config.SwapCheckInterval when it has
// nothing to commit, and continues from the rebuilt checkpoint (projecting
// again what it had committed into the replaced collections after it). Only
// the projector runs: no consumer sees the replay, so no side effect repeats.
// progress, if not nil, gets a progress bar.
//
// A rebuild drops any earlier shadow of the projector's collections, so two
// at once, in two processes (two consoles, or a console beside a portal
// rebuilding for a new layout), would have the later one drop the shadow
// the earlier one is filling, and the earlier one's swap would put a model
// missing part of the log in place for good. So Rebuild takes the same
// claim a layout rebuild takes, and refuses while another process holds it.
func (e *Engine) Rebuild(ctx context.Context, name string, progress io.Writer) (RebuildResult, error) {
	live, ok := e.runners[name]
	if !ok {
		return RebuildResult{}, fmt.Errorf("%w: %q", ErrUnknownProjector, name)
	}
	if err := e.ensure(ctx); err != nil {
		return RebuildResult{}, err
	}
	owner := uuid.NewString()
	won, err := e.claimRebuild(ctx, name, layoutOf(live.p), owner, progress)
	if err != nil {
		return RebuildResult{}, err
	}
	if !won {
		// A process killed mid-rebuild (OOM, kill -9) cannot give its claim
		// up: say when it lapses, or the operator waits for a swap that
		// never comes.
		lapses := ""
		if c, _, held, err := readClaim(ctx, e.cfg.Store.Get, name); err == nil && held && !c.At.IsZero() {
			lapses = fmt.Sprintf("; it was claimed at %s, and if that process was killed the claim lapses at %s",
				c.At.UTC().Format("2006-01-02 15:04:05 UTC"), c.At.Add(e.cfg.RebuildClaim).UTC().Format("2006-01-02 15:04:05 UTC"))
		}
		return RebuildResult{}, fmt.Errorf("%w: %s, by another process (a console or a portal starting with a new layout): run it again once that one has swapped in%s", ErrRebuilding, name, lapses)
	}
	stopRenewing := e.renewRelayout(ctx, name, owner)
	res, err := e.rebuild(ctx, name, progress)
	stopRenewing()
	if err != nil {
		// The swap drops the claim with the collection it is in; a rebuild
		// that failed gives it up, so a retry need not wait for it to age.
		e.releaseRelayout(context.WithoutCancel(ctx), name, owner)
	}
	return res, err
}

// claimRebuild is claimRelayout for Rebuild, which waits out a starting
// process's Cleanup claim instead of refusing: that claim is held for the
// moment it takes to drop a cut-short rebuild's shadows, and a console's
// rebuild begun beside a portal's start would otherwise be turned away as if
// another rebuild ran. A Cleanup claim of a process killed while holding it
// lapses within a term like any other; progress, if not nil, is told once
// what the rebuild waits for.
func (e *Engine) claimRebuild(ctx context.Context, name string, want int, owner string, progress io.Writer) (bool, error) {
	for told := false; ; {
		won, err := e.claimRelayout(ctx, name, want, owner)
		if err != nil || won {
			return won, err
		}
		c, _, held, err := readClaim(ctx, e.cfg.Store.Get, name)
		if err != nil {
			return false, err
		}
		if !held || !c.Cleanup {
			return false, nil
		}
		if !told && progress != nil {
			fmt.Fprintf(progress, "rebuild %s: waiting for a starting process to drop what an interrupted rebuild left (if that process was killed, its claim lapses at %s)\n",
				name, c.At.Add(e.cfg.RebuildClaim).UTC().Format("2006-01-02 15:04:05 UTC"))
			told = true
		}
		if !sleep(ctx, cleanupPoll) {
			return false, ctx.Err()
		}
	}
}

// rebuild is Rebuild for a caller that holds the projector's claim.
func (e *Engine) rebuild(ctx context.Context, name string, progress io.Writer) (RebuildResult, error) {
	live := e.runners[name]
	e.cmu.Lock()
	if e.rebuilding[name] {
		e.cmu.Unlock()
		return RebuildResult{}, fmt.Errorf("%w: %s", ErrRebuilding, name)
	}
	e.rebuilding[name] = true
	e.cmu.Unlock()
	defer func() {
		e.cmu.Lock()
		delete(e.rebuilding, name)
		e.cmu.Unlock()
	}()
	if e.cfg.RebuildGCPercent > 0 {
		defer debug.SetGCPercent(debug.SetGCPercent(e.cfg.RebuildGCPercent))
	}
	start := time.Now()
	if err := e.ensure(ctx); err != nil {
		return RebuildResult{}, err
	}
	specs := append(live.p.Collections(), genSpec(name))
	shadow, err := e.cfg.Store.BeginRebuild(ctx, name, specs...)
	if err != nil {
		return RebuildResult{}, fmt.Errorf("engine: begin rebuild of %s: %w", name, err)
	}
	r := newRunner(e, live.p, shadow, true)
	r.newGen = uuid.NewString()
	mws, err := r.middlewares()
	if err != nil {
		return RebuildResult{}, err
	}
	h := compose(func(msg *message.Message) ([]*message.Message, error) { return nil, r.project(msg) }, mws)

	head, err := e.cfg.Log.LastPosition(ctx)
	if err != nil {
		return RebuildResult{}, fmt.Errorf("engine: read log head: %w", err)
	}
	bar := newBar(progress, name, head)

	events, err := e.replay(ctx, r, 0, h, nil, func(last uint64) {
		if bar != nil {
			if int64(last) > bar.GetMax64() {
				bar.ChangeMax64(int64(last))
			}
			_ = bar.Set64(int64(last))
		}
	})
	if err != nil {
		return RebuildResult{}, fmt.Errorf("engine: rebuild %s: %w", name, err)
	}
	r.mu.Lock()
	err = r.commitLocked(ctx)
	checkpoint := r.pos
	r.mu.Unlock()
	if err != nil {
		return RebuildResult{}, err
	}
	if err := e.cfg.Store.SwapRebuild(ctx, name, specs...); err != nil {
		return RebuildResult{}, fmt.Errorf("engine: swap rebuilt collections of %s: %w", name, err)
	}
	// The live runner follows the swap at its next commit or look
	// (swappedLocked); answers kept from the old collections go now.
	e.collectionsChanged(live)
	if bar != nil {
		_ = bar.Finish()
		_, _ = fmt.Fprintln(progress)
	}
	pruned, err := e.pruneDeadLetters(ctx, name, checkpoint, r.deadLetters)
	if err != nil {
		return RebuildResult{}, err
	}
	res := RebuildResult{
		Projector: name, Events: events, Checkpoint: checkpoint,
		DeadLetters: len(r.deadLetters), Pruned: pruned, Duration: time.Since(start),
	}
	e.log.Info("projector rebuilt", "projector", name, "events", events, "checkpoint", checkpoint,
		"dead_letters", res.DeadLetters, "took", res.Duration)
	return res, nil
}

// page is a slice of the log made ready for a runner off its goroutine: the
// records, decoded, wrapped in messages.
type page struct {
	last    uint64 // position of the last record
	decoded []decoded
	msgs    []*message.Message
}

// replay feeds the log after position after through h, page by page, until a
// read comes back empty (caught up with the head) or stop reports true. It
// is how a rebuild, and a live projector with a long backlog, project without
// a subscription's one-at-a-time hand-over. progress gets the position of
// each page's last event.
func (e *Engine) replay(ctx context.Context, r *runner, after uint64, h message.HandlerFunc, stop func() bool, progress func(uint64)) (uint64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages, readErr := e.readAhead(ctx, after, r.decode)
	var events uint64
	for page := range pages {
		for i, msg := range page.msgs {
			// A read store that fails a read is waited for, as a failing
			// commit is: the event is not the trouble (see isStoreError).
			wait := e.cfg.RetryInitial
			for {
				_, err := h(msg)
				if err == nil {
					break
				}
				if !isStoreError(err) || ctx.Err() != nil {
					return events, fmt.Errorf("at position %d: %w", page.decoded[i].env.Position, err)
				}
				r.log.Error("read store read failed while projecting; retrying", "wait", wait, "err", err)
				if !sleep(ctx, wait) {
					return events, ctx.Err()
				}
				wait = min(2*wait, e.cfg.RetryMax)
			}
			events++
			if stop != nil && stop() {
				return events, nil
			}
		}
		if progress != nil {
			progress(page.last)
		}
	}
	if err := <-readErr; err != nil {
		return events, fmt.Errorf("read log: %w", err)
	}
	return events, nil
}

// cachedReader is a log that answers a read close behind its own last
// commits from memory (the SQLite store): a projector catching up during a
// payroll run reads what was just appended without reading the file back.
type cachedReader interface {
	ReadAllCached(ctx context.Context, after uint64, limit int) ([]eventlog.Record, error)
}

// readAhead reads, decodes and wraps the log in pages on its own goroutine,
// so that this work overlaps with projecting, until a read comes back empty
// (caught up with the head).
func (e *Engine) readAhead(ctx context.Context, after uint64, decode func(eventlog.Record) decoded) (<-chan page, <-chan error) {
	pages := make(chan page, 4)
	errc := make(chan error, 1)
	read := e.cfg.Log.ReadAll
	if c, ok := e.cfg.Log.(cachedReader); ok {
		read = c.ReadAllCached
	}
	go func() {
		defer close(pages)
		for {
			recs, err := read(ctx, after, e.cfg.RebuildPage)
			if err != nil {
				errc <- err
				return
			}
			if len(recs) == 0 {
				errc <- nil
				return
			}
			after = recs[len(recs)-1].Position
			p := page{last: after, decoded: make([]decoded, len(recs)), msgs: make([]*message.Message, len(recs))}
			for i, rec := range recs {
				p.decoded[i] = decode(rec)
				// A bare message: the chain needs the record and the
				// decoded event from its context, not the metadata the
				// subscriber sets for other consumers.
				msg := message.NewMessage(rec.ID.String(), message.Payload(rec.Data))
				msg.SetContext(context.WithValue(ctx, decodedKey{}, &p.decoded[i]))
				p.msgs[i] = msg
			}
			select {
			case pages <- p:
			case <-ctx.Done():
				errc <- ctx.Err()
				return
			}
		}
	}()
	return pages, errc
}

func newBar(w io.Writer, name string, head uint64) *progressbar.ProgressBar {
	if w == nil {
		return nil
	}
	return progressbar.NewOptions64(int64(max(head, 1)),
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("rebuild "+name),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("events"),
		progressbar.OptionShowIts(),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(30),
	)
}
