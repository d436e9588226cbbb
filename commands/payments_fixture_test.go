package commands_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/domain/statement"
	"github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
)

// finance is the fixture of the payment and statement command tests: a real
// SQLite event store in a temporary directory, a registry with the payment
// and statement events, and a clock fixed at finNow.
type finance struct {
	t      *testing.T
	store  *sqlite.Store
	reg    *eventlog.Registry
	runner commands.Runner
	payees commands.PayeeDirectory
}

var finNow = time.Date(2025, 3, 10, 2, 0, 0, 0, time.UTC)

const finIC = "880101045678"

func newFinance(t *testing.T) *finance {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	reg := eventlog.NewRegistry()
	payment.Register(reg)
	statement.Register(reg)
	f := &finance{
		t:      t,
		store:  store,
		reg:    reg,
		runner: commands.Runner{Store: store, Registry: reg, Now: func() time.Time { return finNow }},
		payees: commands.EmployeeStreams{Store: store},
	}
	f.givenEmployee(finIC)
	return f
}

// givenEmployee puts an event on employee-<ic>. The payee check only asks
// whether that stream has an event, so the event's type is the fixture's.
func (f *finance) givenEmployee(ic string) {
	f.t.Helper()
	_, err := f.store.Append(context.Background(), "employee-"+ic, eventlog.NoStream(), []eventlog.Proposed{{
		ID: uuid.New(), Type: "employee.Imported.v1", OccurredAt: finNow,
		Data: json.RawMessage(`{"ic":"` + ic + `"}`), Metadata: eventlog.Metadata{Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "test"}},
	}})
	if err != nil {
		f.t.Fatal(err)
	}
}

// given runs commands that must succeed.
func (f *finance) given(run func() (commands.Result, error)) {
	f.t.Helper()
	if _, err := run(); err != nil {
		f.t.Fatalf("given: %v", err)
	}
}

// events decodes every event of a stream.
func (f *finance) events(stream string) []eventlog.Envelope {
	f.t.Helper()
	recs, err := f.store.ReadStream(context.Background(), stream, 1, eventlog.Forwards, 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	out := make([]eventlog.Envelope, len(recs))
	for i, r := range recs {
		if out[i], err = f.reg.Decode(r); err != nil {
			f.t.Fatal(err)
		}
	}
	return out
}

func finMeta(request string) commands.Meta {
	return commands.Meta{
		CommandID: commands.ClientCommandID("payroll", request),
		Actor:     eventlog.Actor{Kind: eventlog.ActorClient, ID: "payroll"},
	}
}

func finPayment() payment.Details {
	return payment.Details{
		Module: payment.Pendahuluan, Type: payment.PendahuluanDiri, VoucherNo: "BV-1", VoucherDate: "2025-03-01",
		Description: "Pendahuluan diri", AmountSen: 150000, PayeeIC: "880101-04-5678",
	}
}

func finSlip() statement.Content {
	return statement.Content{
		Type:       statement.SlipGajiBulanan,
		Period:     statement.Period{Year: 2025, Month: 2},
		Payee:      statement.Payee{IC: finIC, Name: "Siti binti Ahmad", StaffNo: "MLK1", Department: "JKPNM", Post: "Pegawai Kewangan"},
		Employer:   statement.Employer{Name: "Kerajaan Negeri Melaka"},
		Earnings:   []statement.Line{{Name: "Gaji Pokok", AmountSen: 400000}, {Name: "ITKA", AmountSen: 30000}},
		Deductions: []statement.Line{{Name: "PCB", AmountSen: 20000}},
		Totals:     statement.Totals{EarningsSen: 430000, DeductionsSen: 20000, NetSen: 410000},
	}
}
