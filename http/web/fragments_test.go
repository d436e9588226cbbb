package web

import "testing"

func TestSqueezeSpaceKeepsOneLineBreakPerRun(t *testing.T) {
	cases := []struct{ in, want string }{
		{"<ul>\n  <li>a</li>\n\n    <li>b c</li>\n</ul>\n", "<ul>\n<li>a</li>\n<li>b c</li>\n</ul>\n"},
		{"<p>two  spaces stay</p>", "<p>two  spaces stay</p>"},
		{"a \t\r\n \n b", "a\nb"},
		{"<pre>\n  kept\n</pre>", "<pre>\n  kept\n</pre>"},
		{"<textarea>\n  kept</textarea>", "<textarea>\n  kept</textarea>"},
		{"", ""},
	}
	for _, c := range cases {
		if got := squeezeSpace(c.in); got != c.want {
			t.Errorf("squeezeSpace(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
