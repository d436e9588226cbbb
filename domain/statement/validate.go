package statement

import (
	"fmt"
	"strings"
	"time"

	"github.com/melaka-gov/ispeks/domain/calendar"
	"github.com/melaka-gov/ispeks/domain/mykad"
	"github.com/melaka-gov/ispeks/domain/textfield"
)

// Checked is content that Check found valid, cleaned as Normalize cleans
// it. Only Check makes one and nothing outside the package can change it,
// so IssueChecked does not check it again: a command that must look at the
// content before the statement decides (the payee's IC, against the
// employee master) checks it once, not twice.
type Checked struct{ c Content }

// Check is Normalize with its result sealed for IssueChecked.
func (c Content) Check(now time.Time) (Checked, error) {
	n, err := c.Normalize(now)
	if err != nil {
		return Checked{}, err
	}
	return Checked{c: n}, nil
}

// PayeeIC is the checked content's payee IC number (without dashes).
func (k Checked) PayeeIC() string { return k.c.Payee.IC }

// Normalize checks c and returns it cleaned: text trimmed, the IC without
// dashes, a weekly slip's year and month taken from its last day. Totals
// must equal the lines; money is integer sen and never negative.
func (c Content) Normalize(now time.Time) (Content, error) {
	if c.Type == "" {
		return c, fieldErr("type", "is required")
	}
	if !c.Type.Valid() {
		names := make([]string, 0, len(typeLabels))
		for _, t := range Types() {
			names = append(names, string(t))
		}
		return c, fieldErr("type", "unknown statement type %q; one of %s", textfield.Clip(string(c.Type)), strings.Join(names, ", "))
	}
	var err error
	if c.Period, err = c.Period.normalize(c.Type, now); err != nil {
		return c, err
	}
	if c.Payee, err = c.Payee.normalize(); err != nil {
		return c, err
	}
	if c.Employer, err = c.Employer.normalize(); err != nil {
		return c, err
	}
	if c.Earnings, err = lines("earnings", c.Earnings, true); err != nil {
		return c, err
	}
	if c.Deductions, err = lines("deductions", c.Deductions, false); err != nil {
		return c, err
	}
	if err := c.checkTotals(); err != nil {
		return c, err
	}
	if c.PayDate, err = date("pay_date", c.PayDate, now, false); err != nil {
		return c, err
	}
	return c, nil
}

// LatestYear is the latest year a statement's period may fall in at now:
// the next one in Melaka, since a weekly slip issued in December may end in
// January. The pages and the API offer statements by year up to it, so
// every statement the log accepts can be found by its year.
func LatestYear(now time.Time) int { return now.In(calendar.Melaka).Year() + 1 }

func (p Period) normalize(t Type, now time.Time) (Period, error) {
	latest := LatestYear(now)
	year := func(y int) error {
		if y == 0 {
			return fieldErr("period.year", "is required")
		}
		if y < earliestYear || y > latest {
			return fieldErr("period.year", "must be from %d to %d", earliestYear, latest)
		}
		return nil
	}
	switch t {
	case SlipGajiMingguan:
		var err error
		if p.From, err = date("period.from", p.From, now, true); err != nil {
			return p, err
		}
		if p.To, err = date("period.to", p.To, now, true); err != nil {
			return p, err
		}
		from, _ := time.Parse(dateLayout, p.From)
		to, _ := time.Parse(dateLayout, p.To)
		if to.Before(from) {
			return p, fieldErr("period.to", "is before period.from")
		}
		if to.Sub(from) > maxWeeklySpan*24*time.Hour {
			return p, fieldErr("period.to", "a weekly slip covers at most 7 days")
		}
		if p.Year != 0 && p.Year != to.Year() {
			return p, fieldErr("period.year", "is %d but period.to is in %d", p.Year, to.Year())
		}
		if p.Month != 0 && p.Month != int(to.Month()) {
			return p, fieldErr("period.month", "is %d but period.to is in month %d", p.Month, int(to.Month()))
		}
		p.Year, p.Month = to.Year(), int(to.Month())
		if err := year(p.Year); err != nil {
			return p, err
		}
	case PenyataPendapatanTahunan:
		if err := year(p.Year); err != nil {
			return p, err
		}
		if p.Month != 0 {
			return p, fieldErr("period.month", "is not given for an annual statement")
		}
		if p.From != "" || p.To != "" {
			return p, fieldErr("period.from", "is not given for an annual statement (give period.year)")
		}
	default:
		if err := year(p.Year); err != nil {
			return p, err
		}
		if p.Month == 0 {
			return p, fieldErr("period.month", "is required")
		}
		if p.Month < 1 || p.Month > 12 {
			return p, fieldErr("period.month", "must be from 1 to 12")
		}
		if p.From != "" || p.To != "" {
			return p, fieldErr("period.from", "is only given for weekly slips (give period.year and period.month)")
		}
	}
	return p, nil
}

func (p Payee) normalize() (Payee, error) {
	ic, err := mykad.Parse(p.IC)
	if err != nil {
		return p, fieldErr("payee.ic", "%s", strings.TrimPrefix(err.Error(), "mykad: "))
	}
	p.IC = ic.String()
	fields := []struct {
		name     string
		v        *string
		max      int
		required bool
	}{
		{"payee.name", &p.Name, MaxName, true},
		{"payee.staff_no", &p.StaffNo, MaxText, true},
		{"payee.pay_no", &p.PayNo, MaxText, false},
		{"payee.department", &p.Department, MaxText, true},
		{"payee.post", &p.Post, MaxText, true},
		{"payee.grade", &p.Grade, MaxText, false},
		{"payee.bank_name", &p.BankName, MaxText, false},
		{"payee.bank_account", &p.BankAccount, MaxText, false},
		{"payee.tax_no", &p.TaxNo, MaxText, false},
		{"payee.epf_no", &p.EPFNo, MaxText, false},
	}
	for _, f := range fields {
		if *f.v, err = text(f.name, *f.v, f.max, f.required); err != nil {
			return p, err
		}
	}
	return p, nil
}

func (e Employer) normalize() (Employer, error) {
	var err error
	if e.Name, err = text("employer.name", e.Name, MaxName, true); err != nil {
		return e, err
	}
	if e.Department, err = text("employer.department", e.Department, MaxName, false); err != nil {
		return e, err
	}
	if e.Address, err = text("employer.address", e.Address, 2*MaxName, false); err != nil {
		return e, err
	}
	if e.EmployerNo, err = text("employer.employer_no", e.EmployerNo, MaxText, false); err != nil {
		return e, err
	}
	return e, nil
}

func lines(field string, ls []Line, required bool) ([]Line, error) {
	if len(ls) == 0 {
		if required {
			return nil, fieldErr(field, "at least one line is required")
		}
		return nil, nil
	}
	if len(ls) > MaxLines {
		return nil, fieldErr(field, "has %d lines (at most %d)", len(ls), MaxLines)
	}
	out := make([]Line, len(ls))
	for i, l := range ls {
		// The field's path is only spelled out for an error: formatting it
		// for every line of every slip cost more than checking the line.
		at := func(member string) string { return fmt.Sprintf("%s[%d].%s", field, i, member) }
		var reason string
		if l.Code, reason = textfield.Check(l.Code, 16, false); reason != "" {
			return nil, fieldErr(at("code"), "%s", reason)
		}
		if l.Name, reason = textfield.Check(l.Name, 80, true); reason != "" {
			return nil, fieldErr(at("name"), "%s", reason)
		}
		switch {
		case l.AmountSen < 0:
			return nil, fieldErr(at("amount_sen"), "must not be negative")
		case l.AmountSen > MaxLineSen:
			return nil, fieldErr(at("amount_sen"), "is larger than %d sen", MaxLineSen)
		}
		out[i] = l
	}
	return out, nil
}

func sum(ls []Line) int64 {
	var s int64
	for _, l := range ls {
		s += l.AmountSen
	}
	return s
}

func (c Content) checkTotals() error {
	t := c.Totals
	for _, v := range []struct {
		field string
		sen   int64
	}{{"totals.earnings_sen", t.EarningsSen}, {"totals.deductions_sen", t.DeductionsSen}, {"totals.net_sen", t.NetSen}} {
		if v.sen < 0 {
			return fieldErr(v.field, "must not be negative")
		}
	}
	if s := sum(c.Earnings); t.EarningsSen != s {
		return fieldErr("totals.earnings_sen", "is %d but the earnings lines add up to %d", t.EarningsSen, s)
	}
	if s := sum(c.Deductions); t.DeductionsSen != s {
		return fieldErr("totals.deductions_sen", "is %d but the deduction lines add up to %d", t.DeductionsSen, s)
	}
	if net := t.EarningsSen - t.DeductionsSen; t.NetSen != net {
		if net < 0 {
			return fieldErr("totals.net_sen", "deductions (%d) exceed earnings (%d): the net cannot be negative", t.DeductionsSen, t.EarningsSen)
		}
		return fieldErr("totals.net_sen", "is %d but earnings minus deductions is %d", t.NetSen, net)
	}
	return nil
}

func text(field, v string, max int, required bool) (string, error) {
	v, reason := textfield.Check(v, max, required)
	if reason != "" {
		return "", fieldErr(field, "%s", reason)
	}
	return v, nil
}

func date(field, v string, now time.Time, required bool) (string, error) {
	v, reason := calendar.Check(v, now, earliestYear, required)
	if reason != "" {
		return "", fieldErr(field, "%s", reason)
	}
	return v, nil
}
