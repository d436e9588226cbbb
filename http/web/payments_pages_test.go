package web_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/http/web"
	"github.com/melaka-gov/ispeks/projections/payments"
	"github.com/melaka-gov/ispeks/projections/verifycode"
)

// The manual's section A walked through: the Jenis Modul form, Semak, the
// list newest first, the row's icon to "Maklumat terperinci" with the
// status history, and Cetak (the PDF shown inline, MuatTurun as a file).
func TestPaymentStatusWalkthrough(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	b := p.as(paySitiIC, "Siti Aminah binti Omar", "")

	form := b.get(web.PathStatusBayaran)
	if form.code != http.StatusOK {
		t.Fatalf("form: %d", form.code)
	}
	payHas(t, "form", form.body, "Jenis Modul", `<option value="pendahuluan"`, `<option value="tuntutan"`, ">Semak<")
	payHasNot(t, "form", form.body, "Akan Datang", "Senarai Pertanyaan Status Bayaran")

	list := b.get(web.PathStatusBayaran + "?modul=tuntutan")
	if list.code != http.StatusOK {
		t.Fatalf("list: %d", list.code)
	}
	payHas(t, "claims", list.body, "Senarai Pertanyaan Status Bayaran", "BV-2026-000300", "Tuntutan lebih masa Februari", "450.75",
		"Gagal Diproses Bank", "20/02/2026", `href="/permohonan/status-bayaran/PAY-S-CLM"`, `aria-label="Lihat maklumat terperinci baucar BV-2026-000300"`)
	payHasNot(t, "claims", list.body, "BV-2026-000101", "PAY-N-001", "PAY-A-001")

	detail := b.get("/permohonan/status-bayaran/PAY-S-001")
	if detail.code != http.StatusOK {
		t.Fatalf("detail: %d", detail.code)
	}
	payHas(t, "detail", detail.body, "Maklumat terperinci", "BV-2026-000101", "PP/2026/101", "Pendahuluan perjalanan ke Putrajaya",
		"1,234.50", "Diterima oleh Bank", "EFT20260110-7781", "10/01/2026", "Sejarah Status",
		"Diterima", "Dalam Proses", "Diluluskan", "Dihantar ke Bank",
		`href="/permohonan/status-bayaran/PAY-S-001/laporan.pdf"`, `href="/permohonan/status-bayaran/PAY-S-001/laporan.pdf?muat-turun=1"`,
		">Cetak<", ">MuatTurun<", payCode("PAY-S-001"))
	// The history is in order, one row per move.
	hist := detail.body[strings.Index(detail.body, "Sejarah Status"):]
	order := []string{">Diterima<", ">Dalam Proses<", ">Diluluskan<", ">Dihantar ke Bank<", ">Diterima oleh Bank<"}
	last := -1
	for _, s := range order {
		i := strings.Index(hist, s)
		if i <= last {
			t.Fatalf("history out of order at %s", s)
		}
		last = i
	}

	doc := b.get("/permohonan/status-bayaran/PAY-S-001/laporan.pdf")
	if doc.code != http.StatusOK || doc.hdr.Get("Content-Type") != "application/pdf" {
		t.Fatalf("pdf: %d %s", doc.code, doc.hdr.Get("Content-Type"))
	}
	if cd := doc.hdr.Get("Content-Disposition"); !strings.HasPrefix(cd, "inline;") || !strings.Contains(cd, "status-bayaran-BV-2026-000101.pdf") {
		t.Errorf("inline: Content-Disposition %q", cd)
	}
	if cc := doc.hdr.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("a PDF of personal data must not be cached: %q", cc)
	}
	text := pdfText(t, doc.raw)
	payHas(t, "pdf", text, "Kerajaan Negeri Melaka", "LAPORAN STATUS BAYARAN", "Siti Aminah binti Omar", "791117-04-5672",
		"Jabatan Kewangan dan Perbendaharaan", "BV-2026-000101", "PP/2026/101", "1,234.50", "Diterima oleh Bank", "EFT20260110-7781",
		"Pendahuluan Perjalanan", "Dijana pada 10/03/2026 10:00", "Kod pengesahan: "+payCode("PAY-S-001"))

	save := b.get("/permohonan/status-bayaran/PAY-S-001/laporan.pdf?muat-turun=1")
	if cd := save.hdr.Get("Content-Disposition"); save.code != http.StatusOK || !strings.HasPrefix(cd, "attachment;") {
		t.Errorf("download: %d %q", save.code, cd)
	}
}

// Newest first, a page at a time; Bil. runs on across pages.
func TestPaymentListPages(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	b := p.as(paySitiIC, "Siti Aminah binti Omar", "")
	first := b.get(web.PathStatusBayaran + "?modul=pendahuluan")
	voucherRe := regexp.MustCompile(`cell-main"><span class="cl">No. Baucar: </span>(BV-2026-0001\d\d)<`)
	vouchers := cells(voucherRe, first.body)
	want := []string{"BV-2026-000107", "BV-2026-000106", "BV-2026-000105", "BV-2026-000104", "BV-2026-000103"}
	if strings.Join(vouchers, " ") != strings.Join(want, " ") {
		t.Fatalf("page 1: %v, want %v", vouchers, want)
	}
	next := regexp.MustCompile(`href="(/permohonan/status-bayaran\?[^"]+)" rel="next"`).FindStringSubmatch(first.body)
	if next == nil {
		t.Fatalf("no next link:\n%s", clipBody(first.body))
	}
	second := b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	vouchers = cells(voucherRe, second.body)
	if strings.Join(vouchers, " ") != "BV-2026-000102 BV-2026-000101" {
		t.Fatalf("page 2: %v", vouchers)
	}
	payHas(t, "page 2", second.body, `<td class="num cell-no">6</td>`, `<td class="num cell-no">7</td>`, "Halaman pertama")
	payHasNot(t, "page 2", second.body, `rel="next"`)

	// A next-page link that was edited or cut short says so, in Malay,
	// not a bare "Permintaan tidak sah".
	bad := b.get(web.PathStatusBayaran + "?modul=pendahuluan&selepas=" + url.QueryEscape("not-a-cursor"))
	if bad.code != http.StatusBadRequest {
		t.Errorf("forged cursor: %d", bad.code)
	}
	payHas(t, "forged cursor", bad.body, "Pautan ke halaman seterusnya tidak sah", "halaman pertama")
}

// Empty results say so; a module that is not one of the two is refused
// beside the field.
func TestPaymentListEmptyAndInvalid(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	b := p.as(payNurulIC, "Nurul Huda binti Rahman", "")
	empty := b.get(web.PathStatusBayaran + "?modul=tuntutan")
	if empty.code != http.StatusOK {
		t.Fatalf("empty: %d", empty.code)
	}
	payHas(t, "empty", empty.body, "Senarai Pertanyaan Status Bayaran", "Tiada rekod bayaran bagi modul ini.")
	payHasNot(t, "empty", empty.body, "<table")

	for _, q := range []string{"", "gaji", "<script>"} {
		bad := b.get(web.PathStatusBayaran + "?modul=" + url.QueryEscape(q))
		if bad.code != http.StatusUnprocessableEntity {
			t.Errorf("modul=%q: %d", q, bad.code)
		}
		payHas(t, "invalid module", bad.body, "Sila pilih satu", `aria-invalid="true"`)
		payHasNot(t, "invalid module", bad.body, "<script>")
	}
}

// Staff reach only their own payments, statements and PDFs: anyone else's
// ID is 404, exactly like an ID that does not exist. Roles add nothing.
func TestOtherPeoplesRecordsAreNotFound(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	siti := p.as(paySitiIC, "Siti Aminah binti Omar", "")
	admin := p.as(payAdminIC, "Mohd Fadzlezam bin Sulaiman", "admin")
	auditor := p.as(payNurulIC, "Nurul Huda binti Rahman", "auditor")
	cases := []struct {
		who  *payBrowser
		name string
		path string
	}{
		{siti, "Nurul's payment", "/permohonan/status-bayaran/PAY-N-001"},
		{siti, "Nurul's payment PDF", "/permohonan/status-bayaran/PAY-N-001/laporan.pdf"},
		{siti, "Nurul's payment PDF download", "/permohonan/status-bayaran/PAY-N-001/laporan.pdf?muat-turun=1"},
		{siti, "Nurul's slip", "/penyata-gaji/SG-2026-01-N"},
		{siti, "Nurul's slip PDF", "/penyata-gaji/SG-2026-01-N/dokumen.pdf"},
		{siti, "no such payment", "/permohonan/status-bayaran/PAY-X-999"},
		{siti, "no such statement", "/penyata-gaji/SG-9999"},
		{siti, "an ID that cannot be one", "/permohonan/status-bayaran/" + url.PathEscape("../../etc")},
		{siti, "own slip outside the display window", "/penyata-gaji/SG-2024-01-S"},
		{siti, "own slip outside the window, PDF", "/penyata-gaji/SG-2024-01-S/dokumen.pdf"},
		{admin, "administrator: Siti's payment", "/permohonan/status-bayaran/PAY-S-001"},
		{admin, "administrator: Siti's slip", "/penyata-gaji/SG-2026-01-S/dokumen.pdf"},
		{auditor, "auditor: Siti's payment PDF", "/permohonan/status-bayaran/PAY-S-001/laporan.pdf"},
		{auditor, "auditor: Siti's slip", "/penyata-gaji/SG-2026-01-S"},
	}
	for _, c := range cases {
		r := c.who.get(c.path)
		if r.code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", c.name, r.code)
			continue
		}
		payHas(t, c.name, r.body, "Halaman tidak dijumpai")
		payHasNot(t, c.name, r.body, "BV-2026-000900", "BV-2026-000101", "Pendahuluan diri Nurul", "456,789", "Gaji Pokok")
	}
	// An administrator or auditor who is also staff sees their own, and
	// nobody else's in the lists either.
	own := admin.get(web.PathStatusBayaran + "?modul=tuntutan")
	payHas(t, "admin's own claims", own.body, "BV-2026-000500")
	payHasNot(t, "admin's own claims", own.body, "BV-2026-000300", "BV-2026-000900")
	mine := auditor.get(web.PathStatusBayaran + "?modul=pendahuluan")
	payHas(t, "auditor's own", mine.body, "BV-2026-000900")
	payHasNot(t, "auditor's own", mine.body, "BV-2026-0001")
	if r := admin.get("/permohonan/status-bayaran/PAY-A-001"); r.code != http.StatusOK {
		t.Errorf("admin's own payment: %d", r.code)
	}
}

// Nobody sees anything without logging in: the pages send the browser to
// the login page.
func TestPaymentPagesNeedLogin(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	b := p.browser()
	for _, path := range []string{
		web.PathStatusBayaran, web.PathStatusBayaran + "?modul=pendahuluan", "/permohonan/status-bayaran/PAY-S-001",
		"/permohonan/status-bayaran/PAY-S-001/laporan.pdf", web.PathPenyataGaji, "/penyata-gaji/SG-2026-01-S",
		"/penyata-gaji/SG-2026-01-S/dokumen.pdf",
	} {
		r := b.get(path)
		if r.code != http.StatusSeeOther || r.hdr.Get("Location") != "/?sesi=perlu" {
			t.Errorf("%s: %d %s", path, r.code, r.hdr.Get("Location"))
		}
		payHasNot(t, path, r.body, "BV-2026", "Siti")
	}
}

// The English toggle translates the pages' words; the manual's Malay is
// the default.
func TestPaymentPagesInEnglish(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	b := p.as(paySitiIC, "Siti Aminah binti Omar", "")
	list := b.get(web.PathStatusBayaran + "?modul=tuntutan&lang=en")
	payHas(t, "english list", list.body, "Payment Status Enquiry List", "Failed at the Bank", "Voucher No.", "Amount (RM)")
	detail := b.get("/permohonan/status-bayaran/PAY-S-001")
	payHas(t, "english detail (cookie)", detail.body, "Details", "Status History", "Received by the Bank", ">Print<", ">Download<")
	stmts := b.get(web.PathPenyataGaji + "?urusniaga=slip-gaji-bulanan")
	payHas(t, "english statements", stmts.body, "Document List", "Monthly Pay Slip", "February 2026", "Corrected (revision 2)")
	back := b.get(web.PathPenyataGaji + "?urusniaga=slip-gaji-bulanan&lang=ms")
	payHas(t, "malay again", back.body, "Senarai Dokumen", "Februari 2026", "Dibetulkan (semakan ke-2)")
}

func cells(re *regexp.Regexp, body string) []string {
	var out []string
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// payCode is the printed verification code of a payment.
func payCode(id string) string { return verifycode.Format(payments.Code(payKey, id)) }

// What the finance system sends is shown as text, never as markup, in the
// rows drawn in Go and on the detail page alike.
func TestPaymentTextIsEscaped(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.staff(paySiti)
	p.pay("PAY-X-1", payment.Details{Module: payment.Tuntutan, Type: payment.TuntutanPelbagai, VoucherNo: `BV<b>1</b>`, VoucherDate: "2026-02-01",
		Reference: `R"onmouseover="alert(1)`, Description: `<script>alert('x')</script> & sebagainya`, AmountSen: 100, PayeeIC: paySitiIC})
	b := p.as(paySitiIC, "Siti Aminah binti Omar", "")
	for _, path := range []string{web.PathStatusBayaran + "?modul=tuntutan", "/permohonan/status-bayaran/PAY-X-1"} {
		r := b.get(path)
		if r.code != http.StatusOK {
			t.Fatalf("%s: %d", path, r.code)
		}
		payHas(t, path, r.body, "&lt;script&gt;alert(", "BV&lt;b&gt;1&lt;/b&gt;", "&amp; sebagainya", "R&#34;onmouseover=&#34;alert(1)")
		payHasNot(t, path, r.body, "<script>", "<b>1</b>", `"onmouseover="`)
	}
}

// Every catalog key the payment pages use from Go exists in both
// languages (the template keys are checked by http/server's test).
func TestPaymentCatalogKeys(t *testing.T) {
	src := ""
	for _, f := range []string{"payments_deps.go", "payments_view.go", "payments_status.go", "statements_pages.go", "verify_page.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src += string(b)
	}
	keys := regexp.MustCompile(`"((?:pay|stmt|verify|label|err|modul|btn|heading|nav)\.[a-z_.]+)"`).FindAllStringSubmatch(src, -1)
	if len(keys) < 40 {
		t.Fatalf("only %d keys found: the pattern is broken", len(keys))
	}
	var all []string
	for _, k := range keys {
		all = append(all, k[1])
	}
	for _, st := range payment.Statuses() {
		all = append(all, "pay.status."+string(st))
	}
	for _, ty := range statement.Types() {
		all = append(all, "stmt.type."+string(ty))
	}
	all = append(all, "stmt.net.slip", "stmt.net.annual", "stmt.net.other", "modul.pendahuluan", "modul.tuntutan")
	for _, k := range all {
		if strings.HasSuffix(k, ".") {
			continue // a prefix the code completes
		}
		txt, ok := i18n.Lookup(k)
		if !ok || txt.MS == "" || txt.EN == "" {
			t.Errorf("catalog lacks %s", k)
		}
	}
}

// The English pages name the payment type in English: "Payment Type:
// Tuntutan Lebih Masa" stood among English labels on the detail page and
// on the public check. The Malay pages keep the manual's words.
func TestPaymentTypeInEnglish(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	siti := p.as(paySitiIC, "Siti Aminah binti Omar", "")
	ms := siti.get(web.PathStatusBayaran + "/PAY-S-CLM")
	payHas(t, "detail ms", ms.body, "Tuntutan Lebih Masa — BV-2026-000300", "<dd>Tuntutan Lebih Masa</dd>")
	en := siti.get(web.PathStatusBayaran + "/PAY-S-CLM?lang=en")
	payHas(t, "detail en", en.body, "Overtime Claim — BV-2026-000300", "<dt>Payment Type</dt><dd>Overtime Claim</dd>")
	payHasNot(t, "detail en", en.body, "Tuntutan Lebih Masa")
	bank := p.browser()
	v := bank.get("/sahkan/" + payCode("PAY-S-001") + "?lang=en")
	payHas(t, "verify en", v.body, "<dd>Travel Advance</dd>")
	payHasNot(t, "verify en", v.body, "Pendahuluan Perjalanan")
	// Every type has both words, the Malay one the domain's label.
	for _, m := range []payment.Module{payment.Pendahuluan, payment.Tuntutan} {
		for _, ty := range payment.Types(m) {
			txt, ok := i18n.Lookup("pay.type." + string(ty))
			if !ok || txt.MS != ty.Label() || txt.EN == "" || txt.EN == txt.MS {
				t.Errorf("%s: catalog %+v, domain %q", ty, txt, ty.Label())
			}
		}
	}
}

// TestAmendedPaymentSaysSo: the finance system corrected a payment's
// amount after it was recorded; the detail page and its PDF show the
// latest details and say they were amended, so a printout made before is
// known to be out of date. A payment never amended says nothing of it.
func TestAmendedPaymentSaysSo(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	p.must(commands.AmendPaymentHandler{Runner: p.runner}.Handle(context.Background(), commands.AmendPayment{Meta: p.meta(), PaymentID: "PAY-S-002",
		Reason: "Amaun disemak semula", Patch: func(d payment.Details) payment.Details { d.AmountSen = 25000; return d }}))
	b := p.as(paySitiIC, "Siti Aminah binti Omar", "")
	detail := b.get("/permohonan/status-bayaran/PAY-S-002")
	payHas(t, "amended detail", detail.body, "250.00", "Pindaan", "telah dipinda oleh sistem kewangan (1 kali)")
	payHasNot(t, "amended detail", detail.body, "200.00")
	text := pdfText(t, b.get("/permohonan/status-bayaran/PAY-S-002/laporan.pdf").raw)
	payHas(t, "amended pdf", text, "250.00", "Pindaan", "Butiran dipinda oleh sistem kewangan (1 kali)")
	b.get("/permohonan/status-bayaran?lang=en")
	payHas(t, "amended detail (English)", b.get("/permohonan/status-bayaran/PAY-S-002").body, "Amendments", "The finance system amended this payment", "(amendments: 1)")
	never := b.get("/permohonan/status-bayaran/PAY-S-003")
	payHasNot(t, "never amended", never.body, "Amendments", "amended this payment")
}

// A payment without a reference number (the finance system may leave it
// out) lists no "No. Rujukan:" with nothing after it on a phone's card,
// as its details page leaves the line out.
func TestPaymentWithoutReferenceListsNoEmptyReference(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	b := p.as(paySitiIC, "Siti Aminah binti Omar", "")
	for _, lang := range []string{"", "&lang=en"} {
		list := b.get(web.PathStatusBayaran + "?modul=tuntutan" + lang)
		if list.code != http.StatusOK {
			t.Fatalf("list%s: %d", lang, list.code)
		}
		payHas(t, "claim"+lang, list.body, "BV-2026-000300")
		payHasNot(t, "row without a reference"+lang, list.body, "No. Rujukan: </span></td>", "Reference No.: </span></td>")
	}
	// A row that has one still names it.
	adv := b.get(web.PathStatusBayaran + "?modul=pendahuluan&lang=ms")
	payHas(t, "row with a reference", adv.body, `<td class="cell-sub"><span class="cl">No. Rujukan: </span>PP/2026/`)
	view := b.get(web.PathStatusBayaran + "/PAY-S-CLM")
	payHasNot(t, "details", view.body, "<dt>No. Rujukan</dt>")
}
