package i18n

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// The manual's words and messages, word for word (manual-portal-ispeks-v4).
var manual = map[string]string{
	"btn.pendaftaran":         "Pendaftaran",
	"btn.hantar":              "Hantar",
	"btn.login":               "Login",
	"btn.aktif":               "Aktif",
	"btn.semak":               "Semak",
	"btn.cetak":               "Cetak",
	"btn.cari":                "Cari",
	"btn.muat_turun":          "MuatTurun",
	"btn.simpan":              "Simpan",
	"btn.lupa_kata_laluan":    "Lupa Kata Laluan",
	"nav.permohonan":          "Permohonan",
	"nav.status_bayaran":      "Status Bayaran",
	"nav.penyata_gaji":        "Penyata Gaji",
	"nav.tetapan_akaun":       "Tetapan Akaun",
	"nav.kemaskini":           "Kemaskini Maklumat Pengguna",
	"nav.tukar_kata_laluan":   "Tukar Kata Laluan",
	"nav.log_keluar":          "Log Keluar",
	"label.modul":             "Jenis Modul",
	"modul.pendahuluan":       "Pendahuluan",
	"modul.tuntutan":          "Tuntutan",
	"label.urusniaga":         "Urusniaga",
	"heading.senarai_dokumen": "Senarai Dokumen",
	"heading.senarai_status":  "Senarai Pertanyaan Status Bayaran",
	"label.user_id":           "ID Pengguna",
	"label.password_old":      "Kata Laluan Lama",
	"label.password_new":      "Kata Laluan Baru",
	"label.password_confirm":  "Sah Kata Laluan Baru",
	"label.security_image":    "Imej Online",
	"label.secret_phrase":     "Frasa Rahsia",
	"err.register_failed":     "Pengguna Tidak Dapat Didaftarkan, Sila Hubungi Pentadbir Sistem",
	"err.wrong_password":      "Kata Laluan Tidak Tepat",
	"err.report":              "Laporan tidak dapat dipaparkan",
	"err.system":              "Sistem tidak dapat diakses",
}

func TestManualWordsAreExact(t *testing.T) {
	for key, want := range manual {
		got, ok := Lookup(key)
		if !ok {
			t.Errorf("%s missing", key)
			continue
		}
		if got.MS != want {
			t.Errorf("%s = %q, manual says %q", key, got.MS, want)
		}
	}
	if got, want := Getf("err.lockout_warning", 3).MS, "Akaun anda akan disekat sekiranya percubaan log masuk melebihi 3 kali. Sila hubungi Pentadbir Sistem."; got != want {
		t.Errorf("lockout notice = %q, manual says %q", got, want)
	}
	if got := T(MS, "err.locked_title"); !strings.Contains(got, "Dikunci") || !strings.Contains(got, "Disekat") {
		t.Errorf("locked title %q does not say dikunci / disekat", got)
	}
}

func TestEveryKeyHasBothLanguages(t *testing.T) {
	for _, k := range Keys() {
		txt, _ := Lookup(k)
		if strings.TrimSpace(txt.MS) == "" || strings.TrimSpace(txt.EN) == "" {
			t.Errorf("%s: empty text %+v", k, txt)
		}
		if strings.Count(txt.MS, "%") != strings.Count(txt.EN, "%") {
			t.Errorf("%s: format verbs differ between languages", k)
		}
	}
}

func TestMissingKeyShowsItself(t *testing.T) {
	if got := T(EN, "no.such.key"); got != "no.such.key" {
		t.Fatalf("T(missing) = %q", got)
	}
	if got := T(EN, "btn.hantar"); got != "Submit" {
		t.Fatalf("English = %q", got)
	}
	if got := (Text{MS: "Ya"}).In(EN); got != "Ya" {
		t.Fatalf("fallback to Malay = %q", got)
	}
}

func TestNegotiate(t *testing.T) {
	cases := []struct {
		name, url, cookie, accept string
		api                       bool
		want                      Lang
	}{
		{"default Malay", "/", "", "", false, MS},
		{"query wins", "/?lang=en", "ms", "", false, EN},
		{"cookie", "/", "en", "", false, EN},
		{"bad cookie ignored", "/", "fr", "", false, MS},
		{"pages ignore Accept-Language", "/", "", "en-GB,en;q=0.9", false, MS},
		{"API honours Accept-Language", "/api/v1/x", "", "en-GB,en;q=0.9", true, EN},
		{"API Malay first choice", "/api/v1/x", "", "ms-MY, en;q=0.5", true, MS},
		{"query over Accept-Language", "/api/v1/x?lang=ms", "", "en", true, MS},
		{"API weighs Accept-Language", "/api/v1/x", "", "ms;q=0.2, en;q=0.8", true, EN},
		{"API: q=0 refuses a language", "/api/v1/x", "", "ms;q=0, en", true, EN},
		{"API: first known language", "/api/v1/x", "", "fr-FR, de;q=0.9, en;q=0.5, ms;q=0.4", true, EN},
		{"API: unknown only", "/api/v1/x", "", "fr, de", true, MS},
		{"API: garbage", "/api/v1/x", "", ";;;q=x,", true, MS},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", c.url, nil)
		if c.cookie != "" {
			r.Header.Set("Cookie", CookieName+"="+c.cookie)
		}
		if c.accept != "" {
			r.Header.Set("Accept-Language", c.accept)
		}
		if got := Negotiate(r, c.api); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}
