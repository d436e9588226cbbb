package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/statement"
)

// IssueStatement records a pay slip, bonus or special-aid statement, or an
// annual income statement.
type IssueStatement struct {
	Meta        Meta
	StatementID string
	Content     statement.Content
}

// IssueStatementHandler checks the payee is an employee and issues the
// statement.
type IssueStatementHandler struct {
	Runner Runner
	Payees PayeeDirectory
}

var _ Handler[IssueStatement] = IssueStatementHandler{}

// Handle runs the command. A repeat (same command ID, or the same content
// again) appends nothing.
func (h IssueStatementHandler) Handle(ctx context.Context, cmd IssueStatement) (Result, error) {
	if err := statement.ValidateID(cmd.StatementID); err != nil {
		return Result{}, err
	}
	// Field errors first: they are cheaper than the payee look-up and tell
	// the client everything wrong with the input itself. The content is
	// checked once, here, for both.
	k, err := cmd.Content.Check(h.Runner.Now())
	if err != nil {
		return Result{}, err
	}
	if err := checkPayee(ctx, h.Payees, k.PayeeIC(), "payee.ic"); err != nil {
		return Result{}, err
	}
	return ExecuteCreate(ctx, h.Runner, statement.Stream(cmd.StatementID), statement.New, cmd.Meta,
		func(s *statement.Statement, _ time.Time) error {
			return s.IssueChecked(cmd.StatementID, cmd.Meta.CommandID, k)
		})
}
