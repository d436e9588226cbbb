package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/http/server"
	"github.com/melaka-gov/ispeks/http/web"
	"github.com/melaka-gov/ispeks/projections/payments"
	"github.com/melaka-gov/ispeks/projections/statements"
	"github.com/melaka-gov/ispeks/projections/verifycode"
)

// The manual's section B walked through: Urusniaga, Cari, "Senarai
// Dokumen" latest period first with only the latest revision, MuatTurun
// (the PDF inline, a download beside it) and the HTML view.
func TestStatementWalkthrough(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	b := p.as(paySitiIC, "Siti Aminah binti Omar", "")

	form := b.get(web.PathPenyataGaji)
	if form.code != http.StatusOK {
		t.Fatalf("form: %d", form.code)
	}
	payHas(t, "form", form.body, "Urusniaga", ">Cari<", "Bantuan Khas", "Bonus", "Penyata Pendapatan Tahunan (Borang EC)",
		"Slip Gaji Bulanan", "Slip Gaji Mingguan", "Slip Gaji Sambilan", `<option value="2026"`, `<option value="2019"`,
		"18 bulan terakhir", "7 tahun terakhir")
	payHasNot(t, "form", form.body, "Senarai Dokumen", "Akan Datang")
	// The manual's order of the choices.
	order := []string{"bantuan-khas", "bonus", "penyata-pendapatan-tahunan", "slip-gaji-bulanan", "slip-gaji-mingguan", "slip-gaji-sambilan"}
	got := cells(regexp.MustCompile(`<option value="([a-z-]+)"`), form.body)
	if strings.Join(got, " ") != strings.Join(order, " ") {
		t.Errorf("Urusniaga choices %v, want %v", got, order)
	}

	list := b.get(web.PathPenyataGaji + "?urusniaga=slip-gaji-bulanan&tahun=")
	if list.code != http.StatusOK {
		t.Fatalf("list: %d", list.code)
	}
	periods := cells(regexp.MustCompile(`<span id="d\d+">([A-Za-z]+ \d{4})`), list.body)
	if strings.Join(periods, ",") != "Februari 2026,Januari 2026,Disember 2025" {
		t.Errorf("periods %v: latest first, window applied", periods)
	}
	payHas(t, "list", list.body, "Senarai Dokumen", "Dibetulkan (semakan ke-2)", "25/02/2026",
		`href="/penyata-gaji/SG-2026-02-S/dokumen.pdf" target="_blank"`, `href="/penyata-gaji/SG-2026-02-S/dokumen.pdf?muat-turun=1" download`,
		`href="/penyata-gaji/SG-2026-02-S"`, ">MuatTurun<")
	payHasNot(t, "list", list.body, "Januari 2024", "SG-2026-01-N", "Bonus</td>")
	// Each link is named by its text and its row's period, and every id a
	// name or description refers to stands on the page.
	payHas(t, "link names", list.body, `<span id="d1">Februari 2026`, `aria-labelledby="d-mt d1" aria-describedby="d-pdf">MuatTurun<`,
		`aria-labelledby="d-sv d1">Simpan PDF<`, `aria-labelledby="d-vw d1">Lihat<`, `<span id="d-mt" hidden>MuatTurun</span>`,
		`<span id="d-pdf" hidden>PDF, dibuka dalam tetingkap baharu</span>`)
	pageIDs := map[string]bool{}
	for _, m := range regexp.MustCompile(` id="([^"]+)"`).FindAllStringSubmatch(list.body, -1) {
		pageIDs[m[1]] = true
	}
	refs := regexp.MustCompile(`aria-(?:labelledby|describedby)="([^"]+)"`).FindAllStringSubmatch(list.body, -1)
	if len(refs) < 9 {
		t.Fatalf("%d aria references in a list of three slips", len(refs))
	}
	for _, m := range refs {
		for _, id := range strings.Fields(m[1]) {
			if !pageIDs[id] {
				t.Errorf("aria reference to %q, which is not on the page", id)
			}
		}
	}
	// The corrected slip shows its latest net pay: 4,567.89 + 300 + 350 -
	// 210.50 - 502.46 (KWSP) - 50 (zakat).
	payHas(t, "corrected net", list.body, "4,454.93")

	byYear := b.get(web.PathPenyataGaji + "?urusniaga=slip-gaji-bulanan&tahun=2025")
	periods = cells(regexp.MustCompile(`<span id="d\d+">([A-Za-z]+ \d{4})`), byYear.body)
	if strings.Join(periods, ",") != "Disember 2025" {
		t.Errorf("year 2025: %v", periods)
	}

	view := b.get("/penyata-gaji/SG-2026-02-S")
	if view.code != http.StatusOK {
		t.Fatalf("view: %d", view.code)
	}
	payHas(t, "html slip", view.body, "Slip Gaji Bulanan", "Februari 2026", "Siti Aminah binti Omar", "791117-04-5672", "JKPN-0042",
		"G-JKPN-0042", "Pegawai Kewangan", "WA41", "Bank Islam", "0401-2345-6789", "SG 1234567890", "KWSP-778899",
		"Kerajaan Negeri Melaka", "E 0123456-7", "Seri Negeri", "0001 Gaji Pokok", "4,567.89", "ITKA", "300.00", "COLA", "350.00",
		"PCB", "210.50", "KWSP", "502.46", "Zakat", "50.00", "Jumlah Pendapatan", "5,217.89", "Jumlah Potongan", "762.96",
		"Gaji Bersih", "RM 4,454.93", "semakan ke-2", "Potongan zakat tertinggal", verifycode.Format(statements.Code(payKey, "SG-2026-02-S", 2)),
		`<meta name="viewport" content="width=device-width, initial-scale=1">`)

	doc := b.get("/penyata-gaji/SG-2026-02-S/dokumen.pdf")
	if doc.code != http.StatusOK || doc.hdr.Get("Content-Type") != "application/pdf" {
		t.Fatalf("pdf: %d %s %s", doc.code, doc.hdr.Get("Content-Type"), clipBody(doc.body))
	}
	if cd := doc.hdr.Get("Content-Disposition"); !strings.HasPrefix(cd, "inline;") || !strings.Contains(cd, "slip-gaji-bulanan-2026-02.pdf") {
		t.Errorf("Content-Disposition %q", cd)
	}
	text := pdfText(t, doc.raw)
	payHas(t, "pdf", text, "Kerajaan Negeri Melaka", "SLIP GAJI BULANAN", "Bagi Tempoh: Februari 2026", "Siti Aminah binti Omar",
		"791117-04-5672", "JKPN-0042", "Pegawai Kewangan", "Gaji Pokok", "4,567.89", "Zakat", "50.00", "Jumlah Pendapatan", "5,217.89",
		"Jumlah Potongan", "762.96", "Gaji Bersih", "RM 4,454.93", "semakan ke-2", "Potongan zakat tertinggal",
		"Kod pengesahan: "+verifycode.Format(statements.Code(payKey, "SG-2026-02-S", 2)), "Dijana pada 10/03/2026 10:00")
	save := b.get("/penyata-gaji/SG-2026-02-S/dokumen.pdf?muat-turun=1")
	if cd := save.hdr.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
		t.Errorf("download: %q", cd)
	}

	annual := b.get(web.PathPenyataGaji + "?urusniaga=penyata-pendapatan-tahunan")
	payHas(t, "annual", annual.body, "Tahun 2025", `/penyata-gaji/EC-2025-S"`)
	ec := b.get("/penyata-gaji/EC-2025-S")
	payHas(t, "annual view", ec.body, "Penyata Pendapatan Tahunan (Borang EC)", "Pendapatan Bersih")
	ecText := pdfText(t, b.get("/penyata-gaji/EC-2025-S/dokumen.pdf").raw)
	payHas(t, "annual pdf", ecText, "PENYATA PENDAPATAN TAHUNAN (BORANG EC)", "Tahun 2025", "Pendapatan Bersih")
}

// Empty results say so plainly; bad choices are refused beside their
// fields.
func TestStatementListEmptyAndInvalid(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	b := p.as(paySitiIC, "Siti Aminah binti Omar", "")
	// With a year chosen, the answer names it: "none" must not read as
	// "none at all" when only that year has none.
	for _, c := range []struct{ q, want string }{
		{"urusniaga=slip-gaji-mingguan", "Tiada rekod bagi urusniaga ini."},
		{"urusniaga=bantuan-khas", "Tiada rekod bagi urusniaga ini."},
		{"urusniaga=slip-gaji-mingguan&tahun=2025", "Tiada rekod bagi urusniaga ini pada tahun 2025."},
		{"urusniaga=slip-gaji-mingguan&tahun=2025&lang=en", "There are no records for this transaction in 2025."},
		{"urusniaga=slip-gaji-mingguan&tahun=2025&lang=ms", "Tiada rekod bagi urusniaga ini pada tahun 2025."},
		// (A slip year before the slips' window is refused instead:
		// TestStatementYearOutsideTypeWindow.)
	} {
		q, want := c.q, c.want
		r := b.get(web.PathPenyataGaji + "?" + q)
		if r.code != http.StatusOK {
			t.Fatalf("%s: %d", q, r.code)
		}
		payHas(t, q, r.body, want)
		payHasNot(t, q, r.body, "<table")
	}
	// A year in any form but the drop-down's ("02025", "+2025") is refused
	// too: accepted, it listed the year with no year chosen above it, and
	// every new spelling kept another drawing of the fields for good.
	zeros := "urusniaga=slip-gaji-bulanan&tahun=" + strings.Repeat("0", 500) + "2025"
	for _, q := range []string{"urusniaga=", "urusniaga=gaji", "urusniaga=slip-gaji-bulanan&tahun=1999", "urusniaga=slip-gaji-bulanan&tahun=dua",
		"urusniaga=slip-gaji-bulanan&tahun=02025", "urusniaga=slip-gaji-bulanan&tahun=%2B2025", zeros} {
		r := b.get(web.PathPenyataGaji + "?" + q)
		if r.code != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d", q, r.code)
		}
		payHas(t, q, r.body, "Sila pilih satu", `aria-invalid="true"`, "Terdapat masalah pada borang")
		payHasNot(t, q, r.body, "Senarai Dokumen")
	}
	if r := b.get(web.PathPenyataGaji + "?urusniaga=slip-gaji-bulanan&selepas=" + url.QueryEscape("\x01")); r.code != http.StatusBadRequest {
		t.Errorf("control character in the cursor: %d", r.code)
	} else {
		payHas(t, "control character in the cursor", r.body, "Pautan ke halaman seterusnya tidak sah")
	}
}

// When a PDF cannot be produced the person sees "Laporan tidak dapat
// dipaparkan" with an incident ID and the helpdesk, and the incident is
// logged without personal data.
func TestReportCannotBeProduced(t *testing.T) {
	p := newPayPortal(t, payOptions{reports: failingReports{}})
	p.fixtures()
	b := p.as(paySitiIC, "Siti Aminah binti Omar", "")
	incidentRe := regexp.MustCompile(`class="incident">([0-9A-Z]{4}-[0-9A-Z]{4})<`)
	for _, path := range []string{"/permohonan/status-bayaran/PAY-S-001/laporan.pdf", "/penyata-gaji/SG-2026-02-S/dokumen.pdf?muat-turun=1"} {
		r := b.get(path)
		if r.code != http.StatusInternalServerError {
			t.Fatalf("%s: %d", path, r.code)
		}
		if ct := r.hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || r.hdr.Get("Content-Disposition") != "" {
			t.Errorf("%s: the failure is a page, not a file: %s %q", path, ct, r.hdr.Get("Content-Disposition"))
		}
		payHas(t, path, r.body, "Laporan tidak dapat dipaparkan", "ID Insiden", "En. Mohd Fadzlezam Bin Sulaiman", "06-2307290",
			"Pn. Noorazlinda binti Jumaat", "Pn. Norasikin binti Salam", "En. Amirudin bin Zainal")
		m := incidentRe.FindStringSubmatch(r.body)
		if m == nil {
			t.Fatalf("%s: no incident ID on the page", path)
		}
		logs := p.logs.String()
		var line string
		for _, l := range strings.Split(logs, "\n") {
			if strings.Contains(l, m[1]) {
				line = l
			}
		}
		if line == "" {
			t.Fatalf("incident %s not logged:\n%s", m[1], logs)
		}
		payHas(t, "incident log", line, "report_failed", "font Helvetica")
		payHasNot(t, "incident log", line, paySitiIC, "791117-04-5672", "Siti", "BV-2026", "SG-2026")
	}
	// The pages themselves still work.
	if r := b.get("/penyata-gaji/SG-2026-02-S"); r.code != http.StatusOK {
		t.Errorf("html view with a broken renderer: %d", r.code)
	}
}

// A partly wired PaymentDeps is a start-up error, not half an area; a
// zero one leaves the menu's "Akan Datang" in place.
func TestPaymentDepsWiring(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	site, err := web.NewSite(web.Config{}, web.Deps{Sessions: p.srv.Sessions, Errors: p.srv.Errors,
		Payments: web.PaymentDeps{Payments: payments.Queries{Reader: p.views}}})
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			r := recover()
			err, _ := r.(error)
			if err == nil || !strings.Contains(err.Error(), "PaymentDeps lacks Reports, Statements") {
				t.Errorf("partly wired: panic %v", r)
			}
		}()
		site.Routes(gin.New())
	}()

	off, err := server.New(server.Config{}, server.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range off.Engine.Routes() {
		if strings.HasPrefix(rt.Path, web.PathVerify) || strings.Contains(rt.Path, ":id") && strings.HasPrefix(rt.Path, web.PathPenyataGaji) {
			t.Errorf("unwired, yet %s %s is mounted", rt.Method, rt.Path)
		}
	}
}

// The year choice offers the annual statements' seven years to every type.
// A monthly slip year before the slips' 18-month window listed nothing and
// said "no records in 2019" to someone paid all that year: the year is now
// refused, with the field and the window as the reason, and nothing listed.
func TestStatementYearOutsideTypeWindow(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	siti := p.as(paySitiIC, "Siti Aminah binti Omar", "")
	r := siti.get("/penyata-gaji?urusniaga=slip-gaji-bulanan&tahun=2019")
	if r.code != http.StatusUnprocessableEntity {
		t.Errorf("slip year 2019: %d", r.code)
	}
	payHas(t, "slip 2019", r.body, "Tahun 2019 di luar tempoh paparan", "18 bulan terakhir")
	payHasNot(t, "slip 2019", r.body, "Tiada rekod bagi urusniaga ini pada tahun 2019", "Senarai Dokumen")
	// A year the slips' window reaches into, and the annual statements'
	// seventh year back, are searched as before.
	if r := siti.get("/penyata-gaji?urusniaga=slip-gaji-bulanan&tahun=2024"); r.code != http.StatusOK {
		t.Errorf("slip year 2024 (from October in the window): %d", r.code)
	}
	r = siti.get("/penyata-gaji?urusniaga=penyata-pendapatan-tahunan&tahun=2019")
	if r.code != http.StatusOK {
		t.Errorf("Borang EC 2019: %d", r.code)
	}
	payHas(t, "EC 2019", r.body, "Tiada rekod bagi urusniaga ini pada tahun 2019")
	en := siti.get("/penyata-gaji?urusniaga=bonus&tahun=2023&lang=en")
	payHas(t, "bonus 2023 en", en.body, "The year 2023 is outside the display period", "last 18 months")
}

// A statement without a pay date (a Borang EC is issued, not paid) lists
// no "Tarikh Bayaran:" with nothing after it: on a phone each cell names
// its column, and a name without a value reads as a date gone missing.
// The HTML view and the PDF leave the line out as well.
func TestStatementWithoutPayDateListsNoEmptyDate(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	ec := slip(paySiti, statement.PenyataPendapatanTahunan, statement.Period{Year: 2024}, 5100000)
	ec.PayDate = ""
	p.issue("EC-2024-S", ec)
	b := p.as(paySitiIC, "Siti Aminah binti Omar", "")
	for _, lang := range []string{"", "&lang=en"} {
		list := b.get(web.PathPenyataGaji + "?urusniaga=penyata-pendapatan-tahunan" + lang)
		if list.code != http.StatusOK {
			t.Fatalf("list%s: %d", lang, list.code)
		}
		row := regexp.MustCompile(`<tr><td>\d+</td><td>[^\n]*(?:Tahun|Year) 2024[^\n]*</tr>`).FindString(list.body)
		if row == "" {
			t.Fatalf("no row for 2024%s:\n%s", lang, clipBody(list.body))
		}
		payHasNot(t, "row without a pay date"+lang, row, "Tarikh Bayaran: </span></td>", "Pay Date: </span></td>")
		// The row that has one still names it.
		payHas(t, "row with a pay date"+lang, list.body, ": </span>25/01/2025</td>")
	}
	view := b.get("/penyata-gaji/EC-2024-S")
	payHasNot(t, "view", view.body, "<dt>Tarikh Bayaran</dt>")
}

// A weekly slip issued in December may end in January: the log accepts a
// statement dated up to the next year, so the form offers that year too,
// and choosing it lists the slip (before, "Semua tahun" listed it but its
// year was not offered and typed in was refused).
func TestStatementOfNextYearFoundByItsYear(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.mu.Lock()
	p.now = time.Date(2026, 12, 29, 2, 0, 0, 0, time.UTC) // 29 December 2026, 10:00 in Melaka
	p.mu.Unlock()
	p.staff(paySiti)
	week := slip(paySiti, statement.SlipGajiMingguan, statement.Period{From: "2026-12-28", To: "2027-01-03"}, 100000)
	week.PayDate = "2026-12-29"
	p.issue("SM-2027-01-S", week)
	b := p.as(paySitiIC, "Siti Aminah binti Omar", "")

	form := b.get(web.PathPenyataGaji)
	years := cells(regexp.MustCompile(`<option value="(\d{4})"`), form.body)
	if len(years) == 0 || years[0] != "2027" || years[1] != "2026" {
		t.Errorf("years offered %v, want 2027 first, then 2026", years)
	}
	for _, q := range []string{"urusniaga=slip-gaji-mingguan", "urusniaga=slip-gaji-mingguan&tahun=2027"} {
		r := b.get(web.PathPenyataGaji + "?" + q)
		if r.code != http.StatusOK {
			t.Fatalf("%s: %d", q, r.code)
		}
		payHas(t, q, r.body, "Senarai Dokumen", "/penyata-gaji/SM-2027-01-S/dokumen.pdf")
	}
	r := b.get(web.PathPenyataGaji + "?urusniaga=slip-gaji-mingguan&tahun=2027")
	payHas(t, "year 2027 chosen", r.body, `<option value="2027" selected`)
	if r := b.get(web.PathPenyataGaji + "?urusniaga=slip-gaji-mingguan&tahun=2028"); r.code != http.StatusUnprocessableEntity {
		t.Errorf("tahun=2028: %d, want the year refused", r.code)
	}
}
