// Package eventlogtest helps tests of the domain packages check events as
// the store gives them back.
package eventlogtest

import (
	"testing"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// RoundTrip encodes e through reg and decodes it again, as an append and a
// read of the store do, and returns its type name and the envelope read.
func RoundTrip(t testing.TB, reg *eventlog.Registry, e eventlog.Event) (string, eventlog.Envelope) {
	t.Helper()
	typ, data, err := reg.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	env, err := reg.Decode(eventlog.Record{Type: typ, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	return typ, env
}
