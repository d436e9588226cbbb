package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"golang.org/x/net/html"

	"github.com/melaka-gov/ispeks/http/i18n"
	"github.com/melaka-gov/ispeks/http/web"
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

// checkCardColumns: in each table whose rows become cards on a phone, every
// value of a row carries its column's name (the header cell's text) in an
// element of class "cl", so a phone user, who sees no header row, reads
// "Tarikh Bayaran: 25/02/2026" rather than a bare date, and a screen
// reader says it whether or not the browser still reads the cards as a
// table. Bil. (hidden on a phone), Tindakan (links named by what they do)
// and empty cells need none. It returns how many values it checked.
func checkCardColumns(t *testing.T, what, body string, l i18n.Lang) int {
	t.Helper()
	doc := parsePage(t, what, body)
	skip := map[string]bool{i18n.T(l, "pay.col.bil"): true, i18n.T(l, "pay.col.action"): true}
	checked := 0
	tables := findAll(doc, func(n *html.Node) bool {
		return n.Data == "table" && (hasClass(n, "data-table--cards") || hasClass(n, "data-table--cardrows"))
	})
	if len(tables) == 0 {
		t.Errorf("%s: no table of cards", what)
	}
	for _, tb := range tables {
		var cols []string
		for _, th := range findAll(tb, func(n *html.Node) bool { return n.Data == "th" && n.Parent.Parent.Data == "thead" }) {
			cols = append(cols, strings.TrimSpace(textOf(th)))
		}
		rows := findAll(tb, func(n *html.Node) bool { return n.Data == "tr" && n.Parent.Data == "tbody" })
		for r, tr := range rows {
			cells := findAll(tr, func(n *html.Node) bool { return n.Data == "td" && n.Parent == tr })
			if len(cells) != len(cols) {
				t.Fatalf("%s: row %d has %d cells under %d columns", what, r+1, len(cells), len(cols))
			}
			for i, td := range cells {
				if skip[cols[i]] || strings.TrimSpace(textOf(td)) == "" {
					continue
				}
				checked++
				names := findAll(td, func(n *html.Node) bool { return hasClass(n, "cl") })
				if len(names) == 0 {
					t.Errorf("%s: row %d: %q shows on a phone without its column's name %q", what, r+1, strings.TrimSpace(textOf(td)), cols[i])
					continue
				}
				if got := strings.TrimSuffix(strings.TrimSpace(textOf(names[0])), ":"); got != cols[i] {
					t.Errorf("%s: row %d: value under %q named %q", what, r+1, cols[i], got)
				}
			}
		}
	}
	return checked
}

// TestPhoneCardsNameTheirColumns: the lists whose rows become cards on a
// phone — Senarai Pertanyaan Status Bayaran, Senarai Dokumen, a payment's
// Sejarah Status, Aktiviti Log Masuk — give each value its column's name
// in both languages, and the stylesheet shows those names only where the
// rows are cards (the header row names the columns on a wider screen).
func TestPhoneCardsNameTheirColumns(t *testing.T) {
	pp := newPayPortal(t, payOptions{})
	pp.fixtures()
	b := pp.as(paySitiIC, "Siti Aminah binti Omar", "")
	var css strings.Builder
	for _, l := range []i18n.Lang{i18n.MS, i18n.EN} {
		b.get("/utama?lang=" + string(l))
		for _, p := range []string{web.PathStatusBayaran + "?modul=tuntutan", web.PathStatusBayaran + "?modul=pendahuluan",
			"/penyata-gaji?urusniaga=slip-gaji-bulanan&tahun=", "/permohonan/status-bayaran/PAY-S-001"} {
			r := b.get(p)
			if r.code != http.StatusOK {
				t.Fatalf("%s %s: %d", l, p, r.code)
			}
			if checkCardColumns(t, string(l)+" "+p, r.body, l) == 0 {
				t.Errorf("%s %s: no values to check", l, p)
			}
			for _, m := range regexp.MustCompile(`href="(/static/[a-z]+\.css[^"]*)"`).FindAllStringSubmatch(r.body, -1) {
				css.WriteString(b.get(m[1]).body)
			}
		}
	}
	w := newWorld(t)
	activity := w.activeUser(master[0]).get("/tetapan-akaun/aktiviti-log-masuk").body
	if checkCardColumns(t, "activity", activity, i18n.MS) == 0 {
		t.Error("activity: no values to check")
	}

	rules := parseCSS(css.String())
	if d := cssDecl(rules, "", ".cl", "display"); d != "none" {
		t.Errorf(".cl: display %q on a wide screen, want none (the header row names the columns)", d)
	}
	if d := cssDecl(rules, "(max-width: 39.99rem)", ".cl", "display"); d == "" || d == "none" {
		t.Errorf(".cl: display %q on a phone, want it shown", d)
	}
}
