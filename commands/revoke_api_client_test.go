package commands_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/apiclient"
)

func TestRevokeAPIClient(t *testing.T) {
	r, _ := acRunner(t)
	h := commands.RevokeAPIClientHandler{Runner: r}
	ctx := context.Background()

	// given an added client, when revoked, then Revoked is appended.
	acGivenClient(t, r, "payroll", "payments:write")
	res, err := h.Handle(ctx, commands.RevokeAPIClient{Meta: acMeta(), ClientID: "payroll", Reason: "token leaked"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Appended != 1 {
		t.Fatalf("result %+v", res)
	}
	evs := acEvents(t, r, apiclient.Stream("payroll"))
	if len(evs) != 2 || !reflect.DeepEqual(evs[1].Event, apiclient.Revoked{ClientID: "payroll", Reason: "token leaked"}) {
		t.Fatalf("events %+v", evs)
	}

	// when revoked again, then ErrRevoked and nothing appended.
	if _, err := h.Handle(ctx, commands.RevokeAPIClient{Meta: acMeta(), ClientID: "payroll"}); !errors.Is(err, apiclient.ErrRevoked) {
		t.Fatalf("second revoke: %v", err)
	}
	// given no client, when revoked, then ErrNotFound.
	if _, err := h.Handle(ctx, commands.RevokeAPIClient{Meta: acMeta(), ClientID: "nobody"}); !errors.Is(err, apiclient.ErrNotFound) {
		t.Fatalf("revoke unknown: %v", err)
	}
	if _, err := h.Handle(ctx, commands.RevokeAPIClient{Meta: acMeta(), ClientID: "../x"}); !errors.Is(err, apiclient.ErrInvalid) {
		t.Fatalf("bad id: %v", err)
	}
	if n := len(acEvents(t, r, apiclient.Stream("payroll"))); n != 2 {
		t.Fatalf("%d events", n)
	}
}
