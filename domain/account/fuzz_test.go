package account

import (
	"errors"
	"strings"
	"testing"
)

func FuzzCheckPassword(f *testing.F) {
	for _, s := range []string{"kuih lapis sedap", "password", "\x00\x01", "ｋｕｉｈ ｌａｐｉｓ", "791117045671xx"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, pw, confirm string) {
		err := CheckPassword(pw, confirm, "791117045671", MinPassword)
		if err == nil {
			if pw != confirm || IsCommonPassword(NormalizePassword(pw)) {
				t.Fatalf("accepted %q / %q", pw, confirm)
			}
			return
		}
		var fes FieldErrors
		if !errors.As(err, &fes) || !errors.Is(err, ErrInvalid) || len(fes) == 0 {
			t.Fatalf("error %v is not field errors", err)
		}
	})
}

func FuzzCheckProfile(f *testing.F) {
	f.Add("06-2307290", "Aras 3", "siti@melaka.gov.my")
	f.Add("+60 12 345 6789", "", "x@jkr.melaka.gov.my")
	f.Fuzz(func(t *testing.T, phone, office, email string) {
		p, err := CheckProfile(Profile{Phone: phone, Office: office, Email: email}, []string{"melaka.gov.my"})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if again, err := CheckProfile(p, []string{"melaka.gov.my"}); err != nil || again != p {
			t.Fatalf("checked profile %+v changes or fails again: %v", p, err)
		}
	})
}

// FuzzNormalizeAnswer: an answer read out at the helpdesk compares equal
// however its letters' case and spacing were typed, and the normal form is
// its own normal form (what was stored matches when typed again as shown).
func FuzzNormalizeAnswer(f *testing.F) {
	for _, s := range []string{"Kuih Lapis", "  kuih   lapis ", "ｋｕｉｈ\tｌａｐｉｓ", "İstanbul", "ß", "\u00a0x\u3000y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, a string) {
		n := NormalizeAnswer(a)
		if NormalizeAnswer(n) != n {
			t.Fatalf("NormalizeAnswer(%q) = %q, whose own form is %q", a, n, NormalizeAnswer(n))
		}
		if strings.TrimSpace(n) != n || strings.Contains(n, "  ") {
			t.Fatalf("NormalizeAnswer(%q) = %q keeps outer or doubled spaces", a, n)
		}
		if up := asciiUpper(a); NormalizeAnswer(up) != n {
			t.Fatalf("%q and %q differ: %q, %q", a, up, n, NormalizeAnswer(up))
		}
	})
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
