package mongo_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	rsmongo "github.com/melaka-gov/ispeks/infra/readstore/mongo"
	"github.com/melaka-gov/ispeks/projections"
)

// cuttable is a TCP relay in front of the test server whose cut stops it
// answering: the server as a portal sees it when the network to it fails.
type cuttable struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func relay(t *testing.T, uri string) (*cuttable, string) {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cuttable{ln: ln}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			c.mu.Lock()
			c.conns = append(c.conns, in, out)
			c.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	t.Cleanup(c.cut)
	u.Host = ln.Addr().String()
	q := u.Query()
	q.Set("directConnection", "true")
	u.RawQuery = q.Encode()
	return c, u.String()
}

func (c *cuttable) cut() {
	c.ln.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

// A server that stops answering is reported as projections.ErrUnavailable
// (a page answers 503 "try again", not 500), within the store's own bound
// rather than the driver's 30-second server selection.
func TestUnreachableServerIsUnavailable(t *testing.T) {
	uri, db, _ := scratchDB(t, "down_")
	r, via := relay(t, uri)
	ctx := context.Background()
	s, err := rsmongo.OpenWith(ctx, via, db, rsmongo.Options{ServerSelectionTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Ensure(ctx, projections.CollectionSpec{Name: "docs", Indexes: []string{"k"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, "p", 1, func(b projections.Batch) error {
		return b.Put(ctx, "docs", projections.Doc{ID: "d", Version: 1, Body: []byte(`{}`), Fields: map[string]any{"k": "v"}})
	}); err != nil {
		t.Fatal(err)
	}
	r.cut()
	_, _, err = s.Get(ctx, "docs", "d")
	if !errors.Is(err, projections.ErrUnavailable) {
		t.Errorf("Get on an unreachable server: %v, want projections.ErrUnavailable", err)
	}
	_, err = s.Find(ctx, projections.Query{Collection: "docs", Where: map[string]any{"k": "v"}})
	if !errors.Is(err, projections.ErrUnavailable) {
		t.Errorf("Find on an unreachable server: %v, want projections.ErrUnavailable", err)
	}
	_, err = s.Checkpoint(ctx, "p")
	if !errors.Is(err, projections.ErrUnavailable) {
		t.Errorf("Checkpoint on an unreachable server: %v, want projections.ErrUnavailable", err)
	}
	err = s.Write(ctx, "p", 2, func(b projections.Batch) error {
		return b.Put(ctx, "docs", projections.Doc{ID: "d", Version: 2, Body: []byte(`{}`)})
	})
	if !errors.Is(err, projections.ErrUnavailable) {
		t.Errorf("Write on an unreachable server: %v, want projections.ErrUnavailable", err)
	}
}
