package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the ispeks binary TestMain built; empty when the tests skip.
var (
	binary     string
	skipReason string
	chromium   string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		skipReason = "the browser walkthrough is not short"
		return m.Run() // no build either
	}
	var err error
	if chromium, err = exec.LookPath("chromium"); err != nil {
		// The walkthrough needs a real browser; scripts/test installs it.
		skipReason = "chromium is not installed (apt-get install chromium, or run scripts/test): the browser walkthrough needs it"
		return m.Run()
	}
	if prebuilt := os.Getenv("ISPEKS_E2E_BINARY"); prebuilt != "" {
		// A binary built elsewhere (CI's build step, a release candidate).
		binary = prebuilt
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "ispeks-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "ispeks")
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	build := exec.Command(gobin, "build", "-o", binary, "github.com/melaka-gov/ispeks/cmd/ispeks")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/ispeks: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// statInputs stats the binary under test and every source file of the
// module, so that `go test` caches this package's result only while the
// binary is unchanged: the test binary itself does not depend on
// cmd/ispeks, and the go command re-runs a cached test when a file the
// test looked at changed. (Only calls made inside a test are recorded,
// not TestMain's.)
func statInputs(t *testing.T) {
	t.Helper()
	// TestMain read these before the go command listened: read them again.
	_, _ = os.Getenv("ISPEKS_E2E_BINARY"), os.Getenv("PATH")
	if _, err := os.Stat(binary); err != nil {
		t.Fatal(err)
	}
	if err := statSources(".."); err != nil {
		t.Fatal(err)
	}
}

func statSources(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(name) {
		case ".go", ".html", ".css", ".svg", ".json", ".mod", ".sum", ".sql", ".txt":
			_, err = os.Stat(path)
		}
		return err
	})
}

// portal is one `ispeks serve --demo` process on a free local port.
type portal struct {
	URL  string
	Data string
	cmd  *exec.Cmd
	logs *logBuffer
	done chan error
}

// logBuffer collects the server's log lines (stderr) for checks and for
// the failure message.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listeningRe = regexp.MustCompile(`msg="iSPEKS portal listening" addr=(http://127\.0\.0\.1:\d+)`)

// startPortal runs the binary with demo data in a fresh data directory and
// waits for /readyz. The environment carries no ISPEKS_* variable of the
// developer's shell, so the portal runs on its defaults (SQLite, outbox
// mail, no NATS).
func startPortal(t *testing.T) *portal {
	t.Helper()
	if binary == "" {
		t.Skip(skipReason)
	}
	statInputs(t)
	p := &portal{Data: filepath.Join(t.TempDir(), "data"), logs: &logBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(binary, "serve", "--demo", "--data", p.Data, "--listen", "127.0.0.1:0")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ISPEKS_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		found := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(p.logs, line)
			if m := listeningRe.FindStringSubmatch(line); m != nil && !found {
				found = true
				addr <- m[1]
			}
		}
		_, _ = io.Copy(p.logs, stderr)
	}()
	go func() {
		<-copied // Wait must not close the pipe before the log is read
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("portal log:\n%s", p.logs.String())
		}
	})

	select {
	case p.URL = <-addr:
	case err := <-p.done:
		t.Fatalf("ispeks serve exited before listening: %v\n%s", err, p.logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("ispeks serve did not listen within a minute\n%s", p.logs.String())
	}
	p.waitReady(t)
	return p
}

// waitReady polls /readyz until it answers 200 (event store, read store and
// projectors ready).
func (p *portal) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		res, err := http.Get(p.URL + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
			last = fmt.Sprintf("%d %s", res.StatusCode, body)
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("/readyz never answered 200 (last: %s)", last)
}

// stop sends SIGTERM and checks a graceful exit: status 0 and the
// "stopped" line in the log.
func (p *portal) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case err := <-p.done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("ispeks serve exited with %d after SIGTERM", exit.ExitCode())
		} else if err != nil {
			t.Fatalf("ispeks serve after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ispeks serve did not stop within 30 s of SIGTERM")
	}
	if !strings.Contains(p.logs.String(), `msg="iSPEKS portal stopped"`) {
		t.Error(`no "iSPEKS portal stopped" line after SIGTERM`)
	}
}

// get fetches a path with no cookie (for the public pages' checks).
func (p *portal) get(ctx context.Context, path string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+path, nil)
	if err != nil {
		return nil, nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res, body, err
}
