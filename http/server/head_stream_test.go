package server_test

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// TestHeadOfAStreamEnds: HEAD of a streaming GET (as /api/v1/events, SSE)
// answers with the headers and ends the handler, so the next request on the
// same keep-alive connection is answered.
func TestHeadOfAStreamEnds(t *testing.T) {
	h := newHarness(t, nil)
	done := make(chan struct{})
	h.srv.Engine.GET("/test/stream", func(c *gin.Context) {
		defer close(done)
		c.Header("Content-Type", "text/event-stream")
		c.Status(http.StatusOK)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-c.Request.Context().Done():
				return
			case <-tick.C:
				if _, err := c.Writer.WriteString(": keep-alive\n\n"); err != nil {
					return
				}
				c.Writer.Flush()
			}
		}
	})
	ts := httptest.NewServer(h.srv)
	defer ts.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	if _, err := conn.Write([]byte("HEAD /test/stream HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	head, _ := http.NewRequest(http.MethodHead, "/test/stream", nil)
	r1, err := http.ReadResponse(br, head)
	if err != nil || r1.StatusCode != http.StatusOK {
		t.Fatalf("HEAD: %v %v", r1, err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream's handler still runs after its HEAD answer")
	}
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	r2, err := http.ReadResponse(br, nil)
	if err != nil || r2.StatusCode != http.StatusOK {
		t.Fatalf("the next request on the connection: %v %v", r2, err)
	}
}
