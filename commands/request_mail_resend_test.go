package commands_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// parkedRegistration is the resend of Nurul's registration mail, as the
// mailer would have parked it.
func parkedRegistration(t *testing.T, f *accts) account.MailResend {
	t.Helper()
	for _, env := range f.events(f.accountStream(nurulIC)) {
		if ev, ok := env.Event.(account.TemporaryPasswordIssued); ok {
			return account.MailResend{ParkedEventID: env.ID.String(), MailEventID: env.ID.String(), MailPosition: env.Position, Kind: string(ev.Reason), TempID: ev.TempID}
		}
	}
	t.Fatal("no temporary password issued")
	return account.MailResend{}
}

// TestRequestMailResend: given a registration whose mail was parked, when
// an administrator has it sent again, then MailResendRequested is recorded
// with the administrator as actor; staff may not; two resends of the same
// dead letter at once let exactly one through; a mail whose temporary
// password was replaced, or has expired, is refused.
func TestRequestMailResend(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.makeAdmin()
	f.register(nurulIC, "pentadbiran.jkr@melaka.gov.my")
	parked := parkedRegistration(t, f)
	resend := func(m commands.Meta, r account.MailResend) error {
		_, err := f.h.RequestMailResend.Handle(ctx, commands.RequestMailResend{Meta: m, UserID: nurulIC, Resend: r})
		return err
	}
	if err := resend(f.user(nurulIC), parked); !errors.Is(err, commands.ErrForbidden) {
		t.Fatalf("staff resend: %v", err)
	}

	// Two operators at once (the console and the admin page): the
	// stream's expected version serialises them, and the second sees the
	// first's resend under way.
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { errs[i] = resend(f.admin(), parked) })
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("two resends at once: %v, %v; want exactly one through", errs[0], errs[1])
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, account.ErrResendUnderWay) {
			t.Fatalf("the second resend: %v, want ErrResendUnderWay", err)
		}
	}
	evs := f.events(f.accountStream(nurulIC))
	last := evs[len(evs)-1]
	want := account.MailResendRequested{UserID: nurulIC, ParkedEventID: parked.ParkedEventID, MailEventID: parked.MailEventID, MailPosition: parked.MailPosition, Kind: "registration", At: f.clock()}
	if last.Event != want || last.Metadata.Actor != (eventlog.Actor{Kind: eventlog.ActorAdmin, ID: adminIC}) {
		t.Fatalf("resend event %+v by %+v", last.Event, last.Metadata.Actor)
	}

	f.advance(account.ResendLease)
	if err := resend(f.admin(), parked); err != nil {
		t.Fatalf("resend after the lease (the first sender stopped): %v", err)
	}
	f.advance(24 * time.Hour)
	if err := resend(f.admin(), parked); !errors.Is(err, account.ErrMailExpired) {
		t.Fatalf("resend of an expired temporary password: %v", err)
	}
	f.ok(f.h.IssueTemporaryPassword.Handle(ctx, commands.IssueTemporaryPassword{Meta: f.admin(), UserID: nurulIC}))
	if err := resend(f.admin(), parked); !errors.Is(err, account.ErrMailSuperseded) {
		t.Fatalf("resend of a replaced temporary password: %v", err)
	}
}
