package pdf_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/infra/pdf"
	"github.com/melaka-gov/ispeks/projections/statements"
)

// pageOf is the number (from 1) of the first page whose text holds want,
// compared on single spaces; 0 when none does.
func pageOf(text, want string) int {
	for i, page := range strings.Split(text, "\f") {
		if strings.Contains(strings.Join(strings.Fields(page), " "), want) {
			return i + 1
		}
	}
	return 0
}

// A section's heading and a table's heading row stay on the page of the
// first line under them: left alone at the foot of a page ("Butiran
// Pendapatan dan Potongan" over nothing, the lines on the next page) they
// head an empty section. The content above grows a line at a time, so
// that each heading falls at every height near the foot of the page.
func TestHeadingsKeptWithTheirFirstLine(t *testing.T) {
	// Every field of the employee and employer as long as it may be
	// (statement.MaxName, MaxText, an address of 2*MaxName), some in wide
	// letters; the address shorter by a word at a time.
	for n := range 30 {
		s := slip()
		s.Payee.Name = strings.Repeat("MWMWMWMW ", 17)[:statement.MaxName]
		for _, f := range []*string{&s.Payee.StaffNo, &s.Payee.PayNo, &s.Payee.Department, &s.Payee.Post, &s.Payee.Grade,
			&s.Payee.BankName, &s.Payee.BankAccount, &s.Payee.TaxNo, &s.Payee.EPFNo, &s.Employer.EmployerNo} {
			*f = strings.Repeat("Teks 12345 ", 11)[:statement.MaxText]
		}
		s.Employer.Name = strings.Repeat("MWMWMWMW ", 17)[:statement.MaxName]
		s.Employer.Department = strings.Repeat("MWMWMWMW ", 17)[:statement.MaxName]
		s.Employer.Address = strings.Repeat("MWMWMWMW ", 34)[:2*statement.MaxName-9*n]
		text := pdfText(t, func(w *bytes.Buffer) error { return pdf.Renderer{}.Statement(w, s, generated) })
		sec, head, first := pageOf(text, "Butiran Pendapatan dan Potongan"), pageOf(text, "Pendapatan RM Potongan RM"), pageOf(text, "0001 Gaji Pokok")
		if sec == 0 || sec != head || head != first {
			t.Errorf("statement, address of %d characters: \"Butiran Pendapatan dan Potongan\" on page %d, its table heading on page %d, its first line on page %d", len(s.Employer.Address), sec, head, first)
		}
	}
	for n := range 30 {
		s := slip()
		s.Earnings, s.Totals.EarningsSen = nil, 0
		for i := range n + 1 {
			s.Earnings = append(s.Earnings, statement.Line{Name: fmt.Sprintf("Elaun %d", i), AmountSen: 100000})
			s.Totals.EarningsSen += 100000
		}
		s.Totals.NetSen = s.Totals.EarningsSen - s.Totals.DeductionsSen
		if s.Totals.NetSen < 0 { // not a slip the domain accepts
			continue
		}
		s.Revision = 2
		s.Corrections = []statements.Correction{{Revision: 2, At: generated, Reason: "Potongan zakat dibetulkan"}}
		text := pdfText(t, func(w *bytes.Buffer) error { return pdf.Renderer{}.Statement(w, s, generated) })
		if sec, first := pageOf(text, "Pembetulan"), pageOf(text, "Catatan Dokumen ini ialah semakan ke-2"); sec == 0 || sec != first {
			t.Errorf("statement, %d earnings lines: \"Pembetulan\" on page %d, its first line on page %d", n+1, sec, first)
		}
	}
}

// The totals rows ("Jumlah Pendapatan / Jumlah Potongan" and the net pay
// under it) stay on the page of the table's last line: left to start a
// page on their own they total nothing the reader sees. When they do not
// fit under the last line, that line goes over with them (under the
// repeated table heading). The lines grow one at a time, so that the
// totals fall at every height near the foot of a page, and over a second
// page break.
func TestTotalsKeptWithTheLastLines(t *testing.T) {
	checked := 0
	for n := 1; n <= 90; n++ {
		s := slip()
		s.Earnings, s.Totals.EarningsSen = nil, 0
		for i := range n {
			s.Earnings = append(s.Earnings, statement.Line{Name: fmt.Sprintf("Elaun nombor %03d", i+1), AmountSen: 100000})
			s.Totals.EarningsSen += 100000
		}
		s.Totals.NetSen = s.Totals.EarningsSen - s.Totals.DeductionsSen
		if s.Totals.NetSen < 0 { // not a slip the domain accepts
			continue
		}
		checked++
		text := pdfText(t, func(w *bytes.Buffer) error { return pdf.Renderer{}.Statement(w, s, generated) })
		last := pageOf(text, fmt.Sprintf("Elaun nombor %03d", n))
		totals, net := pageOf(text, "Jumlah Pendapatan"), pageOf(text, "Gaji Bersih")
		if last == 0 || totals != last || net != totals {
			t.Errorf("%d earnings lines: the last line on page %d, \"Jumlah Pendapatan\" on page %d, \"Gaji Bersih\" on page %d", n, last, totals, net)
		}
		// Every line is printed once, and each page of lines has its heading.
		for i := range n {
			if c := strings.Count(text, fmt.Sprintf("Elaun nombor %03d ", i+1)); c != 1 {
				t.Fatalf("%d earnings lines: line %d printed %d times", n, i+1, c)
			}
		}
		if totals > 1 && !strings.Contains(strings.Join(strings.Fields(strings.Split(text, "\f")[totals-1]), " "), "Pendapatan RM Potongan RM") {
			t.Errorf("%d earnings lines: the totals' page %d has no table heading over the lines moved to it", n, totals)
		}
	}
	if checked < 80 {
		t.Fatalf("only %d slips checked", checked)
	}
}
