package pdf_test

import (
	"bytes"
	"testing"

	"github.com/melaka-gov/ispeks/infra/pdf"
)

// BenchmarkStatementPDF renders pay slips on every core and reports
// documents per second.
//
//	go test ./infra/pdf -run XXX -bench PDF
func BenchmarkStatementPDF(b *testing.B) {
	for _, qr := range []bool{false, true} {
		name := "plain"
		if qr {
			name = "with-QR"
		}
		b.Run(name, func(b *testing.B) {
			r := pdf.Renderer{VerifyURL: "https://ispeks.melaka.gov.my/sahkan/", QR: qr}
			s := slip()
			b.RunParallel(func(pb *testing.PB) {
				var buf bytes.Buffer
				for pb.Next() {
					buf.Reset()
					if err := r.Statement(&buf, s, generated); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
		})
	}
}
