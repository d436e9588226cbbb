package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
)

// UnlockAccount is the administrator's unlock, with a reason.
type UnlockAccount struct {
	Meta   Meta // Actor: the administrator
	UserID string
	Reason string
}

// UnlockAccountHandler records account.AccountUnlocked with the
// administrator as actor. Errors: *account.FieldError on "reason" (required,
// at most 500 characters), account.ErrNotLocked, account.ErrNotFound,
// ErrForbidden.
type UnlockAccountHandler struct {
	Runner Runner
}

var _ Handler[UnlockAccount] = UnlockAccountHandler{}

// Handle runs the command.
func (h UnlockAccountHandler) Handle(ctx context.Context, cmd UnlockAccount) (Result, error) {
	ic, err := parseUserID("user_id", cmd.UserID)
	if err != nil {
		return Result{}, err
	}
	if _, err := account.CheckReason(cmd.Reason); err != nil {
		return Result{}, err
	}
	if err := authorizeAdmin(ctx, h.Runner, cmd.Meta, false); err != nil {
		return Result{}, err
	}
	return Execute(ctx, h.Runner, account.Stream(ic), account.New, cmd.Meta,
		func(a *account.Account, now time.Time) error { return a.Unlock(cmd.Reason, now) })
}
