// Package projbench measures the projection engine on this machine, for
// `ispeks bench projections`: rebuild throughput into the SQLite read store,
// projection lag while events are appended at a steady rate, and peak RSS.
// It runs against the real SQLite event store and read store in a scratch
// directory.
package projbench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	eventsqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	readsqlite "github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/engine"
)

// Config sizes a bench run. The zero value is the standard run.
type Config struct {
	// Dir holds the bench's events.db and views.db. Empty: a temporary
	// directory, removed afterwards. An events.db in Dir that already holds
	// at least Events events is reused (generation is not what is measured).
	Dir string
	// Events in the log the rebuild replays (default 1,000,000).
	Events int
	// Payments is the number of payment streams they spread over (default
	// 20,000, so about 50 status changes per payment).
	Payments int
	// Rate (events/s) and Duration of the lag phase (defaults 1000, 30 s).
	Rate     int
	Duration time.Duration
	// Progress, if set, receives the rebuild progress bar.
	Progress io.Writer
	Logger   *slog.Logger
}

func (c *Config) defaults() {
	if c.Events <= 0 {
		c.Events = 1_000_000
	}
	if c.Payments <= 0 {
		c.Payments = 20_000
	}
	if c.Rate <= 0 {
		c.Rate = 1000
	}
	if c.Duration <= 0 {
		c.Duration = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// Report is what a run measured.
type Report struct {
	Events         int           // events in the log
	Generated      int           // events appended to build the log this run (0: reused)
	GenerateTime   time.Duration // time spent appending them
	RebuildTime    time.Duration
	RebuildRate    float64 // events/s
	LagRate        int     // target append rate of the lag phase
	LagDuration    time.Duration
	Appended       int // events appended in the lag phase
	LagP50, LagP99 time.Duration
	LagMax         time.Duration
	PeakRSS        uint64 // bytes (VmHWM): includes file pages the stores map
	PeakAnonRSS    uint64 // bytes: peak of RssAnon, sampled every 50 ms
}

// RebuildGCPercent is the engine.Config.RebuildGCPercent the bench rebuilds
// with, the setting meant for `ispeks projections rebuild`.
const RebuildGCPercent = 200

// Targets of issue 3.
const (
	TargetRebuildRate = 50_000 // events/s
	TargetLagP99      = 50 * time.Millisecond
)

// Run builds (or reuses) the log, rebuilds the bench projector from it,
// measures lag under a steady append rate, and prints a table to w.
func Run(ctx context.Context, cfg Config, w io.Writer) (Report, error) {
	cfg.defaults()
	dir := cfg.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "ispeks-projbench-")
		if err != nil {
			return Report{}, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o750); err != nil {
		return Report{}, err
	}
	rep := Report{LagRate: cfg.Rate, LagDuration: cfg.Duration}
	stopSampling := sampleAnonRSS(&rep.PeakAnonRSS)
	defer stopSampling()

	events, err := eventsqlite.Open(ctx, filepath.Join(dir, "events.db"), eventsqlite.Options{Logger: cfg.Logger})
	if err != nil {
		return rep, err
	}
	defer events.Close()
	start := time.Now()
	n, err := generate(ctx, events, cfg)
	if err != nil {
		return rep, fmt.Errorf("projbench: generate the log: %w", err)
	}
	rep.Generated, rep.GenerateTime = n, time.Since(start)
	head, err := events.LastPosition(ctx)
	if err != nil {
		return rep, err
	}
	rep.Events = int(head)

	viewsPath := filepath.Join(dir, "views.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(viewsPath + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return rep, err
		}
	}
	views, err := readsqlite.Open(ctx, viewsPath, readsqlite.Options{Logger: cfg.Logger})
	if err != nil {
		return rep, err
	}
	defer views.Close()
	eng, err := engine.New(engine.Config{
		Log: events, Store: views, Registry: Registry(), Projectors: []projections.Projector{Projector{}},
		Logger: cfg.Logger,
		// As `ispeks projections rebuild` runs it: a process of its own.
		RebuildGCPercent: RebuildGCPercent,
	})
	if err != nil {
		return rep, err
	}

	res, err := eng.Rebuild(ctx, ProjectorName, cfg.Progress)
	if err != nil {
		return rep, fmt.Errorf("projbench: rebuild: %w", err)
	}
	rep.RebuildTime = res.Duration
	rep.RebuildRate = float64(res.Events) / res.Duration.Seconds()

	if err := lagPhase(ctx, events, eng, cfg, &rep); err != nil {
		return rep, fmt.Errorf("projbench: lag phase: %w", err)
	}
	stopSampling()
	rep.PeakRSS = procStatus("VmHWM")
	printReport(w, rep)
	return rep, nil
}

// generate appends status changes until the log holds cfg.Events events:
// batches of 50 per payment stream, from several goroutines so appends share
// the store's group commits.
func generate(ctx context.Context, store *eventsqlite.Store, cfg Config) (int, error) {
	head, err := store.LastPosition(ctx)
	if err != nil || head >= uint64(cfg.Events) {
		return 0, err
	}
	if head > 0 {
		return 0, fmt.Errorf("%s holds %d events, fewer than the %d asked for: use an empty directory", store.Path(), head, cfg.Events)
	}
	const perAppend = 50
	appends := (cfg.Events + perAppend - 1) / perAppend
	jobs := make(chan int)
	errc := make(chan error, 8) // at most one per worker
	var wg sync.WaitGroup
	// With fewer streams than this, two batches of one stream could be in
	// flight at once.
	workers := min(8, max(1, cfg.Payments/100))
	for worker := 0; worker < workers; worker++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range jobs {
				payment := a % cfg.Payments
				round := a / cfg.Payments // how many batches this stream already has
				k := min(perAppend, cfg.Events-a*perAppend)
				batch := make([]eventlog.Proposed, k)
				for i := range batch {
					batch[i] = statusEvent(payment, round*perAppend+i)
				}
				stream := "payment-" + strconv.Itoa(payment)
				if _, err := store.Append(ctx, stream, eventlog.Exactly(uint64(round*perAppend)), batch); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	// Streams get their batches in order: batch a+Payments of a stream is
	// only handed out after batch a was (workers may still race; a stream's
	// consecutive batches are Payments jobs apart, far more than workers).
	go func() {
		defer close(jobs)
		for a := 0; a < appends; a++ {
			select {
			case jobs <- a:
			case <-ctx.Done():
				return
			}
		}
	}()
	wg.Wait()
	select {
	case err := <-errc:
		return 0, err
	default:
	}
	return cfg.Events, ctx.Err()
}

var statuses = []string{"Diterima", "Disemak", "Diluluskan", "Dibayar"}

func statusEvent(payment, seq int) eventlog.Proposed {
	ev := StatusChanged{
		Staff:  "staff-" + strconv.Itoa(payment%5000),
		Module: []string{"Pendahuluan", "Tuntutan"}[payment%2],
		Status: statuses[seq%len(statuses)],
		Amount: int64(100 + (payment*7+seq)%9000),
	}
	data, _ := json.Marshal(ev)
	return eventlog.Proposed{
		ID:         uuid.NewSHA1(uuid.NameSpaceOID, []byte("projbench-"+strconv.Itoa(payment)+"-"+strconv.Itoa(seq))),
		Type:       ev.EventType(),
		OccurredAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(seq) * time.Minute),
		Data:       data,
		Metadata:   eventlog.Metadata{Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "projbench"}},
	}
}

// lagPhase runs the projector live and appends cfg.Rate events a second for
// cfg.Duration; each event's lag is the time from its Append returning to
// WaitFor seeing the projector's commit of it.
func lagPhase(ctx context.Context, store *eventsqlite.Store, eng *engine.Engine, cfg Config, rep *Report) error {
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	runErr := make(chan error, 1)
	go func() { runErr <- eng.Run(runCtx) }()
	head, err := store.LastPosition(ctx)
	if err != nil {
		return err
	}
	if err := eng.WaitFor(ctx, head); err != nil {
		return err
	}

	var (
		mu   sync.Mutex
		lags []time.Duration
		errs []error
		wg   sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	total := int(cfg.Duration.Seconds() * float64(cfg.Rate))
	jobs := make(chan int, total)
	run := uuid.NewString()[:8] // fresh streams, also when the log is reused
	// Appenders in parallel: a durable append takes about an fsync, longer
	// than the gap between two events at 1000/s.
	for worker := 0; worker < 16; worker++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				ev := statusEvent(cfg.Payments+i, 0)
				ev.ID = uuid.New()
				res, err := store.Append(ctx, "payment-live"+run+"-"+strconv.Itoa(i), eventlog.NoStream(), []eventlog.Proposed{ev})
				if err != nil {
					fail(err)
					continue
				}
				appended := time.Now()
				if err := eng.WaitFor(ctx, res.LastPosition, ProjectorName); err != nil {
					fail(err)
					continue
				}
				lag := time.Since(appended)
				mu.Lock()
				lags = append(lags, lag)
				mu.Unlock()
			}
		}()
	}
	interval := time.Second / time.Duration(cfg.Rate)
	begin := time.Now()
	for i := 0; i < total; i++ {
		if d := time.Until(begin.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	stop()
	if err := <-runErr; err != nil {
		return err
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d appends or waits failed, first: %w", len(errs), total, errs[0])
	}
	slices.Sort(lags)
	rep.Appended = len(lags)
	rep.LagP50 = percentile(lags, 0.50)
	rep.LagP99 = percentile(lags, 0.99)
	rep.LagMax = lags[len(lags)-1]
	return nil
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// procStatus reads a size field (VmHWM, RssAnon, …) of /proc/self/status in
// bytes (0 where there is no such file: not Linux).
func procStatus(field string) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}

// sampleAnonRSS keeps *peak at the highest RssAnon seen until stop is
// called. VmHWM alone would mostly show the event store's memory-mapped file
// pages, which the kernel can drop at will; RssAnon is the process's own.
func sampleAnonRSS(peak *uint64) (stop func()) {
	quit := make(chan struct{})
	done := make(chan struct{})
	var mu sync.Mutex
	go func() {
		defer close(done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			v := procStatus("RssAnon")
			mu.Lock()
			*peak = max(*peak, v)
			mu.Unlock()
			select {
			case <-quit:
				return
			case <-t.C:
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			<-done
		})
	}
}

func printReport(w io.Writer, r Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	verdict := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "MISSED"
	}
	fmt.Fprintf(w, "projection bench: projector %s (1 read + 1 write per event, 3 indexed fields),\nSQLite event and read stores, rebuild with GOGC=%d\n\n", ProjectorName, RebuildGCPercent)
	fmt.Fprintf(tw, "metric\tvalue\ttarget\tresult\n")
	if r.Generated > 0 {
		fmt.Fprintf(tw, "log generated\t%s events in %.1f s\t\t\n", thousands(r.Generated), r.GenerateTime.Seconds())
	}
	fmt.Fprintf(tw, "rebuild into SQLite\t%s events in %.2f s\t< %.0f s for 1M\t\n", thousands(r.Events), r.RebuildTime.Seconds(), 1_000_000.0/TargetRebuildRate)
	fmt.Fprintf(tw, "rebuild throughput\t%s events/s\t>= %s events/s\t%s\n", thousands(int(r.RebuildRate)), thousands(TargetRebuildRate), verdict(r.RebuildRate >= TargetRebuildRate))
	fmt.Fprintf(tw, "lag phase\t%s events at %d/s for %s\t\t\n", thousands(r.Appended), r.LagRate, r.LagDuration)
	fmt.Fprintf(tw, "projection lag p50\t%s\t\t\n", ms(r.LagP50))
	fmt.Fprintf(tw, "projection lag p99\t%s\t<= %s\t%s\n", ms(r.LagP99), ms(TargetLagP99), verdict(r.LagP99 <= TargetLagP99))
	fmt.Fprintf(tw, "projection lag max\t%s\t\t\n", ms(r.LagMax))
	fmt.Fprintf(tw, "peak RSS (VmHWM)\t%.0f MiB\t\t\n", float64(r.PeakRSS)/(1<<20))
	fmt.Fprintf(tw, "  of it anonymous (peak RssAnon)\t%.0f MiB\t\t\n", float64(r.PeakAnonRSS)/(1<<20))
	tw.Flush()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func thousands(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
