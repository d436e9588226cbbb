package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/http/web"
)

// hrefOf is the unescaped href of the first link matching re's group.
func hrefOf(t *testing.T, what, body string, re *regexp.Regexp) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("%s: no link in:\n%s", what, clipBody(body))
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

var backLinkRe = regexp.MustCompile(`<a class="link-strong" href="([^"]*)">Kembali ke senarai</a>`)

// "Kembali ke senarai" on Maklumat terperinci returns to the page of the
// list the payment was opened from, not to the list's first page.
func TestPaymentBackToListKeepsPage(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	b := p.as(paySitiIC, "Siti Aminah binti Omar", "")
	first := b.get(web.PathStatusBayaran + "?modul=pendahuluan")
	second := b.get(hrefOf(t, "next", first.body, regexp.MustCompile(`href="(/permohonan/status-bayaran\?[^"]+)" rel="next"`)))
	payHas(t, "page 2", second.body, "BV-2026-000101", `<td class="num cell-no">7</td>`)

	open := hrefOf(t, "row link", second.body, regexp.MustCompile(`href="(/permohonan/status-bayaran/PAY-S-001[^"]*)"`))
	detail := b.get(open)
	if detail.code != http.StatusOK {
		t.Fatalf("detail %s: %d", open, detail.code)
	}
	back := b.get(hrefOf(t, "back", detail.body, backLinkRe))
	if back.code != http.StatusOK {
		t.Fatalf("back: %d", back.code)
	}
	payHas(t, "back to page 2", back.body, "BV-2026-000101", "BV-2026-000102", `<td class="num cell-no">6</td>`, `<td class="num cell-no">7</td>`)
	payHasNot(t, "back to page 2", back.body, "BV-2026-000107")

	// A row of the first page returns to the first page.
	detail = b.get(hrefOf(t, "row link p1", first.body, regexp.MustCompile(`href="(/permohonan/status-bayaran/PAY-S-007[^"]*)"`)))
	if got := hrefOf(t, "back p1", detail.body, backLinkRe); got != web.PathStatusBayaran+"?modul=pendahuluan" {
		t.Errorf("back from page 1: %q", got)
	}
}

// From a statement, "Kembali ke senarai" returns to the page and the year
// the person chose.
func TestStatementBackToListKeepsPageAndYear(t *testing.T) {
	p := newPayPortal(t, payOptions{pageSize: 1})
	p.fixtures()
	b := p.as(paySitiIC, "Siti Aminah binti Omar", "")
	first := b.get(web.PathPenyataGaji + "?urusniaga=slip-gaji-bulanan&tahun=2026")
	payHas(t, "page 1", first.body, "Februari 2026")
	second := b.get(hrefOf(t, "next", first.body, regexp.MustCompile(`href="(/penyata-gaji\?[^"]+)" rel="next"`)))
	payHas(t, "page 2", second.body, "Januari 2026")

	view := b.get(hrefOf(t, "view link", second.body, regexp.MustCompile(`href="(/penyata-gaji/SG-2026-01-S(?:\?[^"]*)?)" aria-labelledby="d-vw`)))
	if view.code != http.StatusOK {
		t.Fatalf("view: %d", view.code)
	}
	backURL := hrefOf(t, "back", view.body, backLinkRe)
	if !strings.Contains(backURL, "tahun=2026") {
		t.Errorf("back link drops the year: %q", backURL)
	}
	back := b.get(backURL)
	if back.code != http.StatusOK {
		t.Fatalf("back: %d", back.code)
	}
	payHas(t, "back to page 2 of 2026", back.body, `<span id="d2">Januari 2026`, `<option value="2026" selected`)
	payHasNot(t, "back to page 2 of 2026", back.body, "Februari 2026")

	// The year alone (first page) is kept as well.
	view = b.get(hrefOf(t, "view link p1", first.body, regexp.MustCompile(`href="(/penyata-gaji/SG-2026-02-S(?:\?[^"]*)?)" aria-labelledby="d-vw`)))
	if got := hrefOf(t, "back p1", view.body, backLinkRe); got != web.PathPenyataGaji+"?tahun=2026&urusniaga=slip-gaji-bulanan" {
		t.Errorf("back from page 1: %q", got)
	}
}

// Values carried to a record page are checked: anything that is not a
// cursor, a row number or a year in the window falls back to the list's
// first page (all years), and nothing is reflected raw.
func TestBackToListRefusesCraftedValues(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	b := p.as(paySitiIC, "Siti Aminah binti Omar", "")
	for _, c := range []struct{ path, want string }{
		{"/permohonan/status-bayaran/PAY-S-001?selepas=%22%3E%3Cscript%3Ealert(1)%3C/script%3E&mula=6", "/permohonan/status-bayaran?modul=pendahuluan"},
		{"/permohonan/status-bayaran/PAY-S-001?selepas=a%26modul%3Dtuntutan&mula=6", "/permohonan/status-bayaran?modul=pendahuluan"},
		{"/permohonan/status-bayaran/PAY-S-001?selepas=" + strings.Repeat("A", 600), "/permohonan/status-bayaran?modul=pendahuluan"},
		{"/permohonan/status-bayaran/PAY-S-001?mula=6", "/permohonan/status-bayaran?modul=pendahuluan"},
		{"/permohonan/status-bayaran/PAY-S-001?selepas=AQID&mula=-4", "/permohonan/status-bayaran?modul=pendahuluan&selepas=AQID"},
		{"/permohonan/status-bayaran/PAY-S-001?selepas=AQID&mula=6", "/permohonan/status-bayaran?modul=pendahuluan&mula=6&selepas=AQID"},
		{"/penyata-gaji/SG-2026-02-S?tahun=1999", "/penyata-gaji?urusniaga=slip-gaji-bulanan"},
		{"/penyata-gaji/SG-2026-02-S?tahun=2019", "/penyata-gaji?urusniaga=slip-gaji-bulanan"}, // before the slips' window
		{"/penyata-gaji/SG-2026-02-S?tahun=2026%22%3E", "/penyata-gaji?urusniaga=slip-gaji-bulanan"},
		{"/penyata-gaji/SG-2026-02-S?tahun=2025&selepas=%3Cb%3E&mula=2", "/penyata-gaji?tahun=2025&urusniaga=slip-gaji-bulanan"},
		{"/penyata-gaji/EC-2025-S?tahun=2019", "/penyata-gaji?tahun=2019&urusniaga=penyata-pendapatan-tahunan"},
	} {
		r := b.get(c.path)
		if r.code != http.StatusOK {
			t.Errorf("%s: %d", c.path, r.code)
			continue
		}
		if got := hrefOf(t, c.path, r.body, backLinkRe); got != c.want {
			t.Errorf("%s: back %q, want %q", c.path, got, c.want)
		}
		payHasNot(t, c.path, r.body, "<script>alert", "<b>")
	}
}
