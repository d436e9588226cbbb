// Package storebench measures the embedded event store on this machine, for
// `ispeks bench eventstore`: single-event appends by many concurrent writers
// (durable, group commit), batched appends, reading the whole log, and — in
// the same run, on the same disk — the raw rate at which SQLite takes plain
// INSERTs of the same rows into the same schema in big transactions, as the
// yardstick for the batched rate.
package storebench

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
)

// Config sizes the run. Zero fields take defaults that finish well within a
// minute on a small machine.
type Config struct {
	// Dir is where the temporary directory is made ("": the system's).
	Dir string
	// Writers is the number of concurrent single-event writers. Default 64.
	Writers int
	// SingleEvents is how many single-event appends they make in total.
	// Default 30000.
	SingleEvents int
	// BatchSize is the number of events per batched append. Default 100.
	BatchSize int
	// BatchWriters is the number of concurrent batch writers. Default 16:
	// batched appends come from importers, and a lone importer that waits
	// for each batch to be durable is bound by fsync latency, not by the
	// store; several at once let group commit fill its transactions.
	BatchWriters int
	// BatchEvents is how many events the batched phase appends. Default
	// 160000.
	BatchEvents int
	// RawEvents is how many rows the raw SQLite phase inserts. Default
	// BatchEvents.
	RawEvents int
	// RawTxRows is how many rows one raw transaction inserts. Default 10000.
	RawTxRows int
	// ReadPage is the page size of the read-all phase. Default 1000.
	ReadPage int
	// DataBytes is the approximate size of each event's JSON data.
	// Default 200.
	DataBytes int
	// Keep leaves the database files in place (their directory is printed).
	Keep bool
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Writers, 64)
	def(&c.SingleEvents, 30000)
	def(&c.BatchSize, 100)
	def(&c.BatchWriters, 16)
	def(&c.BatchEvents, 160000)
	def(&c.RawEvents, c.BatchEvents)
	def(&c.RawTxRows, 10000)
	def(&c.ReadPage, 1000)
	def(&c.DataBytes, 200)
	if c.BatchSize > eventlog.MaxBatchEvents {
		c.BatchSize = eventlog.MaxBatchEvents
	}
	return c
}

// Phase is one measured phase.
type Phase struct {
	Name      string
	Events    int
	Duration  time.Duration
	PerSecond float64
}

func phase(name string, n int, d time.Duration) Phase {
	return Phase{Name: name, Events: n, Duration: d, PerSecond: float64(n) / d.Seconds()}
}

// Targets the issue sets for this machine.
const (
	TargetSingle       = 10000  // events/s, 64 concurrent single-event writers
	TargetBatchedRatio = 0.60   // batched appends / raw bulk insert
	TargetReadAll      = 200000 // events/s
)

// Report is the outcome of a run.
type Report struct {
	Dir          string
	Single       Phase
	Batched      Phase
	Raw          Phase
	ReadAll      Phase
	BatchedRatio float64 // Batched.PerSecond / Raw.PerSecond
	SingleOK     bool
	BatchedOK    bool
	ReadAllOK    bool
}

// OK reports whether every target was met.
func (r Report) OK() bool { return r.SingleOK && r.BatchedOK && r.ReadAllOK }

// Run measures and prints the table to w.
func Run(ctx context.Context, cfg Config, w io.Writer) (Report, error) {
	cfg = cfg.withDefaults()
	var rep Report
	dir, err := os.MkdirTemp(cfg.Dir, "ispeks-bench-")
	if err != nil {
		return rep, fmt.Errorf("storebench: temp dir: %w", err)
	}
	rep.Dir = dir
	if !cfg.Keep {
		defer os.RemoveAll(dir)
	}
	fmt.Fprintf(w, "iSPEKS event store benchmark: SQLite (modernc.org/sqlite), WAL, synchronous=FULL\n")
	fmt.Fprintf(w, "%s/%s, %d CPUs, %s, files in %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), dir)
	// Other work on the machine changes every number below; say how busy it was.
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Fprintf(w, "load average before the run: %s\n", strings.Join(strings.Fields(string(la))[:3], " "))
	}
	fmt.Fprintln(w)

	storePath := filepath.Join(dir, "events.db")
	st, err := sqlite.Open(ctx, storePath, sqlite.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return rep, err
	}
	defer st.Close()

	if rep.Single, err = single(ctx, st, cfg); err != nil {
		return rep, err
	}
	if rep.Batched, err = batched(ctx, st, cfg); err != nil {
		return rep, err
	}
	if rep.Raw, err = raw(ctx, filepath.Join(dir, "raw.db"), cfg); err != nil {
		return rep, err
	}
	if rep.ReadAll, err = readAll(ctx, st, cfg); err != nil {
		return rep, err
	}
	rep.BatchedRatio = rep.Batched.PerSecond / rep.Raw.PerSecond
	rep.SingleOK = rep.Single.PerSecond >= TargetSingle
	rep.BatchedOK = rep.BatchedRatio >= TargetBatchedRatio
	rep.ReadAllOK = rep.ReadAll.PerSecond >= TargetReadAll

	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	const rowFmt = "%-48s %8s %8s %10s  %-26s %s\n"
	fmt.Fprintf(w, rowFmt, "phase", "events", "seconds", "events/s", "target", "")
	row := func(p Phase, target, v string) {
		fmt.Fprintf(w, rowFmt, p.Name, fmt.Sprint(p.Events), fmt.Sprintf("%.2f", p.Duration.Seconds()), fmt.Sprintf("%.0f", p.PerSecond), target, v)
	}
	row(rep.Single, fmt.Sprintf("≥ %d", TargetSingle), verdict(rep.SingleOK))
	row(rep.Batched, fmt.Sprintf("≥ %.0f%% of raw = %.0f", TargetBatchedRatio*100, TargetBatchedRatio*rep.Raw.PerSecond), verdict(rep.BatchedOK))
	row(rep.Raw, "(yardstick)", "")
	row(rep.ReadAll, fmt.Sprintf("≥ %d", TargetReadAll), verdict(rep.ReadAllOK))
	fmt.Fprintf(w, "\nbatched / raw bulk insert = %.0f%%; single appends = %.1fx target; read-all = %.1fx target\n",
		rep.BatchedRatio*100, rep.Single.PerSecond/TargetSingle, rep.ReadAll.PerSecond/TargetReadAll)
	return rep, nil
}

// payload builds event data of about n bytes.
func payload(i, n int) json.RawMessage {
	pad := n - 80
	if pad < 0 {
		pad = 0
	}
	b, _ := json.Marshal(map[string]any{
		"claim_id": fmt.Sprintf("TK-%08d", i),
		"amount":   12345 + i%1000,
		"note":     strings.Repeat("x", pad),
	})
	return b
}

func makeEvents(start, n, dataBytes int) []eventlog.Proposed {
	now := time.Now().UTC()
	out := make([]eventlog.Proposed, n)
	for i := range out {
		id := uuid.New()
		out[i] = eventlog.Proposed{
			ID:         id,
			Type:       "bench.ClaimSubmitted.v1",
			OccurredAt: now,
			Data:       payload(start+i, dataBytes),
			Metadata: eventlog.Metadata{
				CorrelationID: "c-" + id.String()[:8],
				CausationID:   id.String(),
				Actor:         eventlog.Actor{Kind: eventlog.ActorUser, ID: "u-000123"},
				SourceIP:      "10.20.30.40",
				UserAgent:     "storebench/1",
			},
		}
	}
	return out
}

// single: Writers goroutines, each appending one event at a time to its
// own stream with an exact expected version.
func single(ctx context.Context, st *sqlite.Store, cfg Config) (Phase, error) {
	per := cfg.SingleEvents / cfg.Writers
	if per == 0 {
		per = 1
	}
	evs := makeEvents(0, per*cfg.Writers, cfg.DataBytes)
	errc := make(chan error, cfg.Writers)
	var wg sync.WaitGroup
	startGun := make(chan struct{})
	for w := 0; w < cfg.Writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGun
			s := fmt.Sprintf("single-w%d", w)
			for k := 0; k < per; k++ {
				if _, err := st.Append(ctx, s, eventlog.Exactly(uint64(k)), evs[w*per+k:w*per+k+1]); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	t0 := time.Now()
	close(startGun)
	wg.Wait()
	d := time.Since(t0)
	close(errc)
	if err := <-errc; err != nil {
		return Phase{}, fmt.Errorf("storebench: single appends: %w", err)
	}
	return phase(fmt.Sprintf("single-event appends, %d concurrent writers", cfg.Writers), per*cfg.Writers, d), nil
}

const streamsPerBatchWriter = 16

// batched: BatchWriters goroutines append BatchSize events at a time, each
// cycling over streams of its own.
func batched(ctx context.Context, st *sqlite.Store, cfg Config) (Phase, error) {
	appends := cfg.BatchEvents / cfg.BatchSize / cfg.BatchWriters
	if appends == 0 {
		appends = 1
	}
	n := appends * cfg.BatchSize * cfg.BatchWriters
	evs := makeEvents(0, n, cfg.DataBytes)
	errc := make(chan error, cfg.BatchWriters)
	var wg sync.WaitGroup
	startGun := make(chan struct{})
	for w := 0; w < cfg.BatchWriters; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGun
			mine := evs[w*appends*cfg.BatchSize : (w+1)*appends*cfg.BatchSize]
			version := map[string]uint64{}
			for k := 0; k < appends; k++ {
				s := fmt.Sprintf("batch-w%d-%d", w, k%streamsPerBatchWriter)
				batch := mine[k*cfg.BatchSize : (k+1)*cfg.BatchSize]
				res, err := st.Append(ctx, s, eventlog.Exactly(version[s]), batch)
				if err != nil {
					errc <- err
					return
				}
				version[s] = res.LastVersion
			}
		}()
	}
	t0 := time.Now()
	close(startGun)
	wg.Wait()
	d := time.Since(t0)
	close(errc)
	if err := <-errc; err != nil {
		return Phase{}, fmt.Errorf("storebench: batched appends: %w", err)
	}
	return phase(fmt.Sprintf("batched appends, %d events each, %d writers", cfg.BatchSize, cfg.BatchWriters), n, d), nil
}

// raw inserts the same kind of rows into a fresh file with the store's
// schema and connection settings, using nothing but one prepared INSERT in
// big transactions: no checks, no hashing, every value encoded before the
// clock starts.
func raw(ctx context.Context, path string, cfg Config) (Phase, error) {
	if err := sqlite.CreateSchema(ctx, path); err != nil {
		return Phase{}, err
	}
	db, err := sql.Open("sqlite", sqlite.DSN(path, 10*time.Second, false))
	if err != nil {
		return Phase{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	evs := makeEvents(0, cfg.RawEvents, cfg.DataBytes)
	rows := make([][]any, len(evs))
	version := map[string]int64{}
	prev := map[string]string{}
	for i, e := range evs {
		s := fmt.Sprintf("raw-%d", (i/cfg.BatchSize)%(streamsPerBatchWriter*cfg.BatchWriters))
		version[s]++
		recs := []eventlog.Record{{ID: e.ID, Stream: s, Version: uint64(version[s]), Type: e.Type, OccurredAt: e.OccurredAt, Data: e.Data, Metadata: e.Metadata}}
		eventlog.Chain(prev[s], recs)
		m := recs[0].Metadata
		prev[s] = m.Hash
		chain, _ := hex.DecodeString(m.Prev + m.Hash)
		meta, _ := json.Marshal(eventlog.Metadata{CorrelationID: m.CorrelationID, CausationID: m.CausationID, Actor: m.Actor, SourceIP: m.SourceIP, UserAgent: m.UserAgent})
		batch := int64(i/cfg.BatchSize*cfg.BatchSize + 1)
		rows[i] = []any{int64(i + 1), s, version[s], e.ID[:], e.Type, e.OccurredAt.UnixNano(), []byte(e.Data), meta, chain, batch}
	}

	conn, err := db.Conn(ctx)
	if err != nil {
		return Phase{}, err
	}
	defer conn.Close()
	ins, err := conn.PrepareContext(ctx, sqlite.InsertSQL)
	if err != nil {
		return Phase{}, err
	}
	defer ins.Close()
	t0 := time.Now()
	for start := 0; start < len(rows); start += cfg.RawTxRows {
		if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			return Phase{}, err
		}
		end := min(start+cfg.RawTxRows, len(rows))
		for i := start; i < end; i++ {
			if _, err := ins.ExecContext(ctx, rows[i]...); err != nil {
				conn.ExecContext(ctx, "ROLLBACK")
				return Phase{}, fmt.Errorf("storebench: raw insert: %w", err)
			}
		}
		if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
			return Phase{}, err
		}
	}
	d := time.Since(t0)
	if err := checkRaw(ctx, path, len(rows)); err != nil {
		return Phase{}, err
	}
	return phase(fmt.Sprintf("raw SQLite bulk insert, %d rows/transaction", cfg.RawTxRows), len(rows), d), nil
}

// checkRaw reads the yardstick's rows back through the store: they must be
// complete, well-formed events with a valid chain, so that the comparison
// is between like rows.
func checkRaw(ctx context.Context, path string, want int) error {
	st, err := sqlite.Open(ctx, path, sqlite.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer st.Close()
	last, err := st.LastPosition(ctx)
	if err != nil {
		return err
	}
	if last != uint64(want) {
		return fmt.Errorf("storebench: raw insert stored %d rows, want %d", last, want)
	}
	recs, err := st.ReadAll(ctx, 0, 1000)
	if err != nil {
		return fmt.Errorf("storebench: raw rows do not read back: %w", err)
	}
	v := eventlog.NewChainVerifier()
	for _, r := range recs {
		if b := v.Add(r); b != nil {
			return fmt.Errorf("storebench: raw rows are not like the store's: %w", b)
		}
	}
	return nil
}

// readAll reads the whole log written by the other phases, page by page.
func readAll(ctx context.Context, st *sqlite.Store, cfg Config) (Phase, error) {
	want, err := st.LastPosition(ctx)
	if err != nil {
		return Phase{}, err
	}
	var pos uint64
	n := 0
	t0 := time.Now()
	for {
		recs, err := st.ReadAll(ctx, pos, cfg.ReadPage)
		if err != nil {
			return Phase{}, fmt.Errorf("storebench: read all: %w", err)
		}
		for _, r := range recs {
			if r.Position != pos+1 {
				return Phase{}, fmt.Errorf("storebench: read all: position %d after %d", r.Position, pos)
			}
			pos = r.Position
		}
		n += len(recs)
		if len(recs) < cfg.ReadPage {
			break
		}
	}
	d := time.Since(t0)
	if uint64(n) != want {
		return Phase{}, errors.New("storebench: read all did not return every event")
	}
	return phase(fmt.Sprintf("read-all, %d events per page", cfg.ReadPage), n, d), nil
}
