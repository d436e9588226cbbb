package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/commands/commandstest"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/http/api"
)

// A keyed PUT stored before the upgrade (its event ID of the old
// derivation) and retried after it still answers as it did: 201 created at
// its position, nothing appended. The original event is found by the
// command ID it was caused by, not by an event ID.
func TestPutRetriedAfterTheUpgradeAnswersAsStored(t *testing.T) {
	r := newRig(t)
	const key = "put-lama-1"
	old := r.runner
	old.Store = commandstest.LegacyIDs{EventStore: r.events}
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
