package pdf

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/melaka-gov/ispeks/projections/payments"
)

// Payee is what the payment report prints about the person paid, beyond
// the IC number the payment carries (from the employee master).
type Payee struct {
	Name       string
	Department string
}

// Payment renders the payment status report: "Maklumat terperinci" and the
// status history.
func (r Renderer) Payment(w io.Writer, p payments.Payment, payee Payee, generatedAt time.Time) (err error) {
	defer recoverRender(&err)
	d, err := r.newDoc("Status Bayaran "+p.VoucherNo, generatedAt, p.Code)
	if err != nil {
		return err
	}
	d.title("LAPORAN STATUS BAYARAN", "Maklumat terperinci")

	d.section("Maklumat Penerima")
	d.kv(
		[2]string{"Nama", payee.Name},
		[2]string{"No. Pengenalan", formatIC(p.PayeeIC)},
		[2]string{"Jabatan", payee.Department},
	)

	d.section("Maklumat Bayaran")
	d.kv(
		[2]string{"Jenis Modul", p.ModuleLabel},
		[2]string{"Jenis Bayaran", p.TypeLabel},
		[2]string{"No. Baucar", p.VoucherNo},
		[2]string{"Tarikh Baucar", dmy(p.VoucherDate)},
		[2]string{"No. Rujukan", p.Reference},
		[2]string{"Keterangan", p.Description},
		[2]string{"Amaun (RM)", Ringgit(p.AmountSen)},
		[2]string{"Tarikh Terima", dmy(p.ReceivedDate)},
		[2]string{"Status Semasa", p.StatusLabel},
		[2]string{"Tarikh Status", dmy(p.StatusDate)},
		[2]string{"No. EFT", p.EFTNo},
		[2]string{"No. Cek / Draf Bank", p.ChequeNo},
		[2]string{"Tarikh Bayaran", dmy(p.PaymentDate)},
		[2]string{"Sebab", p.Reason},
		[2]string{"Pindaan", amendedNote(p.Amended)},
		[2]string{"ID Bayaran", p.ID},
	)

	d.section("Sejarah Status")
	d.f.SetFillColor(240, 240, 240)
	widths := []float64{12, 48, 28, bodyW - 88}
	d.tableHead([]cell{
		{w: widths[0], text: "Bil", style: "B", border: "1", fill: true, align: "C"},
		{w: widths[1], text: "Status", style: "B", border: "1", fill: true},
		{w: widths[2], text: "Tarikh", style: "B", border: "1", fill: true},
		{w: widths[3], text: "Butiran", style: "B", border: "1", fill: true},
	})
	for i, h := range p.History {
		d.row([]cell{
			{w: widths[0], text: fmt.Sprint(i + 1), border: "1", align: "C"},
			{w: widths[1], text: h.Label, border: "1"},
			{w: widths[2], text: dmy(h.Date), border: "1"},
			{w: widths[3], text: details(h), border: "1"},
		})
	}
	d.endTable()
	return d.output(w)
}

// details prints what a status entry carries besides its status and date.
func details(h payments.StatusEntry) string {
	var parts []string
	if h.EFTNo != "" {
		parts = append(parts, "No. EFT "+h.EFTNo)
	}
	if h.ChequeNo != "" {
		parts = append(parts, "No. Cek/Draf Bank "+h.ChequeNo)
	}
	if h.PaymentDate != "" {
		parts = append(parts, "Tarikh bayaran "+dmy(h.PaymentDate))
	}
	if h.Reason != "" {
		parts = append(parts, "Sebab: "+h.Reason)
	}
	return strings.Join(parts, "; ")
}

// amendedNote says the finance system corrected the payment's details
// after it was recorded; "" when it never did.
func amendedNote(times int) string {
	if times <= 0 {
		return ""
	}
	return fmt.Sprintf("Butiran dipinda oleh sistem kewangan (%d kali); laporan ini menunjukkan butiran terkini.", times)
}
