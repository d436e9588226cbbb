package ingest_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/infra/pdf"
	readsqlite "github.com/melaka-gov/ispeks/infra/readstore/sqlite"
	"github.com/melaka-gov/ispeks/projections"
	"github.com/melaka-gov/ispeks/projections/payments"
	"github.com/melaka-gov/ispeks/projections/statements"
	"github.com/melaka-gov/ispeks/projections/verifycode"
)

// TestFromBatchToPDF runs the whole path: an NDJSON batch into the real
// event store, every stored event decoded through the registry and
// projected into the real read store, the person's lists queried, and the
// documents printed and read back with pdftotext.
func TestFromBatchToPDF(t *testing.T) {
	r := newRig(t)
	r.employees(t, 2)
	ic := testIC(0)
	batch := strings.Join([]string{
		slipLine("s1", "SG-2025-01-1", ic, 1),
		slipLine("s2", "SG-2025-02-1", ic, 2),
		slipLine("s3", "SG-2025-02-2", testIC(1), 2),
		receivedLine("p1", "PAY-1", ic),
		changeLine("p2", "PAY-1", `"status":"dalam-proses","date":"2025-03-02"`),
		changeLine("p3", "PAY-1", `"status":"dibatalkan","date":"2025-03-03","reason":"Permohonan ditarik balik"`),
	}, "\n")
	if _, sum := r.run(t, batch); sum.Accepted != 6 {
		t.Fatalf("%+v", sum)
	}

	ctx := context.Background()
	views, err := readsqlite.Open(ctx, filepath.Join(t.TempDir(), "views.db"), readsqlite.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer views.Close()
	key := []byte("a verification key of 32 bytes..")
	projectors := []projections.Projector{payments.Projector{Key: key}, statements.Projector{Key: key}}
	reg := eventlog.NewRegistry()
	payment.Register(reg)
	statement.Register(reg)
	recs, err := r.store.ReadAll(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range projectors {
		if err := views.Ensure(ctx, p.Collections()...); err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			if !slices.Contains(p.Handles(), rec.Type) {
				continue
			}
			env, err := reg.Decode(rec)
			if err != nil {
				t.Fatal(err)
			}
			if err := views.Write(ctx, p.Name(), rec.Position, func(b projections.Batch) error { return p.Project(ctx, b, env) }); err != nil {
				t.Fatal(err)
			}
		}
	}

	now := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
	sq := statements.Queries{Reader: views}
	list, err := sq.ListByPayee(ctx, ic, statement.SlipGajiBulanan, 2025, 10, "", now)
	if err != nil || len(list.Statements) != 2 || list.Statements[0].ID != "SG-2025-02-1" {
		t.Fatalf("%v %+v", err, list)
	}
	pq := payments.Queries{Reader: views}
	pays, err := pq.ListByPayee(ctx, ic, payment.Tuntutan, 10, "")
	if err != nil || len(pays.Payments) != 1 || pays.Payments[0].Status != payment.Dibatalkan {
		t.Fatalf("%v %+v", err, pays)
	}
	// The list carries slim rows; the detail has the whole status history.
	detail, err := pq.Get(ctx, ic, pays.Payments[0].ID)
	if err != nil || len(detail.History) != 3 {
		t.Fatalf("%v %+v", err, detail)
	}

	rend := pdf.Renderer{VerifyURL: "https://ispeks.melaka.gov.my/sahkan/"}
	var slipPDF, payPDF bytes.Buffer
	slip, err := sq.Get(ctx, ic, list.Statements[0].ID, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := rend.Statement(&slipPDF, slip, now); err != nil {
		t.Fatal(err)
	}
	if err := rend.Payment(&payPDF, detail, pdf.Payee{Name: "Nurul Aina binti Hassan"}, now); err != nil {
		t.Fatal(err)
	}
	slipText := pdftotext(t, slipPDF.Bytes())
	for _, want := range []string{"SLIP GAJI BULANAN", "Februari 2025", "Nurul Aina binti Hassan", "2,850.25", "Kod pengesahan: " + verifycode.Format(slip.Code)} {
		if !strings.Contains(slipText, want) {
			t.Errorf("slip: %q missing:\n%s", want, slipText)
		}
	}
	payText := pdftotext(t, payPDF.Bytes())
	for _, want := range []string{"LAPORAN STATUS BAYARAN", "Dibatalkan", "Permohonan ditarik balik", "450.00"} {
		if !strings.Contains(payText, want) {
			t.Errorf("payment: %q missing:\n%s", want, payText)
		}
	}
	// The printed code verifies.
	v, ok, err := sq.Verify(ctx, slip.Code)
	if err != nil || !ok || v.NetSen != 285025 || v.Superseded {
		t.Fatalf("%v %v %+v", ok, err, v)
	}
}

func pdftotext(t *testing.T, doc []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, out)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}
