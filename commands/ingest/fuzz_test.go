package ingest

import (
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/domain/statement"
)

// FuzzDecodeLine: any input gives either a decoded line with a known kind,
// a valid request ID and its body, or a FieldError — never a panic.
func FuzzDecodeLine(f *testing.F) {
	for _, seed := range []string{
		`{"kind":"payment_status","request_id":"r1","change":{"payment_id":"P1","status":"dalam-proses"}}`,
		`{"kind":"statement","request_id":"r1","statement":{"earnings":[{"name":"Gaji","amount_sen":1.5}],"totals":{"net_sen":"1"}}}`,
		`{"kind":"payment","request_id":"r1","payment":{"amount_sen":-1e3}}`,
		`{"kind":"x"}`, `[]`, `{`, `null`, `{"kind":"payment","request_id":"r","payment":{}} {}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := decodeLine(b)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Reason == "" {
				t.Fatalf("error %v is not a FieldError with a reason", err)
			}
			return
		}
		if w.Kind.object() == "" || !requestIDPattern.MatchString(w.RequestID) || !validRequestID(w.RequestID) {
			t.Fatalf("accepted %+v", w)
		}
		switch w.Kind {
		case KindStatement:
			_, _ = w.Statement.content("statement.")
		case KindStatementCorrection:
			_, _ = w.Correction.content("correction.")
		case KindPayment:
			_, _ = w.Payment.details("payment.")
		case KindPaymentAmendment:
			_, _ = w.Amendment.details("amendment.")
		case KindPaymentStatus:
			if w.Change == nil {
				t.Fatal("no change")
			}
		}
	})
}

func TestSenLiterals(t *testing.T) {
	for lit, want := range map[string]string{
		"150": "", "0": "", "1.0": "decimal", "1e3": "decimal", `"150"`: "string", "-5": "negative",
		"99999999999999999999": "too large", "null": "required",
		// Around the fast path's 18 digits, and a leading zero (one JSON never sends).
		"123456789012345678": "", "1234567890123456789": "", "9223372036854775808": "too large", "007": "",
	} {
		var s sen
		_ = s.UnmarshalJSON([]byte(lit))
		_, err := s.get(func() string { return "x" })
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", lit, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want %q", lit, err, want)
		}
		if n, err := strconv.ParseInt(lit, 10, 64); want == "" && (err != nil || n != s.v) {
			t.Errorf("%s: got %d, want %d (%v)", lit, s.v, n, err)
		}
	}
	var missing sen
	if _, err := missing.get(at("", "totals.net_sen")); err == nil || !strings.Contains(err.Error(), "totals.net_sen: is required") {
		t.Errorf("missing: %v", err)
	}
}

// requestIDPattern is the documented request ID rule that validRequestID
// implements without a regexp.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:@+=/-]{1,128}$`)

func TestValidRequestIDFollowsThePattern(t *testing.T) {
	ids := []string{"", "a", "gaji-2025-02-000001", "A.b_c:d@e+f=g/h-9", "x y", "é", "a\x00", "a#", "[", "`", "{", "~",
		strings.Repeat("a", 128), strings.Repeat("a", 129)}
	for c := 0; c < 256; c++ {
		ids = append(ids, string([]byte{byte(c)}), "id"+string([]byte{byte(c)}))
	}
	for _, id := range ids {
		if got, want := validRequestID(id), requestIDPattern.MatchString(id); got != want {
			t.Errorf("%q: %v, want %v", id, got, want)
		}
	}
}

// TestDocumentedLinesDecode keeps docs/payments.md honest: every example
// line there decodes and converts without error.
func TestDocumentedLinesDecode(t *testing.T) {
	doc, err := os.ReadFile("../../docs/payments.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, `{"kind":`) {
			continue
		}
		n++
		w, err := decodeLine([]byte(line))
		if err == nil {
			now := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
			switch w.Kind {
			case KindStatement:
				var c statement.Content
				if c, err = w.Statement.content("statement."); err == nil {
					_, err = c.Normalize(now)
				}
			case KindStatementCorrection:
				var c statement.Content
				if c, err = w.Correction.content("correction."); err == nil {
					_, err = c.Normalize(now)
				}
			case KindPayment:
				var d payment.Details
				if d, err = w.Payment.details("payment."); err == nil {
					_, err = d.Normalize(now)
				}
			case KindPaymentStatus:
				_, err = w.Change.Change.Normalize(now)
			}
		}
		if err != nil {
			t.Errorf("%v: %s", err, line)
		}
	}
	if n < 5 {
		t.Fatalf("only %d example lines found", n)
	}
}

// BenchmarkDecodeLine measures the strict decode and conversion of one slip line.
func BenchmarkDecodeLine(b *testing.B) {
	line := []byte(`{"kind":"statement","request_id":"gaji-2025-02-000001","statement":{"statement_id":"SG-2025-02-000001","type":"slip-gaji-bulanan","period":{"year":2025,"month":2},"payee":{"ic":"880101045678","name":"Siti Nurhaliza binti Ahmad","staff_no":"MLK00123","department":"Jabatan Kewangan dan Perbendaharaan Negeri Melaka","post":"Pegawai Kewangan","grade":"WA41"},"employer":{"name":"Kerajaan Negeri Melaka"},"earnings":[{"code":"0001","name":"Gaji Pokok","amount_sen":456789},{"name":"ITKA","amount_sen":30000},{"name":"ITP","amount_sen":25000},{"name":"COLA","amount_sen":35000}],"deductions":[{"name":"PCB","amount_sen":21000},{"name":"KWSP","amount_sen":50246},{"name":"PERKESO","amount_sen":1475},{"name":"Zakat","amount_sen":5000}],"totals":{"earnings_sen":546789,"deductions_sen":77721,"net_sen":469068},"pay_date":"2025-02-25"}}`)
	for b.Loop() {
		w, err := decodeLine(line)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Statement.content("statement."); err != nil {
			b.Fatal(err)
		}
	}
}
