package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/melaka-gov/ispeks/infra/demo"
)

// widths is what a page measures in a real browser: how wide its content
// is against the window (wider means the whole page scrolls sideways), and
// how far the widest table overflows its box (a table that scrolls inside
// its box hides columns on a phone).
type widths struct {
	Page, Window, TableOver int
}

const measureJS = `(() => {
  const d = document.documentElement;
  let over = 0;
  document.querySelectorAll('.table-wrap').forEach(w => { over = Math.max(over, w.scrollWidth - w.clientWidth); });
  return {Page: d.scrollWidth, Window: d.clientWidth, TableOver: over};
})()`

// measure opens each path of srv in headless Chromium, width CSS pixels
// wide, with the cookies given (a logged-in session), and returns what
// each page measures. It skips the test without chromium.
func measure(t *testing.T, srv http.Handler, cookies []*http.Cookie, width int64, paths ...string) map[string]widths {
	t.Helper()
	ctx, closeBrowser := headlessChromium(t, "the phone layout needs a real browser")
	defer closeBrowser()
	ts := httptest.NewServer(srv)
	defer ts.Close()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	var params []*network.CookieParam
	for _, c := range cookies {
		params = append(params, &network.CookieParam{Name: c.Name, Value: c.Value, URL: ts.URL + "/"})
	}
	step, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := chromedp.Run(step, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, network.SetCookies, network.SetCookiesParams{Cookies: params})
		return chromedp.Void{}, err
	}); err != nil {
		t.Fatalf("cookies: %v", err)
	}
	out := map[string]widths{}
	for _, p := range paths {
		if err := chromedp.Do(step, chromedp.EmulateViewport(width, 800), chromedp.Navigate(ts.URL+p)); err != nil {
			t.Fatalf("open %s: %v", p, err)
		}
		got, err := chromedp.Run(step, chromedp.Evaluate[widths](measureJS))
		if err != nil {
			t.Fatalf("measure %s: %v", p, err)
		}
		out[p] = got
	}
	return out
}

// TestPhoneLayout: on the narrowest phones (320 CSS pixels, also what a
// desktop shows at 400 % zoom) no page scrolls sideways, and the staff's
// own tables — Aktiviti Log Masuk, a payment's Sejarah Status — show every
// column on a phone instead of hiding some past the edge.
func TestPhoneLayout(t *testing.T) {
	w := newWorld(t)
	b := w.activeUser(master[0])
	var cookies []*http.Cookie
	for _, c := range b.cookies {
		cookies = append(cookies, c)
	}
	pages := []string{"/", "/pendaftaran", "/lupa-kata-laluan", "/utama", "/tetapan-akaun/kemaskini-maklumat",
		"/tetapan-akaun/tukar-kata-laluan", "/tetapan-akaun/aktiviti-log-masuk", "/tetapan-akaun/aktiviti-log-masuk?lang=en"}
	for p, m := range measure(t, w.srv, cookies, 320, pages...) {
		if m.Page > m.Window {
			t.Errorf("%s at 320 px: the page is %d px wide, it scrolls sideways", p, m.Page)
		}
	}
	for _, p := range []string{"/tetapan-akaun/aktiviti-log-masuk", "/tetapan-akaun/aktiviti-log-masuk?lang=en"} {
		for _, width := range []int64{320, 390} {
			if m := measure(t, w.srv, cookies, width, p)[p]; m.TableOver > 0 {
				t.Errorf("%s at %d px: the table hides %d px of its columns", p, width, m.TableOver)
			}
		}
	}

	pp := newPayPortal(t, payOptions{})
	sum, err := demo.Load(context.Background(), demo.Deps{Runner: pp.runner})
	if err != nil {
		t.Fatal(err)
	}
	if err := pp.eng.WaitFor(context.Background(), sum.LastPosition); err != nil {
		t.Fatal(err)
	}
	siti := demo.Staff()[0]
	pb := pp.as(siti.IC, siti.Name, "")
	var payCookies []*http.Cookie
	for _, c := range pb.cookies {
		payCookies = append(payCookies, c)
	}
	detail := "/permohonan/status-bayaran/" + url.PathEscape("DEMO-PDH-0006") // paid: five statuses and the EFT line
	annual := "/penyata-gaji/DEMO-EC-PNM-0042-2025"
	for _, p := range []string{detail, annual} {
		if r := pb.get(p); r.code != http.StatusOK {
			t.Fatalf("demo page %s: %d", p, r.code)
		}
	}
	payPages := []string{"/permohonan/status-bayaran?modul=pendahuluan", detail, detail + "?lang=en",
		"/penyata-gaji?urusniaga=slip-gaji-bulanan", "/penyata-gaji?urusniaga=penyata-pendapatan-tahunan", annual}
	for _, width := range []int64{320, 390} {
		for p, m := range measure(t, pp.srv, payCookies, width, payPages...) {
			if m.Page > m.Window {
				t.Errorf("%s at %d px: the page is %d px wide, it scrolls sideways", p, width, m.Page)
			}
			if m.TableOver > 0 {
				t.Errorf("%s at %d px: a table hides %d px of its columns", p, width, m.TableOver)
			}
		}
	}
}
