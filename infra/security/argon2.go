// Package security holds the portal's cryptography: argon2id password
// hashing under a concurrency limit, AES-GCM sealing of secrets that must be
// recoverable (temporary passwords for the mailer, secret phrases, TOTP
// secrets), keyed hashes (decoys for unknown user IDs, login-probe streams,
// recovery codes), random temporary passwords and recovery codes, and TOTP.
//
// It implements the ports that commands/ and projections/ declare; nothing
// here decides policy.
package security

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/melaka-gov/ispeks/infra/security/argon2id"
)

// Argon2Params are the argon2id cost parameters. They are stored in every
// hash (PHC string), so raising them later leaves old hashes verifiable.
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
	SaltLen   uint32
	KeyLen    uint32
}

// DefaultArgon2Params is the policy of DESIGN.md (OWASP's argon2id
// minimum): m=19 MiB, t=2, p=1, 16-byte salt, 32-byte key.
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// ErrMalformedHash reports a stored hash that is not an argon2id PHC string
// this package can verify.
var ErrMalformedHash = errors.New("security: malformed argon2id hash")

// Argon2 hashes and verifies passwords. At most Concurrency hashes run at
// once; the rest wait (or give up when their context ends), so a storm of
// logins cannot take every core from the queries.
type Argon2 struct {
	params Argon2Params
	// slots holds one block memory per derivation allowed at once: a
	// derivation takes one (or waits), hashes in it and puts it back, so
	// the MemoryKiB a hash needs is allocated once per slot, not per hash.
	slots chan *argon2id.Memory
	cores int // GOMAXPROCS (before any spare Ps) when made: the raw rate uses this many

	tuning   Argon2Tuning
	tuneOnce sync.Once

	dummyOnce sync.Once
	dummy     string

	hashes atomic.Uint64

	measureCPU    atomic.Bool
	derivationCPU atomic.Int64 // nanoseconds, while measureCPU

	// rateMems are the raw rate's block memories, kept between
	// measurements so that a caller timing one by the process's CPU counts
	// hashes only, not 20 MiB of fresh pages a worker (PrepareRate).
	rateMu   sync.Mutex
	rateMems []*argon2id.Memory
}

// NewArgon2 returns a hasher with params, running at most concurrency hashes
// at once (<= 0: one per core, i.e. GOMAXPROCS before any spare Ps).
func NewArgon2(params Argon2Params, concurrency int) *Argon2 {
	cores := processCores()
	if concurrency <= 0 {
		concurrency = cores
	}
	if params.SaltLen == 0 {
		params.SaltLen = 16
	}
	if params.KeyLen == 0 {
		params.KeyLen = 32
	}
	if params.Threads == 0 {
		params.Threads = 1
	}
	slots := make(chan *argon2id.Memory, concurrency)
	for range concurrency {
		slots <- new(argon2id.Memory) // sized by its first derivation
	}
	return &Argon2{params: params, slots: slots, cores: cores}
}

// spare remembers GOMAXPROCS from before a hasher first raised it, so that
// hashers made later (a test process opens many) count the real cores and
// raising stays idempotent instead of compounding.
var spare struct {
	sync.Mutex
	cores int // 0: no hasher has raised GOMAXPROCS
}

// processCores is GOMAXPROCS as it was before any hasher raised it.
func processCores() int {
	spare.Lock()
	defer spare.Unlock()
	if spare.cores > 0 {
		return spare.cores
	}
	return runtime.GOMAXPROCS(0)
}

// raiseProcs makes GOMAXPROCS at least the cores plus n.
func raiseProcs(n int) {
	spare.Lock()
	defer spare.Unlock()
	if spare.cores == 0 {
		spare.cores = runtime.GOMAXPROCS(0)
	}
	if want := spare.cores + n; runtime.GOMAXPROCS(0) < want {
		runtime.GOMAXPROCS(want)
	}
}

// Argon2Tuning is how a serving process makes room for password hashing.
// It is applied once, on the first derivation, so a process that never
// hashes (a CLI command, a query bench) keeps the runtime as it was.
type Argon2Tuning struct {
	// SpareProcs is how many Ps (the Go scheduler's slots) GOMAXPROCS is
	// raised by; 0 leaves it. A derivation holds its P for ~20 ms of
	// memory-bound work; with a spare P a page request finds one at once
	// and the kernel time-shares the cores, instead of the request
	// queueing behind a derivation for a whole Go time slice. So the limit
	// can be every core (the full hash rate) without starving the pages.
	// DefaultSpareProcs says how many the portal takes.
	SpareProcs int
	// GCPercent, if > 0, is set as the garbage collector's GOGC: fewer
	// collections (each marks the whole live heap and makes page requests
	// assist) for more memory. Derivations no longer allocate their
	// blocks (the slots keep them), so this is the pages' and the
	// projectors' garbage only.
	GCPercent int
}

// DefaultSpareProcs is the spare Ps the portal runs with beside limit
// derivations: one per four, at least one. A login's work besides its hash
// is a fifth of the hash's CPU or less, so one P per four hashing ones
// carries it. More spare Ps cost more than they give: bench login on two
// cores with two spare Ps against one (the limit, as until session 19)
// counted ~40 context switches and ~140 system calls a login against ~20
// and ~118. Each idle P is an OS thread the scheduler wakes for the next
// ready goroutine, and each wake-up preempts a hashing thread.
func DefaultSpareProcs(limit int) int { return max(1, limit/4) }

// Tune sets how the process is tuned on the first derivation (see
// Argon2Tuning). Call it before the hasher is used.
func (h *Argon2) Tune(t Argon2Tuning) { h.tuning = t }

// Tuning returns what Tune set.
func (h *Argon2) Tuning() Argon2Tuning { return h.tuning }

// Cores is the GOMAXPROCS the hasher was made under (before SpareProcs):
// the raw rate runs this many goroutines.
func (h *Argon2) Cores() int { return h.cores }

// ApplyTuning applies what Tune set now, once per hasher; the first
// derivation applies it anyway. The serving process calls it at start, so
// it runs tuned from its first request rather than from its first login.
func (h *Argon2) ApplyTuning() {
	h.tuneOnce.Do(func() {
		if h.tuning.SpareProcs > 0 {
			raiseProcs(h.tuning.SpareProcs)
		}
		if h.tuning.GCPercent > 0 {
			debug.SetGCPercent(h.tuning.GCPercent)
		}
	})
}

// Params returns the parameters new hashes get.
func (h *Argon2) Params() Argon2Params { return h.params }

// Concurrency is the number of hashes allowed at once.
func (h *Argon2) Concurrency() int { return cap(h.slots) }

// Computed counts the hashes computed so far (for metrics and tests).
func (h *Argon2) Computed() uint64 { return h.hashes.Load() }

type phc struct {
	p    Argon2Params
	salt []byte
	key  []byte
}

func (x phc) String() string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2id.Version, x.p.MemoryKiB, x.p.Time, x.p.Threads, b64.EncodeToString(x.salt), b64.EncodeToString(x.key))
}

// parsePHC reads "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>" and refuses
// parameters far outside anything this portal would set, so a tampered hash
// cannot make a login allocate gigabytes.
func parsePHC(s string) (phc, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2id.Version) {
		return phc{}, ErrMalformedHash
	}
	var m, t, p uint64
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return phc{}, ErrMalformedHash
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return phc{}, ErrMalformedHash
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			p = n
		default:
			return phc{}, ErrMalformedHash
		}
	}
	if m < 8 || m > 1<<20 || t < 1 || t > 64 || p < 1 || p > 16 {
		return phc{}, fmt.Errorf("%w: parameters m=%d t=%d p=%d out of range", ErrMalformedHash, m, t, p)
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 || len(salt) > 64 {
		return phc{}, ErrMalformedHash
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return phc{}, ErrMalformedHash
	}
	return phc{p: Argon2Params{MemoryKiB: uint32(m), Time: uint32(t), Threads: uint8(p), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}, salt: salt, key: key}, nil
}

func (h *Argon2) derive(ctx context.Context, password string, p Argon2Params, salt []byte) ([]byte, error) {
	var slot *argon2id.Memory
	select {
	case slot = <-h.slots:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { h.slots <- slot }()
	h.ApplyTuning()
	h.hashes.Add(1)
	mem := slot
	if p.MemoryKiB > h.params.MemoryKiB {
		// A hash stored under a larger memory cost than today's (the
		// policy was lowered): derive in memory of its own rather than
		// keep the slot that large for good.
		mem = new(argon2id.Memory)
	}
	return h.timed(func() []byte {
		return mem.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	}), nil
}

// MeasureCPU turns on (or off) timing every derivation by its thread's CPU
// time, summed in DerivationCPU: `bench login --split-cpu` splits a login's
// CPU into its derivation and the rest with it. A timed derivation is
// locked to its OS thread (else a preempted one may finish on another),
// which the portal does not do: it is a measurement setting only.
func (h *Argon2) MeasureCPU(on bool) { h.measureCPU.Store(on) }

// DerivationCPU is the thread CPU time of the derivations timed so far
// (zero where the thread clock is missing).
func (h *Argon2) DerivationCPU() time.Duration { return time.Duration(h.derivationCPU.Load()) }

// timed runs derive, timing it when MeasureCPU is on.
func (h *Argon2) timed(derive func() []byte) []byte {
	if !h.measureCPU.Load() {
		return derive()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0, ok := threadCPU()
	key := derive()
	if t1, ok1 := threadCPU(); ok && ok1 {
		h.derivationCPU.Add(int64(t1 - t0))
	}
	return key
}

// Hash returns a PHC string of password with a fresh random salt.
func (h *Argon2) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("security: salt: %w", err)
	}
	key, err := h.derive(ctx, password, h.params, salt)
	if err != nil {
		return "", err
	}
	return phc{p: h.params, salt: salt, key: key}.String(), nil
}

// HashSharingSalt hashes password with the salt and parameters of existing,
// so that one derivation later checks a typed password against both (a
// temporary password issued while a current password exists). existing ""
// means a fresh salt.
func (h *Argon2) HashSharingSalt(ctx context.Context, password, existing string) (string, error) {
	if existing == "" {
		return h.Hash(ctx, password)
	}
	x, err := parsePHC(existing)
	if err != nil {
		return "", err
	}
	key, err := h.derive(ctx, password, x.p, x.salt)
	if err != nil {
		return "", err
	}
	return phc{p: x.p, salt: x.salt, key: key}.String(), nil
}

// Match checks password against each encoded hash and returns the index of
// the first that matches, or -1. It derives one key per distinct salt and
// parameters (one derivation when the hashes share a salt) and compares in
// constant time. With no hashes it returns -1 without hashing: callers that
// need even timing pass DummyHash.
func (h *Argon2) Match(ctx context.Context, password string, encoded ...string) (int, error) {
	parsed := make([]phc, len(encoded))
	for i, e := range encoded {
		x, err := parsePHC(e)
		if err != nil {
			return -1, err
		}
		parsed[i] = x
	}
	derived := map[string][]byte{}
	found := -1
	for i, x := range parsed {
		k := x.p.cacheKey(x.salt)
		key, ok := derived[k]
		if !ok {
			var err error
			if key, err = h.derive(ctx, password, x.p, x.salt); err != nil {
				return -1, err
			}
			derived[k] = key
		}
		if subtle.ConstantTimeCompare(key, x.key) == 1 && found < 0 {
			found = i
		}
	}
	return found, nil
}

func (p Argon2Params) cacheKey(salt []byte) string {
	return fmt.Sprintf("%d/%d/%d/%d/%x", p.MemoryKiB, p.Time, p.Threads, p.KeyLen, salt)
}

// Verify reports whether password matches encoded.
func (h *Argon2) Verify(ctx context.Context, password, encoded string) (bool, error) {
	i, err := h.Match(ctx, password, encoded)
	return i == 0, err
}

// DummyHash is a hash of a random password with the current parameters,
// made once: checking a password against it costs what checking a real one
// costs, and never matches. Logins on unknown IDs use it so that their
// timing equals a real account's.
func (h *Argon2) DummyHash() string {
	h.dummyOnce.Do(func() {
		pw := make([]byte, 32)
		salt := make([]byte, h.params.SaltLen)
		_, _ = rand.Read(pw)
		_, _ = rand.Read(salt)
		key := argon2id.IDKey(pw, salt, h.params.Time, h.params.MemoryKiB, h.params.Threads, h.params.KeyLen)
		h.dummy = phc{p: h.params, salt: salt, key: key}.String()
	})
	return h.dummy
}

// Rate measures the raw argon2id rate with these parameters: one goroutine
// per core (GOMAXPROCS when the hasher was made, not the spare Ps Tune may
// add) hashing for d, outside the concurrency limit.
// It returns hashes per second. `ispeks bench login` prints it beside the
// login rate.
func (h *Argon2) Rate(ctx context.Context, d time.Duration) (float64, error) {
	return h.RateIn(ctx, h.cores, d)
}

// PrepareRate makes (and maps) the block memories of Rate's workers now,
// so that a caller sampling the process's CPU around Rate measures the
// hashes alone. Rate makes whatever is missing itself, before its clock
// starts; the memories are kept for the next measurement.
func (h *Argon2) PrepareRate() {
	h.rateMu.Lock()
	defer h.rateMu.Unlock()
	h.rateMemories(h.cores)
}

func (h *Argon2) rateMemories(workers int) []*argon2id.Memory {
	for len(h.rateMems) < workers {
		h.rateMems = append(h.rateMems, argon2id.NewMemory(h.params.MemoryKiB, h.params.Threads))
	}
	return h.rateMems[:workers]
}

// RateIn is Rate with workers goroutines. Each derives in block memory of
// its own kept between hashes, as the hasher's slots do, so the raw rate
// and the logins run the same derivation. Measurements run one at a time.
func (h *Argon2) RateIn(ctx context.Context, workers int, d time.Duration) (float64, error) {
	h.rateMu.Lock()
	defer h.rateMu.Unlock()
	// The memories are made (and their pages mapped) before the clock
	// starts, as the slots' are before the logins they serve.
	mems := h.rateMemories(workers)
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var n atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	salt := make([]byte, h.params.SaltLen)
	for _, mem := range mems {
		wg.Go(func() {
			for ctx.Err() == nil {
				h.timed(func() []byte {
					return mem.IDKey([]byte("benchmark password"), salt, h.params.Time, h.params.MemoryKiB, h.params.Threads, h.params.KeyLen)
				})
				n.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if n.Load() == 0 {
		return 0, errors.New("security: rate: no hash finished in the time given")
	}
	return float64(n.Load()) / elapsed.Seconds(), nil
}
