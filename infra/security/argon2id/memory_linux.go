package argon2id

import (
	"runtime"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// On Linux the blocks get a mapping of their own, aligned to and advised
// for transparent huge pages. Argon2 reads its blocks in an order its data
// decides, so on 4 KiB pages nearly every block read misses the TLB: 19 MiB
// is some 4,900 pages, beyond any core's TLB. On 2 MiB pages the whole
// memory is ten entries, which also survive a login's work on the same core
// far better (and are refilled in ten walks where a switch empties the TLB,
// as any kernel entry does on a VM with page-table isolation and no PCID).
// The Go heap cannot give this: its allocations are not 2 MiB aligned and it
// does not advise huge pages.
//
// Where huge pages are off or unavailable the mapping is still right, on
// 4 KiB pages; where mapping fails the blocks come from the Go heap.

const hugePage = 2 << 20

// mapping is one anonymous mapping, unmapped when its Memory is collected.
type mapping struct {
	addr unsafe.Pointer
	size uintptr
}

func (m *Memory) grow(n uint32) []block {
	size := (uintptr(n)*blockLength*8 + hugePage - 1) &^ (hugePage - 1)
	addr, err := mapAligned(size)
	if err != nil {
		if m.mapped != nil {
			m.mapped.unmap() // the smaller blocks are no longer read
		}
		return make([]block, n)
	}
	if m.mapped == nil {
		m.mapped = &mapping{}
		// The cleanup holds the mapping, not m, so m can be collected.
		runtime.AddCleanup(m, func(mp *mapping) { mp.unmap() }, m.mapped)
	} else {
		m.mapped.unmap() // blocks of a smaller derivation, no longer read
	}
	*m.mapped = mapping{addr: addr, size: size}
	mappedBytes.Add(int64(size))
	return unsafe.Slice((*block)(addr), n)
}

func (mp *mapping) unmap() {
	if mp.addr != nil {
		_ = unix.MunmapPtr(mp.addr, mp.size)
		mappedBytes.Add(-int64(mp.size))
		mp.addr = nil
	}
}

// mappedBytes is the block memory mapped now, in the whole process.
var mappedBytes atomic.Int64

// MappedBytes is the block memory the process holds in mappings of its own
// (the hashing slots' and any Memory still reachable): resident memory the
// Go runtime's heap figures leave out.
func MappedBytes() int64 { return mappedBytes.Load() }

// mapAligned maps size bytes (a multiple of hugePage) starting on a
// hugePage boundary, advised for huge pages: it maps one huge page more and
// gives back the unaligned head and tail. (unix.Mmap cannot be unmapped in
// part, hence the pointer calls.)
func mapAligned(size uintptr) (unsafe.Pointer, error) {
	raw, err := unix.MmapPtr(-1, 0, nil, size+hugePage, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, err
	}
	head := (hugePage - uintptr(raw)%hugePage) % hugePage
	if head > 0 {
		_ = unix.MunmapPtr(raw, head)
	}
	addr := unsafe.Add(raw, head)
	if tail := hugePage - head; tail > 0 {
		_ = unix.MunmapPtr(unsafe.Add(addr, size), tail)
	}
	// Refused where the kernel has no transparent huge pages: 4 KiB pages.
	_ = unix.Madvise(unsafe.Slice((*byte)(addr), size), unix.MADV_HUGEPAGE)
	return addr, nil
}
