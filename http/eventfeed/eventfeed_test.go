package eventfeed_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/apiclient"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/http/apiauth"
	"github.com/melaka-gov/ispeks/http/eventfeed"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/infra/downstream"
	evsqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	rssqlite "github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/apiclients"
	"github.com/melaka-gov/ispeks/projections/engine"
)

type sse struct {
	ID    string
	Event string
	Data  string
}

// readSSE parses n messages (comments and the retry hint skipped).
func readSSE(t *testing.T, sc *bufio.Scanner, n int) []sse {
	t.Helper()
	var out []sse
	var cur sse
	for len(out) < n && sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.Data != "" {
				out = append(out, cur)
			}
			cur = sse{}
		case strings.HasPrefix(line, ":"), strings.HasPrefix(line, "retry:"):
		case strings.HasPrefix(line, "id: "):
			cur.ID = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			cur.Event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.Data = strings.TrimPrefix(line, "data: ")
		default:
			t.Fatalf("unexpected SSE line %q", line)
		}
	}
	if len(out) < n {
		t.Fatalf("stream ended after %d of %d events: %v", len(out), n, sc.Err())
	}
	return out
}

type feedRig struct {
	t      *testing.T
	events *evsqlite.Store
	views  *rssqlite.Store
	reg    *eventlog.Registry
	srv    *httptest.Server
	runner commands.Runner
	eng    *engine.Engine
	halt   func() // stops eng
	stop   chan struct{}
	ended  chan struct{} // one value each time a feed request's handler returns
}

// RecheckEvery of the rig's feed.
const recheckEvery = 200 * time.Millisecond

func newFeedRig(t *testing.T, opts ...func(*eventfeed.Feed)) *feedRig {
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
	apiclient.Register(reg)
	employee.Register(reg)
	stop := make(chan struct{})
	gin.SetMode(gin.ReleaseMode)
	router := gin.New()
	auth := apiauth.New(apiclients.Queries{Reader: views}, apiauth.Config{})
	feed := &eventfeed.Feed{Events: events, Clients: apiclients.Queries{Reader: views},
		Heartbeat: 50 * time.Millisecond, RecheckEvery: recheckEvery, Stop: stop}
	for _, o := range opts {
		o(feed)
	}
	ended := make(chan struct{}, 100)
	onEnd := func(c *gin.Context) {
		c.Next()
		select {
		case ended <- struct{}{}:
		default:
		}
	}
	router.Group("/api/v1", onEnd, auth.Middleware()).GET("/events", apiauth.RequireScope(apiclient.ScopeEventsRead), feed.Handler())
	srv := httptest.NewServer(router)
	r := &feedRig{t: t, events: events, views: views, reg: reg, srv: srv, stop: stop, ended: ended,
		runner: commands.Runner{Store: events, Registry: reg, Now: time.Now}}
	r.startEngine()
	t.Cleanup(func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		srv.Close()
		r.halt()
	})
	return r
}

// startEngine runs the apiclients projector until halt (or the test's end).
func (r *feedRig) startEngine() {
	r.t.Helper()
	eng, err := engine.New(engine.Config{Log: r.events, Store: r.views, Registry: r.reg, Projectors: []projections.Projector{apiclients.Projector{}}})
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	var once sync.Once
	r.eng, r.halt = eng, func() { once.Do(func() { cancel(); <-done }) }
}

func (r *feedRig) client(id string, scopes ...string) string {
	r.t.Helper()
	cmd, err := commands.AddAPIClient{Meta: commands.Meta{CommandID: uuid.New(), Actor: eventlog.Actor{Kind: eventlog.ActorAdmin, ID: "cli"}}, ClientID: id, Name: id, Scopes: scopes}.WithNewToken()
	if err != nil {
		r.t.Fatal(err)
	}
	res, err := commands.AddAPIClientHandler{Runner: r.runner}.Handle(context.Background(), cmd)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.eng.WaitFor(context.Background(), res.Position, "apiclients"); err != nil {
		r.t.Fatal(err)
	}
	return cmd.Token
}

func (r *feedRig) staff(ic, name string) eventlog.Record {
	r.t.Helper()
	data, _ := json.Marshal(employee.StaffRecorded{IC: ic, Name: name, Email: "j@melaka.gov.my", Department: "D", Post: "P", StaffNumber: "S1"})
	id := uuid.New()
	stream := "employee-" + ic
	if _, err := r.events.Append(context.Background(), stream, eventlog.Any(), []eventlog.Proposed{{
		ID: id, Type: "employee.StaffRecorded.v1", OccurredAt: time.Now().UTC(), Data: data,
		Metadata: eventlog.Metadata{Actor: eventlog.Actor{Kind: eventlog.ActorClient, ID: "payroll"}},
	}}); err != nil {
		r.t.Fatal(err)
	}
	recs, _ := r.events.ReadStream(context.Background(), stream, 0, eventlog.Backwards, 1)
	return recs[0]
}

func (r *feedRig) get(ctx context.Context, query, token, lastID string) *http.Response {
	r.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", r.srv.URL+"/api/v1/events"+query, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	return resp
}

func TestFeedCatchUpResumeAndLive(t *testing.T) {
	r := newFeedRig(t)
	token := r.client("feed", apiclient.ScopeEventsRead)
	e1 := r.staff("850101045566", "Aminah binti Yusof")
	e2 := r.staff("900202055123", "Lim Wei Ming")
	e3 := r.staff("880303035555", "Siva a/l Raman")

	// Catch-up from the start: the three staff events, not the API client
	// event (token hash) before them.
	resp := r.get(context.Background(), "?after=0&limit=3", token, "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	got := readSSE(t, bufio.NewScanner(resp.Body), 3)
	resp.Body.Close()
	for i, want := range []eventlog.Record{e1, e2, e3} {
		var w downstream.WireEvent
		if err := json.Unmarshal([]byte(got[i].Data), &w); err != nil {
			t.Fatal(err)
		}
		if got[i].ID != strconv.FormatUint(want.Position, 10) || got[i].Event != want.Type || w.ID != want.ID || w.Stream != want.Stream {
			t.Fatalf("event %d: %+v, want position %d id %s", i, got[i], want.Position, want.ID)
		}
	}

	// Resume after the second with Last-Event-ID (it wins over after=0).
	resp = r.get(context.Background(), "?after=0&limit=1", token, got[1].ID)
	again := readSSE(t, bufio.NewScanner(resp.Body), 1)
	resp.Body.Close()
	if again[0].ID != strconv.FormatUint(e3.Position, 10) {
		t.Fatalf("resumed at %s, want %d", again[0].ID, e3.Position)
	}

	// Live: an open stream receives a new event as it is appended, and
	// keeps the connection alive with heartbeats meanwhile.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp = r.get(ctx, "?after="+strconv.FormatUint(e3.Position, 10), token, "")
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	// Wait for a heartbeat so the subscription is surely open, then append.
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), ": keep-alive") {
			break
		}
	}
	e4 := r.staff("770404045777", "Tan Mei Ling")
	live := readSSE(t, sc, 1)
	if live[0].ID != strconv.FormatUint(e4.Position, 10) || !strings.Contains(live[0].Data, "Tan Mei Ling") {
		t.Fatalf("live event %+v", live[0])
	}
	// Server shutdown ends open streams.
	close(r.stop)
	for sc.Scan() {
	}
}

func TestFeedRefusals(t *testing.T) {
	r := newFeedRig(t)
	reader := r.client("feed", apiclient.ScopeEventsRead)
	writer := r.client("payroll", apiclient.ScopePaymentsWrite)
	cases := []struct {
		name, query, token, lastID string
		status                     int
		code, field                string
	}{
		{"no token", "", "", "", 401, "auth.missing_token", ""},
		{"wrong scope", "", writer, "", 403, "auth.insufficient_scope", ""},
		{"bad after", "?after=-1", reader, "", 400, "invalid_parameter", "after"},
		{"bad last id", "", reader, "abc", 400, "invalid_parameter", "Last-Event-ID"},
		{"bad limit", "?limit=0", reader, "", 400, "invalid_parameter", "limit"},
		{"huge limit", "?limit=1000001", reader, "", 400, "invalid_parameter", "limit"},
	}
	for _, tc := range cases {
		resp := r.get(context.Background(), tc.query, tc.token, tc.lastID)
		var je httpx.JSONError
		err := json.NewDecoder(resp.Body).Decode(&je)
		resp.Body.Close()
		if err != nil || resp.StatusCode != tc.status || je.Error.Code != tc.code || je.Error.Field != tc.field {
			t.Errorf("%s: %d %+v (%v), want %d %s field %q", tc.name, resp.StatusCode, je, err, tc.status, tc.code, tc.field)
		}
	}
}

func (r *feedRig) revoke(id string) commands.Result {
	r.t.Helper()
	res, err := commands.RevokeAPIClientHandler{Runner: r.runner}.Handle(context.Background(), commands.RevokeAPIClient{
		Meta:     commands.Meta{CommandID: uuid.New(), Actor: eventlog.Actor{Kind: eventlog.ActorAdmin, ID: "cli"}},
		ClientID: id, Reason: "token leaked",
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return res
}

// readUntilEnd reads the rest of a stream and returns its events; the test
// fails if the stream is still open after within.
func readUntilEnd(t *testing.T, sc *bufio.Scanner, within time.Duration) []sse {
	t.Helper()
	type result struct {
		events []sse
		err    error
	}
	done := make(chan result, 1)
	go func() {
		var out []sse
		var cur sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.Data != "" {
					out = append(out, cur)
				}
				cur = sse{}
			case strings.HasPrefix(line, "id: "):
				cur.ID = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				cur.Data = strings.TrimPrefix(line, "data: ")
			}
		}
		done <- result{out, sc.Err()}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			t.Fatalf("stream broke instead of ending: %v", res.err)
		}
		return res.events
	case <-time.After(within):
		t.Fatalf("stream still open %v later", within)
		return nil
	}
}

// TestFeedEndsAtTheClientsRevocation: an open stream reaches the client's
// revocation in the log and ends there; an event appended after it is
// never sent, however far the read model lags. A new request is refused.
func TestFeedEndsAtTheClientsRevocation(t *testing.T) {
	r := newFeedRig(t)
	token := r.client("leaky", apiclient.ScopeEventsRead)
	r.staff("900101141234", "Before Revoke")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp := r.get(ctx, "", token, "")
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	readSSE(t, sc, 1)

	res := r.revoke("leaky")
	after := r.staff("900202145678", "After Revoke")
	if after.Position <= res.Position {
		t.Fatalf("staff event at %d, revocation at %d", after.Position, res.Position)
	}
	if got := readUntilEnd(t, sc, 5*time.Second); len(got) != 0 {
		t.Fatalf("revoked client received %v", got)
	}

	if err := r.eng.WaitFor(context.Background(), res.Position, "apiclients"); err != nil {
		t.Fatal(err)
	}
	again := r.get(ctx, "", token, "")
	again.Body.Close()
	if again.StatusCode != http.StatusUnauthorized {
		t.Fatalf("new request after revocation: HTTP %d", again.StatusCode)
	}
}

// TestFeedRechecksTheClient: a stream opened after its client's revocation
// (the read model had not applied it yet, so the token passed) is checked
// again while idle and ends within RecheckEvery of the read model saying
// revoked.
func TestFeedRechecksTheClient(t *testing.T) {
	r := newFeedRig(t)
	token := r.client("late", apiclient.ScopeEventsRead)
	r.halt() // the read model stops at "not revoked"
	res := r.revoke("late")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp := r.get(ctx, "?after="+strconv.FormatUint(res.Position, 10), token, "")
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d: the read model should still let the token pass", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), ": keep-alive") {
	}
	r.startEngine()
	start := time.Now()
	got := readUntilEnd(t, sc, 5*time.Second)
	if len(got) != 0 {
		t.Fatalf("revoked client received %v", got)
	}
	t.Logf("stream ended %v after the projector restarted", time.Since(start))
}

// bulk appends n staff events of about size bytes each (a log big enough
// to fill the socket buffers of a reader that does not read).
func (r *feedRig) bulk(n, size int) {
	r.t.Helper()
	name := strings.Repeat("N", size)
	for done := 0; done < n; {
		batch := make([]eventlog.Proposed, 0, 100)
		for ; len(batch) < 100 && done < n; done++ {
			data, _ := json.Marshal(employee.StaffRecorded{IC: "850101045566", Name: name, Email: "j@melaka.gov.my", Department: "D", Post: "P", StaffNumber: "S1"})
			batch = append(batch, eventlog.Proposed{ID: uuid.New(), Type: "employee.StaffRecorded.v1", OccurredAt: time.Now().UTC(), Data: data,
				Metadata: eventlog.Metadata{Actor: eventlog.Actor{Kind: eventlog.ActorClient, ID: "payroll"}}})
		}
		if _, err := r.events.Append(context.Background(), "employee-850101045566", eventlog.Any(), batch); err != nil {
			r.t.Fatal(err)
		}
	}
}

// stalledReader opens the feed on a connection with a tiny receive buffer
// and never reads from it: a finance system that hangs, or a peer whose
// network went away without a reset.
func (r *feedRig) stalledReader(token string) {
	r.t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.Dial("tcp", strings.TrimPrefix(r.srv.URL, "http://"))
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { _ = conn.Close() })
	if _, err := fmt.Fprintf(conn, "GET /api/v1/events HTTP/1.1\r\nHost: feed\r\nAuthorization: Bearer %s\r\n\r\n", token); err != nil {
		r.t.Fatal(err)
	}
}

// waitEnded waits for a feed handler to return; the test fails if none
// has within.
func (r *feedRig) waitEnded(within time.Duration, what string) {
	r.t.Helper()
	select {
	case <-r.ended:
	case <-time.After(within):
		r.t.Fatalf("%s: the stream's handler still runs %v later", what, within)
	}
}

// TestFeedShutdownEndsAStalledStream: a stream whose reader stopped
// reading is blocked writing to it; server shutdown (Stop) must still end
// it, or every SIGTERM waits the whole grace period and then reports
// requests still running.
func TestFeedShutdownEndsAStalledStream(t *testing.T) {
	r := newFeedRig(t)
	token := r.client("stuck", apiclient.ScopeEventsRead)
	r.bulk(2000, 16<<10) // 32 MB: more than the socket buffers hold
	r.stalledReader(token)
	time.Sleep(500 * time.Millisecond) // let the writes fill the buffers and block
	select {
	case <-r.ended:
		t.Fatal("the stream ended before shutdown")
	default:
	}
	close(r.stop)
	r.waitEnded(5*time.Second, "after shutdown")
}

// TestFeedCutsOffAStalledReader: a reader that takes nothing for
// WriteTimeout is cut off (it reconnects with Last-Event-ID), so a hung
// finance system does not hold a stream, and its subscription to the log,
// for ever; one still reading is not.
func TestFeedCutsOffAStalledReader(t *testing.T) {
	r := newFeedRig(t, func(f *eventfeed.Feed) { f.WriteTimeout = 300 * time.Millisecond })
	token := r.client("stuck", apiclient.ScopeEventsRead)
	r.bulk(2000, 16<<10)
	r.stalledReader(token)
	r.waitEnded(10*time.Second, "stalled reader")

	// A reader that reads gets every event, the heartbeats between them
	// keeping it well inside the timeout.
	resp := r.get(context.Background(), "?limit=2000", token, "")
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	readSSE(t, sc, 2000)
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatalf("the stream did not end cleanly at its limit: %v", err)
	}
	resp.Body.Close()

	// The connection, kept alive, serves a later request: no deadline of
	// the stream is left on it.
	time.Sleep(500 * time.Millisecond)
	var reused bool
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }})
	resp = r.get(ctx, "?limit=1", token, "")
	defer resp.Body.Close()
	sc = bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	readSSE(t, sc, 1)
	if !reused {
		t.Log("the client did not reuse the connection; the later request proves nothing about it")
	}
}

// TestFeedRefusesAPositionBeyondTheHead: a position the log has not
// reached (a client that followed a log since restored from a backup, or
// another installation's) would otherwise wait silently and then skip
// every event up to it; it is refused, naming the field. The head itself
// is a live stream.
func TestFeedRefusesAPositionBeyondTheHead(t *testing.T) {
	r := newFeedRig(t)
	token := r.client("feed", apiclient.ScopeEventsRead)
	last := r.staff("850101045566", "Aminah binti Yusof")
	beyond := strconv.FormatUint(last.Position+1, 10)
	for _, tc := range []struct{ query, lastID, field string }{
		{"?after=" + beyond, "", "after"},
		{"?after=18446744073709551615", "", "after"},
		{"?after=0", beyond, "Last-Event-ID"},
	} {
		resp := r.get(context.Background(), tc.query, token, tc.lastID)
		var je httpx.JSONError
		err := json.NewDecoder(resp.Body).Decode(&je)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusBadRequest || je.Error.Code != "invalid_parameter" || je.Error.Field != tc.field {
			t.Errorf("%s Last-Event-ID %q: HTTP %d %+v (%v), want 400 invalid_parameter field %s", tc.query, tc.lastID, resp.StatusCode, je, err, tc.field)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp := r.get(ctx, "?after="+strconv.FormatUint(last.Position, 10), token, "")
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after the head itself: HTTP %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), ": keep-alive") {
	}
	next := r.staff("900202055123", "Lim Wei Ming")
	if got := readSSE(t, sc, 1); got[0].ID != strconv.FormatUint(next.Position, 10) {
		t.Fatalf("live event %+v, want position %d", got[0], next.Position)
	}
}

// TestFeedLogUnreadable: a log whose head cannot be read answers 503
// unavailable with an incident, as the OpenAPI document says, not a 500.
func TestFeedLogUnreadable(t *testing.T) {
	r := newFeedRig(t)
	token := r.client("feed", apiclient.ScopeEventsRead)
	r.halt()
	if err := r.events.Close(); err != nil {
		t.Fatal(err)
	}
	resp := r.get(context.Background(), "?after=1", token, "")
	var je httpx.JSONError
	err := json.NewDecoder(resp.Body).Decode(&je)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable || je.Error.Code != "unavailable" || je.Error.Incident == "" {
		t.Fatalf("HTTP %d %+v (%v), want 503 unavailable with an incident", resp.StatusCode, je, err)
	}
}

// A client may hold at most MaxStreams streams open at once: the next is
// refused (429 too_many_streams, JSON, Retry-After) while another client
// is not held back, and a closed stream gives its slot back. Before, one
// client could open any number of streams (each a subscription and two
// goroutines).
func TestFeedStreamsPerClientAreCapped(t *testing.T) {
	r := newFeedRig(t, func(f *eventfeed.Feed) { f.MaxStreams = 2 })
	token := r.client("feed", apiclient.ScopeEventsRead)
	other := r.client("audit", apiclient.ScopeEventsRead)
	// open starts a stream and waits until its handler has written the
	// first line (it holds its slot by then).
	open := func(token string) (*http.Response, context.CancelFunc) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		resp := r.get(ctx, "", token, "")
		if resp.StatusCode != http.StatusOK {
			cancel()
			t.Fatalf("stream refused: %d", resp.StatusCode)
		}
		if !bufio.NewScanner(resp.Body).Scan() {
			t.Fatal("stream sent nothing")
		}
		return resp, cancel
	}
	refused := func(token string) {
		t.Helper()
		resp := r.get(context.Background(), "", token, "")
		defer resp.Body.Close()
		var je httpx.JSONError
		err := json.NewDecoder(resp.Body).Decode(&je)
		if err != nil || resp.StatusCode != http.StatusTooManyRequests || je.Error.Code != "too_many_streams" ||
			!strings.Contains(je.Error.Message, "2") || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("stream over the cap: %d %+v (%v) Retry-After=%q", resp.StatusCode, je, err, resp.Header.Get("Retry-After"))
		}
		<-r.ended
	}
	first, closeFirst := open(token)
	defer first.Body.Close()
	second, closeSecond := open(token)
	defer second.Body.Close()
	defer closeSecond()
	refused(token)
	// Another client has slots of its own.
	third, closeThird := open(other)
	defer third.Body.Close()
	defer closeThird()
	// The client leaves one stream: its slot is free once the handler ends.
	closeFirst()
	select {
	case <-r.ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the closed stream's handler did not end")
	}
	again, closeAgain := open(token)
	defer again.Body.Close()
	defer closeAgain()
	refused(token)
}
