package api_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/http/api"
)

// legacyIDs stores events with the event IDs the runner derived before the
// stream was part of them, as a log written by an older iSPEKS has them.
type legacyIDs struct{ commands.EventStore }

func (l legacyIDs) Append(ctx context.Context, stream string, expected eventlog.ExpectedVersion, events []eventlog.Proposed) (eventlog.AppendResult, error) {
	out := make([]eventlog.Proposed, len(events))
	for i, p := range events {
		p.ID = uuid.NewSHA1(uuid.MustParse(p.Metadata.CausationID), []byte("event-"+strconv.Itoa(i)))
		out[i] = p
	}
	return l.EventStore.Append(ctx, stream, expected, out)
}

// A keyed PUT stored before the upgrade (its event ID of the old
// derivation) and retried after it still answers as it did: 201 created at
// its position, nothing appended. The original event is found by the
// command ID it was caused by, not by an event ID.
func TestPutRetriedAfterTheUpgradeAnswersAsStored(t *testing.T) {
	r := newRig(t)
	const key = "put-lama-1"
	old := r.runner
	old.Store = legacyIDs{r.events}
	d := employee.Details{IC: sitiIC, Name: "Siti Aminah binti Omar", Email: "siti.aminah@melaka.gov.my",
		Department: "Jabatan Kewangan dan Perbendaharaan", Post: "Pegawai Kewangan", StaffNumber: "JKPN-0042"}
	// The command the API derives from the key (api.commandMeta).
	meta := commands.Meta{CommandID: commands.ClientCommandID(r.writeID, "PUT /employees/"+sitiIC+"\n"+key),
		Actor: eventlog.Actor{Kind: eventlog.ActorClient, ID: r.writeID}}
	stored, err := commands.PutStaffHandler{Runner: old}.Handle(context.Background(), commands.PutStaff{Meta: meta, Details: d})
	if err != nil || stored.Appended != 1 {
		t.Fatalf("before the upgrade: %+v, %v", stored, err)
	}
	if recs := r.stream(sitiIC); recs[0].ID != uuid.NewSHA1(meta.CommandID, []byte("event-0")) {
		t.Fatalf("stored event ID %s, not the old derivation", recs[0].ID)
	}

	head := r.head()
	w := r.do("PUT", sitiPath, r.writer, sitiBody, map[string]string{api.IdempotencyKeyHeader: key})
	res := decode[api.EmployeeResult](t, w)
	if w.Code != http.StatusCreated || res.Result != api.ResultCreated || res.Position != stored.Position || r.head() != head {
		t.Fatalf("retry after the upgrade: %d %s, head %d → %d; want 201 created at %d", w.Code, w.Body, head, r.head(), stored.Position)
	}
}
