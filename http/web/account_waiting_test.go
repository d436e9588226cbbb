package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/commands"
	"github.com/melaka-gov/ispeks/http/session"
	"github.com/melaka-gov/ispeks/http/web"
	"github.com/melaka-gov/ispeks/infra/security"
)

// Given Siti's first temporary password typed on one device (now at
// Pengaktifan) and another device at the password step, when she has a
// new temporary password mailed (Lupa Kata Laluan) and activates with it
// on a third, then the other devices' waiting logins end there and then,
// as another device's sessions end with a new password: they do not wait
// to be used (and refused) or to time out.
func TestActivationEndsTheOtherWaitingLogins(t *testing.T) {
	store := session.NewMemoryStore(0)
	w := newWorldWith(t, worldOpts{demo: true, store: store})
	s := master[0]
	atActivation := w.browser()
	w.toActivationStep(atActivation, s)
	atPassword := w.browser()
	atPassword.enterID(s.IC)
	waiting := map[string]string{
		"at activation":        atActivation.cookies["ispeks_session"].Value,
		"at the password step": atPassword.cookies["ispeks_session"].Value,
	}
	if !w.forgotIssues(s.IC) {
		t.Fatal("Lupa Kata Laluan issued nothing")
	}
	a := w.browser()
	w.activate(a, s, w.mailFor(a, s.IC, "kata laluan sementara baharu", 0), "kucing", "Kopi Harum")
	for what, token := range waiting {
		if sessionStored(t, store, token) {
			t.Errorf("the other device's login %s outlived the activation", what)
		}
	}
	if r := a.get("/utama"); r.Code != http.StatusOK {
		t.Fatalf("the activating browser after its activation: %d %s, want logged in", r.Code, r.Header().Get("Location"))
	}
}

// hookedLogIn runs the hook taken from hook, once, after the password step
// decided and before its page makes the waiting session.
type hookedLogIn struct {
	next web.LoginRunner
	hook *commandHooks
}

func (h hookedLogIn) LogIn(ctx context.Context, cmd commands.LogIn) (commands.LoginOutput, commands.Result, error) {
	out, res, err := h.next.LogIn(ctx, cmd)
	h.hook.take(true)()
	return out, res, err
}

// Given Siti with TOTP on, when her password is changed on another device
// in the moment between a password step with the old password being
// decided and its code step's waiting session being made (the session
// follower has already ended her sessions by then), then that waiting
// login never completes: neither its page nor the old login's code logs
// the browser in.
func TestAPasswordChangeBetweenThePasswordStepAndItsWaitingSessionEndsIt(t *testing.T) {
	store := session.NewMemoryStore(0)
	hooks := &commandHooks{}
	w := newWorldWith(t, worldOpts{demo: true, store: store, commands: func(w *world, c *web.AccountCommands) {
		c.LogIn = hookedLogIn{c.LogIn, hooks}
	}})
	owner := w.activeUser(master[0])
	secret := enableTOTP(t, w, owner, password)
	ownerToken := owner.cookies["ispeks_session"].Value
	w.clk.Add(30 * time.Second)

	const fresh = "Sungai Melaka Waktu Senja 9"
	hooks.set(nil, func() {
		w.clk.Add(time.Second) // the change lands a moment after the decision
		if _, err := w.h.ChangePassword.Handle(context.Background(), commands.ChangePassword{
			Meta: sysMeta(), UserID: sitiIC, OldPassword: password, NewPassword: fresh, ConfirmPassword: fresh,
		}); err != nil {
			t.Error(err)
		}
		w.eventually("the follower ended the sessions", func() bool { return !sessionStored(t, store, ownerToken) })
	})
	l := w.browser()
	l.enterID(sitiIC)
	r := l.enterPassword(password)
	switch r.Header().Get("Location") {
	case "/?sesi=tamat": // refused before its waiting session was made
	case "/login/dua-faktor":
		w.clk.Add(30 * time.Second)
		code, _ := security.TOTP{}.Code(secret, w.clk.Now())
		if r := l.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {code}}); r.Header().Get("Location") == "/utama" {
			t.Fatal("the old password's login completed with its code after the password was changed")
		}
	default:
		t.Fatalf("password step: %d %s", r.Code, r.Header().Get("Location"))
	}
	if r := l.get("/utama"); r.Code == http.StatusOK {
		t.Fatal("logged in by a login decided before the password change")
	}
}
