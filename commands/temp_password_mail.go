package commands

import (
	"context"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
)

// TempPasswordMailCheck asks the account's stream, as it is now, whether a
// mail carrying a temporary password would still hand the person a working
// one (account.Account.TempPasswordMailWorks, the rule an operator's resend
// also obeys). The mailer asks it just before it sends, since a mail held
// up by an SMTP outage may go out long after its event. It records nothing.
type TempPasswordMailCheck struct {
	Runner Runner
}

// Check loads the account of userID and decides at now whether the mail of
// temporary password tempID to email may go: nil, or
// account.ErrMailSuperseded, account.ErrMailExpired,
// account.ErrMailAddressLeft; account.ErrNotFound; a read error.
func (h TempPasswordMailCheck) Check(ctx context.Context, userID, tempID, email string, now time.Time) error {
	ic, err := parseUserID("user_id", userID)
	if err != nil {
		return err
	}
	a := account.New()
	if _, err := load(ctx, h.Runner, account.Stream(ic), a); err != nil {
		return err
	}
	return a.TempPasswordMailWorks(tempID, email, now)
}
