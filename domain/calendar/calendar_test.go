package calendar_test

import (
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/calendar"
)

func TestTodayIsTheDateInMelaka(t *testing.T) {
	// 16:30 UTC is 00:30 the next day in Melaka.
	if got := calendar.Today(time.Date(2026, 3, 1, 16, 30, 0, 0, time.UTC)); got != "2026-03-02" {
		t.Fatalf("Today = %s, want 2026-03-02", got)
	}
	if got := calendar.StartOf("2026-03-02"); !got.Equal(time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC)) {
		t.Fatalf("StartOf = %s", got)
	}
	if !calendar.StartOf("2026-02-30").IsZero() || !calendar.StartOf("").IsZero() {
		t.Fatal("a malformed date has a start")
	}
}

func TestCheck(t *testing.T) {
	// 00:30 on 2 March in Melaka, still 1 March in UTC: a year ahead is
	// 2 March 2027 whatever the hour.
	now := time.Date(2026, 3, 1, 16, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		in       string
		required bool
		want     string
		reason   string
	}{
		{" 2026-03-02 ", true, "2026-03-02", ""},
		{"2027-03-02", true, "2027-03-02", ""},
		{"2027-03-03", true, "", "is more than a year in the future"},
		{"1990-01-01", true, "1990-01-01", ""},
		{"1989-12-31", true, "", "is before 1990"},
		{"", false, "", ""},
		{"  ", true, "", "is required (YYYY-MM-DD)"},
		{"2026-02-30", true, "", `must be a date written YYYY-MM-DD, got "2026-02-30"`},
		{"2026-3-2", true, "", `must be a date written YYYY-MM-DD, got "2026-3-2"`},
		{"02/03/2026", true, "", `must be a date written YYYY-MM-DD, got "02/03/2026"`},
	} {
		got, reason := calendar.Check(c.in, now, 1990, c.required)
		if got != c.want || reason != c.reason {
			t.Errorf("Check(%q) = %q, %q; want %q, %q", c.in, got, reason, c.want, c.reason)
		}
	}
	// A huge value is not echoed whole.
	if _, reason := calendar.Check(strings.Repeat("9", 10_000), now, 1990, true); len(reason) > 100 {
		t.Fatalf("reason echoes %d bytes", len(reason))
	}
}
