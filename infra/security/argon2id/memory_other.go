//go:build !linux

package argon2id

// mapping is unused where block memory comes from the Go heap.
type mapping struct{}

func (m *Memory) grow(n uint32) []block { return make([]block, n) }

// MappedBytes is 0: block memory is on the Go heap here.
func MappedBytes() int64 { return 0 }
