package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/http/httpx"
)

// TestConflictOnAPageIsNotAFault: a record that kept changing under a
// command through all its retries (commands.ErrConflict) saved nothing;
// the page says so and asks to try again, instead of "Sistem tidak dapat
// diakses" with an incident as for a fault of ours.
func TestConflictOnAPageIsNotAFault(t *testing.T) {
	m := httpx.NewErrorMap(Rules())
	p := m.Map(fmt.Errorf("unlock: %w: account-7", commands.ErrConflict))
	if p.Status != http.StatusConflict || p.Code != "concurrent_change" || p.Internal || p.Incident != "" {
		t.Fatalf("conflict mapped to %+v, want 409 concurrent_change, not internal", p)
	}
	if !strings.Contains(p.Message.MS, "cuba sebentar lagi") || !strings.Contains(p.Message.MS, "Tiada perubahan disimpan") {
		t.Fatalf("Malay message %q", p.Message.MS)
	}
}
