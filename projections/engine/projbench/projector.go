package projbench

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/projections"
)

// StatusChanged is the bench's event: a payment (advance or claim) moves to
// a new status, shaped like the portal's payment events.
type StatusChanged struct {
	Staff  string `json:"staff"`
	Module string `json:"module"`
	Status string `json:"status"`
	Amount int64  `json:"amount"`
}

// EventType names the bench event.
func (StatusChanged) EventType() string { return "bench.PaymentStatusChanged.v1" }

// Registry holds the bench's event type.
func Registry() *eventlog.Registry {
	reg := eventlog.NewRegistry()
	eventlog.Register[StatusChanged](reg)
	return reg
}

// ProjectorName names the bench projector.
const ProjectorName = "bench_payments"

// Projector keeps what the "Status Bayaran" page reads: one document per
// payment (advance or claim) with its current status and how many changes it
// went through, indexed by staff, module and status — one read and one
// write per event, as most of the portal's projectors do.
type Projector struct{}

var _ projections.Projector = Projector{}

func (Projector) Name() string      { return ProjectorName }
func (Projector) Handles() []string { return []string{StatusChanged{}.EventType()} }
func (Projector) Collections() []projections.CollectionSpec {
	return []projections.CollectionSpec{
		{Name: "bench_payment", Indexes: []string{"staff", "module", "status"}},
	}
}

type paymentDoc struct {
	Staff   string `json:"staff"`
	Module  string `json:"module"`
	Status  string `json:"status"`
	Amount  int64  `json:"amount"`
	Changes int    `json:"changes"`
}

func (Projector) Project(ctx context.Context, b projections.Batch, env eventlog.Envelope) error {
	ev, ok := env.Event.(StatusChanged)
	if !ok {
		return fmt.Errorf("bench projector: unexpected %T", env.Event)
	}
	var p paymentDoc
	doc, found, err := b.Get(ctx, "bench_payment", env.Stream)
	if err != nil {
		return err
	}
	if found {
		if env.Version <= doc.Version {
			return nil
		}
		if err := json.Unmarshal(doc.Body, &p); err != nil {
			return err
		}
	}
	p.Staff, p.Module, p.Status, p.Amount = ev.Staff, ev.Module, ev.Status, ev.Amount
	p.Changes++
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return b.Put(ctx, "bench_payment", projections.Doc{
		ID: env.Stream, Version: env.Version, Body: body,
		Fields: map[string]any{"staff": p.Staff, "module": p.Module, "status": p.Status},
	})
}
