package security

import (
	"errors"
	"testing"
	"time"
)

// Stored hashes and sealed values are read back from the log; a damaged or
// hostile one must fail cleanly, never panic or allocate without bound.
func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$$")
	f.Fuzz(func(t *testing.T, s string) {
		x, err := parsePHC(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if x.p.MemoryKiB > 1<<20 || x.p.Time > 64 || x.p.Threads > 16 {
			t.Fatalf("accepted parameters %+v", x.p)
		}
		if back, err := parsePHC(x.String()); err != nil || back.String() != x.String() {
			t.Fatalf("round trip of %q: %v", s, err)
		}
	})
}

func FuzzOpen(f *testing.F) {
	s, _ := NewSealer(make([]byte, MasterKeySize))
	good, _ := s.Seal([]byte("rahsia"), []byte("aad"))
	f.Add(good)
	f.Add("v1.00000000.AAAA")
	f.Fuzz(func(t *testing.T, sealed string) {
		pt, err := s.Open(sealed, []byte("aad"))
		if err != nil {
			if !errors.Is(err, ErrUnseal) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if sealed != good && string(pt) != "rahsia" {
			t.Fatalf("forged value opened: %q", pt)
		}
	})
}

func FuzzTOTPMatch(f *testing.F) {
	f.Add("123456")
	f.Add("12345\x00")
	f.Fuzz(func(t *testing.T, code string) {
		if _, ok, err := (TOTP{}).Match("JBSWY3DPEHPK3PXP", code, fixedNow); err != nil || ok && len(code) != 6 {
			t.Fatalf("Match(%q): %v %v", code, ok, err)
		}
	})
}

var fixedNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
