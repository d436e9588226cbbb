package apiclient_test

import (
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/domain/apiclient"
)

// FuzzParseToken: bearer tokens come from outside. ParseToken must never
// panic, and whatever it accepts names a valid client ID that prefixes the
// token.
func FuzzParseToken(f *testing.F) {
	f.Add("isp_payroll_" + strings.Repeat("A", 43))
	f.Add("isp_a_b_c")
	f.Add("isp_")
	f.Add("")
	f.Add("isp_payroll_" + strings.Repeat("_", 43))
	f.Fuzz(func(t *testing.T, tok string) {
		id, err := apiclient.ParseToken(tok)
		if err != nil {
			return
		}
		if apiclient.ValidateID(id) != nil || !strings.HasPrefix(tok, "isp_"+id+"_") {
			t.Fatalf("accepted %q with client ID %q", tok, id)
		}
		if apiclient.VerifyToken(tok, apiclient.HashToken(tok+"x")) {
			t.Fatal("a token verified against another token's hash")
		}
	})
}
