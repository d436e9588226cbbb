package web_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/http/api"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/server"
	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/http/web"
	eventsqlite "github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
	"github.com/melaka-gov/ispeks/infra/pdf"
	readsqlite "github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/engine"
	"github.com/melaka-gov/ispeks/projections/payments"
	"github.com/melaka-gov/ispeks/projections/statements"
)

// payPortal is the real server over real components: SQLite event and
// read stores in a temporary directory, the engine running the payments and
// statements projectors, the real command handlers writing the fixtures,
// the real queries and the real PDF renderer. Only the login goes through
// a test route (the login flow is the account pages' and is tested there):
// it gives the session a completed login gives.
type payPortal struct {
	t      testing.TB
	events *eventsqlite.Store
	views  projections.ReadStore
	reg    *eventlog.Registry
	eng    *engine.Engine
	runner commands.Runner
	srv    *server.Server
	logs   *paySyncBuffer

	mu  sync.Mutex
	now time.Time
}

// payKey is the verification-code key of the test (the portal derives its
// own from the master key).
var payKey = []byte("0123456789abcdef-test-document-key")

// The people of the fixtures: valid MyKad numbers.
const (
	paySitiIC  = "791117045672"
	payNurulIC = "850203145432"
	payAdminIC = "750101045001"
)

// payT0 is "now": 10 March 2026, 10:00 in Melaka.
var payT0 = time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)

type payOptions struct {
	reports  web.ReportRenderer // default: the real renderer
	throttle *httpx.Throttle
	pageSize int                // default 5
	windows  statements.Windows // default: statements.DefaultWindows()
	api      bool               // mount the /api/v1/me endpoints too
}

func newPayPortal(t testing.TB, opt payOptions) *payPortal {
	t.Helper()
	p := &payPortal{t: t, now: payT0, logs: &paySyncBuffer{}}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	quiet := slog.New(slog.DiscardHandler)
	var err error
	if p.events, err = eventsqlite.Open(ctx, filepath.Join(dir, "events.db"), eventsqlite.Options{Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	if p.views, err = readsqlite.Open(ctx, filepath.Join(dir, "views.db"), readsqlite.Options{Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	p.reg = eventlog.NewRegistry()
	employee.Register(p.reg)
	payment.Register(p.reg)
	statement.Register(p.reg)
	p.runner = commands.Runner{Store: p.events, Registry: p.reg, Now: p.clock}
	p.eng, err = engine.New(engine.Config{Log: p.events, Store: p.views, Registry: p.reg, Logger: quiet,
		Projectors: []projections.Projector{payments.Projector{Key: payKey}, statements.Projector{Key: payKey}}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.eng.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("engine: %v", err)
		}
		p.views.Close()
		p.events.Close()
	})
	if opt.pageSize == 0 {
		opt.pageSize = 5
	}
	reports := opt.reports
	if reports == nil {
		reports = pdf.Renderer{VerifyURL: "https://ispeks.melaka.gov.my/sahkan/"}
	}
	payQ, stmtQ := payments.Queries{Reader: p.views}, statements.Queries{Reader: p.views, Windows: opt.windows}
	var mounts []func(*gin.RouterGroup)
	if opt.api {
		mounts = append(mounts, api.MeMounter(api.MeDeps{Payments: payQ, Statements: stmtQ, Reports: reports, Now: p.clock}))
	}
	p.srv, err = server.New(server.Config{}, server.Deps{
		Log: slog.New(slog.NewTextHandler(p.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now: p.clock,
		Web: web.Deps{Payments: web.PaymentDeps{
			Payments:       payQ,
			Statements:     stmtQ,
			Reports:        reports,
			Windows:        opt.windows,
			VerifyThrottle: opt.throttle,
			PageSize:       opt.pageSize,
			Now:            p.clock,
		}},
		API: mounts,
	})
	if err != nil {
		t.Fatal(err)
	}
	p.srv.Engine.GET("/test/login", func(c *gin.Context) {
		var roles []string
		if r := c.Query("roles"); r != "" {
			roles = strings.Split(r, ",")
		}
		if err := p.srv.Sessions.Login(c, session.Identity{UserID: c.Query("user"), Name: c.Query("name"),
			Department: "Jabatan Kewangan dan Perbendaharaan", Roles: roles, TOTPVerified: c.Query("totp") == "1"}); err != nil {
			httpx.Abort(c, err)
			return
		}
		c.Redirect(http.StatusSeeOther, web.LocalPath(c.Query("next"), web.PathHome))
	})
	return p
}

func (p *payPortal) clock() time.Time { p.mu.Lock(); defer p.mu.Unlock(); return p.now }

func (p *payPortal) meta() commands.Meta {
	return commands.Meta{CommandID: uuid.New(), Actor: eventlog.Actor{Kind: eventlog.ActorClient, ID: "payroll"}}
}

func (p *payPortal) must(res commands.Result, err error) commands.Result {
	p.t.Helper()
	if err != nil {
		p.t.Fatalf("given: %v", err)
	}
	if err := p.eng.WaitFor(context.Background(), res.Position); err != nil {
		p.t.Fatal(err)
	}
	return res
}

// staff puts people in the employee master.
func (p *payPortal) staff(people ...employee.Details) {
	for _, d := range people {
		p.must(commands.PutStaffHandler{Runner: p.runner}.Handle(context.Background(), commands.PutStaff{Meta: p.meta(), Details: d}))
	}
}

func (p *payPortal) payees() commands.PayeeDirectory {
	return commands.EmployeeStreams{Store: p.events}
}

// pay records a payment and moves it through statuses.
func (p *payPortal) pay(id string, d payment.Details, moves ...payment.Change) {
	p.t.Helper()
	p.must(commands.RecordPaymentHandler{Runner: p.runner, Payees: p.payees()}.Handle(context.Background(), commands.RecordPayment{Meta: p.meta(), PaymentID: id, Details: d}))
	for _, m := range moves {
		p.must(commands.ChangePaymentStatusHandler{Runner: p.runner}.Handle(context.Background(), commands.ChangePaymentStatus{Meta: p.meta(), PaymentID: id, Change: m}))
	}
}

func (p *payPortal) issue(id string, c statement.Content) {
	p.t.Helper()
	p.must(commands.IssueStatementHandler{Runner: p.runner, Payees: p.payees()}.Handle(context.Background(), commands.IssueStatement{Meta: p.meta(), StatementID: id, Content: c}))
}

func (p *payPortal) correct(id string, c statement.Content, reason string) {
	p.t.Helper()
	p.must(commands.CorrectStatementHandler{Runner: p.runner}.Handle(context.Background(), commands.CorrectStatement{Meta: p.meta(), StatementID: id, Content: c, Reason: reason}))
}

var (
	paySiti = employee.Details{IC: paySitiIC, Name: "Siti Aminah binti Omar", Email: "siti.aminah@melaka.gov.my",
		Department: "Jabatan Kewangan dan Perbendaharaan", Post: "Pegawai Kewangan", StaffNumber: "JKPN-0042"}
	payNurul = employee.Details{IC: payNurulIC, Name: "Nurul Huda binti Rahman", Email: "nurul.huda@melaka.gov.my",
		Department: "Jabatan Kerja Raya", Post: "Pembantu Tadbir", StaffNumber: "JKR-1001"}
	payAdmin = employee.Details{IC: payAdminIC, Name: "Mohd Fadzlezam bin Sulaiman", Email: "fadzlezam@melaka.gov.my",
		Department: "Jabatan Kewangan dan Perbendaharaan", Post: "Pegawai Teknologi Maklumat", StaffNumber: "JKPN-0001"}
)

// slip builds a monthly slip for a person: earnings and deductions that add
// up.
func slip(who employee.Details, t statement.Type, period statement.Period, basic int64) statement.Content {
	earnings := []statement.Line{{Code: "0001", Name: "Gaji Pokok", AmountSen: basic}, {Name: "ITKA", AmountSen: 30000}, {Name: "COLA", AmountSen: 35000}}
	deductions := []statement.Line{{Name: "PCB", AmountSen: 21050}, {Name: "KWSP", AmountSen: basic * 11 / 100}}
	var e, d int64
	for _, l := range earnings {
		e += l.AmountSen
	}
	for _, l := range deductions {
		d += l.AmountSen
	}
	return statement.Content{
		Type: t, Period: period,
		Payee: statement.Payee{IC: who.IC, Name: who.Name, StaffNo: who.StaffNumber, PayNo: "G-" + who.StaffNumber, Department: who.Department,
			Post: who.Post, Grade: "WA41", BankName: "Bank Islam", BankAccount: "0401-2345-6789", TaxNo: "SG 1234567890", EPFNo: "KWSP-778899"},
		Employer:   statement.Employer{Name: "Kerajaan Negeri Melaka", Department: "Jabatan Kewangan dan Perbendaharaan Negeri Melaka", Address: "Aras 1, Blok Temenggong, Seri Negeri, 75450 Ayer Keroh, Melaka", EmployerNo: "E 0123456-7"},
		Earnings:   earnings,
		Deductions: deductions,
		Totals:     statement.Totals{EarningsSen: e, DeductionsSen: d, NetSen: e - d},
		PayDate:    fmt.Sprintf("%04d-%02d-25", max(period.Year, 2000), max(period.Month, 1)),
	}
}

// fixtures: Siti has payments in both modules (one paid by EFT, one the
// bank refused, enough advances for two pages), slips (one corrected, one
// outside the display window), a bonus and an annual statement; Nurul has
// one of each; the administrator has a claim of their own.
func (p *payPortal) fixtures() {
	p.staff(paySiti, payNurul, payAdmin)
	adv := func(ic, voucher, date string, sen int64, desc string) payment.Details {
		return payment.Details{Module: payment.Pendahuluan, Type: payment.PendahuluanPerjalanan, VoucherNo: voucher, VoucherDate: date,
			Reference: "PP/2026/" + voucher[len(voucher)-3:], Description: desc, AmountSen: sen, PayeeIC: ic, ReceivedDate: date}
	}
	p.pay("PAY-S-001", adv(paySitiIC, "BV-2026-000101", "2026-01-05", 123450, "Pendahuluan perjalanan ke Putrajaya"),
		payment.Change{To: payment.DalamProses, Date: "2026-01-06"},
		payment.Change{To: payment.Diluluskan, Date: "2026-01-08"},
		payment.Change{To: payment.DihantarKeBank, Date: "2026-01-09"},
		payment.Change{To: payment.DiterimaOlehBank, Date: "2026-01-10", EFTNo: "EFT20260110-7781", PaymentDate: "2026-01-10"})
	for i := 2; i <= 7; i++ {
		p.pay(fmt.Sprintf("PAY-S-%03d", i), adv(paySitiIC, fmt.Sprintf("BV-2026-%06d", 100+i), fmt.Sprintf("2026-02-%02d", i), int64(i)*10000, fmt.Sprintf("Pendahuluan perjalanan bil. %d", i)))
	}
	p.pay("PAY-S-CLM", payment.Details{Module: payment.Tuntutan, Type: payment.TuntutanLebihMasa, VoucherNo: "BV-2026-000300", VoucherDate: "2026-02-20",
		Description: "Tuntutan lebih masa Februari", AmountSen: 45075, PayeeIC: paySitiIC},
		payment.Change{To: payment.DalamProses}, payment.Change{To: payment.Diluluskan}, payment.Change{To: payment.DihantarKeBank},
		payment.Change{To: payment.GagalDiprosesBank, Reason: "Nombor akaun tidak sah"})
	p.pay("PAY-N-001", adv(payNurulIC, "BV-2026-000900", "2026-02-02", 88000, "Pendahuluan diri Nurul"))
	p.pay("PAY-A-001", payment.Details{Module: payment.Tuntutan, Type: payment.TuntutanPerjalanan, VoucherNo: "BV-2026-000500", VoucherDate: "2026-02-12",
		Description: "Tuntutan perjalanan pentadbir", AmountSen: 20000, PayeeIC: payAdminIC})

	p.issue("SG-2026-01-S", slip(paySiti, statement.SlipGajiBulanan, statement.Period{Year: 2026, Month: 1}, 456789))
	feb := slip(paySiti, statement.SlipGajiBulanan, statement.Period{Year: 2026, Month: 2}, 456789)
	p.issue("SG-2026-02-S", feb)
	feb.Deductions = append(feb.Deductions, statement.Line{Name: "Zakat", AmountSen: 5000})
	feb.Totals.DeductionsSen += 5000
	feb.Totals.NetSen -= 5000
	p.correct("SG-2026-02-S", feb, "Potongan zakat tertinggal")
	p.issue("SG-2025-12-S", slip(paySiti, statement.SlipGajiBulanan, statement.Period{Year: 2025, Month: 12}, 440000))
	p.issue("SG-2024-01-S", slip(paySiti, statement.SlipGajiBulanan, statement.Period{Year: 2024, Month: 1}, 400000)) // outside 18 months
	p.issue("BN-2025-S", slip(paySiti, statement.Bonus, statement.Period{Year: 2025, Month: 12}, 200000))
	p.issue("EC-2025-S", slip(paySiti, statement.PenyataPendapatanTahunan, statement.Period{Year: 2025}, 5400000))
	p.issue("SG-2026-01-N", slip(payNurul, statement.SlipGajiBulanan, statement.Period{Year: 2026, Month: 1}, 300000))
}

// payBrowser keeps cookies between requests, like a real one.
type payBrowser struct {
	p       *payPortal
	cookies map[string]*http.Cookie
	remote  string
}

type payResult struct {
	code int
	hdr  http.Header
	body string
	raw  []byte
}

func (p *payPortal) browser() *payBrowser {
	return &payBrowser{p: p, cookies: map[string]*http.Cookie{}, remote: "192.0.2.10:40000"}
}

// as logs the browser in as ic.
func (p *payPortal) as(ic, name, roles string) *payBrowser {
	b := p.browser()
	q := "/test/login?user=" + ic + "&name=" + strings.ReplaceAll(name, " ", "+") + "&roles=" + roles + "&totp=1"
	if r := b.get(q); r.code != http.StatusSeeOther {
		p.t.Fatalf("login: %d", r.code)
	}
	return b
}

func (b *payBrowser) get(target string) payResult {
	r := httptest.NewRequest("GET", target, nil)
	r.RemoteAddr = b.remote
	for _, c := range b.cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	w := httptest.NewRecorder()
	b.p.srv.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return payResult{code: w.Code, hdr: w.Header(), body: w.Body.String(), raw: w.Body.Bytes()}
}

func payHas(t testing.TB, what, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("%s: want %q in:\n%s", what, w, clipBody(body))
		}
	}
}

func payHasNot(t testing.TB, what, body string, bad ...string) {
	t.Helper()
	for _, w := range bad {
		if strings.Contains(body, w) {
			t.Errorf("%s: %q must not appear", what, w)
		}
	}
}

func clipBody(s string) string {
	if i := strings.Index(s, `<main`); i >= 0 {
		s = s[i:]
	}
	if len(s) > 6000 {
		s = s[:6000] + "…"
	}
	return s
}

// pdfText reads a PDF back with pdftotext (poppler).
func pdfText(t testing.TB, doc []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Skip("pdftotext is not installed")
	}
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, "-layout", "-enc", "UTF-8", f, "-")
	cmd.Stdout, cmd.Stderr = &out, io.Discard
	if err := cmd.Run(); err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return out.String()
}

// paySyncBuffer collects the server's log lines.
type paySyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *paySyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *paySyncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// failingReports is a renderer that cannot draw (a missing font, a full
// disk): the pages must say "Laporan tidak dapat dipaparkan".
type failingReports struct{}

var errNoFont = errors.New("pdf: font Helvetica could not be loaded")

func (failingReports) Payment(io.Writer, payments.Payment, pdf.Payee, time.Time) error {
	return errNoFont
}
func (failingReports) Statement(io.Writer, statements.Statement, time.Time) error {
	return errNoFont
}
