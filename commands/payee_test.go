package commands_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
)

type countingPayees struct {
	next  commands.PayeeDirectory
	calls atomic.Int32
}

func (c *countingPayees) Known(ctx context.Context, ic string) (bool, error) {
	c.calls.Add(1)
	return c.next.Known(ctx, ic)
}

func TestPayeeCacheKeepsOnlyKnown(t *testing.T) {
	f := newFinance(t)
	counting := &countingPayees{next: f.payees}
	cache := &commands.PayeeCache{Next: counting, Max: 2}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if ok, err := cache.Known(ctx, finIC); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	if n := counting.calls.Load(); n != 1 {
		t.Fatalf("known IC asked %d times", n)
	}
	for i := 0; i < 2; i++ {
		if ok, err := cache.Known(ctx, "900202051234"); ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	if n := counting.calls.Load(); n != 3 {
		t.Fatalf("unknown IC cached: %d calls", n)
	}
	f.givenEmployee("900202051234")
	if ok, _ := cache.Known(ctx, "900202051234"); !ok {
		t.Fatal("employee pushed later not found")
	}
}

func TestClientCommandID(t *testing.T) {
	a := commands.ClientCommandID("payroll", "r1")
	if a != commands.ClientCommandID("payroll", "r1") {
		t.Fatal("not deterministic")
	}
	if a == commands.ClientCommandID("payments", "r1") || a == commands.ClientCommandID("payroll", "r2") || commands.ClientCommandID("ab", "c") == commands.ClientCommandID("a", "bc") {
		t.Fatal("collision")
	}
}

func TestPayeeCacheRemember(t *testing.T) {
	f := newFinance(t)
	counting := &countingPayees{next: f.payees}
	cache := &commands.PayeeCache{Next: counting}
	cache.Remember(finIC, "900202051234")
	for _, ic := range []string{finIC, "900202051234"} {
		if ok, err := cache.Known(context.Background(), ic); !ok || err != nil {
			t.Fatal(ic, ok, err)
		}
	}
	if n := counting.calls.Load(); n != 0 {
		t.Fatalf("remembered ICs looked up %d times", n)
	}
}
