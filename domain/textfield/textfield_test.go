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
		{"a\x00b", 20, true, "", "contains a control or invisible character"},
		{"baris\nkedua", 20, true, "", "contains a control or invisible character"},
		{"Aras 3\u202e, Seri Negeri", 40, true, "", "contains a control or invisible character"},
		{"\u200b", 20, true, "", "contains a control or invisible character"},
		{"\u200f\u200e", 20, true, "", "shows nothing: only invisible characters"},
		{"Aras 3\u200f, Seri Negeri", 40, true, "Aras 3\u200f, Seri Negeri", ""},
	}
	for _, c := range cases {
		got, reason := Check(c.in, c.max, c.required)
		if got != c.want || reason != c.reason {
			t.Errorf("Check(%q, %d, %v) = %q, %q; want %q, %q", c.in, c.max, c.required, got, reason, c.want, c.reason)
		}
	}
}

// Hidden: what hides or turns text around, refused in every shown
// free-text field (a master name with U+202E was created); the joiners,
// the direction marks and the soft hyphen hide nothing and stay (Jawi
// text needs them). Visible: a value made only of such characters shows
// nothing (an office of only U+200F was saved, and shown blank).
func TestHidden(t *testing.T) {
	for _, r := range []rune{0, '\n', '\u007f', '\u0085', '\u2028', '\u2029', '\u200b', '\u202a', '\u202e',
		'\u2060', '\u2066', '\u2069', '\ufeff', '\u3164', '\u2800', 0xe0041} {
		if !Hidden(r) {
			t.Errorf("%U is not refused", r)
		}
	}
	for _, r := range []rune{'a', ' ', 'é', 'ஆ', 'ج', '中', '\u200c', '\u200d', '\u00a0', '\u200e', '\u200f', '\u061c', '\u00ad'} {
		if Hidden(r) {
			t.Errorf("%U is refused", r)
		}
	}
	for s, want := range map[string]bool{"Siti": true, "7": true, "-": true, "\u200f\u200e": false, "\u200d\u200c": false,
		"\ufe0f": false, "\u034f": false, "  ": false, "\u0633\u200f": true} {
		if Visible(s) != want {
			t.Errorf("Visible(%q) = %v", s, !want)
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
