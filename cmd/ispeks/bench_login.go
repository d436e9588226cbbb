package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/commands/ingest"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/mykad"
	"github.com/melaka-gov/ispeks/infra/config"
	"github.com/melaka-gov/ispeks/infra/security"
)

// loginBenchConfig sizes `ispeks bench login`.
type loginBenchConfig struct {
	Accounts      int           // activated accounts the right-password clients log in to
	Clients       int           // concurrent right-password clients
	StormAccounts int           // accounts the wrong-password storm hits (they lock; attempts go on)
	StormClients  int           // concurrent wrong-password clients
	QueryClients  int           // logged-in clients asking for their payment status meanwhile
	QueryPath     string        // the status query
	HasherLimit   int           // argon2id derivations at once (0: as the portal runs, one per core)
	SpareProcs    int           // Ps GOMAXPROCS is raised by (-1: as the portal runs, security.DefaultSpareProcs)
	Duration      time.Duration // each measured phase (each login round)
	Rounds        int           // login rounds, each between two raw argon2id measurements
	Warmup        time.Duration // before each phase, not counted
	RateFor       time.Duration // each raw argon2id measurement
	Settle        time.Duration // raw argon2id before the first measurement, not counted
	Dir           string
	CPUProfile    string
	SplitCPU      bool // time each derivation on its thread (MeasureCPU)
	// Argon2MemoryKiB and Argon2Time, when not zero, replace production's
	// argon2id parameters for the bench's accounts: a tiny hash leaves the
	// rest of a login to be measured directly. With production's, the rest
	// (~3 ms) is the difference of two ~30 ms CPU times that each drift by
	// ±6 % on a shared VM; alone it varies by ~±7 % of itself (4.1–4.7 ms
	// a login in three runs of one client, session 22).
	Argon2MemoryKiB uint32
	Argon2Time      uint32
}

// production reports whether the bench hashes with production's argon2id
// parameters (only then do its ratios judge the target).
func (c loginBenchConfig) production() bool { return c.Argon2MemoryKiB == 0 && c.Argon2Time == 0 }

// loginBenchResult is what the table shows.
type loginBenchResult struct {
	// Raw argon2id measurements, one before each login round and one
	// after the last: Raw[i] and Raw[i+1] surround round i.
	Raw          []rawMeasure
	Rounds       []loadResult // the logins, round by round
	Logins       loadResult   // all rounds together (rate, latencies)
	QueriesAlone loadResult
	QueriesStorm loadResult
	Storm        loadResult
	// StormRestarts: storm logins the portal sent back to the landing page
	// (errLoginRestarted), over the whole storm.
	StormRestarts int64
	HasherLimit   int
	Cores         int // goroutines of the raw rate
	Tuning        security.Argon2Tuning
	OneRaw        float64 // raw argon2id hashes/s in one goroutine (0: not measured)
	Settled       float64 // raw argon2id hashes/s of the settling window, not counted (0: none)
	LoginKernel   kernel  // per login, all rounds (warm-up included)
	// LoginHashCPU is the thread CPU time per derivation in the login
	// rounds (warm-up included); 0 without --split-cpu.
	LoginHashCPU time.Duration
}

// rawMeasure is one raw argon2id measurement.
type rawMeasure struct {
	Rate    float64       // hashes/s
	CPU     time.Duration // process CPU time per hash
	HashCPU time.Duration // thread CPU time per derivation (--split-cpu; else 0)
	kernel
}

// kernel is the system CPU time, the minor page faults and the context
// switches of the process so far, or per hash (or per login) of a phase.
type kernel struct {
	Sys      time.Duration
	Faults   float64
	Switches float64
}

// since is what was counted from k0 to k, over n hashes.
func (k kernel) since(k0 kernel, n float64) kernel {
	n = max(n, 1)
	return kernel{Sys: time.Duration(float64(k.Sys-k0.Sys) / n), Faults: (k.Faults - k0.Faults) / n, Switches: (k.Switches - k0.Switches) / n}
}

// plus adds what was counted from k0 to k1 to k.
func (k kernel) plus(k0, k1 kernel) kernel {
	return kernel{Sys: k.Sys + k1.Sys - k0.Sys, Faults: k.Faults + k1.Faults - k0.Faults, Switches: k.Switches + k1.Switches - k0.Switches}
}

// wallRatio is round i's logins/s over the mean of the raw rates around it.
func (r loginBenchResult) wallRatio(i int) float64 {
	raw := (r.Raw[i].Rate + r.Raw[i+1].Rate) / 2
	return r.Rounds[i].Rate() / max(raw, 1e-9)
}

// cpuRatio is round i's CPU per raw hash over its CPU per login: on two
// idle cores the rates would stand in this ratio.
func (r loginBenchResult) cpuRatio(i int) float64 {
	raw := (r.Raw[i].CPU + r.Raw[i+1].CPU) / 2
	return float64(raw) / float64(max(perOp(r.Rounds[i]), 1))
}

// perOp is a phase's process CPU time per completed operation.
func perOp(l loadResult) time.Duration {
	return l.CPU / time.Duration(max(l.Requests, 1))
}

// median of a few numbers.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// rawRate measures the raw argon2id rate and the CPU time one hash took.
func rawRate(ctx context.Context, a *app, d time.Duration) (rawMeasure, error) {
	a.hasher.PrepareRate() // the workers' fresh pages are not a hash's CPU
	cpu0, t0, hash0 := processCPU(), time.Now(), a.hasher.DerivationCPU()
	k0 := kernelShare()
	rate, err := a.hasher.Rate(ctx, d)
	if err != nil {
		return rawMeasure{}, err
	}
	hashes := max(rate*time.Since(t0).Seconds(), 1)
	return rawMeasure{
		Rate:    rate,
		CPU:     time.Duration(float64(processCPU()-cpu0) / hashes),
		HashCPU: time.Duration(float64(a.hasher.DerivationCPU()-hash0) / hashes),
		kernel:  kernelShare().since(k0, hashes),
	}, nil
}

func (c *cli) benchLoginCmd() *cobra.Command {
	var cfg loginBenchConfig
	noSpare := false
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Logins/s through the two-step login pages beside the raw argon2id rate; status-query p50/p99 during a wrong-password storm",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if noSpare {
				if cmd.Flags().Changed("spare-procs") {
					return errors.New("--no-spare-procs and --spare-procs: give one of them")
				}
				cfg.SpareProcs = 0
			}
			_, err := c.benchLogin(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Accounts, "accounts", 64, "activated accounts the right-password clients log in to (at least --clients, so no two clients share one)")
	f.IntVar(&cfg.Clients, "clients", 32, "concurrent clients logging in with the right password")
	f.IntVar(&cfg.StormAccounts, "storm-accounts", 64, "accounts the wrong-password storm hits")
	f.IntVar(&cfg.StormClients, "storm-clients", 32, "concurrent clients sending wrong passwords")
	f.IntVar(&cfg.QueryClients, "query-clients", 4, "logged-in clients asking for their payment status during the storm")
	f.StringVar(&cfg.QueryPath, "query", "/permohonan/status-bayaran?modul=tuntutan", "the status query (a page or /api/v1/me/… path of the logged-in user)")
	f.IntVar(&cfg.HasherLimit, "hasher-limit", 0, "argon2id derivations allowed at once (0: as the portal runs it, one per core)")
	f.IntVar(&cfg.SpareProcs, "spare-procs", -1, "raise GOMAXPROCS by this many Ps on the first hash (-1: as the portal does, one per four derivations allowed at once, at least one)")
	f.BoolVar(&noSpare, "no-spare-procs", false, "do not raise GOMAXPROCS on the first hash (--spare-procs 0, to compare)")
	f.DurationVar(&cfg.Duration, "duration", 8*time.Second, "length of each measured phase (each login round)")
	// Five short rounds rather than three long ones: on a shared VM the raw
	// rate alone drifts by ±8 % from one 3 s window to the next, and the
	// median of five rounds moves less with one bad window than of three.
	f.IntVar(&cfg.Rounds, "rounds", 5, "login rounds, each between two raw argon2id measurements (the machine may be shared: the table shows the median)")
	f.DurationVar(&cfg.Warmup, "warmup", 3*time.Second, "load before each phase that is not counted (longer than one login under full load)")
	// Every measured window then follows full load, as the rounds do. On
	// session 22's host the first raw window of three runs was the
	// fastest, and hashing alone in a fresh process slowed over its first
	// 9 s (78.7, 74.7, 70.5, then 67–73 hashes/s); later runs with the
	// settle did not bear the pattern out (docs/benchmarks.md).
	f.DurationVar(&cfg.Settle, "settle", 6*time.Second, "raw argon2id on every core before the first measurement, not counted (the table shows its rate): a VM's cores may run faster for the first seconds of full load")
	f.DurationVar(&cfg.RateFor, "rate-for", 3*time.Second, "length of each raw argon2id measurement (one before each login round, one after the last)")
	f.StringVar(&cfg.Dir, "dir", "", "data directory of the bench (default a temporary one, removed afterwards)")
	f.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the first login round to this file")
	f.Uint32Var(&cfg.Argon2MemoryKiB, "argon2-memory", 0, "KiB of memory of the bench accounts' argon2id hashes instead of production's (with --argon2-time; e.g. 64 and 1: a login's CPU is then almost all the rest of the login, measured without the hash's drift; the ratios judge nothing)")
	f.Uint32Var(&cfg.Argon2Time, "argon2-time", 0, "passes of the bench accounts' argon2id hashes instead of production's (with --argon2-memory)")
	f.BoolVar(&cfg.SplitCPU, "split-cpu", false, "time every argon2id derivation by its thread's CPU, to split a login's CPU into its derivation and the rest (locks each derivation to its OS thread, which the portal does not)")
	return cmd
}

func (c *cli) benchLogin(ctx context.Context, cfg loginBenchConfig, out, progress io.Writer) (loginBenchResult, error) {
	var res loginBenchResult
	switch {
	case cfg.Clients < 1 || cfg.StormClients < 1 || cfg.QueryClients < 1:
		return res, errors.New("--clients, --storm-clients and --query-clients: must be at least 1")
	case cfg.Accounts < cfg.Clients:
		return res, fmt.Errorf("--accounts: %d is fewer than --clients %d (logins on one account queue behind each other)", cfg.Accounts, cfg.Clients)
	case cfg.HasherLimit < 0:
		return res, errors.New("--hasher-limit: must not be negative")
	case cfg.SpareProcs < -1:
		return res, errors.New("--spare-procs: must be -1 (as the portal) or more")
	case cfg.StormAccounts < 1:
		return res, errors.New("--storm-accounts: must be at least 1")
	case cfg.Rounds < 1:
		return res, errors.New("--rounds: must be at least 1")
	case cfg.Duration <= 0 || cfg.RateFor <= 0 || cfg.Warmup < 0 || cfg.Settle < 0:
		return res, errors.New("--duration and --rate-for: must be positive; --warmup and --settle: not negative")
	case !cfg.production() && (cfg.Argon2Time < 1 || cfg.Argon2MemoryKiB < 8):
		return res, errors.New("--argon2-memory and --argon2-time: give both, at least 8 KiB and 1 pass")
	case !strings.HasPrefix(cfg.QueryPath, "/"):
		return res, fmt.Errorf("--query: %q is not a path", cfg.QueryPath)
	}
	if cfg.Dir != "" {
		// The accounts are made afresh: a directory from an earlier run
		// would answer "already registered".
		if entries, err := os.ReadDir(cfg.Dir); err == nil && len(entries) > 0 {
			return res, fmt.Errorf("--dir %s: must be empty or new", cfg.Dir)
		}
	}
	loadBefore := loadAverage()
	// The per-IP login throttle is raised for the bench: every client
	// comes from 127.0.0.1, and the storm must reach the password check
	// (with the default 20 then one every 3 s it would measure the
	// throttle, not the logins).
	rig, err := c.startBenchRig(ctx, cfg.Dir, rigOptions{Logs: progress, Tune: func(k *config.Config) {
		k.LoginPerIPBurst, k.LoginPerIPEvery = 1<<30, time.Nanosecond
		k.LoginFailBurst, k.LoginFailEvery = 1<<30, time.Nanosecond
	}, Prepare: func(a *app) {
		if cfg.HasherLimit > 0 || cfg.SpareProcs >= 0 || !cfg.production() {
			// The same handlers as openSecurity wires, over a hasher with
			// another limit, spare Ps or parameters (to see what they do).
			tuning := a.hasher.Tuning()
			params := a.hasher.Params()
			if !cfg.production() {
				params.MemoryKiB, params.Time = cfg.Argon2MemoryKiB, cfg.Argon2Time
			}
			h := security.NewArgon2(params, cfg.HasherLimit)
			tuning.SpareProcs = cfg.SpareProcs
			if tuning.SpareProcs < 0 {
				tuning.SpareProcs = security.DefaultSpareProcs(h.Concurrency())
			}
			h.Tune(tuning)
			a.useHasher(h)
		}
	}})
	if err != nil {
		return res, err
	}
	defer rig.Close()
	a := rig.app
	res.HasherLimit, res.Cores, res.Tuning = a.hasher.Concurrency(), a.hasher.Cores(), a.hasher.Tuning()
	a.hasher.MeasureCPU(cfg.SplitCPU)

	queryUsers := cfg.QueryClients
	total := cfg.Accounts + cfg.StormAccounts + queryUsers
	fmt.Fprintf(progress, "bench login: creating %d activated accounts (register → temporary password → activate; %s argon2id)…\n", total, hashKind(cfg))
	t0 := time.Now()
	users, err := benchAccounts(ctx, a, total)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(progress, "bench login: accounts ready in %s\n", time.Since(t0).Round(time.Millisecond))
	good := users[:cfg.Accounts]
	storm := users[cfg.Accounts : cfg.Accounts+cfg.StormAccounts]
	queriers := users[cfg.Accounts+cfg.StormAccounts:]

	// The query users get payments to look at, through the ingestion path.
	vouchers, err := benchPayments(ctx, a, queriers)
	if err != nil {
		return res, err
	}
	if err := rig.catchUp(ctx); err != nil {
		return res, err
	}

	tr := benchTransport(cfg.Clients + cfg.StormClients + cfg.QueryClients)
	defer tr.CloseIdleConnections()

	// Query clients log in once through the pages; their sessions are then
	// reused for every query.
	qclients := make([]*http.Client, len(queriers))
	for i, u := range queriers {
		b := newBenchBrowser(rig.base, tr)
		if err := b.login(ctx, u.ic, benchPassword); err != nil {
			return res, fmt.Errorf("query user login: %w", err)
		}
		body, err := b.get(ctx, cfg.QueryPath)
		if err != nil {
			return res, fmt.Errorf("--query %s: %w", cfg.QueryPath, err)
		}
		if !strings.Contains(body, vouchers[i]) {
			return res, fmt.Errorf("--query %s: the answer does not list the user's payment %s (is the status query wired into the server?)", cfg.QueryPath, vouchers[i])
		}
		qclients[i] = b.client
	}
	query := func(ctx context.Context, w int, _ *rand.Rand) error {
		return getOK(ctx, qclients[w%len(qclients)], rig.base+cfg.QueryPath)
	}

	if cfg.Settle > 0 {
		fmt.Fprintf(progress, "bench login: settling: raw argon2id for %s, not counted…\n", cfg.Settle)
		settled, err := rawRate(ctx, a, cfg.Settle)
		if err != nil {
			return res, err
		}
		res.Settled = settled.Rate
	}
	fmt.Fprintln(progress, "bench login: raw argon2id rate…")
	raw, err := rawRate(ctx, a, cfg.RateFor)
	if err != nil {
		return res, err
	}
	res.Raw = append(res.Raw, raw)
	if a.hasher.Cores() > 1 {
		// What one goroutine hashes: argon2id is memory-bound, so a lower
		// hasher limit may cost less than it seems.
		if res.OneRaw, err = a.hasher.RateIn(ctx, 1, cfg.RateFor); err != nil {
			return res, err
		}
	}
	// Each right-password client has a connection of its own, written
	// and read on its goroutine by a browser that builds and parses its
	// messages itself (rawBrowser): the load generator shares the cores
	// with what it measures, and should take as little of them as it can.
	browsers := make([]*rawBrowser, cfg.Clients)
	for i := range browsers {
		browsers[i] = newRawBrowser(rig.base)
		defer browsers[i].Close()
	}
	var mu sync.Mutex
	next := make([]int, cfg.Clients)
	login := func(ctx context.Context, w int, _ *rand.Rand) error {
		// Client w takes accounts w, w+clients, …: no two clients share an
		// account (logins on one account queue in the handler).
		mu.Lock()
		i := (w + next[w]*cfg.Clients) % len(good)
		next[w]++
		mu.Unlock()
		return browsers[w].login(ctx, good[i].ic, benchPassword)
	}
	var loginKernel kernel
	loginHashes, loginHashCPU := uint64(0), time.Duration(0)
	for round := range cfg.Rounds {
		fmt.Fprintf(progress, "bench login: round %d/%d, %d clients logging in with the right password for %s…\n", round+1, cfg.Rounds, cfg.Clients, cfg.Duration)
		profile := ""
		if round == 0 {
			profile = cfg.CPUProfile
		}
		stopProfile, err := startCPUProfile(profile)
		if err != nil {
			return res, err
		}
		k0 := kernelShare()
		hashes0, hashCPU0 := a.hasher.Computed(), a.hasher.DerivationCPU()
		r, err := runLoad(ctx, "logins", cfg.Clients, cfg.Warmup, cfg.Duration, a.hasher.Computed, login)
		loginKernel, loginHashes = loginKernel.plus(k0, kernelShare()), loginHashes+a.hasher.Computed()-hashes0
		loginHashCPU += a.hasher.DerivationCPU() - hashCPU0
		stopProfile()
		if err != nil {
			return res, err
		}
		res.Rounds = append(res.Rounds, r)
		if raw, err = rawRate(ctx, a, cfg.RateFor); err != nil {
			return res, err
		}
		res.Raw = append(res.Raw, raw)
	}
	res.Logins = mergeLoads(res.Rounds)
	res.LoginHashCPU = loginHashCPU / time.Duration(max(loginHashes, 1))
	res.LoginKernel = loginKernel.since(kernel{}, float64(loginHashes))

	fmt.Fprintf(progress, "bench login: %d status queries alone for %s…\n", cfg.QueryClients, cfg.Duration)
	if res.QueriesAlone, err = runLoad(ctx, "queries alone", cfg.QueryClients, cfg.Warmup, cfg.Duration, nil, query); err != nil {
		return res, err
	}

	fmt.Fprintf(progress, "bench login: %d status queries during a storm of %d wrong-password clients for %s…\n", cfg.QueryClients, cfg.StormClients, cfg.Duration)
	stormCtx, stopStorm := context.WithCancel(ctx)
	stormDone := make(chan error, 1)
	var restarts atomic.Int64
	go func() {
		r, err := runLoad(stormCtx, "storm", cfg.StormClients, cfg.Warmup, cfg.Duration+cfg.Warmup, a.hasher.Computed, func(ctx context.Context, _ int, rnd *rand.Rand) error {
			err := newBenchBrowser(rig.base, tr).wrongLogin(ctx, storm[rnd.IntN(len(storm))].ic)
			if errors.Is(err, errLoginRestarted) {
				restarts.Add(1)
				return nil
			}
			return err
		})
		res.Storm = r
		stormDone <- err
	}()
	// The queries start once the storm is running and end before it does.
	sleep(ctx, cfg.Warmup)
	res.QueriesStorm, err = runLoad(ctx, "queries during the storm", cfg.QueryClients, cfg.Warmup/2, cfg.Duration, nil, query)
	stormErr := <-stormDone
	stopStorm()
	res.StormRestarts = restarts.Load()
	if err != nil {
		return res, err
	}
	if stormErr != nil {
		return res, stormErr
	}

	printLoginTable(out, cfg, res, loadBefore, loadAverage(), a.hasher.Params().MemoryKiB, a.hasher.Params().Time)
	return res, nil
}

// hashKind names the bench's argon2id parameters in its messages.
func hashKind(cfg loginBenchConfig) string {
	if cfg.production() {
		return "production"
	}
	return "NOT production (--argon2-memory, --argon2-time)"
}

func printLoginTable(out io.Writer, cfg loginBenchConfig, r loginBenchResult, loadBefore, loadAfter string, memKiB, iters uint32) {
	fmt.Fprintf(out, "ispeks bench login — one run on %s\n", machine())
	fmt.Fprintf(out, "argon2id m=%d KiB t=%d p=1 (%s); hasher concurrency limit %d; load average before %s, after %s\n",
		memKiB, iters, hashKind(cfg), r.HasherLimit, loadBefore, loadAfter)
	spare := "no spare Ps"
	if r.Tuning.SpareProcs > 0 {
		spare = fmt.Sprintf("GOMAXPROCS raised %d → %d on the first hash", r.Cores, r.Cores+r.Tuning.SpareProcs)
	}
	gogc := "GOGC as Go's"
	if r.Tuning.GCPercent > 0 {
		gogc = fmt.Sprintf("GOGC %d (--gc-percent)", r.Tuning.GCPercent)
	}
	fmt.Fprintf(out, "serving process: %s, %s\n", spare, gogc)
	fmt.Fprintf(out, "per-IP login throttle raised for the bench (all clients are 127.0.0.1); logs at warn level; load generator in the same process\n")
	fmt.Fprintf(out, "%d login rounds of %s, each between two raw argon2id measurements of %s; ratios are per round, the median decides\n\n", len(r.Rounds), cfg.Duration, cfg.RateFor)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tvalue\ttarget")
	rates := make([]string, len(r.Raw))
	cpus := make([]string, len(r.Raw))
	for i, m := range r.Raw {
		rates[i], cpus[i] = fmt.Sprintf("%.1f", m.Rate), ms(m.CPU)
	}
	if r.Settled > 0 {
		fmt.Fprintf(tw, "settling: raw argon2id rate over %s before the first measurement, not counted\t%.1f hashes/s\t\n", cfg.Settle, r.Settled)
	}
	fmt.Fprintf(tw, "raw argon2id rate, %d goroutines (one per core), each measurement\t%s hashes/s\t\n", r.Cores, strings.Join(rates, " / "))
	if r.OneRaw > 0 {
		fmt.Fprintf(tw, "raw argon2id rate, 1 goroutine (once)\t%.1f hashes/s\t\n", r.OneRaw)
	}
	fmt.Fprintf(tw, "logins/s, right password, %d clients (5 requests each), each round\t%s logins/s\t\n", cfg.Clients, joinRates(r.Rounds))
	walls, cpuRatios := make([]float64, len(r.Rounds)), make([]float64, len(r.Rounds))
	for i := range r.Rounds {
		walls[i], cpuRatios[i] = r.wallRatio(i), r.cpuRatio(i)
	}
	// The median has a decimal: "90 %" that missed (89.6 %) read as a
	// contradiction.
	judge := func(m float64) string {
		if !cfg.production() {
			return "≥ 90% — (not production's hash)"
		}
		return "≥ 90% " + verdict(m >= 0.9)
	}
	fmt.Fprintf(tw, "  ratio to the raw rate around it (wall clock), each round\t%s → median %.1f%%\t%s\n", joinPct(walls), 100*median(walls), judge(median(walls)))
	// On a shared machine wall-clock rates depend on what else ran; CPU
	// time per operation much less so.
	fmt.Fprintf(tw, "  CPU per raw hash / CPU per login, each round\t%s → median %.1f%%\t%s\n", joinPct(cpuRatios), 100*median(cpuRatios), judge(median(cpuRatios)))
	fmt.Fprintf(tw, "  CPU per login (all rounds) / per raw hash (each measurement)\t%s / %s\t\n", ms(perOp(r.Logins)), strings.Join(cpus, " / "))
	kernels := make([]string, len(r.Raw))
	for i, m := range r.Raw {
		kernels[i] = fmt.Sprintf("%s, %.0f, %.1f", ms(m.Sys), m.Faults, m.Switches)
	}
	// Faults were most of the gap until session 18 (docs/benchmarks.md,
	// sessions 10 and 17): the Go runtime handed freed heap back to the
	// kernel and each hash's new 19 MiB faulted in again. The hasher's
	// slots now keep their memory; this line shows that they do.
	// Context switches: each puts a page's thread on a core a hash was
	// running on (docs/accounts.md, spare Ps).
	fmt.Fprintf(tw, "  system CPU, page faults and context switches per login / per raw hash\t%s, %.0f, %.1f / %s\t\n", ms(r.LoginKernel.Sys), r.LoginKernel.Faults, r.LoginKernel.Switches, strings.Join(kernels, " / "))
	if r.LoginHashCPU > 0 {
		// The derivation's own CPU (its thread's clock) in each phase:
		// what a login costs besides it, and whether the hash itself ran
		// slower beside the pages than alone.
		hashCPUs := make([]string, len(r.Raw))
		for i, m := range r.Raw {
			hashCPUs[i] = ms(m.HashCPU)
		}
		fmt.Fprintf(tw, "  argon2id derivation's own CPU, in the logins / each raw measurement (--split-cpu)\t%s / %s\t\n", ms(r.LoginHashCPU), strings.Join(hashCPUs, " / "))
		fmt.Fprintf(tw, "  CPU per login besides its derivation\t%s\t\n", ms(perOp(r.Logins)-r.LoginHashCPU))
	}
	fmt.Fprintf(tw, "  argon2id derivations per login\t%.2f\t\n", float64(r.Logins.Counted)/float64(max(r.Logins.Requests, 1)))
	fmt.Fprintf(tw, "  login time p50 / p99\t%s / %s\t\n", ms(r.Logins.P(50)), ms(r.Logins.P(99)))
	fmt.Fprintf(tw, "status query %s alone, %d clients: p50 / p99\t%s / %s (%.0f req/s)\t\n", cfg.QueryPath, cfg.QueryClients,
		ms(r.QueriesAlone.P(50)), ms(r.QueriesAlone.P(99)), r.QueriesAlone.Rate())
	fmt.Fprintf(tw, "status query during the storm: p50 / p99\t%s / %s (%.0f req/s)\t\n",
		ms(r.QueriesStorm.P(50)), ms(r.QueriesStorm.P(99)), r.QueriesStorm.Rate())
	sentBack := fmt.Sprintf("%d logins", r.StormRestarts)
	if r.StormRestarts == 1 {
		sentBack = "1 login"
	}
	fmt.Fprintf(tw, "wrong-password storm, %d clients on %d accounts\t%.1f attempts/s (derivations), %s sent back to the landing page\t\n",
		cfg.StormClients, cfg.StormAccounts, float64(r.Storm.Counted)/r.Storm.Elapsed.Seconds(), sentBack)
	// GOGC trades memory for collector work: show what it cost.
	fmt.Fprintf(tw, "peak resident memory of the process (whole run, load generator included)\t%s\t\n", peakRSS())
	tw.Flush()
}

// peakRSS is the process's peak resident set (Linux VmHWM), or "n/a".
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "n/a"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kib int
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kib); err == nil {
				return fmt.Sprintf("%d MiB", kib/1024)
			}
		}
	}
	return "n/a"
}

func joinRates(ls []loadResult) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = fmt.Sprintf("%.1f", l.Rate())
	}
	return strings.Join(parts, " / ")
}

func joinPct(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = pctOf(x)
	}
	return strings.Join(parts, " ")
}

func pctOf(x float64) string { return fmt.Sprintf("%.0f%%", 100*x) }

// benchPassword is every bench account's password (it passes the policy).
const benchPassword = "Jambatan Merah Sungai 7"

type benchUser struct{ ic string }

// benchIC is a distinct valid IC number for every i (born from 1970 on,
// place code 01).
func benchIC(i int) string {
	d := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/10000)
	return fmt.Sprintf("%s01%04d", d.Format("060102"), i%10000)
}

// benchMeta is a command's metadata with an ID made for it alone
// (FreshID): a command that changes nothing appends nothing, as the API
// without a key and the import do.
func benchMeta(actor eventlog.Actor) commands.Meta {
	return commands.Meta{CommandID: uuid.New(), FreshID: true, CorrelationID: "bench", Actor: actor}
}

var benchSystem = eventlog.Actor{Kind: eventlog.ActorSystem, ID: "bench"}

// benchAccounts makes n activated staff accounts through the real commands:
// the employee record, registration (which issues a temporary password,
// read back from its event and unsealed as the mailer does), a login with
// it, and activation.
func benchAccounts(ctx context.Context, a *app, n int) ([]benchUser, error) {
	users := make([]benchUser, n)
	g := make(chan int)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range g {
				ic := benchIC(i)
				if err := benchAccount(ctx, a, ic, i); err != nil {
					select {
					case errc <- fmt.Errorf("account %d: %w", i, err):
					default:
					}
					continue
				}
				users[i] = benchUser{ic: ic}
			}
		})
	}
	for i := range n {
		g <- i
	}
	close(g)
	wg.Wait()
	select {
	case err := <-errc:
		return nil, err
	default:
	}
	return users, nil
}

func benchAccount(ctx context.Context, a *app, ic string, i int) error {
	h := a.accounts
	if _, err := h.PutStaff.Handle(ctx, commands.PutStaff{Meta: benchMeta(benchSystem), Details: employee.Details{
		IC: ic, Name: fmt.Sprintf("Staf Ujian %d", i), Email: fmt.Sprintf("staf%d@%s", i, a.cli.cfg.EmailDomains[0]),
		Department: "Jabatan Kewangan dan Perbendaharaan Negeri Melaka", Post: "Pembantu Tadbir", StaffNumber: fmt.Sprintf("MLK%05d", i),
	}}); err != nil {
		return fmt.Errorf("employee record: %w", err)
	}
	if _, err := h.Register.Handle(ctx, commands.RegisterAccount{Meta: benchMeta(eventlog.Actor{Kind: eventlog.ActorAnonymous}),
		IC: ic, Email: fmt.Sprintf("staf%d@%s", i, a.cli.cfg.EmailDomains[0])}); err != nil {
		return fmt.Errorf("register: %w", err)
	}
	temp, err := benchTemporaryPassword(ctx, a, ic)
	if err != nil {
		return err
	}
	user := eventlog.Actor{Kind: eventlog.ActorUser, ID: ic}
	out, _, err := h.LogIn.LogIn(ctx, commands.LogIn{Meta: benchMeta(user), UserID: ic, Password: temp})
	if err != nil {
		return fmt.Errorf("log in with the temporary password: %w", err)
	}
	if !out.MustActivate {
		return errors.New("log in with the temporary password: activation not asked for")
	}
	images := account.SecurityImages()
	if _, err := h.Activate.Handle(ctx, commands.ActivateAccount{Meta: benchMeta(user), UserID: ic, Form: account.ActivationForm{
		Password: benchPassword, ConfirmPassword: benchPassword, QuestionID: account.SecretQuestions()[0].ID,
		Answer: "Sekolah Kebangsaan Bukit Baru", ImageID: images[i%len(images)].ID, Phrase: "Kopi Manis",
	}}); err != nil {
		return fmt.Errorf("activate: %w", err)
	}
	return nil
}

// benchTemporaryPassword reads the account's latest temporary password from
// its stream and unseals it, as the mail consumer does.
func benchTemporaryPassword(ctx context.Context, a *app, ic string) (string, error) {
	id, err := mykad.Parse(ic)
	if err != nil {
		return "", err
	}
	recs, err := a.events.ReadStream(ctx, account.Stream(id), 1, eventlog.Forwards, 100)
	if err != nil {
		return "", err
	}
	for i := len(recs) - 1; i >= 0; i-- {
		env, err := a.registry.Decode(recs[i])
		if err != nil {
			return "", err
		}
		if ev, ok := env.Event.(account.TemporaryPasswordIssued); ok {
			pw, err := a.sealer.Open(ev.Sealed, ev.AAD())
			if err != nil {
				return "", fmt.Errorf("unseal the temporary password: %w", err)
			}
			return string(pw), nil
		}
	}
	return "", errors.New("no temporary password in the account's stream")
}

// benchPayments gives every user ten claims in various statuses through
// the ingestion path and returns one voucher number per user to look for.
func benchPayments(ctx context.Context, a *app, users []benchUser) ([]string, error) {
	var b strings.Builder
	vouchers := make([]string, len(users))
	moves := []string{
		`"status":"dalam-proses"`, `"status":"diluluskan"`, `"status":"dihantar-ke-bank"`,
		`"status":"diterima-oleh-bank","eft_no":"EFT%06d","payment_date":"2025-03-08"`,
	}
	for u, usr := range users {
		for k := range 10 {
			id := fmt.Sprintf("BL-%d-%d", u, k)
			if k == 0 {
				vouchers[u] = "BV-" + id
			}
			fmt.Fprintf(&b, `{"kind":"payment","request_id":"%s-0","payment":{"payment_id":%q,"module":"tuntutan","type":"tuntutan-perjalanan",`+
				`"voucher_no":"BV-%s","voucher_date":"2025-03-%02d","description":"Tuntutan perjalanan ke Kuala Lumpur","amount_sen":%d,"payee_ic":%q,"received_date":"2025-03-%02[4]d"}}`+"\n",
				id, id, id, 1+k, 10000+k*1550, usr.ic) // received on the voucher date: the moves follow it
			for m := range k % (len(moves) + 1) {
				body := moves[m]
				if strings.Contains(body, "%06d") {
					body = fmt.Sprintf(body, u*100+k)
				}
				fmt.Fprintf(&b, `{"kind":"payment_status","request_id":"%s-%d","change":{"payment_id":%q,%s,"date":"2025-03-%02d"}}`+"\n", id, m+1, id, body, 2+k+m)
			}
		}
	}
	in := ingest.New(a.runner, a.payees)
	sum, err := in.Run(ctx, strings.NewReader(b.String()), ingest.Source{Actor: eventlog.Actor{Kind: eventlog.ActorClient, ID: "bench"}}, func(r ingest.Result) error {
		if r.Outcome != ingest.Accepted {
			return fmt.Errorf("payment line %d: %s %s %s %s", r.Line, r.Outcome, r.Code, r.Field, r.Reason)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if sum.Accepted != sum.Lines {
		return nil, fmt.Errorf("payments: %d of %d lines accepted", sum.Accepted, sum.Lines)
	}
	return vouchers, nil
}

// benchBrowser is one browser: a keep-alive client with its own cookie jar
// that does not follow redirects (each step is checked).
type benchBrowser struct {
	base   string
	client *http.Client
}

func newBenchBrowser(base string, tr http.RoundTripper) *benchBrowser {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: tr, Jar: jar, CheckRedirect: noRedirect, Timeout: time.Minute}
	return &benchBrowser{base: base, client: c}
}

var benchCSRF = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// get fetches a page and returns its body; anything but 200 is an error.
func (b *benchBrowser) get(ctx context.Context, path string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.base+path, nil)
	if err != nil {
		return "", err
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode == http.StatusSeeOther && restartsLogin(resp.Header.Get("Location")) {
		return "", fmt.Errorf("GET %s: %w", path, errLoginRestarted)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %d", path, resp.StatusCode)
	}
	return string(body), nil
}

// errLoginRestarted: the portal sent the browser back to the landing page
// because its login in progress had ended. An attempt on a locked account
// ends every session of that ID, so in the wrong-password storm two
// browsers on one account end each other's; a real user starts again.
var errLoginRestarted = errors.New("login in progress ended: back to the landing page")

// restartsLogin reports whether a redirect goes back to the landing page.
func restartsLogin(location string) bool {
	path, _, _ := strings.Cut(location, "?")
	return path == "/"
}

// csrf fetches a page and returns its forms' CSRF token.
func (b *benchBrowser) csrf(ctx context.Context, path string) (string, error) {
	body, err := b.get(ctx, path)
	if err != nil {
		return "", err
	}
	m := benchCSRF.FindStringSubmatch(body)
	if m == nil {
		return "", fmt.Errorf("GET %s: no CSRF token", path)
	}
	return m[1], nil
}

// post submits a form and returns the status and Location.
func (b *benchBrowser) post(ctx context.Context, path string, form url.Values) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	drain(resp)
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

// toPasswordPage is login step 1 as a browser does it: the landing page
// (for its CSRF token), the user ID, the password page with the security
// image (for the pending session's token). It returns that token.
func (b *benchBrowser) toPasswordPage(ctx context.Context, ic string) (string, error) {
	tok, err := b.csrf(ctx, "/")
	if err != nil {
		return "", err
	}
	st, loc, err := b.post(ctx, "/login", url.Values{"user_id": {ic}, "csrf_token": {tok}})
	if err != nil {
		return "", err
	}
	if st != http.StatusSeeOther || loc != "/login/kata-laluan" {
		return "", fmt.Errorf("POST /login: %d → %q", st, loc)
	}
	return b.csrf(ctx, "/login/kata-laluan")
}

// login runs both steps with the right password and opens the home page.
func (b *benchBrowser) login(ctx context.Context, ic, password string) error {
	tok, err := b.toPasswordPage(ctx, ic)
	if err != nil {
		return err
	}
	st, loc, err := b.post(ctx, "/login/kata-laluan", url.Values{"password": {password}, "csrf_token": {tok}})
	if err != nil {
		return err
	}
	if st != http.StatusSeeOther || loc != "/utama" {
		return fmt.Errorf("POST /login/kata-laluan: %d → %q", st, loc)
	}
	_, err = b.get(ctx, "/utama")
	return err
}

// wrongLogin runs both steps with a wrong password: "Kata Laluan Tidak
// Tepat" (401) or, once the account is locked, the lock notice (423); or
// errLoginRestarted, when another storm browser's attempt on the locked
// account ended this one's login in progress (no derivation then).
func (b *benchBrowser) wrongLogin(ctx context.Context, ic string) error {
	tok, err := b.toPasswordPage(ctx, ic)
	if err != nil {
		return err
	}
	st, loc, err := b.post(ctx, "/login/kata-laluan", url.Values{"password": {"salah sama sekali 99"}, "csrf_token": {tok}})
	switch {
	case err != nil:
		return err
	case st == http.StatusUnauthorized || st == http.StatusLocked:
		return nil
	case st == http.StatusSeeOther && restartsLogin(loc):
		return fmt.Errorf("POST /login/kata-laluan: %w", errLoginRestarted)
	}
	return fmt.Errorf("wrong password: %d → %q", st, loc)
}

// getOK fetches url and wants 200.
func getOK(ctx context.Context, c *http.Client, target string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	drain(resp)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d", target, resp.StatusCode)
	}
	return nil
}
