package demo

import (
	"fmt"
	"time"

	"github.com/melaka-gov/ispeks/domain/statement"
)

// Statements of the demo are computed from each person's pay (staff.go) by
// the rules below, so a month's slip is the same whenever it is computed:
// a demo loaded again later only adds the months that have passed since.
// The figures are plausible for the Malaysian public service (basic pay by
// grade, ITKA, ITP, COLA; PCB from the resident tax bands, KWSP 11 % for
// members, PERKESO, zakat, ANGKASA, LPPSA), not an official calculation.

// baseYear is the year whose basic pay staff.go gives; other years differ
// by the yearly increment.
const baseYear = 2025

var employer = statement.Employer{
	Name:       "Kerajaan Negeri Melaka",
	Address:    "Seri Negeri, Hang Tuah Jaya, 75450 Ayer Keroh, Melaka",
	EmployerNo: "E 0912-3456",
}

func (m member) payee() statement.Payee {
	return statement.Payee{
		IC: m.IC, Name: m.Name, StaffNo: m.StaffNumber, PayNo: m.pay.payNo, Department: m.Department, Post: m.Post,
		Grade: m.pay.grade, BankName: m.pay.bank, BankAccount: m.pay.account, TaxNo: m.pay.taxNo, EPFNo: m.pay.epfNo,
	}
}

func (m member) employer() statement.Employer {
	e := employer
	e.Department = m.Department
	return e
}

func (m member) basic(year int) int64 {
	return m.pay.basicSen + m.pay.increment*int64(year-baseYear)
}

// monthPay is the pay of one month: earnings, deductions and what feeds the
// annual statement.
type monthPay struct {
	basic, allowances int64
	kwsp, perkeso     int64
	pcb, zakat        int64
	earnings          []statement.Line
	deductions        []statement.Line
}

func (m member) month(year int) monthPay {
	p := m.pay
	var mo monthPay
	mo.basic = m.basic(year)
	mo.allowances = p.itka + p.itp + p.cola
	mo.earnings = []statement.Line{
		{Code: "GP", Name: "Gaji Pokok", AmountSen: mo.basic},
		{Code: "ITKA", Name: "Imbuhan Tetap Khidmat Awam (ITKA)", AmountSen: p.itka},
		{Code: "ITP", Name: "Imbuhan Tetap Perumahan (ITP)", AmountSen: p.itp},
		{Code: "COLA", Name: "Bantuan Sara Hidup (COLA)", AmountSen: p.cola},
	}
	gross := mo.basic + mo.allowances
	if p.kwsp {
		mo.kwsp = kwspShare(gross)
		mo.perkeso = perkesoShare(gross)
	}
	mo.zakat = p.zakat
	mo.pcb = max(monthlyTax(gross, mo.kwsp)-mo.zakat, 0)
	mo.deductions = deductions(mo.pcb, mo.kwsp, mo.perkeso, mo.zakat, p.angkasa, p.lppsa)
	return mo
}

func deductions(pcb, kwsp, perkeso, zakat, angkasa, lppsa int64) []statement.Line {
	var out []statement.Line
	add := func(code, name string, sen int64) {
		if sen > 0 {
			out = append(out, statement.Line{Code: code, Name: name, AmountSen: sen})
		}
	}
	add("PCB", "Potongan Cukai Bulanan (PCB)", pcb)
	add("KWSP", "Caruman KWSP (11%)", kwsp)
	add("PERKESO", "Caruman PERKESO (SOCSO dan SIP)", perkeso)
	add("ZAKAT", "Zakat Pendapatan (Majlis Agama Islam Melaka)", zakat)
	add("ANGKASA", "Potongan ANGKASA (Koperasi Kakitangan Kerajaan Negeri Melaka)", angkasa)
	add("LPPSA", "Pembiayaan Perumahan (LPPSA)", lppsa)
	return out
}

// kwspShare is the employee's 11 %, rounded up to the ringgit as the
// KWSP table does.
func kwspShare(gross int64) int64 {
	c := gross * 11 / 100
	return (c + 99) / 100 * 100
}

// perkesoShare is the employee's SOCSO (0.5 %) and EIS (0.2 %) on wages up
// to the RM 6,000 ceiling.
func perkesoShare(gross int64) int64 {
	return (min(gross, 6_000_00)*7 + 500) / 1000
}

// annualTax is the resident individual's tax in sen on chargeable income
// (in sen), with the RM 400 rebate up to RM 35,000.
func annualTax(chargeable int64) int64 {
	bands := []struct {
		upTo int64 // sen
		rate int64 // percent
	}{{5_000_00, 0}, {20_000_00, 1}, {35_000_00, 3}, {50_000_00, 6}, {70_000_00, 11}, {100_000_00, 19}, {400_000_00, 25}, {1 << 62, 26}}
	var tax, low int64
	for _, b := range bands {
		if chargeable <= low {
			break
		}
		tax += (min(chargeable, b.upTo) - low) * b.rate / 100
		low = b.upTo
	}
	if chargeable <= 35_000_00 {
		tax = max(tax-400_00, 0)
	}
	return tax
}

// chargeable is a year's income less the individual relief and the KWSP
// relief (at most RM 4,000).
func chargeable(annualGross, annualKWSP int64) int64 {
	return max(annualGross-9_000_00-min(annualKWSP, 4_000_00), 0)
}

// monthlyTax is the PCB of a month, by twelfths, rounded down to 5 sen.
func monthlyTax(gross, kwsp int64) int64 {
	t := annualTax(chargeable(gross*12, kwsp*12)) / 12
	return t - t%5
}

func sum(ls []statement.Line) int64 {
	var s int64
	for _, l := range ls {
		s += l.AmountSen
	}
	return s
}

func content(t statement.Type, p statement.Period, m member, earnings, deductions []statement.Line, payDate string) statement.Content {
	e, d := sum(earnings), sum(deductions)
	return statement.Content{
		Type: t, Period: p, Payee: m.payee(), Employer: m.employer(),
		Earnings: earnings, Deductions: deductions,
		Totals:  statement.Totals{EarningsSen: e, DeductionsSen: d, NetSen: e - d},
		PayDate: payDate,
	}
}

// demoStatement is one statement to issue.
type demoStatement struct {
	id      string
	content statement.Content
}

func ymd(y int, m time.Month, d int) string {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
}

// slipMonthly is the Slip Gaji Bulanan of a month, paid on the 25th.
func (m member) slipMonthly(y int, mo time.Month) demoStatement {
	pay := m.month(y)
	return demoStatement{
		id:      fmt.Sprintf("DEMO-SGB-%s-%04d-%02d", m.StaffNumber, y, int(mo)),
		content: content(statement.SlipGajiBulanan, statement.Period{Year: y, Month: int(mo)}, m, pay.earnings, pay.deductions, ymd(y, mo, 25)),
	}
}

// bonus is the state's year-end bonus, half a month's basic pay with a
// floor of RM 1,000, paid on 15 December.
func (m member) bonusAmount(y int) int64 { return max(m.basic(y)/2, 1_000_00) }

func (m member) bonusTax(y int) int64 {
	pay := m.month(y)
	gross := (pay.basic + pay.allowances) * 12
	base := annualTax(chargeable(gross, pay.kwsp*12))
	with := annualTax(chargeable(gross+m.bonusAmount(y), pay.kwsp*12))
	t := with - base
	return t - t%5
}

func (m member) bonusKWSP(y int) int64 {
	if !m.pay.kwsp {
		return 0
	}
	return kwspShare(m.bonusAmount(y))
}

func (m member) bonus(y int) demoStatement {
	amount := m.bonusAmount(y)
	earn := []statement.Line{{Code: "BONUS", Name: fmt.Sprintf("Bonus Kerajaan Negeri Melaka %d (1/2 bulan gaji, minimum RM1,000)", y), AmountSen: amount}}
	ded := deductions(m.bonusTax(y), m.bonusKWSP(y), 0, 0, 0, 0)
	return demoStatement{
		id:      fmt.Sprintf("DEMO-BNS-%s-%04d", m.StaffNumber, y),
		content: content(statement.Bonus, statement.Period{Year: y, Month: 12}, m, earn, ded, ymd(y, time.December, 15)),
	}
}

// bantuanKhas is the Bantuan Khas Kewangan before Hari Raya Aidilfitri,
// paid on 10 March, tax-exempt: RM 500 (RM 250 for part-time staff).
func (m member) bantuanKhasAmount() int64 {
	if m.pay.kind == parttime {
		return 250_00
	}
	return 500_00
}

func (m member) bantuanKhas(y int) demoStatement {
	earn := []statement.Line{{Code: "BKK", Name: fmt.Sprintf("Bantuan Khas Kewangan Sempena Aidilfitri %d", y), AmountSen: m.bantuanKhasAmount()}}
	return demoStatement{
		id:      fmt.Sprintf("DEMO-BKK-%s-%04d", m.StaffNumber, y),
		content: content(statement.BantuanKhas, statement.Period{Year: y, Month: 3}, m, earn, nil, ymd(y, time.March, 10)),
	}
}

// annual is the Penyata Pendapatan Tahunan (Borang EC) of a year: the sums
// of that year's monthly pay, bonus and special aid.
func (m member) annual(y int) demoStatement {
	pay := m.month(y)
	earn := []statement.Line{
		{Code: "GAJI", Name: "Gaji kasar, upah atau gaji cuti", AmountSen: pay.basic * 12},
		{Code: "ELAUN", Name: "Elaun, perkuisit dan imbuhan (ITKA, ITP, COLA)", AmountSen: pay.allowances * 12},
		{Code: "BONUS", Name: "Bonus", AmountSen: m.bonusAmount(y)},
		{Code: "BKK", Name: "Bantuan Khas Kewangan (dikecualikan cukai)", AmountSen: m.bantuanKhasAmount()},
	}
	ded := []statement.Line{
		{Code: "PCB", Name: "Potongan Cukai Bulanan (PCB) yang dibayar kepada LHDNM", AmountSen: pay.pcb*12 + m.bonusTax(y)},
	}
	if pay.kwsp > 0 {
		ded = append(ded, statement.Line{Code: "KWSP", Name: "Caruman pekerja kepada KWSP", AmountSen: pay.kwsp*12 + m.bonusKWSP(y)})
		ded = append(ded, statement.Line{Code: "PERKESO", Name: "Caruman pekerja kepada PERKESO", AmountSen: pay.perkeso * 12})
	}
	if pay.zakat > 0 {
		ded = append(ded, statement.Line{Code: "ZAKAT", Name: "Zakat yang dibayar melalui potongan gaji", AmountSen: pay.zakat * 12})
	}
	return demoStatement{
		id:      fmt.Sprintf("DEMO-EC-%s-%04d", m.StaffNumber, y),
		content: content(statement.PenyataPendapatanTahunan, statement.Period{Year: y}, m, earn, ded, ""),
	}
}

// weekly is the Slip Gaji Mingguan of the week starting on monday (a
// Monday): six working days, overtime in some weeks, paid the Friday after.
func (m member) weekly(monday time.Time) demoStatement {
	p := m.pay
	from, to := monday, monday.AddDate(0, 0, 6)
	_, week := monday.ISOWeek()
	earn := []statement.Line{{Code: "UPAH", Name: fmt.Sprintf("Upah harian (6 hari x RM%s)", ringgit(p.dailySen)), AmountSen: 6 * p.dailySen}}
	if ot := int64(week%3) * 2; ot > 0 {
		rate := p.dailySen / 8 * 3 / 2 // 1.5 times the hourly rate
		earn = append(earn, statement.Line{Code: "OT", Name: fmt.Sprintf("Kerja lebih masa (%d jam x RM%s)", ot, ringgit(rate)), AmountSen: ot * rate})
	}
	gross := sum(earn)
	ded := deductions(0, kwspShare(gross), perkesoShare(gross), 0, 0, 0)
	return demoStatement{
		id: fmt.Sprintf("DEMO-SGM-%s-%s", m.StaffNumber, from.Format("2006-01-02")),
		content: content(statement.SlipGajiMingguan, statement.Period{From: from.Format("2006-01-02"), To: to.Format("2006-01-02")},
			m, earn, ded, to.AddDate(0, 0, 5).Format("2006-01-02")),
	}
}

// parttime is the Slip Gaji Sambilan of a month: hours worked at the
// hourly rate, paid on the 28th.
func (m member) parttime(y int, mo time.Month) demoStatement {
	p := m.pay
	hours := 60 + int64((int(mo)*7+y)%25)
	earn := []statement.Line{{Code: "UPAH", Name: fmt.Sprintf("Upah sambilan (%d jam x RM%s)", hours, ringgit(p.hourlySen)), AmountSen: hours * p.hourlySen}}
	gross := sum(earn)
	ded := deductions(0, kwspShare(gross), perkesoShare(gross), 0, 0, 0)
	return demoStatement{
		id:      fmt.Sprintf("DEMO-SGS-%s-%04d-%02d", m.StaffNumber, y, int(mo)),
		content: content(statement.SlipGajiSambilan, statement.Period{Year: y, Month: int(mo)}, m, earn, ded, ymd(y, mo, 28)),
	}
}

func ringgit(sen int64) string { return fmt.Sprintf("%d.%02d", sen/100, sen%100) }

// Window sizes of the demo.
const (
	monthlySlips  = 18 // months of Slip Gaji Bulanan
	weeklySlips   = 10 // weeks of Slip Gaji Mingguan
	parttimeSlips = 6  // months of Slip Gaji Sambilan
	annualYears   = 3  // years of Penyata Pendapatan Tahunan
	yearlyPayouts = 2  // years of bonus and Bantuan Khas
)

// statements lists every statement of the demo as of today (a date in
// Melaka): only periods already paid.
func statements(today time.Time) []demoStatement {
	var out []demoStatement
	// The month's slip is paid on the 25th.
	lastMonth := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
	if today.Day() < 25 {
		lastMonth = lastMonth.AddDate(0, -1, 0)
	}
	for _, m := range staff {
		switch m.pay.kind {
		case monthly:
			for i := monthlySlips - 1; i >= 0; i-- {
				t := lastMonth.AddDate(0, -i, 0)
				out = append(out, m.slipMonthly(t.Year(), t.Month()))
			}
			// Borang EC of year Y is issued by the end of February of Y+1.
			ecLast := today.Year() - 1
			if today.Month() < time.March {
				ecLast--
			}
			for y := ecLast - annualYears + 1; y <= ecLast; y++ {
				out = append(out, m.annual(y))
			}
			for y := today.Year() - yearlyPayouts; y <= today.Year(); y++ {
				if !today.Before(time.Date(y, time.December, 15, 0, 0, 0, 0, time.UTC)) {
					out = append(out, m.bonus(y))
				}
			}
		case weekly:
			// Weeks whose pay day (the Friday after) has come.
			monday := today.AddDate(0, 0, -(int(today.Weekday())+6)%7) // this week's Monday
			n := 0
			for w := monday; n < weeklySlips; w = w.AddDate(0, 0, -7) {
				if w.AddDate(0, 0, 11).After(today) {
					continue
				}
				out = append(out, m.weekly(w))
				n++
			}
		case parttime:
			last := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
			if today.Day() < 28 {
				last = last.AddDate(0, -1, 0)
			}
			for i := parttimeSlips - 1; i >= 0; i-- {
				t := last.AddDate(0, -i, 0)
				out = append(out, m.parttime(t.Year(), t.Month()))
			}
		}
		for y := today.Year() - yearlyPayouts; y <= today.Year(); y++ {
			if !today.Before(time.Date(y, time.March, 10, 0, 0, 0, 0, time.UTC)) {
				out = append(out, m.bantuanKhas(y))
			}
		}
	}
	return out
}
