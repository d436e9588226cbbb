package demo

import (
	"fmt"
	"time"

	"github.com/melaka-gov/ispeks/domain/payment"
)

// demoPayment is a payment and the status moves that bring it to its
// demo status.
type demoPayment struct {
	id      string
	details payment.Details
	moves   []payment.Change
}

// routes are the legal move sequences from Diterima to each status.
var routes = map[payment.Status][]payment.Status{
	payment.Diterima:          nil,
	payment.DalamProses:       {payment.DalamProses},
	payment.Diluluskan:        {payment.DalamProses, payment.Diluluskan},
	payment.DihantarKeBank:    {payment.DalamProses, payment.Diluluskan, payment.DihantarKeBank},
	payment.DiterimaOlehBank:  {payment.DalamProses, payment.Diluluskan, payment.DihantarKeBank, payment.DiterimaOlehBank},
	payment.GagalDiprosesBank: {payment.DalamProses, payment.Diluluskan, payment.DihantarKeBank, payment.GagalDiprosesBank},
	payment.Dikeluarkan:       {payment.DalamProses, payment.Diluluskan, payment.Dikeluarkan},
	payment.Dibatalkan:        {payment.DalamProses, payment.Dibatalkan},
}

// resentAfterFailure: refused by the bank, sent again, then paid.
var resentAfterFailure = []payment.Status{payment.DalamProses, payment.Diluluskan, payment.DihantarKeBank,
	payment.GagalDiprosesBank, payment.DihantarKeBank, payment.DiterimaOlehBank}

// What the payments are for, per type.
var purposes = map[payment.Type][]string{
	payment.PendahuluanDiri: {
		"Pendahuluan Diri — perbelanjaan Majlis Sambutan Hari Kebangsaan peringkat jabatan",
		"Pendahuluan Diri — pembelian bahan bengkel pemurnian data aset",
	},
	payment.PendahuluanPerjalanan: {
		"Pendahuluan Perjalanan — Kursus Pengurusan Kewangan Kerajaan di INTAN Bukit Kiara, Kuala Lumpur (5 hari)",
		"Pendahuluan Perjalanan — Mesyuarat Jawatankuasa Teknikal di Putrajaya (3 hari)",
	},
	payment.PendahuluanPelbagai: {
		"Pendahuluan Pelbagai — yuran pendaftaran Seminar Perolehan Kerajaan 2026",
		"Pendahuluan Pelbagai — sewaan dewan Program Khidmat Masyarakat Alor Gajah",
	},
	payment.TuntutanPerjalanan: {
		"Tuntutan Perjalanan Dalam Negeri — lawatan tapak projek di Jasin dan Merlimau",
		"Tuntutan Perjalanan Dalam Negeri — mesyuarat di Kementerian Kewangan, Putrajaya",
	},
	payment.TuntutanLebihMasa: {
		"Tuntutan Kerja Lebih Masa — penyediaan Belanjawan Negeri",
		"Tuntutan Kerja Lebih Masa — operasi banjir di Pusat Pemindahan Sementara",
	},
	payment.TuntutanPelbagai: {
		"Tuntutan Pelbagai — bayaran balik yuran peperiksaan profesional",
		"Tuntutan Pelbagai — bayaran balik pembelian alat tulis mesyuarat",
	},
}

var deptCode = map[string]string{
	deptPerbendaharaan: "PNM", deptJKR: "JKR", deptPTG: "PTG", deptUPEN: "UPEN", deptJKM: "JKM",
	deptSUK: "SUK", deptPertanian: "JPN", deptJAIM: "JAIM", deptVeterinar: "JPV", deptPDT: "PDTMT",
}

type paymentPlan struct {
	who   int
	typ   payment.Type
	route []payment.Status
}

// paymentPlans: the first person has a payment in every status of both
// modules, and one claim that the bank refused, sent again and paid; each
// other person has one advance and one claim, their statuses spread over
// all statuses.
func paymentPlans() []paymentPlan {
	var plans []paymentPlan
	pend := payment.Types(payment.Pendahuluan)
	tunt := payment.Types(payment.Tuntutan)
	for i, s := range payment.Statuses() {
		plans = append(plans,
			paymentPlan{who: 0, typ: pend[i%len(pend)], route: routes[s]},
			paymentPlan{who: 0, typ: tunt[i%len(tunt)], route: routes[s]})
	}
	plans = append(plans, paymentPlan{who: 0, typ: payment.TuntutanPerjalanan, route: resentAfterFailure})
	all := payment.Statuses()
	for who := 1; who < len(staff); who++ {
		plans = append(plans,
			paymentPlan{who: who, typ: pend[who%len(pend)], route: routes[all[(who*5+1)%len(all)]]},
			paymentPlan{who: who, typ: tunt[who%len(tunt)], route: routes[all[(who*3)%len(all)]]})
	}
	return plans
}

// payments lists the demo payments as of today (a date in Melaka). Dates
// count back from today so the newest move is a few days old.
func payments(today time.Time) []demoPayment {
	plans := paymentPlans()
	out := make([]demoPayment, len(plans))
	seq := map[payment.Module]int{}
	for i, pl := range plans {
		m := staff[pl.who]
		module := pl.typ.Module()
		seq[module]++
		n := seq[module]
		prefix := "PDH"
		if module == payment.Tuntutan {
			prefix = "TNT"
		}
		// Older payments have gone further: 4 days per move, plus a spread.
		received := today.AddDate(0, 0, -(4*len(pl.route) + 3 + (i*5)%23))
		purpose := purposes[pl.typ][n%len(purposes[pl.typ])]
		amount := int64(150_00 + (i*37_711)%2_850_00)
		amount -= amount % 5
		dp := demoPayment{
			id: fmt.Sprintf("DEMO-%s-%04d", prefix, n),
			details: payment.Details{
				Module:       module,
				Type:         pl.typ,
				VoucherNo:    fmt.Sprintf("PV%s/%06d", received.Format("06"), 4_000+i*17),
				VoucherDate:  received.Format("2006-01-02"),
				Reference:    fmt.Sprintf("%s.MLK/KEW/100-2/%d Jld.%d(%d)", deptCode[m.Department], 3+i%4, 1+i%6, 10+i),
				Description:  purpose,
				AmountSen:    amount,
				PayeeIC:      m.IC,
				ReceivedDate: received.Format("2006-01-02"),
			},
		}
		day := received
		for k, to := range pl.route {
			day = day.AddDate(0, 0, 4)
			c := payment.Change{To: to, Date: day.Format("2006-01-02")}
			switch to {
			case payment.DiterimaOlehBank:
				c.EFTNo = fmt.Sprintf("EFT%s%05d", day.Format("060102"), 1_000+i*31+k)
				c.PaymentDate = c.Date
			case payment.Dikeluarkan:
				c.ChequeNo = fmt.Sprintf("CEK %06d", 412_000+i*7)
				c.PaymentDate = c.Date
			case payment.GagalDiprosesBank:
				c.Reason = "Ditolak oleh bank: nombor akaun penerima tidak sah atau telah ditutup"
			case payment.Dibatalkan:
				c.Reason = "Permohonan ditarik balik oleh pemohon"
			}
			dp.moves = append(dp.moves, c)
		}
		out[i] = dp
	}
	return out
}
