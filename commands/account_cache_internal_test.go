package commands

import (
	"testing"

	"github.com/melaka-gov/ispeks/domain/account"
)

// A full cache drops the account logged in to least recently, not an
// arbitrary one: given a cache of two holding A and B, when A logs in
// again and then C, B is dropped and A kept.
func TestAccountCacheDropsTheLeastRecentlyUsed(t *testing.T) {
	acct := func(id string) *account.Account {
		a := account.New()
		if err := a.Apply(account.Registered{UserID: id, Name: "Staf " + id, Email: id + "@melaka.gov.my"}); err != nil {
			t.Fatal(err)
		}
		return a
	}
	c := NewAccountCache(2)
	c.put("account-a", acct("a"), 1)
	c.put("account-b", acct("b"), 1)
	if _, v := c.get("account-a"); v != 1 {
		t.Fatalf("A at version %d, want 1", v)
	}
	c.put("account-a", acct("a"), 2) // A's login appended: A is the most recent
	c.put("account-c", acct("c"), 1)
	if c.Len() != 2 {
		t.Fatalf("holds %d, want 2", c.Len())
	}
	for stream, want := range map[string]uint64{"account-a": 2, "account-b": 0, "account-c": 1} {
		if a, v := c.get(stream); v != want || (want > 0) != a.Exists() {
			t.Errorf("%s: version %d (exists %v), want %d", stream, v, a.Exists(), want)
		}
	}
	// An older state never replaces a newer one, and a dropped stream is
	// gone from the order too (it can be put again).
	c.put("account-a", acct("a"), 1)
	if _, v := c.get("account-a"); v != 2 {
		t.Errorf("A went back to version %d", v)
	}
	c.drop("account-c")
	c.put("account-b", acct("b"), 3)
	c.get("account-a")
	c.put("account-d", acct("d"), 1)
	if _, v := c.get("account-b"); v != 0 {
		t.Errorf("B (the least recent once A was read) kept at version %d, want dropped", v)
	}
	if c.Len() != 2 {
		t.Errorf("holds %d after drop and puts, want 2", c.Len())
	}
}
