package api_test

import (
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A client that sends its whole batch before reading the answer (or stops
// reading it) fills the connection's buffers with answer lines; the batch
// then waited to write the next one for good, holding its slot, its
// workers and the connection, even once the client was revoked. Each
// write of the answer is bounded now: the batch ends, the lines answered
// stand.
func TestIngestClientThatDoesNotReadItsAnswer(t *testing.T) {
	f := newFin(t, finOptions{answerTimeout: 300 * time.Millisecond})
	ts := httptest.NewServer(f.srv)
	defer ts.Close()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4096) // a small window: the answer backs up soon
	const lines = 300_000                       // each a malformed line, answered "rejected"
	body := strings.Repeat("x\n", lines)
	go func() {
		// It blocks once the server stops reading the body; closing the
		// connection at the end of the test ends it.
		_, _ = fmt.Fprintf(conn, "POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/x-ndjson\r\nContent-Length: %d\r\n\r\n%s",
			f.stmtOnly, len(body), body)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(f.logs.String(), "api: batch stopped: its answer could not be written") {
		if time.Now().After(deadline) {
			t.Fatalf("the batch did not end while its client did not read; log:\n%s", tail(f.logs.String(), 2000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
