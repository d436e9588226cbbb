package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/melaka-gov/ispeks/http/server"
	"github.com/melaka-gov/ispeks/http/web"
)

// TestLandingDemoHint: in demo mode the landing page names a few demo staff
// (name, IC, e-mail; a shared mailbox marked) and links the demo mailbox;
// outside demo mode the same configuration shows none of it.
func TestLandingDemoHint(t *testing.T) {
	type person struct{ name, ic, email string }
	master := []person{
		{"Siti Aminah binti Omar", "791117045672", "siti.aminah@melaka.gov.my"},
		{"Muhammad Hafiz bin Ismail", "880512015123", "hafiz.ismail@melaka.gov.my"},
		{"Nurul Huda binti Rahman", "850203145432", "pentadbiran.jkr@melaka.gov.my"},
		{"Tan Mei Ling", "900921305018", "pentadbiran.jkr@melaka.gov.my"},
		{"Rajesh a/l Subramaniam", "820704085237", "rajesh.subramaniam@melaka.gov.my"},
	}
	staff := web.DemoPeople(master, func(p person) web.DemoPerson {
		return web.DemoPerson{Name: p.name, IC: p.ic, Email: p.email}
	})
	landing := func(t *testing.T, demo bool, query string) string {
		t.Helper()
		srv, err := server.New(server.Config{Web: web.Config{Demo: demo, DemoStaff: staff}}, server.Deps{})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/"+query, nil))
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != http.StatusOK {
			t.Fatalf("landing (demo %v): %d", demo, rec.Code)
		}
		return string(body)
	}

	on := landing(t, true, "")
	for _, want := range []string{
		`aria-labelledby="demo-title"`, ">Demo</h2>",
		"Siti Aminah binti Omar", "791117-04-5672", "siti.aminah@melaka.gov.my",
		"Tan Mei Ling", "900921-30-5018",
		`href="/demo/mailbox"`, "Buka Peti Masuk Demo",
	} {
		if !strings.Contains(on, want) {
			t.Errorf("demo on: landing lacks %q", want)
		}
	}
	if n := strings.Count(on, "(peti emel dikongsi)"); n != 2 {
		t.Errorf("demo on: %d people marked as sharing a mailbox, want the 2 who do", n)
	}
	if strings.Contains(on, "Rajesh") {
		t.Error("demo on: the box lists more than four people")
	}
	// The ID Pengguna form is still the page's first form.
	if i, j := strings.Index(on, `action="/login"`), strings.Index(on, "demo-title"); i < 0 || j < i {
		t.Error("demo on: the demo box comes before the login form")
	}

	en := landing(t, true, "?lang=en")
	for _, want := range []string{"Open the Demo Mailbox", "(shared mailbox)", "IC Number: 850203-14-5432"} {
		if !strings.Contains(en, want) {
			t.Errorf("demo on, English: landing lacks %q", want)
		}
	}

	off := landing(t, false, "")
	for _, unwanted := range []string{"demo-title", "/demo/mailbox", "Siti Aminah", "791117-04-5672", "Peti Masuk Demo"} {
		if strings.Contains(off, unwanted) {
			t.Errorf("demo off: landing shows %q", unwanted)
		}
	}
	if !strings.Contains(off, `action="/login"`) {
		t.Error("demo off: no login form")
	}
}
