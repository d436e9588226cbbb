package httpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// DefaultShutdownTimeout bounds how long Serve waits for requests in flight
// once ctx ends.
const DefaultShutdownTimeout = 20 * time.Second

// Serve listens on addr and serves h until ctx ends, then stops accepting
// connections and lets requests in flight finish (bounded by
// DefaultShutdownTimeout).
func Serve(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("httpx: listen %s: %w", addr, err)
	}
	return ServeListener(ctx, ln, h, DefaultShutdownTimeout)
}

// ServeListener is Serve on a listener it takes ownership of. It returns
// nil after a clean shutdown, or an error if serving failed or requests were
// still running when the grace period ran out (they are then cut off).
func ServeListener(ctx context.Context, ln net.Listener, h http.Handler, grace time.Duration) error {
	srv := &http.Server{
		Handler: h,
		// No ReadTimeout/WriteTimeout: batch uploads stream for minutes and
		// PDFs may take a while; slow-header clients are cut off here, and
		// slow bodies by BodyLimit (a time bound per limit).
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
		// Requests must not be cancelled the moment shutdown begins: they
		// are allowed to finish.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("httpx: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("httpx: serve: %w", serr)
	}
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("httpx: shutdown: requests still running after %s: %w", grace, err)
	}
	return nil
}
