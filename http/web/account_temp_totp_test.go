package web_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/melaka-gov/ispeks/infra/security"
)

// Given Siti with TOTP on and a temporary password mailed to her (Lupa
// Kata Laluan; the mailbox may be shared), when someone types the
// temporary password but cannot give her code, then Siti still logs in
// with her own password and her code. Only once the code is given is the
// temporary password used.
func TestTemporaryPasswordWithoutTheCodeLeavesThePasswordWorking(t *testing.T) {
	w := newWorld(t)
	secret, mailbox, temp := forgotWithTOTP(t, w)

	// Whoever read the mail gets as far as the code step, and no further.
	mailbox.enterID(sitiIC)
	if r := mailbox.enterPassword(temp); r.Header().Get("Location") != "/login/dua-faktor" {
		t.Fatalf("temporary password with TOTP on: %d %s", r.Code, r.Header().Get("Location"))
	}

	// Siti logs in as usual.
	w.clk.Add(30 * time.Second)
	siti := w.browser()
	siti.enterID(sitiIC)
	r := siti.enterPassword(password)
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/login/dua-faktor" {
		t.Fatalf("her own password after the temporary one was typed elsewhere: %d %s", r.Code, r.Header().Get("Location"))
	}
	code, _ := security.TOTP{}.Code(secret, w.clk.Now())
	r = siti.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {code}})
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/utama" {
		t.Fatalf("her code: %d %s", r.Code, r.Header().Get("Location"))
	}
}

// Given Siti with TOTP on, when she uses Lupa Kata Laluan, types the
// temporary password and her code, then she sets a new password, and
// neither her old password nor the temporary one works any more.
func TestTemporaryPasswordWithTheCodeLeadsToANewPassword(t *testing.T) {
	w := newWorld(t)
	secret, b, temp := forgotWithTOTP(t, w)
	w.clk.Add(30 * time.Second)
	b.enterID(sitiIC)
	if r := b.enterPassword(temp); r.Header().Get("Location") != "/login/dua-faktor" {
		t.Fatalf("temporary password with TOTP on: %d %s", r.Code, r.Header().Get("Location"))
	}
	code, _ := security.TOTP{}.Code(secret, w.clk.Now())
	r := b.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {code}})
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/login/kata-laluan-baru" {
		t.Fatalf("code after the temporary password: %d %s", r.Code, r.Header().Get("Location"))
	}
	const fresh = "Sungai Melaka Waktu Senja 9"
	r = b.post("/login/kata-laluan-baru", "/login/kata-laluan-baru", url.Values{"password": {fresh}, "confirm_password": {fresh}})
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/utama?kata-laluan=ditukar" {
		t.Fatalf("new password: %d %s", r.Code, r.Header().Get("Location"))
	}
	for name, pw := range map[string]string{"old": password, "temporary": temp} {
		o := w.browser()
		o.enterID(sitiIC)
		if r := o.enterPassword(pw); r.Code != http.StatusUnauthorized {
			t.Fatalf("%s password after the new one was set: %d %s", name, r.Code, r.Header().Get("Location"))
		}
	}
}

// Given Siti past her password and at her code step, when whoever reads
// her mailbox types the mailed temporary password in between, then her
// code logs her in and her password still works afterwards: her code
// completes her own login, not the temporary one begun meanwhile.
func TestTheOwnersCodeKeepsHerPasswordWhenATemporaryLoginCameBetween(t *testing.T) {
	w := newWorld(t)
	secret, mailbox, temp := forgotWithTOTP(t, w)
	w.clk.Add(30 * time.Second)

	siti := w.browser()
	siti.enterID(sitiIC)
	if r := siti.enterPassword(password); r.Header().Get("Location") != "/login/dua-faktor" {
		t.Fatalf("her password: %d %s", r.Code, r.Header().Get("Location"))
	}
	mailbox.enterID(sitiIC)
	if r := mailbox.enterPassword(temp); r.Header().Get("Location") != "/login/dua-faktor" {
		t.Fatalf("temporary password: %d %s", r.Code, r.Header().Get("Location"))
	}
	code, _ := security.TOTP{}.Code(secret, w.clk.Now())
	if r := siti.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {code}}); r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/utama" {
		t.Fatalf("her code: %d %s", r.Code, r.Header().Get("Location"))
	}

	w.clk.Add(30 * time.Second)
	again := w.browser()
	again.enterID(sitiIC)
	if r := again.enterPassword(password); r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/login/dua-faktor" {
		t.Fatalf("her password at the next login: %d %s", r.Code, r.Header().Get("Location"))
	}
}

// forgotWithTOTP turns TOTP on for Siti (password unchanged), then sends
// Lupa Kata Laluan from a new browser: her TOTP secret, that browser, and
// the temporary password mailed to her.
func forgotWithTOTP(t *testing.T, w *world) (secret string, b *browser, temp string) {
	t.Helper()
	secret = enableTOTP(t, w, w.activeUser(master[0]), password)
	b = w.browser()
	if r := b.post("/lupa-kata-laluan", "/lupa-kata-laluan", vals("ic", sitiIC)); r.Code != http.StatusSeeOther {
		t.Fatalf("forgot: %d", r.Code)
	}
	return secret, b, w.mailFor(b, sitiIC, "kata laluan sementara baharu", 0)
}

// Given Siti with TOTP on, logged in on one device without a code yet in
// that session, and at the code step of a login with a temporary password
// (Lupa Kata Laluan) on another, when she gives a code at a step-up on the
// first device, then the waiting login on the other is left as it was: a
// step-up is no login. Her code there still leads to her new password.
func TestAStepUpLeavesATemporaryLoginWaitingForItsCode(t *testing.T) {
	w := newWorld(t)
	logged := w.activeUser(master[0]) // logged in before two-factor: no code in this session
	b := w.browser()
	b.login(sitiIC, password)
	secret := enableTOTP(t, w, b, password)
	other := w.browser()
	if r := other.post("/lupa-kata-laluan", "/lupa-kata-laluan", vals("ic", sitiIC)); r.Code != http.StatusSeeOther {
		t.Fatalf("forgot: %d", r.Code)
	}
	temp := w.mailFor(other, sitiIC, "kata laluan sementara baharu", 0)
	w.clk.Add(30 * time.Second)
	other.enterID(sitiIC)
	if r := other.enterPassword(temp); r.Header().Get("Location") != "/login/dua-faktor" {
		t.Fatalf("temporary password with TOTP on: %d %s", r.Code, r.Header().Get("Location"))
	}

	code, _ := security.TOTP{}.Code(secret, w.clk.Now())
	if r := logged.post("/login/dua-faktor?next=/utama", "/login/dua-faktor", url.Values{"code": {code}, "next": {"/utama"}}); r.Header().Get("Location") != "/utama" {
		t.Fatalf("step-up: %d %s", r.Code, r.Header().Get("Location"))
	}

	w.clk.Add(30 * time.Second)
	code, _ = security.TOTP{}.Code(secret, w.clk.Now())
	if r := other.post("/login/dua-faktor", "/login/dua-faktor", url.Values{"code": {code}}); r.Header().Get("Location") != "/login/kata-laluan-baru" {
		t.Fatalf("the waiting login's code after the step-up: %d %s", r.Code, r.Header().Get("Location"))
	}
	const fresh = "Sungai Melaka Waktu Senja 9"
	if r := other.post("/login/kata-laluan-baru", "/login/kata-laluan-baru", url.Values{"password": {fresh}, "confirm_password": {fresh}}); r.Header().Get("Location") != "/utama?kata-laluan=ditukar" {
		t.Fatalf("the new password after the step-up: %d %s", r.Code, r.Header().Get("Location"))
	}
}
