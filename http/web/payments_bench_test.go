package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/infra/demo"
	"github.com/melaka-gov/ispeks/projections/statements"
)

// The issue 5 comparison: the statement list page (a person's 18 monthly
// slips, 20 to a page; and 24 slips on one page), the payment status list
// as a page and as JSON, against a constant JSON route, through the whole
// middleware stack, over the real SQLite read store with the demo data.
// Run with -cpu to match the bench command:
//
//	go test ./http/web -run '^$' -bench 'Pay' -benchtime 3s
func payBench(b *testing.B, opt payOptions) (*payPortal, []*http.Cookie) {
	if opt.pageSize == 0 {
		opt.pageSize = 20
	}
	opt.api = true
	p := newPayPortal(b, opt)
	sum, err := demo.Load(context.Background(), demo.Deps{Runner: p.runner})
	if err != nil {
		b.Fatal(err)
	}
	if err := p.eng.WaitFor(context.Background(), sum.LastPosition); err != nil {
		b.Fatal(err)
	}
	p.srv.Engine.GET("/api/v1/const", func(c *gin.Context) { c.JSON(200, gin.H{"status": "ok", "n": 42}) })
	siti := demo.Staff()[0]
	page, err := statements.Queries{Reader: p.views}.ListByPayee(context.Background(), siti.IC, statement.SlipGajiBulanan, 0, 20, "", p.clock())
	if err != nil || len(page.Statements) < 15 {
		b.Fatalf("demo slips: %v %d", err, len(page.Statements))
	}
	return p, p.cookiesOf(siti.IC, siti.Name)
}

func (p *payPortal) cookiesOf(ic, name string) []*http.Cookie {
	br := p.as(ic, name, "")
	var cookies []*http.Cookie
	for _, c := range br.cookies {
		cookies = append(cookies, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return cookies
}

func runPayBench(b *testing.B, p *payPortal, target string, cookies []*http.Cookie) {
	b.ReportAllocs()
	b.ResetTimer()
	// CPU time per request beside wall time: on a shared 2-core machine
	// wall time says more about the neighbours.
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	defer func() {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		cpu := ru.Utime.Nano() + ru.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()
		b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	}()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest("GET", target, nil)
			for _, c := range cookies {
				r.AddCookie(c)
			}
			w := httptest.NewRecorder()
			p.srv.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatalf("%s: %d", target, w.Code)
			}
		}
	})
}

func BenchmarkPayConstJSON(b *testing.B) {
	p, _ := payBench(b, payOptions{})
	runPayBench(b, p, "/api/v1/const", nil)
}

func BenchmarkPayStatementListPage(b *testing.B) {
	p, cookies := payBench(b, payOptions{})
	runPayBench(b, p, "/penyata-gaji?urusniaga=slip-gaji-bulanan", cookies)
}

// BenchmarkPayStatementList24Page is a page of 24 monthly slips (the bench
// command's shape: 24 slips a person, a 24-month window).
func BenchmarkPayStatementList24Page(b *testing.B) {
	p, _ := payBench(b, payOptions{pageSize: 24, windows: statements.Windows{SlipMonths: 24, AnnualYears: 7}})
	p.staff(paySiti)
	now := p.clock().In(time.FixedZone("MYT", 8*60*60))
	for i := range 24 {
		m := time.Date(now.Year(), now.Month()-time.Month(i), 1, 0, 0, 0, 0, time.UTC)
		p.issue(fmt.Sprintf("SG-%s-B", m.Format("2006-01")), slip(paySiti, statement.SlipGajiBulanan, statement.Period{Year: m.Year(), Month: int(m.Month())}, 400000+int64(i)))
	}
	cookies := p.cookiesOf(paySiti.IC, paySiti.Name)
	runPayBench(b, p, "/penyata-gaji?urusniaga=slip-gaji-bulanan", cookies)
}

func BenchmarkPayStatusListPage(b *testing.B) {
	p, cookies := payBench(b, payOptions{})
	runPayBench(b, p, "/permohonan/status-bayaran?modul=tuntutan", cookies)
}

func BenchmarkPayMePaymentsJSON(b *testing.B) {
	p, cookies := payBench(b, payOptions{})
	runPayBench(b, p, "/api/v1/me/payments?module=tuntutan", cookies)
}

func BenchmarkPayMeStatementsJSON(b *testing.B) {
	p, cookies := payBench(b, payOptions{})
	runPayBench(b, p, "/api/v1/me/statements?type=slip-gaji-bulanan", cookies)
}

func BenchmarkPaySlipPage(b *testing.B) {
	p, cookies := payBench(b, payOptions{})
	page, _ := statements.Queries{Reader: p.views}.ListByPayee(context.Background(), demo.Staff()[0].IC, statement.SlipGajiBulanan, 0, 1, "", p.clock())
	runPayBench(b, p, "/penyata-gaji/"+page.Statements[0].ID, cookies)
}
