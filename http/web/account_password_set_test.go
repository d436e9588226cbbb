package web_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestNewPasswordAfterLupaKataLaluanIsConfirmed: after a temporary password
// from Lupa Kata Laluan is used and the new password set, the page the
// login ends on says the password was changed (and the other sessions
// ended); an ordinary login's home page does not.
func TestNewPasswordAfterLupaKataLaluanIsConfirmed(t *testing.T) {
	w := newWorld(t)
	siti := master[0]
	w.activeUser(siti)
	if !w.forgotIssues(siti.IC) {
		t.Fatal("Lupa Kata Laluan issued nothing")
	}
	b := w.browser()
	temp := w.mailFor(b, siti.IC, "kata laluan sementara baharu", 0)
	b.enterID(siti.IC)
	if r := b.enterPassword(temp); r.Header().Get("Location") != "/login/kata-laluan-baru" {
		t.Fatalf("temporary password: %d %s", r.Code, r.Header().Get("Location"))
	}
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
