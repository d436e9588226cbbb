package ingest_test

import (
	"bufio"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/commands/ingest"
)

func TestBlank(t *testing.T) {
	for in, want := range map[string]bool{
		"":                        true,
		"\n\r\n \t\n":             true,
		"\xef\xbb\xbf":            true,
		"\xef\xbb\xbf\n  \n":      true,
		"{}":                      false,
		"\n\n{}\n":                false,
		"\xef\xbb\xbf{}":          false,
		"\xef x":                  false, // not a byte-order mark
		" \xef\xbb\xbf":           false, // a mark only at the start
		strings.Repeat(" ", 5000): false, // past the buffer: left to Run
	} {
		if got := ingest.Blank(bufio.NewReaderSize(strings.NewReader(in), 4096)); got != want {
			t.Errorf("Blank(%q) = %v, want %v", in[:min(len(in), 20)], got, want)
		}
	}
}
