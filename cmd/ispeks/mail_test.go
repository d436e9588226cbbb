package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/infra/mail"
	"github.com/melaka-gov/ispeks/infra/mail/mailtest"
)

// TestMailParkedAndResend: the portal's mailer parks a temporary-password
// mail the department's full mailbox refuses ("552 5.2.2 Mailbox full");
// `mail parked` lists it with the address and IC masked and never the
// password; once the mailbox accepts, `mail resend` — run while the portal
// serves — delivers it exactly once through the same SMTP server, clears the
// dead letter and records the resend in the account's history with the
// console operator as actor (projections status lists the dead letter
// masked as well). A second resend is a no-op that says so, and
// the running portal sends nothing again; an unknown position is an error.
func TestMailParkedAndResend(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const box = "kewangan@melaka.gov.my"
	relay := mailtest.StartRelay(t)
	relay.Refuse(box, 552, smtp.EnhancedCode{5, 2, 2}, "Mailbox full")
	// The console is given the portal's configuration.
	base := []string{"--data", dir, "--log-level", "error", "--smtp", "smtp://" + relay.Addr + "?starttls=off", "--base-url", "https://ispeks.example.test"}
	run := func(args ...string) (string, error) { return executeOut(ctx, append(base, args...)...) }

	out, err := run("admin", "create", "--ic", "800101-14-1234", "--email", box,
		"--name", "Siti Pentadbir", "--department", "Jabatan Kewangan", "--post", "Pegawai", "--staff-number", "A0001")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	temp := lines[len(lines)-1]

	// On a failure the test's context ends serve.
	stop := serveInBackground(t, ctx, dir, base[4:]...)
	list := waitParked(t, run)
	row := regexp.MustCompile(`(?m)^(\d+)\s+(\S+)\s+800101-14-\*\*\*\*\s+k\*\*\*@melaka\.gov\.my\s.*Mailbox full`).FindStringSubmatch(list)
	if row == nil {
		t.Fatalf("mail parked:\n%s\nwant a row with the position, kind, masked IC and address, and the reason", list)
	}
	for _, secret := range []string{box, "800101141234", temp} {
		if strings.Contains(list, secret) {
			t.Fatalf("mail parked shows %q:\n%s", secret, list)
		}
	}
	pos := row[1]
	// projections status counts and lists it too, as readably masked.
	status, err := run("projections", "status")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^mailer\s+\d+\s+\d+\s+\d+\s+1\s`).MatchString(status) ||
		!regexp.MustCompile(`(?m)^mailer\s+`+pos+`\s+account\.\S+\s+account-800101-14-\*\*\*\*\s.*Mailbox full`).MatchString(status) ||
		!strings.Contains(status, "ispeks mail parked") {
		t.Fatalf("projections status:\n%s\nwant the mailer's dead letter counted and listed, masked", status)
	}
	for _, secret := range []string{box, "800101141234", temp, "{"} {
		if strings.Contains(status, secret) {
			t.Fatalf("projections status shows %q:\n%s", secret, status)
		}
	}

	relay.Refuse(box, 0, smtp.EnhancedCode{}, "") // the department emptied its mailbox
	// A console without the portal's SMTP settings refuses: it would write
	// the mail to a file, clear the dead letter and leave the person
	// without it. Nothing is recorded; the mail stays parked.
	noSMTP := []string{"--data", dir, "--log-level", "error", "--base-url", "https://ispeks.example.test", "mail", "resend", pos}
	if _, err := executeOut(ctx, noSMTP...); err == nil || !strings.Contains(err.Error(), "--to-outbox") {
		t.Fatalf("mail resend without --smtp: %v, want a refusal naming --to-outbox", err)
	}
	if list, err := run("mail", "parked"); err != nil || !strings.Contains(list, pos) {
		t.Fatalf("mail parked after the refused resend: %v\n%s", err, list)
	}
	out, err = run("mail", "resend", pos)
	if err != nil || !strings.Contains(out, "position "+pos+": "+row[2]+" mail to k***@melaka.gov.my sent again") || !strings.Contains(out, "dead letter cleared") || strings.Contains(out, box) {
		t.Fatalf("mail resend %s: %v\n%s", pos, err, out)
	}
	got := relay.Messages()
	if len(got) != 1 || got[0].To[0] != box || !strings.Contains(string(got[0].Data), temp) || !strings.Contains(string(got[0].Data), "https://ispeks.example.test") {
		t.Fatalf("relay received %d mails, want the resent temporary password once", len(got))
	}

	out, err = run("mail", "resend", pos)
	if err != nil || !strings.Contains(out, "nothing to do") || !strings.Contains(out, "already resent by cli:") {
		t.Fatalf("second mail resend %s: %v\n%s", pos, err, out)
	}
	if out, err := run("mail", "parked"); err != nil || !strings.Contains(out, "no parked mail") {
		t.Fatalf("mail parked after the resend: %v\n%s", err, out)
	}
	if _, err := run("mail", "resend", "99999"); err == nil || err.Error() != "position 99999: mail: no parked mail at that position (ispeks mail parked lists them)" {
		t.Fatalf("resend of an unknown position: %v", err)
	}
	if _, err := run("mail", "resend", "99998", pos); err == nil || !strings.Contains(err.Error(), "1 of 2 parked mails not sent") || !strings.Contains(err.Error(), "position 99998: mail: no parked mail") {
		t.Fatalf("resend of an unknown and a resent position: %v", err)
	}
	for _, bad := range [][]string{{"mail", "resend"}, {"mail", "resend", "abc"}, {"mail", "resend", "--all", pos}} {
		if _, err := run(bad...); err == nil {
			t.Fatalf("ispeks %s succeeded", strings.Join(bad, " "))
		}
	}
	if out, err := run("mail", "resend", "--all"); err != nil || !strings.Contains(out, "no parked mail") {
		t.Fatalf("mail resend --all with nothing parked: %v\n%s", err, out)
	}

	hist, err := run("audit", "history", "--ic", "800101141234", "--all")
	if err != nil || !strings.Contains(hist, "mail_resent") {
		t.Fatalf("audit history lacks the resend: %v\n%s", err, hist)
	}
	stop()
	if n := len(relay.Messages()); n != 1 {
		t.Fatalf("relay received %d mails in the end, want 1: the portal sent the parked mail again", n)
	}
}

// TestMailParkedNotesEveryMailAResendRefuses: `mail parked` notes each
// temporary password a resend would not send (expired, replaced or used,
// or for an address the account left), not only an expired one; a mail a
// resend would send has no note.
func TestMailParkedNotesEveryMailAResendRefuses(t *testing.T) {
	at := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	list := []mail.ParkedMail{
		{Position: 11, Kind: "registration", ParkedAt: at, Reason: "r", WillNotSend: account.ErrMailSuperseded},
		{Position: 12, Kind: "forgot_password", ParkedAt: at, Reason: "r", WillNotSend: account.ErrMailExpired},
		{Position: 13, Kind: "admin_issued", ParkedAt: at, Reason: "r", WillNotSend: account.ErrMailAddressLeft, ResendOf: 9},
		{Position: 14, Kind: "admin_issued", ParkedAt: at, Reason: "r", Expires: at.Add(24 * time.Hour)},
	}
	var out strings.Builder
	if err := printParked(&out, list); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`(?m)^11\s.*\spassword replaced or used: will not be sent\s`,
		`(?m)^12\s.*\spassword expired: will not be sent\s`,
		`(?m)^13\s.*\sresend of 9; address no longer the account's: will not be sent\s`,
		`(?m)^14\s.*\s-\s+r$`,
	} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("mail parked:\n%s\nwant a line matching %s", out.String(), want)
		}
	}
}

// TestMailParkedNotesAReplacedPassword: a registration mail to a closed
// mailbox is parked; an administrator then issues a new temporary password.
// `mail resend` would refuse the parked one (replaced), and `mail parked`
// says so beside it, as it does for an expired one.
func TestMailParkedNotesAReplacedPassword(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const box = "bekas.pegawai@melaka.gov.my"
	relay := mailtest.StartRelay(t)
	relay.Refuse(box, 550, smtp.EnhancedCode{5, 1, 1}, "No such user")
	base := []string{"--data", dir, "--log-level", "error", "--smtp", "smtp://" + relay.Addr + "?starttls=off", "--base-url", "https://ispeks.example.test"}
	run := func(args ...string) (string, error) { return executeOut(ctx, append(base, args...)...) }
	if _, err := run("admin", "create", "--ic", "800101-14-1234", "--email", box,
		"--name", "Siti Pentadbir", "--department", "Jabatan Kewangan", "--post", "Pegawai", "--staff-number", "A0001"); err != nil {
		t.Fatal(err)
	}
	stop := serveInBackground(t, ctx, dir, base[4:]...)
	list := waitParked(t, run)
	stop()
	if strings.Contains(list, "will not be sent") {
		t.Fatalf("mail parked before the new password:\n%s\nwant no note", list)
	}
	if _, err := run("admin", "temporary-password", "--ic", "800101141234"); err != nil {
		t.Fatal(err)
	}
	list, err := run("mail", "parked")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^\d+\s+\S+\s+800101-14-\*\*\*\*\s.*\spassword replaced or used: will not be sent\s.*No such user`).MatchString(list) {
		t.Fatalf("mail parked after a new password was issued:\n%s\nwant the parked mail noted as not to be sent", list)
	}
}

// waitParked runs `mail parked` until it lists a mail, and returns its list.
func waitParked(t *testing.T, run func(args ...string) (string, error)) string {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		list, err := run("mail", "parked")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(list, "no parked mail") {
			return list
		}
		if time.Now().After(deadline) {
			t.Fatal("the mailer parked nothing")
		}
	}
}
