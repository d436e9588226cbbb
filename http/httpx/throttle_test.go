package httpx

import (
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestThrottleBucket(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)}
	th := NewThrottle(ThrottleConfig{Burst: 3, Every: 10 * time.Second}, clk.Now)
	for i := range 3 {
		if ok, _ := th.Allow("10.0.0.1"); !ok {
			t.Fatalf("attempt %d refused within the burst", i+1)
		}
	}
	ok, wait := th.Allow("10.0.0.1")
	if ok || wait != 10*time.Second {
		t.Fatalf("4th attempt: ok=%v wait=%s", ok, wait)
	}
	if ok, _ := th.Allow("10.0.0.2"); !ok {
		t.Fatal("another client was throttled")
	}
	clk.Add(4 * time.Second)
	if ok, wait := th.Allow("10.0.0.1"); ok || wait != 6*time.Second {
		t.Fatalf("after 4 s: ok=%v wait=%s", ok, wait)
	}
	clk.Add(6 * time.Second)
	if ok, _ := th.Allow("10.0.0.1"); !ok {
		t.Fatal("token not refilled after 10 s")
	}
}

func TestThrottleSweepAndOverflow(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)}
	th := NewThrottle(ThrottleConfig{Burst: 2, Every: time.Second, MaxKeys: 2}, clk.Now)
	th.Allow("a")
	th.Allow("b")
	// Map full: c and d share the overflow bucket (burst 2).
	if ok, _ := th.Allow("c"); !ok {
		t.Fatal("overflow bucket refused its first attempt")
	}
	th.Allow("d")
	if ok, _ := th.Allow("e"); ok {
		t.Fatal("overflow bucket is not shared")
	}
	if th.Len() != 2 {
		t.Fatalf("tracked %d clients, max 2", th.Len())
	}
	clk.Add(2 * time.Minute)
	th.Allow("f") // triggers the sweep: a and b refilled and forgotten, f added
	if th.Len() != 1 {
		t.Fatalf("after sweep tracked %d, want 1", th.Len())
	}
}

func TestClientKey(t *testing.T) {
	if ClientKey("2001:db8:1:2:3:4:5:6") != ClientKey("2001:db8:1:2:ffff::1") {
		t.Fatal("one IPv6 /64 got two keys")
	}
	if ClientKey("2001:db8:1:2::1") == ClientKey("2001:db8:1:3::1") {
		t.Fatal("two IPv6 /64s share a key")
	}
	if ClientKey("::ffff:10.1.2.3") != "10.1.2.3" {
		t.Fatalf("mapped IPv4 = %q", ClientKey("::ffff:10.1.2.3"))
	}
}

// Peek tells whether a key has a token without taking it, and does not
// start tracking a key it has not seen.
func TestThrottlePeek(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)}
	th := NewThrottle(ThrottleConfig{Burst: 2, Every: 10 * time.Second, MaxKeys: 1}, clk.Now)
	for range 3 {
		if ok, wait := th.Peek("a"); !ok || wait != 0 {
			t.Fatalf("unseen key: ok=%v wait=%s", ok, wait)
		}
	}
	if th.Len() != 0 {
		t.Fatalf("Peek tracked %d keys", th.Len())
	}
	th.Allow("a")
	th.Allow("a")
	if ok, wait := th.Peek("a"); ok || wait != 10*time.Second {
		t.Fatalf("spent key: ok=%v wait=%s", ok, wait)
	}
	clk.Add(4 * time.Second)
	if ok, wait := th.Peek("a"); ok || wait != 6*time.Second {
		t.Fatalf("after 4 s: ok=%v wait=%s", ok, wait)
	}
	clk.Add(6 * time.Second)
	if ok, _ := th.Peek("a"); !ok {
		t.Fatal("no token after 10 s")
	}
	// The map is full (MaxKeys 1): an unseen key is the overflow bucket.
	th.Allow("b")
	th.Allow("c")
	if ok, _ := th.Peek("d"); ok {
		t.Fatal("unseen key with the overflow bucket spent")
	}
}
