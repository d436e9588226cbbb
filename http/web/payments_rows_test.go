package web

import (
	"fmt"
	"math"
	"testing"

	"github.com/melaka-gov/ispeks/http/i18n"
)

// TestRowWritersMatchHelpers: the list rows' direct writers print exactly
// what the string helpers (and i18n.Tf) print, escaped.
func TestRowWritersMatchHelpers(t *testing.T) {
	for _, sen := range []int64{0, 1, 9, 10, 99, 100, 101, 12345, 99999, 100000, 123456789, 100000000000, -1, -100, -123456, math.MaxInt64, math.MinInt64 + 1, math.MinInt64} {
		var b htmlBuf
		b.ringgit(sen)
		if b.String() != ringgit(sen) {
			t.Errorf("ringgit(%d): %q, want %q", sen, b.String(), ringgit(sen))
		}
	}
	for _, iso := range []string{"", "2026-03-10", "2024-02-29", "2025-02-29", "2026-13-01", "10/03/2026", "<b>", "2026-3-1"} {
		var b htmlBuf
		b.dmy(iso)
		var want htmlBuf
		want.text(dmy(iso))
		if b.String() != want.String() {
			t.Errorf("dmy(%q): %q, want %q", iso, b.String(), want.String())
		}
	}
	for _, n := range []int{0, 1, -5, 1234567} {
		var b htmlBuf
		b.int(n)
		if b.String() != fmt.Sprint(n) {
			t.Errorf("int(%d): %q", n, b.String())
		}
	}
	for _, l := range []i18n.Lang{i18n.MS, i18n.EN} {
		for _, key := range []string{"stmt.pdf_label", "stmt.view_label", "pay.view_label", "stmt.revised"} {
			for _, arg := range []string{"Mac 2026", `<a href="x">&</a>`, "100%"} {
				var b htmlBuf
				b.textf(newTextf(l, key), arg)
				var want htmlBuf
				want.text(i18n.Tf(l, key, arg))
				if b.String() != want.String() {
					t.Errorf("%s %s %q: %q, want %q", l, key, arg, b.String(), want.String())
				}
			}
		}
	}
}
