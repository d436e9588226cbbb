package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// stepTimeout bounds one browser step: a page that never shows the awaited
// element fails the test with the step's name instead of hanging it.
const stepTimeout = 30 * time.Second

// browser is one headless Chromium with one tab, driven like a person: it
// clicks links and buttons, types into fields and reads what the page
// shows.
type browser struct {
	t     *testing.T
	ctx   context.Context // the tab
	base  string          // the portal's URL
	shots string          // screenshot directory
	n     int             // screenshots taken, for their order

	mu      sync.Mutex
	console []chromedp.ConsoleMessage // console messages and browser log entries
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx, base: base, shots: os.Getenv("ISPEKS_E2E_SCREENSHOTS")}
	if b.shots == "" {
		b.shots = t.TempDir()
	} else if err := os.MkdirAll(b.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	// The first Do starts the browser with no deadline (a step's timeout
	// must not end the browser).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	return b
}

// step runs f with a bounded context; an error fails the test naming the
// step.
func (b *browser) step(name string, f func(ctx context.Context) error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := f(ctx); err != nil {
		b.t.Fatalf("%s: %v (page %s)", name, err, b.location())
	}
}

func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "?"
	}
	return loc
}

// path is the tab's current path and query.
func (b *browser) path() string {
	u, err := url.Parse(b.location())
	if err != nil {
		return "?"
	}
	if u.RawQuery != "" {
		return u.Path + "?" + u.RawQuery
	}
	return u.Path
}

// open navigates to a path of the portal and wants status.
func (b *browser) open(path string, status int64) {
	b.t.Helper()
	b.step("open "+path, func(ctx context.Context) error {
		res, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.base+path))
		if err != nil {
			return err
		}
		if res.Status != status {
			return fmt.Errorf("status %d, want %d", res.Status, status)
		}
		return nil
	})
}

// click clicks sel (a link or a submit button) and waits for the page it
// leads to; it wants that page's status (after redirects).
func (b *browser) click(what string, sel any, status int64) {
	b.t.Helper()
	b.step("click "+what, func(ctx context.Context) error {
		res, err := chromedp.RunResponse(ctx, clickAction(sel))
		if err != nil {
			return err
		}
		if res == nil {
			return fmt.Errorf("no page loaded")
		}
		if res.Status != status {
			return fmt.Errorf("status %d, want %d", res.Status, status)
		}
		return nil
	})
}

// clickAction clicks a CSS or XPath selector once it is visible.
func clickAction(sel any) chromedp.Action[chromedp.Void] {
	switch s := sel.(type) {
	case chromedp.CSS:
		return chromedp.Click(s, chromedp.NodeVisible)
	case chromedp.Search:
		return chromedp.Click(s, chromedp.NodeVisible)
	}
	panic(fmt.Sprintf("selector %T", sel))
}

// tap clicks something that changes the page without loading another (a
// drop-down's summary, a radio's label).
func (b *browser) tap(what string, sel any) {
	b.t.Helper()
	b.step("tap "+what, func(ctx context.Context) error {
		return chromedp.Do(ctx, clickAction(sel))
	})
}

// fill types text into the field with the given id ("f-ic").
func (b *browser) fill(id, text string) {
	b.t.Helper()
	b.step("fill #"+id, func(ctx context.Context) error {
		return chromedp.Do(ctx,
			chromedp.Clear(chromedp.ID(id), chromedp.NodeVisible),
			chromedp.SendKeys(chromedp.ID(id), text, chromedp.NodeVisible))
	})
}

// choose picks an option of a select by its value.
func (b *browser) choose(id, value string) {
	b.t.Helper()
	b.step("choose "+value+" in #"+id, func(ctx context.Context) error {
		if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID(id), value, chromedp.NodeVisible)); err != nil {
			return err
		}
		got, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID(id)))
		if err != nil {
			return err
		}
		if got != value {
			return fmt.Errorf("the select has no option %q (value now %q)", value, got)
		}
		return nil
	})
}

// text returns the visible text of the first element matching a CSS
// selector, once it is there.
func (b *browser) text(sel string) string {
	b.t.Helper()
	var out string
	b.step("read "+sel, func(ctx context.Context) error {
		var err error
		out, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
		return err
	})
	return out
}

// attr returns an attribute of the first element matching sel.
func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	var out string
	b.step("read "+name+" of "+sel, func(ctx context.Context) error {
		attrs, err := chromedp.Run(ctx, chromedp.Attributes(chromedp.CSS(sel), chromedp.NodeReady))
		if err != nil {
			return err
		}
		v, ok := attrs[name]
		if !ok {
			return fmt.Errorf("no attribute %s", name)
		}
		out = v
		return nil
	})
	return out
}

// count returns how many elements match sel now (no waiting).
func (b *browser) count(sel string) int {
	b.t.Helper()
	var n int
	b.step("count "+sel, func(ctx context.Context) error {
		var err error
		n, err = chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
		return err
	})
	return n
}

// want fails unless the text of sel contains every piece.
func (b *browser) want(sel string, pieces ...string) string {
	b.t.Helper()
	got := b.text(sel)
	for _, p := range pieces {
		if !strings.Contains(got, p) {
			b.t.Fatalf("%s on %s: want %q in %q", sel, b.path(), p, got)
		}
	}
	return got
}

// wantPath fails unless the tab shows path (without the query).
func (b *browser) wantPath(path string) {
	b.t.Helper()
	got := b.path()
	if i := strings.IndexByte(got, '?'); i >= 0 {
		got = got[:i]
	}
	if got != path {
		b.t.Fatalf("on %s, want %s", b.path(), path)
	}
}

// shot saves a full-page screenshot as NN-name.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	b.n++
	file := filepath.Join(b.shots, fmt.Sprintf("%02d-%s.png", b.n, name))
	b.step("screenshot "+name, func(ctx context.Context) error {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			return err
		}
		return os.WriteFile(file, png, 0o644)
	})
}

// fetched is what a same-origin fetch from the page saw.
type fetched struct {
	Status      int    `json:"status"`
	Type        string `json:"type"`
	Disposition string `json:"disposition"`
	Head        string `json:"head"` // the first bytes, as Latin-1 text
	Size        int    `json:"size"`
}

// fetch requests href from the page, with the page's cookies, as the
// browser does when it opens the link.
func (b *browser) fetch(href string) fetched {
	b.t.Helper()
	var f fetched
	b.step("fetch "+href, func(ctx context.Context) error {
		js := fmt.Sprintf(`fetch(%q, {credentials: "same-origin"}).then(async r => {
			const buf = new Uint8Array(await r.arrayBuffer());
			return {status: r.status, type: r.headers.get("content-type") || "",
				disposition: r.headers.get("content-disposition") || "",
				head: String.fromCharCode(...buf.slice(0, 8)), size: buf.length};
		})`, href)
		var err error
		f, err = chromedp.Run(ctx, chromedp.Evaluate[fetched](js, chromedp.EvalAwaitPromise))
		return err
	})
	return f
}

// wantPDF fetches href and wants a PDF with the given disposition
// ("inline" or "attachment").
func (b *browser) wantPDF(what, href, disposition string) fetched {
	b.t.Helper()
	f := b.fetch(href)
	if f.Status != 200 || f.Type != "application/pdf" || !strings.HasPrefix(f.Head, "%PDF-") || f.Size < 1000 {
		b.t.Fatalf("%s (%s): status %d, type %q, starts %q, %d bytes; want a PDF", what, href, f.Status, f.Type, f.Head, f.Size)
	}
	if !strings.HasPrefix(f.Disposition, disposition+";") || !strings.Contains(f.Disposition, `filename=`) || !strings.Contains(f.Disposition, ".pdf") {
		b.t.Fatalf("%s (%s): Content-Disposition %q, want %s with a .pdf file name", what, href, f.Disposition, disposition)
	}
	return f
}

// opensTab clicks a target=_blank link and waits for the browser to open a
// tab on want (a URL prefix); it closes that tab again.
func (b *browser) opensTab(what string, sel chromedp.CSS, want string) {
	b.t.Helper()
	b.step(what+" opens a tab", func(ctx context.Context) error {
		created := chromedp.WaitNewTarget(ctx, func(info *target.Info) bool {
			return strings.HasPrefix(info.URL, want)
		})
		if err := chromedp.Do(ctx, chromedp.Click(sel, chromedp.NodeVisible)); err != nil {
			return err
		}
		select {
		case id := <-created:
			_, err := chromedp.CallBrowser(ctx, target.CloseTarget, target.CloseTargetParams{TargetID: id})
			return err
		case <-ctx.Done():
			return fmt.Errorf("no tab opened on %s", want)
		}
	})
}

// consoleProblems are the console lines worth failing on: script errors,
// CSP violations, failed static files. A page answered with 401 or 423 (a
// wrong password, the lockout) is logged as a failed resource too; the
// walkthrough checks those statuses itself.
func (b *browser) consoleProblems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.console {
		text := m.Text
		page := strings.HasPrefix(m.URL, b.base) && !strings.HasPrefix(m.URL, b.base+"/static/")
		if strings.HasPrefix(text, "Failed to load resource") && page {
			continue
		}
		if m.Type == chromedp.ConsoleError || m.IsException() || strings.Contains(text, "Content Security Policy") {
			out = append(out, fmt.Sprintf("%s: %s (%s)", m.Type, text, m.URL))
		}
	}
	return out
}

var tempPasswordRe = regexp.MustCompile(`Kata laluan sementara:\s+(\S+)`)
