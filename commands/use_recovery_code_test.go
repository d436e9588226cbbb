package commands_test

import (
	"context"
	"errors"
	"strings"
	"sync"
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
	if _, err := use(codes[3]); !errors.Is(err, account.ErrCodeReused) {
		t.Fatalf("second use: %v", err)
	}
	if _, err := use("ZZZZZ-ZZZZZ"); !errors.Is(err, account.ErrWrongCode) {
		t.Fatalf("unknown code: %v", err)
	}
	if _, err := use(strings.Repeat("A", 10240)); !errors.Is(err, account.ErrLocked) {
		t.Fatalf("huge code (third failure): %v", err)
	}
}

// A recovery-code form posted from eight tabs at once: the code works once,
// and every other post gets an ordinary answer, never a version conflict.
func TestUseRecoveryCodeConcurrentReplayAcceptedOnce(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	_, codes := enrolSiti(t, f)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	start := make(chan struct{})
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			_, _, errs[i] = f.h.UseRecoveryCode.Use(ctx, commands.UseRecoveryCode{Meta: f.user(sitiIC), UserID: sitiIC, Code: codes[0]})
		}(i)
	}
	close(start)
	wg.Wait()
	accepted := 0
	for _, err := range errs {
		if err == nil {
			accepted++
		}
	}
	if accepted != 1 {
		t.Fatalf("one recovery code accepted %d times: %v", accepted, errs)
	}
	checkOrdinarySecondFactorAnswers(t, errs)
}
