package web_test

import (
	"net/http"
	"testing"

	"github.com/melaka-gov/ispeks/http/web"
)

func titleOf(t *testing.T, r payResult) string {
	t.Helper()
	if r.code != http.StatusOK {
		t.Fatalf("status %d", r.code)
	}
	return pageTitle(t, "page", r.body)
}

// A payment's detail and a slip's view name their document in the <title>
// after the manual's words, so two tabs (and a screen reader's first words
// on the page) tell them apart. The layout is drawn once per title and
// cached: each request, user and language still gets its own document's
// words, never the one drawn first.
func TestDocumentPagesTitleNameTheirDocument(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	siti := p.as(paySitiIC, "Siti Aminah binti Omar", "")
	nurul := p.as(payNurulIC, "Nurul Huda binti Rahman", "")
	const suffix = " — Portal iSPEKS · Kerajaan Negeri Melaka"

	cases := []struct {
		b          *payBrowser
		path, want string
	}{
		{siti, "/permohonan/status-bayaran/PAY-S-001", "Maklumat terperinci: Pendahuluan Perjalanan BV-2026-000101"},
		{siti, "/permohonan/status-bayaran/PAY-S-002", "Maklumat terperinci: Pendahuluan Perjalanan BV-2026-000102"},
		{nurul, "/permohonan/status-bayaran/PAY-N-001", "Maklumat terperinci: Pendahuluan Perjalanan BV-2026-000900"},
		{siti, "/permohonan/status-bayaran/PAY-S-001", "Maklumat terperinci: Pendahuluan Perjalanan BV-2026-000101"},
		{siti, web.PathPenyataGaji + "/SG-2026-01-S", "Paparan Dokumen: Slip Gaji Bulanan Januari 2026"},
		{siti, web.PathPenyataGaji + "/SG-2026-02-S", "Paparan Dokumen: Slip Gaji Bulanan Februari 2026"},
		{nurul, web.PathPenyataGaji + "/SG-2026-01-N", "Paparan Dokumen: Slip Gaji Bulanan Januari 2026"},
		{siti, web.PathPenyataGaji + "/BN-2025-S", "Paparan Dokumen: Bonus Disember 2025"},
	}
	for _, c := range cases {
		if got := titleOf(t, c.b.get(c.path)); got != c.want+suffix {
			t.Errorf("%s: title %q, want %q", c.path, got, c.want+suffix)
		}
	}

	en := titleOf(t, siti.get(web.PathPenyataGaji+"/SG-2026-02-S?lang=en"))
	if want := "Document View: Monthly Pay Slip February 2026 — iSPEKS Portal · Melaka State Government"; en != want {
		t.Errorf("english slip title %q, want %q", en, want)
	}
	// A page without a document keeps its title alone.
	if got := titleOf(t, siti.get(web.PathStatusBayaran+"?lang=ms")); got != "Status Bayaran"+suffix {
		t.Errorf("list title %q", got)
	}
}
