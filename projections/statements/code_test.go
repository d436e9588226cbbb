package statements_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"strconv"
	"sync"
	"testing"

	"github.com/melaka-gov/ispeks/projections/statements"
)

// Code is the plain HMAC of the revision's identity, whatever key the
// pooled MAC it reuses was made for, also when called at once from many
// goroutines.
func TestCodeIsTheHMACOfTheRevision(t *testing.T) {
	keys := [][]byte{[]byte("0123456789abcdef0123"), []byte("another key, same length........")}
	want := func(key []byte, id string, rev int) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte("ispeks/statement\x00" + id + "\x00" + strconv.Itoa(rev)))
		return base32.StdEncoding.EncodeToString(m.Sum(nil)[:10])
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				key, id := keys[(i+g)%2], "SG-2026-01-"+strconv.Itoa(i)
				if got, w := statements.Code(key, id, i%3+1), want(key, id, i%3+1); got != w {
					t.Errorf("Code(key %d, %s, %d) = %s, want %s", (i+g)%2, id, i%3+1, got, w)
					return
				}
			}
		})
	}
	wg.Wait()
}
