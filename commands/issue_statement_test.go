package commands_test

import (
	"context"
	"errors"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/statement"
)

func TestIssueStatement(t *testing.T) {
	f := newFinance(t)
	ctx := context.Background()
	h := commands.IssueStatementHandler{Runner: f.runner, Payees: f.payees}

	res, err := h.Handle(ctx, commands.IssueStatement{Meta: finMeta("i1"), StatementID: "SG-2025-02-1", Content: finSlip()})
	if err != nil || res.Appended != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	ev := f.events("statement-SG-2025-02-1")
	if len(ev) != 1 {
		t.Fatalf("%d events", len(ev))
	}
	is := ev[0].Event.(statement.Issued)
	if is.StatementID != "SG-2025-02-1" || is.Totals.NetSen != 410000 || is.Payee.IC != finIC {
		t.Fatalf("%+v", is)
	}

	// The same request, and the same content under a new request: nothing.
	for _, r := range []string{"i1", "i2"} {
		if res, err := h.Handle(ctx, commands.IssueStatement{Meta: finMeta(r), StatementID: "SG-2025-02-1", Content: finSlip()}); err != nil || res.Appended != 0 {
			t.Fatalf("%s: %+v %v", r, res, err)
		}
	}
	// Different content under the same ID needs a correction.
	c := finSlip()
	c.Payee.Post = "Akauntan"
	if _, err := h.Handle(ctx, commands.IssueStatement{Meta: finMeta("i3"), StatementID: "SG-2025-02-1", Content: c}); !errors.Is(err, statement.ErrAlreadyIssued) {
		t.Fatal(err)
	}
	// And under the first request's ID it is not taken for its repeat.
	if res, err := h.Handle(ctx, commands.IssueStatement{Meta: finMeta("i1"), StatementID: "SG-2025-02-1", Content: c}); !errors.Is(err, statement.ErrCommandReused) || res.Appended != 0 {
		t.Fatalf("reused request ID: %+v %v", res, err)
	}
	if n := len(f.events("statement-SG-2025-02-1")); n != 1 {
		t.Fatalf("%d events", n)
	}
}

func TestIssueStatementRefusals(t *testing.T) {
	f := newFinance(t)
	ctx := context.Background()
	h := commands.IssueStatementHandler{Runner: f.runner, Payees: f.payees}

	c := finSlip()
	c.Totals.NetSen = 999
	_, err := h.Handle(ctx, commands.IssueStatement{Meta: finMeta("i1"), StatementID: "S1", Content: c})
	var fe *statement.FieldError
	if !errors.As(err, &fe) || fe.Field != "totals.net_sen" {
		t.Fatal(err)
	}
	c = finSlip()
	c.Payee.IC = "900202051234"
	_, err = h.Handle(ctx, commands.IssueStatement{Meta: finMeta("i2"), StatementID: "S1", Content: c})
	var up *commands.UnknownPayeeError
	if !errors.As(err, &up) || up.Field != "payee.ic" {
		t.Fatal(err)
	}
	if n := len(f.events("statement-S1")); n != 0 {
		t.Fatalf("%d events", n)
	}
}
