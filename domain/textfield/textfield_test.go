package textfield

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	cases := []struct {
		in       string
		max      int
		required bool
		want     string
		reason   string
	}{
		{"  Gaji Pokok ", 20, true, "Gaji Pokok", ""},
		{"", 20, false, "", ""},
		{"   ", 20, true, "", "is required"},
		{"\xff\xfe", 20, true, "", "is not valid UTF-8"},
		{strings.Repeat("é", 21), 20, true, "", "is 21 characters long (at most 20)"},
		{strings.Repeat("é", 20), 20, true, strings.Repeat("é", 20), ""},
		{"a\x00b", 20, true, "", "contains a control character"},
		{"baris\nkedua", 20, true, "", "contains a control character"},
	}
	for _, c := range cases {
		got, reason := Check(c.in, c.max, c.required)
		if got != c.want || reason != c.reason {
			t.Errorf("Check(%q, %d, %v) = %q, %q; want %q, %q", c.in, c.max, c.required, got, reason, c.want, c.reason)
		}
	}
}

func TestClip(t *testing.T) {
	if got := Clip("pendek"); got != "pendek" {
		t.Fatalf("short value changed: %q", got)
	}
	// 41 two-byte characters: cut at 40 characters, never inside one.
	long := strings.Repeat("é", 41)
	if got := Clip(long); got != strings.Repeat("é", 40)+"…" {
		t.Fatalf("Clip = %q", got)
	}
	// Nothing that drives a terminal gets through.
	if got := Clip("a\x1b[2Jb\u2028c\xffd"); got != "a?[2Jb?c\uFFFDd" {
		t.Fatalf("Clip = %q", got)
	}
}
