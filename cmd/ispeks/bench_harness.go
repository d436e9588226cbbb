package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/melaka-gov/ispeks/http/server"
	"github.com/melaka-gov/ispeks/infra/config"
)

// benchRig is the whole portal as `serve` runs it (stores, security,
// projector engine, consumers, HTTP server) in a temporary data directory,
// listening on a loopback port, for the bench commands.
type benchRig struct {
	app  *app
	srv  *server.Server
	base string // http://127.0.0.1:port

	dir     string
	cleanup bool
	runCtx  context.Context
	cancel  context.CancelFunc
	group   *errgroup.Group
	engine  sync.Once
}

// rigOptions adjust a benchRig.
type rigOptions struct {
	Logs        io.Writer            // warnings and errors (default stderr)
	Tune        func(*config.Config) // configuration changes for the bench
	Hook        func(*server.Server) // routes to add before serving
	Prepare     func(*app)           // changes to the app before the server is built
	DeferEngine bool                 // the projectors start at startEngine, not at once
}

// startBenchRig opens the app in dir (a fresh temporary directory when
// empty) with the caller's configuration but SQLite stores in that
// directory, no SMTP or NATS, and o.Tune applied; then starts the engine
// (unless deferred), the consumers and the HTTP server.
func (c *cli) startBenchRig(ctx context.Context, dir string, o rigOptions) (*benchRig, error) {
	r := &benchRig{dir: dir}
	if dir == "" {
		d, err := os.MkdirTemp("", "ispeks-bench-*")
		if err != nil {
			return nil, err
		}
		r.dir, r.cleanup = d, true
	}
	cfg := c.cfg
	cfg.EmailDomains = slices.Clone(c.cfg.EmailDomains)
	cfg.DataDir = r.dir
	cfg.EventStoreURL, cfg.ReadStoreURL = "sqlite:", "sqlite:"
	cfg.KeyFile = filepath.Join(r.dir, "master.key")
	cfg.SMTPURL, cfg.NATSURL = "", ""
	cfg.Listen = "127.0.0.1:0"
	cfg.BaseURL = ""
	cfg.Demo = false
	if o.Tune != nil {
		o.Tune(&cfg)
	}
	if err := cfg.Resolve(); err != nil {
		r.removeDir()
		return nil, err
	}
	logs := o.Logs
	if logs == nil {
		logs = os.Stderr
	}
	// Warnings and errors only: the access log's line per request would
	// flood the terminal (its cost is the same for every route measured).
	bc := &cli{cfg: cfg, log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	a, err := bc.openApp(ctx, prometheus.NewRegistry())
	if err != nil {
		r.removeDir()
		return nil, err
	}
	r.app = a
	a.hasher.ApplyTuning() // as serve does: the runtime the portal really runs with
	runCtx, cancel := context.WithCancel(ctx)
	r.cancel = cancel
	g, gctx := errgroup.WithContext(runCtx)
	r.group, r.runCtx = g, gctx
	if !o.DeferEngine {
		r.startEngine()
	}
	if err := a.runConsumers(gctx, g); err != nil {
		r.Close()
		return nil, err
	}
	if o.Prepare != nil {
		o.Prepare(a)
	}
	if r.srv, err = a.httpHandler(gctx); err != nil {
		r.Close()
		return nil, err
	}
	if o.Hook != nil {
		o.Hook(r.srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		r.Close()
		return nil, err
	}
	r.base = "http://" + ln.Addr().String()
	serveHTTP(gctx, g, ln, r.srv, 5*time.Second)
	return r, nil
}

// startEngine starts the projectors (once).
func (r *benchRig) startEngine() {
	r.engine.Do(func() {
		r.group.Go(func() error { return r.app.engine.Run(r.runCtx) })
	})
}

// Close stops the server, the engine and the consumers, closes the stores
// and removes a temporary directory.
func (r *benchRig) Close() error {
	var err error
	if r.cancel != nil {
		r.cancel()
		if gerr := r.group.Wait(); gerr != nil && !errors.Is(gerr, context.Canceled) {
			err = gerr
		}
	}
	if r.app != nil {
		r.app.Close()
	}
	r.removeDir()
	return err
}

func (r *benchRig) removeDir() {
	if r.cleanup {
		_ = os.RemoveAll(r.dir)
	}
}

// catchUp waits until every projector has applied the log as it stands.
func (r *benchRig) catchUp(ctx context.Context) error {
	r.startEngine()
	head, err := r.app.events.LastPosition(ctx)
	if err != nil {
		return err
	}
	for {
		err := r.app.engine.WaitFor(ctx, head)
		if err == nil || ctx.Err() != nil {
			return err
		}
		// WaitFor is bounded; a long backlog takes several bounds.
		lag, lerr := r.app.maxLag(ctx)
		if lerr != nil {
			return lerr
		}
		if lag == 0 {
			return nil
		}
	}
}

// benchTransport is a keep-alive HTTP transport for conns concurrent
// connections to one loopback host.
func benchTransport(conns int) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: max(conns, 64),
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		// A browser reads a response in large chunks; with net/http's
		// default 4 KiB buffer the in-process load generator spent three
		// or four read calls on a 13 KB page, CPU the server never uses
		// but that the shared cores pay, against the big pages alone.
		ReadBufferSize: 64 << 10,
	}
}

// noRedirect makes a client hand redirects back, so each step's status and
// Location can be checked.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// drain reads the rest of a body and closes it so the connection is reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// latencies collects request durations; percentiles come from the sorted
// samples (every request is kept: a 10 s phase is at most a few hundred
// thousand samples).
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(batch []time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, batch...)
	l.mu.Unlock()
}

// percentile returns the p-th percentile (0 < p ≤ 100) by nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// loadResult is one phase of closed-loop load.
type loadResult struct {
	Name     string
	Conns    int
	Requests int // completed without error inside the measured window
	Errors   int
	FirstErr error
	Elapsed  time.Duration
	Sorted   []time.Duration
	CPU      time.Duration // process CPU time (server, load generator, everything) in the window
	Counted  uint64        // the counter's growth in the window (see runLoad)
}

func (r loadResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

func (r loadResult) P(p float64) time.Duration { return percentile(r.Sorted, p) }

// runLoad runs conns workers, each calling op back to back, for warmup
// (not counted) and then d (measured: the ops that finish in it). op gets its worker number and a
// private random source. An op error is counted; more than a handful of
// them, or more than 1% of all ops, fails the phase — a measurement of
// failures would be meaningless. counter (optional) is read when the
// measured window opens and closes (e.g. argon2id derivations).
func runLoad(ctx context.Context, name string, conns int, warmup, d time.Duration, counter func() uint64, op func(ctx context.Context, worker int, rnd *rand.Rand) error) (loadResult, error) {
	res := loadResult{Name: name, Conns: conns}
	var (
		all      latencies
		errs     atomic.Int64
		firstErr atomic.Pointer[error]
		measure  atomic.Bool
		stop     atomic.Bool
		wg       sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w)+1, uint64(time.Now().UnixNano())))
			local := make([]time.Duration, 0, 4096)
			for !stop.Load() && ctx.Err() == nil {
				t0 := time.Now()
				err := op(ctx, w, rnd)
				el := time.Since(t0)
				// An op counts when it finishes inside the window, wherever
				// it started: that is the steady-state rate.
				counted := measure.Load()
				if stop.Load() {
					break // finished after the window: not counted
				}
				if err != nil {
					if ctx.Err() != nil {
						break
					}
					errs.Add(1)
					firstErr.CompareAndSwap(nil, &err)
					continue
				}
				if counted {
					local = append(local, el)
				}
			}
			all.add(local)
		}()
	}
	if counter == nil {
		counter = func() uint64 { return 0 }
	}
	sleep(ctx, warmup)
	measure.Store(true)
	start, cpu0, n0 := time.Now(), processCPU(), counter()
	sleep(ctx, d)
	stop.Store(true)
	res.Elapsed, res.CPU, res.Counted = time.Since(start), processCPU()-cpu0, counter()-n0
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	slices.Sort(all.d)
	res.Sorted = all.d
	res.Requests = len(all.d)
	res.Errors = int(errs.Load())
	if p := firstErr.Load(); p != nil {
		res.FirstErr = *p
	}
	if res.Errors > 10 && res.Errors*100 > res.Requests {
		return res, fmt.Errorf("%s: %d of %d requests failed; first: %w", name, res.Errors, res.Requests+res.Errors, res.FirstErr)
	}
	if res.Requests == 0 {
		err := res.FirstErr
		if err == nil {
			err = errors.New("none finished in the time given")
		}
		return res, fmt.Errorf("%s: no request succeeded: %w", name, err)
	}
	return res, nil
}

// mergeLoads puts phases of the same kind together: their counts, times
// and samples add up.
func mergeLoads(ls []loadResult) loadResult {
	var m loadResult
	for _, l := range ls {
		m.Name, m.Conns = l.Name, l.Conns
		m.Requests += l.Requests
		m.Errors += l.Errors
		if m.FirstErr == nil {
			m.FirstErr = l.FirstErr
		}
		m.Elapsed += l.Elapsed
		m.CPU += l.CPU
		m.Counted += l.Counted
		m.Sorted = append(m.Sorted, l.Sorted...)
	}
	slices.Sort(m.Sorted)
	return m
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// startCPUProfile starts a CPU profile into path ("" does nothing); the
// returned function stops it.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// loadAverage is /proc/loadavg's first three fields ("" where there is
// none): the machine is shared, so every table says how busy it was.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}

// machine describes where the numbers come from.
func machine() string {
	return fmt.Sprintf("%s/%s, GOMAXPROCS %d, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.NumCPU(), runtime.Version())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// us is CPU time per operation in microseconds.
func us(cpu time.Duration, n int) string {
	if n <= 0 || cpu <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f µs", float64(cpu.Microseconds())/float64(n))
}

func pct(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f%%", 100*a/b)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
