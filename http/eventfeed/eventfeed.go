// Package eventfeed serves the event log to finance systems as a resumable
// Server-Sent Events stream: GET /api/v1/events?after=POSITION. Each event
// is one SSE message whose id is the event's global position and whose data
// is the JSON of downstream.WireEvent; a client that reconnects with
// Last-Event-ID (browsers and SSE libraries do it by themselves) resumes
// right after the last event it received. Mount it behind apiauth with the
// events:read scope: the events carry IC numbers.
//
// A client holds at most Feed.MaxStreams streams open at once (default 4):
// one more is refused with 429 too_many_streams (Retry-After), and a stream
// that ends, however it ends, gives its slot back.
//
// Query parameters: after (position to start after; default 0, the whole
// log), limit (close the stream after that many events; default: stream
// until the client leaves). Last-Event-ID, when present, wins over after.
// A position beyond the log's head is refused (400, naming the field): the
// log has no such position, and waiting for it would pass over the events
// up to it.
//
// The token is checked when the stream opens, and the stream ends when the
// client may no longer read: at once when the stream reaches the client's
// own revocation in the log (nothing after it is sent), and otherwise when
// a re-check of the client against the read model, every RecheckEvery,
// finds it revoked or without the events:read scope.
package eventfeed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/domain/apiclient"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/http/apiauth"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/infra/downstream"
)

// Log is what the feed reads: the event store's catch-up-then-live
// subscription, and its head (a position beyond it is refused).
type Log interface {
	Subscribe(ctx context.Context, after uint64, handle func(context.Context, eventlog.Record) error) error
	LastPosition(ctx context.Context) (uint64, error)
}

// MaxLimit bounds the limit parameter.
const MaxLimit = 100_000

// DefaultMaxStreams bounds the streams one client holds open at once: each
// is a subscription to the log and two goroutines for as long as it lasts,
// and a finance system needs one (a few while it reconnects).
const DefaultMaxStreams = 4

// streamsRetryAfter is what a client over its streams is told to wait.
const streamsRetryAfter = 5 * time.Second

// Feed is the SSE handler's configuration.
type Feed struct {
	Events Log
	// Filter selects the events; zero: downstream.DefaultFilter (employee,
	// payment and statement events).
	Filter downstream.Filter
	// Heartbeat is how often an idle stream sends a comment so proxies keep
	// it open (default 15 s).
	Heartbeat time.Duration
	// Stop, when closed, ends every open stream (server shutdown: the HTTP
	// server lets requests finish, and a stream would never finish).
	Stop <-chan struct{}
	// Clients re-checks an open stream's client (apiclients.Queries): the
	// stream ends once it is revoked or lacks events:read. Required.
	Clients apiauth.Clients
	// RecheckEvery is how often an open stream re-checks its client against
	// the read model, busy or idle (default 5 s).
	RecheckEvery time.Duration
	// WriteTimeout bounds each write to the stream (default 30 s): a
	// reader that takes nothing for that long (hung, or its network gone
	// without a reset) is cut off and reconnects with Last-Event-ID,
	// instead of holding its stream, and the server's shutdown, for ever.
	WriteTimeout time.Duration
	// MaxStreams bounds the streams one client holds open at once
	// (default DefaultMaxStreams).
	MaxStreams int
	Logger     *slog.Logger // optional
}

var (
	errDone    = errors.New("eventfeed: limit reached")
	errRevoked = errors.New("eventfeed: client may no longer read events")
)

// endGrace is how long an ending stream lets a write in progress finish
// before it cuts it short.
const endGrace = time.Second

// revokedType is the event that ends a stream of its client when the stream
// reaches it.
var revokedType = apiclient.Revoked{}.EventType()

// Handler returns the Gin handler.
func (f *Feed) Handler() gin.HandlerFunc {
	filter := f.Filter
	if filter.Categories == nil && filter.Types == nil {
		filter = downstream.DefaultFilter()
	}
	beat := f.Heartbeat
	if beat <= 0 {
		beat = 15 * time.Second
	}
	recheck := f.RecheckEvery
	if recheck <= 0 {
		recheck = 5 * time.Second
	}
	writeTimeout := f.WriteTimeout
	if writeTimeout <= 0 {
		writeTimeout = 30 * time.Second
	}
	log := f.Logger
	if log == nil {
		log = slog.Default()
	}
	if f.Clients == nil {
		panic("eventfeed: Feed.Clients is required") // a programming error in route setup
	}
	maxStreams := f.MaxStreams
	if maxStreams <= 0 {
		maxStreams = DefaultMaxStreams
	}
	streams := httpx.NewSlots(maxStreams) // open streams, per client
	return func(c *gin.Context) {
		after, from, limit, p, ok := params(c)
		if !ok {
			httpx.WriteJSONProblem(c, p)
			c.Abort()
			return
		}
		client, ok := apiauth.FromGin(c)
		if !ok {
			// Mounted without apiauth: nobody to re-check, so nothing
			// is served (the events carry IC numbers).
			httpx.WriteJSONProblem(c, httpx.Problem{Status: http.StatusUnauthorized, Code: "auth.missing_token",
				Message: i18n.Text{MS: "Token pelanggan API diperlukan.", EN: "An API client token is required."}})
			c.Abort()
			return
		}
		if !streams.Take(client.ID) {
			c.Header("Cache-Control", "no-store")
			c.Header("Retry-After", strconv.Itoa(int(streamsRetryAfter/time.Second)))
			httpx.WriteJSONProblem(c, httpx.Problem{Status: http.StatusTooManyRequests, Code: "too_many_streams",
				Message: i18n.Text{
					MS: fmt.Sprintf("Pelanggan API ini sudah membuka %d aliran peristiwa serentak; tutup satu sebelum membuka yang lain.", maxStreams),
					EN: fmt.Sprintf("This API client already has %d event streams open at once; close one before opening another.", maxStreams),
				}})
			c.Abort()
			return
		}
		defer streams.Give(client.ID)
		// A position the log has not reached (the client followed a log
		// since restored from a backup, or another installation's) would
		// wait silently and then pass over every event up to it.
		if after > 0 {
			head, err := f.Events.LastPosition(c.Request.Context())
			if err != nil {
				// As apiauth answers a read model it cannot read.
				p := httpx.Problem{Status: http.StatusServiceUnavailable, Code: "unavailable", Internal: true,
					Incident: httpx.NewIncidentID(), Message: i18n.Text{MS: "Sistem tidak dapat diakses.", EN: "The system cannot be reached."}}
				log.ErrorContext(c.Request.Context(), "eventfeed: read the log's head", "request_id", httpx.RequestIDOf(c), "incident", p.Incident, "err", err)
				httpx.WriteJSONProblem(c, p)
				c.Abort()
				return
			}
			if after > head {
				httpx.WriteJSONProblem(c, httpx.Problem{Status: http.StatusBadRequest, Code: "invalid_parameter", Field: from,
					Message: i18n.Text{
						MS: fmt.Sprintf("%s %d melepasi hujung log (kedudukan %d): log ini tidak mempunyai kedudukan itu.", from, after, head),
						EN: fmt.Sprintf("%s %d is beyond the end of the log (position %d): this log has no such position.", from, after, head),
					}})
				c.Abort()
				return
			}
		}
		ctx, cancel := context.WithCancel(c.Request.Context())
		defer cancel()
		// Each write has its own deadline (writeTimeout), the stream as a
		// whole none; so has the end of the response, which net/http
		// writes after the handler (and then clears the deadline).
		rc := http.NewResponseController(c.Writer)
		defer func() { _ = rc.SetWriteDeadline(time.Now().Add(writeTimeout)) }()

		writing := make(chan struct{}, 1) // held while writing: the heartbeat and the events share the writer
		write := func(s string) error {
			writing <- struct{}{}
			defer func() { <-writing }()
			// Once the stream is ending nothing more is written (the
			// watch below relies on it).
			if err := ctx.Err(); err != nil {
				return err
			}
			_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
			if _, err := c.Writer.WriteString(s); err != nil {
				return err
			}
			c.Writer.Flush()
			return nil
		}
		// When the stream ends (the server stops, the client leaves or may
		// no longer read), a write still blocked a moment later, on a
		// reader that does not read, is cut short: shutdown must not wait
		// writeTimeout for it. The end of the response gets its own
		// deadline only after this.
		var watch sync.WaitGroup
		defer func() { cancel(); watch.Wait() }()
		watch.Add(1)
		go func() {
			defer watch.Done()
			select {
			case <-f.Stop: // nil: never
				cancel()
			case <-ctx.Done():
			}
			t := time.NewTimer(endGrace)
			defer t.Stop()
			select {
			case writing <- struct{}{}:
				<-writing // no write in progress, and none starts now
			case <-t.C:
				_ = rc.SetWriteDeadline(time.Now())
			}
		}()

		h := c.Writer.Header()
		h.Set("Content-Type", "text/event-stream; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
		c.Status(http.StatusOK)

		// allowed re-reads the client (every recheck, busy or idle); a read
		// model that cannot be read ends the stream too (the client
		// reconnects and is checked again).
		allowed := func() error {
			cur, found, err := f.Clients.Get(ctx, client.ID)
			if err != nil {
				return fmt.Errorf("eventfeed: re-check client: %w", err)
			}
			if !found || cur.Revoked || !cur.HasScope(apiclient.ScopeEventsRead) {
				return errRevoked
			}
			return nil
		}

		if err := write("retry: 3000\n\n"); err != nil {
			return
		}
		// The heartbeat must be gone before the handler returns: Gin
		// reuses the writer for the next request.
		var wg sync.WaitGroup
		defer wg.Wait()
		defer cancel()
		var endedBy error // why the idle check ended the stream
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(beat)
			defer t.Stop()
			check := time.NewTicker(recheck)
			defer check.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if write(": keep-alive\n\n") != nil {
						cancel()
						return
					}
				case <-check.C:
					if err := allowed(); err != nil {
						endedBy = err
						cancel()
						return
					}
				}
			}
		}()

		sent := 0
		err := f.Events.Subscribe(ctx, after, func(_ context.Context, rec eventlog.Record) error {
			// The log orders the revocation before every event appended
			// after it, whatever the read model's lag.
			if rec.Type == revokedType && rec.Stream == apiclient.Stream(client.ID) {
				return errRevoked
			}
			if !filter.Allows(rec) {
				return nil
			}
			data, err := json.Marshal(downstream.Wire(rec))
			if err != nil {
				return err
			}
			if err := write(fmt.Sprintf("id: %d\nevent: %s\ndata: %s\n\n", rec.Position, rec.Type, data)); err != nil {
				return err
			}
			sent++
			if limit > 0 && sent >= limit {
				return errDone
			}
			return nil
		})
		stopped := ctx.Err() != nil // the client left, or the server stops
		cancel()
		wg.Wait() // endedBy is written by the heartbeat goroutine
		if endedBy != nil {
			err, stopped = endedBy, false
		}
		switch {
		case errors.Is(err, errRevoked):
			log.InfoContext(c.Request.Context(), "eventfeed: stream ended, the client may no longer read events", "request_id", httpx.RequestIDOf(c), "client", client.ID)
		case err != nil && !errors.Is(err, errDone) && !stopped:
			// The response has started: all that is left is to end the
			// stream; the client reconnects with Last-Event-ID.
			log.WarnContext(c.Request.Context(), "eventfeed: stream ended", "request_id", httpx.RequestIDOf(c), "err", err)
		}
	}
}

// params reads the request's position (from names where it came from:
// after or Last-Event-ID) and limit.
func params(c *gin.Context) (after uint64, from string, limit int, p httpx.Problem, ok bool) {
	bad := func(field, ms, en string) (uint64, string, int, httpx.Problem, bool) {
		return 0, "", 0, httpx.Problem{Status: http.StatusBadRequest, Code: "invalid_parameter", Field: field,
			Message: i18n.Text{MS: ms, EN: en}}, false
	}
	from = "after"
	if v := c.Query("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return bad("after", "after mesti nombor kedudukan (0 atau lebih).", "after must be a log position (0 or more).")
		}
		after = n
	}
	if v := c.GetHeader("Last-Event-ID"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return bad("Last-Event-ID", "Last-Event-ID mesti nombor kedudukan.", "Last-Event-ID must be a log position.")
		}
		after, from = n, "Last-Event-ID"
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return bad("limit", fmt.Sprintf("limit mesti antara 1 dan %d.", MaxLimit), fmt.Sprintf("limit must be between 1 and %d.", MaxLimit))
		}
		limit = n
	}
	return after, from, limit, httpx.Problem{}, true
}
