package httpx

import (
	"net/netip"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// ThrottleConfig sizes a per-client token bucket.
type ThrottleConfig struct {
	// Burst is how many attempts a client may make at once. A whole
	// department may sit behind one NAT address, so the default is
	// generous (20); the account lockout is the per-account defence.
	Burst int
	// Every is how often one more attempt is earned (default 3 s, i.e. 20
	// a minute sustained).
	Every time.Duration
	// MaxKeys bounds memory (default 100 000 clients). When full, new
	// clients share one overflow bucket: an attacker rotating addresses is
	// throttled as one.
	MaxKeys int
}

func (c ThrottleConfig) withDefaults() ThrottleConfig {
	if c.Burst <= 0 {
		c.Burst = 20
	}
	if c.Every <= 0 {
		c.Every = 3 * time.Second
	}
	if c.MaxKeys <= 0 {
		c.MaxKeys = 100_000
	}
	return c
}

type bucket struct {
	tokens float64
	last   time.Time
}

// Throttle limits attempts per client address (token bucket). The login
// handler calls Check before it runs the login command, so one client
// cannot lock a department's accounts by guessing.
type Throttle struct {
	cfg       ThrottleConfig
	now       func() time.Time
	mu        sync.Mutex
	buckets   map[string]*bucket
	overflow  bucket
	lastSweep time.Time
}

// NewThrottle makes a throttle; now is the clock (time.Now in production).
func NewThrottle(cfg ThrottleConfig, now func() time.Time) *Throttle {
	if now == nil {
		now = time.Now
	}
	cfg = cfg.withDefaults()
	t := &Throttle{cfg: cfg, now: now, buckets: make(map[string]*bucket)}
	t.overflow = bucket{tokens: float64(cfg.Burst), last: now()}
	t.lastSweep = now()
	return t
}

// Allow takes one token for key. When none is left it says how long until
// the next one.
func (t *Throttle) Allow(key string) (bool, time.Duration) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.lastSweep) >= time.Minute {
		t.sweep(now)
	}
	b, ok := t.buckets[key]
	if !ok {
		if len(t.buckets) >= t.cfg.MaxKeys {
			b = &t.overflow
		} else {
			b = &bucket{tokens: float64(t.cfg.Burst), last: now}
			t.buckets[key] = b
		}
	}
	t.refill(b, now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) * float64(t.cfg.Every))
	return false, wait
}

// Peek says whether key has a token left, and if not how long until the
// next one, without taking one (nor tracking a key it has not seen: an
// unknown key has its whole burst, unless the map is full and the shared
// overflow bucket is empty). For limits that count only failures: check
// before the attempt, Allow after it failed.
func (t *Throttle) Peek(key string) (bool, time.Duration) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.buckets[key]
	if !ok {
		if len(t.buckets) < t.cfg.MaxKeys {
			return true, 0
		}
		b = &t.overflow
	}
	t.refill(b, now)
	if b.tokens >= 1 {
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(t.cfg.Every))
}

// Refund gives back a token Allow took for key, for an attempt that turned
// out not to count (a limit reserved before the attempt, charged only if
// it failed). A key no longer tracked has its whole burst already.
func (t *Throttle) Refund(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.buckets[key]
	if !ok {
		if len(t.buckets) < t.cfg.MaxKeys {
			return
		}
		b = &t.overflow
	}
	b.tokens = min(float64(t.cfg.Burst), b.tokens+1)
}

func (t *Throttle) refill(b *bucket, now time.Time) {
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(float64(t.cfg.Burst), b.tokens+float64(el)/float64(t.cfg.Every))
		b.last = now
	}
}

// sweep forgets clients whose bucket has filled up again: they are
// indistinguishable from new ones.
func (t *Throttle) sweep(now time.Time) {
	for k, b := range t.buckets {
		t.refill(b, now)
		if b.tokens >= float64(t.cfg.Burst) {
			delete(t.buckets, k)
		}
	}
	t.lastSweep = now
}

// Len is the number of clients tracked (for tests and metrics).
func (t *Throttle) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.buckets)
}

// ClientKey is the throttling key of an address: the address itself for
// IPv4, its /64 for IPv6 (one subscriber usually holds a whole /64).
func ClientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// Check takes a token for the request's client (Gin's ClientIP, which
// believes X-Forwarded-For only from trusted proxies). It returns a
// *TooManyError (errors.Is ErrTooManyAttempts) when the client must wait.
func (t *Throttle) Check(c *gin.Context) error {
	if ok, wait := t.Allow(ClientKey(c.ClientIP())); !ok {
		return &TooManyError{RetryAfter: wait}
	}
	return nil
}

// Middleware refuses a request with 429 when its client is over the limit.
// Use it on routes where every request counts as an attempt; the login
// handler calls Check itself.
func (t *Throttle) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := t.Check(c); err != nil {
			Abort(c, err)
			return
		}
		c.Next()
	}
}
