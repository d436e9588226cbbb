//go:build unix

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestImportStatementsFromAPipe: a payroll run piped in (/dev/stdin, a
// named pipe, <(…)) is ingested like a file: a pipe has no size, which the
// progress bar must not take for a total of 0 and refuse the first bytes.
func TestImportStatementsFromAPipe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "run.ndjson")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipe here: %v", err)
	}
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		_, _ = f.WriteString(`{"kind":"payment","request_id":"r1","payment":{}}` + "\n")
	}()
	out, err := executeOut(ctx, "--data", dir, "--log-level", "error", "import", "statements", fifo)
	// The line itself is rejected (an empty payment): the import ran.
	if err == nil || err.Error() != "1 lines were not ingested (listed above); fix them and send the file again" {
		t.Fatalf("import statements from a pipe: %v", err)
	}
	if !strings.Contains(out, `"result":"rejected"`) {
		t.Fatalf("import statements from a pipe printed %q", out)
	}
}
