package pdf_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/infra/pdf"
	"github.com/melaka-gov/ispeks/projections/payments"
	"github.com/melaka-gov/ispeks/projections/statements"
)

var generated = time.Date(2025, 3, 10, 2, 30, 15, 0, time.UTC) // 10:30:15 in Melaka

// pdfText renders with render and reads the PDF back with pdftotext.
func pdfText(t *testing.T, render func(w *bytes.Buffer) error) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatalf("pdftotext (poppler-utils) is needed to read PDFs back: %v", err)
	}
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", buf.Bytes()[:min(20, buf.Len())])
	}
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-layout", "-enc", "UTF-8", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, out)
	}
	return string(out)
}

// The IC is labelled as on the pages and in the manual: "No. Pengenalan".
func TestICLabelIsThePages(t *testing.T) {
	slipText := pdfText(t, func(w *bytes.Buffer) error { return pdf.Renderer{}.Statement(w, slip(), generated) })
	payText := pdfText(t, func(w *bytes.Buffer) error {
		return pdf.Renderer{}.Payment(w, payments.Payment{ID: "PAY-1", PayeeIC: "880101045678", Code: "ZYXWVUTSRQPONMLK"}, pdf.Payee{Name: "Ahmad"}, generated)
	})
	for what, text := range map[string]string{"slip": slipText, "payment": payText} {
		expect(t, text, "No. Pengenalan 880101-04-5678")
		if strings.Contains(text, "Kad Pengenalan") {
			t.Errorf("%s: labels the IC \"No. Kad Pengenalan\", not the pages' \"No. Pengenalan\"", what)
		}
	}
}

func expect(t *testing.T, text string, wants ...string) {
	t.Helper()
	// pdftotext -layout pads columns with runs of spaces: compare on single spaces.
	flat := strings.Join(strings.Fields(text), " ")
	for _, w := range wants {
		if !strings.Contains(flat, w) {
			t.Errorf("%q not in the PDF text:\n%s", w, text)
		}
	}
}

func slip() statements.Statement {
	c := statement.Content{
		Type:   statement.SlipGajiBulanan,
		Period: statement.Period{Year: 2025, Month: 2},
		Payee: statement.Payee{IC: "880101045678", Name: "Siti Nurhaliza binti Ahmad", StaffNo: "MLK00123", PayNo: "G-7781",
			Department: "Jabatan Kewangan dan Perbendaharaan Negeri Melaka", Post: "Pegawai Kewangan", Grade: "WA41",
			BankName: "Bank Islam", BankAccount: "14023010012345", TaxNo: "SG 1234567890", EPFNo: "12345678"},
		Employer: statement.Employer{Name: "Kerajaan Negeri Melaka", Department: "Perbendaharaan Negeri Melaka", Address: "Aras 1, Blok Temenggong, Seri Negeri, Ayer Keroh", EmployerNo: "E 9988776"},
		Earnings: []statement.Line{
			{Code: "0001", Name: "Gaji Pokok", AmountSen: 456789},
			{Code: "1001", Name: "ITKA", AmountSen: 30000},
			{Code: "1002", Name: "ITP", AmountSen: 25000},
			{Code: "1003", Name: "COLA", AmountSen: 35000},
		},
		Deductions: []statement.Line{
			{Name: "PCB", AmountSen: 21000}, {Name: "KWSP", AmountSen: 50246}, {Name: "PERKESO", AmountSen: 1475},
			{Name: "Zakat", AmountSen: 5000}, {Name: "Pinjaman Perumahan", AmountSen: 120000}, {Name: "ANGKASA", AmountSen: 15000},
		},
		Totals:  statement.Totals{EarningsSen: 546789, DeductionsSen: 212721, NetSen: 334068},
		PayDate: "2025-02-25",
	}
	return statements.Statement{ID: "SG-2025-02-000123", Revision: 1, Content: c, TypeLabel: c.Type.Label(), PeriodLabel: c.Period.Label(),
		Code: "ABCDEFGHJKLMNPQR"}
}

func TestSlipHasEveryField(t *testing.T) {
	r := pdf.Renderer{VerifyURL: "https://ispeks.melaka.gov.my/sahkan/", QR: true}
	s := slip()
	text := pdfText(t, func(w *bytes.Buffer) error { return r.Statement(w, s, generated) })
	expect(t, text,
		"Kerajaan Negeri Melaka — Jabatan Kewangan dan Perbendaharaan Negeri Melaka",
		"SLIP GAJI BULANAN", "Bagi Tempoh: Februari 2025",
		"Kerajaan Negeri Melaka", "Perbendaharaan Negeri Melaka", "Blok Temenggong", "E 9988776",
		"Siti Nurhaliza binti Ahmad", "880101-04-5678", "MLK00123", "G-7781", "Pegawai Kewangan", "WA41",
		"Bank Islam", "14023010012345", "SG 1234567890", "12345678", "25/02/2025", "SG-2025-02-000123",
		"Gaji Pokok", "4,567.89", "ITKA", "300.00", "ITP", "250.00", "COLA", "350.00",
		"PCB", "210.00", "KWSP", "502.46", "PERKESO", "14.75", "Zakat", "50.00", "Pinjaman Perumahan", "1,200.00", "ANGKASA", "150.00",
		"Jumlah Pendapatan", "5,467.89", "Jumlah Potongan", "2,127.21", "Gaji Bersih", "RM 3,340.68",
		"Kod pengesahan: ABCD-EFGH-JKLM-NPQR", "https://ispeks.melaka.gov.my/sahkan/ABCDEFGHJKLMNPQR",
		"Dijana pada 10/03/2025 10:30:15",
	)
}

func TestEveryStatementType(t *testing.T) {
	r := pdf.Renderer{}
	periods := map[statement.Type]statement.Period{
		statement.SlipGajiBulanan:          {Year: 2025, Month: 1},
		statement.SlipGajiMingguan:         {Year: 2025, Month: 1, From: "2025-01-06", To: "2025-01-12"},
		statement.SlipGajiSambilan:         {Year: 2025, Month: 1},
		statement.Bonus:                    {Year: 2024, Month: 12},
		statement.BantuanKhas:              {Year: 2025, Month: 1},
		statement.PenyataPendapatanTahunan: {Year: 2024},
	}
	wants := map[statement.Type][]string{
		statement.SlipGajiBulanan:          {"SLIP GAJI BULANAN", "Januari 2025", "Gaji Bersih"},
		statement.SlipGajiMingguan:         {"SLIP GAJI MINGGUAN", "06/01/2025 - 12/01/2025", "Gaji Bersih"},
		statement.SlipGajiSambilan:         {"SLIP GAJI SAMBILAN", "Januari 2025", "Gaji Bersih"},
		statement.Bonus:                    {"BONUS", "Disember 2024", "Jumlah Bersih"},
		statement.BantuanKhas:              {"BANTUAN KHAS", "Januari 2025", "Jumlah Bersih"},
		statement.PenyataPendapatanTahunan: {"PENYATA PENDAPATAN TAHUNAN (BORANG EC)", "Tahun 2024", "Pendapatan Bersih"},
	}
	for _, typ := range statement.Types() {
		s := slip()
		s.Type, s.Period = typ, periods[typ]
		text := pdfText(t, func(w *bytes.Buffer) error { return r.Statement(w, s, generated) })
		expect(t, text, append(wants[typ], "Siti Nurhaliza binti Ahmad", "RM 3,340.68", "Kod pengesahan: ABCD-EFGH-JKLM-NPQR")...)
	}
}

func TestCorrectedSlipSaysSo(t *testing.T) {
	s := slip()
	s.Revision = 2
	s.Corrections = []statements.Correction{{Revision: 2, At: generated, Reason: "Potongan zakat dibetulkan"}}
	text := pdfText(t, func(w *bytes.Buffer) error { return pdf.Renderer{}.Statement(w, s, generated) })
	expect(t, text, "semakan ke-2", "menggantikan semua versi terdahulu", "Potongan zakat dibetulkan")
}

func TestAccentedAndOtherNames(t *testing.T) {
	s := slip()
	s.Payee.Name = "José Ibáñez a/l Muthusāmy 陈"
	text := pdfText(t, func(w *bytes.Buffer) error { return pdf.Renderer{}.Statement(w, s, generated) })
	expect(t, text, "José Ibáñez a/l Muthusamy ?")
}

func TestLongSlipBreaksPages(t *testing.T) {
	s := slip()
	s.Earnings = nil
	s.Totals.EarningsSen = 0
	for i := range 60 {
		s.Earnings = append(s.Earnings, statement.Line{Name: "Elaun tambahan yang panjang namanya nombor " + string(rune('A'+i%26)), AmountSen: 100})
		s.Totals.EarningsSen += 100
	}
	text := pdfText(t, func(w *bytes.Buffer) error { return pdf.Renderer{}.Statement(w, s, generated) })
	expect(t, text, "Muka surat 1/4", "Muka surat 4/4", "Jumlah Pendapatan", "60.00", "Gaji Bersih")
}

func TestPaymentReport(t *testing.T) {
	p := payments.Payment{
		ID: "PAY-2025-0042", Module: payment.Tuntutan, ModuleLabel: "Tuntutan", Type: payment.TuntutanPerjalanan, TypeLabel: "Tuntutan Perjalanan",
		VoucherNo: "BV-2025-000123", VoucherDate: "2025-02-01", Reference: "TP/2025/77", Description: "Tuntutan perjalanan ke Kuala Lumpur",
		AmountSen: 123456, PayeeIC: "880101045678", ReceivedDate: "2025-02-01",
		Status: payment.DiterimaOlehBank, StatusLabel: "Diterima oleh Bank", StatusDate: "2025-02-08", EFTNo: "EFT778899", PaymentDate: "2025-02-08",
		History: []payments.StatusEntry{
			{Status: payment.Diterima, Label: "Diterima", Date: "2025-02-01"},
			{Status: payment.DalamProses, Label: "Dalam Proses", Date: "2025-02-02"},
			{Status: payment.Diluluskan, Label: "Diluluskan", Date: "2025-02-03"},
			{Status: payment.DihantarKeBank, Label: "Dihantar ke Bank", Date: "2025-02-04"},
			{Status: payment.GagalDiprosesBank, Label: "Gagal Diproses Bank", Date: "2025-02-05", Reason: "Akaun tidak aktif"},
			{Status: payment.DihantarKeBank, Label: "Dihantar ke Bank", Date: "2025-02-07"},
			{Status: payment.DiterimaOlehBank, Label: "Diterima oleh Bank", Date: "2025-02-08", EFTNo: "EFT778899", PaymentDate: "2025-02-08"},
		},
		Code: "ZYXWVUTSRQPONMLK",
	}
	r := pdf.Renderer{VerifyURL: "https://ispeks.melaka.gov.my/sahkan/"}
	text := pdfText(t, func(w *bytes.Buffer) error {
		return r.Payment(w, p, pdf.Payee{Name: "Ahmad bin Abdullah", Department: "Jabatan Ketua Menteri"}, generated)
	})
	expect(t, text,
		"Kerajaan Negeri Melaka — Jabatan Kewangan dan Perbendaharaan Negeri Melaka",
		"LAPORAN STATUS BAYARAN", "Maklumat terperinci",
		"Ahmad bin Abdullah", "880101-04-5678", "Jabatan Ketua Menteri",
		"Tuntutan", "Tuntutan Perjalanan", "BV-2025-000123", "01/02/2025", "TP/2025/77", "Tuntutan perjalanan ke Kuala Lumpur",
		"1,234.56", "Diterima oleh Bank", "08/02/2025", "EFT778899", "PAY-2025-0042",
		"Sejarah Status", "Dalam Proses", "Diluluskan", "Gagal Diproses Bank", "Sebab: Akaun tidak aktif", "No. EFT EFT778899",
		"Kod pengesahan: ZYXW-VUTS-RQPO-NMLK", "Dijana pada 10/03/2025 10:30:15",
	)
}

func TestNoCodeNoDocument(t *testing.T) {
	s := slip()
	s.Code = ""
	if err := (pdf.Renderer{}).Statement(&bytes.Buffer{}, s, generated); err != pdf.ErrNoCode {
		t.Fatal(err)
	}
}

func TestSameInputSameBytes(t *testing.T) {
	var a, b bytes.Buffer
	r := pdf.Renderer{VerifyURL: "https://x/sahkan/", QR: true}
	if err := r.Statement(&a, slip(), generated); err != nil {
		t.Fatal(err)
	}
	if err := r.Statement(&b, slip(), generated); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("rendering is not deterministic")
	}
}

// The largest amounts a statement may carry (RM 1 billion a line, 60
// lines) stay on one line in their column: wrapped inside the digits they
// would read as another amount.
func TestLargestAmountsStayWhole(t *testing.T) {
	s := slip()
	s.Earnings, s.Deductions = nil, []statement.Line{{Name: "PCB", AmountSen: 0}}
	for range statement.MaxLines {
		s.Earnings = append(s.Earnings, statement.Line{Name: "Gaji", AmountSen: statement.MaxLineSen})
	}
	net := statement.MaxLineSen * statement.MaxLines
	s.Totals = statement.Totals{EarningsSen: net, NetSen: net}
	text := pdfText(t, func(w *bytes.Buffer) error { return pdf.Renderer{}.Statement(w, s, generated) })
	expect(t, text, "Gaji 1,000,000,000.00 PCB 0.00", "Jumlah Pendapatan 60,000,000,000.00 Jumlah Potongan 0.00",
		"Gaji Bersih RM 60,000,000,000.00")
}

// Names and texts pasted from word processors and phones: lookalike
// apostrophes and hyphens print as the code page's, invisible marks are
// dropped, and an ellipsis survives a line wrap.
func TestLookalikesAndInvisibleMarks(t *testing.T) {
	s := slip()
	s.Payee.Name = "\uFEFFNur\u200BAini Ja\u02BCafar binti Abd\u2011Rahman\u00AD"
	s.Payee.Post = "Pegawai\u202FKewangan \u2212 Gred\u2010WA41"
	s.Employer.Address = strings.Repeat("ab ", 25) + "Seri…Negeri Ayer Keroh"
	text := pdfText(t, func(w *bytes.Buffer) error { return pdf.Renderer{}.Statement(w, s, generated) })
	expect(t, text, "NurAini Ja’afar binti Abd-Rahman No.", "Pegawai Kewangan - Gred-WA41", "Seri...Negeri")
	if strings.Contains(text, "?") {
		t.Errorf("a \"?\" in the PDF text:\n%s", text)
	}
}

// A table that runs on to another page repeats its heading there: a page
// of lines without "Pendapatan" and "Potongan" over them does not say
// which column is which.
func TestTableHeadingOnEveryPage(t *testing.T) {
	s := slip()
	s.Earnings, s.Deductions = nil, nil
	s.Totals = statement.Totals{}
	for i := range statement.MaxLines {
		s.Earnings = append(s.Earnings, statement.Line{Name: "Elaun tambahan yang panjang namanya, bahagian " + string(rune('A'+i%26)), AmountSen: 100})
		s.Deductions = append(s.Deductions, statement.Line{Name: "Potongan", AmountSen: 1})
		s.Totals.EarningsSen += 100
		s.Totals.DeductionsSen++
	}
	s.Totals.NetSen = s.Totals.EarningsSen - s.Totals.DeductionsSen
	text := pdfText(t, func(w *bytes.Buffer) error { return pdf.Renderer{}.Statement(w, s, generated) })
	pages := 0
	for i, page := range strings.Split(text, "\f") {
		if !strings.Contains(page, "Elaun tambahan") {
			continue
		}
		pages++
		if !strings.Contains(strings.Join(strings.Fields(page), " "), "Pendapatan RM Potongan RM") {
			t.Errorf("page %d of the lines has no table heading:\n%s", i+1, page)
		}
	}
	if pages < 2 {
		t.Fatalf("the lines fill %d page(s); the test wants them to run on", pages)
	}

	p := payments.Payment{ID: "PAY-1", VoucherNo: "BV-1", Code: "ZYXWVUTSRQPONMLK"}
	for i := range 60 {
		p.History = append(p.History, payments.StatusEntry{Label: "Gagal Diproses Bank", Date: "2025-02-05", Reason: fmt.Sprintf("Akaun tidak aktif (%d)", i)})
	}
	text = pdfText(t, func(w *bytes.Buffer) error { return pdf.Renderer{}.Payment(w, p, pdf.Payee{Name: "Ahmad"}, generated) })
	for i, page := range strings.Split(text, "\f") {
		if strings.Contains(page, "Akaun tidak aktif") && !strings.Contains(strings.Join(strings.Fields(page), " "), "Bil Status Tarikh Butiran") {
			t.Errorf("page %d of the history has no table heading:\n%s", i+1, page)
		}
	}
}

// panickyWriter stands for a failure deep inside the PDF library: its Write
// panics instead of returning an error.
type panickyWriter struct{}

func (panickyWriter) Write([]byte) (int, error) { panic("broken writer") }

// A panic while a report is drawn is ErrRender, so the page says "Laporan
// tidak dapat dipaparkan" with an incident ID rather than the generic error.
func TestRenderPanicIsAnError(t *testing.T) {
	err := (pdf.Renderer{}).Statement(panickyWriter{}, slip(), generated)
	if !errors.Is(err, pdf.ErrRender) {
		t.Fatalf("statement: %v, want ErrRender", err)
	}
	p := payments.Payment{ID: "PAY-1", VoucherNo: "BV-1", PayeeIC: "880101045678", Code: "ZYXWVUTSRQPONMLK"}
	err = (pdf.Renderer{}).Payment(panickyWriter{}, p, pdf.Payee{Name: "Ahmad"}, generated)
	if !errors.Is(err, pdf.ErrRender) {
		t.Fatalf("payment: %v, want ErrRender", err)
	}
}

// A name typed on a keyboard or copied from a system that decomposes
// accents (macOS, some databases: "e" then U+0301) prints as the same name
// composed does, not "Jose?": the accent is the letter's, not a character
// of its own. A mark the code page has no letter for is dropped with it
// (ṣ → s), as ā prints as a.
func TestDecomposedAccents(t *testing.T) {
	s := slip()
	s.Payee.Name = "Jose\u0301 Iba\u0301n\u0303ez a/l Muthus\u0101my Nura\u0323"
	text := pdfText(t, func(w *bytes.Buffer) error { return pdf.Renderer{}.Statement(w, s, generated) })
	expect(t, text, "José Ibáñez a/l Muthusamy Nura No.")
	if strings.Contains(text, "?") {
		t.Errorf("a \"?\" in the PDF text:\n%s", text)
	}
}
