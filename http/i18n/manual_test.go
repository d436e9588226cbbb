package i18n

import (
	"strings"
	"testing"
)

// More of the manual's words (manual-portal-ispeks-v4): field labels,
// headings and choices, checked word for word with i18n_test.go's
// (TestManualWordsAreExact).
var manualLabels = map[string]string{
	"label.ic":                      "No. Pengenalan",
	"label.email":                   "Emel Rasmi Kerajaan",
	"section.maklumat_kata_laluan":  "Maklumat Kata Laluan",
	"section.soalan_jawapan":        "Soalan dan Jawapan Rahsia",
	"heading.maklumat_terperinci":   "Maklumat terperinci",
	"landing.menu_1":                "Status Bayaran",
	"landing.menu_3":                "Penyata Tahunan",
	"stmt.type.bantuan-khas":        "Bantuan Khas",
	"stmt.type.bonus":               "Bonus",
	"stmt.type.slip-gaji-bulanan":   "Slip Gaji Bulanan",
	"stmt.type.slip-gaji-mingguan":  "Slip Gaji Mingguan",
	"stmt.type.slip-gaji-sambilan":  "Slip Gaji Sambilan",
	"detail.wrong_password":         "Kata laluan tidak tepat",
	"detail.wrong_current_password": "Kata laluan semasa tidak tepat",
}

// The manual's sentences that pages quote inside their own texts: each
// text holds the sentence (the case of its first letter aside).
var manualSentences = map[string]string{
	"acct.register.intro":                  "Kunci masuk No. Pengenalan dan Emel Rasmi Kerajaan (xxxx@melaka.gov.my) anda. Kemudian, klik butang Hantar.",
	"acct.registered.check_mail":           "Lakukan semakan di peti masuk emel rasmi kerajaan anda untuk dapatkan kata laluan sementara.",
	"acct.registered.shared_note":          "Bagi pengguna yang berkongsi emel rasmi jabatan kerajaan, anda hanya perlu menyemak peti masuk emel dan terus merujuk kepada nama dan id pengguna yang berkenaan sahaja.",
	"acct.registered.next":                 "Kembali semula ke Portal iSPEKS. Kunci masuk ID Pengguna, klik butang Login",
	"acct.activate.intro":                  "Maklumat Kata Laluan, Soalan dan Jawapan Rahsia, Imej Online dan Frasa Rahsia. Kemudian, klik butang Aktif.",
	"acct.forgot.intro":                    "klik butang Hantar. Seterusnya lakukan semakan di peti masuk emel anda untuk dapatkan kata laluan sementara.",
	"acct.password.change_intro":           "Masukkan Kata Laluan Lama, Kata Laluan Baru dan Sah Kata Laluan Baru",
	"stmt.type.penyata-pendapatan-tahunan": "Penyata Pendapatan Tahunan",
	"err.forgot_hint":                      "untuk mengelakkan ID Pengguna anda disekat.",
}

func init() {
	for key, want := range manualLabels {
		manual[key] = want
	}
}

func TestManualSentencesStay(t *testing.T) {
	for key, want := range manualSentences {
		got, ok := Lookup(key)
		if !ok || !strings.Contains(strings.ToLower(got.MS), strings.ToLower(want)) {
			t.Errorf("%s = %q (found %v), which no longer holds the manual's %q", key, got.MS, ok, want)
		}
	}
}
