package eventlog_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

// Test-only events: a claim whose shape changed twice.
type claimV3 struct {
	ClaimID   string `json:"claim_id"`
	AmountSen int64  `json:"amount_sen"`
	Currency  string `json:"currency"`
}

func (claimV3) EventType() string { return "claim.Submitted.v3" }

type loginFailed struct {
	UserID string `json:"user_id"`
	Reason string `json:"reason"`
}

func (loginFailed) EventType() string { return "account.LoginFailed.v1" }

type unregistered struct{}

func (unregistered) EventType() string { return "account.Unregistered.v1" }

// v1 had the amount in ringgit as a float; v2 in sen; v3 added the currency.
func upcastV1(data json.RawMessage) (json.RawMessage, error) {
	var v1 struct {
		ClaimID string  `json:"claim_id"`
		Amount  float64 `json:"amount"`
	}
	if err := json.Unmarshal(data, &v1); err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"claim_id": v1.ClaimID, "amount_sen": int64(v1.Amount*100 + 0.5)})
}

func upcastV2(data json.RawMessage) (json.RawMessage, error) {
	var v2 map[string]any
	if err := json.Unmarshal(data, &v2); err != nil {
		return nil, err
	}
	v2["currency"] = "MYR"
	return json.Marshal(v2)
}

func newRegistry() *eventlog.Registry {
	reg := eventlog.NewRegistry()
	eventlog.Register[claimV3](reg)
	eventlog.Register[loginFailed](reg)
	reg.RegisterUpcaster("claim.Submitted.v1", "claim.Submitted.v2", upcastV1)
	reg.RegisterUpcaster("claim.Submitted.v2", "claim.Submitted.v3", upcastV2)
	return reg
}

func record(typ string, data string) eventlog.Record {
	return eventlog.Record{
		ID: uuid.New(), Stream: "claim-1", Version: 1, Position: 7, Type: typ,
		OccurredAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Data: json.RawMessage(data),
	}
}

func TestRegistryEncodeDecodeRoundTrip(t *testing.T) {
	reg := newRegistry()
	in := loginFailed{UserID: "u-1", Reason: "wrong password"}
	name, data, err := reg.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if name != "account.LoginFailed.v1" || string(data) != `{"user_id":"u-1","reason":"wrong password"}` {
		t.Fatalf("encode: %s %s", name, data)
	}
	env, err := reg.Decode(record(name, string(data)))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := env.Event.(loginFailed)
	if !ok || got != in {
		t.Fatalf("decoded %#v, want %#v", env.Event, in)
	}
	if env.Type != name || string(env.Data) != string(data) || env.Position != 7 {
		t.Errorf("envelope %+v does not carry the record", env.Record)
	}
}

func TestRegistryTypesAndKnown(t *testing.T) {
	reg := newRegistry()
	if got := strings.Join(reg.Types(), ","); got != "account.LoginFailed.v1,claim.Submitted.v3" {
		t.Errorf("types: %s", got)
	}
	for name, want := range map[string]bool{
		"claim.Submitted.v3": true, "claim.Submitted.v1": true, "claim.Submitted.v2": true,
		"account.LoginFailed.v1": true, "account.LoginFailed.v2": false, "x.Y.v1": false,
	} {
		if reg.Known(name) != want {
			t.Errorf("Known(%s) = %v", name, !want)
		}
	}
}

func TestRegistryUnknownType(t *testing.T) {
	reg := newRegistry()
	_, _, err := reg.Encode(unregistered{})
	var ute *eventlog.UnknownTypeError
	if !errors.As(err, &ute) || ute.Type != "account.Unregistered.v1" {
		t.Fatalf("encode of an unregistered event: %v", err)
	}
	rec := record("payment.Refunded.v4", `{"amount":1}`)
	env, err := reg.Decode(rec)
	if !errors.As(err, &ute) || ute.Type != "payment.Refunded.v4" {
		t.Fatalf("decode of an unknown type: %v, want *UnknownTypeError", err)
	}
	if !strings.Contains(err.Error(), "payment.Refunded.v4") {
		t.Errorf("error %q does not name the type", err)
	}
	// The auditor can still read it raw.
	if env.Event != nil || env.ID != rec.ID || string(env.Data) != `{"amount":1}` || env.Type != rec.Type {
		t.Errorf("unknown event's envelope lost the raw record: %+v", env)
	}
}

func TestRegistryRefusesUnknownFields(t *testing.T) {
	reg := newRegistry()
	rec := record("account.LoginFailed.v1", `{"user_id":"u-1","reason":"x","ip":"1.2.3.4"}`)
	_, err := reg.Decode(rec)
	if err == nil || !strings.Contains(err.Error(), "unknown field") || !strings.Contains(err.Error(), "account.LoginFailed.v1") {
		t.Fatalf("decode with an extra field: %v, want an error naming the field and type", err)
	}
	if !strings.Contains(err.Error(), rec.ID.String()) {
		t.Errorf("error %q does not name the event", err)
	}
	if _, err := reg.Decode(record("account.LoginFailed.v1", `{"user_id":`)); err == nil {
		t.Error("truncated JSON decoded")
	}
}

func TestRegistryUpcasterChain(t *testing.T) {
	reg := newRegistry()
	rec := record("claim.Submitted.v1", `{"claim_id":"TK-1","amount":12.34}`)
	env, err := reg.Decode(rec)
	if err != nil {
		t.Fatal(err)
	}
	want := claimV3{ClaimID: "TK-1", AmountSen: 1234, Currency: "MYR"}
	if env.Event != want {
		t.Fatalf("v1 read as %#v, want %#v", env.Event, want)
	}
	if env.Type != "claim.Submitted.v3" {
		t.Errorf("envelope type %s, want the current type", env.Type)
	}
	if rec.Type != "claim.Submitted.v1" || string(rec.Data) != `{"claim_id":"TK-1","amount":12.34}` {
		t.Error("decode changed the stored record it was given")
	}
	env2, err := reg.Decode(record("claim.Submitted.v2", `{"claim_id":"TK-2","amount_sen":5}`))
	if err != nil || env2.Event != (claimV3{ClaimID: "TK-2", AmountSen: 5, Currency: "MYR"}) {
		t.Fatalf("v2 read as %#v, %v", env2.Event, err)
	}
}

func TestRegistryUpcasterErrorNamesBothTypes(t *testing.T) {
	reg := newRegistry()
	_, err := reg.Decode(record("claim.Submitted.v1", `{"claim_id":"TK-1","amount":"twelve"}`))
	if err == nil || !strings.Contains(err.Error(), "claim.Submitted.v1") || !strings.Contains(err.Error(), "claim.Submitted.v2") {
		t.Fatalf("failing upcaster: %v", err)
	}
}

func TestRegistryUpcasterCycleEnds(t *testing.T) {
	reg := eventlog.NewRegistry()
	same := func(d json.RawMessage) (json.RawMessage, error) { return d, nil }
	reg.RegisterUpcaster("loop.A.v1", "loop.B.v1", same)
	reg.RegisterUpcaster("loop.B.v1", "loop.A.v1", same)
	_, err := reg.Decode(record("loop.A.v1", `{}`))
	var ute *eventlog.UnknownTypeError
	if !errors.As(err, &ute) || ute.Type != "loop.A.v1" {
		t.Fatalf("cyclic upcasters: %v, want an unknown-type error", err)
	}
}

func TestRegistryPanicsOnProgrammingErrors(t *testing.T) {
	for name, f := range map[string]func(){
		"twice": func() {
			reg := eventlog.NewRegistry()
			eventlog.Register[loginFailed](reg)
			eventlog.Register[loginFailed](reg)
		},
		"bad name": func() { eventlog.Register[badName](eventlog.NewRegistry()) },
		"upcaster twice": func() {
			reg := eventlog.NewRegistry()
			reg.RegisterUpcaster("a.B.v1", "a.B.v2", upcastV2)
			reg.RegisterUpcaster("a.B.v1", "a.B.v3", upcastV2)
		},
		"upcaster bad name": func() { eventlog.NewRegistry().RegisterUpcaster("nope", "a.B.v2", upcastV2) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

type badName struct{}

func (badName) EventType() string { return "LoginFailed" }

func ExampleRegistry_Decode() {
	reg := newRegistry()
	env, err := reg.Decode(record("claim.Submitted.v1", `{"claim_id":"TK-9","amount":1.5}`))
	fmt.Println(env.Type, env.Event, err)
	// Output: claim.Submitted.v3 {TK-9 150 MYR} <nil>
}

// A record that carries its decoded event (served from the appending
// store's memory) is not decoded again; a carried value of another type
// than the record's, or a record whose type needs upcasting, is.
func TestRegistryDecodeUsesTheCarriedEvent(t *testing.T) {
	reg := newRegistry()
	rec := record("account.LoginFailed.v1", `{"user_id":"u-1","reason":"from the file"}`)
	rec.Decoded = loginFailed{UserID: "u-1", Reason: "carried"}
	env, err := reg.Decode(rec)
	if err != nil || env.Event != (loginFailed{UserID: "u-1", Reason: "carried"}) || env.Position != 7 {
		t.Fatalf("carried event: %#v, %v", env.Event, err)
	}

	rec.Decoded = claimV3{ClaimID: "other"}
	if env, err := reg.Decode(rec); err != nil || env.Event != (loginFailed{UserID: "u-1", Reason: "from the file"}) {
		t.Fatalf("a carried value of another type was used: %#v, %v", env.Event, err)
	}

	old := record("claim.Submitted.v2", `{"claim_id":"TK-2","amount_sen":5}`)
	old.Decoded = claimV3{ClaimID: "carried"} // cannot happen, but must not skip the upcast
	if env, err := reg.Decode(old); err != nil || env.Event != (claimV3{ClaimID: "TK-2", AmountSen: 5, Currency: "MYR"}) {
		t.Fatalf("upcast record: %#v, %v", env.Event, err)
	}
}
