package downstream_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/downstream"
)

// TestWireChainLinksAreCheckable is what a subscriber can and cannot check:
// each event's prev is the hash of the one before it in its stream, also
// when the withheld source IP and user agent are set; the hash itself
// covers those fields, so only `audit verify` on the log can recompute it.
func TestWireChainLinksAreCheckable(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	const stream = "employee-900101141234"
	for i, name := range []string{"A", "B"} {
		data, _ := json.Marshal(employee.StaffRecorded{IC: "900101141234", Name: name, Email: "a@melaka.gov.my", Department: "D", Post: "P", StaffNumber: "S1"})
		if _, err := r.events.Append(ctx, stream, eventlog.Any(), []eventlog.Proposed{{
			ID: uuid.New(), Type: "employee.StaffRecorded.v1", OccurredAt: time.Now().UTC(), Data: data,
			Metadata: eventlog.Metadata{Actor: eventlog.Actor{Kind: eventlog.ActorClient, ID: "payroll"},
				SourceIP: "10.0.0." + string(rune('7'+i)), UserAgent: "payroll/1.0"},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := r.events.ReadStream(ctx, stream, 0, eventlog.Forwards, 10)
	if err != nil || len(recs) != 2 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	var got []downstream.WireEvent
	for _, rec := range recs {
		payload, _ := json.Marshal(downstream.Wire(rec))
		var w downstream.WireEvent
		if err := json.Unmarshal(payload, &w); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(payload), "10.0.0.") || strings.Contains(string(payload), "payroll/1.0") {
			t.Fatalf("source IP or user agent sent downstream: %s", payload)
		}
		got = append(got, w)
	}
	if got[0].Metadata.Prev != "" || got[1].Metadata.Prev != got[0].Metadata.Hash || got[1].Version != got[0].Version+1 {
		t.Fatalf("links: first prev %q, second prev %q, first hash %q", got[0].Metadata.Prev, got[1].Metadata.Prev, got[0].Metadata.Hash)
	}
	// The log itself verifies (what `audit verify` does).
	if b := eventlog.VerifyStream(recs); b != nil {
		t.Fatalf("log chain: %v", b)
	}
}
