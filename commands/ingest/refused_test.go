package ingest_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/commands/ingest"
)

// Given batch 1 with a status move refused as illegal (P1 in Diterima
// asked to go to Diluluskan) and batch 2 that then moved P1 to Dalam
// Proses, when batch 1 is sent again, then every line gets the answer it
// got the first time (the record a duplicate now, the move the same
// illegal_move from Diterima) and nothing is appended. Before, the refused
// line was decided anew and approved the payment. Under fresh request IDs
// (API writes without a key) a refusal appends nothing.
func TestResentBatchRefusesItsRefusedLinesAgain(t *testing.T) {
	r := newRig(t)
	r.employees(t, 1)
	ic := testIC(0)
	batch1 := receivedLine("p1", "P1", ic) + "\n" + changeLine("m1", "P1", `"status":"diluluskan"`) + "\n"
	first, _ := r.run(t, batch1)
	if first[1].Outcome != ingest.Rejected || first[1].Code != ingest.CodeIllegalMove || first[1].CurrentStatus != "diterima" {
		t.Fatalf("batch 1: %+v", first)
	}
	r.run(t, changeLine("m2", "P1", `"status":"dalam-proses"`)+"\n")
	before, _ := r.store.LastPosition(context.Background())

	again, sum := r.run(t, batch1)
	after, _ := r.store.LastPosition(context.Background())
	if before != after {
		t.Fatalf("re-sent batch appended: %d → %d", before, after)
	}
	if again[0].Outcome != ingest.Duplicate || sum.Accepted != 0 {
		t.Fatalf("re-sent record: %+v", again[0])
	}
	want := first[1]
	if !reflect.DeepEqual(again[1], want) {
		t.Fatalf("re-sent move: %+v\nwant the first answer %+v", again[1], want)
	}
	if !strings.Contains(again[1].Reason, "Diterima") {
		t.Fatalf("re-sent move: %q does not name the status it was refused in", again[1].Reason)
	}

	r.src.FreshRequestIDs = true
	res, _ := r.run(t, changeLine("api.1", "P1", `"status":"dihantar-ke-bank"`)+"\n")
	if last, _ := r.store.LastPosition(context.Background()); res[0].Code != ingest.CodeIllegalMove || last != after {
		t.Fatalf("refusal under a fresh ID: %+v, log %d → %d", res[0], after, last)
	}
}
