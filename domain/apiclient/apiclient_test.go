package apiclient_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/domain/apiclient"
	"github.com/melaka-gov/ispeks/domain/eventlog"
)

var now = time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)

func hashOf(t *testing.T, id string) string {
	t.Helper()
	tok, err := apiclient.NewToken(id, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return apiclient.HashToken(tok)
}

func given(t *testing.T, events ...eventlog.Event) *apiclient.Client {
	t.Helper()
	return applied(t, apiclient.New(), events...)
}

// applied is agg after events, as a stream holding them rebuilds it.
func applied[A interface{ Apply(eventlog.Event) error }](t *testing.T, agg A, events ...eventlog.Event) A {
	t.Helper()
	for _, e := range events {
		if err := agg.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	return agg
}

func TestAdd(t *testing.T) {
	h := hashOf(t, "payroll")
	c := given(t)
	if err := c.Add("payroll", "  Sistem Gaji  ", []string{"payments:write", "statements:write", "payments:write"}, h, now); err != nil {
		t.Fatal(err)
	}
	want := []eventlog.Event{apiclient.Added{ClientID: "payroll", Name: "Sistem Gaji", Scopes: []string{"payments:write", "statements:write"}, TokenHash: h}}
	if got := c.Uncommitted(); !reflect.DeepEqual(got, want) {
		t.Fatalf("events %+v, want %+v", got, want)
	}
	if !c.Exists() || c.Revoked() || c.Name() != "Sistem Gaji" {
		t.Fatalf("state after add: %+v", c)
	}
}

func TestAddRefusesBadInput(t *testing.T) {
	h := hashOf(t, "payroll")
	cases := []struct {
		id, name string
		scopes   []string
		hash     string
		field    string
	}{
		{"", "x", []string{"events:read"}, h, "client_id"},
		{"Pay_roll", "x", []string{"events:read"}, h, "client_id"},
		{"ab", "x", []string{"events:read"}, h, "client_id"},
		{"payroll", "", []string{"events:read"}, h, "name"},
		{"payroll", strings.Repeat("n", 101), []string{"events:read"}, h, "name"},
		{"payroll", "a\x00b", []string{"events:read"}, h, "name"},
		{"payroll", "Caf\xe9", []string{"events:read"}, h, "name"},
		// Direction overrides and isolates, and line separators, turn or
		// break the line 'clients list' prints, as the web forms refuse.
		{"payroll", "Sistem \u202eijaG", []string{"events:read"}, h, "name"},
		{"payroll", "Sistem \u2067Gaji", []string{"events:read"}, h, "name"},
		{"payroll", "Sistem\u2028Gaji", []string{"events:read"}, h, "name"},
		{"payroll", "x", nil, h, "scopes"},
		{"payroll", "x", []string{"admin"}, h, "scopes"},
		{"payroll", "x", []string{"events:read"}, "abc", "token_hash"},
		{"payroll", "x", []string{"events:read"}, strings.ToUpper(h), "token_hash"},
	}
	for _, tc := range cases {
		c := given(t)
		err := c.Add(tc.id, tc.name, tc.scopes, tc.hash, now)
		var fe *apiclient.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, apiclient.ErrInvalid) {
			t.Errorf("Add(%q, %q, %v): %v, want a field error on %s", tc.id, tc.name, tc.scopes, err, tc.field)
		}
		if len(c.Uncommitted()) != 0 {
			t.Errorf("refused add recorded events")
		}
	}
}

func TestAddTwiceRefused(t *testing.T) {
	h := hashOf(t, "payroll")
	c := given(t, apiclient.Added{ClientID: "payroll", Name: "x", Scopes: []string{"events:read"}, TokenHash: h})
	if err := c.Add("payroll", "y", []string{"events:read"}, h, now); !errors.Is(err, apiclient.ErrAlreadyExists) {
		t.Fatalf("err = %v", err)
	}
	if len(c.Uncommitted()) != 0 {
		t.Fatal("events recorded")
	}
}

func TestRevoke(t *testing.T) {
	h := hashOf(t, "payroll")
	added := apiclient.Added{ClientID: "payroll", Name: "x", Scopes: []string{"events:read"}, TokenHash: h}

	c := given(t, added)
	if err := c.Revoke(" token leaked ", now); err != nil {
		t.Fatal(err)
	}
	want := []eventlog.Event{apiclient.Revoked{ClientID: "payroll", Reason: "token leaked"}}
	if !reflect.DeepEqual(c.Uncommitted(), want) || !c.Revoked() {
		t.Fatalf("events %+v", c.Uncommitted())
	}

	again := given(t, added, apiclient.Revoked{ClientID: "payroll"})
	if err := again.Revoke("", now); !errors.Is(err, apiclient.ErrRevoked) {
		t.Fatalf("second revoke: %v", err)
	}
	if err := given(t).Revoke("", now); !errors.Is(err, apiclient.ErrNotFound) {
		t.Fatalf("revoke unknown: %v", err)
	}
	if err := given(t, added).Revoke(strings.Repeat("r", 501), now); !errors.Is(err, apiclient.ErrInvalid) {
		t.Fatalf("long reason: %v", err)
	}
	if err := given(t, added).Revoke("lama \u202eevitca", now); !errors.Is(err, apiclient.ErrInvalid) {
		t.Fatalf("reason with a direction override: %v", err)
	}
	if err := given(t, added).Revoke("lama \xab", now); !errors.Is(err, apiclient.ErrInvalid) {
		t.Fatalf("reason not UTF-8: %v", err)
	}
}

func TestApplyRefusesUnknownAndOutOfOrder(t *testing.T) {
	type other struct{ eventlog.Event }
	if err := apiclient.New().Apply(other{}); err == nil {
		t.Error("unknown event applied")
	}
	if err := apiclient.New().Apply(apiclient.Revoked{ClientID: "x"}); err == nil {
		t.Error("revoke before add applied")
	}
}

func TestTokens(t *testing.T) {
	tok, err := apiclient.NewToken("payroll-prod", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "isp_payroll-prod_") {
		t.Fatalf("token %q", tok)
	}
	id, err := apiclient.ParseToken(tok)
	if err != nil || id != "payroll-prod" {
		t.Fatalf("ParseToken: %q, %v", id, err)
	}
	h := apiclient.HashToken(tok)
	if !apiclient.VerifyToken(tok, h) {
		t.Fatal("token does not verify against its own hash")
	}
	other, _ := apiclient.NewToken("payroll-prod", rand.Reader)
	if other == tok || apiclient.VerifyToken(other, h) {
		t.Fatal("two tokens for one client must differ and not verify against each other")
	}
	// A secret that contains underscores still parses (base64url alphabet).
	underscores, err := apiclient.NewToken("abc", bytes.NewReader(bytes.Repeat([]byte{0xff}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	if id, err := apiclient.ParseToken(underscores); err != nil || id != "abc" {
		t.Fatalf("token with _ in secret: %q %v", id, err)
	}
	for _, bad := range []string{"", "isp_", "isp_payroll", "Bearer isp_x_y", "isp_payroll_short", "isp_PAY_" + strings.Repeat("a", 43), "xyz_payroll_" + strings.Repeat("a", 43), "isp_payroll_" + strings.Repeat("*", 43)} {
		if _, err := apiclient.ParseToken(bad); !errors.Is(err, apiclient.ErrMalformedToken) {
			t.Errorf("ParseToken(%q) = %v", bad, err)
		}
	}
	if apiclient.VerifyToken(tok, "zz") || apiclient.VerifyToken(tok, "") {
		t.Error("malformed hash verified")
	}
	if _, err := apiclient.NewToken("payroll", bytes.NewReader(make([]byte, 5))); err == nil {
		t.Error("short randomness accepted")
	}
}

func TestRegisterRoundTrip(t *testing.T) {
	reg := eventlog.NewRegistry()
	apiclient.Register(reg)
	ev := apiclient.Added{ClientID: "payroll", Name: "Gaji", Scopes: []string{"events:read"}, TokenHash: hashOf(t, "payroll")}
	typ, data, err := reg.Encode(ev)
	if err != nil || typ != "apiclient.Added.v1" {
		t.Fatalf("%s %v", typ, err)
	}
	env, err := reg.Decode(eventlog.Record{Type: typ, Data: data})
	if err != nil || !reflect.DeepEqual(env.Event, ev) {
		t.Fatalf("decode: %+v %v", env.Event, err)
	}
}
