package argon2id

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
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
