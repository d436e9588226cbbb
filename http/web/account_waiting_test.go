package web_test

import (
	"net/http"
	"testing"

	"github.com/melaka-gov/ispeks/http/session"
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
	w.activate(a, s, w.mailFor(a, s.IC, "kata laluan sementara baharu", 0), "kucing", "Kopi Pagi Melaka")
	for what, token := range waiting {
		if sessionStored(t, store, token) {
			t.Errorf("the other device's login %s outlived the activation", what)
		}
	}
	if r := a.get("/utama"); r.Code != http.StatusOK {
		t.Fatalf("the activating browser after its activation: %d %s, want logged in", r.Code, r.Header().Get("Location"))
	}
}
