package api

import (
	"encoding/json"
	"testing"

	"github.com/melaka-gov/ispeks/domain/statement"
)

// TestListJSONIsMarshalOutput: the hand-written list answers are byte for
// byte json.Marshal's, for plain values, values that need escaping
// (quotes, HTML characters, control characters, non-ASCII, invalid UTF-8),
// omitted optional fields, empty and nil lists.
func TestListJSONIsMarshalOutput(t *testing.T) {
	odd := []string{"", "plain", `q"uote \ back`, "<b>&amp;</b>", "tab\tline\n\x01\x7f", "Kuala Lumpur — RM5 ✓", "bad\xffutf8", "line\u2028sep", "é\u2029", "Ringgit Malaysia é ü 中"}
	var pays []MePayment
	var stmts []MeStatement
	for i, s := range odd {
		pays = append(pays, MePayment{ID: "P" + s, Module: "tuntutan", ModuleLabel: s, Type: s, TypeLabel: "T", VoucherNo: s,
			VoucherDate: "2026-01-02", Reference: s, Description: s + s, AmountSen: int64(i*12345 - 3), Status: "dibayar",
			StatusLabel: s, StatusDate: s, Links: paymentLinks("P" + s)})
		periods := []statement.Period{{Year: 2026, Month: i}, {From: s, To: "2026-01-07"}, {Year: 2025}, {}}
		stmts = append(stmts, MeStatement{ID: "S" + s, Type: s, TypeLabel: s, Period: periods[i%len(periods)], PeriodLabel: s,
			Revision: i, PayDate: s, Totals: statement.Totals{EarningsSen: int64(i), DeductionsSen: -int64(i), NetSen: 1 << 40},
			Links: statementLinks("S" + s)})
	}
	for name, c := range map[string]struct {
		v      any
		append func([]byte) []byte
	}{
		"payments":         {MePaymentPage{Payments: pays, Next: "cur<sor>"}, MePaymentPage{Payments: pays, Next: "cur<sor>"}.appendJSON},
		"payments empty":   {MePaymentPage{Payments: []MePayment{}}, MePaymentPage{Payments: []MePayment{}}.appendJSON},
		"payments nil":     {MePaymentPage{}, MePaymentPage{}.appendJSON},
		"statements":       {MeStatementPage{Statements: stmts, Next: "abc"}, MeStatementPage{Statements: stmts, Next: "abc"}.appendJSON},
		"statements empty": {MeStatementPage{Statements: []MeStatement{}}, MeStatementPage{Statements: []MeStatement{}}.appendJSON},
		"statements nil":   {MeStatementPage{}, MeStatementPage{}.appendJSON},
	} {
		want, err := json.Marshal(c.v)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.append(nil); string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}
