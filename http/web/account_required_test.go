package web_test

import (
	"testing"
)

// TestEmptyFieldsSayWhatToEnter: a required field of the account pages
// left empty says what to type there, in the manual's words ("Kunci masuk
// No. Pengenalan …"), beside the field, rather than the generic "Sila isi
// ruangan ini"; and the form changes nothing. (The user-ID, login-password
// and old-password cases are in TestLoginFormMessages' and
// TestChangePassword's tables.)
func TestEmptyFieldsSayWhatToEnter(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	besideField := func(r result, what, field, msg string) {
		t.Helper()
		mustContain(t, what, r.body, `<p class="field__error" id="f-`+field+`-error"><span class="visually-hidden">Ralat:</span> `+msg+`</p>`)
	}
	head := w.head()
	r := b.post("/pendaftaran", "/pendaftaran", nil)
	besideField(r, "Pendaftaran", "ic", "Sila masukkan No. Pengenalan")
	besideField(r, "Pendaftaran", "email", "Sila masukkan Emel Rasmi Kerajaan")
	r = b.post("/lupa-kata-laluan", "/lupa-kata-laluan", nil)
	besideField(r, "Lupa Kata Laluan", "ic", "Sila masukkan No. Pengenalan")
	if w.head() != head {
		t.Fatal("an empty form appended events")
	}

	u := w.activeUser(master[0])
	head = w.head()
	const p = "/tetapan-akaun/tukar-kata-laluan"
	r = u.post(p, p, nil)
	besideField(r, "Tukar Kata Laluan", "password", "Sila masukkan kata laluan")
	besideField(r, "Tukar Kata Laluan", "confirm_password", "Sila taip semula kata laluan baru")
	const k = "/tetapan-akaun/kemaskini-maklumat"
	r = u.post(k, k, nil)
	besideField(r, "Kemaskini Maklumat Pengguna", "email", "Sila masukkan Emel Rasmi Kerajaan")
	if w.head() != head {
		t.Fatal("an empty form appended events")
	}

	u.get(p + "?lang=en")
	r = u.post(p, p, nil)
	mustContain(t, "English", r.body, "Please enter your old password", "Please type the new password again")
}
