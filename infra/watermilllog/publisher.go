package watermilllog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// Appender is the slice of the event-store port the publisher writes with.
type Appender interface {
	Append(ctx context.Context, stream string, expected eventlog.ExpectedVersion, events []eventlog.Proposed) (eventlog.AppendResult, error)
}

// PublisherConfig configures a Publisher. Log is required.
type PublisherConfig struct {
	Log Appender
	// Now stamps OccurredAt (default time.Now).
	Now func() time.Time
	// Actor is recorded as the cause of published events (default: the
	// system component "watermilllog").
	Actor eventlog.Actor
	// Timeout bounds one Publish call (default 30 s).
	Timeout time.Duration
}

// Publisher appends Watermill messages to the event log, one stream per
// topic (MessageStream). Each message is stored as a MessageType event that
// keeps its UUID, metadata and payload, so the Subscriber hands back what was
// published. It is not how domain events are written (command handlers
// append those with expected versions); it exists to feed the log from
// Watermill tooling and tests, and it is what watermill's pubsub test suite
// publishes through.
type Publisher struct {
	cfg    PublisherConfig
	mu     sync.RWMutex
	closed bool
}

var _ message.Publisher = (*Publisher)(nil)

// ErrPublisherClosed is returned by Publish after Close.
var ErrPublisherClosed = errors.New("watermilllog: publisher closed")

// NewPublisher checks the configuration and returns a publisher.
func NewPublisher(cfg PublisherConfig) (*Publisher, error) {
	if cfg.Log == nil {
		return nil, errors.New("watermilllog: PublisherConfig.Log is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Actor.Kind == "" {
		cfg.Actor = eventlog.Actor{Kind: eventlog.ActorSystem, ID: "watermilllog"}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &Publisher{cfg: cfg}, nil
}

// MessageStream is the stream Publisher appends topic's messages to.
func MessageStream(topic string) string { return "wmtopic-" + topic }

// idSpace namespaces the event IDs derived from (topic, message UUID).
var idSpace = uuid.MustParse("6f1c2f8e-6a59-4c55-9d0e-2b7f3f0c9a41")

// Publish appends msgs to topic's stream in order, at most
// eventlog.MaxBatchEvents per append. Event IDs are derived from topic and
// message UUID, so publishing the same message again appends nothing.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return ErrPublisherClosed
	}
	stream := MessageStream(topic)
	if err := eventlog.ValidateStream(stream); err != nil {
		return fmt.Errorf("watermilllog: topic %q cannot name a stream: %w", topic, err)
	}
	now := p.cfg.Now().UTC()
	batch := make([]eventlog.Proposed, 0, min(len(msgs), eventlog.MaxBatchEvents))
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), p.cfg.Timeout)
		defer cancel()
		_, err := p.cfg.Log.Append(ctx, stream, eventlog.Any(), batch)
		batch = batch[:0]
		if err != nil {
			return fmt.Errorf("watermilllog: publish to %q: %w", topic, err)
		}
		return nil
	}
	for _, msg := range msgs {
		if msg.UUID == "" {
			return fmt.Errorf("watermilllog: publish to %q: message has no UUID", topic)
		}
		data, err := json.Marshal(wrapped{UUID: msg.UUID, Metadata: msg.Metadata, Payload: msg.Payload})
		if err != nil {
			return fmt.Errorf("watermilllog: publish to %q: encode message %s: %w", topic, msg.UUID, err)
		}
		batch = append(batch, eventlog.Proposed{
			ID:         uuid.NewSHA1(idSpace, []byte(topic+"\x00"+msg.UUID)),
			Type:       MessageType,
			OccurredAt: now,
			Data:       data,
			Metadata: eventlog.Metadata{
				CorrelationID: msg.Metadata.Get(MetaCorrelationID),
				Actor:         p.cfg.Actor,
			},
		})
		if len(batch) == eventlog.MaxBatchEvents {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// Close makes further Publish calls fail. It does not close the event store,
// which belongs to the caller.
func (p *Publisher) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	return nil
}
