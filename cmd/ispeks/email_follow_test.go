package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/apiclient"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/mykad"
	"github.com/melaka-gov/ispeks/http/server"
	"github.com/melaka-gov/ispeks/infra/config"
	"github.com/melaka-gov/ispeks/infra/mail/mailtest"
	"github.com/melaka-gov/ispeks/infra/staffimport"
	"github.com/melaka-gov/ispeks/projections/accounts"
)

// TestAccountEmailFollowsTheMaster: the whole portal (real SQLite stores,
// the real mailer over a real SMTP server). Three activated staff; the
// second changed her own address at Kemaskini Maklumat Pengguna. HR moves
// the first to a new mailbox through the finance API (PUT), the second
// and third through a CSV import. The first and third accounts follow the
// master, the second keeps her choice; the accounts view says so; each
// account that followed has exactly one such event, and its new mailbox
// got a notice. Then Lupa Kata Laluan, through the pages, mails each
// temporary password to the address the account now has, never to a
// master address the person moved away from.
func TestAccountEmailFollowsTheMaster(t *testing.T) {
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
	users, err := benchAccounts(ctx, a, 3)
	if err != nil {
		t.Fatal(err)
	}
	ics := []string{users[0].ic, users[1].ic, users[2].ic}
	oldEmail := func(i int) string { return fmt.Sprintf("staf%d@melaka.gov.my", i) }
	const chosen = "staf1.sendiri@melaka.gov.my"
	if _, err := a.accounts.UpdateProfile.Handle(ctx, commands.UpdateProfile{Meta: benchMeta(eventlog.Actor{Kind: eventlog.ActorUser, ID: ics[1]}),
		UserID: ics[1], Profile: account.Profile{Email: chosen}, CurrentPassword: benchPassword}); err != nil {
		t.Fatal(err)
	}
	newEmail := []string{"kewangan.tengah@melaka.gov.my", "pentadbiran.baharu@melaka.gov.my", "staf2@jkr.melaka.gov.my"}

	// HR: the finance system's PUT for the first …
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
	body := fmt.Sprintf(`{"name":"Staf Ujian 0","email":%q,"department":"Pejabat Daerah Melaka Tengah","post":"Pembantu Tadbir","staff_number":"MLK00000"}`, newEmail[0])
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, rig.base+server.APIPrefix+"v1/employees/"+ics[0], strings.NewReader(body))
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
	// … and the CSV import for the other two.
	var csv bytes.Buffer
	csv.WriteString("No. K/P,Nama,E-mel Rasmi,Jabatan,Jawatan,No. Gaji\n")
	for i := 1; i < 3; i++ {
		fmt.Fprintf(&csv, "%s,Staf Ujian %d,%s,Jabatan Kewangan dan Perbendaharaan Negeri Melaka,Pembantu Tadbir,MLK%05d\n", ics[i], i, newEmail[i], i)
	}
	rep, err := staffimport.New(a.runner, staffimport.Config{AllowedDomains: a.cli.cfg.EmailDomains}).
		Import(ctx, &csv, staffimport.Source{Actor: eventlog.Actor{Kind: eventlog.ActorSystem, ID: "cli:import"}}, nil)
	if err != nil || rep.Updated != 2 {
		t.Fatalf("import: %+v %v", rep.NotImported(), err)
	}

	// The follower is a durable consumer: wait for its checkpoint to pass
	// the master changes (it moves only with master events, and the log's
	// head may be the follower's own event already), then for the
	// projectors.
	var head uint64
	for _, ic := range ics {
		head = max(head, lastOf(ctx, t, a, "employee-"+ic))
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		cp, err := a.views.Checkpoint(ctx, commands.EmailFollowerName)
		if err != nil {
			t.Fatal(err)
		}
		if cp >= head {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the e-mail follower's checkpoint is %d, want %d", cp, head)
		}
	}
	if err := rig.catchUp(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{newEmail[0], chosen, newEmail[2]}
	for i, ic := range ics {
		view, ok, err := accounts.GetAccount(ctx, a.views, ic)
		if err != nil || !ok || view.Email != want[i] {
			t.Errorf("account %d's view: e-mail %q (%v %v), want %q", i, view.Email, ok, err, want[i])
		}
		followed := 0
		recs, err := a.events.ReadStream(ctx, account.Stream(mykad.IC(ic)), 1, eventlog.Forwards, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Type == (account.EmailFollowedMaster{}).EventType() {
				followed++
			}
		}
		if wantN := map[bool]int{true: 0, false: 1}[i == 1]; followed != wantN {
			t.Errorf("account %d: %d EmailFollowedMaster events, want %d", i, followed, wantN)
		}
	}

	// Lupa Kata Laluan, as a browser asks for it.
	for _, ic := range ics {
		b := newBenchBrowser(rig.base, http.DefaultTransport)
		tok, err := b.csrf(ctx, "/lupa-kata-laluan")
		if err != nil {
			t.Fatal(err)
		}
		code, loc, err := b.post(ctx, "/lupa-kata-laluan", url.Values{"csrf_token": {tok}, "ic": {ic}})
		if err != nil || code != http.StatusSeeOther || loc != "/lupa-kata-laluan?hantar=1" {
			t.Fatalf("Lupa Kata Laluan: %d %q %v", code, loc, err)
		}
	}
	// Registration ×3, Staf 1's own change (to her old address), two
	// follow notices, three forgotten-password mails.
	got := relay.Wait(t, 9)
	forgot, notices := map[string][]string{}, map[string][]string{}
	for _, m := range got {
		text := string(m.Data)
		for _, ic := range ics {
			if !strings.Contains(text, ic) {
				continue
			}
			switch {
			case strings.Contains(text, "Lupa Kata Laluan") && strings.Contains(text, "kata laluan sementara yang baharu"):
				forgot[ic] = append(forgot[ic], m.To...)
			case strings.Contains(text, "rekod kakitangan telah ditukar"):
				notices[ic] = append(notices[ic], m.To...)
			}
		}
	}
	for i, ic := range ics {
		if f := forgot[ic]; len(f) != 1 || f[0] != want[i] {
			t.Errorf("account %d: Lupa Kata Laluan mailed %v, want %s", i, f, want[i])
		}
		wantNotice := []string{want[i]}
		if i == 1 {
			wantNotice = nil
		}
		if n := notices[ic]; fmt.Sprint(n) != fmt.Sprint(wantNotice) {
			t.Errorf("account %d: follow notices to %v, want %v", i, n, wantNotice)
		}
	}
	for _, m := range got {
		for _, to := range m.To {
			if to == oldEmail(0) || to == oldEmail(2) {
				if strings.Contains(string(m.Data), "kata laluan sementara yang baharu") {
					t.Errorf("a temporary password went to the address the master moved away from: %s", to)
				}
			}
		}
	}
}
