package ingest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/commands/ingest"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/domain/statement"
)

// amendmentLine is paymentLine as an amendment (with a reason) under req.
func amendmentLine(req, id, ic, amount string) string {
	l := strings.Replace(paymentLine(req, id, ic), `"kind":"payment","request_id":`, `"kind":"payment_amendment","request_id":`, 1)
	l = strings.Replace(l, `"payment":{`, `"amendment":{"reason":"Semakan",`, 1)
	return strings.Replace(l, "45000", amount, 1)
}

// correctionLine is slipLine as a correction (with a reason) under req,
// with grade.
func correctionLine(req, id, ic, grade string) string {
	l := strings.Replace(slipLine(req, id, ic, 1), `"kind":"statement","request_id":`, `"kind":"statement_correction","request_id":`, 1)
	l = strings.Replace(l, `"statement":{`, `"correction":{"reason":"Semakan",`, 1)
	return strings.Replace(l, `"grade":"N19"`, `"grade":"`+grade+`"`, 1)
}

// Given batch 1 with an amendment and a correction that changed nothing
// when they ran (answered duplicate), and batch 2 that then changed the
// payment and the statement, when batch 1 is sent again by accident, then
// every line is a duplicate, nothing is appended and batch 2's changes
// stay. Before, the no-op lines recorded nothing under their request IDs:
// re-sent, they were applied as new changes (accepted) and undid batch 2.
func TestResentBatchDoesNotApplyItsNoOpsOverLaterChanges(t *testing.T) {
	r := newRig(t)
	r.employees(t, 1)
	ic := testIC(0)
	batch1 := strings.Join([]string{
		paymentLine("p1", "P1", ic),
		amendmentLine("a1", "P1", ic, "45000"), // the details P1 has
		slipLine("i1", "S1", ic, 1),
		correctionLine("c1", "S1", ic, "N19"), // the content S1 has
	}, "\n") + "\n"
	resendAfterLaterChanges(t, r, ic, batch1)
}

// An API write without Idempotency-Key has a request ID made for it alone:
// no repeat of it can come, so a no-op under it appends nothing (a finance
// system that re-sends its data without keys does not fill the log).
func TestNoOpUnderAFreshRequestIDAppendsNothing(t *testing.T) {
	r := newRig(t)
	r.employees(t, 1)
	ic := testIC(0)
	r.run(t, paymentLine("p1", "P1", ic)+"\n"+slipLine("i1", "S1", ic, 1)+"\n")
	r.src.FreshRequestIDs = true
	before, _ := r.store.LastPosition(context.Background())
	res, sum := r.run(t, amendmentLine("api.1", "P1", ic, "45000")+"\n"+correctionLine("api.2", "S1", ic, "N19")+"\n")
	after, _ := r.store.LastPosition(context.Background())
	if sum.Duplicates != 2 || before != after {
		t.Errorf("no-ops under fresh IDs: %+v, log %d → %d", res, before, after)
	}
}

// resendAfterLaterChanges runs batch1 (a payment P1 and a statement S1 for
// ic, each line then one that repeats it: answered accepted, duplicate,
// accepted, duplicate), then batch 2 (P1 amended to 470.00, S1 corrected to
// grade N22), then batch1 again: every line is a duplicate, nothing is
// appended, and batch 2's changes stand.
func resendAfterLaterChanges(t *testing.T, r *rig, ic, batch1 string) {
	t.Helper()
	res, _ := r.run(t, batch1)
	want := []ingest.Outcome{ingest.Accepted, ingest.Duplicate, ingest.Accepted, ingest.Duplicate}
	for i, w := range want {
		if res[i].Outcome != w {
			t.Errorf("batch 1, line %d: %+v, want %s", i+1, res[i], w)
		}
	}
	res, sum := r.run(t, amendmentLine("a2", "P1", ic, "47000")+"\n"+correctionLine("c2", "S1", ic, "N22")+"\n")
	if sum.Accepted != 2 {
		t.Fatalf("batch 2: %+v", res)
	}

	before, _ := r.store.LastPosition(context.Background())
	res, sum = r.run(t, batch1)
	after, _ := r.store.LastPosition(context.Background())
	for _, got := range res {
		if got.Outcome != ingest.Duplicate {
			t.Errorf("batch 1 again, line %d: %+v, want duplicate", got.Line, got)
		}
	}
	if sum.Duplicates != 4 || before != after {
		t.Errorf("batch 1 again: summary %+v, log %d → %d", sum, before, after)
	}
	p := payment.New()
	r.replay(t, payment.Stream("P1"), p)
	s := statement.New()
	r.replay(t, statement.Stream("S1"), s)
	if p.Details().AmountSen != 47000 || s.Content().Payee.Grade != "N22" || s.Revision() != 2 {
		t.Errorf("after batch 1 again: amount %d, grade %s, revision %d; want batch 2's 47000, N22, 2",
			p.Details().AmountSen, s.Content().Payee.Grade, s.Revision())
	}
}

// replay rebuilds agg from stream.
func (r *rig) replay(tb testing.TB, stream string, agg interface{ Apply(eventlog.Event) error }) {
	tb.Helper()
	recs, err := r.store.ReadStream(context.Background(), stream, 1, eventlog.Forwards, 100)
	if err != nil {
		tb.Fatal(err)
	}
	for _, rec := range recs {
		env, err := r.runner.Registry.Decode(rec)
		if err != nil {
			tb.Fatal(err)
		}
		if err := agg.Apply(env.Event); err != nil {
			tb.Fatal(err)
		}
	}
}

// Given batch 1 whose payment and statement lines were each sent twice
// under two request IDs (the second answered duplicate, recording
// nothing), and batch 2 that then amended the payment and corrected the
// statement, when batch 1 is sent again, then its lines are answered
// duplicate, not conflict: they ask for the payment and the statement as
// they were recorded, which is done; nothing is appended and batch 2's
// changes stay. Other content still conflicts.
func TestResentDuplicateRecordAfterAChangeIsADuplicate(t *testing.T) {
	r := newRig(t)
	r.employees(t, 1)
	ic := testIC(0)
	batch1 := strings.Join([]string{
		paymentLine("p1", "P1", ic),
		paymentLine("p1-again", "P1", ic),
		slipLine("i1", "S1", ic, 1),
		slipLine("i1-again", "S1", ic, 1),
	}, "\n") + "\n"
	resendAfterLaterChanges(t, r, ic, batch1)

	other := strings.Replace(paymentLine("p1-other", "P1", ic), "45000", "46000", 1) + "\n" +
		strings.Replace(slipLine("i1-other", "S1", ic, 1), `"grade":"N19"`, `"grade":"N29"`, 1) + "\n"
	res, _ := r.run(t, other)
	for _, got := range res {
		if got.Outcome != ingest.Rejected || got.Code != ingest.CodeConflict {
			t.Errorf("other content, line %d: %+v, want conflict", got.Line, got)
		}
	}
}
