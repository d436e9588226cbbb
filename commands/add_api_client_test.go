package commands_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/apiclient"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/infra/eventstore/sqlite"
)

// acRunner is a command runner over a real SQLite event store in a temp dir.
func acRunner(t *testing.T) (commands.Runner, *sqlite.Store) {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	reg := eventlog.NewRegistry()
	apiclient.Register(reg)
	now := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	return commands.Runner{Store: store, Registry: reg, Now: func() time.Time { return now }}, store
}

func acMeta() commands.Meta {
	return commands.Meta{CommandID: uuid.New(), Actor: eventlog.Actor{Kind: eventlog.ActorAdmin, ID: "800101015555"}}
}

// acEvents decodes a stream's events.
func acEvents(t *testing.T, r commands.Runner, stream string) []eventlog.Envelope {
	t.Helper()
	recs, err := r.Store.ReadStream(context.Background(), stream, 1, eventlog.Forwards, 100)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]eventlog.Envelope, len(recs))
	for i, rec := range recs {
		if out[i], err = r.Registry.Decode(rec); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// acGivenClient appends an Added event for id through the real handler and
// returns the clear token.
func acGivenClient(t *testing.T, r commands.Runner, id string, scopes ...string) string {
	t.Helper()
	cmd, err := commands.AddAPIClient{Meta: acMeta(), ClientID: id, Name: "Sistem " + id, Scopes: scopes}.WithNewToken()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (commands.AddAPIClientHandler{Runner: r}).Handle(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
	return cmd.Token
}

func TestAddAPIClient(t *testing.T) {
	r, _ := acRunner(t)
	h := commands.AddAPIClientHandler{Runner: r}
	ctx := context.Background()

	// given no client, when added, then Added carries the hash, never the token.
	cmd, err := commands.AddAPIClient{Meta: acMeta(), Name: "Sistem Gaji", Scopes: []string{"statements:write", "payments:write"}}.WithNewToken()
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.Handle(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if res.Appended != 1 || res.Position == 0 {
		t.Fatalf("result %+v", res)
	}
	evs := acEvents(t, r, apiclient.Stream(cmd.ClientID))
	want := apiclient.Added{ClientID: cmd.ClientID, Name: "Sistem Gaji", Scopes: []string{"payments:write", "statements:write"}, TokenHash: apiclient.HashToken(cmd.Token)}
	if len(evs) != 1 || !reflect.DeepEqual(evs[0].Event, want) {
		t.Fatalf("events %+v, want %+v", evs, want)
	}
	if evs[0].Metadata.Actor.Kind != eventlog.ActorAdmin {
		t.Fatalf("actor %+v", evs[0].Metadata.Actor)
	}
	if string(evs[0].Data) == "" || strings.Contains(string(evs[0].Data), cmd.Token) {
		t.Fatal("the clear token is in the event")
	}

	// when the same command is retried, then nothing new is appended and the
	// retry is refused (its token was shown the first time).
	retry, err := commands.AddAPIClient{Meta: cmd.Meta, Name: "Sistem Gaji", Scopes: cmd.Scopes}.WithNewToken()
	if err != nil {
		t.Fatal(err)
	}
	if retry.ClientID != cmd.ClientID {
		t.Fatalf("retried command names another client: %s vs %s", retry.ClientID, cmd.ClientID)
	}
	if _, err := h.Handle(ctx, retry); !errors.Is(err, apiclient.ErrAlreadyExists) {
		t.Fatalf("retry: %v", err)
	}
	if n := len(acEvents(t, r, apiclient.Stream(cmd.ClientID))); n != 1 {
		t.Fatalf("%d events after retry", n)
	}
}

func TestAddAPIClientRefusesBadInput(t *testing.T) {
	r, store := acRunner(t)
	h := commands.AddAPIClientHandler{Runner: r}
	ctx := context.Background()
	good, err := commands.AddAPIClient{Meta: acMeta(), ClientID: "payroll", Name: "Gaji", Scopes: []string{"events:read"}}.WithNewToken()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := commands.AddAPIClient{Meta: acMeta(), ClientID: "other", Name: "x", Scopes: []string{"events:read"}}.WithNewToken()
	cases := map[string]struct {
		cmd   commands.AddAPIClient
		field string
	}{
		"bad id":           {commands.AddAPIClient{Meta: acMeta(), ClientID: "A_B", Name: "x", Scopes: []string{"events:read"}, Token: good.Token}, "client_id"},
		"token of another": {commands.AddAPIClient{Meta: acMeta(), ClientID: "payroll", Name: "x", Scopes: []string{"events:read"}, Token: other.Token}, "token"},
		"no token":         {commands.AddAPIClient{Meta: acMeta(), ClientID: "payroll", Name: "x", Scopes: []string{"events:read"}}, "token"},
		"unknown scope":    {commands.AddAPIClient{Meta: acMeta(), ClientID: "payroll", Name: "x", Scopes: []string{"everything"}, Token: good.Token}, "scopes"},
		"empty name":       {commands.AddAPIClient{Meta: acMeta(), ClientID: "payroll", Name: " ", Scopes: []string{"events:read"}, Token: good.Token}, "name"},
	}
	for name, tc := range cases {
		_, err := h.Handle(ctx, tc.cmd)
		var fe *apiclient.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: %v, want field error on %s", name, err, tc.field)
		}
	}
	if pos, _ := store.LastPosition(ctx); pos != 0 {
		t.Fatalf("refused commands appended %d events", pos)
	}
	if _, err := (commands.AddAPIClient{}).WithNewToken(); err == nil {
		t.Fatal("command without ID got a client ID")
	}
}

// addNamed adds a client called name through the handler.
func addNamed(ctx context.Context, h commands.AddAPIClientHandler, id, name string) (commands.Result, error) {
	cmd, err := commands.AddAPIClient{Meta: acMeta(), ClientID: id, Name: name, Scopes: []string{"events:read"}}.WithNewToken()
	if err != nil {
		return commands.Result{}, err
	}
	return h.Handle(ctx, cmd)
}

// given an active client "Sistem Gaji", when another is added as
// " sistem GAJI " (case and surrounding spaces aside, the same name), then
// it is refused with a field error on name, naming the client that holds
// it, and nothing is added; once that client is revoked, the name is free.
// Before, two clients could share a name.
func TestAddAPIClientRefusesTheNameOfAnActiveClient(t *testing.T) {
	r, _ := acRunner(t)
	h := commands.AddAPIClientHandler{Runner: r}
	ctx := context.Background()
	if _, err := addNamed(ctx, h, "payroll", "Sistem Gaji"); err != nil {
		t.Fatal(err)
	}
	_, err := addNamed(ctx, h, "payroll-two", " sistem GAJI ")
	var fe *apiclient.FieldError
	if !errors.As(err, &fe) || fe.Field != "name" || !strings.Contains(fe.Reason, "payroll") || !errors.Is(err, apiclient.ErrNameTaken) {
		t.Fatalf("same name again: %v, want a field error on name naming payroll", err)
	}
	if n := len(acEvents(t, r, apiclient.Stream("payroll-two"))); n != 0 {
		t.Fatalf("the refused client has %d events", n)
	}
	// Another name is fine.
	if _, err := addNamed(ctx, h, "payments", "Sistem Bayaran"); err != nil {
		t.Fatal(err)
	}
	// given the holder revoked, when the name is used again, then it is added.
	if _, err := (commands.RevokeAPIClientHandler{Runner: r}).Handle(ctx, commands.RevokeAPIClient{Meta: acMeta(), ClientID: "payroll", Reason: "diganti"}); err != nil {
		t.Fatal(err)
	}
	if _, err := addNamed(ctx, h, "payroll-two", "SISTEM GAJI"); err != nil {
		t.Fatalf("the name of a revoked client: %v", err)
	}
	if _, err := addNamed(ctx, h, "payroll-three", "Sistem Gaji"); !errors.Is(err, apiclient.ErrNameTaken) {
		t.Fatalf("the name of the new holder: %v", err)
	}
}

// when several clients of one name are added at once, then exactly one is.
// The name is claimed in a stream of its own (apiclient.NameStream),
// appended with the version read, as an account is opened in the stream
// of its IC number: of concurrent claims one wins, the others decide again
// and find the name taken.
func TestAddAPIClientNameIsUniqueUnderConcurrency(t *testing.T) {
	r, _ := acRunner(t)
	h := commands.AddAPIClientHandler{Runner: r}
	ctx := context.Background()
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := addNamed(ctx, h, fmt.Sprintf("client-%d", i), "Sistem Gaji")
			errs <- err
		}()
	}
	added := 0
	for range n {
		switch err := <-errs; {
		case err == nil:
			added++
		case errors.Is(err, apiclient.ErrNameTaken):
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if added != 1 {
		t.Fatalf("%d clients added under one name, want 1", added)
	}
}

// A claim whose client was never added (its add failed after the claim, or
// the process died between the two) holds the name for
// apiclient.ClaimGrace, as an add under way would, and then gives way.
func TestAddAPIClientNameClaimOfAClientNeverAdded(t *testing.T) {
	r, _ := acRunner(t)
	now := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	r.Now = func() time.Time { return now }
	h := commands.AddAPIClientHandler{Runner: r}
	ctx := context.Background()
	if _, err := addNamed(ctx, h, "payroll", "Sistem Gaji"); err != nil {
		t.Fatal(err)
	}
	// An add under an existing client's ID is refused after its name was
	// claimed: the claim names a client ID whose client has another name.
	if _, err := addNamed(ctx, h, "payroll", "Sistem Lama"); !errors.Is(err, apiclient.ErrAlreadyExists) {
		t.Fatalf("existing client ID: %v", err)
	}
	if _, err := addNamed(ctx, h, "old-system", "Sistem Lama"); err != nil {
		t.Fatalf("a name claimed for a client of another name: %v", err)
	}
	// A claim for a client not (yet) added.
	if _, err := commands.Execute(ctx, r, apiclient.NameStream("Sistem Baru"), apiclient.NewNameClaim, acMeta(),
		func(c *apiclient.NameClaim, now time.Time) error {
			return c.Claim("Sistem Baru", "never-added", apiclient.HolderGone, now)
		}); err != nil {
		t.Fatal(err)
	}
	if _, err := addNamed(ctx, h, "new-system", "sistem baru"); !errors.Is(err, apiclient.ErrNameTaken) {
		t.Fatalf("within the grace: %v", err)
	}
	now = now.Add(apiclient.ClaimGrace)
	if _, err := addNamed(ctx, h, "new-system", "sistem baru"); err != nil {
		t.Fatalf("after the grace: %v", err)
	}
}
