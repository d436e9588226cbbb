package web

import (
	"bytes"
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

// TestSearchFieldsAsTemplate: the cached search fields of the statement
// list are what the page template draws without them, byte for byte.
func TestSearchFieldsAsTemplate(t *testing.T) {
	pg, err := parsePages(files)
	if err != nil {
		t.Fatal(err)
	}
	assets, err := hashAssets(files)
	if err != nil {
		t.Fatal(err)
	}
	s := &Site{pages: pg, assets: assets, deps: Deps{Payments: PaymentDeps{}.withDefaults()}}
	for _, l := range []i18n.Lang{i18n.MS, i18n.EN} {
		f := NewForm(map[string]string{"urusniaga": "bonus", "tahun": "2025"})
		years := []int{2026, 2025, 2024}
		tf, yf := s.statementFields(l, f, years)
		data := &statementListData{TypeField: tf, YearField: yf}
		v := &View{Page: Page{Form: f, Data: data}, Lang: l, site: s}
		var plain, cached bytes.Buffer
		if err := s.pages.sets["statements_list"].ExecuteTemplate(&plain, "content", v); err != nil {
			t.Fatal(err)
		}
		for range 2 { // a miss, then a hit
			data.Fields = s.searchFields(l, "bonus", "2025", years, tf, yf)
			cached.Reset()
			if err := s.pages.sets["statements_list"].ExecuteTemplate(&cached, "content", v); err != nil {
				t.Fatal(err)
			}
			if data.Fields == "" || cached.String() != plain.String() {
				t.Fatalf("%s: cached fields differ:\n%s\n---\n%s", l, cached.String(), plain.String())
			}
		}
	}
}
