package pdf

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/projections/statements"
)

// Statement renders a statement (its latest revision, as the projection
// holds it) to w.
func (r Renderer) Statement(w io.Writer, s statements.Statement, generatedAt time.Time) (err error) {
	defer recoverRender(&err)
	title := strings.ToUpper(s.Type.Label())
	d, err := r.newDoc(s.Type.Label()+" "+s.Period.Label(), generatedAt, s.Code)
	if err != nil {
		return err
	}
	d.title(title, "Bagi Tempoh: "+s.Period.Label())

	d.section("Maklumat Majikan")
	d.kv(
		[2]string{"Majikan", s.Employer.Name},
		[2]string{"Jabatan Pembayar", s.Employer.Department},
		[2]string{"Alamat", s.Employer.Address},
		[2]string{"No. Majikan (E)", s.Employer.EmployerNo},
	)

	d.section("Maklumat Pekerja")
	p := s.Payee
	d.kv(
		[2]string{"Nama", p.Name},
		[2]string{"No. Pengenalan", formatIC(p.IC)},
		[2]string{"No. Pekerja", p.StaffNo},
		[2]string{"No. Gaji", p.PayNo},
		[2]string{"Jabatan", p.Department},
		[2]string{"Jawatan", p.Post},
		[2]string{"Gred", p.Grade},
		[2]string{"Bank", p.BankName},
		[2]string{"No. Akaun Bank", p.BankAccount},
		[2]string{"No. Cukai Pendapatan", p.TaxNo},
		[2]string{"No. KWSP", p.EPFNo},
		[2]string{"Tempoh", s.Period.Label()},
		[2]string{"Tarikh Bayaran", dmy(s.PayDate)},
		[2]string{"No. Dokumen", s.ID},
	)

	d.section("Butiran Pendapatan dan Potongan (RM)")
	half := bodyW / 2
	nameW, amtW := half-28, 28.0
	head := func(text string) []cell {
		return []cell{{w: nameW, text: text, style: "B", border: "1", fill: true}, {w: amtW, text: "RM", style: "B", align: "R", border: "1", fill: true, fit: true}}
	}
	d.f.SetFillColor(240, 240, 240)
	d.tableHead(append(head("Pendapatan"), head("Potongan")...))
	totals := []cell{
		{w: nameW, text: "Jumlah Pendapatan", style: "B", border: "1"}, {w: amtW, text: Ringgit(s.Totals.EarningsSen), style: "B", align: "R", border: "1", fit: true},
		{w: nameW, text: "Jumlah Potongan", style: "B", border: "1"}, {w: amtW, text: Ringgit(s.Totals.DeductionsSen), style: "B", align: "R", border: "1", fit: true},
	}
	net := []cell{{w: bodyW - 40, text: netLabel(s.Type), style: "B", border: "1", fill: true}, {w: 40, text: "RM " + Ringgit(s.Totals.NetSen), style: "B", align: "R", border: "1", fill: true, fit: true}}
	// The totals and the net pay stay on the page of the last line
	// (rowKeeping): that line goes over with them rather than leave them to
	// start a page on their own.
	const netGap = 2.0
	_, _, netH := d.layout(net)
	_, _, totalsH := d.layout(totals)
	n := max(len(s.Earnings), len(s.Deductions))
	for i := range n {
		var cells []cell
		for _, side := range [][]statement.Line{s.Earnings, s.Deductions} {
			if i < len(side) {
				name := side[i].Name
				if side[i].Code != "" {
					name = side[i].Code + "  " + name
				}
				cells = append(cells, cell{w: nameW, text: name, border: "1"}, cell{w: amtW, text: Ringgit(side[i].AmountSen), align: "R", border: "1", fit: true})
			} else {
				cells = append(cells, cell{w: nameW, border: "1"}, cell{w: amtW, border: "1"})
			}
		}
		after := 0.0
		if i == n-1 {
			after = totalsH + netGap + netH
		}
		d.rowKeeping(cells, after)
	}
	d.endTable()
	d.rowKeeping(totals, netGap+netH)
	d.f.Ln(netGap)
	d.f.SetFillColor(225, 232, 240)
	d.row(net)

	if s.Revision > 1 {
		d.section("Pembetulan")
		note := fmt.Sprintf("Dokumen ini ialah semakan ke-%d dan menggantikan semua versi terdahulu.", s.Revision)
		d.kv([2]string{"Catatan", note})
		for _, c := range s.Corrections {
			d.kv([2]string{fmt.Sprintf("Semakan ke-%d", c.Revision), c.At.In(calendar.Melaka).Format("02/01/2006") + ": " + c.Reason})
		}
	}
	return d.output(w)
}

// netLabel: "Gaji Bersih" on pay slips, "Jumlah Bersih" elsewhere.
func netLabel(t statement.Type) string {
	switch t {
	case statement.SlipGajiBulanan, statement.SlipGajiMingguan, statement.SlipGajiSambilan:
		return "Gaji Bersih"
	case statement.PenyataPendapatanTahunan:
		return "Pendapatan Bersih"
	}
	return "Jumlah Bersih"
}
