package web

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/http/httpx"
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
	for _, iso := range []string{"", "2026-03-10", "2024-02-29", "2025-02-29", "2026-13-01", "10/03/2026", "<b>", "2026-3-1",
		"0000-01-01", "2024-04-31", "2024-04-30", "2024-00-10", "2024-01-00", "2100-02-29", "2000-02-29", "+024-01-01", "2024-1a-01", "2024-12-31", "2024-12-32"} {
		var b htmlBuf
		b.dmy(iso)
		var want htmlBuf
		want.text(dmy(iso))
		if b.String() != want.String() {
			t.Errorf("dmy(%q): %q, want %q", iso, b.String(), want.String())
		}
	}
	for _, v := range []string{"", "plain", `<a href="x">&'</a>`, "a\x00b", "é<", "&&", ">", "\xff'"} {
		var b htmlBuf
		b.text(v)
		if b.String() != template.HTMLEscapeString(v) {
			t.Errorf("text(%q): %q, want %q", v, b.String(), template.HTMLEscapeString(v))
		}
		if e := escapeText(v); e != template.HTMLEscapeString(v) {
			t.Errorf("escapeText(%q): %q, want %q", v, e, template.HTMLEscapeString(v))
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
		for _, key := range []string{"pay.view_label", "stmt.revised"} {
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
	s, _ := cachedContentSite(t)
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
			data.Fields, _ = s.searchFields(l, "bonus", "2025", years, func() (FieldView, FieldView) { return tf, yf })
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

// cachedContentSite is a Site over the real templates and assets, for the
// tests that compare a list's cached content with its template.
func cachedContentSite(t *testing.T) (*Site, *pages) {
	t.Helper()
	pg, err := parsePages(files)
	if err != nil {
		t.Fatal(err)
	}
	assets, err := hashAssets(files)
	if err != nil {
		t.Fatal(err)
	}
	return &Site{pages: pg, assets: assets, deps: Deps{Payments: PaymentDeps{}.withDefaults()}}, pg
}

// TestCachedContentAsTemplate: the statement list drawn from its cached
// content is the page template's output byte for byte, for every shape
// of result (rows or none, pager links or not), twice (a miss, then a hit),
// but for the indentation it drops.
func TestCachedContentAsTemplate(t *testing.T) {
	s, pg := cachedContentSite(t)
	h := htmlPage{t: pg.sets["statements_list"], p: pg, name: "statements_list"}
	years := []int{2026, 2025, 2024}
	for _, l := range []i18n.Lang{i18n.MS, i18n.EN} {
		for shape := range 8 {
			f := NewForm(map[string]string{"urusniaga": "bonus"})
			tf, yf := s.statementFields(l, f, years)
			data := &statementListData{TypeField: tf, YearField: yf, Window: "18 bulan <&>", Searched: true, TypeLabel: "Bonus & \"Khas\""}
			data.Fields, data.fieldsKey = s.searchFields(l, "bonus", "", years, func() (FieldView, FieldView) { return tf, yf })
			if shape&1 != 0 {
				data.Count = 2
				data.Rows = `<tr><td>1</td></tr>` + "\n" + `<tr><td>&amp;</td></tr>`
			}
			if shape&2 != 0 {
				data.NextURL = PathPenyataGaji + "?lepas=a%2Bb+c&mula=21&urusniaga=bonus&x=<\"'>é"
			}
			if shape&4 != 0 {
				data.FirstURL = PathPenyataGaji + "?urusniaga=bonus&tahun=2025"
			}
			v := &View{Page: Page{Form: f, Data: data}, Lang: l, site: s}
			var plain bytes.Buffer
			if err := h.t.ExecuteTemplate(&plain, "content", v); err != nil {
				t.Fatal(err)
			}
			for try := range 3 {
				if try == 2 { // rows written into the page's buffer
					rows := string(data.Rows)
					data.Rows, data.rows = "", func(b *htmlBuf) { b.raw(rows) }
				}
				var cached bytes.Buffer
				if err := h.content(&cached, v); err != nil {
					t.Fatal(err)
				}
				// The cached content is the template's output without its
				// indentation (squeezeSpace).
				if cached.String() != squeezeSpace(plain.String()) {
					t.Fatalf("%s shape %d: cached content differs:\n%s\n---\n%s", l, shape, cached.String(), plain.String())
				}
			}
			// The template's path (a problem shown) still gets the rows.
			v.Problem = &httpx.Problem{Status: 422, Code: "x"}
			var viaTemplate bytes.Buffer
			if err := h.content(&viaTemplate, v); err != nil {
				t.Fatal(err)
			}
			if shape&1 != 0 && !strings.Contains(viaTemplate.String(), "<tr><td>&amp;</td></tr>") {
				t.Fatalf("%s shape %d: the template's path lost the rows:\n%s", l, shape, viaTemplate.String())
			}
		}
	}
	if n := 0; true {
		pg.content.Range(func(any, any) bool { n++; return true })
		if n != 16 {
			t.Fatalf("%d cached contents, want 16", n)
		}
	}
}

// TestAttrURL: an href written by attrURL is what html/template writes.
func TestAttrURL(t *testing.T) {
	tpl := template.Must(template.New("a").Parse(`<a href="{{.}}">`))
	for _, u := range []string{"/penyata-gaji?urusniaga=bonus&tahun=2025", "/p?lepas=a%2Bb+c%zz", "/x y/\"'<>\x00\x7f\xff", "/é?q=ü#frag",
		"/a!#$*,:;=?@[]-._~", "/a%41", "/a%4", "/a%", "/%41b", "javascript:alert(1)", "https://example.com/?a=b&c", "//evil.example/x", "", "/"} {
		var want bytes.Buffer
		if err := tpl.Execute(&want, u); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		attrURL(&got, u)
		if w := strings.TrimSuffix(strings.TrimPrefix(want.String(), `<a href="`), `">`); got.String() != w {
			t.Errorf("attrURL(%q) = %q, want %q", u, got.String(), w)
		}
	}
}

// TestPaymentListCachedContentAsTemplate: the payment status list drawn
// from its cached content is the page template's output byte for byte, per
// module, language and shape of result, on a miss and on a hit.
func TestPaymentListCachedContentAsTemplate(t *testing.T) {
	s, pg := cachedContentSite(t)
	h := htmlPage{t: pg.sets["payments_status"], p: pg, name: "payments_status"}
	for _, l := range []i18n.Lang{i18n.MS, i18n.EN} {
		for _, mod := range []string{"tuntutan", "pendahuluan"} {
			for shape := range 8 {
				f := NewForm(map[string]string{"modul": mod})
				data := &paymentListData{Searched: true, module: mod, ModuleLabel: i18n.T(l, "modul."+mod)}
				if shape&1 != 0 {
					data.Count = 2
					data.Rows = `<tr><td>1</td></tr>` + "\n" + `<tr><td>&amp;</td></tr>`
				}
				if shape&2 != 0 {
					data.NextURL = PathStatusBayaran + "?lepas=a%2Bb+c&mula=21&modul=" + mod + "&x=<\"'>é"
				}
				if shape&4 != 0 {
					data.FirstURL = PathStatusBayaran + "?modul=" + mod
				}
				v := &View{Page: Page{Form: f, Data: data}, Lang: l, site: s}
				var plain bytes.Buffer
				if err := h.t.ExecuteTemplate(&plain, "content", v); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(plain.String(), `value="`+mod+`" selected`) {
					t.Fatalf("%s %s: the template did not select the module:\n%s", l, mod, plain.String())
				}
				for try := range 3 {
					if try == 2 { // rows written into the page's buffer
						rows := string(data.Rows)
						data.Rows, data.rows = "", func(b *htmlBuf) { b.raw(rows) }
					}
					var cached bytes.Buffer
					if err := h.content(&cached, v); err != nil {
						t.Fatal(err)
					}
					if cached.String() != squeezeSpace(plain.String()) {
						t.Fatalf("%s %s shape %d: cached content differs:\n%s\n---\n%s", l, mod, shape, cached.String(), plain.String())
					}
				}
			}
		}
	}
	n := 0
	pg.content.Range(func(any, any) bool { n++; return true })
	if n != 32 {
		t.Fatalf("%d cached contents, want 32", n)
	}
}
