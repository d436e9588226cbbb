package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/projections/engine"
)

// A projector's dead letters say what to do about them: once the
// projector is fixed, a rebuild projects the events again and clears them.
func TestStatusSaysHowToDealWithProjectorDeadLetters(t *testing.T) {
	st := []engine.Status{
		{Name: "payments", Kind: "projector", DeadLetters: []engine.DeadLetter{{
			Projector: "payments", Position: 7, Type: "payment.Amended.v1", Stream: "payment-x", Error: "boom", RecordedAt: time.Unix(0, 0),
		}}},
		{Name: "accounts", Kind: "projector"},
	}
	var out bytes.Buffer
	if err := printDeadLetters(&out, st); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ispeks projections rebuild payments") || strings.Contains(out.String(), "rebuild accounts") {
		t.Fatalf("status:\n%s\nwant the rebuild of payments, the projector with dead letters, named", out.String())
	}
}
