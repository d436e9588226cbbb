package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/http/api"
)

// Issuing and correcting statements: totals must add up, the same content
// again is a duplicate, different content under an issued ID is a
// conflict, and a correction supersedes (the payee sees revision 2).
func TestIssueAndCorrectStatement(t *testing.T) {
	f := newFin(t, finOptions{})
	body := slipBody("SG-2026-02-000001", 2)
	res := wantResult(t, "issue", f.post("/api/v1/statements", f.stmtOnly, body), http.StatusCreated, "accepted")
	if res.StatementID != "SG-2026-02-000001" || res.Position == 0 {
		t.Fatalf("result %+v", res)
	}
	head := f.head()
	wantResult(t, "again", f.post("/api/v1/statements", f.stmtOnly, body), http.StatusOK, "duplicate")
	wantErr(t, "other content", f.post("/api/v1/statements", f.stmtOnly, strings.Replace(body, `"grade":"WA41"`, `"grade":"WA44"`, 1)),
		http.StatusConflict, "conflict", "statement_id")
	if f.head() != head {
		t.Fatal("appended")
	}

	corr := strings.Replace(strings.Replace(body, `"statement_id":"SG-2026-02-000001",`, `"reason":"Potongan zakat tertinggal",`, 1),
		`{"amount_sen":50246,"name":"KWSP"}]`, `{"amount_sen":50246,"name":"KWSP"},{"name":"Zakat","amount_sen":5000}]`, 1)
	corr = strings.Replace(corr, `"deductions_sen":71246,"earnings_sen":486789,"net_sen":415543`, `"deductions_sen":76246,"earnings_sen":486789,"net_sen":410543`, 1)
	if !strings.Contains(corr, "Zakat") || !strings.Contains(corr, "410543") {
		t.Fatalf("test body not built: %s", corr)
	}
	key := map[string]string{api.IdempotencyKeyHeader: "corr-1"}
	wantResult(t, "correct", f.do("POST", "/api/v1/statements/SG-2026-02-000001/corrections", f.stmtOnly, "", corr, key, nil), http.StatusOK, "accepted")
	wantResult(t, "correct again (key)", f.do("POST", "/api/v1/statements/SG-2026-02-000001/corrections", f.stmtOnly, "", corr, key, nil), http.StatusOK, "duplicate")
	wantResult(t, "correct again (same content)", f.post("/api/v1/statements/SG-2026-02-000001/corrections", f.stmtOnly, corr), http.StatusOK, "duplicate")
	head = f.head()
	noReason := strings.Replace(corr, `"reason":"Potongan zakat tertinggal",`, ``, 1)
	wantErr(t, "no reason", f.post("/api/v1/statements/SG-2026-02-000001/corrections", f.stmtOnly, noReason), http.StatusUnprocessableEntity, "invalid", "reason")
	wantErr(t, "correct nothing", f.post("/api/v1/statements/SG-404/corrections", f.stmtOnly, corr), http.StatusNotFound, "not_found", "statement_id")
	wantErr(t, "other ID in the body", f.post("/api/v1/statements/SG-2026-02-000001/corrections", f.stmtOnly, `{"statement_id":"SG-1",`+corr[1:]), http.StatusUnprocessableEntity, "invalid", "statement_id")
	wantErr(t, "another type", f.post("/api/v1/statements/SG-2026-02-000001/corrections", f.stmtOnly, strings.Replace(corr, "slip-gaji-bulanan", "bonus", 1)), http.StatusUnprocessableEntity, "invalid", "type")
	if f.head() != head {
		t.Fatal("refused corrections appended")
	}

	f.caughtUp()
	cookies := f.login(finSiti, "Siti Aminah binti Omar", "")
	d := finDecode[api.MeStatementDetail](t, f.do("GET", "/api/v1/me/statements/SG-2026-02-000001", "", "", "", nil, cookies))
	if d.Revision != 2 || d.Totals.NetSen != 410543 || len(d.Deductions) != 3 || len(d.Corrections) != 1 || d.Corrections[0].Reason != "Potongan zakat tertinggal" {
		t.Fatalf("after the correction: %+v", d)
	}
}

// Bad statements: each refused with the field's path, nothing written.
func TestStatementBadInput(t *testing.T) {
	f := newFin(t, finOptions{})
	body := slipBody("SG-BAD", 1)
	head := f.head()
	cases := []struct {
		name, token, body string
		status            int
		code, field       string
	}{
		{"totals do not add up", f.stmtOnly, strings.Replace(body, `"net_sen":415543`, `"net_sen":415500`, 1), 422, "invalid", "totals.net_sen"},
		{"earnings total wrong", f.stmtOnly, strings.Replace(body, `"earnings_sen":486789`, `"earnings_sen":486000`, 1), 422, "invalid", "totals.earnings_sen"},
		{"float line", f.stmtOnly, strings.Replace(body, `"amount_sen":30000`, `"amount_sen":300.00`, 1), 422, "invalid", "earnings[1].amount_sen"},
		{"negative line", f.stmtOnly, strings.Replace(body, `"amount_sen":21000`, `"amount_sen":-21000`, 1), 422, "invalid", "deductions[0].amount_sen"},
		{"unknown field in a line", f.stmtOnly, strings.Replace(body, `"name":"ITKA"`, `"name":"ITKA","rate":1`, 1), 400, "unknown_field", "earnings[1].rate"},
		{"unknown type", f.stmtOnly, strings.Replace(body, "slip-gaji-bulanan", "slip-gaji-harian", 1), 422, "invalid", "type"},
		{"month 13", f.stmtOnly, strings.Replace(body, `"month":1`, `"month":13`, 1), 422, "invalid", "period.month"},
		{"unknown payee", f.stmtOnly, strings.Replace(body, finSiti, finNoOne, 1), 422, "unknown_payee", "payee.ic"},
		{"no earnings", f.stmtOnly, strings.Replace(body, `"earnings":[{"amount_sen":456789,"code":"0001","name":"Gaji Pokok"},{"amount_sen":30000,"name":"ITKA"}]`, `"earnings":[]`, 1), 422, "invalid", "earnings"},
		{"payments scope only", f.payOnly, body, 403, "auth.insufficient_scope", ""},
		{"malformed", f.stmtOnly, body[:len(body)-5], 400, "malformed_json", ""},
	}
	for _, c := range cases {
		if c.name != "payments scope only" && c.name != "malformed" && c.body == body {
			t.Fatalf("%s: the test body did not change", c.name)
		}
		wantErr(t, c.name, f.post("/api/v1/statements", c.token, c.body), c.status, c.code, c.field)
	}
	if f.head() != head {
		t.Fatalf("bad statements appended events")
	}
}
