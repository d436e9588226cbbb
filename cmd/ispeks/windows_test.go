package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/commands/ingest"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/infra/config"
	"github.com/melaka-gov/ispeks/projections/statements"
)

// --slip-months reaches every reader of the display window through
// serve's own wiring: with 3 months, a slip of five months ago is gone
// from the list page, its HTML view and PDF, and /api/v1/me, while last
// month's shows; the page says 3 months. The old slip is in the read model
// (the default window finds it): only the configured window hides it.
func TestSlipMonthsHidesOlderSlips(t *testing.T) {
	ctx := context.Background()
	rig, err := quietCLI(t).startBenchRig(ctx, t.TempDir(), rigOptions{Tune: func(c *config.Config) { c.SlipMonths = 3 }})
	if err != nil {
		t.Fatal(err)
	}
	defer rig.Close()
	a := rig.app
	s := newBenchStaff(0)
	if _, err := a.accounts.PutStaff.Handle(ctx, commands.PutStaff{Meta: benchMeta(benchSystem), Details: employee.Details{
		IC: s.IC, Name: s.Name, Email: s.Email, Department: s.Dept, Post: s.Post, StaffNumber: s.StaffNo,
	}}); err != nil {
		t.Fatal(err)
	}
	today := time.Now().In(time.FixedZone("MYT", 8*60*60))
	recent := time.Date(today.Year(), today.Month()-1, 1, 0, 0, 0, 0, time.UTC)
	old := time.Date(today.Year(), today.Month()-5, 1, 0, 0, 0, 0, time.UTC)
	src := ingest.Source{Actor: eventlog.Actor{Kind: eventlog.ActorClient, ID: "windows-test"}, CorrelationID: "windows"}
	if err := benchIngest(ctx, ingest.New(a.runner, a.payees), src, 2, func(w *bufio.Writer) {
		writeSlip(w, s, 0, recent)
		writeSlip(w, s, 0, old)
	}); err != nil {
		t.Fatal(err)
	}
	if err := rig.catchUp(ctx); err != nil {
		t.Fatal(err)
	}
	recentID, oldID := benchSlipID(recent, 0), benchSlipID(old, 0)
	if _, err := (statements.Queries{Reader: a.views}).Get(ctx, s.IC, oldID, time.Now()); err != nil {
		t.Fatalf("the old slip is not in the read model: %v", err)
	}
	cookie, err := benchSession(rig.srv, session.Identity{UserID: s.IC, Name: s.Name, Department: s.Dept})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, rig.base+path, nil)
		req.Header.Set("Cookie", cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	code, list := get("/penyata-gaji?urusniaga=slip-gaji-bulanan")
	if code != http.StatusOK || !strings.Contains(list, recentID) || strings.Contains(list, oldID) {
		t.Errorf("list page: %d, recent listed %v, old listed %v", code, strings.Contains(list, recentID), strings.Contains(list, oldID))
	}
	if !strings.Contains(list, "bagi 3 bulan terakhir") {
		t.Errorf("the list page does not say 3 months")
	}
	code, js := get("/api/v1/me/statements?type=slip-gaji-bulanan")
	if code != http.StatusOK || !strings.Contains(js, recentID) || strings.Contains(js, oldID) {
		t.Errorf("/api/v1/me/statements: %d %s", code, js)
	}
	for _, p := range []string{"/penyata-gaji/" + recentID, "/penyata-gaji/" + recentID + "/dokumen.pdf", "/api/v1/me/statements/" + recentID} {
		if code, _ := get(p); code != http.StatusOK {
			t.Errorf("%s: %d, want 200", p, code)
		}
	}
	for _, p := range []string{"/penyata-gaji/" + oldID, "/penyata-gaji/" + oldID + "/dokumen.pdf",
		"/api/v1/me/statements/" + oldID, "/api/v1/me/statements/" + oldID + "/pdf"} {
		if code, _ := get(p); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404 (outside the 3-month window)", p, code)
		}
	}
}
