package statement_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/statement"
)

var now = time.Date(2025, 3, 10, 2, 0, 0, 0, time.UTC)

func cmd(n int) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(n), byte(n >> 8)}) }

func slip() statement.Content {
	return statement.Content{
		Type:   statement.SlipGajiBulanan,
		Period: statement.Period{Year: 2025, Month: 2},
		Payee: statement.Payee{
			IC: "880101-04-5678", Name: "Siti Nurhaliza binti Ahmad", StaffNo: "MLK00123",
			Department: "Jabatan Kewangan dan Perbendaharaan Negeri Melaka", Post: "Pegawai Kewangan", Grade: "WA41",
		},
		Employer: statement.Employer{Name: "Kerajaan Negeri Melaka", Department: "Perbendaharaan Negeri"},
		Earnings: []statement.Line{
			{Code: "0001", Name: "Gaji Pokok", AmountSen: 456789},
			{Code: "1001", Name: "ITKA", AmountSen: 30000},
			{Code: "1002", Name: "COLA", AmountSen: 35000},
		},
		Deductions: []statement.Line{
			{Code: "PCB", Name: "PCB", AmountSen: 21000},
			{Code: "KWSP", Name: "KWSP", AmountSen: 50246},
			{Code: "ZKT", Name: "Zakat", AmountSen: 0},
		},
		Totals:  statement.Totals{EarningsSen: 521789, DeductionsSen: 71246, NetSen: 450543},
		PayDate: "2025-02-25",
	}
}

func issued(t *testing.T) *statement.Statement {
	t.Helper()
	c, err := slip().Normalize(now)
	if err != nil {
		t.Fatal(err)
	}
	s := statement.New()
	if err := s.Apply(statement.Issued{StatementID: "S1", CommandID: cmd(0).String(), Content: c}); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIssue(t *testing.T) {
	s := statement.New()
	if err := s.Issue("S1", cmd(1), slip(), now); err != nil {
		t.Fatal(err)
	}
	ev := s.Uncommitted()
	if len(ev) != 1 {
		t.Fatalf("%v", ev)
	}
	is := ev[0].(statement.Issued)
	if is.Payee.IC != "880101045678" || is.StatementID != "S1" || s.Revision() != 1 {
		t.Fatalf("%+v", is)
	}
}

// TestIssueChecked: given content Check accepted, when the statement is
// issued with it, then it records what Issue records; a Checked that Check
// did not make (the zero value) is refused, and Check refuses what
// Normalize refuses.
func TestIssueChecked(t *testing.T) {
	k, err := slip().Check(now)
	if err != nil {
		t.Fatal(err)
	}
	if k.PayeeIC() != "880101045678" {
		t.Fatalf("payee IC %q", k.PayeeIC())
	}
	viaCheck, viaIssue := statement.New(), statement.New()
	if err := viaCheck.IssueChecked("S1", cmd(1), k); err != nil {
		t.Fatal(err)
	}
	if err := viaIssue.Issue("S1", cmd(1), slip(), now); err != nil {
		t.Fatal(err)
	}
	a, b := viaCheck.Uncommitted(), viaIssue.Uncommitted()
	if len(a) != 1 || len(b) != 1 || !a[0].(statement.Issued).Content.Equal(b[0].(statement.Issued).Content) {
		t.Fatalf("IssueChecked %+v, Issue %+v", a, b)
	}
	var fe *statement.FieldError
	if err := statement.New().IssueChecked("S2", cmd(2), statement.Checked{}); !errors.As(err, &fe) || fe.Field != "type" {
		t.Fatalf("zero Checked: %v", err)
	}
	bad := slip()
	bad.Totals.NetSen++
	if _, err := bad.Check(now); !errors.As(err, &fe) || fe.Field != "totals.net_sen" {
		t.Fatalf("bad totals: %v", err)
	}
}

func TestIssueRepeatIsNoOp(t *testing.T) {
	s := issued(t)
	for _, c := range []uuid.UUID{cmd(0), cmd(5)} {
		if err := s.Issue("S1", c, slip(), now); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.Uncommitted()) != 0 {
		t.Fatal("repeat recorded events")
	}
	c := slip()
	c.Payee.Post = "Akauntan"
	if err := s.Issue("S1", cmd(6), c, now); !errors.Is(err, statement.ErrAlreadyIssued) {
		t.Fatal(err)
	}
}

func TestEveryTypePeriod(t *testing.T) {
	ok := map[statement.Type]statement.Period{
		statement.SlipGajiBulanan:          {Year: 2025, Month: 1},
		statement.SlipGajiMingguan:         {From: "2024-12-30", To: "2025-01-05"},
		statement.SlipGajiSambilan:         {Year: 2025, Month: 2},
		statement.Bonus:                    {Year: 2024, Month: 12},
		statement.BantuanKhas:              {Year: 2025, Month: 3},
		statement.PenyataPendapatanTahunan: {Year: 2024},
	}
	labels := map[statement.Type]string{
		statement.SlipGajiBulanan:          "Januari 2025",
		statement.SlipGajiMingguan:         "30/12/2024 - 05/01/2025",
		statement.SlipGajiSambilan:         "Februari 2025",
		statement.Bonus:                    "Disember 2024",
		statement.BantuanKhas:              "Mac 2025",
		statement.PenyataPendapatanTahunan: "Tahun 2024",
	}
	ends := map[statement.Type]int64{
		statement.SlipGajiBulanan: 20250131, statement.SlipGajiMingguan: 20250105, statement.SlipGajiSambilan: 20250228,
		statement.Bonus: 20241231, statement.BantuanKhas: 20250331, statement.PenyataPendapatanTahunan: 20241231,
	}
	for _, typ := range statement.Types() {
		c := slip()
		c.Type, c.Period = typ, ok[typ]
		s := statement.New()
		if err := s.Issue("S-"+string(typ), cmd(1), c, now); err != nil {
			t.Errorf("%s: %v", typ, err)
			continue
		}
		p := s.Content().Period
		if p.Label() != labels[typ] || p.End() != ends[typ] {
			t.Errorf("%s: label %q end %d", typ, p.Label(), p.End())
		}
	}
	// The weekly slip takes year and month from its last day.
	c := slip()
	c.Type, c.Period = statement.SlipGajiMingguan, ok[statement.SlipGajiMingguan]
	n, err := c.Normalize(now)
	if err != nil || n.Period.Year != 2025 || n.Period.Month != 1 {
		t.Fatalf("%v %+v", err, n.Period)
	}
}

func TestValidation(t *testing.T) {
	cases := []struct {
		field string
		edit  func(*statement.Content)
	}{
		{"type", func(c *statement.Content) { c.Type = "" }},
		{"type", func(c *statement.Content) { c.Type = "slip-gaji-harian" }},
		{"period.year", func(c *statement.Content) { c.Period.Year = 0 }},
		{"period.year", func(c *statement.Content) { c.Period.Year = 1989 }},
		{"period.year", func(c *statement.Content) { c.Period.Year = 2027 }},
		{"period.month", func(c *statement.Content) { c.Period.Month = 0 }},
		{"period.month", func(c *statement.Content) { c.Period.Month = 13 }},
		{"period.from", func(c *statement.Content) { c.Period.From = "2025-02-01" }},
		{"period.month", func(c *statement.Content) { c.Type = statement.PenyataPendapatanTahunan }},
		{"period.from", func(c *statement.Content) {
			c.Type, c.Period = statement.PenyataPendapatanTahunan, statement.Period{Year: 2024, From: "2024-01-01"}
		}},
		{"period.from", func(c *statement.Content) {
			c.Type, c.Period = statement.SlipGajiMingguan, statement.Period{To: "2025-01-05"}
		}},
		{"period.to", func(c *statement.Content) {
			c.Type, c.Period = statement.SlipGajiMingguan, statement.Period{From: "2025-01-05", To: "2025-01-04"}
		}},
		{"period.to", func(c *statement.Content) {
			c.Type, c.Period = statement.SlipGajiMingguan, statement.Period{From: "2025-01-01", To: "2025-01-08"}
		}},
		{"period.month", func(c *statement.Content) {
			c.Type, c.Period = statement.SlipGajiMingguan, statement.Period{Month: 2, From: "2025-01-01", To: "2025-01-07"}
		}},
		{"payee.ic", func(c *statement.Content) { c.Payee.IC = "12345" }},
		{"payee.name", func(c *statement.Content) { c.Payee.Name = " " }},
		{"payee.name", func(c *statement.Content) { c.Payee.Name = strings.Repeat("a", 151) }},
		{"payee.staff_no", func(c *statement.Content) { c.Payee.StaffNo = "" }},
		{"payee.department", func(c *statement.Content) { c.Payee.Department = "" }},
		{"payee.post", func(c *statement.Content) { c.Payee.Post = "" }},
		{"payee.bank_account", func(c *statement.Content) { c.Payee.BankAccount = "12\n34" }},
		{"employer.name", func(c *statement.Content) { c.Employer.Name = "" }},
		{"earnings", func(c *statement.Content) { c.Earnings = nil }},
		{"earnings", func(c *statement.Content) { c.Earnings = make([]statement.Line, 61) }},
		{"earnings[1].name", func(c *statement.Content) { c.Earnings[1].Name = "" }},
		{"earnings[0].amount_sen", func(c *statement.Content) { c.Earnings[0].AmountSen = -1 }},
		{"deductions[2].amount_sen", func(c *statement.Content) { c.Deductions[2].AmountSen = -100 }},
		{"earnings[2].amount_sen", func(c *statement.Content) { c.Earnings[2].AmountSen = statement.MaxLineSen + 1 }},
		{"totals.earnings_sen", func(c *statement.Content) { c.Totals.EarningsSen++ }},
		{"totals.deductions_sen", func(c *statement.Content) { c.Totals.DeductionsSen-- }},
		{"totals.net_sen", func(c *statement.Content) { c.Totals.NetSen += 1 }},
		{"totals.net_sen", func(c *statement.Content) { c.Totals.NetSen = -1 }},
		{"totals.net_sen", func(c *statement.Content) {
			c.Deductions = []statement.Line{{Name: "Pinjaman", AmountSen: 600000}}
			c.Totals = statement.Totals{EarningsSen: 521789, DeductionsSen: 600000, NetSen: 0}
		}},
		{"pay_date", func(c *statement.Content) { c.PayDate = "25-02-2025" }},
	}
	for _, tc := range cases {
		c := slip()
		tc.edit(&c)
		s := statement.New()
		err := s.Issue("S1", cmd(1), c, now)
		var fe *statement.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || fe.Reason == "" || !errors.Is(err, statement.ErrInvalid) {
			t.Errorf("%s: got %v", tc.field, err)
		}
		if len(s.Uncommitted()) != 0 {
			t.Errorf("%s: issued despite error", tc.field)
		}
	}
	for _, id := range []string{"", ".x", "a b", strings.Repeat("1", 65)} {
		var fe *statement.FieldError
		if err := statement.New().Issue(id, cmd(1), slip(), now); !errors.As(err, &fe) || fe.Field != "statement_id" {
			t.Errorf("id %q: %v", id, err)
		}
	}
}

func TestTotalsErrorNamesTheSum(t *testing.T) {
	c := slip()
	c.Totals.EarningsSen = 500000
	err := statement.New().Issue("S1", cmd(1), c, now)
	if err == nil || !strings.Contains(err.Error(), "521789") {
		t.Fatalf("%v", err)
	}
}

func TestCorrect(t *testing.T) {
	s := issued(t)
	c := slip()
	c.Earnings[0].AmountSen += 1000
	c.Totals.EarningsSen += 1000
	c.Totals.NetSen += 1000
	if err := s.Correct(cmd(2), c, "Kenaikan gaji tertunggak", now); err != nil {
		t.Fatal(err)
	}
	ev := s.Uncommitted()
	if len(ev) != 1 {
		t.Fatal(ev)
	}
	cor := ev[0].(statement.Corrected)
	if cor.Revision != 2 || cor.Reason != "Kenaikan gaji tertunggak" || s.Content().Totals.NetSen != 451543 || s.Revision() != 2 {
		t.Fatalf("%+v", cor)
	}
	// The same command again changes nothing; so does the same content
	// under another command, which records only that it ran.
	if err := s.Correct(cmd(2), c, "Kenaikan gaji tertunggak", now); err != nil {
		t.Fatal(err)
	}
	if len(s.Uncommitted()) != 1 {
		t.Fatal("repeat recorded")
	}
	if err := s.Correct(cmd(3), c, "again", now); err != nil {
		t.Fatal(err)
	}
	if ev := s.Uncommitted(); len(ev) != 2 || s.Revision() != 2 {
		t.Fatalf("same content: %d events, revision %d", len(ev), s.Revision())
	} else if u, ok := ev[1].(statement.CorrectionUnchanged); !ok || u.CommandID != cmd(3).String() {
		t.Fatalf("same content recorded %+v", ev[1])
	}
}

func TestCorrectRefusals(t *testing.T) {
	if err := statement.New().Correct(cmd(1), slip(), "r", now); !errors.Is(err, statement.ErrNotIssued) {
		t.Fatal(err)
	}
	s := issued(t)
	var fe *statement.FieldError
	c := slip()
	c.Payee.IC = "900202-05-1234"
	if err := s.Correct(cmd(2), c, "r", now); !errors.As(err, &fe) || fe.Field != "payee.ic" {
		t.Fatal(err)
	}
	c = slip()
	c.Type = statement.SlipGajiSambilan
	if err := s.Correct(cmd(2), c, "r", now); !errors.As(err, &fe) || fe.Field != "type" {
		t.Fatal(err)
	}
	c = slip()
	c.Payee.Post = "Akauntan"
	if err := s.Correct(cmd(2), c, "", now); !errors.As(err, &fe) || fe.Field != "reason" {
		t.Fatal(err)
	}
	c.Totals.NetSen = 1
	if err := s.Correct(cmd(2), c, "r", now); !errors.As(err, &fe) || fe.Field != "totals.net_sen" {
		t.Fatal(err)
	}
	if len(s.Uncommitted()) != 0 {
		t.Fatal("recorded despite refusal")
	}
}

func TestApply(t *testing.T) {
	type other struct{ statement.Issued }
	if err := statement.New().Apply(other{}); err == nil {
		t.Fatal("unknown event applied")
	}
	s := issued(t)
	if err := s.Apply(statement.Corrected{StatementID: "S1", Revision: 3}); err == nil {
		t.Fatal("revision gap applied")
	}
}

func TestRegistryRoundTrip(t *testing.T) {
	reg := eventlog.NewRegistry()
	statement.Register(reg)
	s := statement.New()
	if err := s.Issue("S1", cmd(1), slip(), now); err != nil {
		t.Fatal(err)
	}
	typ, data, err := reg.Encode(s.Uncommitted()[0])
	if err != nil || typ != "statement.Issued.v1" {
		t.Fatal(typ, err)
	}
	env, err := reg.Decode(eventlog.Record{Type: typ, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	if !env.Event.(statement.Issued).Content.Equal(s.Content()) {
		t.Fatalf("round trip differs: %s", data)
	}
}

// "More than a year in the future" is a question about calendar dates in
// Melaka: every hour of 10 March 2025 there (UTC+8, which starts on 9 March
// in UTC) accepts a pay date of 10 March 2026 and refuses 11 March 2026.
func TestYearAheadIsTheMelakaDate(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2025, 3, 9, 16, 0, 0, 0, time.UTC),   // 00:00 MYT
		time.Date(2025, 3, 9, 20, 0, 0, 0, time.UTC),   // 04:00 MYT
		time.Date(2025, 3, 9, 23, 59, 0, 0, time.UTC),  // 07:59 MYT
		time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC),   // 08:00 MYT
		time.Date(2025, 3, 10, 2, 0, 0, 0, time.UTC),   // 10:00 MYT
		time.Date(2025, 3, 10, 15, 59, 0, 0, time.UTC), // 23:59 MYT
	} {
		hour := at.Add(8 * time.Hour).Format("15:04")
		c := slip()
		c.PayDate = "2026-03-10"
		if _, err := c.Normalize(at); err != nil {
			t.Errorf("%s MYT: a year ahead to the day refused: %v", hour, err)
		}
		c.PayDate = "2026-03-11"
		var fe *statement.FieldError
		if _, err := c.Normalize(at); !errors.As(err, &fe) || fe.Field != "pay_date" {
			t.Errorf("%s MYT: a year and a day ahead: %v, want a pay_date error", hour, err)
		}
	}
}
