package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
)

// RequestMailResend records that an operator has a mail the mailer parked
// (a dead letter) sent again: the record comes before the mail goes out, so
// it is the resend's audit trail and its claim (see account.RequestMailResend).
type RequestMailResend struct {
	Meta   Meta // Actor: the administrator, or the console operator
	UserID string
	Resend account.MailResend
}

// RequestMailResendHandler records account.MailResendRequested with the
// operator as actor; the caller then sends the mail. Errors:
// account.ErrMailSuperseded, account.ErrMailExpired (the mail's temporary
// password no longer works: do not send it), account.ErrMailAddressLeft
// (the account's e-mail moved away from the mail's address), account.ErrResendUnderWay,
// account.ErrNotFound, account.ErrInvalid, ErrForbidden.
type RequestMailResendHandler struct {
	Runner Runner
}

var _ Handler[RequestMailResend] = RequestMailResendHandler{}

// Handle runs the command.
func (h RequestMailResendHandler) Handle(ctx context.Context, cmd RequestMailResend) (Result, error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return Result{}, err
	}
	if err := authorizeAdmin(ctx, h.Runner, cmd.Meta, false); err != nil {
		return Result{}, err
	}
	return Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error { return a.RequestMailResend(cmd.Resend, now) })
}
