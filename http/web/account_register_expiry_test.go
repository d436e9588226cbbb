package web_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/http/web"
)

// registerFunc is a Pendaftaran handler made of a function.
type registerFunc func(ctx context.Context, cmd commands.RegisterAccount) (commands.Result, error)

func (f registerFunc) Handle(ctx context.Context, cmd commands.RegisterAccount) (commands.Result, error) {
	return f(ctx, cmd)
}

// The registration page names when the temporary password expires: the
// expiry the command recorded, which the mail names too, not the page's
// own clock plus 24 hours read after the command and the read-your-writes
// wait (a page drawn a minute later would promise a minute the password
// does not have).
func TestRegisteredPageNamesTheMailsExpiry(t *testing.T) {
	w := newWorldWith(t, worldOpts{demo: true, commands: func(w *world, c *web.AccountCommands) {
		real := c.Register
		c.Register = registerFunc(func(ctx context.Context, cmd commands.RegisterAccount) (commands.Result, error) {
			res, err := real.Handle(ctx, cmd)
			w.clk.Add(3 * time.Minute) // the time the page then takes
			return res, err
		})
	}})
	b := w.browser()
	r := b.post("/pendaftaran", "/pendaftaran", url.Values{"ic": {sitiIC}, "email": {"siti.aminah@melaka.gov.my"}})
	if r.Code != 200 {
		t.Fatalf("register: %d", r.Code)
	}
	// Registered at 04/05/2026 09:00 Malaysia time (the world's clock).
	mustContain(t, "registered page", r.body, "05/05/2026 09:00 (24 jam)")
	w.mailFor(b, sitiIC, "Pendaftaran iSPEKS", 0)
	list := b.get("/demo/mailbox")
	link := regexp.MustCompile(`href="(/demo/mailbox/[^"]+)"`).FindStringSubmatch(list.body)
	if link == nil || !strings.Contains(b.get(link[1]).body, "Sah sehingga: 05/05/2026 09:00") {
		t.Fatal("the mail does not name the same expiry")
	}
}
