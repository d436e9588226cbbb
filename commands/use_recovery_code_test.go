package commands_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
)

func TestUseRecoveryCode(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	_, codes := enrolSiti(t, f)
	use := func(code string) (int, error) {
		used, _, err := f.h.UseRecoveryCode.Use(ctx, commands.UseRecoveryCode{Meta: f.user(sitiIC), UserID: sitiIC, Code: code})
		return used.Left, err
	}
	// Typed in lower case with spaces: still the code.
	typed := strings.ToLower(strings.ReplaceAll(codes[3], "-", " "))
	if left, err := use(typed); err != nil || left != 9 {
		t.Fatalf("first use: %d left, %v", left, err)
	}
	// Sent again with no login waiting (a double click): refused, and not
	// a failure.
	if _, err := use(codes[3]); !errors.Is(err, account.ErrCodeJustAccepted) {
		t.Fatalf("the code just used, sent again: %v", err)
	}
	// For the next login it is spent.
	if _, err := f.logIn(sitiIC, sitiPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := use(codes[3]); !errors.Is(err, account.ErrCodeReused) {
		t.Fatalf("second use: %v", err)
	}
	if _, err := use("ZZZZZ-ZZZZZ"); !errors.Is(err, account.ErrWrongCode) {
		t.Fatalf("unknown code: %v", err)
	}
	// Codes of the wrong length are typos: refused on the field, and not
	// counted (two failures so far: the next wrong one locks).
	for _, typo := range []string{strings.Repeat("A", 10240), "abc", "12345", "ABCDE-FGHI", "ABCDE-FGHIJK", "ÀBCDE-FGHIJ"} {
		var fe *account.FieldError
		if _, err := use(typo); !errors.As(err, &fe) || fe.Field != "code" || fe.Code != "code_format" {
			t.Fatalf("code %.20q: %v, want a code_format field error", typo, err)
		}
	}
	if _, err := use("YYYYY-YYYYY"); !errors.Is(err, account.ErrLocked) {
		t.Fatalf("a wrong code of the right shape (third failure): %v", err)
	}
}

// A recovery-code form posted from eight tabs at once: the code works once,
// and every other post gets an ordinary answer, never a version conflict.
func TestUseRecoveryCodeConcurrentReplayAcceptedOnce(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	_, codes := enrolSiti(t, f)
	postSecondFactorAtOnce(t, func() error {
		_, _, err := f.h.UseRecoveryCode.Use(ctx, commands.UseRecoveryCode{Meta: f.user(sitiIC), UserID: sitiIC, Code: codes[0]})
		return err
	})
}
