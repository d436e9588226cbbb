package downstream_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/apiclient"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	evsqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	rssqlite "github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/engine"
)

// rig is the real log and read store with the engine that runs consumers.
type rig struct {
	t      *testing.T
	events *evsqlite.Store
	views  *rssqlite.Store
	reg    *eventlog.Registry
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	events, err := evsqlite.Open(ctx, filepath.Join(dir, "events.db"), evsqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = events.Close() })
	views, err := rssqlite.Open(ctx, filepath.Join(dir, "views.db"), rssqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = views.Close() })
	reg := eventlog.NewRegistry()
	employee.Register(reg)
	apiclient.Register(reg)
	return &rig{t: t, events: events, views: views, reg: reg}
}

// runConsumer runs handle as side-effect consumer name until the test ends
// (or stop is called) and waits for its first start.
func (r *rig) runConsumer(name string, handle engine.ConsumerFunc) (stop func()) {
	r.t.Helper()
	eng, err := engine.New(engine.Config{
		Log: r.events, Store: r.views, Registry: r.reg,
		MaxRetries: 1, RetryInitial: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond,
		ConsumerBackoff: 20 * time.Millisecond, ConsumerMaxBackoff: 200 * time.Millisecond,
	})
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.RunConsumer(ctx, name, handle) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok, _ := r.views.Get(context.Background(), "consumers", name); ok {
			break
		}
		if time.Now().After(deadline) {
			r.t.Fatal("consumer did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				r.t.Error("consumer did not stop")
			}
		})
	}
	r.t.Cleanup(stop)
	return stop
}

// append writes one event (registered or raw) and returns its record.
func (r *rig) append(stream string, typ string, data any) eventlog.Record {
	r.t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		r.t.Fatal(err)
	}
	id := uuid.New()
	_, err = r.events.Append(context.Background(), stream, eventlog.Any(), []eventlog.Proposed{{
		ID: id, Type: typ, OccurredAt: time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC), Data: raw,
		Metadata: eventlog.Metadata{Actor: eventlog.Actor{Kind: eventlog.ActorClient, ID: "payroll"}, SourceIP: "10.1.2.3", CorrelationID: "corr-1"},
	}})
	if err != nil {
		r.t.Fatal(err)
	}
	recs, err := r.events.ReadStream(context.Background(), stream, 0, eventlog.Backwards, 1)
	if err != nil || len(recs) != 1 || recs[0].ID != id {
		r.t.Fatalf("read back: %v %v", recs, err)
	}
	return recs[0]
}

func staff(ic, name string) employee.StaffRecorded {
	return employee.StaffRecorded{IC: ic, Name: name, Email: "jabatan@melaka.gov.my", Department: "Perbendaharaan", Post: "Akauntan", StaffNumber: "S" + ic[6:]}
}

// deadLetters is the bodies of the dead letters the engine recorded.
func (r *rig) deadLetters() [][]byte {
	r.t.Helper()
	page, err := r.views.Find(context.Background(), projections.Query{Collection: "dead_letters", Limit: 100})
	if err != nil {
		r.t.Fatal(err)
	}
	out := make([][]byte, len(page.Docs))
	for i, d := range page.Docs {
		out[i] = d.Body
	}
	return out
}
