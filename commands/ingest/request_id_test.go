package ingest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/commands/commandstest"
	"github.com/melaka-gov/ispeks/commands/ingest"
	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// allEvents reads the whole log.
func (r *rig) allEvents(tb testing.TB) []eventlog.Record {
	tb.Helper()
	recs, err := r.store.ReadAll(context.Background(), 0, 10000)
	if err != nil {
		tb.Fatal(err)
	}
	return recs
}

// A request ID is unique per record, not per client: the same request_id on
// two statements (or two payments) is two requests, both accepted, and
// their events have IDs of their own. Before, the SQLite store refused
// whichever line came second to commit (a race between lines run
// concurrently) and KurrentDB stored one event ID in both streams, which
// the NATS publisher then dropped.
func TestOneRequestIDOnTwoRecordsIsTwoRequests(t *testing.T) {
	r := newRig(t)
	r.employees(t, 3)
	in := strings.Join([]string{
		slipLine("gaji-1", "S1", testIC(0), 1),
		slipLine("gaji-1", "S2", testIC(1), 1),
		paymentLine("bayar-1", "P1", testIC(0)),
		paymentLine("bayar-1", "P2", testIC(1)),
		paymentLine("p3", "P3", testIC(2)),
		changeLine("bayar-1", "P3", `"status":"dalam-proses"`),
	}, "\n") + "\n"
	res, sum := r.run(t, in)
	for _, got := range res {
		if got.Outcome != ingest.Accepted {
			t.Errorf("line %d: %+v, want accepted", got.Line, got)
		}
	}
	if sum.Accepted != 6 {
		t.Errorf("summary %+v, want 6 accepted", sum)
	}
	recs := r.allEvents(t)
	if len(recs) != 3+6 { // the employees, then one event a line
		t.Errorf("%d events, want 9", len(recs))
	}
	seen := map[uuid.UUID]string{}
	for _, rec := range recs {
		if other, dup := seen[rec.ID]; dup {
			t.Errorf("event ID %s stored in %s and %s", rec.ID, other, rec.Stream)
		}
		seen[rec.ID] = rec.Stream
	}

	// The same batch again is all duplicates, each line answered on its own
	// record.
	before, _ := r.store.LastPosition(context.Background())
	res, sum = r.run(t, in)
	after, _ := r.store.LastPosition(context.Background())
	for _, got := range res {
		if got.Outcome != ingest.Duplicate {
			t.Errorf("again, line %d: %+v, want duplicate", got.Line, got)
		}
	}
	if sum.Duplicates != 6 || before != after {
		t.Errorf("again: summary %+v, log %d → %d", sum, before, after)
	}

	// A request ID is still one change per record: sent again with another
	// change to one of its records, it is refused on request_id.
	res, _ = r.run(t, strings.Replace(paymentLine("bayar-1", "P2", testIC(1)), "45000", "46000", 1)+"\n")
	if got := res[0]; got.Outcome != ingest.Rejected || got.Code != ingest.CodeConflict || got.Field != "request_id" {
		t.Errorf("another change under bayar-1 to P2: %+v, want a conflict on request_id", got)
	}
}

// A batch accepted before the upgrade and sent again after it is all
// duplicates: the payment and statement aggregates recognise a repeat by the
// command ID recorded in the event, which did not change, not by the event
// IDs, which did.
func TestBatchStoredWithOldEventIDsIsAllDuplicatesAfterTheUpgrade(t *testing.T) {
	r := newRig(t)
	r.employees(t, 2)
	old := r.runner
	old.Store = commandstest.LegacyIDs{EventStore: r.store}
	oldIngester := ingest.New(old, &commands.PayeeCache{Next: commands.EmployeeStreams{Store: r.store}})

	slip := slipLine("i1", "S1", testIC(0), 1)
	correction := strings.Replace(slip, `"kind":"statement","request_id":"i1","statement":`, `"kind":"statement_correction","request_id":"c1","correction":`, 1)
	correction = strings.Replace(correction, `"grade":"N19"`, `"grade":"N22"`, 1)
	correction = strings.Replace(correction, `"net_sen":285025}`, `"net_sen":285025},"reason":"Gred dinaikkan"`, 1)
	amendment := strings.Replace(paymentLine("a1", "P1", testIC(0)), `"kind":"payment","request_id":"a1","payment":`, `"kind":"payment_amendment","request_id":"a1","amendment":`, 1)
	amendment = strings.Replace(amendment, "45000", "47000", 1)
	in := strings.Join([]string{
		slip,
		correction,
		slipLine("i2", "S2", testIC(1), 1),
		paymentLine("p1", "P1", testIC(0)),
		amendment,
		changeLine("s1", "P1", `"status":"dalam-proses"`),
		changeLine("s2", "P1", `"status":"dibatalkan","reason":"Permohonan ditarik balik"`),
	}, "\n") + "\n"
	sum, err := oldIngester.Run(context.Background(), strings.NewReader(in), r.src, func(res ingest.Result) error {
		if res.Outcome != ingest.Accepted {
			t.Errorf("before the upgrade, line %d: %+v", res.Line, res)
		}
		return nil
	})
	if err != nil || sum.Accepted != 7 {
		t.Fatalf("before the upgrade: %+v, %v", sum, err)
	}
	for _, rec := range r.allEvents(t)[2:] {
		if rec.ID != uuid.NewSHA1(uuid.MustParse(rec.Metadata.CausationID), []byte("event-0")) {
			t.Fatalf("%s version %d has event ID %s, not the old derivation", rec.Stream, rec.Version, rec.ID)
		}
	}

	before, _ := r.store.LastPosition(context.Background())
	res, sum := r.run(t, in)
	after, _ := r.store.LastPosition(context.Background())
	for _, got := range res {
		if got.Outcome != ingest.Duplicate {
			t.Errorf("after the upgrade, line %d: %+v, want duplicate", got.Line, got)
		}
	}
	if sum.Duplicates != 7 || before != after {
		t.Errorf("after the upgrade: summary %+v, log %d → %d", sum, before, after)
	}
}
