package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/http/httpx"
	"github.com/melaka-gov/ispeks/infra/pdf"
	"github.com/melaka-gov/ispeks/projections/payments"
	"github.com/melaka-gov/ispeks/projections/statements"
)

// PaymentDeps are the collaborators of the Status Bayaran and Penyata Gaji
// pages and of the public /sahkan page. The zero value leaves those pages
// out (the menu then shows "Akan Datang"); a partly filled one makes Routes
// panic at start-up, naming what is missing.
//
// Authorisation: every page shows the logged-in person's own records only
// (the queries are asked for the session's user ID, which is the IC
// number; anyone else's ID is "not found", 404). Administrator and auditor
// roles add nothing here: an administrator is also a member of staff and
// sees their own pay, never anyone else's (DESIGN: admin, auditor and
// finance-client scopes are separate). No page or route takes another
// person's IC number.
type PaymentDeps struct {
	// Payments reads the payment views (payments.Queries).
	Payments PaymentQueries
	// Statements reads the statement views (statements.Queries).
	Statements StatementQueries
	// Reports draws the PDFs (pdf.Renderer).
	Reports ReportRenderer
	// Windows are the display windows the statement queries use (default
	// statements.DefaultWindows()): the search form offers the years they
	// cover and says how far back documents go. When Statements is a
	// statements.Queries its Windows must be the same (checked at start).
	Windows statements.Windows
	// VerifyThrottle limits /sahkan look-ups per client address (default
	// 20 at once, then one every 3 s). Codes are 80-bit HMACs and cannot be
	// guessed anyway; the throttle keeps anyone from trying in bulk.
	VerifyThrottle *httpx.Throttle
	// PageSize is the number of rows per list page (default 20).
	PageSize int
	// Now is the clock (default time.Now): display windows and the time a
	// PDF was generated.
	Now func() time.Time
}

// PaymentQueries reads payments (projections/payments Queries).
type PaymentQueries interface {
	ListByPayee(ctx context.Context, ic string, module payment.Module, limit int, after string) (payments.Page, error)
	Get(ctx context.Context, ic, id string) (payments.Payment, error)
	Verify(ctx context.Context, code string) (payments.Verification, bool, error)
}

// StatementQueries reads statements (projections/statements Queries).
type StatementQueries interface {
	ListByPayee(ctx context.Context, ic string, t statement.Type, year, limit int, after string, now time.Time) (statements.Page, error)
	// ListByPayeeInto is ListByPayee into a reused slice (the list page's).
	ListByPayeeInto(ctx context.Context, ic string, t statement.Type, year, limit int, after string, now time.Time, buf []statements.Statement) (statements.Page, error)
	Get(ctx context.Context, ic, id string, now time.Time) (statements.Statement, error)
	Verify(ctx context.Context, code string) (statements.Verification, bool, error)
}

// ReportRenderer draws the PDF reports (infra/pdf Renderer).
type ReportRenderer interface {
	Payment(w io.Writer, p payments.Payment, payee pdf.Payee, generatedAt time.Time) error
	Statement(w io.Writer, s statements.Statement, generatedAt time.Time) error
}

var (
	_ PaymentQueries   = payments.Queries{}
	_ StatementQueries = statements.Queries{}
	_ ReportRenderer   = pdf.Renderer{}
)

func (d PaymentDeps) enabled() bool {
	return d.Payments != nil || d.Statements != nil || d.Reports != nil
}

func (d PaymentDeps) check() error {
	var missing []string
	for name, ok := range map[string]bool{
		"Payments": d.Payments != nil, "Statements": d.Statements != nil, "Reports": d.Reports != nil,
	} {
		if !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return errors.New("web: PaymentDeps lacks " + strings.Join(missing, ", "))
	}
	// The form would offer years, and say "18 months", that the queries
	// then do not show (or hide ones they do).
	if q, ok := d.Statements.(statements.Queries); ok && q.Windows.WithDefaults() != d.Windows.WithDefaults() {
		return fmt.Errorf("web: PaymentDeps.Windows %+v differ from the statement queries' %+v", d.Windows.WithDefaults(), q.Windows.WithDefaults())
	}
	return nil
}

func (d PaymentDeps) withDefaults() PaymentDeps {
	d.Windows = d.Windows.WithDefaults()
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.VerifyThrottle == nil {
		d.VerifyThrottle = httpx.NewThrottle(httpx.ThrottleConfig{Burst: 20, Every: 3 * time.Second}, d.Now)
	}
	if d.PageSize <= 0 {
		d.PageSize = 20
	}
	d.PageSize = min(d.PageSize, payments.MaxPageSize, statements.MaxPageSize)
	return d
}

// Paths of the payment and statement pages beyond the menu's (paths.go).
const (
	PathPaymentDetail = PathStatusBayaran + "/:id"
	PathPaymentPDF    = PathStatusBayaran + "/:id/laporan.pdf"
	PathStatementView = PathPenyataGaji + "/:id"
	PathStatementPDF  = PathPenyataGaji + "/:id/dokumen.pdf"
	PathVerify        = "/sahkan"
	PathVerifyCode    = PathVerify + "/:code"
	queryDownload     = "muat-turun" // ?muat-turun=1: the PDF as an attachment
	queryAfter        = "selepas"    // the next page's cursor
	maxCursor         = 512
)

// paymentRoutes mounts the Status Bayaran and Penyata Gaji pages (logged-in
// staff) and the public verification page. Unwired, they are left to
// FillComing.
func (s *Site) paymentRoutes(pg, staff *gin.RouterGroup) {
	d := s.deps.Payments
	if !d.enabled() {
		return
	}
	if err := d.check(); err != nil {
		panic(err) // a wiring mistake: refuse to start
	}
	s.deps.Payments = d.withDefaults()
	staff.GET(PathStatusBayaran, s.paymentList)
	staff.GET(PathPaymentDetail, s.paymentDetail)
	staff.GET(PathPaymentPDF, s.paymentPDF)
	staff.GET(PathPenyataGaji, s.statementList)
	staff.GET(PathStatementView, s.statementView)
	staff.GET(PathStatementPDF, s.statementPDF)
	pg.GET(PathVerify, s.verifyForm)
	pg.GET(PathVerifyCode, s.verifyCode)
}

// pathWith fills a path's parameter with an escaped value.
func pathWith(path, param, value string) string {
	return strings.Replace(path, ":"+param, escapeSegment(value), 1)
}
