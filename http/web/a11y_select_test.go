package web_test

import (
	"testing"

	"github.com/melaka-gov/ispeks/http/web"
)

// A select's empty choice is read aloud: "—" says nothing (a screen reader
// reads "em dash" or skips it), so it says what to do, or what it means
// where the field is optional (Tahun: every year in the window). It stays
// the empty value, which the form refuses where a choice is required.
func TestSelectEmptyOptionSaysWhatItIs(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	b := p.as(paySitiIC, "Siti Aminah binti Omar", "")

	pay := b.get(web.PathStatusBayaran)
	payHas(t, "Jenis Modul", pay.body, `<option value="">Sila pilih</option>`)
	stmts := b.get(web.PathPenyataGaji)
	payHas(t, "Urusniaga and Tahun", stmts.body, `<option value="">Sila pilih</option>`, `<option value="">Semua tahun</option>`)
	payHasNot(t, "statement form", stmts.body+pay.body, `<option value="">—</option>`, `<option value=""></option>`)

	en := b.get(web.PathPenyataGaji + "?lang=en")
	payHas(t, "english", en.body, `<option value="">Please choose</option>`, `<option value="">All years</option>`)
}

// The slip's words from the master and the payroll (post, department, bank,
// employer and address) stay Malay on the English page, and are marked so,
// as the finance systems' words are elsewhere: an English voice reading
// "Pegawai Kewangan" is not understood.
func TestSlipMasterDataMarkedMalayInEnglish(t *testing.T) {
	p := newPayPortal(t, payOptions{})
	p.fixtures()
	b := p.as(paySitiIC, "Siti Aminah binti Omar", "")
	en := b.get("/penyata-gaji/SG-2026-01-S?lang=en")
	payHas(t, "english slip", en.body, `<dd lang="ms">Pegawai Kewangan</dd>`, `<dd lang="ms">Jabatan Kewangan dan Perbendaharaan</dd>`,
		`<dd lang="ms">Bank Islam</dd>`, `<dd lang="ms">Kerajaan Negeri Melaka</dd>`,
		`<dd lang="ms">Jabatan Kewangan dan Perbendaharaan Negeri Melaka</dd>`, `<dd lang="ms">Aras 1, Blok Temenggong`)
	// Codes and numbers are no language's words.
	payHasNot(t, "english slip", en.body, `lang="ms">WA41`, `lang="ms">0401-2345-6789`)
}

// The Pengaktifan form's Soalan Rahsia is a required select too.
func TestSecretQuestionEmptyOptionSaysChoose(t *testing.T) {
	w := newWorld(t)
	b := w.atActivation(master[0])
	page := b.get("/pengaktifan").body
	payHas(t, "activation", page, `<option value="">Sila pilih</option>`)
	payHasNot(t, "activation", page, `<option value="">—</option>`)
}
