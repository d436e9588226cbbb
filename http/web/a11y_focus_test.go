package web_test

import (
	"context"
	"net/http/httptest"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestFocusLandsOnTheError: in a real browser, a refused form comes back
// with the keyboard focus on what went wrong — the error summary, or the
// box of a form-level refusal — so a keyboard or screen reader user starts
// there instead of at the top of the page and its menus. No script: the
// boxes carry autofocus.
func TestFocusLandsOnTheError(t *testing.T) {
	ctx, closeBrowser := headlessChromium(t, "focus needs a real browser")
	defer closeBrowser()
	w := newWorld(t)
	ts := httptest.NewServer(w.srv)
	defer ts.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	focused := func(what string) string {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.className`))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return got
	}
	submit := func(what, field, value, wait string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.WaitVisible(field), chromedp.SendKeys(field, value), chromedp.Submit(field),
			chromedp.WaitVisible(wait)); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/")); err != nil {
		t.Fatalf("landing: %v", err)
	}
	submit("malformed ID", "#f-user_id", "12345", ".error-summary")
	if got := focused("malformed ID"); got != "error-summary" {
		t.Errorf("malformed ID: focus on %q, want the error summary", got)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/")); err != nil {
		t.Fatalf("landing: %v", err)
	}
	submit("user ID", "#f-user_id", unknownIC, "#f-password")
	submit("wrong password", "#f-password", "bukan kata laluan", ".alert--error")
	if got := focused("wrong password"); got != "alert alert--error" {
		t.Errorf("wrong password: focus on %q, want the Kata Laluan Tidak Tepat box", got)
	}
}

// headlessChromium starts a headless Chromium and returns its tab and the
// function that closes it; it skips the test, saying why, without one.
func headlessChromium(t *testing.T, why string) (context.Context, func()) {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no chromium: " + why)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.Headless,
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	return ctx, func() { cancelTab(); cancelAlloc() }
}
