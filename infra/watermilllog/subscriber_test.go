package watermilllog_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	"github.com/melaka-gov/ispeks/infra/watermilllog"
)

func openStore(t *testing.T) (*sqlite.Store, watermilllog.ReadStoreCheckpoints) {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "events.db"), sqlite.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store, openCheckpoints(t, dir)
}

type opened struct {
	Account string `json:"account"`
}

// appendEvents appends n account.Opened.v1 events to stream, returning the
// append result.
func appendEvents(t *testing.T, store *sqlite.Store, stream string, from uint64, n int, corr string) eventlog.AppendResult {
	t.Helper()
	var evs []eventlog.Proposed
	for i := 0; i < n; i++ {
		data, _ := json.Marshal(opened{Account: stream + "#" + strconv.Itoa(i)})
		evs = append(evs, eventlog.Proposed{
			ID: uuid.New(), Type: "account.Opened.v1", OccurredAt: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC),
			Data: data, Metadata: eventlog.Metadata{CorrelationID: corr, CausationID: "cmd-1", Actor: eventlog.Actor{Kind: eventlog.ActorUser, ID: "u1"}},
		})
	}
	res, err := store.Append(context.Background(), stream, eventlog.Exactly(from), evs)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func receive(t *testing.T, ch <-chan *message.Message) *message.Message {
	t.Helper()
	select {
	case msg, ok := <-ch:
		if !ok {
			t.Fatal("channel closed")
		}
		return msg
	case <-time.After(10 * time.Second):
		t.Fatal("no message in 10s")
	}
	return nil
}

func TestMessageCarriesTheRecord(t *testing.T) {
	store, cps := openStore(t)
	res := appendEvents(t, store, "account-a1", 0, 2, "corr-9")
	recs, err := store.ReadAll(context.Background(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := watermilllog.NewSubscriber(watermilllog.SubscriberConfig{Log: store, Checkpoints: cps, AckGrace: 10 * time.Millisecond, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ch, err := sub.Subscribe(context.Background(), "audit")
	if err != nil {
		t.Fatal(err)
	}
	for i, rec := range recs {
		msg := receive(t, ch)
		if msg.UUID != rec.ID.String() {
			t.Errorf("UUID %s, want event ID %s", msg.UUID, rec.ID)
		}
		if string(msg.Payload) != string(rec.Data) {
			t.Errorf("payload %s, want %s", msg.Payload, rec.Data)
		}
		// cqrs.JSONMarshaler.NameFromMessage (watermill v1.5.1) is
		// msg.Metadata.Get("name"); the package is not imported here only
		// because it pulls in gogo/protobuf.
		if got := msg.Metadata.Get("name"); got != "account.Opened.v1" {
			t.Errorf("cqrs name %q", got)
		}
		for k, want := range map[string]string{
			watermilllog.MetaStream:        "account-a1",
			watermilllog.MetaVersion:       strconv.Itoa(i + 1),
			watermilllog.MetaPosition:      strconv.FormatUint(rec.Position, 10),
			watermilllog.MetaCorrelationID: "corr-9",
			watermilllog.MetaCausationID:   "cmd-1",
			watermilllog.MetaOccurredAt:    "2025-03-01T08:00:00Z",
		} {
			if got := msg.Metadata.Get(k); got != want {
				t.Errorf("metadata %s = %q, want %q", k, got, want)
			}
		}
		got, ok := watermilllog.RecordFromMessage(msg)
		if !ok || got.ID != rec.ID || got.Metadata.Hash != rec.Metadata.Hash || got.Metadata.Hash == "" {
			t.Errorf("record in context = %+v, %v", got, ok)
		}
		msg.Ack()
	}
	if res.LastPosition != recs[len(recs)-1].Position {
		t.Fatalf("positions differ: %d vs %d", res.LastPosition, recs[len(recs)-1].Position)
	}
}

func TestOneSubscriptionPerConsumerAndResumeFromCheckpoint(t *testing.T) {
	store, cps := openStore(t)
	appendEvents(t, store, "account-a1", 0, 5, "")
	cfg := watermilllog.SubscriberConfig{Log: store, Checkpoints: cps, Commit: cps, AckGrace: 10 * time.Millisecond, Logger: quietLogger()}
	sub, err := watermilllog.NewSubscriber(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := sub.Subscribe(context.Background(), "mailer")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Subscribe(context.Background(), "mailer"); !errors.Is(err, watermilllog.ErrAlreadySubscribed) {
		t.Fatalf("second subscription = %v, want ErrAlreadySubscribed", err)
	}
	var third uint64
	for i := 0; i < 3; i++ {
		msg := receive(t, ch)
		third, _ = strconv.ParseUint(msg.Metadata.Get(watermilllog.MetaPosition), 10, 64)
		msg.Ack()
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if cp, _ := cps.Checkpoint(context.Background(), "mailer"); cp != third {
		t.Fatalf("checkpoint after close = %d, want %d", cp, third)
	}

	// A new subscriber (a restart) resumes after the last ack.
	sub2, _ := watermilllog.NewSubscriber(cfg)
	defer sub2.Close()
	ch2, err := sub2.Subscribe(context.Background(), "mailer")
	if err != nil {
		t.Fatal(err)
	}
	msg := receive(t, ch2)
	if got := msg.Metadata.Get(watermilllog.MetaVersion); got != "4" {
		t.Fatalf("after restart got version %s, want 4", got)
	}
}

func TestNackRedeliversSameEventAndNextWaitsForAck(t *testing.T) {
	store, cps := openStore(t)
	appendEvents(t, store, "account-a1", 0, 2, "")
	sub, _ := watermilllog.NewSubscriber(watermilllog.SubscriberConfig{Log: store, Checkpoints: cps, NackBackoff: time.Millisecond, AckGrace: 10 * time.Millisecond, Logger: quietLogger()})
	defer sub.Close()
	ch, _ := sub.Subscribe(context.Background(), "c")
	first := receive(t, ch)
	first.Nack()
	again := receive(t, ch)
	if again.UUID != first.UUID {
		t.Fatalf("after a nack got %s, want %s again", again.UUID, first.UUID)
	}
	select {
	case m := <-ch:
		t.Fatalf("next event %s sent before the ack", m.UUID)
	case <-time.After(50 * time.Millisecond):
	}
	again.Ack()
	if next := receive(t, ch); next.Metadata.Get(watermilllog.MetaVersion) != "2" {
		t.Fatalf("next is version %s", next.Metadata.Get(watermilllog.MetaVersion))
	}
}

// flakyLog drops the subscription (as a lost server connection would) after
// every few events.
type flakyLog struct {
	*sqlite.Store
	every int
	drops atomic.Int32
}

var errDropped = errors.New("test: connection lost")

func (f *flakyLog) Subscribe(ctx context.Context, after uint64, handle func(context.Context, eventlog.Record) error) error {
	n := 0
	return f.Store.Subscribe(ctx, after, func(ctx context.Context, rec eventlog.Record) error {
		if n == f.every {
			f.drops.Add(1)
			return errDropped
		}
		n++
		return handle(ctx, rec)
	})
}

func TestReconnectsAfterDropInOrderWithoutLoss(t *testing.T) {
	store, cps := openStore(t)
	res := appendEvents(t, store, "account-a1", 0, 50, "")
	log := &flakyLog{Store: store, every: 7}
	sub, _ := watermilllog.NewSubscriber(watermilllog.SubscriberConfig{
		Log: log, Checkpoints: cps, ReconnectBackoff: time.Millisecond, AckGrace: 10 * time.Millisecond, Logger: quietLogger(),
	})
	defer sub.Close()
	ch, _ := sub.Subscribe(context.Background(), "c")
	for v := 1; v <= 50; v++ {
		msg := receive(t, ch)
		if got := msg.Metadata.Get(watermilllog.MetaVersion); got != strconv.Itoa(v) {
			t.Fatalf("got version %s, want %d", got, v)
		}
		msg.Ack()
	}
	if log.drops.Load() < 5 {
		t.Fatalf("only %d drops", log.drops.Load())
	}
	// And it keeps following the live log after the reconnects.
	appendEvents(t, store, "account-a1", res.LastVersion, 1, "")
	if got := receive(t, ch).Metadata.Get(watermilllog.MetaVersion); got != "51" {
		t.Fatalf("live event version %s", got)
	}
}

func TestRestartResumesFromStoredCheckpoint(t *testing.T) {
	store, cps := openStore(t)
	appendEvents(t, store, "account-a1", 0, 10, "")
	sub, _ := watermilllog.NewSubscriber(watermilllog.SubscriberConfig{Log: store, Checkpoints: cps, AckGrace: 10 * time.Millisecond, Logger: quietLogger()})
	defer sub.Close()
	ch, _ := sub.Subscribe(context.Background(), "proj")
	for i := 0; i < 6; i++ {
		receive(t, ch).Ack()
	}
	inFlight := receive(t, ch) // sent as soon as the 6th was acked
	// Someone (a rebuild swap) sets the stored checkpoint back to 2.
	if err := cps.SaveCheckpoint(context.Background(), "proj", 2); err != nil {
		t.Fatal(err)
	}
	if !sub.Restart("proj") {
		t.Fatal("Restart found no subscription")
	}
	inFlight.Ack()
	if got := receive(t, ch).Metadata.Get(watermilllog.MetaPosition); got != "3" {
		t.Fatalf("after restart got position %s, want 3", got)
	}
}

// A Restart while the subscription waits for new events takes effect at once:
// the projector engine restarts after a rebuild swapped its collections, and
// on a quiet log no further event would come to carry the restart.
func TestRestartWhileIdleResumesAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		skip []string // non-empty: the store's own pass-over (SubscribeExcept)
	}{{"subscribe", nil}, {"subscribe except", []string{"account.Closed.v1"}}} {
		t.Run(tc.name, func(t *testing.T) {
			store, cps := openStore(t)
			appendEvents(t, store, "account-a1", 0, 10, "")
			sub, _ := watermilllog.NewSubscriber(watermilllog.SubscriberConfig{
				Log: store, Checkpoints: cps, AckGrace: 10 * time.Millisecond, Logger: quietLogger(),
				Skip: func(string) []string { return tc.skip },
			})
			defer sub.Close()
			ch, _ := sub.Subscribe(context.Background(), "proj")
			for i := 0; i < 10; i++ {
				receive(t, ch).Ack()
			}
			if err := cps.SaveCheckpoint(context.Background(), "proj", 7); err != nil {
				t.Fatal(err)
			}
			if !sub.Restart("proj") {
				t.Fatal("Restart found no subscription")
			}
			select {
			case msg := <-ch:
				if got := msg.Metadata.Get(watermilllog.MetaPosition); got != "8" {
					t.Fatalf("after restart got position %s, want 8", got)
				}
				msg.Ack()
			case <-time.After(2 * time.Second):
				t.Fatal("no event within 2s of a Restart on a quiet log: the restart waits for a new event")
			}
		})
	}
}

func TestPublishedMessageRoundTrips(t *testing.T) {
	store, cps := openStore(t)
	pub, _ := watermilllog.NewPublisher(watermilllog.PublisherConfig{Log: store})
	msg := message.NewMessage("not-a-uuid", []byte{0, 1, 2, 'x'}) // any bytes, any UUID
	msg.Metadata.Set("k", "v")
	msg.Metadata.Set(watermilllog.MetaCorrelationID, "c-1")
	if err := pub.Publish("orders", msg); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish("orders", msg); err != nil { // again: idempotent
		t.Fatal(err)
	}
	if err := pub.Publish("bad topic!", msg); err == nil {
		t.Fatal("a topic that cannot name a stream was accepted")
	}
	if head, _ := store.LastPosition(context.Background()); head != 1 {
		t.Fatalf("log head %d after publishing one message twice", head)
	}
	sub, _ := watermilllog.NewSubscriber(watermilllog.SubscriberConfig{Log: store, Checkpoints: cps, AckGrace: 10 * time.Millisecond, Logger: quietLogger()})
	defer sub.Close()
	ch, _ := sub.Subscribe(context.Background(), "reader")
	got := receive(t, ch)
	if got.UUID != "not-a-uuid" || string(got.Payload) != string(msg.Payload) || got.Metadata.Get("k") != "v" ||
		got.Metadata.Get(watermilllog.MetaStream) != watermilllog.MessageStream("orders") {
		t.Fatalf("got %s %q %v", got.UUID, got.Payload, got.Metadata)
	}
	rec, _ := watermilllog.RecordFromMessage(got)
	if rec.Metadata.CorrelationID != "c-1" || rec.Type != watermilllog.MessageType {
		t.Fatalf("stored record %+v", rec)
	}
	_ = pub.Close()
	if err := pub.Publish("orders", msg); !errors.Is(err, watermilllog.ErrPublisherClosed) {
		t.Fatalf("publish after close = %v", err)
	}
}
