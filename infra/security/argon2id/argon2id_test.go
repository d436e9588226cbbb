package argon2id

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"sync"
	"testing"

	"golang.org/x/crypto/argon2"
)

// RFC 9106 §5.3: the argon2id test vector (with a secret and associated
// data, which only the internal deriveKey takes).
func TestRFC9106Vector(t *testing.T) {
	want, _ := hex.DecodeString("0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659")
	password := bytes.Repeat([]byte{0x01}, 32)
	salt := bytes.Repeat([]byte{0x02}, 16)
	secret := bytes.Repeat([]byte{0x03}, 8)
	data := bytes.Repeat([]byte{0x04}, 12)
	for _, sse4 := range sse4Settings() {
		useSSE4 = sse4
		var m Memory
		if got := m.deriveKey(password, salt, secret, data, 3, 32, 4, 32); !bytes.Equal(got, want) {
			t.Errorf("SSE4 %v: got %x, want %x", sse4, got, want)
		}
	}
}

// sse4Settings are the block functions this machine can run: the SSE4
// one where the CPU has it, and the SSE2-only fallback.
func sse4Settings() []bool {
	if !useSSE4 {
		return []bool{false}
	}
	return []bool{true, false}
}

// One Memory runs derivations of growing, shrinking and growing sizes, with
// one and several lanes, one after another: each must equal x/crypto's
// derivation in fresh memory, so nothing an earlier derivation left in the
// blocks reaches a later key.
func TestReusedMemoryMatchesXCrypto(t *testing.T) {
	defer func(s bool) { useSSE4 = s }(useSSE4)
	rnd := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		time, memory uint32
		threads      uint8
		keyLen       uint32
	}{
		{1, 8, 1, 32},
		{2, 4096, 1, 32},
		{3, 64, 1, 16},   // smaller than what the memory holds
		{2, 4096, 1, 64}, // the same size again: every block is stale
		{1, 1000, 4, 32}, // rounded down to lanes·4 blocks
		{2, 2048, 2, 32},
		{4, 96, 3, 100}, // a key longer than one BLAKE2b output
		{1, 7, 2, 32},   // raised to the minimum
		{2, 19 * 1024, 1, 32},
		{2, 19 * 1024, 1, 32},
	}
	for _, sse4 := range sse4Settings() {
		useSSE4 = sse4
		var m Memory
		for i, c := range cases {
			password, salt := make([]byte, rnd.IntN(40)), make([]byte, 8+rnd.IntN(24))
			for j := range password {
				password[j] = byte(rnd.Uint32())
			}
			for j := range salt {
				salt[j] = byte(rnd.Uint32())
			}
			want := argon2.IDKey(password, salt, c.time, c.memory, c.threads, c.keyLen)
			if got := m.IDKey(password, salt, c.time, c.memory, c.threads, c.keyLen); !bytes.Equal(got, want) {
				t.Fatalf("SSE4 %v, case %d %+v: reused memory gave %x, x/crypto %x", sse4, i, c, got, want)
			}
			if got := IDKey(password, salt, c.time, c.memory, c.threads, c.keyLen); !bytes.Equal(got, want) {
				t.Fatalf("SSE4 %v, case %d %+v: one-off IDKey gave %x, x/crypto %x", sse4, i, c, got, want)
			}
		}
		if m.Size() != 19*1024 {
			t.Errorf("memory holds %d KiB, want the largest derivation's 19456", m.Size())
		}
	}
}

func TestNewMemoryIsSized(t *testing.T) {
	m := NewMemory(19*1024, 1)
	if m.Size() != 19*1024 {
		t.Fatalf("NewMemory(19456, 1) holds %d KiB", m.Size())
	}
	if got := NewMemory(1000, 4).Size(); got != 992 {
		t.Errorf("NewMemory(1000, 4) holds %d KiB, want 992 (rounded down to 4·4 blocks)", got)
	}
	password, salt := []byte("kata laluan"), []byte("garam-garam-16b!")
	if got, want := m.IDKey(password, salt, 2, 19*1024, 1, 32), argon2.IDKey(password, salt, 2, 19*1024, 1, 32); !bytes.Equal(got, want) {
		t.Errorf("pre-sized memory gave %x, x/crypto %x", got, want)
	}
}

// Memories used from several goroutines at once (one each) do not share
// state: every key still equals x/crypto's.
func TestMemoriesInParallel(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 4 {
		wg.Go(func() {
			var m Memory
			for i := range 3 {
				password := []byte{byte(g), byte(i), 'x'}
				salt := []byte("0123456789abcdef")
				got := m.IDKey(password, salt, 2, 512, 1, 32)
				if want := argon2.IDKey(password, salt, 2, 512, 1, 32); !bytes.Equal(got, want) {
					errs <- hex.EncodeToString(got)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("a parallel derivation differs from x/crypto: %s", e)
	}
}

func BenchmarkIDKey(b *testing.B) {
	password, salt := []byte("benchmark password"), make([]byte, 16)
	b.Run("reused memory", func(b *testing.B) {
		m := NewMemory(19*1024, 1)
		b.ReportAllocs()
		for b.Loop() {
			m.IDKey(password, salt, 2, 19*1024, 1, 32)
		}
	})
	b.Run("x/crypto", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			argon2.IDKey(password, salt, 2, 19*1024, 1, 32)
		}
	})
}
