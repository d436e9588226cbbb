package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/apiclient"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/http/server"
	"github.com/melaka-gov/ispeks/infra/config"
	"github.com/melaka-gov/ispeks/infra/mail/mailtest"
)

// TestAccountNameFollowsTheMaster: the whole portal (real SQLite stores,
// the real mailer over a real SMTP server). An activated staff member's
// name is corrected by the finance system (PUT); no mail goes out for it;
// Lupa Kata Laluan then greets her by the corrected name, not the one she
// registered under.
func TestAccountNameFollowsTheMaster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	relay := mailtest.StartRelay(t)
	c := quietCLI(t)
	rig, err := c.startBenchRig(ctx, t.TempDir(), rigOptions{Tune: func(cfg *config.Config) {
		cfg.SMTPURL = "smtp://" + relay.Addr + "?starttls=off"
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer rig.Close()
	a := rig.app
	users, err := benchAccounts(ctx, a, 1)
	if err != nil {
		t.Fatal(err)
	}
	ic := users[0].ic
	const oldName, newName = "Staf Ujian 0", "Nurul Ain binti Ahmad"
	add, err := commands.AddAPIClient{Meta: benchMeta(benchSystem), Name: "Sistem Gaji", Scopes: []string{apiclient.ScopeEmployeesWrite}}.WithNewToken()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (commands.AddAPIClientHandler{Runner: a.runner}).Handle(ctx, add); err != nil {
		t.Fatal(err)
	}
	if err := rig.catchUp(ctx); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"name":%q,"email":"staf0@melaka.gov.my","department":"Pejabat Daerah Melaka Tengah","post":"Pembantu Tadbir","staff_number":"MLK00000"}`, newName)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, rig.base+server.APIPrefix+"v1/employees/"+ic, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+add.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	drain(resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT the master record: %d", resp.StatusCode)
	}
	// The follower's checkpoint moves only with master events, so wait
	// for the master change's position (the log's head may be the
	// follower's own event already).
	head := lastOf(ctx, t, a, "employee-"+ic)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		cp, err := a.views.Checkpoint(ctx, commands.NameFollowerName)
		if err != nil {
			t.Fatal(err)
		}
		if cp >= head {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the name follower's checkpoint is %d, want %d", cp, head)
		}
	}

	b := newBenchBrowser(rig.base, http.DefaultTransport)
	tok, err := b.csrf(ctx, "/lupa-kata-laluan")
	if err != nil {
		t.Fatal(err)
	}
	code, loc, err := b.post(ctx, "/lupa-kata-laluan", url.Values{"csrf_token": {tok}, "ic": {ic}})
	if err != nil || code != http.StatusSeeOther || loc != "/lupa-kata-laluan?hantar=1" {
		t.Fatalf("Lupa Kata Laluan: %d %q %v", code, loc, err)
	}
	// Registration, then Lupa Kata Laluan: the mailer goes in log order
	// and the account's name event came before the request, so a mail
	// for the name change would be the second.
	got := relay.Wait(t, 2)
	forgot := string(got[1].Data)
	if !strings.Contains(forgot, "kata laluan sementara yang baharu") {
		t.Fatalf("second mail is not Lupa Kata Laluan:\n%s", forgot)
	}
	if !strings.Contains(forgot, newName) || strings.Contains(forgot, oldName) {
		t.Errorf("Lupa Kata Laluan after HR corrected the name greets %q, want %q:\n%s", oldName, newName, forgot)
	}
}

// lastOf is the position of stream's last event.
func lastOf(ctx context.Context, t *testing.T, a *app, stream string) uint64 {
	t.Helper()
	recs, err := a.events.ReadStream(ctx, stream, 0, eventlog.Backwards, 1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("last event of %s: %v %v", stream, recs, err)
	}
	return recs[0].Position
}
