package mykad

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestParseAcceptsBothForms(t *testing.T) {
	// Spaces where the dashes go, as copied off the card, are read like them.
	for _, in := range []string{"791117-04-5671", "791117045671", "  791117-04-5671 ", "791117 04 5671", "791117-04 5671"} {
		ic, err := Parse(in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if ic.String() != "791117045671" {
			t.Fatalf("Parse(%q) = %q, want digits only", in, ic)
		}
		if ic.Formatted() != "791117-04-5671" {
			t.Fatalf("Formatted = %q", ic.Formatted())
		}
		if ic.PlaceCode() != "04" {
			t.Fatalf("PlaceCode = %q", ic.PlaceCode())
		}
	}
}

func TestParseRejects(t *testing.T) {
	cases := []struct {
		in   string
		want error
	}{
		{"", ErrEmpty},
		{"   ", ErrEmpty},
		{"79111704567", ErrFormat},    // 11 digits
		{"7911170456712", ErrFormat},  // 13 digits
		{"791117-045671", ErrFormat},  // one dash only
		{"7911-1704-5671", ErrFormat}, // dashes in wrong places
		{"79111704567a", ErrFormat},   // letter
		{"791117 045671", ErrFormat},  // one space only
		{"7911 1704 5671", ErrFormat}, // spaces in wrong places
		{"791117_04_5671", ErrFormat}, // not a dash or a space
		{"７９１１１７０４５６７１", ErrFormat},   // full-width digits
		{strings.Repeat("1", 100), ErrFormat},
		{"791317045671", ErrDate}, // month 13
		{"790017045671", ErrDate}, // month 00
		{"790100045671", ErrDate}, // day 00
		{"790431045671", ErrDate}, // 31 April
		{"790229045671", ErrDate}, // 1979 and 2079 are not leap years
		{"791117005671", ErrPlace},
		{"791117175671", ErrPlace},
		{"791117205671", ErrPlace},
		{"791117695671", ErrPlace},
		{"791117705671", ErrPlace},
		{"791117735671", ErrPlace},
		{"791117805671", ErrPlace},
		{"791117815671", ErrPlace},
		{"791117945671", ErrPlace},
		{"791117975671", ErrPlace},
	}
	for _, c := range cases {
		_, err := Parse(c.in)
		if !errors.Is(err, c.want) {
			t.Errorf("Parse(%q) = %v, want %v", c.in, err, c.want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "mykad: ") {
			t.Errorf("error %q does not name its package", err)
		}
	}
}

func TestLeapDays(t *testing.T) {
	// 2000 is a leap year (1900 is not); either century makes the date valid.
	for _, in := range []string{"000229-14-1234", "840229-01-1234"} {
		if _, err := Parse(in); err != nil {
			t.Errorf("Parse(%q): %v", in, err)
		}
	}
}

func TestPlaceCodesMatchTheNationalList(t *testing.T) {
	invalid := map[int]bool{0: true, 17: true, 18: true, 19: true, 20: true, 69: true, 70: true, 73: true, 80: true, 81: true, 94: true, 95: true, 96: true, 97: true}
	for n := 0; n <= 99; n++ {
		code := string(rune('0'+n/10)) + string(rune('0'+n%10))
		if got := ValidPlaceCode(code); got == invalid[n] {
			t.Errorf("ValidPlaceCode(%s) = %v", code, got)
		}
	}
}

func TestBirthDate(t *testing.T) {
	asOf := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	cases := map[string]string{
		"791117-04-5671": "1979-11-17",
		"050102-14-0001": "2005-01-02",
		"260301-04-0001": "2026-03-01",
		"270301-04-0001": "1927-03-01",
		"000229-14-1234": "2000-02-29",
	}
	for in, want := range cases {
		if got := MustParse(in).BirthDate(asOf).Format("2006-01-02"); got != want {
			t.Errorf("BirthDate(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestMask(t *testing.T) {
	cases := map[string]string{
		"791117045671":   "791117-04-****",
		"791117-04-5671": "791117-04-****",
		"hello":          "************",
		"":               "************",
	}
	for in, want := range cases {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
	if got := MustParse("791117045671").Masked(); got != "791117-04-****" {
		t.Errorf("Masked = %q", got)
	}
}

func TestMaskPublicShowsNoBirthDate(t *testing.T) {
	for in, want := range map[string]string{
		"791117045671":   "******-**-5671",
		"791117-04-5671": "******-**-5671",
		"7911170456":     "************",
		"79111704567x":   "************",
		"":               "************",
	} {
		if got := MaskPublic(in); got != want {
			t.Errorf("MaskPublic(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLogValueIsMasked(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	log.Info("login", "user", MustParse("791117045671"))
	// Not even the birth date and place (Mask's form): only the last four.
	if strings.Contains(buf.String(), "791117") || strings.Contains(buf.String(), "-04-") {
		t.Fatalf("log line carries the IC's birth date or place: %s", buf.String())
	}
	if !strings.Contains(buf.String(), "******-**-5671") {
		t.Fatalf("log line lacks the masked IC: %s", buf.String())
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"791117-04-5671", "791117045671", "", "000229-14-1234", "791117-00-5671", "79111704567a", "--------------"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ic, err := Parse(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "mykad: ") {
				t.Fatalf("unqualified error %q", err)
			}
			if m := Mask(s); strings.ContainsAny(m[len(m)-4:], "0123456789") {
				t.Fatalf("Mask(%q) = %q shows the serial", s, m)
			}
			return
		}
		if len(ic) != 12 || !allDigits(string(ic)) {
			t.Fatalf("Parse(%q) = %q, not 12 digits", s, ic)
		}
		again, err := Parse(ic.Formatted())
		if err != nil || again != ic {
			t.Fatalf("formatted %q does not parse back: %v", ic.Formatted(), err)
		}
		if m := ic.Masked(); m[:10] != ic.Formatted()[:10] || m[10:] != "****" {
			t.Fatalf("Masked %q", m)
		}
		if bd := ic.BirthDate(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); bd.IsZero() || bd.Format("060102") != string(ic[:6]) {
			t.Fatalf("BirthDate of %s = %v", ic, bd)
		}
	})
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"readstore/sqlite: get accounts/791117045671: busy":   "readstore/sqlite: get accounts/[IC]: busy",
		"employee 791117-04-5678 and 800101015555 not found":  "employee [IC] and [IC] not found",
		"stream employee-791117045671, order 12345":           "stream employee-[IC], order 12345",
		"position 1234567890123 of 42 (13 digits: not an IC)": "position 1234567890123 of 42 (13 digits: not an IC)",
		"row 3: 791117-04-**** already left service":          "row 3: [IC] already left service",
		"typed 791117 04 5671 at login":                       "typed [IC] at login",
		"user ******-**-5671 logged in":                       "user ******-**-5671 logged in",
		"no personal data":                                    "no personal data",
		// Glued to a letter or '_' (a file name, a key): still an IC.
		"open SLIP_791117045671.pdf":    "open SLIP_[IC].pdf",
		"key ic791117045671 missing":    "key ic[IC] missing",
		"id=IC791117-04-5671x":          "id=IC[IC]x",
		"masked a791117-04-****b":       "masked a[IC]b",
		"masked 791117-04-****5":        "masked [IC]5",
		"two 791117045671_800101015555": "two [IC]_[IC]",
		// Next to another digit: a longer number, not an IC.
		"card 4791117045671 and 7911170456712": "card 4791117045671 and 7911170456712",
		"x1791117-04-5671":                     "x1791117-04-5671",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
