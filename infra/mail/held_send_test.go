package mail_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/infra/mail"
	"github.com/melaka-gov/ispeks/infra/mail/mailtest"
)

// A server that reads a mail's data and then holds its answer back (a hung
// content filter) must not keep a send running: the mailer holds a lease,
// and a send that outlived it could be answered after another process took
// the lease over and sent the same mail again.

// TestSMTPSenderAbandonsAHeldSendWhenItsContextEnds: the send's context
// ends while the server holds the answer (the mailer lost its lease, or the
// portal stops). Send returns with a retryable error and closes the
// connection, so the server's late answer delivers nothing; sent again, the
// mail goes out once.
func TestSMTPSenderAbandonsAHeldSendWhenItsContextEnds(t *testing.T) {
	pki := mailtest.NewPKI(t)
	srv := mailtest.Start(t, pki, false, "")
	// A timeout longer than the test: only the context can end this send.
	sender, err := mail.NewSMTPSender(smtpURL("smtp", srv.User, srv.Pass, srv.Addr, "timeout=10m"), pki.Client)
	if err != nil {
		t.Fatal(err)
	}
	msg := composed(testComposer().AccountLocked(aminah, time.Now(), 3))
	srv.HoldData()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sender.Send(ctx, msg) }()
	srv.WaitHeld(t)
	cancel()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("Send still running 10s after its context ended; the server answering now accepts the mail: %v", srv.Answer(t))
	}
	if !errors.Is(err, context.Canceled) || errors.Is(err, mail.ErrRejected) || errors.Is(err, mail.ErrDeferred) {
		t.Fatalf("err = %v, want a retryable error saying the send was cancelled", err)
	}
	if srv.Answer(t) {
		t.Fatal("the server's late answer delivered the abandoned mail")
	}
	if err := sender.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages(); len(got) != 1 || parseMail(t, got[0].Data).Header.Get("Message-Id") != "<"+msg.MessageID+">" {
		t.Fatalf("%d mails delivered, want the mail sent again, once", len(got))
	}
}

// TestSMTPSenderBoundsTheWholeExchangeByItsTimeout: with no context to end
// it, a held send ends at the URL's timeout, with a retryable error, and
// leaves no connection open for the server's late answer to deliver the
// mail through (go-mail's own QUIT fails after a timeout and would leave
// it open); sent again, the mail goes out once.
func TestSMTPSenderBoundsTheWholeExchangeByItsTimeout(t *testing.T) {
	pki := mailtest.NewPKI(t)
	srv := mailtest.Start(t, pki, false, "")
	sender, err := mail.NewSMTPSender(smtpURL("smtp", srv.User, srv.Pass, srv.Addr, "timeout=2s"), pki.Client)
	if err != nil {
		t.Fatal(err)
	}
	msg := composed(testComposer().AccountLocked(aminah, time.Now(), 3))
	srv.HoldData()
	err = sender.Send(context.Background(), msg)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, mail.ErrRejected) || errors.Is(err, mail.ErrDeferred) {
		t.Fatalf("err = %v, want a retryable error saying the send timed out", err)
	}
	if srv.Answer(t) {
		t.Fatal("the server's late answer delivered the timed-out mail: its retry would deliver it twice")
	}
	if err := sender.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("%d mails delivered, want the mail sent again, once", n)
	}
}

// TestConsumerRetriesAMailTheServerHeldUp: the mailer's send times out on
// a held DATA; the event comes again and the mail goes out, once: the
// held attempt's late answer delivers nothing.
func TestConsumerRetriesAMailTheServerHeldUp(t *testing.T) {
	rig := newMailRig(t)
	srv := mailtest.StartRelay(t)
	rig.run(relaySender(t, srv, "&timeout=1s"))
	srv.HoldData()
	_, rec := rig.issue("850101045566", "Aminah binti Yusof", "aminah@melaka.gov.my", "Held-Temp-1234", account.TempRegistration)
	srv.WaitHeld(t)
	rig.waitCheckpoint(rec.Position)
	if srv.Answer(t) {
		t.Fatal("the held attempt's late answer delivered the mail a second time")
	}
	if got := countTo(srv.Messages()); len(srv.Messages()) != 1 || got["aminah@melaka.gov.my"] != 1 {
		t.Fatalf("delivered %v, want the mail once", got)
	}
}

// TestAProcessThatStopsMidSendLeavesTheMailToTheNext: two portal processes
// run the mailer; the server holds its answer to the mail the lease
// holder sends, and the holder stops (as one whose lease runs out does).
// Its send ends with it, the other process takes the lease over and sends
// the mail, and the server's late answer to the first send delivers
// nothing: the person gets the mail once.
func TestAProcessThatStopsMidSendLeavesTheMailToTheNext(t *testing.T) {
	rig := newMailRig(t)
	srv := mailtest.StartRelay(t)
	stopA := rig.run(relaySender(t, srv, ""))
	srv.HoldData()
	_, rec := rig.issue("850101045566", "Aminah binti Yusof", "aminah@melaka.gov.my", "Held-Temp-1234", account.TempRegistration)
	srv.WaitHeld(t) // the only process running sends it
	events2, views2 := rig.reopen()
	rig.runOn(events2, views2, relaySender(t, srv, ""))
	stopA()
	rig.waitCheckpoint(rec.Position)
	if srv.Answer(t) {
		t.Fatal("the stopped process's send ran on and was delivered after the other process sent the mail")
	}
	if got := countTo(srv.Messages()); len(srv.Messages()) != 1 || got["aminah@melaka.gov.my"] != 1 {
		t.Fatalf("delivered %v, want the mail once", got)
	}
}
