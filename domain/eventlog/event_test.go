package eventlog_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/domain/eventlog"
)

func TestValidateStream(t *testing.T) {
	good := []string{
		"account-u123", "employee-850101045566", "payment-7f1c2a9e-0d1b-4a53-9d55-2b1f0c3a8e11",
		"loginprobe-9f86d081884c7d65", "apiclient-client_ID.v2", "a-b", "x1-Y:z@e+=.-",
		"c-" + strings.Repeat("y", eventlog.MaxStreamLength-2),
	}
	bad := []string{
		"", "account", "account-", "-u1", "Account-u1", "1account-u1", "acc_ount-u1", "account-u 1",
		"account-u/1", "account-u$1", "$all", "$$stream-x", "account-ü", "account-u1\n",
		"c-" + strings.Repeat("y", eventlog.MaxStreamLength-1),
	}
	for _, s := range good {
		if err := eventlog.ValidateStream(s); err != nil {
			t.Errorf("ValidateStream(%q) = %v, want nil", s, err)
		}
	}
	for _, s := range bad {
		err := eventlog.ValidateStream(s)
		if !errors.Is(err, eventlog.ErrInvalidStream) {
			t.Errorf("ValidateStream(%q) = %v, want ErrInvalidStream", s, err)
		}
	}
}

func TestValidateType(t *testing.T) {
	for _, s := range []string{"account.LoginFailed.v1", "payment.Approved.v12", "a1.B.v9"} {
		if err := eventlog.ValidateType(s); err != nil {
			t.Errorf("ValidateType(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"", "LoginFailed", "account.LoginFailed", "account.loginFailed.v1", "Account.LoginFailed.v1",
		"account.LoginFailed.v0", "account.LoginFailed.v01", "account.Login-Failed.v1", "account.LoginFailed.V1", "account..v1"} {
		err := eventlog.ValidateType(s)
		if !errors.Is(err, eventlog.ErrInvalidEvent) || !strings.Contains(err.Error(), "context.Name.vN") {
			t.Errorf("ValidateType(%q) = %v, want ErrInvalidEvent explaining the form", s, err)
		}
	}
}

func proposal() eventlog.Proposed {
	return eventlog.Proposed{
		ID: uuid.New(), Type: "account.LoginFailed.v1", OccurredAt: time.Now().UTC(),
		Data: json.RawMessage(`{"user_id":"u-1"}`), Metadata: eventlog.Metadata{Actor: eventlog.Actor{Kind: eventlog.ActorAnonymous}},
	}
}

func TestValidateAppend(t *testing.T) {
	ok := []eventlog.Proposed{proposal(), proposal()}
	if err := eventlog.ValidateAppend("account-u1", ok); err != nil {
		t.Fatalf("valid append: %v", err)
	}
	metaLen := func(m eventlog.Metadata) int { b, _ := json.Marshal(m); return len(b) }
	exact := proposal()
	exact.Data = json.RawMessage(`"` + strings.Repeat("a", eventlog.MaxEventSize-metaLen(exact.Metadata)-2) + `"`)
	if err := eventlog.ValidateAppend("account-u1", []eventlog.Proposed{exact}); err != nil {
		t.Errorf("event of exactly %d bytes: %v", eventlog.MaxEventSize, err)
	}
	over := exact
	over.Data = json.RawMessage(`"` + strings.Repeat("a", eventlog.MaxEventSize-metaLen(exact.Metadata)-1) + `"`)
	bigMeta := proposal()
	bigMeta.Metadata.UserAgent = strings.Repeat("m", eventlog.MaxEventSize)
	full := make([]eventlog.Proposed, eventlog.MaxBatchEvents)
	for i := range full {
		full[i] = proposal()
	}
	if err := eventlog.ValidateAppend("account-u1", full); err != nil {
		t.Errorf("append of %d events: %v", len(full), err)
	}
	dup := proposal()
	cases := []struct {
		name   string
		stream string
		events []eventlog.Proposed
		want   error
	}{
		{"bad stream", "Account-1", ok, eventlog.ErrInvalidStream},
		{"no events", "account-u1", nil, eventlog.ErrEmptyAppend},
		{"too many", "account-u1", append(full, proposal()), eventlog.ErrBatchTooLarge},
		{"one byte over", "account-u1", []eventlog.Proposed{over}, eventlog.ErrEventTooLarge},
		{"metadata counts", "account-u1", []eventlog.Proposed{bigMeta}, eventlog.ErrEventTooLarge},
		{"duplicate ID", "account-u1", []eventlog.Proposed{dup, dup}, eventlog.ErrInvalidEvent},
		{"nil ID", "account-u1", []eventlog.Proposed{with(func(p *eventlog.Proposed) { p.ID = uuid.Nil })}, eventlog.ErrInvalidEvent},
		{"bad type", "account-u1", []eventlog.Proposed{with(func(p *eventlog.Proposed) { p.Type = "LoginFailed" })}, eventlog.ErrInvalidEvent},
		{"no time", "account-u1", []eventlog.Proposed{with(func(p *eventlog.Proposed) { p.OccurredAt = time.Time{} })}, eventlog.ErrInvalidEvent},
		{"bad JSON", "account-u1", []eventlog.Proposed{with(func(p *eventlog.Proposed) { p.Data = json.RawMessage(`{"a":}`) })}, eventlog.ErrInvalidEvent},
		{"no data", "account-u1", []eventlog.Proposed{with(func(p *eventlog.Proposed) { p.Data = nil })}, eventlog.ErrInvalidEvent},
	}
	for _, tc := range cases {
		err := eventlog.ValidateAppend(tc.stream, tc.events)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func with(f func(*eventlog.Proposed)) eventlog.Proposed {
	p := proposal()
	f(&p)
	return p
}

func TestExpectedVersion(t *testing.T) {
	cases := []struct {
		exp    eventlog.ExpectedVersion
		actual uint64
		want   bool
	}{
		{eventlog.NoStream(), 0, true}, {eventlog.NoStream(), 1, false},
		{eventlog.Any(), 0, true}, {eventlog.Any(), 42, true},
		{eventlog.Exactly(3), 3, true}, {eventlog.Exactly(3), 2, false}, {eventlog.Exactly(3), 4, false}, {eventlog.Exactly(3), 0, false},
		{eventlog.Exactly(0), 0, true}, {eventlog.Exactly(0), 1, false},
	}
	for _, tc := range cases {
		if got := tc.exp.Matches(tc.actual); got != tc.want {
			t.Errorf("%s matches %d = %v", tc.exp, tc.actual, got)
		}
	}
	if eventlog.Exactly(0) != eventlog.NoStream() || !eventlog.Exactly(0).IsNoStream() {
		t.Error("Exactly(0) is not NoStream")
	}
	if v, ok := eventlog.Exactly(7).Exact(); !ok || v != 7 {
		t.Errorf("Exactly(7).Exact() = %d, %v", v, ok)
	}
	if _, ok := eventlog.Any().Exact(); ok || !eventlog.Any().IsAny() {
		t.Error("Any() claims to be exact")
	}
	for exp, want := range map[eventlog.ExpectedVersion]string{eventlog.NoStream(): "no stream", eventlog.Any(): "any", eventlog.Exactly(9): "version 9"} {
		if exp.String() != want {
			t.Errorf("String() = %q, want %q", exp.String(), want)
		}
	}
	err := &eventlog.WrongExpectedVersionError{Stream: "account-u1", Expected: eventlog.Exactly(2), Actual: 5}
	if msg := err.Error(); !strings.Contains(msg, "account-u1") || !strings.Contains(msg, "version 2") || !strings.Contains(msg, "actual 5") {
		t.Errorf("error text %q", msg)
	}
}

func TestChanges(t *testing.T) {
	var c eventlog.Changes
	if len(c.Uncommitted()) != 0 {
		t.Fatal("new Changes is not empty")
	}
	c.Add(loginFailed{UserID: "a"})
	c.Add(loginFailed{UserID: "b"})
	got := c.Uncommitted()
	if len(got) != 2 || got[0].(loginFailed).UserID != "a" || got[1].(loginFailed).UserID != "b" {
		t.Errorf("uncommitted %v", got)
	}
}

// FuzzValidateStream checks ValidateStream against the rule written out by
// hand: category of lower-case letters and digits starting with a letter, a
// dash, then at least one of letters, digits and ._:@+=-; at most 200
// characters.
func FuzzValidateStream(f *testing.F) {
	for _, s := range []string{"account-u1", "", "$all", "a-" + strings.Repeat("x", 198), "Account-1", "a-b c", "a-\u00e9", "ab-\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := eventlog.ValidateStream(s)
		if err != nil && !errors.Is(err, eventlog.ErrInvalidStream) {
			t.Fatalf("ValidateStream(%q) error %v does not wrap ErrInvalidStream", s, err)
		}
		if (err == nil) != streamRule(s) {
			t.Fatalf("ValidateStream(%q) = %v, rule says valid=%v", s, err, streamRule(s))
		}
	})
}

func streamRule(s string) bool {
	if len(s) == 0 || len(s) > eventlog.MaxStreamLength {
		return false
	}
	cat, id, found := strings.Cut(s, "-")
	if !found || cat == "" || id == "" || !(cat[0] >= 'a' && cat[0] <= 'z') {
		return false
	}
	for _, r := range cat {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	for _, r := range id {
		if !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) || strings.ContainsRune("._:@+=-", r)) {
			return false
		}
	}
	return true
}

// FuzzValidateType checks ValidateType against "<context>.<Name>.v<N>".
func FuzzValidateType(f *testing.F) {
	for _, s := range []string{"account.LoginFailed.v1", "a.B.v10", "a.B.v0", "a.b.v1", "A.B.v1", "a.B.v1.", "a.B.V1", "a.B.v01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := eventlog.ValidateType(s)
		if err != nil && !errors.Is(err, eventlog.ErrInvalidEvent) {
			t.Fatalf("ValidateType(%q) error %v does not wrap ErrInvalidEvent", s, err)
		}
		if (err == nil) != typeRule(s) {
			t.Fatalf("ValidateType(%q) = %v, rule says valid=%v", s, err, typeRule(s))
		}
	})
}

func typeRule(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	ctx, name, ver := parts[0], parts[1], parts[2]
	isLower := func(b byte) bool { return b >= 'a' && b <= 'z' }
	isUpper := func(b byte) bool { return b >= 'A' && b <= 'Z' }
	isDigit := func(b byte) bool { return b >= '0' && b <= '9' }
	if ctx == "" || !isLower(ctx[0]) || name == "" || !isUpper(name[0]) || len(ver) < 2 || ver[0] != 'v' || ver[1] == '0' {
		return false
	}
	for i := 0; i < len(ctx); i++ {
		if !isLower(ctx[i]) && !isDigit(ctx[i]) {
			return false
		}
	}
	for i := 0; i < len(name); i++ {
		if !isLower(name[i]) && !isUpper(name[i]) && !isDigit(name[i]) {
			return false
		}
	}
	for i := 1; i < len(ver); i++ {
		if !isDigit(ver[i]) {
			return false
		}
	}
	return true
}

// FuzzIsEntityID checks IsEntityID against the rule statement and payment
// IDs were held to as a regexp: ^[A-Za-z0-9][A-Za-z0-9._:@+=-]*$.
func FuzzIsEntityID(f *testing.F) {
	for _, s := range []string{"SG-2026-01", "", "-a", ".a", "a b", "a\u00e9", "A:b@c+d=e.f_g", "a\x00", "a\n"} {
		f.Add(s)
	}
	rule := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@+=-]*$`)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := eventlog.IsEntityID(s), rule.MatchString(s); got != want {
			t.Fatalf("IsEntityID(%q) = %v, rule says %v", s, got, want)
		}
	})
}

// TestCommandReused: each aggregate's sentinel is found by errors.Is as
// itself and as eventlog.ErrCommandReused, not as another aggregate's, and
// names its package.
func TestCommandReused(t *testing.T) {
	pay, st := eventlog.CommandReused("payment"), eventlog.CommandReused("statement")
	wrapped := fmt.Errorf("commands: %w", pay)
	if !errors.Is(wrapped, pay) || !errors.Is(wrapped, eventlog.ErrCommandReused) {
		t.Fatalf("%v: not found as itself or as ErrCommandReused", wrapped)
	}
	if errors.Is(wrapped, st) || errors.Is(errors.New("payment: other"), eventlog.ErrCommandReused) {
		t.Fatal("matched another aggregate's sentinel, or an unrelated error matched ErrCommandReused")
	}
	if got := pay.Error(); got != "payment: request ID already used for a different change" {
		t.Fatalf("message %q", got)
	}
}
