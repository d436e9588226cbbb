package commands_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/infra/security"
)

// Given Siti with TOTP on who has used a recovery code, when she asks for
// new codes with a current authenticator code, then ten new codes replace
// the old ones (an old one no longer works, a new one does), and the code
// that made them is spent.
func TestReplaceRecoveryCodes(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	secret, old := enrolSiti(t, f)
	f.advance(time.Minute)
	if _, _, err := f.h.UseRecoveryCode.Use(ctx, commands.UseRecoveryCode{Meta: f.user(sitiIC), UserID: sitiIC, Code: old[0]}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.h.ReplaceRecoveryCodes.Handle(ctx, commands.ReplaceRecoveryCodes{Meta: f.user(sitiIC), UserID: sitiIC}); !errors.Is(err, account.ErrInvalid) {
		t.Fatalf("no code: %v", err)
	}
	f.advance(time.Minute)
	code, _ := security.TOTP{}.Code(secret, f.clock())
	fresh, _, err := f.h.ReplaceRecoveryCodes.Replace(ctx, commands.ReplaceRecoveryCodes{Meta: f.user(sitiIC), UserID: sitiIC, Code: code})
	if err != nil || len(fresh) != account.RecoveryCodeCount || slices.ContainsFunc(fresh, func(c string) bool { return slices.Contains(old, c) }) {
		t.Fatalf("new codes %v, %v", fresh, err)
	}
	evs := f.events("account-" + sitiIC)
	ev, ok := evs[len(evs)-1].Event.(account.RecoveryCodesReplaced)
	if !ok || slices.Contains(ev.RecoveryCodeHashes, fresh[0]) {
		t.Fatalf("last event %+v (the codes are stored hashed, never in clear)", evs[len(evs)-1].Event)
	}
	// The form sent twice: refused, nothing recorded.
	before := len(f.events("account-" + sitiIC))
	if _, err := f.h.ReplaceRecoveryCodes.Handle(ctx, commands.ReplaceRecoveryCodes{Meta: f.user(sitiIC), UserID: sitiIC, Code: code}); !errors.Is(err, account.ErrCodeJustAccepted) {
		t.Fatalf("the same code again: %v", err)
	}
	if after := len(f.events("account-" + sitiIC)); after != before {
		t.Fatalf("the second submission recorded %d events", after-before)
	}
	if _, _, err := f.h.UseRecoveryCode.Use(ctx, commands.UseRecoveryCode{Meta: f.user(sitiIC), UserID: sitiIC, Code: old[1]}); !errors.Is(err, account.ErrWrongCode) {
		t.Fatalf("an old code after the replacement: %v", err)
	}
	if used, _, err := f.h.UseRecoveryCode.Use(ctx, commands.UseRecoveryCode{Meta: f.user(sitiIC), UserID: sitiIC, Code: fresh[4]}); err != nil || used.Left != account.RecoveryCodeCount-1 {
		t.Fatalf("a new code: %+v %v", used, err)
	}
}
