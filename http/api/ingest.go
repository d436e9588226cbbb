package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/commands/ingest"
	"github.com/melaka-gov/ispeks/domain/mykad"
	"github.com/melaka-gov/ispeks/domain/textfield"
	"github.com/melaka-gov/ispeks/http/apiauth"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/i18n"
)

// NDJSONType is the media type of a batch and of its answer.
const NDJSONType = "application/x-ndjson"

// flushLines and flushAfter pace the answer: results are flushed to the
// client every so many lines, and at most so long after they were written,
// so a client streaming a large batch sees its results as they come
// without a write per line.
const (
	flushLines = 256
	flushAfter = 50 * time.Millisecond
)

// ndjsonOut writes the answer's lines: from the ingester's emitter and
// from a ticker that flushes what waits, so results never sit in the
// buffer while the client pauses.
type ndjsonOut struct {
	mu      sync.Mutex
	bw      *bufio.Writer
	enc     *json.Encoder
	rc      *http.ResponseController
	c       *gin.Context
	pending int
	started bool
	err     error
	// timeout bounds each write to the client (writer.answerTimeout); the
	// connection's deadline is moved on once half of it has passed, not
	// at every line.
	timeout  time.Duration
	deadline time.Time
}

// armLocked moves the write deadline on before anything may be written:
// an encode writes through once the buffer is full, a flush always does.
// A client that does not read for timeout fails the write, and with it
// the batch, instead of blocking the emitter, and so the batch, for good.
func (o *ndjsonOut) armLocked() {
	if o.timeout <= 0 {
		return
	}
	now := time.Now()
	if o.deadline.Sub(now) > o.timeout/2 {
		return
	}
	o.deadline = now.Add(o.timeout)
	if err := o.rc.SetWriteDeadline(o.deadline); err != nil && !errors.Is(err, http.ErrNotSupported) {
		o.err = err
	}
}

// write encodes v as one line; flush forces it out.
func (o *ndjsonOut) write(v any, flush bool) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	if !o.started {
		o.c.Status(http.StatusOK)
		o.started = true
	}
	if o.armLocked(); o.err != nil {
		return o.err
	}
	if o.err = o.enc.Encode(v); o.err != nil {
		return o.err
	}
	o.pending++
	if flush || o.pending >= flushLines {
		o.flushLocked()
	}
	return o.err
}

// failed reports whether a write to the client failed (the answer can go
// no further).
func (o *ndjsonOut) failed() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err != nil
}

func (o *ndjsonOut) flushLocked() {
	if o.pending == 0 || o.err != nil {
		return
	}
	if o.armLocked(); o.err != nil {
		return
	}
	if o.err = o.bw.Flush(); o.err == nil {
		o.err = o.rc.Flush()
	}
	o.pending = 0
}

// flushEvery flushes waiting lines every d until stop is called (stop is
// idempotent and waits for the ticker to end).
func (o *ndjsonOut) flushEvery(d time.Duration) (stop func()) {
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				o.mu.Lock()
				o.flushLocked()
				o.mu.Unlock()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-ended
	}
}

// watchClient re-reads the batch's client every w.recheck while the batch
// runs and calls stop once it is revoked or gone (a client's scopes never
// change). A read that fails is let pass: the batch goes on, and the next
// check reads again. done ends the watch and waits for it; revoked says
// whether it stopped the batch (call it after done).
func (w *writer) watchClient(ctx context.Context, id string, stop func()) (done func(), revoked func() bool) {
	if w.clients == nil {
		return func() {}, func() bool { return false }
	}
	var gone atomic.Bool
	quit := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		t := time.NewTicker(w.recheck)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				cur, found, err := w.clients.Get(ctx, id)
				if err != nil {
					if ctx.Err() == nil {
						w.log.WarnContext(ctx, "api: batch: re-check client", "client", id, "err", err)
					}
					continue
				}
				if !found || cur.Revoked {
					gone.Store(true)
					stop()
					return
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(quit) })
		<-ended
	}, gone.Load
}

// BatchSummary is the last line of a batch's answer.
type BatchSummary struct {
	Summary ingest.Summary `json:"summary"`
}

// batchError is the last line when the batch could not be read to its end
// (too large, the connection dropped): the lines answered before it stand.
type batchError struct {
	Error    errorDetail    `json:"error"`
	Summary  ingest.Summary `json:"summary"`
	Complete bool           `json:"complete"`
}

// ingest is POST /ingest: an NDJSON batch of statements, corrections,
// payments, amendments and status moves (docs/payments.md), read and
// answered line by line as it streams, so a month's slips never sit in
// memory. Each line needs its own scope (statement* lines statements:write,
// payment* lines payments:write); a line the client may not send is
// refused as forbidden and the batch goes on. The answer is NDJSON: one
// result per line in input order, then {"summary":{…}}.
func (w *writer) ingest(c *gin.Context) {
	mt, _, _ := strings.Cut(c.GetHeader("Content-Type"), ";")
	switch strings.ToLower(strings.TrimSpace(mt)) {
	case NDJSONType, "application/ndjson", "application/jsonl":
	default:
		writeProblem(c, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type", i18n.Text{
			MS: "Kelompok mesti NDJSON (Content-Type: application/x-ndjson), satu objek JSON setiap baris.",
			EN: "A batch must be NDJSON (Content-Type: application/x-ndjson), one JSON object per line.",
		})
		return
	}
	if _, params, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err == nil {
		switch cs := strings.ToLower(params["charset"]); cs {
		case "", "utf-8", "utf8", "us-ascii":
		default:
			writeProblem(c, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type", i18n.Text{
				MS: "Kelompok mesti dalam UTF-8 (charset=utf-8), bukan " + textfield.Clip(cs) + ".",
				EN: "A batch must be UTF-8 (charset=utf-8), not " + textfield.Clip(cs) + ".",
			})
			return
		}
	}
	if !plainBody(c) {
		return
	}
	client, _ := apiauth.FromGin(c)
	if !w.batches.Take(client.ID) {
		// Each batch holds up to its own bound of lines and workers in
		// memory: the bound is the server's only if the batches are.
		c.Header("Retry-After", "5")
		writeProblem(c, http.StatusTooManyRequests, "too_many_batches", "", i18n.Text{
			MS: fmt.Sprintf("Pelanggan API ini sudah menghantar %d kelompok serentak; tunggu satu selesai sebelum menghantar yang lain.", w.batches.Max()),
			EN: fmt.Sprintf("This API client is already sending %d batches at once; wait for one to end before sending another.", w.batches.Max()),
		})
		return
	}
	defer w.batches.Give(client.ID)
	// HTTP/1.1: go on reading the request while the answer is written, so
	// results stream back before the client has sent its last line.
	rc := http.NewResponseController(c.Writer)
	_ = rc.EnableFullDuplex() // not supported by every writer (tests); HTTP/2 needs none
	h := c.Writer.Header()
	h.Set("Content-Type", NDJSONType)
	h.Set("Cache-Control", "no-store")

	out := &ndjsonOut{bw: bufio.NewWriterSize(c.Writer, 64<<10), rc: rc, c: c, timeout: w.answerTimeout}
	out.enc = json.NewEncoder(out.bw)
	out.enc.SetEscapeHTML(false)
	stop := out.flushEvery(flushAfter)
	defer stop()
	emit := func(r ingest.Result) error { return out.write(r, false) }
	ctx, cancel := context.WithCancel(c.Request.Context())
	defer cancel()
	stopCheck, revoked := w.watchClient(ctx, client.ID, cancel)
	t0 := time.Now()
	sum, err := w.batch.Run(ctx, c.Request.Body, w.source(c), emit)
	stopCheck()
	log := w.log.With("request_id", httpx.RequestIDOf(c), "client", client.ID, "lines", sum.Lines,
		"accepted", sum.Accepted, "duplicates", sum.Duplicates, "rejected", sum.Rejected, "failed", sum.Failed,
		"unanswered", sum.Unanswered, "ms", time.Since(t0).Milliseconds())
	if err != nil {
		var mb *http.MaxBytesError
		tooLarge := errors.As(err, &mb)
		stop()
		if !out.started && errors.Is(err, ingest.ErrUTF16) {
			h.Set("Content-Type", "application/json; charset=utf-8")
			writeProblem(c, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type", i18n.Text{
				MS: "Kelompok ini dalam UTF-16; hantar dalam UTF-8 (satu objek JSON setiap baris).",
				EN: "The batch is in UTF-16; send it in UTF-8 (one JSON object per line).",
			})
			return
		}
		if !out.started && tooLarge {
			// 413 before any line was answered: a JSON error, labelled
			// so (the NDJSON type set above would stay, as Gin keeps a
			// Content-Type already set).
			h.Set("Content-Type", "application/json; charset=utf-8")
			w.resp.Respond(c, err)
			return
		}
		if revoked() {
			// The lines answered stand (as in any incomplete batch); no
			// line was started after the revocation was seen.
			_ = out.write(batchError{Error: errorDetail{Code: "auth.token_revoked", Message: bilingual(c,
				"Token pelanggan API ini telah dibatalkan semasa kelompok dihantar; baris yang telah dijawab kekal, baris selebihnya tidak dijalankan.",
				"this API client's token was revoked while the batch was being sent; the lines answered stand, the rest were not run.")},
				Summary: sum}, true)
			log.WarnContext(c.Request.Context(), "api: batch stopped: the client was revoked")
			return
		}
		if out.failed() {
			// Nothing more reaches the client: the answer's write timed out.
			log.WarnContext(c.Request.Context(), "api: batch stopped: its answer could not be written (the client stopped reading it or went away)", "err", mykad.Redact(err.Error()))
			return
		}
		if c.Request.Context().Err() != nil || errors.Is(err, context.Canceled) {
			log.WarnContext(c.Request.Context(), "api: batch stopped: the client went away", "err", err)
			return
		}
		detail := errorDetail{Code: "batch_incomplete", Message: bilingual(c,
			"Kelompok tidak dapat dibaca hingga akhir; baris yang telah dijawab kekal. Hantar semula kelompok: baris yang siap akan dijawab duplicate.",
			"the batch could not be read to its end; the lines answered stand. Send the batch again: the lines already done answer duplicate.")}
		if tooLarge {
			detail.Code = "too_large"
			detail.Message = bilingual(c, "Kelompok melebihi had saiz; pecahkan kepada beberapa kelompok.",
				"the batch is over the size limit; split it into several batches.")
		}
		_ = out.write(batchError{Error: detail, Summary: sum}, true)
		log.WarnContext(c.Request.Context(), "api: batch incomplete", "code", detail.Code, "err", mykad.Redact(err.Error()))
		return
	}
	stop()
	_ = out.write(BatchSummary{Summary: sum}, true)
	log.InfoContext(c.Request.Context(), "api: batch ingested")
}
