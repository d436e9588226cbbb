package kurrent

// These tests run the adapter through the real esdb client over real gRPC
// against a scripted peer that speaks KurrentDB's Streams protocol. The peer
// is not KurrentDB: it answers what each test scripts, so these tests check
// what the adapter sends (expected revisions, event IDs, content type,
// metadata, subscription positions and filter) and how it maps the answers
// (wrong expected version, stream not found, drops, access denied). Whether a
// real server behaves as scripted is checked only by the contract suite in
// store_test.go, against ISPEKS_TEST_KURRENTDB_URL.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

type appendCall struct {
	opts *api.AppendReq_Options
	msgs []*api.AppendReq_ProposedMessage
}

// peer is the scripted Streams endpoint.
type peer struct {
	api.UnimplementedStreamsServer

	mu      sync.Mutex
	streams map[string][]*api.ReadResp_ReadEvent_RecordedEvent // revision order
	all     []*api.ReadResp_ReadEvent_RecordedEvent            // $all order
	reads   []*api.ReadReq
	appends []appendCall
	subs    []*api.ReadReq

	onAppend    func(call appendCall) *api.AppendResp
	appendErr   error // answered instead of onAppend when set
	onSubscribe func(n int, req *api.ReadReq, srv api.Streams_ReadServer) error
}

func startPeer(t *testing.T, p *peer) *Store {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	api.RegisterStreamsServer(srv, p)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil))) // the client logs every scripted failure
	t.Cleanup(func() { slog.SetDefault(prev) })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Open(ctx, "esdb://"+lis.Addr().String()+"?tls=false")
	if err != nil {
		t.Fatalf("open against the scripted peer: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// wireEvent is what the server sends for an event we encoded.
func wireEvent(stream string, revision, pos uint64, d esdb.EventData) *api.ReadResp_ReadEvent_RecordedEvent {
	most, least := esdb.UUIDAsInt64(d.EventID)
	ct := "application/octet-stream"
	if d.ContentType == esdb.ContentTypeJson {
		ct = "application/json"
	}
	return &api.ReadResp_ReadEvent_RecordedEvent{
		Id:               &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{MostSignificantBits: most, LeastSignificantBits: least}}},
		StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(stream)},
		StreamRevision:   revision,
		CommitPosition:   pos,
		PreparePosition:  pos,
		Metadata:         map[string]string{"type": d.EventType, "content-type": ct, "created": strconv.FormatInt(time.Now().UnixNano()/100, 10)},
		CustomMetadata:   d.Metadata,
		Data:             d.Data,
	}
}

// systemEvent is one of KurrentDB's own events.
func systemEvent(pos uint64) *api.ReadResp_ReadEvent_RecordedEvent {
	return wireEvent("$stats-127.0.0.1:2113", 0, pos, esdb.EventData{EventID: uuid.New(), EventType: "$statsCollected", ContentType: esdb.ContentTypeJson, Data: []byte(`{}`)})
}

// store puts events we encoded into a stream of the peer, and into $all.
func (p *peer) store(stream string, firstPos uint64, data []esdb.EventData) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.streams == nil {
		p.streams = map[string][]*api.ReadResp_ReadEvent_RecordedEvent{}
	}
	for i, d := range data {
		ev := wireEvent(stream, uint64(len(p.streams[stream])), firstPos+uint64(i)*100, d)
		p.streams[stream] = append(p.streams[stream], ev)
		p.all = append(p.all, ev)
	}
}

func send(srv api.Streams_ReadServer, ev *api.ReadResp_ReadEvent_RecordedEvent) error {
	return srv.Send(&api.ReadResp{Content: &api.ReadResp_Event{Event: &api.ReadResp_ReadEvent{
		Event:    ev,
		Position: &api.ReadResp_ReadEvent_CommitPosition{CommitPosition: ev.CommitPosition},
	}}})
}

func (p *peer) Read(req *api.ReadReq, srv api.Streams_ReadServer) error {
	opts := req.GetOptions()
	if opts.GetSubscription() != nil {
		p.mu.Lock()
		if pos := opts.GetAll().GetPosition(); pos != nil && !p.isEventPosition(pos) {
			p.mu.Unlock()
			return status.Errorf(codes.Internal, "scripted peer: subscription from %d/%d, not the position of an event", pos.GetCommitPosition(), pos.GetPreparePosition())
		}
		p.subs = append(p.subs, req)
		n := len(p.subs)
		p.mu.Unlock()
		if p.onSubscribe == nil {
			return status.Error(codes.Unimplemented, "no subscriptions scripted")
		}
		return p.onSubscribe(n, req, srv)
	}
	p.mu.Lock()
	p.reads = append(p.reads, req)
	var evs []*api.ReadResp_ReadEvent_RecordedEvent
	backwards := opts.GetReadDirection() == api.ReadReq_Options_Backwards
	count := int(opts.GetCount())
	if so := opts.GetStream(); so != nil {
		name := string(so.GetStreamIdentifier().GetStreamName())
		stream, ok := p.streams[name]
		if !ok {
			p.mu.Unlock()
			return srv.Send(&api.ReadResp{Content: &api.ReadResp_StreamNotFound_{StreamNotFound: &api.ReadResp_StreamNotFound{StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(name)}}}})
		}
		for _, ev := range stream {
			switch {
			case so.GetStart() != nil, so.GetEnd() != nil:
				evs = append(evs, ev)
			case !backwards && ev.StreamRevision >= so.GetRevision(), backwards && ev.StreamRevision <= so.GetRevision():
				evs = append(evs, ev)
			}
		}
	} else {
		ao := opts.GetAll()
		if pos := ao.GetPosition(); pos != nil && !p.isEventPosition(pos) {
			p.mu.Unlock()
			// What a real server does with a position inside a record is
			// undefined; the adapter must never send one.
			return status.Errorf(codes.Internal, "scripted peer: %d/%d is not the position of an event", pos.GetCommitPosition(), pos.GetPreparePosition())
		}
		for _, ev := range p.all {
			switch {
			case ao.GetStart() != nil, ao.GetEnd() != nil:
				evs = append(evs, ev)
			case !backwards && ev.CommitPosition >= ao.GetPosition().GetCommitPosition(): // inclusive, like the server
				evs = append(evs, ev)
			case backwards && ev.CommitPosition < ao.GetPosition().GetCommitPosition(): // backwards positions are post-positions
				evs = append(evs, ev)
			}
		}
	}
	p.mu.Unlock()
	if backwards {
		slices.Reverse(evs)
	}
	for i, ev := range evs {
		if i == count {
			break
		}
		if err := send(srv, ev); err != nil {
			return err
		}
	}
	return nil
}

// isEventPosition reports whether pos is exactly an event's; p.mu is held.
func (p *peer) isEventPosition(pos *api.ReadReq_Options_Position) bool {
	for _, ev := range p.all {
		if ev.CommitPosition == pos.GetCommitPosition() && ev.PreparePosition == pos.GetPreparePosition() {
			return true
		}
	}
	return false
}

func (p *peer) Append(srv api.Streams_AppendServer) error {
	var call appendCall
	for {
		req, err := srv.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if o := req.GetOptions(); o != nil {
			call.opts = o
		}
		if m := req.GetProposedMessage(); m != nil {
			call.msgs = append(call.msgs, m)
		}
	}
	p.mu.Lock()
	p.appends = append(p.appends, call)
	appendErr := p.appendErr
	p.mu.Unlock()
	if appendErr != nil {
		return appendErr
	}
	if p.onAppend == nil {
		return status.Error(codes.Unimplemented, "no appends scripted")
	}
	return srv.SendAndClose(p.onAppend(call))
}

func (p *peer) appendCalls() []appendCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.appends)
}

func success(revision, pos uint64) *api.AppendResp {
	return &api.AppendResp{Result: &api.AppendResp_Success_{Success: &api.AppendResp_Success{
		CurrentRevisionOption: &api.AppendResp_Success_CurrentRevision{CurrentRevision: revision},
		PositionOption:        &api.AppendResp_Success_Position{Position: &api.AppendResp_Position{CommitPosition: pos, PreparePosition: pos}},
	}}}
}

func wrongVersion(current uint64) *api.AppendResp {
	return &api.AppendResp{Result: &api.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: &api.AppendResp_WrongExpectedVersion{
		CurrentRevisionOption:  &api.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: current},
		ExpectedRevisionOption: &api.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}},
	}}}
}

// sent decodes what an append call carried back into records.
func sent(t *testing.T, stream string, call appendCall, firstRevision uint64) []eventlog.Record {
	t.Helper()
	var recs []eventlog.Record
	for i, m := range call.msgs {
		ev := &api.ReadResp_ReadEvent_RecordedEvent{
			Id: m.GetId(), StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(stream)},
			StreamRevision: firstRevision + uint64(i),
			Metadata:       map[string]string{"type": m.GetMetadata()["type"], "content-type": m.GetMetadata()["content-type"], "created": "0"},
			CustomMetadata: m.GetCustomMetadata(), Data: m.GetData(),
		}
		rec, err := recordOf(ptr(esdbRecorded(ev)))
		if err != nil {
			t.Fatalf("message %d sent is not readable back: %v", i, err)
		}
		recs = append(recs, rec)
	}
	return recs
}

func ptr[T any](v T) *T { return &v }

// esdbRecorded decodes a wire event the way the client does.
func esdbRecorded(ev *api.ReadResp_ReadEvent_RecordedEvent) esdb.RecordedEvent {
	s := ev.GetId().GetStructured()
	id, _ := esdb.ParseUUIDFromInt64(s.GetMostSignificantBits(), s.GetLeastSignificantBits())
	return esdb.RecordedEvent{
		EventID: id, EventType: ev.Metadata["type"], ContentType: ev.Metadata["content-type"],
		StreamID: string(ev.GetStreamIdentifier().GetStreamName()), EventNumber: ev.StreamRevision,
		Position: esdb.Position{Commit: ev.CommitPosition, Prepare: ev.PreparePosition},
		Data:     ev.Data, UserMetadata: ev.CustomMetadata,
	}
}

func TestWireAppendToANewStreamSendsNoStreamOurIDsAndAChain(t *testing.T) {
	p := &peer{onAppend: func(call appendCall) *api.AppendResp { return success(uint64(len(call.msgs))-1, 7000) }}
	s := startPeer(t, p)
	events := proposed(3)
	res, err := s.Append(context.Background(), "account-u1", eventlog.NoStream(), events)
	if err != nil {
		t.Fatal(err)
	}
	if want := (eventlog.AppendResult{FirstVersion: 1, LastVersion: 3, LastPosition: 7000}); res != want {
		t.Errorf("result %+v, want %+v", res, want)
	}
	calls := p.appendCalls()
	if len(calls) != 1 {
		t.Fatalf("%d append calls, want 1", len(calls))
	}
	c := calls[0]
	if c.opts.GetNoStream() == nil || string(c.opts.GetStreamIdentifier().GetStreamName()) != "account-u1" {
		t.Fatalf("append options %v: want stream account-u1 expecting no stream", c.opts)
	}
	for i, m := range c.msgs {
		if m.GetMetadata()["content-type"] != "application/json" || m.GetMetadata()["type"] != events[i].Type {
			t.Errorf("message %d metadata %v", i, m.GetMetadata())
		}
	}
	recs := sent(t, "account-u1", c, 0)
	for i, rec := range recs {
		if rec.ID != events[i].ID {
			t.Errorf("message %d has event ID %s, want ours %s", i, rec.ID, events[i].ID)
		}
	}
	if broken := eventlog.VerifyStream(recs); broken != nil {
		t.Errorf("chain sent: %v", broken)
	}
}

func TestWireExactVersionAppendsChainOnTheLastEvent(t *testing.T) {
	p := &peer{onAppend: func(call appendCall) *api.AppendResp { return success(2, 9000) }}
	s := startPeer(t, p)
	first, err := encodeAppend("account-u1", 0, "", proposed(2))
	if err != nil {
		t.Fatal(err)
	}
	p.store("account-u1", 1000, first)

	events := proposed(1)
	res, err := s.Append(context.Background(), "account-u1", eventlog.Exactly(2), events)
	if err != nil {
		t.Fatal(err)
	}
	if want := (eventlog.AppendResult{FirstVersion: 3, LastVersion: 3, LastPosition: 9000}); res != want {
		t.Errorf("result %+v, want %+v", res, want)
	}
	c := p.appendCalls()[0]
	if _, ok := c.opts.GetExpectedStreamRevision().(*api.AppendReq_Options_Revision); !ok || c.opts.GetRevision() != 1 {
		t.Fatalf("expected revision sent %v, want revision 1 (our version 2)", c.opts.GetExpectedStreamRevision())
	}
	stored, err := s.ReadStream(context.Background(), "account-u1", 1, eventlog.Forwards, 10)
	if err != nil {
		t.Fatal(err)
	}
	all := append(stored, sent(t, "account-u1", c, 2)...)
	if broken := eventlog.VerifyStream(all); broken != nil {
		t.Errorf("stored events plus the appended one do not chain: %v", broken)
	}
}

func TestWireWrongExpectedVersionBecomesTypedErrorWithActualVersion(t *testing.T) {
	p := &peer{}
	// Another writer wins the race between our read and our append.
	rival, err := encodeAppend("account-u1", 0, "", proposed(1))
	if err != nil {
		t.Fatal(err)
	}
	p.onAppend = func(call appendCall) *api.AppendResp {
		p.store("account-u1", 500, rival)
		return wrongVersion(0)
	}
	s := startPeer(t, p)
	_, err = s.Append(context.Background(), "account-u1", eventlog.NoStream(), proposed(1))
	var wrong *eventlog.WrongExpectedVersionError
	if !errors.As(err, &wrong) {
		t.Fatalf("err = %v, want *eventlog.WrongExpectedVersionError", err)
	}
	if wrong.Actual != 1 || !wrong.Expected.IsNoStream() || wrong.Stream != "account-u1" {
		t.Errorf("error %+v: want actual 1, expected no stream", wrong)
	}
}

func TestWireVersionAheadOfTheStreamFailsWithoutAppending(t *testing.T) {
	p := &peer{onAppend: func(call appendCall) *api.AppendResp { return success(0, 1) }}
	s := startPeer(t, p)
	_, err := s.Append(context.Background(), "account-u1", eventlog.Exactly(3), proposed(1))
	var wrong *eventlog.WrongExpectedVersionError
	if !errors.As(err, &wrong) || wrong.Actual != 0 {
		t.Fatalf("err = %v, want wrong expected version with actual 0", err)
	}
	if n := len(p.appendCalls()); n != 0 {
		t.Errorf("%d append calls, want none", n)
	}
}

func TestWireAnyIsSentAsExactRevisionsAndRetried(t *testing.T) {
	p := &peer{onAppend: func(call appendCall) *api.AppendResp { return wrongVersion(0) }}
	s := startPeer(t, p)
	_, err := s.Append(context.Background(), "loginprobe-abc", eventlog.Any(), proposed(1))
	var wrong *eventlog.WrongExpectedVersionError
	if !errors.As(err, &wrong) {
		t.Fatalf("err = %v, want a wrapped wrong expected version after the retries", err)
	}
	calls := p.appendCalls()
	if len(calls) != anyAttempts {
		t.Errorf("%d append calls, want %d", len(calls), anyAttempts)
	}
	for i, c := range calls {
		if c.opts.GetAny() != nil || c.opts.GetNoStream() == nil {
			t.Errorf("call %d sent %v, want no stream (the version the chain was built on), never any", i, c.opts.GetExpectedStreamRevision())
		}
	}
}

func TestWireAppendRefusedForItsSizeNamesTheServerSetting(t *testing.T) {
	p := &peer{appendErr: status.Error(codes.InvalidArgument, "Maximum Append Size of 1048576 Exceeded.")}
	s := startPeer(t, p)
	_, err := s.Append(context.Background(), "account-u1", eventlog.NoStream(), proposed(2))
	if !errors.Is(err, ErrAppendTooLarge) {
		t.Fatalf("err = %v, want ErrAppendTooLarge", err)
	}
	// Other refusals are not mistaken for it.
	p.mu.Lock()
	p.appendErr = status.Error(codes.InvalidArgument, "something else")
	p.mu.Unlock()
	if _, err := s.Append(context.Background(), "account-u2", eventlog.NoStream(), proposed(1)); err == nil || errors.Is(err, ErrAppendTooLarge) {
		t.Fatalf("err = %v, want a plain error", err)
	}
}

func TestWireRetriedAppendReturnsTheOriginalResultWithoutWriting(t *testing.T) {
	p := &peer{onAppend: func(call appendCall) *api.AppendResp { return success(99, 99) }}
	s := startPeer(t, p)
	events := proposed(2)
	data, err := encodeAppend("account-u1", 0, "", events)
	if err != nil {
		t.Fatal(err)
	}
	p.store("account-u1", 1000, data)
	later, err := encodeAppend("account-u1", 2, "", proposed(1)) // another command's event after ours
	if err != nil {
		t.Fatal(err)
	}
	p.store("account-u1", 1200, later)

	want := eventlog.AppendResult{FirstVersion: 1, LastVersion: 2, LastPosition: 1100, Replayed: true}
	// With the original expected version (KurrentDB's own idempotency case)
	// and with the version reloaded after it (a repeated command, which
	// KurrentDB would append again).
	for _, exp := range []eventlog.ExpectedVersion{eventlog.NoStream(), eventlog.Exactly(3), eventlog.Any()} {
		res, err := s.Append(context.Background(), "account-u1", exp, events)
		if err != nil || res != want {
			t.Errorf("retry expecting %s = %+v, %v; want %+v", exp, res, err, want)
		}
	}
	if n := len(p.appendCalls()); n != 0 {
		t.Errorf("%d append calls, want none", n)
	}
}

func TestWireRetryOlderThanTheWindowIsLeftToKurrentDBAndReadBack(t *testing.T) {
	p := &peer{}
	events := proposed(2)
	data, err := encodeAppend("account-u1", 0, "", events)
	if err != nil {
		t.Fatal(err)
	}
	p.store("account-u1", 1000, data)
	for i := 0; i < idempotencyWindow; i++ {
		more, err := encodeAppend("account-u1", uint64(2+i), "", proposed(1))
		if err != nil {
			t.Fatal(err)
		}
		p.store("account-u1", 5000+uint64(i)*100, more)
	}
	// KurrentDB recognises the retry: same IDs right after the expected revision.
	p.onAppend = func(call appendCall) *api.AppendResp { return success(1, 0) }
	s := startPeer(t, p)
	res, err := s.Append(context.Background(), "account-u1", eventlog.NoStream(), events)
	if want := (eventlog.AppendResult{FirstVersion: 1, LastVersion: 2, LastPosition: 1100, Replayed: true}); err != nil || res != want {
		t.Fatalf("retry = %+v, %v; want %+v read back from the stream", res, err, want)
	}
	if c := p.appendCalls(); len(c) != 1 || c[0].opts.GetNoStream() == nil {
		t.Fatalf("append calls %v: want one, with the caller's expected version (no stream)", c)
	}
	// A real conflict at an old version stays a conflict.
	p.onAppend = func(call appendCall) *api.AppendResp { return wrongVersion(uint64(idempotencyWindow) + 1) }
	_, err = s.Append(context.Background(), "account-u1", eventlog.Exactly(1), proposed(1))
	var wrong *eventlog.WrongExpectedVersionError
	if !errors.As(err, &wrong) || wrong.Actual != uint64(idempotencyWindow)+2 {
		t.Fatalf("err = %v, want wrong expected version with actual %d", err, idempotencyWindow+2)
	}
}

func TestWireReadStreamMapsVersionsAndMissingStreams(t *testing.T) {
	p := &peer{}
	s := startPeer(t, p)
	ctx := context.Background()
	recs, err := s.ReadStream(ctx, "account-nobody", 1, eventlog.Forwards, 10)
	if err != nil || len(recs) != 0 {
		t.Fatalf("missing stream = %v, %v; want empty, no error", recs, err)
	}
	data, err := encodeAppend("account-u1", 0, "", proposed(5))
	if err != nil {
		t.Fatal(err)
	}
	p.store("account-u1", 100, data)
	versions := func(recs []eventlog.Record) []uint64 {
		var out []uint64
		for _, r := range recs {
			out = append(out, r.Version)
		}
		return out
	}
	cases := []struct {
		from  uint64
		dir   eventlog.Direction
		limit int
		want  []uint64
	}{
		{0, eventlog.Forwards, 10, []uint64{1, 2, 3, 4, 5}},
		{1, eventlog.Forwards, 2, []uint64{1, 2}},
		{3, eventlog.Forwards, 10, []uint64{3, 4, 5}},
		{0, eventlog.Backwards, 2, []uint64{5, 4}},
		{3, eventlog.Backwards, 10, []uint64{3, 2, 1}},
	}
	for _, c := range cases {
		recs, err := s.ReadStream(ctx, "account-u1", c.from, c.dir, c.limit)
		if err != nil || !slices.Equal(versions(recs), c.want) {
			t.Errorf("ReadStream(from %d, dir %d, limit %d) = %v, %v; want %v", c.from, c.dir, c.limit, versions(recs), err, c.want)
		}
	}
	if _, err := s.ReadStream(ctx, "$all", 0, eventlog.Forwards, 1); !errors.Is(err, eventlog.ErrInvalidStream) {
		t.Errorf("ReadStream($all) err = %v, want ErrInvalidStream", err)
	}
}

func TestWireReadAllAndLastPositionSkipSystemEvents(t *testing.T) {
	p := &peer{}
	s := startPeer(t, p)
	ctx := context.Background()
	if last, err := s.LastPosition(ctx); err != nil || last != 0 {
		t.Fatalf("LastPosition of an empty log = %d, %v", last, err)
	}
	p.mu.Lock()
	p.all = append(p.all, systemEvent(10), systemEvent(20))
	p.mu.Unlock()
	if last, err := s.LastPosition(ctx); err != nil || last != 0 {
		t.Fatalf("LastPosition with only system events = %d, %v; want 0", last, err)
	}
	data, err := encodeAppend("account-u1", 0, "", proposed(4))
	if err != nil {
		t.Fatal(err)
	}
	p.store("account-u1", 100, data[:2]) // positions 100, 200
	p.mu.Lock()
	p.all = append(p.all, systemEvent(250))
	p.mu.Unlock()
	p.store("account-u1", 300, data[2:]) // positions 300, 400
	p.mu.Lock()
	for i := 0; i < 70; i++ { // more than one backwards page of system events at the end
		p.all = append(p.all, systemEvent(500+uint64(i)))
	}
	p.mu.Unlock()

	if last, err := s.LastPosition(ctx); err != nil || last != 400 {
		t.Fatalf("LastPosition = %d, %v; want 400, the last iSPEKS event", last, err)
	}
	positions := func(recs []eventlog.Record) []uint64 {
		var out []uint64
		for _, r := range recs {
			out = append(out, r.Position)
		}
		return out
	}
	cases := []struct {
		after uint64
		limit int
		want  []uint64
	}{
		{0, 10, []uint64{100, 200, 300, 400}},
		{0, 2, []uint64{100, 200}},
		{100, 2, []uint64{200, 300}}, // exclusive of after, across a system event
		{200, 10, []uint64{300, 400}},
		{400, 10, nil},
		// Numbers that are not event positions ("just before 300") are
		// resolved to the event before them, never sent to the server.
		{299, 10, []uint64{300, 400}},
		{150, 1, []uint64{200}},
		{99, 1, []uint64{100}},
		{5, 10, []uint64{100, 200, 300, 400}},
		{450, 10, nil},
	}
	for _, c := range cases {
		recs, err := s.ReadAll(ctx, c.after, c.limit)
		if err != nil || !slices.Equal(positions(recs), c.want) {
			t.Errorf("ReadAll(after %d, limit %d) = %v, %v; want %v", c.after, c.limit, positions(recs), err, c.want)
		}
	}
}

func TestWireSubscribeResubscribesFromTheLastDeliveredPosition(t *testing.T) {
	data, err := encodeAppend("account-u1", 0, "", proposed(3))
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{}
	p.store("account-u1", 1000, data) // positions 1000, 1100, 1200
	evs := p.all
	confirm := func(srv api.Streams_ReadServer) error {
		return srv.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{Confirmation: &api.ReadResp_SubscriptionConfirmation{SubscriptionId: "sub"}}})
	}
	p.onSubscribe = func(n int, req *api.ReadReq, srv api.Streams_ReadServer) error {
		if err := confirm(srv); err != nil {
			return err
		}
		switch n {
		case 1:
			for _, ev := range evs[:2] {
				if err := send(srv, ev); err != nil {
					return err
				}
			}
			return status.Error(codes.Unavailable, "node going down") // the drop
		default:
			// A server may repeat the last event; the adapter must not.
			for _, ev := range evs[1:] {
				if err := send(srv, ev); err != nil {
					return err
				}
			}
			<-srv.Context().Done()
			return nil
		}
	}
	s := startPeer(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []uint64
	err = s.Subscribe(ctx, 0, func(_ context.Context, rec eventlog.Record) error {
		got = append(got, rec.Position)
		if len(got) == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Subscribe returned %v, want context.Canceled", err)
	}
	if !slices.Equal(got, []uint64{1000, 1100, 1200}) {
		t.Errorf("delivered %v, want each event once: [1000 1100 1200]", got)
	}
	p.mu.Lock()
	subs := slices.Clone(p.subs)
	p.mu.Unlock()
	if len(subs) != 2 {
		t.Fatalf("%d subscriptions, want 2", len(subs))
	}
	if subs[0].GetOptions().GetAll().GetStart() == nil {
		t.Errorf("first subscription from %v, want start", subs[0].GetOptions().GetAll())
	}
	pos := subs[1].GetOptions().GetAll().GetPosition()
	if pos.GetCommitPosition() != 1100 || pos.GetPreparePosition() != 1100 {
		t.Errorf("resubscribed from %v, want commit 1100 prepare 1100", pos)
	}
	for i, sub := range subs {
		f := sub.GetOptions().GetFilter()
		if f.GetEventType().GetRegex() != `^[^\$].*` {
			t.Errorf("subscription %d filter %v, want the exclude-system-events filter", i, f)
		}
	}
}

func TestWireSubscribeFromAPositionAndEndsOnAccessDeniedOrClose(t *testing.T) {
	p := &peer{}
	data, err := encodeAppend("account-u1", 0, "", proposed(1))
	if err != nil {
		t.Fatal(err)
	}
	p.store("account-u1", 4242, data)
	p.onSubscribe = func(n int, req *api.ReadReq, srv api.Streams_ReadServer) error {
		return status.Error(codes.PermissionDenied, "no $all for you")
	}
	s := startPeer(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = s.Subscribe(ctx, 4242, func(context.Context, eventlog.Record) error { return nil })
	var esErr *esdb.Error
	if !errors.As(err, &esErr) || esErr.Code() != esdb.ErrorCodeAccessDenied {
		t.Fatalf("Subscribe err = %v, want access denied", err)
	}
	p.mu.Lock()
	pos := p.subs[0].GetOptions().GetAll().GetPosition()
	p.mu.Unlock()
	if pos.GetCommitPosition() != 4242 || pos.GetPreparePosition() != 4242 {
		t.Errorf("subscribed from %v, want (4242, 4242)", pos)
	}

	// A live subscription ends with ErrClosed when the store closes.
	p.onSubscribe = func(n int, req *api.ReadReq, srv api.Streams_ReadServer) error {
		if err := srv.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{Confirmation: &api.ReadResp_SubscriptionConfirmation{SubscriptionId: "sub"}}}); err != nil {
			return err
		}
		<-srv.Context().Done()
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- s.Subscribe(ctx, 0, func(context.Context, eventlog.Record) error { return nil }) }()
	for {
		p.mu.Lock()
		n := len(p.subs)
		p.mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = s.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Subscribe after Close returned %v, want ErrClosed", err)
	}
	if _, err := s.Append(ctx, "account-u1", eventlog.NoStream(), proposed(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close err = %v, want ErrClosed", err)
	}
}

func TestWireHandlerErrorEndsSubscribe(t *testing.T) {
	data, err := encodeAppend("account-u1", 0, "", proposed(1))
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{}
	p.onSubscribe = func(n int, req *api.ReadReq, srv api.Streams_ReadServer) error {
		if err := srv.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{Confirmation: &api.ReadResp_SubscriptionConfirmation{SubscriptionId: "sub"}}}); err != nil {
			return err
		}
		if err := send(srv, wireEvent("account-u1", 0, 100, data[0])); err != nil {
			return err
		}
		<-srv.Context().Done()
		return nil
	}
	s := startPeer(t, p)
	boom := errors.New("projector failed")
	err = s.Subscribe(context.Background(), 0, func(context.Context, eventlog.Record) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Subscribe returned %v, want the handler's error", err)
	}
}

func TestOpenRefusesBadConnectionStrings(t *testing.T) {
	ctx := context.Background()
	for _, bad := range []string{"http://localhost:2113", "esdb://", "not a url at all", "esdb://admin:s3cr3t@localhost:2113?tls=maybe"} {
		s, err := Open(ctx, bad)
		if err == nil {
			_ = s.Close()
			t.Errorf("Open(%q) succeeded", bad)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("Open(%q) error leaks the password: %v", bad, err)
		}
	}
}

func TestOpenReportsAnUnreachableServerWithoutItsPassword(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, "esdb://admin:s3cr3t@"+addr+"?tls=false")
	if err == nil {
		_ = s.Close()
		t.Fatal("Open succeeded with no server")
	}
	if !strings.Contains(err.Error(), addr) || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error %q should name %s and not the password", err, addr)
	}
}

func TestWireSubscribeFromANumberThatIsNotAnEventPosition(t *testing.T) {
	data, err := encodeAppend("account-u1", 0, "", proposed(3))
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{}
	p.store("account-u1", 1000, data) // positions 1000, 1100, 1200
	p.onSubscribe = func(n int, req *api.ReadReq, srv api.Streams_ReadServer) error {
		if err := srv.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{Confirmation: &api.ReadResp_SubscriptionConfirmation{SubscriptionId: "sub"}}}); err != nil {
			return err
		}
		var from uint64 // exclusive, like the server; 0 with Start
		if pos := req.GetOptions().GetAll().GetPosition(); pos != nil {
			from = pos.GetCommitPosition()
		}
		p.mu.Lock()
		evs := slices.Clone(p.all)
		p.mu.Unlock()
		for _, ev := range evs {
			if ev.CommitPosition > from {
				if err := send(srv, ev); err != nil {
					return err
				}
			}
		}
		<-srv.Context().Done()
		return nil
	}
	s := startPeer(t, p)
	for _, c := range []struct {
		after, first uint64
		startAt      uint64 // the subscription's start position; 0: Start
	}{
		{1099, 1100, 1000}, // "just before 1100"
		{1150, 1200, 1100},
		{5, 1000, 0},
		{1000, 1100, 1000},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var first uint64
		err := s.Subscribe(ctx, c.after, func(_ context.Context, rec eventlog.Record) error {
			first = rec.Position
			return errEnough
		})
		cancel()
		if !errors.Is(err, errEnough) || first != c.first {
			t.Errorf("Subscribe(after %d) = first %d, %v; want first %d", c.after, first, err, c.first)
		}
		p.mu.Lock()
		got := p.subs[len(p.subs)-1].GetOptions().GetAll().GetPosition().GetCommitPosition()
		p.mu.Unlock()
		if got != c.startAt {
			t.Errorf("Subscribe(after %d) subscribed from %d, want %d", c.after, got, c.startAt)
		}
	}
}

var errEnough = errors.New("enough")
