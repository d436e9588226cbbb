package commands_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
)

func TestForgotPassword(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	f.advance(time.Hour)
	res := f.ok(f.h.ForgotPassword.Handle(ctx, commands.ForgotPassword{Meta: f.anon(), IC: "791117-04-5671"}))
	if res.Appended != 1 {
		t.Fatalf("result %+v", res)
	}
	temp, ev := f.tempPassword(sitiIC)
	if ev.Reason != account.TempForgot || !ev.ExpiresAt.Equal(f.clock().Add(24*time.Hour)) {
		t.Fatalf("event %+v", ev)
	}
	// The current password keeps working until the temporary one is used,
	out, err := f.logIn(sitiIC, sitiPassword)
	if err != nil || out.MustChangePassword {
		t.Fatalf("old password: %+v %v", out, err)
	}
	// the temporary one leads to a password change,
	out, err = f.logIn(sitiIC, temp)
	if err != nil || !out.MustChangePassword || out.MustActivate {
		t.Fatalf("temporary password: %+v %v", out, err)
	}
	// and from then on the old one no longer works.
	if _, err := f.logIn(sitiIC, sitiPassword); !errors.Is(err, account.ErrWrongPassword) {
		t.Fatalf("old password after the temporary one was used: %v", err)
	}
}

// Unknown ID, locked account, a second request within the cool-down: the
// same answer (nil), one hash each, and nothing issued.
func TestForgotPasswordAlwaysAnswersTheSame(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	f.activate(nurulIC, "pentadbiran.jkr@melaka.gov.my", "jalan raya melaka tengah")
	for i := 0; i < 3; i++ {
		_, _ = f.logIn(nurulIC, "salah")
	}
	f.ok(f.h.ForgotPassword.Handle(ctx, commands.ForgotPassword{Meta: f.anon(), IC: sitiIC}))
	for _, ic := range []string{strangerIC, nurulIC, sitiIC} {
		before := f.hasher.Computed()
		res, err := f.h.ForgotPassword.Handle(ctx, commands.ForgotPassword{Meta: f.anon(), IC: ic})
		if err != nil || res.Appended != 0 {
			t.Fatalf("%s: %+v %v", ic, res, err)
		}
		if f.hasher.Computed()-before != 1 {
			t.Fatalf("%s: %d hashes", ic, f.hasher.Computed()-before)
		}
	}
	if n := len(f.events("account-" + strangerIC)); n != 0 {
		t.Fatal("unknown ID got a stream")
	}
	// After the cool-down a new one is issued, replacing the unused one.
	first, _ := f.tempPassword(sitiIC)
	f.advance(account.ForgotCooldown)
	f.ok(f.h.ForgotPassword.Handle(ctx, commands.ForgotPassword{Meta: f.anon(), IC: sitiIC}))
	second, _ := f.tempPassword(sitiIC)
	if first == second {
		t.Fatal("same temporary password twice")
	}
	if _, err := f.logIn(sitiIC, first); !errors.Is(err, account.ErrWrongPassword) {
		t.Fatalf("replaced temporary password: %v", err)
	}
	if _, err := f.h.ForgotPassword.Handle(ctx, commands.ForgotPassword{Meta: f.anon(), IC: "12"}); err == nil {
		t.Fatal("malformed IC accepted")
	}
}

// A person who left service gets the same answer and nothing is issued:
// their official mailbox may be closed, handed on or shared. Their own
// password still opens their slips and statements.
func TestForgotPasswordIssuesNothingAfterLeavingService(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	f.ok(f.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: f.system(), IC: sitiIC, Date: "2026-01-31", Reason: "Bersara"}))
	f.advance(time.Hour)
	before := f.hasher.Computed()
	res, err := f.h.ForgotPassword.Handle(ctx, commands.ForgotPassword{Meta: f.anon(), IC: sitiIC})
	if err != nil || res.Appended != 0 {
		t.Fatalf("forgot after leaving: %+v %v", res, err)
	}
	if f.hasher.Computed()-before != 1 {
		t.Fatalf("%d hashes, want 1 like any other answer", f.hasher.Computed()-before)
	}
	if out, err := f.logIn(sitiIC, sitiPassword); err != nil || out.MustChangePassword {
		t.Fatalf("own password after leaving: %+v %v", out, err)
	}
	// Rejoined: Lupa Kata Laluan works again.
	f.ok(f.h.PutStaff.Handle(ctx, commands.PutStaff{Meta: f.system(), Details: employee.Details{IC: sitiIC, Name: "Siti Aminah binti Omar",
		Email: "siti.aminah@melaka.gov.my", Department: "Jabatan Kewangan dan Perbendaharaan", Post: "Pegawai Kewangan", StaffNumber: "JKPN-0042"}}))
	if res := f.ok(f.h.ForgotPassword.Handle(ctx, commands.ForgotPassword{Meta: f.anon(), IC: sitiIC})); res.Appended != 1 {
		t.Fatalf("forgot after rejoining: %+v", res)
	}
}

// Lupa Kata Laluan still mails someone whose leaving date is ahead (their
// official mailbox is theirs until then), and nothing from that date on.
func TestForgotPasswordUntilTheLeavingDate(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	f.ok(f.h.StaffLeftService.Handle(ctx, commands.StaffLeftService{Meta: f.system(), IC: sitiIC, Date: "2026-03-03", Reason: "Bersara"}))
	f.advance(time.Hour)
	if res := f.ok(f.h.ForgotPassword.Handle(ctx, commands.ForgotPassword{Meta: f.anon(), IC: sitiIC})); res.Appended != 1 {
		t.Fatalf("forgot before the leaving date: %+v", res)
	}
	f.advance(14 * time.Hour)
	if res := f.ok(f.h.ForgotPassword.Handle(ctx, commands.ForgotPassword{Meta: f.anon(), IC: sitiIC})); res.Appended != 0 {
		t.Fatalf("forgot on the leaving date: %+v", res)
	}
}
