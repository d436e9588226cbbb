package watermilllog_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/watermilllog"
)

// plainLog hides the store's SubscribeExcept, so the subscriber skips types
// itself.
type plainLog struct{ log watermilllog.Log }

func (p plainLog) Subscribe(ctx context.Context, after uint64, handle func(context.Context, eventlog.Record) error) error {
	return p.log.Subscribe(ctx, after, handle)
}

// Skipped types never become messages, whether the log passes over them
// (SQLite) or the subscriber does; either way Passed reaches the head.
func TestSkippedTypesAreNotDeliveredAndPassedReachesTheHead(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(watermilllog.Log) watermilllog.Log
	}{
		{"by the log", func(l watermilllog.Log) watermilllog.Log { return l }},
		{"by the subscriber", func(l watermilllog.Log) watermilllog.Log { return plainLog{l} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, _ := openStore(t)
			ctx := context.Background()
			appendEvents(t, store, "acct-1", 0, 2, "c") // account.Opened.v1: delivered
			var last eventlog.AppendResult
			for i := range 5 {
				data, _ := json.Marshal(map[string]int{"n": i})
				var err error
				last, err = store.Append(ctx, "noise-"+uuid.NewString(), eventlog.NoStream(), []eventlog.Proposed{{
					ID: uuid.New(), Type: "noise.Made.v1", OccurredAt: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC),
					Data: data, Metadata: eventlog.Metadata{Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "t"}},
				}})
				if err != nil {
					t.Fatal(err)
				}
			}
			var (
				mu     sync.Mutex
				passed uint64
			)
			reached := make(chan struct{})
			sub, err := watermilllog.NewSubscriber(watermilllog.SubscriberConfig{
				Log:    tc.wrap(store),
				Logger: quietLogger(),
				Skip:   func(string) []string { return []string{"noise.Made.v1"} },
				Passed: func(_ context.Context, _ string, pos uint64) error {
					mu.Lock()
					defer mu.Unlock()
					if pos <= passed {
						t.Errorf("passed went from %d to %d", passed, pos)
					}
					passed = pos
					if pos == last.LastPosition {
						close(reached)
					}
					return nil
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			msgs, err := sub.Subscribe(ctx, "accounts")
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				msg := receive(t, msgs)
				if rec, _ := watermilllog.RecordFromMessage(msg); rec.Type != "account.Opened.v1" {
					t.Errorf("delivered %s", rec.Type)
				}
				msg.Ack()
			}
			select {
			case <-reached:
			case msg := <-msgs:
				rec, _ := watermilllog.RecordFromMessage(msg)
				t.Fatalf("a skipped event was delivered: %s", rec.Type)
			case <-time.After(10 * time.Second):
				t.Fatalf("Passed did not reach %d", last.LastPosition)
			}
		})
	}
}
