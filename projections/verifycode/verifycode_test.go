package verifycode_test

import (
	"encoding/base32"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/projections/verifycode"
)

func TestFormatAndNormalize(t *testing.T) {
	const code = "TJ6DWMNQ7PK22IOK"
	if got := verifycode.Format(code); got != "TJ6D-WMNQ-7PK2-2IOK" {
		t.Fatalf("Format: %q", got)
	}
	for _, typed := range []string{
		"TJ6D-WMNQ-7PK2-2IOK", "tj6d-wmnq-7pk2-2iok", "TJ6D WMNQ 7PK2 2IOK", "TJ6DWMNQ7PK22IOK", " tj6dwmnq7pk22iok ",
		"T-J-6-D-W-M-N-Q-7-P-K-2-2-I-O-K",
		// Pasted from a word processor or a chat, which turn " - " into a
		// dash and keep no-break spaces and line ends.
		"TJ6D\u2013WMNQ\u20137PK2\u20132IOK", "TJ6D \u2014 WMNQ\u20117PK2\u22122IOK", "TJ6D\u00a0WMNQ\u202f7PK2\t2IOK\n", "TJ6D-WMNQ-\r\n7PK2-2IOK",
	} {
		if got := verifycode.Normalize(typed); got != code {
			t.Errorf("Normalize(%q) = %q, want %q", typed, got, code)
		}
	}
	for _, bad := range []string{
		"", "TJ6D-WMNQ-7PK2-2IO", "TJ6D-WMNQ-7PK2-2IOKA", // one short, one long
		"TJ6D-WMNQ-7PK2-2IO0", "TJ6D-WMNQ-7PK2-2IO1", "TJ6D-WMNQ-7PK2-2IO8", // not base32
		"TJ6D-WMNQ-7PK2-2ıOK", "TJ6D-WMNQ-7PK2-2IOſ", // upper-case to I and S, yet not ASCII
		"TJ6D_WMNQ_7PK2_2IOK", "TJ6D/WMNQ", "TJ6D\x00WMNQ7PK22IOK", strings.Repeat("-", 60) + "TJ6DWMNQ7PK22IOK",
	} {
		if got := verifycode.Normalize(bad); got != "" {
			t.Errorf("Normalize(%q) = %q, want \"\"", bad, got)
		}
	}
}

// FuzzNormalize: whatever is typed, Normalize gives "" or a code of the
// base32 alphabet that reads back as itself, printed or not; and a printed
// code always reads back.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"TJ6D-WMNQ-7PK2-2IOK", "tj6d wmnq 7pk2 2iok", "", "----", "ıııı", "TJ6D-WMNQ-7PK2-2IO0"} {
		f.Add(s)
	}
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	f.Fuzz(func(t *testing.T, s string) {
		got := verifycode.Normalize(s)
		if got != "" {
			if len(got) != verifycode.Len || strings.Trim(got, alphabet) != "" {
				t.Fatalf("Normalize(%q) = %q: not a code", s, got)
			}
			if verifycode.Normalize(got) != got || verifycode.Normalize(verifycode.Format(got)) != got {
				t.Fatalf("Normalize(%q) = %q does not read back", s, got)
			}
		}
		// Any 10 bytes, as the projections make a code, print and read back.
		b := []byte(s + "0123456789")[:10]
		code := base32.StdEncoding.EncodeToString(b)
		if verifycode.Normalize(verifycode.Format(code)) != code || verifycode.Normalize(strings.ToLower(code)) != code {
			t.Fatalf("code %q does not read back", code)
		}
	})
}

// A public check shows a name's initials only: no whole word, not even a
// one-word name's.
func TestMaskName(t *testing.T) {
	for in, want := range map[string]string{
		"Siti Nurhaliza binti Ahmad": "S*** N*** b*** A***",
		"Ravi":                       "R***",
		"Tan  Ah Kow":                "T*** A*** K***",
		"Muthu a/l Rajan":            "M*** a*** R***",
		"Élodie Ñúñez":               "É*** Ñ***",
		"":                           "",
	} {
		if got := verifycode.MaskName(in); got != want {
			t.Errorf("MaskName(%q) = %q, want %q", in, got, want)
		}
	}
}
