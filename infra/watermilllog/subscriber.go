// Package watermilllog is a Watermill message.Subscriber over the event log
// (the event-store port, so it works with every event-store adapter), plus a
// small Publisher that appends Watermill messages to the log.
//
// The topic of a subscription is the consumer's name: every topic sees the
// whole log, in log order, starting after the consumer's stored checkpoint.
// Delivery is one message at a time: the next event is sent only after the
// previous one was acked; a nack sends the same event again after a backoff
// that grows with every consecutive nack. Delivery is at least once: after a
// restart the consumer resumes from its stored checkpoint, so events it had
// acked but not yet checkpointed come again.
package watermilllog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// Log is the slice of the event-store port the subscriber reads. Both
// eventstore.Store and projections.EventLog satisfy it.
type Log interface {
	Subscribe(ctx context.Context, after uint64, handle func(context.Context, eventlog.Record) error) error
}

// ExceptLog is a Log that can pass over event types itself, as the SQLite
// event store does inside SQLite: a consumer of a few types then does not
// read the others out of the store at all. passed is told how far the log
// was read whenever that is past the last event delivered.
type ExceptLog interface {
	SubscribeExcept(ctx context.Context, after uint64, skip []string, handle func(context.Context, eventlog.Record) error, passed func(context.Context, uint64) error) error
}

// Checkpoints tells where a consumer resumes: the position of the last event
// it has durably processed (0: from the start of the log).
type Checkpoints interface {
	Checkpoint(ctx context.Context, consumer string) (uint64, error)
}

// CheckpointSaver stores a consumer's position. When the subscriber is given
// one, it stores the position of every acked event (side-effect consumers).
// The save runs beside delivery: the next event does not wait for it, and
// while one save is running, later acks coalesce into the next one; the last
// acked position is saved when the subscription ends. Projectors leave it
// out: they store their checkpoint in the same transaction as the batch it
// belongs to.
type CheckpointSaver interface {
	SaveCheckpoint(ctx context.Context, consumer string, position uint64) error
}

// Errors of the subscriber.
var (
	ErrClosed            = errors.New("watermilllog: subscriber closed")
	ErrAlreadySubscribed = errors.New("watermilllog: consumer already has a subscription")
	ErrEmptyTopic        = errors.New("watermilllog: topic (consumer name) is empty")
)

// SubscriberConfig configures a Subscriber. Log is required.
type SubscriberConfig struct {
	Log Log

	// Checkpoints gives the resume position of each consumer. Nil: every
	// subscription starts at the beginning of the log.
	Checkpoints Checkpoints

	// Commit, when set, stores the position of every acked event, and of
	// records passed over (by Filter or Skip) within passedSaveEvery:
	// a consumer that wants a few types has read past the rest, and its
	// checkpoint (what `ispeks projections status` shows) says so.
	Commit CheckpointSaver

	// Filter, when set, decides which records a topic receives; the others
	// are passed over (they still count as consumed).
	Filter func(topic string, rec eventlog.Record) bool

	// Skip, when set, names event types a topic has no use for. They are
	// passed over like records Filter refuses, by the log itself when it is
	// an ExceptLog.
	Skip func(topic string) []string

	// Passed, when set, is told of records passed over (by Filter or Skip),
	// in log order between the deliveries around them, so a consumer that
	// keeps its own checkpoint can move it on without a message per record.
	// For a run of passed records it may be told only the last position.
	// An error ends the subscription as a failed delivery would.
	Passed func(ctx context.Context, topic string, position uint64) error

	// NackBackoff is the wait before the first redelivery of a nacked event;
	// it doubles with every further nack of the same event up to
	// MaxNackBackoff. Defaults 100 ms and 10 s.
	NackBackoff    time.Duration
	MaxNackBackoff time.Duration

	// ReconnectBackoff is the first wait before a dropped subscription is
	// opened again (doubling up to MaxReconnectBackoff). Defaults 100 ms, 5 s.
	ReconnectBackoff    time.Duration
	MaxReconnectBackoff time.Duration

	// AckGrace is how long a subscription that is ending waits for the
	// in-flight message's ack (default 2 s).
	AckGrace time.Duration

	Logger *slog.Logger
}

// Subscriber is a Watermill subscriber over the event log.
type Subscriber struct {
	cfg SubscriberConfig

	mu     sync.Mutex
	closed bool
	active map[string]*subscription
	wg     sync.WaitGroup
}

type subscription struct {
	topic   string
	cancel  context.CancelFunc
	restart atomic.Bool
	// stopRead ends the current read of the log (guarded by
	// Subscriber.mu), so that Restart takes effect while the subscription
	// waits for new events, not only when the next one arrives.
	stopRead context.CancelFunc
}

var _ message.Subscriber = (*Subscriber)(nil)

// NewSubscriber checks the configuration and returns a subscriber.
func NewSubscriber(cfg SubscriberConfig) (*Subscriber, error) {
	if cfg.Log == nil {
		return nil, errors.New("watermilllog: SubscriberConfig.Log is required")
	}
	if cfg.NackBackoff <= 0 {
		cfg.NackBackoff = 100 * time.Millisecond
	}
	if cfg.MaxNackBackoff < cfg.NackBackoff {
		cfg.MaxNackBackoff = max(10*time.Second, cfg.NackBackoff)
	}
	if cfg.ReconnectBackoff <= 0 {
		cfg.ReconnectBackoff = 100 * time.Millisecond
	}
	if cfg.MaxReconnectBackoff < cfg.ReconnectBackoff {
		cfg.MaxReconnectBackoff = max(5*time.Second, cfg.ReconnectBackoff)
	}
	if cfg.AckGrace <= 0 {
		cfg.AckGrace = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Subscriber{cfg: cfg, active: map[string]*subscription{}}, nil
}

// Subscribe starts delivering the log to consumer topic. There is at most one
// subscription per consumer name on a Subscriber at a time. The channel is
// closed when ctx ends or the subscriber is closed.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	if topic == "" {
		return nil, ErrEmptyTopic
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if _, dup := s.active[topic]; dup {
		return nil, fmt.Errorf("%w: %q", ErrAlreadySubscribed, topic)
	}
	ctx, cancel := context.WithCancel(ctx)
	sub := &subscription{topic: topic, cancel: cancel}
	s.active[topic] = sub
	out := make(chan *message.Message)
	s.wg.Add(1)
	go s.run(ctx, sub, out)
	return out, nil
}

// Restart makes the subscription of topic drop its place and resume from the
// consumer's stored checkpoint at once: a message in flight is still waited
// for (its ack), but a subscription waiting for new events does not wait for
// one. The projector engine uses it when its collections were swapped under
// it by a rebuild. It reports whether topic had a subscription.
func (s *Subscriber) Restart(topic string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.active[topic]
	if ok {
		sub.restart.Store(true)
		if sub.stopRead != nil {
			sub.stopRead()
		}
	}
	return ok
}

// Close ends every subscription and waits until their channels are closed.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for _, sub := range s.active {
		sub.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

var errRestart = errors.New("watermilllog: restart from checkpoint")

func (s *Subscriber) run(ctx context.Context, sub *subscription, out chan<- *message.Message) {
	defer s.wg.Done()
	defer func() {
		sub.cancel()
		s.mu.Lock()
		delete(s.active, sub.topic)
		s.mu.Unlock()
		close(out)
	}()
	log := s.cfg.Logger.With("consumer", sub.topic)
	var saved *saver
	if s.cfg.Commit != nil {
		saved = newSaver(s.cfg.Commit, sub.topic, log)
		defer saved.stop(ctx)
	}

	var skip []string
	if s.cfg.Skip != nil {
		skip = s.cfg.Skip(sub.topic)
	}
	skipped := make(map[string]bool, len(skip))
	for _, t := range skip {
		skipped[t] = true
	}
	exceptLog, byLog := s.cfg.Log.(ExceptLog)
	byLog = byLog && len(skip) > 0

	var (
		delivered  uint64 // position of the last event acked (or filtered out) in this run
		fromStored = true // resume exactly at the stored checkpoint
		wait       = s.cfg.ReconnectBackoff
	)
	for ctx.Err() == nil {
		// The log is read under rctx, which Restart ends; deliveries and
		// acks go on under ctx, so a restart never cuts a handler short
		// (the next event is only sent after its ack, so one in flight
		// is always waited for).
		rctx, stopRead := context.WithCancel(ctx)
		s.mu.Lock()
		sub.stopRead = stopRead
		s.mu.Unlock()
		// A Restart before stopRead was stored left only the flag.
		if sub.restart.Swap(false) {
			fromStored = true
		}
		from, err := s.resumeAt(ctx, sub.topic, delivered, fromStored)
		if err == nil {
			fromStored = false
			delivered = from
			handle := func(_ context.Context, rec eventlog.Record) error {
				if sub.restart.Swap(false) {
					return errRestart
				}
				if !skipped[rec.Type] && (s.cfg.Filter == nil || s.cfg.Filter(sub.topic, rec)) {
					if err := s.deliver(ctx, rec, out); err != nil {
						return err
					}
					if saved != nil {
						saved.ack(rec.Position)
					}
				} else {
					if saved != nil {
						saved.pass(rec.Position)
					}
					if s.cfg.Passed != nil {
						if err := s.cfg.Passed(ctx, sub.topic, rec.Position); err != nil {
							return err
						}
					}
				}
				delivered = rec.Position
				wait = s.cfg.ReconnectBackoff
				return nil
			}
			if byLog {
				err = exceptLog.SubscribeExcept(rctx, from, skip, handle, func(_ context.Context, pos uint64) error {
					if sub.restart.Swap(false) {
						return errRestart
					}
					if saved != nil {
						saved.pass(pos)
					}
					if s.cfg.Passed != nil {
						if err := s.cfg.Passed(ctx, sub.topic, pos); err != nil {
							return err
						}
					}
					delivered = pos
					return nil
				})
			} else {
				err = s.cfg.Log.Subscribe(rctx, from, handle)
			}
		}
		stopRead()
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errRestart) || sub.restart.Swap(false) {
			log.Info("resuming from stored checkpoint")
			fromStored = true
			continue
		}
		log.Warn("event log subscription dropped; reconnecting", "after", delivered, "wait", wait, "err", err)
		if !sleep(ctx, wait) {
			return
		}
		wait = min(2*wait, s.cfg.MaxReconnectBackoff)
	}
}

// resumeAt is where a (re)subscription starts: the stored checkpoint on the
// first start and after Restart, otherwise the later of the stored checkpoint
// and what this run already delivered.
func (s *Subscriber) resumeAt(ctx context.Context, topic string, delivered uint64, fromStored bool) (uint64, error) {
	if s.cfg.Checkpoints == nil {
		if fromStored {
			return 0, nil
		}
		return delivered, nil
	}
	cp, err := s.cfg.Checkpoints.Checkpoint(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("watermilllog: read checkpoint of %q: %w", topic, err)
	}
	if fromStored {
		return cp, nil
	}
	return max(cp, delivered), nil
}

// deliver sends rec and waits for its ack; on a nack it sends a fresh copy
// after a growing backoff. It returns only after an ack or when ctx ends.
func (s *Subscriber) deliver(ctx context.Context, rec eventlog.Record, out chan<- *message.Message) error {
	wait := s.cfg.NackBackoff
	for {
		mctx, mcancel := context.WithCancel(ctx)
		msg := NewMessage(mctx, rec)
		select {
		case out <- msg:
		case <-ctx.Done():
			mcancel()
			return ctx.Err()
		}
		select {
		case <-msg.Acked():
			mcancel()
			return nil
		case <-msg.Nacked():
			mcancel()
			if !sleep(ctx, wait) {
				return ctx.Err()
			}
			wait = min(2*wait, s.cfg.MaxNackBackoff)
		case <-ctx.Done():
			// Ending: the message's context ends now, but a handler that
			// finishes anyway still gets its ack counted (and checkpointed),
			// so a clean stop does not repeat a side effect.
			mcancel()
			grace := time.NewTimer(s.cfg.AckGrace)
			defer grace.Stop()
			select {
			case <-msg.Acked():
				return nil
			case <-msg.Nacked():
			case <-grace.C:
			}
			return ctx.Err()
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// saver stores a subscription's acked positions on its own goroutine, always
// the latest one, so many quick acks cost few writes.
type saver struct {
	cs     CheckpointSaver
	name   string
	log    *slog.Logger
	mu     sync.Mutex
	latest uint64
	saved  uint64 // touched by loop, then by stop after loop ended
	kick   chan struct{}
	quit   chan struct{}
	done   chan struct{}
}

func newSaver(cs CheckpointSaver, name string, log *slog.Logger) *saver {
	sv := &saver{cs: cs, name: name, log: log, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go sv.loop()
	return sv
}

func (sv *saver) ack(pos uint64) {
	sv.mu.Lock()
	sv.latest = pos
	sv.mu.Unlock()
	select {
	case sv.kick <- struct{}{}:
	default:
	}
}

// pass records that the subscription read past pos without delivering
// anything (every earlier delivery was acked: deliveries wait for their
// ack). Unlike ack it does not wake the loop: a run of passed-over records
// during a payroll run costs a write every passedSaveEvery, not one each.
func (sv *saver) pass(pos uint64) {
	sv.mu.Lock()
	sv.latest = max(sv.latest, pos)
	sv.mu.Unlock()
}

// passedSaveEvery is how soon a position passed over is stored.
const passedSaveEvery = time.Second

func (sv *saver) loop() {
	defer close(sv.done)
	tick := time.NewTicker(passedSaveEvery)
	defer tick.Stop()
	for {
		select {
		case <-sv.kick:
		case <-tick.C:
		case <-sv.quit:
			return
		}
		sv.save(context.Background())
	}
}

// save stores the latest position if it is new. A failed save is logged and
// left to the next ack: until then a restart only repeats events, it never
// skips one.
func (sv *saver) save(ctx context.Context) {
	sv.mu.Lock()
	pos := sv.latest
	sv.mu.Unlock()
	if pos == sv.saved {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sv.cs.SaveCheckpoint(ctx, sv.name, pos); err != nil {
		sv.log.Error("store consumer checkpoint", "position", pos, "err", err)
		return
	}
	sv.saved = pos
}

// stop ends the loop and saves the last acked position.
func (sv *saver) stop(ctx context.Context) {
	close(sv.quit)
	<-sv.done
	sv.save(context.WithoutCancel(ctx))
}
