package web_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/infra/demo"
	"github.com/melaka-gov/ispeks/projections/payments"
	"github.com/melaka-gov/ispeks/projections/statements"
	"github.com/melaka-gov/ispeks/projections/verifycode"
)

// TestPaymentScreenshots draws the payment and statement pages with the
// demo data in headless Chromium, at phone and desktop width, for a person
// to look at: ISPEKS_SCREENSHOTS=DIR go test -run TestPaymentScreenshots.
func TestPaymentScreenshots(t *testing.T) {
	dir := os.Getenv("ISPEKS_SCREENSHOTS")
	if dir == "" {
		t.Skip("set ISPEKS_SCREENSHOTS=DIR to draw the payment pages")
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no chromium")
	}
	p := newPayPortal(t, payOptions{})
	sum, err := demo.Load(context.Background(), demo.Deps{Runner: p.runner})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.eng.WaitFor(context.Background(), sum.LastPosition); err != nil {
		t.Fatal(err)
	}
	siti := demo.Staff()[0]
	ctx := context.Background()
	claims, err := payments.Queries{Reader: p.views}.ListByPayee(ctx, siti.IC, payment.Tuntutan, 100, "")
	if err != nil || len(claims.Payments) == 0 {
		t.Fatalf("demo claims: %v", err)
	}
	paid := claims.Payments[0]
	for _, c := range claims.Payments {
		if len(c.History) > len(paid.History) {
			paid = c
		}
	}
	slips, err := statements.Queries{Reader: p.views}.ListByPayee(ctx, siti.IC, statement.SlipGajiBulanan, 0, 1, "", p.clock())
	if err != nil || len(slips.Statements) == 0 {
		t.Fatalf("demo slips: %v", err)
	}
	slipID := slips.Statements[0].ID
	slip, err := statements.Queries{Reader: p.views}.Get(ctx, siti.IC, slipID, p.clock())
	if err != nil {
		t.Fatalf("demo slip: %v", err)
	}
	paidID := paid.ID
	ts := httptest.NewServer(p.srv)
	defer ts.Close()
	shots := []struct{ name, page, size string }{
		{"status-list", "/permohonan/status-bayaran?modul=tuntutan", "1280,1300"},
		{"status-list-phone", "/permohonan/status-bayaran?modul=tuntutan", "390,1500"},
		{"status-detail", "/permohonan/status-bayaran/" + url.PathEscape(paidID), "1280,1500"},
		{"status-detail-phone", "/permohonan/status-bayaran/" + url.PathEscape(paidID), "390,2200"},
		{"statement-list", "/penyata-gaji?urusniaga=slip-gaji-bulanan", "1280,1500"},
		{"statement-list-phone", "/penyata-gaji?urusniaga=slip-gaji-bulanan", "390,2000"},
		{"slip", "/penyata-gaji/" + url.PathEscape(slipID), "1280,1700"},
		{"slip-phone", "/penyata-gaji/" + url.PathEscape(slipID), "390,2600"},
		{"statement-empty", "/penyata-gaji?urusniaga=slip-gaji-mingguan", "1280,900"},
		{"status-list-en", "/permohonan/status-bayaran?modul=pendahuluan&lang=en", "1280,1200"},
		{"verify", "/sahkan/" + verifycode.Format(slip.Code) + "?lang=ms", "1280,1100"},
		{"verify-phone", "/sahkan/" + verifycode.Format(slip.Code), "390,1400"},
		{"verify-unknown", "/sahkan/AAAA-BBBB-CCCC-DDDD", "390,1200"},
	}
	for _, s := range shots {
		q := url.Values{"user": {siti.IC}, "name": {siti.Name}, "next": {s.page}}
		out := filepath.Join(dir, "pay-"+s.name+".png")
		cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
			"--window-size="+s.size, "--screenshot="+out, ts.URL+"/test/login?"+q.Encode())
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", s.name, err, b)
		}
		if st, err := os.Stat(out); err != nil || st.Size() < 10_000 {
			t.Fatalf("%s: no picture (%v)", s.name, err)
		}
	}
}
