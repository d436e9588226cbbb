package httpx

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

func TestDecodeJSON(t *testing.T) {
	type payment struct {
		Voucher string `json:"voucher"`
		Amount  int64  `json:"amount_sen"`
	}
	m := NewErrorMap()
	cases := []struct {
		body   string
		status int
		code   string
		field  string
	}{
		{`{"voucher":"V1","amount_sen":1250}`, 0, "", ""},
		{`{"voucher":"Bayaran ✓ é","amount_sen":1250}`, 0, "", ""},
		{`{"voucher":"V1","amount_sen":12.5}`, 400, "invalid_type", "amount_sen"},
		{`{"voucher":"V1","amount_sen":"12"}`, 400, "invalid_type", "amount_sen"},
		{`{"voucher":"V1","colour":"red"}`, 400, "unknown_field", "colour"},
		{`{"voucher":"V1","voucher":"V2","amount_sen":1250}`, 400, "malformed_json", "voucher"},
		{`{"Voucher":"V1","amount_sen":1250}`, 400, "unknown_field", "Voucher"},
		{`{"voucher":"V1"} {"voucher":"V2"}`, 400, "bad_request", ""},
		{`{"voucher":"V1"} x`, 400, "bad_request", ""},
		{``, 400, "bad_request", ""},
		{`{"voucher":`, 400, "malformed_json", ""},
		{`[1,2]`, 400, "malformed_json", ""},
		{`{"voucher":"` + strings.Repeat("x", 200) + `"}`, 413, "too_large", ""},
		// Not UTF-8: encoding/json would store "\uFFFD\uFFFD" and answer
		// 200; the bytes in a value, in a name, and cut in the middle.
		{"{\"voucher\":\"V\xff\xfe1\",\"amount_sen\":1250}", 400, "malformed_json", ""},
		{"{\"vou\xc3cher\":\"V1\",\"amount_sen\":1250}", 400, "malformed_json", ""},
		{"{\"voucher\":\"Bayaran \xe2\x9c\",\"amount_sen\":1250}", 400, "malformed_json", ""},
		// Valid UTF-8 whose escapes name half a UTF-16 pair: U+FFFD too.
		{`{"voucher":"A\ud800B","amount_sen":1250}`, 400, "malformed_json", ""},
		{`{"voucher":"A\udc00","amount_sen":1250}`, 400, "malformed_json", ""},
		{`{"voucher":"A\uD83D\u0041","amount_sen":1250}`, 400, "malformed_json", ""},
		{`{"voucher":"A\ud83d","amount_sen":1250}`, 400, "malformed_json", ""},
		// A whole pair, an escaped backslash before "ud800", other escapes.
		{`{"voucher":"\ud83d\ude00 \\ud800 \" \u00e9 \n","amount_sen":1250}`, 0, "", ""},
	}
	for _, c := range cases {
		ctx, _ := gin.CreateTestContext(httptest.NewRecorder())
		w := httptest.NewRecorder()
		ctx.Request = httptest.NewRequest("POST", "/", strings.NewReader(c.body))
		ctx.Request.Body = http.MaxBytesReader(w, ctx.Request.Body, 100)
		var p payment
		err := DecodeJSON(ctx, &p)
		if c.status == 0 {
			if err != nil || p.Amount != 1250 || !utf8.ValidString(p.Voucher) || strings.ContainsRune(p.Voucher, utf8.RuneError) {
				t.Errorf("%s: %v %+v", c.body, err, p)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted", c.body)
			continue
		}
		pr := m.Map(err)
		if pr.Status != c.status || pr.Code != c.code || pr.Field != c.field {
			t.Errorf("%.40s: got %d %s %q, want %d %s %q (%v)", c.body, pr.Status, pr.Code, pr.Field, c.status, c.code, c.field, err)
		}
	}

	// A client that stops sending halfway is answered 400, not logged as
	// the server's 500.
	ctx, _ := gin.CreateTestContext(httptest.NewRecorder())
	ctx.Request = httptest.NewRequest("POST", "/", io.MultiReader(strings.NewReader(`{"voucher":"V`), iotest.ErrReader(io.ErrUnexpectedEOF)))
	var p payment
	if pr := m.Map(DecodeJSON(ctx, &p)); pr.Status != 400 || pr.Code != "bad_request" {
		t.Errorf("a body cut off by the client: %d %s", pr.Status, pr.Code)
	}

	// A body that did not arrive in its time (BodyLimit's deadline) is
	// 408, as on a form, not 400.
	ctx, _ = gin.CreateTestContext(httptest.NewRecorder())
	ctx.Request = httptest.NewRequest("POST", "/", io.MultiReader(strings.NewReader(`{"voucher":"V`), iotest.ErrReader(fmt.Errorf("%w: i/o timeout", ErrBodyTimeout))))
	if pr := m.Map(DecodeJSON(ctx, &p)); pr.Status != http.StatusRequestTimeout || pr.Code != "body_timeout" {
		t.Errorf("a body past its time: %d %s", pr.Status, pr.Code)
	}
}

// FuzzDecodeJSON: what DecodeJSON accepts holds no U+FFFD that the client
// did not send as such: bad bytes and half surrogate pairs are refused,
// not turned into replacement characters.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"voucher":"V1"}`, `{"voucher":"A\ud800B"}`, `{"voucher":"\ud83d\ude00"}`, "{\"voucher\":\"\xff\"}", `{"voucher":"\\ud800"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		ctx, _ := gin.CreateTestContext(httptest.NewRecorder())
		ctx.Request = httptest.NewRequest("POST", "/", strings.NewReader(body))
		var v struct {
			Voucher string `json:"voucher"`
		}
		if DecodeJSON(ctx, &v) != nil {
			return
		}
		if strings.ContainsRune(v.Voucher, utf8.RuneError) && !strings.ContainsRune(body, utf8.RuneError) && !strings.Contains(strings.ToLower(body), `\ufffd`) {
			t.Fatalf("%q decoded to %q", body, v.Voucher)
		}
	})
}
