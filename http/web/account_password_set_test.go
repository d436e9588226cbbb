package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/melaka-gov/ispeks/commands"
)

// TestNewPasswordAfterLupaKataLaluanIsConfirmed: after a temporary password
// from Lupa Kata Laluan is used and the new password set, the page the
// login ends on says the password was changed (and the other sessions
// ended); an ordinary login's home page does not.
func TestNewPasswordAfterLupaKataLaluanIsConfirmed(t *testing.T) {
	w := newWorld(t)
	siti := master[0]
	w.activeUser(siti)
	b := w.browser()
	w.toNewPasswordStep(b, siti)
	const pw = "Bunga Raya Kembang 9"
	r := b.post("/login/kata-laluan-baru", "/login/kata-laluan-baru", url.Values{"password": {pw}, "confirm_password": {pw}})
	if r.Code != http.StatusSeeOther {
		t.Fatalf("new password: %d %s", r.Code, r.body)
	}
	home := b.follow(r)
	mustContain(t, "page after the new password", home.body, siti.Name, "Kata laluan anda telah ditukar.")

	mustNotContain(t, "home after an ordinary login", w.browser().login(siti.IC, pw).body, "Kata laluan anda telah ditukar.")
}

// TestActivationOvertakenSaysSo: a person whose activation form was
// overtaken (the account was activated meanwhile from another tab or
// device, with a newer temporary password) is sent to log in again with
// a message saying why, not to a bare login page.
func TestActivationOvertakenSaysSo(t *testing.T) {
	w := newWorld(t)
	siti := master[0]
	a := w.browser()
	temp := w.register(a, siti)
	a.enterID(siti.IC)
	if r := a.enterPassword(temp); r.Header().Get("Location") != "/pengaktifan" {
		t.Fatalf("temporary password: %d %s", r.Code, r.Header().Get("Location"))
	}
	// Elsewhere: a new temporary password, and the activation with it.
	b := w.browser()
	if !w.forgotIssues(siti.IC) {
		t.Fatal("Lupa Kata Laluan issued nothing")
	}
	temp2 := w.mailFor(b, siti.IC, "kata laluan sementara baharu", 0)
	w.activate(b, siti, temp2, "kucing", "Kopi Pagi Melaka")

	r := a.post("/pengaktifan", "/pengaktifan", url.Values{
		"password": {password}, "confirm_password": {password}, "question": {"guru-kegemaran"},
		"answer": {"Cikgu Rosnah"}, "image": {"durian"}, "phrase": {"Teh Tarik Petang"},
	})
	if r.Code != http.StatusSeeOther {
		t.Fatalf("overtaken activation: %d %s", r.Code, r.body)
	}
	l := a.follow(r)
	mustContain(t, "login page after an overtaken activation", l.body, "Akaun ini telah diaktifkan")
}

// TestResetOvertakenSaysSo: the new-password form after Lupa Kata Laluan
// sent when a new password was already set (in another tab, or by the
// first of a double click): the person is sent to log in again with a
// message saying why, not to a bare login page.
func TestResetOvertakenSaysSo(t *testing.T) {
	w := newWorld(t)
	siti := master[0]
	w.activeUser(siti)
	b := w.browser()
	w.toNewPasswordStep(b, siti)
	// The other tab's form (or the first of a double click) has set the
	// new password; its request has not yet ended this session.
	if _, _, err := w.h.ResetPassword.Reset(context.Background(), commands.ResetPassword{
		Meta: sysMeta(), UserID: siti.IC, NewPassword: "Bunga Raya Kembang 9", ConfirmPassword: "Bunga Raya Kembang 9",
	}); err != nil {
		t.Fatal(err)
	}
	r := b.post("/login/kata-laluan-baru", "/login/kata-laluan-baru", url.Values{"password": {"Kopi Pagi Melaka 7"}, "confirm_password": {"Kopi Pagi Melaka 7"}})
	if r.Code != http.StatusSeeOther {
		t.Fatalf("overtaken new password: %d %s", r.Code, r.body)
	}
	mustContain(t, "login page after an overtaken new password", b.follow(r).body, "Kata laluan baru telah ditetapkan")
}

// toNewPasswordStep runs Lupa Kata Laluan for s and logs b in with the
// temporary password, up to the new-password page.
func (w *world) toNewPasswordStep(b *browser, s staff) {
	w.t.Helper()
	if !w.forgotIssues(s.IC) {
		w.t.Fatal("Lupa Kata Laluan issued nothing")
	}
	temp := w.mailFor(b, s.IC, "kata laluan sementara baharu", 0)
	b.enterID(s.IC)
	if r := b.enterPassword(temp); r.Header().Get("Location") != "/login/kata-laluan-baru" {
		w.t.Fatalf("temporary password: %d %s", r.Code, r.Header().Get("Location"))
	}
}
