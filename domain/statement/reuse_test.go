package statement_test

import (
	"errors"
	"testing"
	"time"

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
