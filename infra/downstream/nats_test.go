package downstream_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/melaka-gov/ispeks/domain/apiclient"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/downstream"
)

// natsURL is the JetStream server the tests use (the machine runs one on
// 127.0.0.1:4222; ISPEKS_TEST_NATS_URL points elsewhere).
func natsURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv("ISPEKS_TEST_NATS_URL")
	if url == "" {
		url = "nats://127.0.0.1:4222"
	}
	nc, err := nats.Connect(url, nats.Timeout(2*time.Second))
	if err != nil {
		t.Skipf("no NATS server at %s (%v): start one with `nats-server -js` or set ISPEKS_TEST_NATS_URL", url, err)
	}
	nc.Close()
	return url
}

// subscribe reads topic with a real Watermill NATS JetStream subscriber.
func subscribe(t *testing.T, url, topic string) <-chan *message.Message {
	t.Helper()
	sub, err := wmnats.NewSubscriber(wmnats.SubscriberConfig{
		URL:            url,
		Unmarshaler:    &wmnats.NATSMarshaler{},
		AckWaitTimeout: 5 * time.Second,
		CloseTimeout:   5 * time.Second,
		JetStream: wmnats.JetStreamConfig{
			SubscribeOptions: []nats.SubOpt{nats.DeliverAll(), nats.AckExplicit()},
		},
	}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	ch, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func receive(t *testing.T, ch <-chan *message.Message) (*message.Message, downstream.WireEvent) {
	t.Helper()
	select {
	case m := <-ch:
		m.Ack()
		var w downstream.WireEvent
		if err := json.Unmarshal(m.Payload, &w); err != nil {
			t.Fatalf("payload: %v", err)
		}
		return m, w
	case <-time.After(15 * time.Second):
		t.Fatal("no message from NATS")
	}
	return nil, downstream.WireEvent{}
}

// newPublisher is a publisher to a stream of the test's own, which it
// deletes at the end.
func newPublisher(t *testing.T, url, prefix, stream string) *downstream.NATS {
	t.Helper()
	pub, err := downstream.NewNATS(context.Background(), downstream.NATSConfig{URL: url, SubjectPrefix: prefix, Stream: stream})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = pub.Close()
		if nc, err := nats.Connect(url); err == nil {
			if js, err := nc.JetStream(); err == nil {
				_ = js.DeleteStream(stream)
			}
			nc.Close()
		}
	})
	return pub
}

func TestNATSPublishesSelectedEventsOnce(t *testing.T) {
	url := natsURL(t)
	suffix := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	prefix := "ispekstest" + suffix + ".events"
	stream := "ISPEKS_TEST_" + suffix
	r := newRig(t)

	// History before the first start is not published.
	r.append("employee-700101015001", "employee.StaffRecorded.v1", staff("700101015001", "Orang Lama"))

	pub := newPublisher(t, url, prefix, stream)
	r.runConsumer(downstream.ConsumerName, pub.Handle)

	emp := r.append("employee-850101045566", "employee.StaffRecorded.v1", staff("850101045566", "Aminah binti Yusof"))
	r.append("apiclient-payroll", "apiclient.Added.v1", apiclient.Added{ClientID: "payroll", Name: "x", Scopes: []string{"events:read"}, TokenHash: strings.Repeat("ab", 32)})
	pay := r.append("payment-PV001", "payment.Legacy.v1", map[string]any{"voucher_no": "PV001", "amount_sen": 12345})

	empMsg, empWire := receive(t, subscribe(t, url, prefix+".employee"))
	if empMsg.UUID != emp.ID.String() || empWire.ID != emp.ID || empWire.Position != emp.Position || empWire.Type != "employee.StaffRecorded.v1" || empWire.Stream != emp.Stream {
		t.Fatalf("employee message %s %+v, want event %s", empMsg.UUID, empWire, emp.ID)
	}
	if empMsg.Metadata.Get("Ispeks-Type") != "employee.StaffRecorded.v1" || empMsg.Metadata.Get("Ispeks-Position") != fmt.Sprint(emp.Position) {
		t.Fatalf("metadata %v", empMsg.Metadata)
	}
	if !strings.Contains(string(empWire.Data), "Aminah binti Yusof") || empWire.Metadata.Hash == "" || empWire.Metadata.Actor.ID != "payroll" {
		t.Fatalf("wire event %+v", empWire)
	}
	if strings.Contains(string(empMsg.Payload), "10.1.2.3") {
		t.Fatal("source IP went downstream")
	}
	// An event of an unregistered type still goes, raw.
	payMsg, payWire := receive(t, subscribe(t, url, prefix+".payment"))
	if payMsg.UUID != pay.ID.String() || !strings.Contains(string(payWire.Data), "PV001") {
		t.Fatalf("payment message %s %s", payMsg.UUID, payWire.Data)
	}

	// Publishing the same event again (at-least-once redelivery) is dropped
	// by JetStream: the Msg-Id is the event ID.
	if err := pub.Handle(context.Background(), eventlog.Envelope{Record: emp}); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	info, err := js.StreamInfo(stream)
	if err != nil {
		t.Fatal(err)
	}
	// employee + payment; not the account-side apiclient event, not history.
	if info.State.Msgs != 2 {
		t.Fatalf("stream holds %d messages, want 2", info.State.Msgs)
	}
	if _, err := js.GetLastMsg(stream, prefix+".apiclient"); err == nil {
		t.Fatal("an apiclient event (token hash) went downstream")
	}
}

func TestNATSConfigErrors(t *testing.T) {
	ctx := context.Background()
	for cfg, want := range map[*downstream.NATSConfig]string{
		{}:                                       "nats url",
		{URL: "nats://x", SubjectPrefix: "a..b"}: "subject prefix",
		{URL: "nats://x", Stream: "bad name"}:    "stream name",
	} {
		if _, err := downstream.NewNATS(ctx, *cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want %q", *cfg, err, want)
		}
	}
}

// natsProcess is a nats-server of the test's own, so the test can stop it.
type natsProcess struct {
	t    *testing.T
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
}

func startNATSProcess(t *testing.T, p *natsProcess) {
	t.Helper()
	p.cmd = exec.Command(p.bin, "-a", "127.0.0.1", "-p", strconv.Itoa(p.port), "-js", "-sd", p.dir)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if nc, err := nats.Connect(p.url(), nats.Timeout(200*time.Millisecond)); err == nil {
			nc.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("own nats-server did not come up")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *natsProcess) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", p.port) }

func (p *natsProcess) stop() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
		p.cmd = nil
	}
}

// countingHandle counts calls of a real handler.
type countingHandle struct {
	calls atomic.Int64
	h     func(context.Context, eventlog.Envelope) error
}

func (c *countingHandle) Handle(ctx context.Context, env eventlog.Envelope) error {
	c.calls.Add(1)
	return c.h(ctx, env)
}

func TestNATSDownThenUpDeliversEachEventOnce(t *testing.T) {
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		t.Skip("nats-server binary not installed (apt-get install nats-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	srv := &natsProcess{t: t, bin: bin, port: port, dir: t.TempDir()}
	startNATSProcess(t, srv)
	t.Cleanup(srv.stop)

	r := newRig(t)
	pub, err := downstream.NewNATS(context.Background(), downstream.NATSConfig{URL: srv.url(), PublishTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	h := &countingHandle{h: pub.Handle}
	r.runConsumer(downstream.ConsumerName, h.Handle)

	srv.stop() // NATS goes down
	first := r.append("employee-850101045566", "employee.StaffRecorded.v1", staff("850101045566", "Aminah binti Yusof"))
	deadline := time.Now().Add(30 * time.Second)
	for h.calls.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d publish attempts while NATS is down, want retries", h.calls.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if cp, _ := r.views.Checkpoint(context.Background(), downstream.ConsumerName); cp >= first.Position {
		t.Fatalf("checkpoint %d passed the unpublished event at %d", cp, first.Position)
	}

	startNATSProcess(t, srv) // and comes back
	second := r.append("employee-900202055123", "employee.StaffRecorded.v1", staff("900202055123", "Lim Wei Ming"))
	ch := subscribe(t, srv.url(), "ispeks.events.employee")
	m1, _ := receive(t, ch)
	m2, _ := receive(t, ch)
	if m1.UUID != first.ID.String() || m2.UUID != second.ID.String() {
		t.Fatalf("got %s, %s; want %s, %s in log order", m1.UUID, m2.UUID, first.ID, second.ID)
	}
	// Retries while down may have left copies in the client's reconnect
	// buffer; JetStream drops them by Msg-Id, so the stream holds two.
	nc, err := nats.Connect(srv.url())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := nc.JetStream()
	for {
		cp, _ := r.views.Checkpoint(context.Background(), downstream.ConsumerName)
		if cp >= second.Position {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("consumer did not acknowledge the second event")
		}
		time.Sleep(20 * time.Millisecond)
	}
	info, err := js.StreamInfo("ISPEKS_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Fatalf("stream holds %d messages, want 2", info.State.Msgs)
	}
}

// TestNATSDownAtStartCatchesUp: the publisher is created while nothing
// listens on the NATS port; publishing fails and is retried without the
// checkpoint passing the event, and once a server comes up on that port the
// stream is created and the event is delivered once.
func TestNATSDownAtStartCatchesUp(t *testing.T) {
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		t.Skip("nats-server binary not installed (apt-get install nats-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	srv := &natsProcess{t: t, bin: bin, port: port, dir: t.TempDir()}
	t.Cleanup(srv.stop)

	r := newRig(t)
	pub, err := downstream.NewNATS(context.Background(), downstream.NATSConfig{URL: srv.url(), PublishTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatalf("NATS down at start: %v", err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	h := &countingHandle{h: pub.Handle}
	r.runConsumer(downstream.ConsumerName, h.Handle)
	first := r.append("employee-850101045566", "employee.StaffRecorded.v1", staff("850101045566", "Aminah binti Yusof"))
	deadline := time.Now().Add(30 * time.Second)
	for h.calls.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d publish attempts while NATS is down, want retries", h.calls.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if cp, _ := r.views.Checkpoint(context.Background(), downstream.ConsumerName); cp >= first.Position {
		t.Fatalf("checkpoint %d passed the unpublished event at %d", cp, first.Position)
	}

	startNATSProcess(t, srv)
	for {
		cp, _ := r.views.Checkpoint(context.Background(), downstream.ConsumerName)
		if cp >= first.Position {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("consumer did not acknowledge the event")
		}
		time.Sleep(20 * time.Millisecond)
	}
	nc, err := nats.Connect(srv.url())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := nc.JetStream()
	info, err := js.StreamInfo("ISPEKS_EVENTS")
	if err != nil || info.State.Msgs != 1 {
		t.Fatalf("stream: %+v, %v; want it created holding 1 message", info, err)
	}
	if m, _ := receive(t, subscribe(t, srv.url(), "ispeks.events.employee")); m.UUID != first.ID.String() {
		t.Fatalf("got %s, want %s", m.UUID, first.ID)
	}
}

// TestNATSKeepsAnExistingStreamsSettings: the stream an operator tuned
// (a year's retention and a size limit, set with `nats stream edit`) keeps
// its settings when the portal starts, and again after a failed publish;
// the portal only makes it take its subjects and keep a duplicate window
// long enough for the Msg-Id dedup.
func TestNATSKeepsAnExistingStreamsSettings(t *testing.T) {
	url := natsURL(t)
	suffix := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	prefix := "ispekstest" + suffix + ".events"
	stream := "ISPEKS_TEST_" + suffix
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	const year = 365 * 24 * time.Hour
	if _, err := js.AddStream(&nats.StreamConfig{
		Name: stream, Subjects: []string{"ispekstest" + suffix + ".other"}, Storage: nats.FileStorage,
		MaxAge: year, MaxBytes: 1 << 30, Duplicates: time.Minute,
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = js.DeleteStream(stream) })

	pub, err := downstream.NewNATS(context.Background(), downstream.NATSConfig{URL: url, SubjectPrefix: prefix, Stream: stream})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	r := newRig(t)
	rec := r.append("employee-850101045566", "employee.StaffRecorded.v1", staff("850101045566", "Aminah binti Yusof"))
	if err := pub.Handle(context.Background(), eventlog.Envelope{Record: rec}); err != nil {
		t.Fatal(err)
	}
	info, err := js.StreamInfo(stream)
	if err != nil {
		t.Fatal(err)
	}
	c := info.Config
	if c.MaxAge != year || c.MaxBytes != 1<<30 {
		t.Errorf("the operator's settings were overwritten: max age %v, max bytes %d", c.MaxAge, c.MaxBytes)
	}
	if !slices.Contains(c.Subjects, "ispekstest"+suffix+".other") || !slices.Contains(c.Subjects, prefix+".>") {
		t.Errorf("subjects %v, want the operator's and %s.>", c.Subjects, prefix)
	}
	if c.Duplicates < time.Hour {
		t.Errorf("duplicate window %v, want at least the portal's 1 h", c.Duplicates)
	}
	if info.State.Msgs != 1 {
		t.Errorf("stream holds %d messages, want 1", info.State.Msgs)
	}
}

// An event too large for the NATS server (its max_payload, 1 MiB by
// default, counts the envelope and headers too) can never be published:
// it is parked as a dead letter, and the events after it still go. Before,
// its publish failed for ever and held up every later event.
func TestNATSParksAnEventLargerThanTheServerTakes(t *testing.T) {
	url := natsURL(t)
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	maxPayload := nc.MaxPayload()
	nc.Close()
	if maxPayload >= eventlog.MaxEventSize+64<<10 {
		t.Skipf("the NATS server takes %d bytes, more than any event with its envelope", maxPayload)
	}
	suffix := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	prefix := "ispekstest" + suffix + ".events"
	stream := "ISPEKS_TEST_" + suffix
	r := newRig(t)
	pub := newPublisher(t, url, prefix, stream)
	r.runConsumer(downstream.ConsumerName, pub.Handle)

	big := staff("850101045566", "Aminah binti Yusof")
	big.Post = strings.Repeat("p", eventlog.MaxEventSize-700) // within the log's limit, not the server's with the envelope
	r.append("employee-850101045566", "employee.StaffRecorded.v1", big)
	after := r.append("employee-900101045567", "employee.StaffRecorded.v1", staff("900101045567", "Siti binti Ali"))

	msg, w := receive(t, subscribe(t, url, prefix+".employee"))
	if msg.UUID != after.ID.String() || w.Position != after.Position {
		t.Fatalf("first message delivered: %s at %d, want the event after the oversized one (%s at %d)", msg.UUID, w.Position, after.ID, after.Position)
	}
	found := false
	for _, d := range r.deadLetters() {
		if strings.Contains(string(d), "max_payload") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no dead letter naming max_payload for the oversized event: %q", r.deadLetters())
	}
}
