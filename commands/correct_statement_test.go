package commands_test

import (
	"context"
	"errors"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/statement"
)

func TestCorrectStatement(t *testing.T) {
	f := newFinance(t)
	ctx := context.Background()
	issue := commands.IssueStatementHandler{Runner: f.runner, Payees: f.payees}
	h := commands.CorrectStatementHandler{Runner: f.runner}
	f.given(func() (commands.Result, error) {
		return issue.Handle(ctx, commands.IssueStatement{Meta: finMeta("i1"), StatementID: "S1", Content: finSlip()})
	})

	c := finSlip()
	c.Deductions = append(c.Deductions, statement.Line{Name: "Zakat", AmountSen: 5000})
	c.Totals.DeductionsSen, c.Totals.NetSen = 25000, 405000
	res, err := h.Handle(ctx, commands.CorrectStatement{Meta: finMeta("c1"), StatementID: "S1", Content: c, Reason: "Potongan zakat tertinggal"})
	if err != nil || res.Appended != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	ev := f.events("statement-S1")
	if len(ev) != 2 {
		t.Fatalf("%d events", len(ev))
	}
	cor := ev[1].Event.(statement.Corrected)
	if cor.Revision != 2 || cor.Totals.NetSen != 405000 || cor.Reason != "Potongan zakat tertinggal" {
		t.Fatalf("%+v", cor)
	}
	// The first revision stays in the log.
	if ev[0].Event.(statement.Issued).Totals.NetSen != 410000 {
		t.Fatal("history lost")
	}
	if res, err := h.Handle(ctx, commands.CorrectStatement{Meta: finMeta("c1"), StatementID: "S1", Content: c, Reason: "Potongan zakat tertinggal"}); err != nil || res.Appended != 0 {
		t.Fatalf("repeat: %+v %v", res, err)
	}
	// Its request ID with another reason or content: refused, nothing appended.
	if res, err := h.Handle(ctx, commands.CorrectStatement{Meta: finMeta("c1"), StatementID: "S1", Content: c, Reason: "x"}); !errors.Is(err, statement.ErrCommandReused) || res.Appended != 0 {
		t.Fatalf("reused request ID: %+v %v", res, err)
	}
	if _, err := h.Handle(ctx, commands.CorrectStatement{Meta: finMeta("c2"), StatementID: "S404", Content: c, Reason: "x"}); !errors.Is(err, statement.ErrNotIssued) {
		t.Fatal(err)
	}
	c.Totals.NetSen = 1
	var fe *statement.FieldError
	if _, err := h.Handle(ctx, commands.CorrectStatement{Meta: finMeta("c3"), StatementID: "S1", Content: c, Reason: "x"}); !errors.As(err, &fe) || fe.Field != "totals.net_sen" {
		t.Fatal(err)
	}
	if n := len(f.events("statement-S1")); n != 2 {
		t.Fatalf("%d events", n)
	}
}
