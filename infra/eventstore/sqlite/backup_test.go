package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
)

// TestBackupWhileAppending: a backup taken while writers append is a prefix
// of the log as it was at one moment, every event in it equal to the
// original and every stream's chain intact; the copy is its owner's alone
// and opens as a store that takes the next append of a stream.
func TestBackupWhileAppending(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range 50 {
		if _, err := st.Append(ctx, fmt.Sprintf("payment-%d", i), eventlog.NoStream(), proposed(4)); err != nil {
			t.Fatal(err)
		}
	}
	// Writers keep appending during the copy.
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				if _, err := st.Append(ctx, fmt.Sprintf("statement-%d-%d", w, i), eventlog.NoStream(), proposed(2)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	dest := filepath.Join(t.TempDir(), "copy.db")
	b, err := st.BackupTo(ctx, dest)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if b.Path != dest || b.LastPosition < 200 || b.Bytes <= 0 {
		t.Fatalf("backup %+v", b)
	}
	if fi, err := os.Stat(dest); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("copy's mode: %v %v", fi.Mode(), err)
	}

	cp, err := sqlite.Open(ctx, dest, sqlite.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	got, err := cp.ReadAll(ctx, 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	want, err := st.ReadAll(ctx, 0, len(got))
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(got)) != b.LastPosition || len(want) != len(got) {
		t.Fatalf("copy holds %d events, backup said %d, original has %d there", len(got), b.LastPosition, len(want))
	}
	v := eventlog.NewChainVerifier()
	for i := range got {
		g, w := got[i], want[i]
		if g.Position != w.Position || g.ID != w.ID || g.Stream != w.Stream || g.Version != w.Version || string(g.Data) != string(w.Data) || g.Metadata.Hash != w.Metadata.Hash || g.Metadata.Prev != w.Metadata.Prev {
			t.Fatalf("event %d differs:\n%+v\n%+v", i, g, w)
		}
		if broken := v.Add(g); broken != nil {
			t.Fatalf("chain of the copy: %v", broken)
		}
	}
	// A restored copy takes the next event of a stream.
	if _, err := cp.Append(ctx, "payment-0", eventlog.Exactly(4), proposed(1)); err != nil {
		t.Fatalf("append to the copy: %v", err)
	}
}

func TestBackupRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "events.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Append(ctx, "payment-1", eventlog.NoStream(), proposed(1)); err != nil {
		t.Fatal(err)
	}
	// An existing file is never overwritten.
	existing := filepath.Join(dir, "old-backup.db")
	os.WriteFile(existing, []byte("keep me"), 0o600)
	if _, err := st.BackupTo(ctx, existing); !errors.Is(err, os.ErrExist) {
		t.Fatalf("backup over a file: %v", err)
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Fatalf("the existing file was changed: %q", b)
	}
	if _, err := st.BackupTo(ctx, path); err == nil {
		t.Fatal("backup onto the store itself")
	}
	// A missing directory: an error, and nothing left behind.
	missing := filepath.Join(dir, "no-such-dir", "copy.db")
	if _, err := st.BackupTo(ctx, missing); err == nil {
		t.Fatal("backup into a missing directory")
	}
	if _, err := os.Stat(filepath.Dir(missing)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("backup made the directory: %v", err)
	}
	st.Close()
	if _, err := st.BackupTo(ctx, filepath.Join(dir, "after-close.db")); !errors.Is(err, sqlite.ErrClosed) {
		t.Fatalf("backup of a closed store: %v", err)
	}
}
