// Command ferretdb runs an embedded FerretDB (SQLite backend, no auth) as the
// Mongo-wire server the read-store contract suite runs against. It lives in its
// own module so FerretDB's dependencies stay out of the product's go.mod.
//
//	go run . -listen 127.0.0.1:0 -dir /tmp/ferretdb-data -uri-file /tmp/ferretdb.uri
//
// With port 0 the kernel picks a free port; the URI written to -uri-file
// (atomically, once the listener is up) tells the caller which one.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dir := flag.String("dir", "", "directory for the SQLite files (required)")
	uriFile := flag.String("uri-file", "", "write the mongodb:// URI here once listening")
	level := flag.String("log-level", "error", "log level: debug, info, warn, error")
	flag.Parse()

	if err := run(*listen, *dir, *uriFile, *level); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

func run(listen, dir, uriFile, level string) error {
	if dir == "" {
		return fmt.Errorf("-dir: required (directory for the SQLite files)")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("-dir %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return fmt.Errorf("-dir %q: %w", dir, err)
	}

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("-log-level %q: %w", level, err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: listen},
		Logger:   logger,
		Handler:  "sqlite",
		// FerretDB wants a directory URI ending in a slash.
		SQLiteURL: "file:" + abs + "/",
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	// MongoDBURI blocks until the listener is up, so it also reports the
	// port the kernel chose for ":0".
	uri := f.MongoDBURI()
	logger.Info("ferretdb listening", "uri", uri, "dir", abs)
	if uriFile != "" {
		tmp := uriFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(uri+"\n"), 0o600); err != nil {
			stop()
			<-done
			return fmt.Errorf("-uri-file %q: %w", uriFile, err)
		}
		if err := os.Rename(tmp, uriFile); err != nil {
			stop()
			<-done
			return fmt.Errorf("-uri-file %q: %w", uriFile, err)
		}
	}
	return <-done
}
