package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/commands/ingest"
	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/http/server"
	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/projections/engine"
)

// queriesBenchConfig sizes `ispeks bench queries`.
type queriesBenchConfig struct {
	Staff       int           // employees (each gets Slips monthly slips)
	Slips       int           // monthly slips per person, the latest ending last month
	Payments    int           // payments, spread over the staff
	Moves       int           // status changes per payment (0–4)
	Conns       int           // concurrent keep-alive connections per query phase
	Duration    time.Duration // each route's measured time, over all its slices
	Warmup      time.Duration // load before each route's slices, not counted (split as Duration is)
	Rounds      int           // slices each route is measured in, alternating with the constant route
	Concurrency int           // ingestion lines in flight (0: the ingester's default)
	// ProjectWhileIngesting runs the projectors during ingestion, as
	// `serve` does; false starts them afterwards (ingestion alone).
	ProjectWhileIngesting bool
	Dir                   string // keep the dataset here and reuse it
	CPUProfile            string // query phases: PREFIX-<phase>.pprof
	IngestCPU             string // ingestion
	Now                   func() time.Time
}

// The constant-JSON baseline route, added to the server for the bench only.
const benchConstPath = "/api/v1/bench/const"

// queriesBenchResult is what the table shows.
type queriesBenchResult struct {
	Reused         bool
	Employees      time.Duration
	Statements     int
	StatementsTime time.Duration
	StatementsCPU  time.Duration // process CPU time during the slips
	PaymentLines   int
	PaymentsTime   time.Duration
	PaymentsCPU    time.Duration
	CatchUp        time.Duration // after the last line until the projections had it all
	// With the projectors running, the slips are not in their payees'
	// views until the projectors catch up: SlipsCatchUp is that wait after
	// the last slip (the payments start after it), SlipsViewCPU the CPU
	// time of the slips and the wait, and SlipsMaxLag / PaymentsMaxLag the
	// most events any projector was behind, sampled every 50 ms.
	SlipsCatchUp   time.Duration
	SlipsViewCPU   time.Duration
	SlipsMaxLag    uint64
	PaymentsMaxLag uint64
	// OwnWrites is, during the slips (projectors running), each master
	// update's time from its command until the accounts view had it: what
	// a page's read-your-writes wait is while a payroll run arrives.
	OwnWrites []time.Duration
	Events    uint64
	// Const is every slice of the constant route merged; ConstRates are
	// the slices' rates in order (one before each round, one after the last).
	Const           loadResult
	ConstRates      []float64
	Routes          []routeResult
	LoadBefore      string
	LoadAfterIngest string
	LoadAfter       string
	ListCacheMiB    float64 // the lists kept in memory after the queries
}

// routeResult is one measured route: its slices merged, and its rate in
// each round over the constant route's around it.
type routeResult struct {
	loadResult
	Kind   routeKind
	Ratios []float64
	// Kept and Read are the person's lists answered from memory and read
	// from the store during the route's slices (warm-up included).
	Kept, Read float64
}

// routeKind says which target a route is judged by.
type routeKind int

const (
	routeTarget routeKind = iota // ≥ 50 % of the constant route, p99 ≤ 15 ms
	routeShown                   // its ratio shown, no target
	routePDF                     // ≥ 200 documents/s
)

// Ratio is the median of the route's per-round ratios.
func (r routeResult) Ratio() float64 { return median(r.Ratios) }

func (c *cli) benchQueriesCmd() *cobra.Command {
	var cfg queriesBenchConfig
	cmd := &cobra.Command{
		Use:   "queries",
		Short: "Ingest a Melaka-sized dataset through the real ingestion path, then measure the status JSON query, the statement list page and PDFs beside a constant-JSON route",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := c.benchQueries(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Staff, "staff", 30_000, "employees in the master")
	f.IntVar(&cfg.Slips, "slips", 24, "monthly pay slips per person (the latest for last month)")
	f.IntVar(&cfg.Payments, "payments", 100_000, "payments, spread over the staff")
	f.IntVar(&cfg.Moves, "moves", 4, "status changes per payment (0–4: Dalam Proses, Diluluskan, Dihantar ke Bank, Diterima oleh Bank)")
	f.IntVar(&cfg.Conns, "conns", 64, "concurrent keep-alive connections in each query phase")
	f.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured time of each route, over all its slices")
	f.DurationVar(&cfg.Warmup, "warmup", time.Second, "load of each route that is not counted, over all its slices")
	f.IntVar(&cfg.Rounds, "rounds", 5, "slices each route is measured in, alternating with the constant route; a route's ratio is the median over the rounds")
	f.IntVar(&cfg.Concurrency, "ingest-concurrency", 0, "ingestion lines in flight (0: the ingester's default, as the API uses)")
	f.BoolVar(&cfg.ProjectWhileIngesting, "project-while-ingesting", true, "run the projectors during ingestion as the portal does (false: ingestion alone, projections afterwards)")
	f.StringVar(&cfg.Dir, "dir", "", "keep the generated dataset here and reuse it on the next run with the same sizes (default a temporary dir, removed)")
	f.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of each slice to PREFIX-<route>-<round>.pprof (go tool pprof merges several)")
	f.StringVar(&cfg.IngestCPU, "ingest-cpuprofile", "", "write a CPU profile of the ingestion, until the projections caught up, to this file")
	return cmd
}

// datasetMark records what a kept --dir holds.
type datasetMark struct {
	Staff, Slips, Payments, Moves int
	Until                         string // the last slip month, YYYY-MM
}

func (c *cli) benchQueries(ctx context.Context, cfg queriesBenchConfig, out, progress io.Writer) (queriesBenchResult, error) {
	var res queriesBenchResult
	switch {
	case cfg.Staff < 2 || cfg.Slips < 0 || (cfg.Payments != 0 && cfg.Payments < 2):
		return res, errors.New("--staff: at least 2; --slips: not negative; --payments: 0 or at least 2")
	case cfg.Moves < 0 || cfg.Moves > len(benchMoves):
		return res, fmt.Errorf("--moves: %d is outside 0..%d", cfg.Moves, len(benchMoves))
	case cfg.Conns < 1 || cfg.Duration <= 0 || cfg.Warmup < 0 || cfg.Rounds < 1:
		return res, errors.New("--conns: at least 1; --duration: positive; --warmup: not negative; --rounds: at least 1")
	case cfg.Duration/time.Duration(cfg.Rounds) < time.Millisecond:
		return res, fmt.Errorf("--duration %s in --rounds %d leaves less than a millisecond a slice", cfg.Duration, cfg.Rounds)
	case cfg.Slips < 1 && cfg.Payments < 1:
		return res, errors.New("--slips or --payments: something to query is needed")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	res.LoadBefore = loadAverage()
	now := cfg.Now().In(calendar.Melaka)
	lastMonth := time.Date(now.Year(), now.Month()-1, 1, 0, 0, 0, 0, time.UTC)
	mark := datasetMark{Staff: cfg.Staff, Slips: cfg.Slips, Payments: cfg.Payments, Moves: cfg.Moves, Until: lastMonth.Format("2006-01")}

	if cfg.Dir != "" {
		if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
			return res, fmt.Errorf("--dir: %w", err)
		}
		old, err := os.ReadFile(filepath.Join(cfg.Dir, "bench-queries.json"))
		switch {
		case err == nil:
			var m datasetMark
			if json.Unmarshal(old, &m) != nil || m != mark {
				return res, fmt.Errorf("--dir %s holds a dataset of other sizes (%s); use another directory or empty it", cfg.Dir, strings.TrimSpace(string(old)))
			}
			res.Reused = true
		case !errors.Is(err, os.ErrNotExist):
			return res, fmt.Errorf("--dir: %w", err)
		default:
			if entries, _ := os.ReadDir(cfg.Dir); len(entries) > 0 {
				return res, fmt.Errorf("--dir %s is not empty and holds no bench dataset", cfg.Dir)
			}
		}
	}

	rig, err := c.startBenchRig(ctx, cfg.Dir, rigOptions{Logs: progress, DeferEngine: true, Hook: func(s *server.Server) {
		s.Engine.GET(benchConstPath, func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok", "n": 42}) })
	}})
	if err != nil {
		return res, err
	}
	defer rig.Close()
	a := rig.app

	staff := make([]benchStaff, cfg.Staff)
	for i := range staff {
		staff[i] = newBenchStaff(i)
	}

	if !res.Reused {
		if err := benchDataset(ctx, rig, cfg, staff, lastMonth, &res, progress); err != nil {
			return res, err
		}
		if cfg.Dir != "" {
			b, _ := json.Marshal(mark)
			if err := os.WriteFile(filepath.Join(cfg.Dir, "bench-queries.json"), b, 0o640); err != nil {
				return res, err
			}
		}
	} else {
		fmt.Fprintf(progress, "bench queries: reusing the dataset in %s; projections catching up…\n", cfg.Dir)
		t0 := time.Now()
		if err := rig.catchUp(ctx); err != nil {
			return res, err
		}
		res.CatchUp = time.Since(t0)
	}
	if res.Events, err = a.events.LastPosition(ctx); err != nil {
		return res, err
	}
	res.LoadAfterIngest = loadAverage()

	// Every person gets a session through the session manager (as a login
	// would leave it); each request picks a random person.
	cookies, err := benchSessions(rig.srv, staff)
	if err != nil {
		return res, err
	}
	tr := benchTransport(cfg.Conns)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: noRedirect, Timeout: time.Minute}

	// What each phase asks for, checked once before it is measured.
	// The default display window is 18 months with this one: last month
	// and the 16 before it.
	slipMonths := min(cfg.Slips, 17)
	statusJSON := "/api/v1/me/payments?module=tuntutan"
	statusPage := "/permohonan/status-bayaran?modul=tuntutan"
	stmtPage := "/penyata-gaji?urusniaga=slip-gaji-bulanan"
	type phase struct {
		short  string // file name part of its CPU profiles
		name   string
		kind   routeKind
		check  func(ctx context.Context) error
		target func(rnd *rand.Rand) (path string, cookie string)
	}
	person := func(rnd *rand.Rand) int { return rnd.IntN(len(staff)) }
	withPayments := func(rnd *rand.Rand) int {
		// People with a claim (payments go round the staff; odd ones are claims).
		n := min(cfg.Payments, len(staff))
		for {
			i := rnd.IntN(n)
			if benchModule(i) == "tuntutan" {
				return i
			}
		}
	}
	constant := phase{short: "const", name: "constant JSON route " + benchConstPath,
		target: func(*rand.Rand) (string, string) { return benchConstPath, "" }}
	var phases []phase
	if cfg.Payments > 0 {
		phases = append(phases,
			phase{short: "status-json", name: "status list JSON " + statusJSON, kind: routeTarget,
				check: func(ctx context.Context) error {
					return benchCheck(ctx, client, rig.base+statusJSON, cookies[1], benchPaymentID(1))
				},
				target: func(rnd *rand.Rand) (string, string) { i := withPayments(rnd); return statusJSON, cookies[i] }},
			phase{short: "status-page", name: "status list page " + statusPage, kind: routeShown,
				check: func(ctx context.Context) error {
					return benchCheck(ctx, client, rig.base+statusPage, cookies[1], "BV-"+benchPaymentID(1))
				},
				target: func(rnd *rand.Rand) (string, string) { i := withPayments(rnd); return statusPage, cookies[i] }},
		)
	}
	if cfg.Slips > 0 {
		phases = append(phases,
			phase{short: "statement-page", name: "statement list page " + stmtPage, kind: routeTarget,
				check: func(ctx context.Context) error {
					return benchCheck(ctx, client, rig.base+stmtPage, cookies[0], "/penyata-gaji/"+benchSlipID(lastMonth, 0)+"/dokumen.pdf")
				},
				target: func(rnd *rand.Rand) (string, string) { return stmtPage, cookies[person(rnd)] }},
			phase{short: "pdf", name: "statement PDF /penyata-gaji/:id/dokumen.pdf", kind: routePDF,
				check: func(ctx context.Context) error {
					return benchCheck(ctx, client, rig.base+"/penyata-gaji/"+benchSlipID(lastMonth, 0)+"/dokumen.pdf", cookies[0], "%PDF-")
				},
				target: func(rnd *rand.Rand) (string, string) {
					i := person(rnd)
					month := lastMonth.AddDate(0, -rnd.IntN(slipMonths), 0)
					return "/penyata-gaji/" + benchSlipID(month, i) + "/dokumen.pdf", cookies[i]
				}},
		)
	}
	for _, p := range phases {
		if err := p.check(ctx); err != nil {
			return res, fmt.Errorf("%s: %w", p.name, err)
		}
	}

	// Each route is measured in slices that alternate with the constant
	// route: a round is the constant route, then every route once, and a
	// last slice of the constant route closes. On a shared VM the same
	// route's rate drifted by up to a third within one run; a route's
	// ratio in a round compares it with the constant route's slices just
	// before and after that round, and the median of the rounds is judged.
	slice, warm := cfg.Duration/time.Duration(cfg.Rounds), cfg.Warmup/time.Duration(cfg.Rounds)
	run := func(p phase, round int) (loadResult, error) {
		profile := ""
		if cfg.CPUProfile != "" {
			profile = fmt.Sprintf("%s-%s-%d.pprof", cfg.CPUProfile, p.short, round+1)
		}
		stopProfile, err := startCPUProfile(profile)
		if err != nil {
			return loadResult{}, err
		}
		defer stopProfile()
		return runLoad(ctx, p.name, cfg.Conns, warm, slice, nil, func(ctx context.Context, _ int, rnd *rand.Rand) error {
			path, cookie := p.target(rnd)
			return benchGet(ctx, client, rig.base+path, cookie)
		})
	}
	kept, read := make([]float64, len(phases)), make([]float64, len(phases))
	fmt.Fprintf(progress, "bench queries: %d rounds of the constant route and %d routes, %s each after %s, %d connections…\n",
		cfg.Rounds, len(phases), slice, warm, cfg.Conns)
	var consts []loadResult
	measured := make([][]loadResult, len(phases))
	for round := 0; round <= cfg.Rounds; round++ {
		c, err := run(constant, round)
		if err != nil {
			return res, err
		}
		consts = append(consts, c)
		if round == cfg.Rounds {
			break
		}
		for i, p := range phases {
			k0, r0, _ := viewCacheMetrics(a.metrics)
			r, err := run(p, round)
			if err != nil {
				return res, err
			}
			k1, r1, _ := viewCacheMetrics(a.metrics)
			kept[i], read[i] = kept[i]+k1-k0, read[i]+r1-r0
			measured[i] = append(measured[i], r)
		}
	}
	res.Const = mergeLoads(consts)
	for _, c := range consts {
		res.ConstRates = append(res.ConstRates, c.Rate())
	}
	for i, p := range phases {
		rr := routeResult{loadResult: mergeLoads(measured[i]), Kind: p.kind, Kept: kept[i], Read: read[i]}
		for round, r := range measured[i] {
			rr.Ratios = append(rr.Ratios, r.Rate()/((consts[round].Rate()+consts[round+1].Rate())/2))
		}
		res.Routes = append(res.Routes, rr)
	}
	res.LoadAfter = loadAverage()
	_, _, keptBytes := viewCacheMetrics(a.metrics)
	res.ListCacheMiB = keptBytes / (1 << 20)
	printQueriesTable(out, cfg, res)
	return res, nil
}

// benchStaff is one generated member of staff.
type benchStaff struct {
	IC, Name, Email, Dept, Post, StaffNo, Grade string
	Basic                                       int64 // sen
}

var (
	benchDepts = []string{
		"Jabatan Kewangan dan Perbendaharaan Negeri Melaka", "Jabatan Kerja Raya Negeri Melaka",
		"Jabatan Pendidikan Negeri Melaka", "Pejabat Setiausaha Kerajaan Negeri Melaka",
		"Jabatan Pertanian Negeri Melaka", "Jabatan Kebajikan Masyarakat Negeri Melaka",
	}
	benchPosts  = []string{"Pembantu Tadbir", "Pegawai Kewangan", "Jurutera", "Penolong Pegawai Tadbir", "Pemandu"}
	benchGrades = []string{"N19", "WA41", "J41", "N29", "H11"}
	benchNames  = []string{"Nurul Aina binti Hassan", "Mohd Faizal bin Ahmad", "Tan Mei Ling", "Siti Aminah binti Omar", "Rajesh a/l Kumar", "Hafiz bin Ismail"}
)

func newBenchStaff(i int) benchStaff {
	return benchStaff{
		IC: benchIC(i), Name: fmt.Sprintf("%s %d", benchNames[i%len(benchNames)], i),
		Email: fmt.Sprintf("staf%d@melaka.gov.my", i), Dept: benchDepts[i%len(benchDepts)],
		Post: benchPosts[i%len(benchPosts)], Grade: benchGrades[i%len(benchGrades)],
		StaffNo: fmt.Sprintf("MLK%05d", i), Basic: 180000 + int64(i%97)*2500,
	}
}

func benchSlipID(month time.Time, i int) string {
	b := make([]byte, 0, 24)
	b = month.AppendFormat(append(b, "SG-"...), "2006-01")
	b = append(b, '-')
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], int64(i), 10)
	for range 6 - len(d) { // %06d
		b = append(b, '0')
	}
	return string(append(b, d...))
}

func benchPaymentID(p int) string { return fmt.Sprintf("PAY-%07d", p) }

// benchModule: payments alternate advances and claims.
func benchModule(p int) string {
	if p%2 == 0 {
		return "pendahuluan"
	}
	return "tuntutan"
}

var benchMoves = []string{
	`"status":"dalam-proses"`, `"status":"diluluskan"`, `"status":"dihantar-ke-bank"`,
	`"status":"diterima-oleh-bank","eft_no":"EFT%07d","payment_date":"%s"`,
}

// benchDataset puts the employee master in through the PutStaff handler
// (as the import does) and then the slips and payments through the NDJSON
// ingester (the code behind POST /api/v1/ingest and `ispeks import
// statements`), with the projectors running as under `serve`.
func benchDataset(ctx context.Context, rig *benchRig, cfg queriesBenchConfig, staff []benchStaff, lastMonth time.Time, res *queriesBenchResult, progress io.Writer) error {
	a := rig.app
	fmt.Fprintf(progress, "bench queries: %d employees…\n", len(staff))
	t0 := time.Now()
	next := make(chan int)
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := range next {
				s := staff[i]
				_, err := a.accounts.PutStaff.Handle(ctx, commands.PutStaff{Meta: benchMeta(benchSystem), Details: employee.Details{
					IC: s.IC, Name: s.Name, Email: s.Email, Department: s.Dept, Post: s.Post, StaffNumber: s.StaffNo,
				}})
				if err != nil {
					failed.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	for i := range staff {
		if failed.Load() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if p := failed.Load(); p != nil {
		return fmt.Errorf("employee master: %w", *p)
	}
	res.Employees = time.Since(t0)
	if cfg.ProjectWhileIngesting {
		// The master's projections first, so the slips are measured with
		// the projectors keeping up with them alone.
		if err := rig.catchUp(ctx); err != nil {
			return err
		}
	}

	stop, err := startCPUProfile(cfg.IngestCPU)
	if err != nil {
		return err
	}
	defer stop()
	src := ingest.Source{Actor: eventlog.Actor{Kind: eventlog.ActorClient, ID: "bench-payroll"}, CorrelationID: "bench"}
	newIngester := func() *ingest.Ingester {
		// As POST /api/v1/ingest builds it: the app's shared payee cache.
		in := ingest.New(a.runner, a.payees)
		in.Concurrency = cfg.Concurrency
		in.Logger = a.cli.log
		return in
	}
	if cfg.Slips > 0 {
		res.Statements = len(staff) * cfg.Slips
		fmt.Fprintf(progress, "bench queries: %d monthly slips through the ingester…\n", res.Statements)
		t0 = time.Now()
		cpu0 := processCPU()
		stopProbe := make(chan struct{})
		probed := make(chan []time.Duration, 1)
		if cfg.ProjectWhileIngesting {
			go func() { probed <- probeOwnWrites(ctx, stopProbe, a, staff) }()
		} else {
			probed <- nil
		}
		lagged := sampleMaxLag(stopProbe, a.engine)
		err := benchIngest(ctx, newIngester(), src, res.Statements, func(w *bufio.Writer) {
			// A payroll run a month, oldest first.
			for m := cfg.Slips - 1; m >= 0; m-- {
				month := lastMonth.AddDate(0, -m, 0)
				for i := range staff {
					writeSlip(w, staff[i], i, month)
				}
			}
		})
		close(stopProbe)
		res.OwnWrites, res.SlipsMaxLag = <-probed, <-lagged
		if err != nil {
			return err
		}
		res.StatementsTime, res.StatementsCPU = time.Since(t0), processCPU()-cpu0
		fmt.Fprintf(progress, "bench queries: %.0f statements/s\n", float64(res.Statements)/res.StatementsTime.Seconds())
		if cfg.ProjectWhileIngesting {
			// Until the projectors have them, the slips are not on anyone's
			// page: the ingestion rate alone leaves that work to later.
			t1 := time.Now()
			if err := rig.catchUp(ctx); err != nil {
				return err
			}
			res.SlipsCatchUp, res.SlipsViewCPU = time.Since(t1), processCPU()-cpu0
		}
	}
	if cfg.Payments > 0 {
		res.PaymentLines = cfg.Payments * (1 + cfg.Moves)
		fmt.Fprintf(progress, "bench queries: %d payments with %d status changes each (%d lines)…\n", cfg.Payments, cfg.Moves, res.PaymentLines)
		t0 = time.Now()
		cpu0 := processCPU()
		stopLag := make(chan struct{})
		lagged := sampleMaxLag(stopLag, a.engine)
		err := benchIngest(ctx, newIngester(), src, res.PaymentLines, func(w *bufio.Writer) {
			// Blocks of a day's work: the records, then each status move of
			// the block, so no line waits long for the one before it on the
			// same payment.
			const block = 1000
			for b := 0; b < cfg.Payments; b += block {
				end := min(b+block, cfg.Payments)
				for p := b; p < end; p++ {
					writePayment(w, staff[p%len(staff)], p, lastMonth)
				}
				for m := range cfg.Moves {
					for p := b; p < end; p++ {
						writeMove(w, p, m, lastMonth)
					}
				}
			}
		})
		close(stopLag)
		res.PaymentsMaxLag = <-lagged
		if err != nil {
			return err
		}
		res.PaymentsTime, res.PaymentsCPU = time.Since(t0), processCPU()-cpu0
		fmt.Fprintf(progress, "bench queries: %.0f payment lines/s\n", float64(res.PaymentLines)/res.PaymentsTime.Seconds())
	}
	fmt.Fprintln(progress, "bench queries: waiting for the projections…")
	t0 = time.Now()
	if err := rig.catchUp(ctx); err != nil {
		return err
	}
	res.CatchUp = time.Since(t0)
	stop() // the profile covers the projections' catching up too
	return nil
}

// sampleMaxLag sends, once stop is closed, the most events any projector
// of e was behind the log head it knew, looked at every 50 ms until then.
func sampleMaxLag(stop <-chan struct{}, e *engine.Engine) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var most uint64
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			for _, lag := range e.Lags() {
				most = max(most, lag)
			}
			select {
			case <-stop:
				out <- most
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// probeOwnWrites updates one employee's post in the master at once and
// then every 100 ms until stop, and times each from its command until the
// accounts view had it (as a page waits for its own action to show),
// sorted. The first is always measured, however short the run. The
// employee is the last of the staff, far from the slips being written.
func probeOwnWrites(ctx context.Context, stop <-chan struct{}, a *app, staff []benchStaff) []time.Duration {
	var took []time.Duration
	s := staff[len(staff)-1]
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		if i > 0 {
			select {
			case <-stop:
				slices.Sort(took)
				return took
			case <-tick.C:
			}
		}
		post := s.Post
		if i%2 == 0 {
			post += " (pemangku)"
		}
		t0 := time.Now()
		res, err := a.accounts.PutStaff.Handle(ctx, commands.PutStaff{Meta: benchMeta(benchSystem), Details: employee.Details{
			IC: s.IC, Name: s.Name, Email: s.Email, Department: s.Dept, Post: post, StaffNumber: s.StaffNo,
		}})
		if err != nil {
			return took // the run is failing or ending: no measurement
		}
		// Bounded by the engine's WaitTimeout: a wait that runs out counts
		// as that long.
		_ = a.engine.WaitFor(ctx, res.Position, "accounts")
		took = append(took, time.Since(t0))
	}
}

// benchIngest streams what gen writes through the ingester (never holding
// the batch) and wants every line accepted.
func benchIngest(ctx context.Context, in *ingest.Ingester, src ingest.Source, lines int, gen func(*bufio.Writer)) error {
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 256<<10)
		gen(w)
		pw.CloseWithError(w.Flush())
	}()
	defer pr.Close()
	var bad *ingest.Result
	sum, err := in.Run(ctx, pr, src, func(r ingest.Result) error {
		if r.Outcome != ingest.Accepted && bad == nil {
			bad = &r
			return fmt.Errorf("line %d: %s %s %s: %s", r.Line, r.Outcome, r.Code, r.Field, r.Reason)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	if sum.Accepted != lines {
		return fmt.Errorf("ingest: %d of %d lines accepted", sum.Accepted, lines)
	}
	return nil
}

// slipAmounts are a person's monthly slip lines and totals, in sen.
func slipAmounts(s benchStaff) (itka, cola, earn, pcb, kwsp, perkeso, ded int64) {
	itka, cola = 30000, 35000
	earn = s.Basic + itka + cola
	pcb = (s.Basic - 150000) / 10
	kwsp = earn * 11 / 100
	perkeso = 1475
	return itka, cola, earn, pcb, kwsp, perkeso, pcb + kwsp + perkeso
}

// writeSlip writes one monthly slip's NDJSON line. It is the finance
// system's side of the bench, in the same process as the portal: built with
// appends rather than fmt (~1.5 µs a line, 1–2 % of a slip's CPU), so that
// the load generator takes less of the two cores the ingestion is measured
// on. The line is what fmt's %q/%d would write (TestWriteSlipLine).
func writeSlip(w *bufio.Writer, s benchStaff, i int, month time.Time) {
	itka, cola, earn, pcb, kwsp, perkeso, ded := slipAmounts(s)
	id := benchSlipID(month, i)
	b := w.AvailableBuffer()
	b = append(b, `{"kind":"statement","request_id":"gaji-`...)
	b = append(b, id...)
	b = append(b, `","statement":{"statement_id":`...)
	b = strconv.AppendQuote(b, id)
	b = append(b, `,"type":"slip-gaji-bulanan","period":{"year":`...)
	b = strconv.AppendInt(b, int64(month.Year()), 10)
	b = append(b, `,"month":`...)
	b = strconv.AppendInt(b, int64(month.Month()), 10)
	b = append(b, `},"payee":{"ic":`...)
	b = strconv.AppendQuote(b, s.IC)
	b = append(b, `,"name":`...)
	b = strconv.AppendQuote(b, s.Name)
	b = append(b, `,"staff_no":`...)
	b = strconv.AppendQuote(b, s.StaffNo)
	b = append(b, `,"department":`...)
	b = strconv.AppendQuote(b, s.Dept)
	b = append(b, `,"post":`...)
	b = strconv.AppendQuote(b, s.Post)
	b = append(b, `,"grade":`...)
	b = strconv.AppendQuote(b, s.Grade)
	b = append(b, `},"employer":{"name":"Kerajaan Negeri Melaka"},"earnings":[{"code":"0001","name":"Gaji Pokok","amount_sen":`...)
	b = strconv.AppendInt(b, s.Basic, 10)
	b = append(b, `},{"name":"ITKA","amount_sen":`...)
	b = strconv.AppendInt(b, itka, 10)
	b = append(b, `},{"name":"COLA","amount_sen":`...)
	b = strconv.AppendInt(b, cola, 10)
	b = append(b, `}],"deductions":[{"name":"PCB","amount_sen":`...)
	b = strconv.AppendInt(b, pcb, 10)
	b = append(b, `},{"name":"KWSP","amount_sen":`...)
	b = strconv.AppendInt(b, kwsp, 10)
	b = append(b, `},{"name":"PERKESO","amount_sen":`...)
	b = strconv.AppendInt(b, perkeso, 10)
	b = append(b, `}],"totals":{"earnings_sen":`...)
	b = strconv.AppendInt(b, earn, 10)
	b = append(b, `,"deductions_sen":`...)
	b = strconv.AppendInt(b, ded, 10)
	b = append(b, `,"net_sen":`...)
	b = strconv.AppendInt(b, earn-ded, 10)
	b = append(b, `},"pay_date":"`...)
	b = time.Date(month.Year(), month.Month(), 25, 0, 0, 0, 0, time.UTC).AppendFormat(b, "2006-01-02")
	b = append(b, "\"}}\n"...)
	_, _ = w.Write(b)
}

func writePayment(w *bufio.Writer, s benchStaff, p int, lastMonth time.Time) {
	id := benchPaymentID(p)
	mod := benchModule(p)
	typ := mod + "-perjalanan"
	day := lastMonth.AddDate(0, 0, p%28).Format("2006-01-02")
	fmt.Fprintf(w, `{"kind":"payment","request_id":"%s-0","payment":{"payment_id":%q,"module":%q,"type":%q,`+
		`"voucher_no":"BV-%s","voucher_date":%q,"reference":"TP/%d","description":"Perjalanan rasmi ke Kuala Lumpur","amount_sen":%d,"payee_ic":%q,"received_date":%q}}`+"\n",
		id, id, mod, typ, id, day, p, 20000+int64(p%500)*150, s.IC, day) // received on the voucher date: the moves follow it
}

func writeMove(w *bufio.Writer, p, m int, lastMonth time.Time) {
	id := benchPaymentID(p)
	day := lastMonth.AddDate(0, 0, p%28+m+1).Format("2006-01-02")
	body := benchMoves[m]
	if strings.Contains(body, "%07d") {
		body = fmt.Sprintf(body, p, day)
	}
	fmt.Fprintf(w, `{"kind":"payment_status","request_id":"%s-%d","change":{"payment_id":%q,%s,"date":%q}}`+"\n", id, m+1, id, body, day)
}

// benchSessions logs every person in through the session manager (what a
// completed login leaves) and returns each one's Cookie header.
func benchSessions(srv *server.Server, staff []benchStaff) ([]string, error) {
	cookies := make([]string, len(staff))
	for i, s := range staff {
		var err error
		if cookies[i], err = benchSession(srv, session.Identity{UserID: s.IC, Name: s.Name, Department: s.Dept}); err != nil {
			return nil, err
		}
	}
	return cookies, nil
}

// benchSession logs id in through the session manager and returns the
// Cookie header of its session.
func benchSession(srv *server.Server, id session.Identity) (string, error) {
	name := srv.Sessions.Config().CookieName
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(http.MethodPost, "/login/kata-laluan", nil)
	if err := srv.Sessions.Login(c, id); err != nil {
		return "", fmt.Errorf("session: %w", err)
	}
	for _, ck := range w.Result().Cookies() {
		if ck.Name == name {
			return name + "=" + ck.Value, nil
		}
	}
	return "", errors.New("session: the manager set no cookie")
}

// benchGet fetches target with cookie and wants 200; the body is read in
// full (a PDF too).
func benchGet(ctx context.Context, c *http.Client, target, cookie string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	drain(resp)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d", req.URL.Path, resp.StatusCode)
	}
	return nil
}

// benchCheck fetches target once and wants 200 and want in the body, so a
// phase never measures an error page or an empty list.
func benchCheck(ctx context.Context, c *http.Client, target, cookie, want string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Cookie", cookie)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d (is it wired into the server?)", req.URL.RequestURI(), resp.StatusCode)
	}
	if !strings.Contains(string(body), want) {
		return fmt.Errorf("GET %s: the answer does not contain %q (is it wired into the server?)", req.URL.RequestURI(), want)
	}
	return nil
}

func printQueriesTable(out io.Writer, cfg queriesBenchConfig, r queriesBenchResult) {
	fmt.Fprintf(out, "ispeks bench queries — one run on %s\n", machine())
	fmt.Fprintf(out, "dataset: %d staff, %d monthly slips each, %d payments with %d status changes (%d events)", cfg.Staff, cfg.Slips, cfg.Payments, cfg.Moves, r.Events)
	if r.Reused {
		fmt.Fprint(out, ", reused from --dir")
	}
	fmt.Fprintf(out, "\nload average: before %s, after ingestion %s, after the queries %s\n", r.LoadBefore, r.LoadAfterIngest, r.LoadAfter)
	fmt.Fprintf(out, "queries: %d keep-alive connections; each route %s in %d slices after %s warm-up, alternating with the constant route; load generator in the same process; logs at warn level\n",
		cfg.Conns, cfg.Duration, cfg.Rounds, cfg.Warmup)
	fmt.Fprintf(out, "ratio: a route's rate in a round over the mean of the constant route's slices before and after that round; the median of the rounds is judged\n")
	fmt.Fprintf(out, "lists from memory: a person's payment or statement list kept since its last change (--view-cache-mb; %.1f MiB kept at the end); the first visit of each person reads the store\n", r.ListCacheMiB)
	fmt.Fprintf(out, "CPU/req: process CPU time (server, projectors, load generator) per request or line — on two idle cores the rate would be about 2 s / CPU/req\n\n")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tvalue\tp50\tp99\tCPU/req\tratio per round\ttarget")
	if !r.Reused {
		fmt.Fprintf(tw, "employee master (PutStaff, 64 at once)\t%.0f records/s\t\t\t\t\t\n", float64(cfg.Staff)/r.Employees.Seconds())
		with := "projectors running"
		if !cfg.ProjectWhileIngesting {
			with = "projectors stopped"
		}
		if r.Statements > 0 {
			rate := float64(r.Statements) / r.StatementsTime.Seconds()
			fmt.Fprintf(tw, "ingestion, monthly slips (%s)\t%.0f statements/s\t\t\t%s\t\t≥ 20000/s %s\n", with, rate,
				us(r.StatementsCPU, r.Statements), verdict(rate >= 20000))
		}
		if r.Statements > 0 && cfg.ProjectWhileIngesting {
			fmt.Fprintf(tw, "monthly slips until in their payees' views\t%.0f statements/s\t\t\t%s\tprojectors up to %d events behind; caught up %s after the last slip\t\n",
				float64(r.Statements)/(r.StatementsTime+r.SlipsCatchUp).Seconds(), us(r.SlipsViewCPU, r.Statements),
				r.SlipsMaxLag, r.SlipsCatchUp.Round(time.Millisecond))
		}
		if r.PaymentLines > 0 {
			behind := ""
			if cfg.ProjectWhileIngesting {
				behind = fmt.Sprintf("projectors up to %d events behind", r.PaymentsMaxLag)
			}
			fmt.Fprintf(tw, "ingestion, payments and status changes (%s)\t%.0f lines/s\t\t\t%s\t%s\t\n", with,
				float64(r.PaymentLines)/r.PaymentsTime.Seconds(), us(r.PaymentsCPU, r.PaymentLines), behind)
		}
	}
	if len(r.OwnWrites) > 0 {
		fmt.Fprintf(tw, "a master update until its own view shows it, every 100 ms during the slips\t%d updates, max %s\t%s\t%s\t\t\t(what a page's read-your-writes waits)\n",
			len(r.OwnWrites), ms(r.OwnWrites[len(r.OwnWrites)-1]), ms(percentile(r.OwnWrites, 50)), ms(percentile(r.OwnWrites, 99)))
	}
	fmt.Fprintf(tw, "projections caught up after the last line\t%s\t\t\t\t\t\n", r.CatchUp.Round(time.Millisecond))
	c := r.Const
	rates := make([]string, len(r.ConstRates))
	for i, x := range r.ConstRates {
		rates[i] = fmt.Sprintf("%.0f", x)
	}
	fmt.Fprintf(tw, "%s\t%.0f req/s\t%s\t%s\t%s\t%s req/s\t(the baseline)\n", c.Name, c.Rate(), ms(c.P(50)), ms(c.P(99)), us(c.CPU, c.Requests), strings.Join(rates, " "))
	for _, p := range r.Routes {
		ratios := make([]string, len(p.Ratios))
		for i, x := range p.Ratios {
			ratios[i] = fmt.Sprintf("%.0f", 100*x)
		}
		perRound := strings.Join(ratios, " ") + " % → " + pctOf(p.Ratio())
		target, unit := "", "req/s"
		switch p.Kind {
		case routeTarget:
			target = "≥ 50% of the constant route, p99 ≤ 15 ms: " + verdict(p.Ratio() >= 0.5 && p.P(99) <= 15*time.Millisecond)
		case routeShown:
			target = "(no target)"
		case routePDF:
			target, unit = "≥ 200 documents/s "+verdict(p.Rate() >= 200), "documents/s"
			perRound = "" // judged by its own rate
		}
		if p.Kept+p.Read > 0 {
			perRound += fmt.Sprintf(" (lists %.0f%% from memory)", 100*p.Kept/(p.Kept+p.Read))
		}
		errs := ""
		if p.Errors > 0 {
			errs = fmt.Sprintf(" (%d errors)", p.Errors)
		}
		fmt.Fprintf(tw, "%s\t%.0f %s%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.Rate(), unit, errs, ms(p.P(50)), ms(p.P(99)), us(p.CPU, p.Requests), perRound, target)
	}
	tw.Flush()
}

// viewCacheMetrics reads the list cache's hits, misses and bytes kept from
// the metrics (zeros without them).
func viewCacheMetrics(reg *prometheus.Registry) (hits, misses, bytes float64) {
	if reg == nil {
		return 0, 0, 0
	}
	families, err := reg.Gather()
	if err != nil {
		return 0, 0, 0
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch f.GetName() {
			case "ispeks_view_cache_hits_total":
				hits += m.GetCounter().GetValue()
			case "ispeks_view_cache_misses_total":
				misses += m.GetCounter().GetValue()
			case "ispeks_view_cache_bytes":
				bytes += m.GetGauge().GetValue()
			}
		}
	}
	return hits, misses, bytes
}
