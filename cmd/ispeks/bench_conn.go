package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// connTransport is an http.RoundTripper over one keep-alive connection,
// for one load-generator worker at a time: the request is written and the
// answer read on the calling goroutine (http.Request.Write,
// http.ReadResponse). http.Transport hands every request to a writer and a
// reader goroutine of its connection and back, three goroutine switches a
// request and often a thread woken for each; in bench login, whose five
// requests a login share the two cores with the portal and the hashes,
// that was CPU the load generator took from what it measures.
type connTransport struct {
	addr string // host:port
	conn net.Conn
	br   *bufio.Reader
}

var _ http.RoundTripper = (*connTransport)(nil)

// newConnTransport returns a transport to the server at base ("http://host:port").
func newConnTransport(base string) *connTransport {
	return &connTransport{addr: base[len("http://"):]}
}

// RoundTrip sends req and returns the whole answer (its body read into
// memory, so the connection is free again when it returns). A request
// that fails on a kept-alive connection (the server closed it while it was
// idle: the write breaks or the answer is an EOF) is sent once more on a
// new one.
func (t *connTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		reused := t.conn != nil
		if !reused {
			c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(req.Context(), "tcp", t.addr)
			if err != nil {
				return nil, err
			}
			t.conn, t.br = c, bufio.NewReaderSize(c, 64<<10)
		}
		resp, err := t.exchange(req)
		if err == nil {
			return resp, nil
		}
		t.Close()
		if !reused || attempt > 0 || req.Context().Err() != nil {
			return nil, err
		}
		if req.Body != nil {
			if req.GetBody == nil {
				return nil, err
			}
			if req.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
	}
}

func (t *connTransport) exchange(req *http.Request) (*http.Response, error) {
	// The exchange's own time limit (the client has none: see
	// newBenchBrowser), and a cancelled request ends the wait at once.
	if err := t.conn.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		return nil, err
	}
	conn := t.conn
	stop := context.AfterFunc(req.Context(), func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	if err := req.Write(t.conn); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(t.br, req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", req.Method, req.URL.Path, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if resp.Close {
		t.Close()
	}
	return resp, nil
}

// Close closes the connection; the next request dials a new one.
func (t *connTransport) Close() {
	if t.conn != nil {
		_ = t.conn.Close()
		t.conn, t.br = nil, nil
	}
}
