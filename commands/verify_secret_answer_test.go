package commands_test

import (
	"context"
	"errors"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
)

func TestVerifySecretAnswer(t *testing.T) {
	f := newAccts(t)
	ctx := context.Background()
	f.makeAdmin()
	f.activate(sitiIC, "siti.aminah@melaka.gov.my", sitiPassword)
	verify := func(answer string) (bool, error) {
		ok, _, err := f.h.VerifySecretAnswer.Verify(ctx, commands.VerifySecretAnswer{Meta: f.admin(), UserID: sitiIC, Answer: answer})
		return ok, err
	}
	if ok, err := verify("  COMOT "); !ok || err != nil {
		t.Fatalf("right answer typed differently: %v %v", ok, err)
	}
	if ok, err := verify("Tompok"); ok || err != nil {
		t.Fatalf("wrong answer: %v %v", ok, err)
	}
	var verdicts []bool
	for _, e := range f.events("account-" + sitiIC) {
		if c, ok := e.Event.(account.SecretAnswerChecked); ok {
			verdicts = append(verdicts, c.Verified)
			if e.Metadata.Actor.ID != adminIC {
				t.Fatalf("check recorded with actor %+v", e.Metadata.Actor)
			}
		}
	}
	if len(verdicts) != 2 || !verdicts[0] || verdicts[1] {
		t.Fatalf("verdicts %v", verdicts)
	}
	if _, err := verify(""); err == nil {
		t.Fatal("empty answer accepted")
	}
	if _, _, err := f.h.VerifySecretAnswer.Verify(ctx, commands.VerifySecretAnswer{Meta: f.user(sitiIC), UserID: sitiIC, Answer: "comot"}); !errors.Is(err, commands.ErrForbidden) {
		t.Fatalf("staff: %v", err)
	}
}
