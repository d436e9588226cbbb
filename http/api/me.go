package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/infra/pdf"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/payments"
	"github.com/melaka-gov/ispeks/projections/statements"
	"github.com/melaka-gov/ispeks/projections/verifycode"
)

// The logged-in staff member's own payments and statements as JSON (and
// their PDFs), for the portal's own pages and apps:
//
//	GET /me/payments?module=&limit=&after=       newest first, a page at a time
//	GET /me/payments/{id}                        with its status history
//	GET /me/payments/{id}/pdf                    the report (?download=1: as a file)
//	GET /me/statements?type=&year=&limit=&after= latest period first, latest revision only
//	GET /me/statements/{id}                      the whole statement
//	GET /me/statements/{id}/pdf                  the document (?download=1: as a file)
//
// Authentication is the portal session (cookie), never a client token: an
// anonymous request gets 401 JSON. Everyone sees only their own records:
// the queries are asked for the session's user ID (the IC number), so any
// other person's ID is 404, exactly like one that does not exist.
// Administrator and auditor roles add nothing here. All reads: no CSRF
// token is needed.

// MeDeps are the collaborators of the /me endpoints.
type MeDeps struct {
	Payments   MePayments   // payments.Queries
	Statements MeStatements // statements.Queries
	Reports    MeReports    // pdf.Renderer
	// Now is the clock (default time.Now): display windows and the time a
	// PDF was generated.
	Now func() time.Time
}

// MePayments reads payments (projections/payments Queries).
type MePayments interface {
	ListByPayee(ctx context.Context, ic string, module payment.Module, limit int, after string) (payments.Page, error)
	Get(ctx context.Context, ic, id string) (payments.Payment, error)
}

// MeStatements reads statements (projections/statements Queries).
type MeStatements interface {
	ListByPayee(ctx context.Context, ic string, t statement.Type, year, limit int, after string, now time.Time) (statements.Page, error)
	Get(ctx context.Context, ic, id string, now time.Time) (statements.Statement, error)
	// DisplayWindows are the windows the lists keep to: a year before
	// one is refused, not answered with an empty list.
	DisplayWindows() statements.Windows
}

// MeReports draws PDFs (infra/pdf Renderer).
type MeReports interface {
	Payment(w io.Writer, p payments.Payment, payee pdf.Payee, generatedAt time.Time) error
	Statement(w io.Writer, s statements.Statement, generatedAt time.Time) error
}

var (
	_ MePayments   = payments.Queries{}
	_ MeStatements = statements.Queries{}
	_ MeReports    = pdf.Renderer{}
)

// MountMe adds the /me endpoints to rg (the /api/v1 group). It panics if a
// dependency is missing (a wiring mistake).
func MountMe(rg *gin.RouterGroup, d MeDeps) {
	if d.Payments == nil || d.Statements == nil || d.Reports == nil {
		panic("api: MountMe needs Payments, Statements and Reports")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	m := &me{d: d}
	g := rg.Group("/me", requireStaff)
	g.GET("/payments", m.payments)
	g.GET("/payments/:id", m.payment)
	g.GET("/payments/:id/pdf", m.paymentPDF)
	g.GET("/statements", m.statements)
	g.GET("/statements/:id", m.statement)
	g.GET("/statements/:id/pdf", m.statementPDF)
}

// MeMounter adapts MountMe to server.Deps.API.
func MeMounter(d MeDeps) func(*gin.RouterGroup) {
	return func(rg *gin.RouterGroup) { MountMe(rg, d) }
}

// requireStaff lets through a completed login (the session loader runs on
// every request); anyone else gets 401 JSON.
func requireStaff(c *gin.Context) {
	if _, ok := session.User(c); !ok {
		httpx.Abort(c, httpx.ErrLoginRequired)
		return
	}
	c.Next()
}

type me struct{ d MeDeps }

// Links are a record's own addresses.
type Links struct {
	Self string `json:"self"`
	PDF  string `json:"pdf"`
}

// MePayment is one payment in the list.
type MePayment struct {
	ID          string `json:"id"`
	Module      string `json:"module"`
	ModuleLabel string `json:"module_label"`
	Type        string `json:"type"`
	TypeLabel   string `json:"type_label"`
	VoucherNo   string `json:"voucher_no"`
	VoucherDate string `json:"voucher_date"`
	Reference   string `json:"reference,omitempty"`
	Description string `json:"description"`
	AmountSen   int64  `json:"amount_sen"`
	Status      string `json:"status"`
	StatusLabel string `json:"status_label"`
	StatusDate  string `json:"status_date"`
	Links       Links  `json:"links"`
}

// MePaymentDetail is one payment with everything the report prints.
type MePaymentDetail struct {
	MePayment
	ReceivedDate     string                 `json:"received_date"`
	EFTNo            string                 `json:"eft_no,omitempty"`
	ChequeNo         string                 `json:"cheque_no,omitempty"`
	PaymentDate      string                 `json:"payment_date,omitempty"`
	Reason           string                 `json:"reason,omitempty"`
	Amended          int                    `json:"amended"`
	History          []payments.StatusEntry `json:"history"`
	VerificationCode string                 `json:"verification_code"`
}

// MePaymentPage is one page of payments.
type MePaymentPage struct {
	Payments []MePayment `json:"payments"`
	Next     string      `json:"next,omitempty"`
}

// MeStatement is one statement in the list.
type MeStatement struct {
	ID          string           `json:"id"`
	Type        string           `json:"type"`
	TypeLabel   string           `json:"type_label"`
	Period      statement.Period `json:"period"`
	PeriodLabel string           `json:"period_label"`
	Revision    int              `json:"revision"`
	PayDate     string           `json:"pay_date,omitempty"`
	Totals      statement.Totals `json:"totals"`
	Links       Links            `json:"links"`
}

// MeStatementDetail is the whole statement (its latest revision).
type MeStatementDetail struct {
	MeStatement
	Payee            statement.Payee         `json:"payee"`
	Employer         statement.Employer      `json:"employer"`
	Earnings         []statement.Line        `json:"earnings"`
	Deductions       []statement.Line        `json:"deductions"`
	IssuedAt         time.Time               `json:"issued_at"`
	CorrectedAt      *time.Time              `json:"corrected_at,omitempty"`
	Corrections      []statements.Correction `json:"corrections"`
	VerificationCode string                  `json:"verification_code"`
}

// MeStatementPage is one page of statements.
type MeStatementPage struct {
	Statements []MeStatement `json:"statements"`
	Next       string        `json:"next,omitempty"`
}

const mePrefix = "/api/v1/me"

func paymentLinks(id string) Links {
	self := mePrefix + "/payments/" + url.PathEscape(id)
	return Links{Self: self, PDF: self + "/pdf"}
}

func statementLinks(id string) Links {
	self := mePrefix + "/statements/" + url.PathEscape(id)
	return Links{Self: self, PDF: self + "/pdf"}
}

func mePayment(p payments.Payment) MePayment {
	return MePayment{
		ID: p.ID, Module: string(p.Module), ModuleLabel: p.ModuleLabel, Type: string(p.Type), TypeLabel: p.TypeLabel,
		VoucherNo: p.VoucherNo, VoucherDate: p.VoucherDate, Reference: p.Reference, Description: p.Description,
		AmountSen: p.AmountSen, Status: string(p.Status), StatusLabel: p.StatusLabel, StatusDate: p.StatusDate,
		Links: paymentLinks(p.ID),
	}
}

func meStatement(s statements.Statement) MeStatement {
	return MeStatement{
		ID: s.ID, Type: string(s.Type), TypeLabel: s.TypeLabel, Period: s.Period, PeriodLabel: s.PeriodLabel,
		Revision: s.Revision, PayDate: s.PayDate, Totals: s.Totals, Links: statementLinks(s.ID),
	}
}

// queryError names a bad query parameter (422).
type queryError struct {
	name   string
	reason string
}

func (e *queryError) Error() string { return "api: " + e.name + ": " + e.reason }

// badQuery answers 422 naming the parameter and why.
func badQuery(c *gin.Context, err error) {
	var qe *queryError
	if !errors.As(err, &qe) {
		httpx.Abort(c, err)
		return
	}
	c.JSON(http.StatusUnprocessableEntity, errorBody{Error: errorDetail{Code: "invalid", Field: qe.name,
		Message: bilingual(c, "Parameter "+qe.name+" tidak sah.", qe.name+" "+qe.reason),
		Fields:  []FieldProblem{{Field: qe.name, Code: "invalid", Reason: qe.reason}}}})
	c.Abort()
}

// The pages /me answers without a ?limit= (a list cache keeps pages of
// these sizes: see projections/viewcache).
const (
	DefaultPaymentsLimit   = 20
	DefaultStatementsLimit = 24
)

// limitParam reads ?limit= (1 to 100, default def).
func limitParam(c *gin.Context, def int) (int, error) {
	raw := c.Query("limit")
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > 100 {
		return 0, &queryError{"limit", "must be a whole number from 1 to 100"}
	}
	return n, nil
}

// afterParam reads ?after= (the previous page's next); false when it has
// answered a bad one.
func afterParam(c *gin.Context) (string, bool) {
	v := c.Query("after")
	if len(v) > 512 || strings.ContainsFunc(v, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		badCursor(c)
		return "", false
	}
	return v, true
}

// listFailed answers a list query's error: a forged cursor is a bad
// request, anything else our fault.
func listFailed(c *gin.Context, err error) {
	if errors.Is(err, projections.ErrBadCursor) {
		badCursor(c)
		return
	}
	httpx.Abort(c, err)
}

// badCursor answers 400 naming ?after=, as every other bad parameter is
// named: a cursor is only ever the list's own next, sent back unchanged.
func badCursor(c *gin.Context) {
	c.JSON(http.StatusBadRequest, errorBody{Error: errorDetail{Code: "bad_request", Field: "after",
		Message: bilingual(c, "Parameter after tidak sah: hantar semula nilai next halaman sebelumnya, atau mulakan tanpa after.",
			"after must be the previous page's next, unchanged; or start again without after")}})
	c.Abort()
}

func (m *me) payments(c *gin.Context) {
	u, _ := session.User(c)
	mod := payment.Module(c.Query("module"))
	if mod != "" && !mod.Valid() {
		badQuery(c, &queryError{"module", "must be pendahuluan or tuntutan"})
		return
	}
	limit, err := limitParam(c, DefaultPaymentsLimit)
	if err != nil {
		badQuery(c, err)
		return
	}
	after, ok := afterParam(c)
	if !ok {
		return
	}
	pg, err := m.d.Payments.ListByPayee(c.Request.Context(), u.UserID, mod, limit, after)
	if err != nil {
		listFailed(c, err)
		return
	}
	out := MePaymentPage{Payments: make([]MePayment, len(pg.Payments)), Next: pg.Next}
	for i, p := range pg.Payments {
		out.Payments[i] = mePayment(p)
	}
	writeJSON(c, out.appendJSON)
}

// ownPayment reads the path's payment if it is the caller's; else 404.
func (m *me) ownPayment(c *gin.Context) (payments.Payment, bool) {
	u, _ := session.User(c)
	p, err := m.d.Payments.Get(c.Request.Context(), u.UserID, c.Param("id"))
	switch {
	case errors.Is(err, payments.ErrNotFound):
		httpx.Abort(c, httpx.ErrNotFound)
		return p, false
	case err != nil:
		httpx.Abort(c, err)
		return p, false
	}
	return p, true
}

func (m *me) payment(c *gin.Context) {
	p, ok := m.ownPayment(c)
	if !ok {
		return
	}
	hist := p.History
	if hist == nil {
		hist = []payments.StatusEntry{}
	}
	c.JSON(http.StatusOK, MePaymentDetail{
		MePayment: mePayment(p), ReceivedDate: p.ReceivedDate, EFTNo: p.EFTNo, ChequeNo: p.ChequeNo,
		PaymentDate: p.PaymentDate, Reason: p.Reason, Amended: p.Amended, History: hist,
		VerificationCode: verifycode.Format(p.Code),
	})
}

func (m *me) paymentPDF(c *gin.Context) {
	p, ok := m.ownPayment(c)
	if !ok {
		return
	}
	u, _ := session.User(c)
	var buf bytes.Buffer
	if err := m.d.Reports.Payment(&buf, p, pdf.Payee{Name: u.Name, Department: u.Department}, m.d.Now()); err != nil {
		httpx.Abort(c, fmt.Errorf("%w: payment report: %w", httpx.ErrReport, err))
		return
	}
	sendPDF(c, &buf, "status-bayaran-"+safeName(p.VoucherNo)+".pdf")
}

func (m *me) statements(c *gin.Context) {
	u, _ := session.User(c)
	t := statement.Type(c.Query("type"))
	if !t.Valid() {
		names := make([]string, 0, 6)
		for _, x := range statement.Types() {
			names = append(names, string(x))
		}
		badQuery(c, &queryError{"type", "is required: one of " + strings.Join(names, ", ")})
		return
	}
	year := 0
	if raw := c.Query("year"); raw != "" {
		y, err := strconv.Atoi(raw)
		if err != nil || y < 1990 {
			badQuery(c, &queryError{"year", "must be a year such as 2025"})
			return
		}
		// A year outside the window would list nothing, as if the person
		// had no slips that year: the web page offers no such year.
		now := m.d.Now()
		if latest := statement.LatestYear(now); y > latest {
			badQuery(c, &queryError{"year", fmt.Sprintf("is after the latest year a statement may be dated in: statements are listed up to %d", latest)})
			return
		}
		w := m.d.Statements.DisplayWindows()
		if first := w.FirstYear(t, now); y < first {
			reason := fmt.Sprintf("is outside the display window: this type is shown for the last %d months only (the earliest year is %d)", w.SlipMonths, first)
			if t.Annual() {
				reason = fmt.Sprintf("is outside the display window: annual statements are shown for the last %d years only (the earliest year is %d)", w.AnnualYears, first)
			}
			badQuery(c, &queryError{"year", reason})
			return
		}
		year = y
	}
	limit, err := limitParam(c, DefaultStatementsLimit)
	if err != nil {
		badQuery(c, err)
		return
	}
	after, ok := afterParam(c)
	if !ok {
		return
	}
	pg, err := m.d.Statements.ListByPayee(c.Request.Context(), u.UserID, t, year, limit, after, m.d.Now())
	if err != nil {
		listFailed(c, err)
		return
	}
	out := MeStatementPage{Statements: make([]MeStatement, len(pg.Statements)), Next: pg.Next}
	for i, s := range pg.Statements {
		out.Statements[i] = meStatement(s)
	}
	writeJSON(c, out.appendJSON)
}

// ownStatement reads the path's statement if it is the caller's and within
// its display window; else 404.
func (m *me) ownStatement(c *gin.Context) (statements.Statement, bool) {
	u, _ := session.User(c)
	s, err := m.d.Statements.Get(c.Request.Context(), u.UserID, c.Param("id"), m.d.Now())
	switch {
	case errors.Is(err, statements.ErrNotFound):
		httpx.Abort(c, httpx.ErrNotFound)
		return s, false
	case err != nil:
		httpx.Abort(c, err)
		return s, false
	}
	return s, true
}

func (m *me) statement(c *gin.Context) {
	s, ok := m.ownStatement(c)
	if !ok {
		return
	}
	corr := s.Corrections
	if corr == nil {
		corr = []statements.Correction{}
	}
	ded := s.Deductions
	if ded == nil {
		ded = []statement.Line{}
	}
	c.JSON(http.StatusOK, MeStatementDetail{
		MeStatement: meStatement(s), Payee: s.Payee, Employer: s.Employer, Earnings: s.Earnings, Deductions: ded,
		IssuedAt: s.IssuedAt, CorrectedAt: s.CorrectedAt, Corrections: corr, VerificationCode: verifycode.Format(s.Code),
	})
}

func (m *me) statementPDF(c *gin.Context) {
	s, ok := m.ownStatement(c)
	if !ok {
		return
	}
	var buf bytes.Buffer
	if err := m.d.Reports.Statement(&buf, s, m.d.Now()); err != nil {
		httpx.Abort(c, fmt.Errorf("%w: statement: %w", httpx.ErrReport, err))
		return
	}
	sendPDF(c, &buf, safeName(s.ID)+".pdf")
}

// sendPDF answers with a rendered PDF, inline (shown by the browser) or
// with ?download=1 as a file.
func sendPDF(c *gin.Context, doc *bytes.Buffer, filename string) {
	disp := "inline"
	if c.Query("download") == "1" {
		disp = "attachment"
	}
	h := c.Writer.Header()
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": filename}))
	// A browser's PDF viewer is a plugin document: object-src 'none' would
	// block it. Nobody may frame it.
	h.Set("Content-Security-Policy", "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("Cache-Control", "private, no-store")
	c.Data(http.StatusOK, "application/pdf", doc.Bytes())
}

// safeName keeps a file name to letters, digits, '.', '-' and '_'.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}
