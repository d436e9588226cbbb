package web_test

import (
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/http/server"
	"github.com/melaka-gov/ispeks/http/web"
	"github.com/melaka-gov/ispeks/infra/pdf"
	"github.com/melaka-gov/ispeks/projections/payments"
	"github.com/melaka-gov/ispeks/projections/statements"
)

// TestPaymentDepsWindowsMustMatchTheQueries: pages told one display window
// and queries another would offer years, and say "18 months", that the
// lists then do not show; the server refuses to start, naming both.
// Zero is the default on either side.
func TestPaymentDepsWindowsMustMatchTheQueries(t *testing.T) {
	deps := func(page, query statements.Windows) web.Deps {
		return web.Deps{Payments: web.PaymentDeps{Payments: payments.Queries{}, Statements: statements.Queries{Windows: query},
			Reports: pdf.Renderer{}, Windows: page}}
	}
	if _, err := server.New(server.Config{}, server.Deps{Web: deps(statements.Windows{}, statements.DefaultWindows())}); err != nil {
		t.Fatalf("default on both sides: %v", err)
	}
	defer func() {
		msg, _ := recover().(error)
		if msg == nil || !strings.Contains(msg.Error(), "SlipMonths:3") || !strings.Contains(msg.Error(), "SlipMonths:18") {
			t.Fatalf("recovered %v", msg)
		}
	}()
	_, _ = server.New(server.Config{}, server.Deps{Web: deps(statements.Windows{SlipMonths: 3}, statements.Windows{})})
	t.Fatal("server.New accepted pages and queries with different windows")
}
