package statement_test

import (
	"errors"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/eventlog/eventlogtest"
	"github.com/melaka-gov/ispeks/domain/statement"
)

// A command ID that already recorded a change is a repeat only when it asks
// for that same change; anything else under it is ErrCommandReused and
// records nothing.

func TestIssueUnderAUsedCommandID(t *testing.T) {
	s := issued(t) // by cmd(0)
	if err := s.Issue("S1", cmd(0), slip(), now.Add(48*time.Hour)); err != nil {
		t.Fatalf("repeat: %v", err)
	}
	other := slip()
	other.Payee.Grade = "WA44"
	if err := s.Issue("S1", cmd(0), other, now); !errors.Is(err, statement.ErrCommandReused) {
		t.Fatalf("other content: %v", err)
	}
	k, err := other.Check(now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.IssueChecked("S1", cmd(0), k); !errors.Is(err, statement.ErrCommandReused) {
		t.Fatalf("other checked content: %v", err)
	}
	if err := s.Correct(cmd(1), other, "Gred dinaikkan", now); err != nil {
		t.Fatal(err)
	}
	if err := s.Issue("S1", cmd(1), slip(), now); !errors.Is(err, statement.ErrCommandReused) {
		t.Fatalf("issue under a correction's ID: %v", err)
	}
	if n := len(s.Uncommitted()); n != 1 {
		t.Fatalf("%d events, want the correction only", n)
	}
}

func TestCorrectUnderAUsedCommandID(t *testing.T) {
	s := issued(t)
	first := slip()
	first.Payee.Grade = "WA44"
	if err := s.Correct(cmd(1), first, "Gred dinaikkan", now); err != nil {
		t.Fatal(err)
	}
	second := first
	second.PayDate = "2025-02-26"
	if err := s.Correct(cmd(2), second, "Tarikh bayar", now); err != nil {
		t.Fatal(err)
	}
	// The first correction again, after the second: a repeat, not a revert.
	if err := s.Correct(cmd(1), first, " Gred dinaikkan ", now.Add(24*time.Hour)); err != nil {
		t.Fatalf("repeat: %v", err)
	}
	other := first
	other.Payee.Grade = "WA48"
	for name, try := range map[string]func() error{
		"other content":  func() error { return s.Correct(cmd(1), other, "Gred dinaikkan", now) },
		"other reason":   func() error { return s.Correct(cmd(1), first, "Sebab lain", now) },
		"the issue's ID": func() error { return s.Correct(cmd(0), other, "x", now) },
	} {
		if err := try(); !errors.Is(err, statement.ErrCommandReused) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n, rev := len(s.Uncommitted()), s.Revision(); n != 2 || rev != 3 || s.Content().PayDate != "2025-02-26" {
		t.Fatalf("%d events, revision %d, content %+v", n, rev, s.Content())
	}
}

// Given a correction that changed nothing when it came (the statement
// already had that content) and a later correction that changed it, when
// the first is sent again (a re-sent batch), then it is answered as a
// repeat: nothing recorded, the later content stays. Before, the first
// recorded nothing under its ID, so the resend was applied as a new
// revision and undid the later correction.
func TestUnchangedCorrectionSentAgainAfterAChange(t *testing.T) {
	s := issued(t)
	if err := s.Correct(cmd(1), slip(), "Semakan semula", now); err != nil {
		t.Fatal(err)
	}
	ev := s.Uncommitted()
	if len(ev) != 1 {
		t.Fatalf("unchanged correction: %d events, want its CorrectionUnchanged", len(ev))
	}
	u, ok := ev[0].(statement.CorrectionUnchanged)
	if !ok || u.StatementID != "S1" || u.CommandID != cmd(1).String() || u.Reason != "Semakan semula" || s.Revision() != 1 {
		t.Fatalf("unchanged correction recorded %+v, revision %d", ev[0], s.Revision())
	}
	later := slip()
	later.Payee.Grade = "WA44"
	if err := s.Correct(cmd(2), later, "Gred dinaikkan", now); err != nil {
		t.Fatal(err)
	}

	// The state rebuilt from the stream (through the registry) knows the
	// first command too.
	reg := eventlog.NewRegistry()
	statement.Register(reg)
	replayed := issued(t)
	for _, e := range s.Uncommitted() {
		typ, env := eventlogtest.RoundTrip(t, reg, e)
		if _, marker := e.(statement.CorrectionUnchanged); marker && typ != "statement.CorrectionUnchanged.v1" {
			t.Fatalf("event type %q", typ)
		}
		if err := replayed.Apply(env.Event); err != nil {
			t.Fatal(err)
		}
	}
	for name, agg := range map[string]*statement.Statement{"in memory": s, "replayed": replayed} {
		n := len(agg.Uncommitted())
		if err := agg.Correct(cmd(1), slip(), "Semakan semula", now.Add(24*time.Hour)); err != nil {
			t.Fatalf("%s: resent: %v", name, err)
		}
		if len(agg.Uncommitted()) != n || agg.Revision() != 2 || agg.Content().Payee.Grade != "WA44" {
			t.Fatalf("%s: resent: %d → %d events, revision %d, grade %s, want the later correction kept", name, n, len(agg.Uncommitted()), agg.Revision(), agg.Content().Payee.Grade)
		}
		other := slip()
		other.PayDate = "2025-02-27"
		if err := agg.Correct(cmd(1), other, "Semakan semula", now); !errors.Is(err, statement.ErrCommandReused) {
			t.Fatalf("%s: other content under the unchanged correction's ID: %v", name, err)
		}
	}
}

// Given a statement corrected after it was issued, when its issue is sent
// again under a request ID it never recorded (an issue line that was a
// duplicate when first sent, re-sent with its batch), then it is a
// duplicate: nothing recorded, the correction stands. Before, it was
// ErrAlreadyIssued (conflict). Other content still is.
func TestIssueAsFirstIssuedAfterACorrection(t *testing.T) {
	s := issued(t)
	corrected := slip()
	corrected.Payee.Grade = "WA44"
	if err := s.Correct(cmd(1), corrected, "Gred dibetulkan", now); err != nil {
		t.Fatal(err)
	}
	n := len(s.Uncommitted())
	if err := s.Issue("S1", cmd(2), slip(), now); err != nil || len(s.Uncommitted()) != n || s.Content().Payee.Grade != "WA44" {
		t.Fatalf("issue as first issued: %v, %d → %d events, grade %s", err, n, len(s.Uncommitted()), s.Content().Payee.Grade)
	}
	if err := s.Issue("S1", cmd(3), corrected, now); err != nil || len(s.Uncommitted()) != n {
		t.Fatalf("issue as corrected: %v", err)
	}
	other := slip()
	other.Payee.Grade = "WA48"
	if err := s.Issue("S1", cmd(4), other, now); !errors.Is(err, statement.ErrAlreadyIssued) {
		t.Fatalf("other content: %v", err)
	}
}
