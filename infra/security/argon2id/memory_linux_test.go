package argon2id

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// TestMemoryIsOnHugePages checks what memory_linux.go is for: the blocks
// start on a 2 MiB boundary and, where the kernel gives transparent huge
// pages to those who ask, the kernel backs them with huge pages.
func TestMemoryIsOnHugePages(t *testing.T) {
	m := NewMemory(19*1024, 1)
	if m.mapped == nil {
		t.Fatal("the blocks are on the Go heap: mapping them failed")
	}
	start := uintptr(unsafe.Pointer(&m.blocks[0]))
	if start%hugePage != 0 {
		t.Fatalf("the blocks start at %#x, not on a 2 MiB boundary", start)
	}
	thp, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || bytes.Contains(thp, []byte("[never]")) {
		t.Skipf("this kernel gives no transparent huge pages (%q, %v): the alignment is all there is to check", thp, err)
	}
	huge := anonHugeKiB(t, start)
	if huge < 16*1024 {
		t.Errorf("%d KiB of the 20 MiB mapping are on huge pages; want nearly all (the kernel may be short of free 2 MiB pages)", huge)
	}

	// Growing for a larger derivation gives the smaller mapping back.
	old := start
	m.take(laneMemory(40*1024, 1))
	if now := uintptr(unsafe.Pointer(&m.blocks[0])); now != old && anonHugeKiB(t, old) >= 0 {
		t.Errorf("the smaller mapping at %#x is still mapped after the memory grew to %#x", old, now)
	}
}

// anonHugeKiB is AnonHugePages of the mapping holding addr in
// /proc/self/smaps, or -1 if nothing is mapped there.
func anonHugeKiB(t *testing.T, addr uintptr) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		var from, to uintptr
		if n, _ := fmt.Sscanf(fields[0], "%x-%x", &from, &to); n == 2 {
			in = from <= addr && addr < to
			continue
		}
		if in && fields[0] == "AnonHugePages:" && len(fields) > 1 {
			var kib int
			if _, err := fmt.Sscan(fields[1], &kib); err != nil {
				t.Fatalf("smaps: %q: %v", sc.Text(), err)
			}
			return kib
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return -1
}

// TestMappedBytesFollowsTheMappings: MappedBytes counts a Memory's mapping
// while it is held, the larger one once it grows, and none of it once the
// Memory is collected (the cleanup unmaps it).
func TestMappedBytesFollowsTheMappings(t *testing.T) {
	// Earlier tests' memories may still be being unmapped by their
	// cleanups: start once the count holds still.
	before := MappedBytes()
	for range 100 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		now := MappedBytes()
		if now == before {
			break
		}
		before = now
	}
	m := NewMemory(19*1024, 1)
	if m.mapped == nil {
		t.Fatal("the blocks are on the Go heap: mapping them failed")
	}
	if got := MappedBytes() - before; got != 20<<20 {
		t.Fatalf("one 19 MiB memory: MappedBytes grew by %d, want 20 MiB (whole huge pages)", got)
	}
	m.take(laneMemory(40*1024, 1))
	if got := MappedBytes() - before; got != 40<<20 {
		t.Fatalf("grown to 40 MiB: MappedBytes grew by %d, want 40 MiB (the smaller mapping given back)", got)
	}
	runtime.KeepAlive(m)
	m = nil
	deadline := time.Now().Add(5 * time.Second)
	for MappedBytes() != before {
		if time.Now().After(deadline) {
			t.Fatalf("the collected memory's mapping is still counted: %d bytes over %d", MappedBytes()-before, before)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}
