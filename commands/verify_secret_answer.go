package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
)

// VerifySecretAnswer is the helpdesk's check of a caller: the administrator
// types what the caller answers to their secret question.
type VerifySecretAnswer struct {
	Meta   Meta // Actor: the administrator
	UserID string
	Answer string
}

// VerifySecretAnswerHandler records account.SecretAnswerChecked (verified or
// not) and returns the verdict; the stored answer is never shown. Errors:
// *account.FieldError on "answer", account.ErrNotActivated,
// account.ErrAnswerChecksExhausted (too many wrong answers in a row: the
// check is paused), account.ErrNotFound, ErrForbidden.
type VerifySecretAnswerHandler struct {
	Runner   Runner
	Security AccountSecurity
}

var _ Handler[VerifySecretAnswer] = VerifySecretAnswerHandler{}

// Handle runs the command.
func (h VerifySecretAnswerHandler) Handle(ctx context.Context, cmd VerifySecretAnswer) (Result, error) {
	_, res, err := h.Verify(ctx, cmd)
	return res, err
}

// Verify runs the command and returns whether the answer was right.
func (h VerifySecretAnswerHandler) Verify(ctx context.Context, cmd VerifySecretAnswer) (bool, Result, error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return false, Result{}, err
	}
	if answer := account.NormalizeAnswer(cmd.Answer); answer == "" || len(answer) > 4*account.MaxAnswer {
		return false, Result{}, &account.FieldError{Field: "answer", Code: "required", Reason: "type the caller's answer (at most 100 characters)"}
	}
	if err := authorizeAdmin(ctx, h.Runner, cmd.Meta, false); err != nil {
		return false, Result{}, err
	}
	check := newSecretCheck(ctx, h.Security.Hasher, account.NormalizeAnswer(cmd.Answer))
	var verified bool
	res, err := Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error {
			var err error
			verified, err = a.CheckSecretAnswer(check.Verify, now)
			return err
		})
	return verified && err == nil, res, err
}
