package redact_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/infra/redact"
)

type person struct{ IC, Name string }

// TestHandler: no IC number reaches the wrapped handler, whatever carries
// it — the message, a string, an error, a struct, a group, an attribute
// added with With — and everything else arrives unchanged.
func TestHandler(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		var h slog.Handler = slog.NewTextHandler(&buf, nil)
		if format == "json" {
			h = slog.NewJSONHandler(&buf, nil)
		}
		log := slog.New(redact.Handler(h)).With("who", "791117045671").WithGroup("req")
		log.Error("login of 850203-14-5432 failed",
			"err", fmt.Errorf("accounts: %w", errors.New("readstore/sqlite: get accounts/900512015123: database is locked")),
			"subject", person{IC: "880808085577", Name: "Amin"},
			slog.Group("g", "ic", "820304105555", "n", 7),
			"position", 1234567890123, "status", 200, "route", "/utama",
			"file", "SLIP_860606065666.pdf", "key", "ic870707075777",
			"mailerr", errors.New("smtp: 452 4.2.2 mailbox full: siti.aminah@melaka.gov.my, kewangan+ops@jkptg.melaka.gov.my"))
		out := buf.String()
		for _, ic := range []string{"791117045671", "850203-14-5432", "900512015123", "880808085577", "820304105555", "860606065666", "870707075777"} {
			if strings.Contains(out, ic) {
				t.Errorf("%s: %s reached the log: %s", format, ic, out)
			}
		}
		for _, mail := range []string{"siti.aminah@melaka.gov.my", "kewangan+ops@jkptg.melaka.gov.my", "siti.aminah", "kewangan+ops"} {
			if strings.Contains(out, mail) {
				t.Errorf("%s: %s reached the log: %s", format, mail, out)
			}
		}
		for _, keep := range []string{"database is locked", "Amin", "1234567890123", "200", "/utama", "[IC]", "mailbox full", "[e-mel]", "SLIP_[IC].pdf", "ic[IC]"} {
			if !strings.Contains(out, keep) {
				t.Errorf("%s: %q lost: %s", format, keep, out)
			}
		}
	}
}
