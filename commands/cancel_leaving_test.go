package commands_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/infra/security"
)

// Given an administrator whose retirement on 3 March was reported, when it
// is cancelled the day before, then LeavingCancelled names the date, a
// repeat appends nothing, and past the old date they still log in with
// their role and no end to their session; a leaver's date that has come is
// not cancelled, nor is a date nobody recorded.
func TestCancelLeaving(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	secret := f.makeAdmin()
	f.ok(f.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: f.system(), IC: adminIC, Date: "2026-03-03", Reason: "Bersara"}))
	f.ok(f.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: f.system(), IC: nurulIC, Date: "2026-03-03", Reason: "Meletak jawatan"}))
	cancel := func(m commands.Meta, ic, reason string) (commands.Result, error) {
		return f.h.CancelLeaving.Handle(ctx, commands.CancelLeaving{Meta: m, IC: ic, Reason: reason})
	}

	var fe *employee.FieldError
	if _, err := cancel(f.system(), "12345", ""); !errors.As(err, &fe) || fe.Field != "ic" {
		t.Fatalf("bad IC: %v", err)
	}
	if _, err := cancel(f.system(), adminIC, strings.Repeat("r", 501)); !errors.As(err, &fe) || fe.Field != "reason" {
		t.Fatalf("long reason: %v", err)
	}
	if _, err := cancel(f.user(sitiIC), adminIC, ""); !errors.Is(err, commands.ErrForbidden) {
		t.Fatalf("a user cancelled: %v", err)
	}
	if _, err := cancel(f.system(), strangerIC, ""); !errors.Is(err, employee.ErrNotRecorded) {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := cancel(f.system(), sitiIC, ""); !errors.Is(err, employee.ErrNoLeavingDate) {
		t.Fatalf("no date: %v", err)
	}

	m := f.system()
	res, err := cancel(m, adminIC, "Perkhidmatan dilanjutkan")
	if err != nil || res.Appended != 1 {
		t.Fatalf("cancel: %+v %v", res, err)
	}
	evs := f.events(employee.Stream(adminIC))
	want := employee.LeavingCancelled{IC: adminIC, Date: "2026-03-03", Reason: "Perkhidmatan dilanjutkan", CommandID: m.CommandID.String()}
	if last := evs[len(evs)-1]; last.Event != want || last.Metadata.Actor != m.Actor {
		t.Fatalf("event %#v, actor %+v", last.Event, last.Metadata.Actor)
	}
	if again, err := cancel(m, adminIC, "Perkhidmatan dilanjutkan"); err != nil || again.Appended != 0 {
		t.Fatalf("repeat: %+v %v", again, err)
	}
	if _, err := cancel(m, adminIC, "lain"); !errors.Is(err, employee.ErrCommandReused) {
		t.Fatalf("reused: %v", err)
	}
	if _, err := cancel(f.system(), adminIC, ""); !errors.Is(err, employee.ErrNoLeavingDate) {
		t.Fatalf("cancelled twice: %v", err)
	}

	f.advance(15 * time.Hour) // 00:00 on 3 March in Melaka
	out, _, err := f.h.LogIn.LogIn(ctx, commands.LogIn{Meta: f.anon(), UserID: adminIC, Password: "pentadbir sistem melaka"})
	if err != nil || !out.SecondFactorRequired {
		t.Fatalf("password step: %+v %v", out, err)
	}
	code, _ := security.TOTP{}.Code(secret, f.clock())
	g, _, err := f.h.VerifyTOTP.Verify(ctx, commands.VerifyTOTP{Meta: f.user(adminIC), UserID: adminIC, Code: code})
	if err != nil || !reflect.DeepEqual(g.Roles, []account.Role{account.RoleAdmin}) || !g.ServiceEnds.IsZero() {
		t.Fatalf("grant past the cancelled date: %+v %v", g, err)
	}
	// Nurul's date came: she left, and a cancellation is refused.
	if _, err := cancel(f.admin(), nurulIC, ""); !errors.Is(err, employee.ErrLeftService) {
		t.Fatalf("after the date: %v", err)
	}
}

// Given a record with no leaving date, when a cancellation comes under a
// client's request ID, then it is refused (no date) and the refusal is
// recorded under it; when a date has since been reported and the same
// request comes again, then it gets the same refusal, nothing is appended
// and the date stands. Before, the resend cancelled that date. Under a
// server-made ID a refusal records nothing.
func TestRefusedCancellationIsRefusedAgainUnderItsRequestID(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	keyed := f.system() // FreshID unset: the sender may send it again
	cancel := commands.CancelLeaving{Meta: keyed, IC: sitiIC, Reason: "Tarik balik"}
	res, err := f.h.CancelLeaving.Handle(ctx, cancel)
	if !errors.Is(err, employee.ErrNoLeavingDate) || res.Appended != 1 {
		t.Fatalf("cancel with no date: %+v %v", res, err)
	}
	f.ok(f.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: f.system(), IC: sitiIC, Date: "2026-03-03", Reason: "Meletak jawatan"}))
	before := f.types(employee.Stream(sitiIC))

	res, err = f.h.CancelLeaving.Handle(ctx, cancel)
	if !errors.Is(err, employee.ErrNoLeavingDate) || res.Appended != 0 {
		t.Fatalf("resent: %+v %v, want the first refusal", res, err)
	}
	got := f.types(employee.Stream(sitiIC))
	if !reflect.DeepEqual(got, before) || got[len(got)-2] != "employee.CancellationRefused.v1" || got[len(got)-1] != "employee.StaffLeftService.v1" {
		t.Fatalf("events %v, want the refusal then the date, and nothing after", got)
	}

	fresh := f.system()
	fresh.FreshID = true
	if res, err := f.h.CancelLeaving.Handle(ctx, commands.CancelLeaving{Meta: fresh, IC: nurulIC}); !errors.Is(err, employee.ErrNoLeavingDate) || res.Appended != 0 {
		t.Fatalf("cancel with no date under a fresh ID: %+v %v", res, err)
	}
}
