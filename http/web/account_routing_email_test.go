package web_test

import "testing"

// An address in the allowed domain whose local part routes the mail on
// (the "percent hack", user%elsewhere@melaka.gov.my, which Postfix and
// sendmail rewrite to user@elsewhere by default, or a UUCP bang path)
// would carry the portal's mail, temporary passwords included, out of the
// official mailboxes the allow-list keeps it in: the profile refuses it.
func TestProfileRefusesAnAddressThatRoutesElsewhere(t *testing.T) {
	w := newWorld(t)
	b := w.activeUser(master[0])
	const p = "/tetapan-akaun/kemaskini-maklumat"
	form := func(email string) badInput {
		return badInput{email, vals("phone", "06-2307290", "office", "Aras 3", "email", email, "current_password", password), "email", "Alamat emel tidak sah"}
	}
	w.refuse(t, b, p, p, []badInput{
		form("siti%evil.example@melaka.gov.my"),
		form("evil.example!siti@melaka.gov.my"),
	})
	if v := w.accountView(sitiIC); v.Email != "siti.aminah@melaka.gov.my" {
		t.Fatalf("account e-mail now %q", v.Email)
	}
}
