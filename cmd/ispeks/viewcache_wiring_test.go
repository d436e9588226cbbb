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
)

// Through serve's own wiring, people's lists are kept in memory and follow
// each person's changes: a status change of one person's claim shows in
// that person's list at once, while another person's list is still
// answered from memory.
func TestKeptListsFollowEachPersonsChanges(t *testing.T) {
	ctx := context.Background()
	rig, err := quietCLI(t).startBenchRig(ctx, t.TempDir(), rigOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rig.Close()
	a := rig.app
	// Every projector set up and following the log (a projector rebuilt
	// for its layout at start is told to drop everything as it goes; this
	// test is about what one person's change drops once running).
	rig.startEngine()
	for deadline := time.Now().Add(time.Minute); ; {
		resp, err := http.Get(rig.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the portal did not become ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	people := []benchStaff{newBenchStaff(0), newBenchStaff(1)}
	cookies := make([]string, len(people))
	for i, s := range people {
		if _, err := a.accounts.PutStaff.Handle(ctx, commands.PutStaff{Meta: benchMeta(benchSystem), Details: employee.Details{
			IC: s.IC, Name: s.Name, Email: s.Email, Department: s.Dept, Post: s.Post, StaffNumber: s.StaffNo,
		}}); err != nil {
			t.Fatal(err)
		}
		if cookies[i], err = benchSession(rig.srv, session.Identity{UserID: s.IC, Name: s.Name, Department: s.Dept}); err != nil {
			t.Fatal(err)
		}
	}
	lastMonth := time.Now().AddDate(0, -1, 0)
	src := ingest.Source{Actor: eventlog.Actor{Kind: eventlog.ActorClient, ID: "cache-test"}, CorrelationID: "cache"}
	ingestLines := func(n int, gen func(*bufio.Writer)) {
		t.Helper()
		if err := benchIngest(ctx, ingest.New(a.runner, a.payees), src, n, gen); err != nil {
			t.Fatal(err)
		}
		if err := rig.catchUp(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Claims (odd payment numbers): 1 is the first person's, 3 the second's.
	ingestLines(2, func(w *bufio.Writer) {
		writePayment(w, people[0], 1, lastMonth)
		writePayment(w, people[1], 3, lastMonth)
	})
	list := func(i int) string {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, rig.base+"/api/v1/me/payments?module=tuntutan", nil)
		req.Header.Set("Cookie", cookies[i])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("person %d: %d %s", i, resp.StatusCode, b)
		}
		return string(b)
	}
	for i := range people {
		list(i)
		if got := list(i); strings.Contains(got, "dalam-proses") {
			t.Fatalf("person %d: a claim in process before any move: %s", i, got)
		}
	}
	kept, _, _ := viewCacheMetrics(a.metrics)
	if kept < 2 {
		t.Fatalf("the second reads were not answered from memory (%v hits): is the cache wired?", kept)
	}

	ingestLines(1, func(w *bufio.Writer) { writeMove(w, 1, 0, lastMonth) })
	if got := list(0); !strings.Contains(got, benchPaymentID(1)) || !strings.Contains(got, `"dalam-proses"`) {
		t.Fatalf("the first person's list after their claim moved: %s", got)
	}
	before, _, _ := viewCacheMetrics(a.metrics)
	if got := list(1); strings.Contains(got, "dalam-proses") || !strings.Contains(got, benchPaymentID(3)) {
		t.Fatalf("the second person's list: %s", got)
	}
	if after, _, _ := viewCacheMetrics(a.metrics); after != before+1 {
		t.Errorf("the second person's list was read from the store after the first person's change (hits %v → %v)", before, after)
	}
}
