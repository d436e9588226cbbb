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
	c, err := cmd.Content.Normalize(h.Runner.Now())
	if err != nil {
		return Result{}, err
	}
	if err := checkPayee(ctx, h.Payees, c.Payee.IC, "payee.ic"); err != nil {
		return Result{}, err
	}
	return ExecuteCreate(ctx, h.Runner, statement.Stream(cmd.StatementID), statement.New, cmd.Meta,
		func(s *statement.Statement, now time.Time) error {
			return s.Issue(cmd.StatementID, cmd.Meta.CommandID, c, now)
		})
}
