package httpx_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/http/httpx"
)

// The user agent commands record is text of at most 256 bytes, whatever
// the header held: bytes that are not UTF-8 are replaced, and a character
// at the limit is not cut in half.
func TestUserAgentIsRecordedAsText(t *testing.T) {
	for _, tc := range []struct{ header, want string }{
		{"Mozilla/5.0", "Mozilla/5.0"},
		{"Mozilla\xff/5.0", "Mozilla\uFFFD/5.0"},
		{strings.Repeat("a", 255) + "é", strings.Repeat("a", 255)}, // é is two bytes: it would be cut at 256
		{strings.Repeat("a", 300), strings.Repeat("a", 256)},
	} {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest("GET", "/", nil)
		c.Request.Header.Set("User-Agent", tc.header)
		got := httpx.UserAgent(c)
		if got != tc.want || !utf8.ValidString(got) || len(got) > 256 {
			t.Errorf("User-Agent %q: recorded %q, want %q", tc.header, got, tc.want)
		}
	}
}
