package downstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/melaka-gov/ispeks/infra/watermilllog"
	"github.com/nats-io/nats.go"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/projections/engine"
)

// ConsumerName is the NATS publisher's consumer name (its checkpoint key).
const ConsumerName = "downstream_nats"

// NATSConfig configures the JetStream publisher.
type NATSConfig struct {
	URL string // nats://host:4222
	// SubjectPrefix: events go to <prefix>.<category>, e.g.
	// ispeks.events.payment. Default "ispeks.events".
	SubjectPrefix string
	// Stream is the JetStream stream holding <prefix>.>; created if
	// missing. Default "ISPEKS_EVENTS". An existing stream keeps its
	// settings (an operator's retention, limits, replicas): it is only made
	// to take <prefix>.> and keep a duplicate window of DuplicateWindow.
	Stream string
	// MaxAge is how long JetStream keeps events in a stream it creates
	// (default 30 days).
	MaxAge time.Duration
	// DuplicateWindow is how long JetStream remembers message IDs to drop a
	// re-published event (default 1 h; subscribers dedupe by ID beyond it).
	DuplicateWindow time.Duration
	// PublishTimeout bounds the wait for JetStream's ack (default 5 s);
	// after it the event is retried.
	PublishTimeout time.Duration
	Filter         Filter // zero: DefaultFilter
	Log            *slog.Logger
}

var (
	subjectPrefixPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
	streamNamePattern    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

func (c *NATSConfig) defaults() error {
	if c.URL == "" {
		return errors.New("downstream: nats url: missing")
	}
	if c.SubjectPrefix == "" {
		c.SubjectPrefix = "ispeks.events"
	}
	if !subjectPrefixPattern.MatchString(c.SubjectPrefix) {
		return fmt.Errorf("downstream: subject prefix %q: want dot-separated tokens of letters, digits, _ and -", c.SubjectPrefix)
	}
	if c.Stream == "" {
		c.Stream = "ISPEKS_EVENTS"
	}
	if !streamNamePattern.MatchString(c.Stream) {
		return fmt.Errorf("downstream: stream name %q: want letters, digits, _ and -", c.Stream)
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 30 * 24 * time.Hour
	}
	if c.DuplicateWindow <= 0 {
		c.DuplicateWindow = time.Hour
	}
	if c.PublishTimeout <= 0 {
		c.PublishTimeout = 5 * time.Second
	}
	if c.Filter.Categories == nil && c.Filter.Types == nil {
		c.Filter = DefaultFilter()
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return nil
}

// NATS publishes events to JetStream. Run its Handle as a side-effect
// consumer (projections/engine RunConsumer with ConsumerName): it starts at
// the log head on first install, and a publish that fails (NATS down, no
// ack) returns an error so the event is published again later; the
// checkpoint never passes an unpublished event. Delivery is at least once:
// the Watermill message UUID and the JetStream Msg-Id are the event ID, so
// JetStream drops a repeat inside its duplicate window and subscribers
// dedupe by ID after it.
//
// NATS need not be up when the portal starts: the connection is retried in
// the background, and the stream is created or checked by the first
// publish, so until NATS is reachable each publish fails and is retried
// like any other.
type NATS struct {
	cfg  NATSConfig
	conn *nats.Conn
	js   nats.JetStreamManager
	pub  message.Publisher

	streamMu sync.Mutex
	streamOK bool // the stream has been created or checked on this connection's server
}

// NewNATS connects (in the background if NATS is not reachable yet) and
// returns the publisher. Close it on shutdown.
func NewNATS(ctx context.Context, cfg NATSConfig) (*NATS, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	log := cfg.Log
	conn, err := nats.Connect(cfg.URL,
		nats.Name("ispeks-downstream"),
		nats.RetryOnFailedConnect(true), // NATS down at start: serve anyway, connect later
		nats.MaxReconnects(-1),          // keep trying; the consumer retries meanwhile
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("downstream: NATS disconnected; publishing waits", "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("downstream: NATS reconnected") }),
		nats.ConnectHandler(func(*nats.Conn) { log.Info("downstream: NATS connected") }),
	)
	if err != nil {
		// A URL that cannot be used at all; an unreachable server is
		// retried instead.
		return nil, fmt.Errorf("downstream: connect to NATS: %w", err)
	}
	js, err := conn.JetStream()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("downstream: JetStream: %w", err)
	}
	pub, err := wmnats.NewPublisherWithNatsConn(conn, wmnats.PublisherPublishConfig{
		Marshaler:         &wmnats.NATSMarshaler{},
		SubjectCalculator: wmnats.DefaultSubjectCalculator,
		JetStream: wmnats.JetStreamConfig{
			TrackMsgId:     true,
			PublishOptions: []nats.PubOpt{nats.AckWait(cfg.PublishTimeout)},
		},
	}, watermilllog.Logger(cfg.Log))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("downstream: watermill publisher: %w", err)
	}
	n := &NATS{cfg: cfg, conn: conn, js: js, pub: pub}
	if conn.IsConnected() {
		// Subscribers find the stream before the first event goes out;
		// a failure here is retried by the first publish.
		if err := n.ensureStream(ctx); err != nil {
			log.Warn("downstream: JetStream stream not ready; publishing will retry", "err", err)
		}
	}
	return n, nil
}

// ensureStream creates or adopts the stream once; until that succeeds
// (NATS not reachable yet) every publish tries it first.
func (n *NATS) ensureStream(ctx context.Context) error {
	n.streamMu.Lock()
	defer n.streamMu.Unlock()
	if n.streamOK {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.PublishTimeout)
	defer cancel()
	if err := ensureStream(ctx, n.js, n.cfg); err != nil {
		return err
	}
	n.streamOK = true
	return nil
}

func ensureStream(ctx context.Context, js nats.JetStreamManager, cfg NATSConfig) error {
	want := &nats.StreamConfig{
		Name:        cfg.Stream,
		Description: "iSPEKS events for finance systems",
		Subjects:    []string{cfg.SubjectPrefix + ".>"},
		Storage:     nats.FileStorage,
		Retention:   nats.LimitsPolicy,
		MaxAge:      cfg.MaxAge,
		Duplicates:  cfg.DuplicateWindow,
	}
	info, err := js.StreamInfo(cfg.Stream, nats.Context(ctx))
	switch {
	case errors.Is(err, nats.ErrStreamNotFound):
		_, err = js.AddStream(want, nats.Context(ctx))
	case err == nil:
		// An existing stream keeps the settings an operator gave it
		// (retention, limits, replicas, other subjects): only what the
		// publisher relies on is added.
		if cur, changed := adoptStream(info.Config, cfg); changed {
			_, err = js.UpdateStream(&cur, nats.Context(ctx))
		}
	}
	if err != nil {
		return fmt.Errorf("downstream: JetStream stream %s: %w", cfg.Stream, err)
	}
	return nil
}

// adoptStream is an existing stream's configuration with what publishing
// needs: its subjects take <prefix>.>, and its duplicate window is at least
// cfg.DuplicateWindow (no longer than the stream keeps messages, which
// JetStream requires).
func adoptStream(cur nats.StreamConfig, cfg NATSConfig) (nats.StreamConfig, bool) {
	changed := false
	all := cfg.SubjectPrefix + ".>"
	if !slices.ContainsFunc(cur.Subjects, func(s string) bool { return subjectCovers(s, all) }) {
		cur.Subjects = append(slices.Clip(cur.Subjects), all)
		changed = true
	}
	dup := cfg.DuplicateWindow
	if cur.MaxAge > 0 && cur.MaxAge < dup {
		dup = cur.MaxAge
	}
	if cur.Duplicates < dup {
		cur.Duplicates = dup
		changed = true
	}
	return cur, changed
}

// subjectCovers reports whether the subject filter f matches every subject
// that sub (ending in ">") matches.
func subjectCovers(f, sub string) bool {
	ft, st := strings.Split(f, "."), strings.Split(sub, ".")
	for i, tok := range ft {
		switch {
		case tok == ">":
			return true
		case i >= len(st) || st[i] == ">":
			return false
		case tok != "*" && tok != st[i]:
			return false
		}
	}
	return false
}

// Subject is where an event of stream goes.
func (n *NATS) Subject(stream string) string {
	return n.cfg.SubjectPrefix + "." + Category(stream)
}

// headerRoom is what the message's headers (Msg-Id, the three Ispeks-
// ones, Watermill's) may add to the payload on the wire.
const headerRoom = 1024

// Handle publishes one event (engine.ConsumerFunc). Events the filter does
// not select are passed over.
func (n *NATS) Handle(ctx context.Context, env eventlog.Envelope) error {
	rec := env.Record
	if !n.cfg.Filter.Allows(rec) {
		return nil
	}
	if err := n.ensureStream(ctx); err != nil {
		return err
	}
	payload, err := json.Marshal(Wire(rec))
	if err != nil {
		return fmt.Errorf("downstream: encode event %s: %w", rec.ID, err)
	}
	// The server refuses a message past its max_payload (headers
	// included) every time: retried, it would hold up every later event.
	// Parked instead (a dead letter names it); the log still has it.
	if limit := n.conn.MaxPayload(); limit > 0 && int64(len(payload))+headerRoom > limit {
		return engine.Park(fmt.Sprintf("event %s at position %d: %d bytes with its envelope, more than the NATS server's max_payload (%d)", rec.ID, rec.Position, len(payload), limit))
	}
	msg := message.NewMessage(rec.ID.String(), payload)
	msg.SetContext(ctx)
	msg.Metadata.Set("Ispeks-Type", rec.Type)
	msg.Metadata.Set("Ispeks-Stream", rec.Stream)
	msg.Metadata.Set("Ispeks-Position", strconv.FormatUint(rec.Position, 10))
	if err := n.pub.Publish(n.Subject(rec.Stream), msg); err != nil {
		// The server may have come back without the stream (a new one,
		// its storage lost): check it again before the retry.
		n.streamMu.Lock()
		n.streamOK = false
		n.streamMu.Unlock()
		return fmt.Errorf("downstream: publish event %s: %w", rec.ID, err)
	}
	return nil
}

// Close closes the publisher and the connection.
func (n *NATS) Close() error {
	err := n.pub.Close()
	n.conn.Close()
	return err
}
