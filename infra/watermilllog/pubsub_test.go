package watermilllog_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	readstore "github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/infra/watermilllog"
)

// env is what the pub/subs of one test share: a real SQLite event store and
// the consumers' checkpoints, so a Subscriber made later in the same test
// resumes where an earlier one acked (the suite's persistence tests).
type env struct {
	store *sqlite.Store
	cps   watermilllog.ReadStoreCheckpoints
}

// openCheckpoints keeps checkpoints in a real SQLite read store.
func openCheckpoints(t *testing.T, dir string) watermilllog.ReadStoreCheckpoints {
	rs, err := readstore.Open(context.Background(), filepath.Join(dir, "views.db"), readstore.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	return watermilllog.ReadStoreCheckpoints{Store: rs}
}

var (
	envMu sync.Mutex
	envs  = map[string]*env{}
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testEnv(t *testing.T) *env {
	envMu.Lock()
	defer envMu.Unlock()
	if e, ok := envs[t.Name()]; ok {
		return e
	}
	dir := t.TempDir()
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "events.db"), sqlite.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{store: store, cps: openCheckpoints(t, dir)}
	envs[t.Name()] = e
	name := t.Name()
	t.Cleanup(func() {
		envMu.Lock()
		delete(envs, name)
		envMu.Unlock()
		store.Close()
	})
	return e
}

// newPubSub: messages published to a topic go to the topic's stream; each
// topic's consumer sees the records of that stream (Filter), so topics are
// independent as the suite expects, while the subscription still reads the
// whole log in order underneath.
func newPubSub(t *testing.T, consumer string) (message.Publisher, message.Subscriber) {
	e := testEnv(t)
	pub, err := watermilllog.NewPublisher(watermilllog.PublisherConfig{Log: e.store})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := watermilllog.NewSubscriber(watermilllog.SubscriberConfig{
		Log:         e.store,
		Checkpoints: e.cps,
		Commit:      e.cps,
		Filter: func(topic string, rec eventlog.Record) bool {
			return rec.Stream == watermilllog.MessageStream(topic)
		},
		// The suite nacks one message hundreds of times in a row.
		NackBackoff:    time.Millisecond,
		MaxNackBackoff: 20 * time.Millisecond,
		// The suite closes subscribers with messages never acked.
		AckGrace: 10 * time.Millisecond,
		Logger:   quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return pub, sub
}

func TestPubSub(t *testing.T) {
	tests.TestPubSub(
		t,
		tests.Features{
			// The topic is the consumer name: one position per topic, so
			// there is no separate consumer-group notion, and a new
			// subscriber of a topic resumes where the last one acked rather
			// than receiving old messages again.
			ConsumerGroups:                      false,
			ExactlyOnceDelivery:                 false,
			GuaranteedOrder:                     true,
			GuaranteedOrderWithSingleSubscriber: true,
			Persistent:                          true,
			NewSubscriberReceivesOldMessages:    false,
			// Under the race detector the suite's big runs (50 subscribers
			// of 5,000 messages, 10,000 single publishes, each a durable
			// append) take minutes on a 2-core machine; they run in full
			// without it.
			ForceShort: raceEnabled,
		},
		func(t *testing.T) (message.Publisher, message.Subscriber) { return newPubSub(t, "") },
		newPubSub,
	)
}
