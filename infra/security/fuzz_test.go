package security

import (
	"errors"
	"strings"
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

// FuzzNormalizeRecoveryCode: a recovery code matches however it is typed
// (case, spaces, dashes, the letters people take for 0 and 1), and the
// normal form of anything typed is its own normal form.
func FuzzNormalizeRecoveryCode(f *testing.F) {
	for _, s := range []string{"7KQ2M-9XZ4B", "7kq2m 9xz4b", "OIL0-1", "ı", "\t-\t"} {
		f.Add(s, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	}
	f.Fuzz(func(t *testing.T, typed string, raw []byte) {
		n := NormalizeRecoveryCode(typed)
		if NormalizeRecoveryCode(n) != n || strings.ContainsAny(n, " -\tOIL") || strings.ContainsAny(typed, "ıſ") && strings.Trim(n, recoveryAlphabet) == "" {
			t.Fatalf("NormalizeRecoveryCode(%q) = %q, whose own form is %q", typed, n, NormalizeRecoveryCode(n))
		}
		// A code as Generator makes them (10 characters of the alphabet,
		// printed in two groups), typed lower case with spaces, or with
		// O for 0 and l for 1.
		code := make([]byte, 10)
		for i := range code {
			var c byte
			if i < len(raw) {
				c = raw[i]
			}
			code[i] = recoveryAlphabet[int(c)%len(recoveryAlphabet)]
		}
		printed := string(code[:5]) + "-" + string(code[5:])
		sloppy := strings.NewReplacer("0", "O", "1", "l").Replace(strings.ToLower(string(code[:5]) + "  " + string(code[5:])))
		if NormalizeRecoveryCode(printed) != string(code) || NormalizeRecoveryCode(sloppy) != string(code) {
			t.Fatalf("code %s: printed %q → %q, typed %q → %q", code, printed, NormalizeRecoveryCode(printed), sloppy, NormalizeRecoveryCode(sloppy))
		}
	})
}
