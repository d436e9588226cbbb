package api_test

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/http/api"
	"github.com/melaka-gov/ispeks/infra/pdf"
	"github.com/melaka-gov/ispeks/projections/payments"
	"github.com/melaka-gov/ispeks/projections/statements"
	"github.com/melaka-gov/ispeks/projections/verifycode"
)

// meData: Siti has two claims (one paid) and an advance, three slips and a
// bonus; Nurul has a claim and a slip.
func meData(t *testing.T, f *fin) {
	t.Helper()
	pay := func(id, ic, module, typ, voucher, date string, sen int) {
		b := strings.NewReplacer("PAY-000123", id, "791117-04-5672", ic, `"tuntutan"`, `"`+module+`"`, "tuntutan-perjalanan", typ,
			"BV-2026-000123", voucher, "2026-03-01", date, "45050", strconv.Itoa(sen)).Replace(payBody)
		wantResult(t, "record "+id, f.post("/api/v1/payments", f.payOnly, b), http.StatusCreated, "accepted")
	}
	pay("PAY-S-1", finSiti, "tuntutan", "tuntutan-perjalanan", "BV-S-0001", "2026-01-10", 12345)
	pay("PAY-S-2", finSiti, "tuntutan", "tuntutan-lebih-masa", "BV-S-0002", "2026-02-10", 67890)
	pay("PAY-S-3", finSiti, "pendahuluan", "pendahuluan-diri", "BV-S-0003", "2026-02-20", 100000)
	pay("PAY-N-1", finNurul, "tuntutan", "tuntutan-perjalanan", "BV-N-0001", "2026-02-11", 5000)
	for _, s := range []string{`{"status":"dalam-proses"}`, `{"status":"diluluskan"}`, `{"status":"dihantar-ke-bank"}`, `{"status":"diterima-oleh-bank","eft_no":"EFT-S-1","payment_date":"2026-01-20"}`} {
		wantResult(t, "move", f.post("/api/v1/payments/PAY-S-1/status", f.payOnly, s), http.StatusOK, "accepted")
	}
	for i, id := range []string{"SG-S-01", "SG-S-02", "SG-S-03"} {
		wantResult(t, id, f.post("/api/v1/statements", f.stmtOnly, slipBody(id, i+1)), http.StatusCreated, "accepted")
	}
	wantResult(t, "bonus", f.post("/api/v1/statements", f.stmtOnly, strings.Replace(slipBody("BN-S-01", 1), "slip-gaji-bulanan", "bonus", 1)), http.StatusCreated, "accepted")
	nurul := strings.NewReplacer(finSiti, finNurul, "Siti Aminah binti Omar", "Nurul Huda binti Rahman").Replace(slipBody("SG-N-01", 1))
	wantResult(t, "nurul", f.post("/api/v1/statements", f.stmtOnly, nurul), http.StatusCreated, "accepted")
	f.caughtUp()
}

// The logged-in person's own payments and statements, their PDFs, and
// nothing of anyone else's.
func TestMeEndpoints(t *testing.T) {
	f := newFin(t, finOptions{})
	meData(t, f)
	siti := f.login(finSiti, "Siti Aminah binti Omar", "")
	get := func(path string, cookies []*http.Cookie) *httptestRecorder {
		return f.do("GET", path, "", "", "", nil, cookies)
	}

	w := get("/api/v1/me/payments?module=tuntutan", siti)
	if w.Code != http.StatusOK {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	pg := finDecode[api.MePaymentPage](t, w)
	if len(pg.Payments) != 2 || pg.Payments[0].ID != "PAY-S-2" || pg.Payments[1].ID != "PAY-S-1" || pg.Payments[1].Status != "diterima-oleh-bank" ||
		pg.Payments[1].AmountSen != 12345 || pg.Payments[0].Links.PDF != "/api/v1/me/payments/PAY-S-2/pdf" {
		t.Fatalf("claims newest first: %+v", pg)
	}
	all := finDecode[api.MePaymentPage](t, get("/api/v1/me/payments?limit=2", siti))
	if len(all.Payments) != 2 || all.Next == "" || all.Payments[0].ID != "PAY-S-3" {
		t.Fatalf("every module, page 1: %+v", all)
	}
	rest := finDecode[api.MePaymentPage](t, get("/api/v1/me/payments?limit=2&after="+url.QueryEscape(all.Next), siti))
	if len(rest.Payments) != 1 || rest.Next != "" || rest.Payments[0].ID != "PAY-S-1" {
		t.Fatalf("page 2: %+v", rest)
	}

	d := finDecode[api.MePaymentDetail](t, get("/api/v1/me/payments/PAY-S-1", siti))
	if d.EFTNo != "EFT-S-1" || len(d.History) != 5 || d.VerificationCode != verifycode.Format(payments.Code(finKey, "PAY-S-1")) {
		t.Fatalf("detail %+v", d)
	}
	doc := get("/api/v1/me/payments/PAY-S-1/pdf", siti)
	if doc.Code != http.StatusOK || doc.Header().Get("Content-Type") != "application/pdf" || !strings.HasPrefix(doc.Header().Get("Content-Disposition"), "inline;") {
		t.Fatalf("pdf: %d %v", doc.Code, doc.Header())
	}
	text := pdfText(t, doc.Body.Bytes())
	for _, want := range []string{"LAPORAN STATUS BAYARAN", "Siti Aminah binti Omar", "791117-04-5672", "BV-S-0001", "123.45", "Diterima oleh Bank", "EFT-S-1", d.VerificationCode} {
		if !strings.Contains(text, want) {
			t.Errorf("payment pdf lacks %q:\n%s", want, text)
		}
	}
	if cd := get("/api/v1/me/payments/PAY-S-1/pdf?download=1", siti).Header().Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
		t.Errorf("download: %q", cd)
	}

	sp := finDecode[api.MeStatementPage](t, get("/api/v1/me/statements?type=slip-gaji-bulanan", siti))
	if len(sp.Statements) != 3 || sp.Statements[0].ID != "SG-S-03" || sp.Statements[0].PeriodLabel != "Mac 2026" || sp.Statements[0].Totals.NetSen != 415543 {
		t.Fatalf("slips: %+v", sp)
	}
	if y := finDecode[api.MeStatementPage](t, get("/api/v1/me/statements?type=slip-gaji-bulanan&year=2025", siti)); len(y.Statements) != 0 {
		t.Fatalf("2025: %+v", y)
	}
	if b := finDecode[api.MeStatementPage](t, get("/api/v1/me/statements?type=bonus&year=2026", siti)); len(b.Statements) != 1 || b.Statements[0].ID != "BN-S-01" {
		t.Fatalf("bonus: %+v", b)
	}
	sd := finDecode[api.MeStatementDetail](t, get("/api/v1/me/statements/SG-S-01", siti))
	if sd.Payee.Name != "Siti Aminah binti Omar" || len(sd.Earnings) != 2 || sd.VerificationCode != verifycode.Format(statements.Code(finKey, "SG-S-01", 1)) {
		t.Fatalf("statement %+v", sd)
	}
	sdoc := get("/api/v1/me/statements/SG-S-01/pdf", siti)
	stext := pdfText(t, sdoc.Body.Bytes())
	for _, want := range []string{"SLIP GAJI BULANAN", "Januari 2026", "Siti Aminah binti Omar", "Gaji Pokok", "4,567.89", "Gaji Bersih", "RM 4,155.43", sd.VerificationCode} {
		if !strings.Contains(stext, want) {
			t.Errorf("statement pdf lacks %q", want)
		}
	}

	// Someone else's, or nobody's: 404, the same answer.
	for _, p := range []string{"/api/v1/me/payments/PAY-N-1", "/api/v1/me/payments/PAY-N-1/pdf", "/api/v1/me/statements/SG-N-01",
		"/api/v1/me/statements/SG-N-01/pdf", "/api/v1/me/payments/PAY-X", "/api/v1/me/statements/SG-X/pdf"} {
		w := get(p, siti)
		wantErr(t, p, w, http.StatusNotFound, "not_found", "")
		if strings.Contains(w.Body.String(), "Nurul") || strings.Contains(w.Body.String(), "BV-N") {
			t.Errorf("%s leaks: %s", p, w.Body)
		}
	}
	if l := finDecode[api.MePaymentPage](t, get("/api/v1/me/payments", siti)); len(l.Payments) != 3 {
		t.Errorf("Siti sees %d payments", len(l.Payments))
	}
	// An administrator sees their own only: roles add nothing.
	admin := f.login(finNurul, "Nurul Huda binti Rahman", "admin,auditor")
	if l := finDecode[api.MePaymentPage](t, get("/api/v1/me/payments", admin)); len(l.Payments) != 1 || l.Payments[0].ID != "PAY-N-1" {
		t.Errorf("admin sees %+v", l)
	}
	wantErr(t, "admin: Siti's slip", get("/api/v1/me/statements/SG-S-01", admin), http.StatusNotFound, "not_found", "")

	// No session: 401 JSON; a client token is not a session.
	wantErr(t, "anonymous", get("/api/v1/me/payments", nil), http.StatusUnauthorized, "login_required", "")
	w = f.do("GET", "/api/v1/me/payments", f.both, "", "", nil, nil)
	wantErr(t, "client token", w, http.StatusUnauthorized, "login_required", "")

	// Bad parameters.
	for _, c := range []struct{ path, field string }{
		{"/api/v1/me/payments?module=gaji", "module"},
		{"/api/v1/me/payments?limit=0", "limit"},
		{"/api/v1/me/payments?limit=1000", "limit"},
		{"/api/v1/me/statements", "type"},
		{"/api/v1/me/statements?type=slip", "type"},
		{"/api/v1/me/statements?type=bonus&year=20x5", "year"},
	} {
		wantErr(t, c.path, get(c.path, siti), http.StatusUnprocessableEntity, "invalid", c.field)
	}
	wantErr(t, "forged cursor", get("/api/v1/me/payments?after=forged", siti), http.StatusBadRequest, "bad_request", "after")
}

// A cursor the list did not give (edited, or cut short in a copy) is a
// bad request that names the parameter, as every other bad parameter is
// named; it was a bare "Permintaan tidak sah".
func TestMeBadCursorNamesAfter(t *testing.T) {
	f := newFin(t, finOptions{})
	meData(t, f)
	siti := f.login(finSiti, "Siti Aminah binti Omar", "")
	for _, p := range []string{
		"/api/v1/me/payments?after=forged",
		"/api/v1/me/payments?after=" + url.QueryEscape("a b"),
		"/api/v1/me/statements?type=bonus&after=forged",
	} {
		e := wantErr(t, p, f.do("GET", p, "", "", "", nil, siti), http.StatusBadRequest, "bad_request", "after")
		if !strings.Contains(e.Error.Message, "after") {
			t.Errorf("%s: message %q does not say what is wrong", p, e.Error.Message)
		}
	}
}

// A PDF that cannot be produced: 500 report_failed with an incident ID,
// logged without personal data.
func TestMeReportFails(t *testing.T) {
	f := newFin(t, finOptions{reports: brokenReports{}})
	meData(t, f)
	siti := f.login(finSiti, "Siti Aminah binti Omar", "")
	for _, p := range []string{"/api/v1/me/payments/PAY-S-1/pdf", "/api/v1/me/statements/SG-S-01/pdf"} {
		w := f.do("GET", p, "", "", "", nil, siti)
		e := wantErr(t, p, w, http.StatusInternalServerError, "report_failed", "")
		if !regexp.MustCompile(`^[0-9A-Z]{4}-[0-9A-Z]{4}$`).MatchString(e.Error.Incident) || !strings.Contains(e.Error.Message, "Laporan tidak dapat dipaparkan") {
			t.Fatalf("%s: %+v", p, e.Error)
		}
		var logged string
		for _, l := range strings.Split(f.logs.String(), "\n") {
			if strings.Contains(l, e.Error.Incident) {
				logged = l
			}
		}
		if logged == "" || strings.Contains(logged, finSiti) || strings.Contains(logged, "Siti") {
			t.Fatalf("incident log line %q", logged)
		}
	}
}

type brokenReports struct{}

var errDisk = errors.New("pdf: no space left on device")

func (brokenReports) Payment(io.Writer, payments.Payment, pdf.Payee, time.Time) error { return errDisk }
func (brokenReports) Statement(io.Writer, statements.Statement, time.Time) error      { return errDisk }

// A year before a type's display window (at 10 March 2026: slips, bonus
// and special aid from October 2024, annual statements from 2019) was
// answered with an empty list, as if the person had no slips that year;
// the web page refuses it beside the field. The API answers 422 on year
// with the window as the reason; the window's first year is still a list.
func TestMeStatementsYearBeforeWindow(t *testing.T) {
	f := newFin(t, finOptions{})
	meData(t, f)
	siti := f.login(finSiti, "Siti Aminah binti Omar", "")
	get := func(path string) *httptestRecorder { return f.do("GET", path, "", "", "", nil, siti) }
	for _, c := range []struct{ path, reason string }{
		{"/api/v1/me/statements?type=slip-gaji-bulanan&year=2023", "last 18 months"},
		{"/api/v1/me/statements?type=bonus&year=2023", "last 18 months"},
		{"/api/v1/me/statements?type=penyata-pendapatan-tahunan&year=2018", "last 7 years"},
	} {
		e := wantErr(t, c.path, get(c.path), http.StatusUnprocessableEntity, "invalid", "year")
		if len(e.Error.Fields) != 1 || e.Error.Fields[0].Field != "year" || !strings.Contains(e.Error.Fields[0].Reason, c.reason) {
			t.Errorf("%s: %+v, want the window (%q) as the reason", c.path, e.Error, c.reason)
		}
	}
	for _, p := range []string{
		"/api/v1/me/statements?type=slip-gaji-bulanan&year=2024",
		"/api/v1/me/statements?type=penyata-pendapatan-tahunan&year=2019",
	} {
		if w := get(p); w.Code != http.StatusOK {
			t.Errorf("%s: %d %s", p, w.Code, w.Body)
		}
	}
}

// A statement may be dated in the next year (a weekly slip issued in
// December ends in January), so the API lists by year up to the next one:
// at 10 March 2026 a slip for January 2027 is found under 2027, and a year
// after that is answered 422 on year, as a year before the window is, with
// the latest year as the reason. The year is Melaka's: at 00:30 on 1
// January 2027 in Melaka (still 2026 in UTC) 2028 is a list.
func TestMeStatementsYearAfterNextYear(t *testing.T) {
	f := newFin(t, finOptions{})
	meData(t, f)
	next := strings.Replace(slipBody("SG-S-2701", 1), `"year":2026`, `"year":2027`, 1)
	wantResult(t, "slip of January 2027", f.post("/api/v1/statements", f.stmtOnly, next), http.StatusCreated, "accepted")
	f.caughtUp()
	siti := f.login(finSiti, "Siti Aminah binti Omar", "")
	w := f.do("GET", "/api/v1/me/statements?type=slip-gaji-bulanan&year=2027", "", "", "", nil, siti)
	if w.Code != http.StatusOK {
		t.Fatalf("year=2027 at 10 March 2026: %d %s", w.Code, w.Body)
	}
	if pg := finDecode[api.MeStatementPage](t, w); len(pg.Statements) != 1 || pg.Statements[0].ID != "SG-S-2701" {
		t.Errorf("year=2027: %+v, want the slip of January 2027 alone", pg.Statements)
	}
	for _, p := range []string{
		"/api/v1/me/statements?type=slip-gaji-bulanan&year=2028",
		"/api/v1/me/statements?type=penyata-pendapatan-tahunan&year=2100",
	} {
		e := wantErr(t, p, f.do("GET", p, "", "", "", nil, siti), http.StatusUnprocessableEntity, "invalid", "year")
		if len(e.Error.Fields) != 1 || e.Error.Fields[0].Field != "year" || !strings.Contains(e.Error.Fields[0].Reason, "latest year") ||
			!strings.Contains(e.Error.Fields[0].Reason, "2027") {
			t.Errorf("%s: %+v, want the latest year (2027) as the reason", p, e.Error)
		}
	}

	f = newFin(t, finOptions{})
	f.mu.Lock()
	f.now = time.Date(2026, 12, 31, 16, 30, 0, 0, time.UTC)
	f.mu.Unlock()
	meData(t, f)
	siti = f.login(finSiti, "Siti Aminah binti Omar", "")
	p := "/api/v1/me/statements?type=slip-gaji-bulanan&year=2028"
	if w := f.do("GET", p, "", "", "", nil, siti); w.Code != http.StatusOK {
		t.Errorf("%s on 1 January 2027 in Melaka: %d %s", p, w.Code, w.Body)
	}
}
