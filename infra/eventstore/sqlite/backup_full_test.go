//go:build linux

package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
)

// TestBackupToAFullDiskLeavesNothing: a copy that does not fit on its disk
// fails ("database or disk is full") and leaves nothing where it was to
// be. SQLite left the copy's journal (events.db-journal) there, so the
// directory ispeks backup had made was not removed either. The full disk
// is a small tmpfs, so the test needs the right to mount one (root).
func TestBackupToAFullDiskLeavesNothing(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "events.db"), sqlite.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range 300 {
		if _, err := st.Append(ctx, fmt.Sprintf("payment-%d", i), eventlog.NoStream(), proposed(100)); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=2m,mode=0700"); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, 0) })
	dest := filepath.Join(dir, "events.db")
	b, err := st.BackupTo(ctx, dest)
	if err == nil {
		t.Fatalf("a copy larger than the disk was made: %+v", b)
	}
	left, _ := os.ReadDir(dir)
	for _, e := range left {
		t.Errorf("left behind: %s", e.Name())
	}
}
