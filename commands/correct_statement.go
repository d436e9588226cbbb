package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/statement"
)

// CorrectStatement supersedes an issued statement with new content.
type CorrectStatement struct {
	Meta        Meta
	StatementID string
	Content     statement.Content
	Reason      string
}

// CorrectStatementHandler runs CorrectStatement. The payee cannot change,
// so no employee look-up is needed.
type CorrectStatementHandler struct {
	Runner Runner
}

var _ Handler[CorrectStatement] = CorrectStatementHandler{}

// Handle runs the command.
func (h CorrectStatementHandler) Handle(ctx context.Context, cmd CorrectStatement) (Result, error) {
	if err := statement.ValidateID(cmd.StatementID); err != nil {
		return Result{}, err
	}
	return Execute(ctx, h.Runner, statement.Stream(cmd.StatementID), statement.New, cmd.Meta,
		func(s *statement.Statement, now time.Time) error {
			return s.Correct(cmd.Meta.CommandID, cmd.Content, cmd.Reason, now)
		})
}
