package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/mykad"
	"github.com/melaka-gov/ispeks/infra/security"
	"github.com/melaka-gov/ispeks/projections/accounts"
)

// grantPW is the role holders' password in these tests (12 characters or
// more, as the administrators' policy wants).
const grantPW = "Kopi Susu Ais Limau"

func userMeta(ic string) commands.Meta {
	return commands.Meta{CommandID: uuid.New(), Actor: eventlog.Actor{Kind: eventlog.ActorUser, ID: ic}}
}

// roleHolder makes s an administrator from the console and returns the
// temporary password; activated, the account's password is grantPW; with
// TOTP, it returns the secret and the recovery codes too. The clock moves
// on a minute after the confirming code, so a login's code is a new one.
func (w *world) roleHolder(s staff, activate, totp bool) (temp, secret string, codes []string) {
	w.t.Helper()
	ctx := context.Background()
	created, _, err := w.h.CreateAdministrator.Create(ctx, commands.CreateAdministrator{Meta: sysMeta(), Staff: employee.Details{IC: s.IC, Email: s.Email}})
	if err != nil {
		w.t.Fatalf("create administrator: %v", err)
	}
	temp = created.TemporaryPassword
	if !activate {
		return temp, "", nil
	}
	if _, _, err := w.h.LogIn.LogIn(ctx, commands.LogIn{Meta: userMeta(s.IC), UserID: s.IC, Password: temp}); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.h.Activate.Handle(ctx, commands.ActivateAccount{Meta: userMeta(s.IC), UserID: s.IC, Form: account.ActivationForm{
		Password: grantPW, ConfirmPassword: grantPW, QuestionID: "kerja-pertama", Answer: "Bandar Hilir", ImageID: "payung", Phrase: "Hujan Lembut",
	}}); err != nil {
		w.t.Fatal(err)
	}
	if !totp {
		return temp, "", nil
	}
	enrol, _, err := w.h.EnrolTOTP.Enrol(ctx, commands.EnrolTOTP{Meta: userMeta(s.IC), UserID: s.IC, CurrentPassword: grantPW})
	if err != nil {
		w.t.Fatal(err)
	}
	code, _ := security.TOTP{}.Code(enrol.Secret, w.clk.Now())
	if codes, _, err = w.h.ConfirmTOTP.Confirm(ctx, commands.ConfirmTOTP{Meta: userMeta(s.IC), UserID: s.IC, Code: code}); err != nil {
		w.t.Fatal(err)
	}
	w.clk.Add(time.Minute)
	return temp, enrol.Secret, codes
}

// lastTemporaryPassword opens the account's latest temporary password as
// the mailer does.
func (w *world) lastTemporaryPassword(ic string) string {
	w.t.Helper()
	parsed, err := mykad.Parse(ic)
	if err != nil {
		w.t.Fatal(err)
	}
	recs, err := w.events.ReadStream(context.Background(), account.Stream(parsed), 0, eventlog.Backwards, 100)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, r := range recs {
		env, err := w.reg.Decode(r)
		if err != nil {
			w.t.Fatal(err)
		}
		if ev, ok := env.Event.(account.TemporaryPasswordIssued); ok {
			pt, err := w.sealer.Open(ev.Sealed, ev.AAD())
			if err != nil {
				w.t.Fatal(err)
			}
			return string(pt)
		}
	}
	w.t.Fatal("no temporary password")
	return ""
}

// TestLoginRightAfterRoleRevokedHoldsNoRole: `ispeks admin role --remove`,
// then a login before the projector has caught up (here: held back, the
// accounts view still lists the role). Whichever step completes the login
// — the password, a TOTP code, a recovery code, activation, the new
// password after a temporary one — the session's roles are the account
// stream's, so it holds none: the admin area stays closed, and nobody is
// sent to enrol a second factor for a role they no longer have.
func TestLoginRightAfterRoleRevokedHoldsNoRole(t *testing.T) {
	amin := master[3]
	cases := []struct {
		name           string
		activate, totp bool
		before         func(w *world) // what the account holder did before the revoke
		login          func(w *world, b *browser, temp, secret string, codes []string) result
	}{
		{name: "password", activate: true, login: func(w *world, b *browser, _, _ string, _ []string) result {
			b.enterID(amin.IC)
			return b.enterPassword(grantPW)
		}},
		{name: "TOTP code", activate: true, totp: true, login: func(w *world, b *browser, _, secret string, _ []string) result {
			b.enterID(amin.IC)
			if r := b.enterPassword(grantPW); r.Header().Get("Location") != "/login/dua-faktor" {
				w.t.Fatalf("password step: %d %s", r.Code, r.Header().Get("Location"))
			}
			code, _ := security.TOTP{}.Code(secret, w.clk.Now())
			return b.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {code}})
		}},
		{name: "recovery code", activate: true, totp: true, login: func(w *world, b *browser, _, _ string, codes []string) result {
			b.enterID(amin.IC)
			if r := b.enterPassword(grantPW); r.Header().Get("Location") != "/login/dua-faktor" {
				w.t.Fatalf("password step: %d %s", r.Code, r.Header().Get("Location"))
			}
			return b.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {codes[0]}})
		}},
		{name: "activation", login: func(w *world, b *browser, temp, _ string, _ []string) result {
			b.enterID(amin.IC)
			if r := b.enterPassword(temp); r.Header().Get("Location") != "/pengaktifan" {
				w.t.Fatalf("password step: %d %s", r.Code, r.Header().Get("Location"))
			}
			return b.post("/pengaktifan", "/pengaktifan", url.Values{"password": {grantPW}, "confirm_password": {grantPW}, "question": {"kerja-pertama"},
				"answer": {"Bandar Hilir"}, "image": {"payung"}, "phrase": {"Hujan Lembut"}})
		}},
		{name: "new password after a temporary one", activate: true,
			before: func(w *world) {
				if _, err := w.h.IssueTemporaryPassword.Handle(context.Background(), commands.IssueTemporaryPassword{Meta: sysMeta(), UserID: amin.IC}); err != nil {
					w.t.Fatal(err)
				}
			},
			login: func(w *world, b *browser, _, _ string, _ []string) result {
				b.enterID(amin.IC)
				if r := b.enterPassword(w.lastTemporaryPassword(amin.IC)); r.Header().Get("Location") != "/login/kata-laluan-baru" {
					w.t.Fatalf("password step: %d %s", r.Code, r.Header().Get("Location"))
				}
				const pw = "Cendol Gula Melaka Asli"
				return b.post("/login/kata-laluan-baru", "/login/kata-laluan-baru", url.Values{"password": {pw}, "confirm_password": {pw}})
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorldWith(t, worldOpts{demo: true, waitTimeout: 20 * time.Millisecond})
			ctx := context.Background()
			temp, secret, codes := w.roleHolder(amin, tc.activate, tc.totp)
			if tc.before != nil {
				tc.before(w)
			}
			w.accountView(amin.IC) // the view has everything so far
			w.holdProjectors()
			if _, err := w.h.RevokeRole.Handle(ctx, commands.RevokeRole{Meta: sysMeta(), UserID: amin.IC, Role: account.RoleAdmin}); err != nil {
				t.Fatal(err)
			}
			if v, _, err := accounts.GetAccount(ctx, w.views, amin.IC); err != nil || !v.HasRole(account.RoleAdmin) {
				t.Fatalf("the view is not behind the log (%v): the test would prove nothing", err)
			}
			w.clk.Add(time.Minute)

			b := w.browser()
			r := tc.login(w, b, temp, secret, codes)
			// Home, with the notice of a new password in that case.
			if home, _, _ := strings.Cut(r.Header().Get("Location"), "?"); r.Code != http.StatusSeeOther || home != "/utama" {
				t.Fatalf("login completed: %d %s, want home (no role, nothing to enrol)", r.Code, r.Header().Get("Location"))
			}
			if r := b.get("/pentadbir"); r.Code == http.StatusOK {
				t.Fatal("the session holds the revoked admin role")
			}
			home := b.get("/utama")
			mustContain(t, "home", home.body, amin.Name)
			mustNotContain(t, "home", home.body, `href="/pentadbir`)
		})
	}
}
